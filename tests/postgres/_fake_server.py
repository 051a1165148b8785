"""Servers on loopback that behave like a PostgreSQL server in trouble, for fault tests.

* ``starting``: answers every connection as a server still starting up does
  (``FATAL 57P03 the database system is starting up``), in the wire protocol;
* ``stalled``: accepts the TCP connection and never answers — a server too busy to
  answer in time, without any timing in the test.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

__all__ = ["fake_server"]

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


def _read_message(conn: socket.socket) -> bytes | None:
    """One untyped startup-phase message (length-prefixed), or None at EOF."""
    head = b""
    while len(head) < 4:
        chunk = conn.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (length,) = struct.unpack("!I", head)
    body = b""
    while len(body) < length - 4:
        chunk = conn.recv(length - 4 - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def _starting_up(conn: socket.socket) -> None:
    while True:
        body = _read_message(conn)
        if body is None:
            return
        code = struct.unpack("!I", body[:4])[0] if len(body) >= 4 else 0
        if code in (_SSL_REQUEST, _GSSENC_REQUEST):
            conn.sendall(b"N")  # no TLS, no GSS: the client sends its startup message next
            continue
        fields = b"".join(kind + text + b"\0" for kind, text in (
            (b"S", b"FATAL"), (b"V", b"FATAL"), (b"C", b"57P03"),
            (b"M", b"the database system is starting up")))
        message = fields + b"\0"
        conn.sendall(b"E" + struct.pack("!I", len(message) + 4) + message)
        return


@contextlib.contextmanager
def fake_server(mode: str) -> Iterator[int]:
    """Run a fake server (``starting`` or ``stalled``) on a free loopback port; yield it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = int(listener.getsockname()[1])
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if mode == "stalled":
                held.append(conn)  # never read, never answered
                continue
            with conn:
                conn.settimeout(10)
                with contextlib.suppress(OSError):
                    _starting_up(conn)

    thread = threading.Thread(target=serve, daemon=True, name=f"fake-pg-{mode}")
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in held:
            conn.close()
