"""The HTTP server under ``orchestra serve``: uvicorn, plus the limits it lacks.

uvicorn closes an idle keep-alive connection, but it never times out a client that
sends its request headers slowly (slowloris), and it accepts connections until the
process runs out of file descriptors, after which every accept fails. So here:

* **Header timeout** (:data:`HEADER_TIMEOUT`, 10 s): a connection must finish its
  request headers within that time of opening, or of its previous response, or it
  is closed. A request body (which only a signed-in client gets to send) must
  arrive within :data:`BODY_TIMEOUT`.
* **Keep-alive timeout** (:data:`KEEP_ALIVE`, 5 s): an idle connection after a
  response is closed (uvicorn's own timer).
* **Connection limit** (:data:`MAX_CONNECTIONS`, and never more than the file
  descriptor limit less :data:`FD_RESERVE`): a connection beyond it first closes
  the oldest one that is idle or still waiting for its headers, so the attacker's
  connections make room for real requests; if every connection is busy (requests
  in progress, event streams), the newcomer gets a 503 and is closed. Accepting
  therefore never fails for want of descriptors, and never spins.

The limits are written for uvicorn's h11 protocol on asyncio's own event loop, so
the server runs on those even where uvloop or httptools are installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["BODY_TIMEOUT", "HEADER_TIMEOUT", "KEEP_ALIVE", "MAX_CONNECTIONS", "connection_limit",
           "serve"]

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
KEEP_ALIVE = 5.0
MAX_CONNECTIONS = 512
#: How many connections asyncio accepts in one go (it takes the listen backlog for it).
#: Connections are admitted (and the ones they push out closed) a loop turn or two
#: later, so the count may pass the limit by about three bursts for a moment.
ACCEPT_BURST = 16
#: The kernel's queue of connections not yet accepted (they hold no descriptor of ours).
LISTEN_BACKLOG = 1024
#: Descriptors kept free: those bursts, and everything else the server opens.
FD_RESERVE = 3 * ACCEPT_BURST + 64
#: The server raises its soft limit of open files to this (where the hard limit allows).
WANTED_DESCRIPTORS = 4096
#: How often connections are checked against the timeouts (seconds).
SWEEP = 1.0

_BUSY_TEXT = b"503 Service Unavailable: too many connections; try again.\n"
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
         b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT))


def connection_limit() -> int:
    """:data:`MAX_CONNECTIONS`, or fewer where the file descriptor limit is lower.

    First raises this process's soft limit towards :data:`WANTED_DESCRIPTORS`, as far as
    the hard limit allows (the usual soft limit is 1,024, or 256 on macOS).
    """
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_NOFILE
        return MAX_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinite = resource.RLIM_INFINITY
    if soft != infinite and soft < WANTED_DESCRIPTORS:
        wanted = WANTED_DESCRIPTORS if hard == infinite else min(hard, WANTED_DESCRIPTORS)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # macOS caps it lower (OPEN_MAX): keep the old one
            pass
    if soft == infinite:
        return MAX_CONNECTIONS
    return max(8, min(MAX_CONNECTIONS, soft - FD_RESERVE))


class _Guarded(H11Protocol):
    """uvicorn's h11 protocol, admitted by :class:`_Limits` and timed by its sweep."""

    limits: _Limits  # set on the subclass made for each server

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        now = self.loop.time()
        #: Since when the client owes us a request (opened, or the last response ended).
        self.waiting_since = now
        self.seen_cycle: object = None
        self.cycle_since = now
        self.limits.admit(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.waiting_since = self.loop.time()

    def closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def idle(self) -> bool:
        """No request in progress: the client is between requests or sending headers."""
        return ((self.cycle is None or self.cycle.response_complete)
                and self.conn.their_state in (h11.IDLE, h11.SEND_BODY))

    def stalled(self, now: float) -> bool:
        if self.cycle is not self.seen_cycle:
            self.seen_cycle, self.cycle_since = self.cycle, now
        if self.idle():
            return now - self.waiting_since > HEADER_TIMEOUT
        return (self.conn.their_state is h11.SEND_BODY
                and now - self.cycle_since > BODY_TIMEOUT)

    def drop(self) -> None:
        if not self.closing():
            self.transport.close()

    def refuse(self) -> None:
        if not self.closing():
            self.transport.write(_BUSY)
            self.transport.close()


class _Limits:
    """The connection limit and the timeouts of one server's connections."""

    def __init__(self, connections: set[Any], limit: int) -> None:
        self.connections = connections  # uvicorn's own set of open protocols
        self.limit = limit

    def _open(self) -> list[_Guarded]:
        return [c for c in self.connections if isinstance(c, _Guarded) and not c.closing()]

    def admit(self, newcomer: _Guarded) -> None:
        current = self._open()
        if len(current) <= self.limit:
            return
        idle = [c for c in current if c is not newcomer and c.idle()]
        if idle:
            min(idle, key=lambda c: c.waiting_since).drop()
        else:
            newcomer.refuse()

    def sweep(self, now: float) -> None:
        for connection in self._open():
            if connection.stalled(now):
                connection.drop()


def serve(app: Any, sock: socket.socket, *, started: Callable[[], None],
          stopping: Callable[[], None]) -> None:
    """Serve ``app`` on the listening ``sock`` until Ctrl-C; ``started`` runs once it
    accepts connections, ``stopping`` when it begins to shut down."""

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            with contextlib.suppress(OSError):  # a longer queue than the accept burst
                sock.listen(LISTEN_BACKLOG)
            if self.started:
                self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
                started()

        async def _sweep(self) -> None:
            loop = asyncio.get_running_loop()
            while True:
                await asyncio.sleep(SWEEP)
                limits.sweep(loop.time())

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            sweeper = getattr(self, "_sweeper", None)
            if sweeper is not None:
                sweeper.cancel()
            stopping()
            await super().shutdown(sockets)

    class Protocol(_Guarded):
        """This server's connections (the class holds its limits)."""

    config = uvicorn.Config(app, http=Protocol, loop="asyncio", log_level="warning",
                            access_log=False, lifespan="off", ws="none", proxy_headers=False,
                            server_header=False, timeout_keep_alive=int(KEEP_ALIVE),
                            backlog=ACCEPT_BURST,
                            timeout_graceful_shutdown=2)
    server = Server(config)
    limits = _Limits(server.server_state.connections, connection_limit())
    Protocol.limits = limits
    server.run(sockets=[sock])
