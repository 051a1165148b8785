"""``orchestra serve``: start the web dashboard on this machine (``python -m orchestra.web``)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from collections.abc import Sequence
from typing import IO

from state.cli import EXIT_CODES_HELP, CliParser, Front, Output, UsageError, run_main
from state.errors import StateError

__all__ = ["allowed_hosts", "is_loopback", "main"]

PROG = "orchestra serve"
DEFAULT_PORT = 8765

DESCRIPTION = """\
Serve a live web dashboard of every session: sessions across projects, the event
stream with filters, the board, messages (with a form to send one), claims,
decisions, and a timeline (a lane per session: turns, tool calls, subagents, waits
for a person, messages, claims, guard decisions; tokens and cost over time). Pages
update by themselves (Server-Sent Events) within a second.

Access: the server prints a one-time sign-in link and a random token (new at
every start). The link signs one browser in, once; any other browser signs in on
the page it gets by pasting the token (never put in a URL). A browser keeps only
a session cookie (HttpOnly, SameSite=Strict), not the token: the session ends
after --session-idle without a request (default 12h) or when the server stops,
and its value is replaced every 15 minutes of use. Scripts send the token as
Authorization: Bearer TOKEN, to read and to write; it works while the server runs.
Every other request gets 401 or 403 and no data. Writes from a browser (sending a
message) also need the page's CSRF token and a same-origin request. Keep the
token to yourself.

Limits: request headers must arrive within 10 s and an idle connection closes
after 5 s; beyond 512 connections the oldest idle one is closed first.

Binding: loopback (127.0.0.1) by default, so only this machine can connect; any
address of 127.0.0.0/8 and ::1 are loopback too. Any other address needs
--allow-remote; the traffic is plain HTTP, so prefer an ssh tunnel:
ssh -L 8765:127.0.0.1:8765 host, then open the printed link locally.

Needs the web extra: pip install 'orchestra[web]'. Ctrl-C stops the server."""


def build_parser(front: Front | None = None) -> CliParser:
    parser = CliParser(prog=PROG, description=DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("--host", metavar="H", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", metavar="N", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    parser.add_argument("--open", action="store_true",
                        help="open the dashboard in the default browser (with a one-time "
                        "code: no key in the process list or the browser's history)")
    parser.add_argument("--session-idle", metavar="DURATION", default="12h",
                        help="sign a browser out after this long without a request "
                        "(default 12h; e.g. 30m, 2d)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (prints a warning)")
    return parser


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(port: int, host: str | None = None) -> set[str]:
    """``Host`` headers a loopback server on ``host`` answers (anything else may be DNS
    rebinding): its own address, ``127.0.0.1``, ``localhost`` and ``[::1]``."""
    names = {"127.0.0.1", "localhost", "[::1]"}
    if host:
        try:  # as a browser writes it: 0:0:0:0:0:0:0:1 -> [::1]
            address = ipaddress.ip_address(host.strip("[]"))
            names.add(f"[{address.compressed}]" if address.version == 6 else str(address))
        except ValueError:
            names.add(host.lower())
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:
        hosts |= names
    return hosts


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so that ``--port 0`` can print the real port."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise UsageError(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise _Failure(f"port {port} on {host} is in use (another orchestra serve?); "
                           "choose one with --port N, or --port 0 for any free port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"--host {host}: not an address of this machine") from None
        raise _Failure(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


class _Failure(StateError):
    """The server cannot start (exit 1, one line)."""


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", "[::]"):
        return socket.gethostname()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def _handle(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    from state.clock import parse_duration

    try:
        idle = parse_duration(args.session_idle)
    except ValueError as exc:
        raise UsageError(f"--session-idle: {exc}") from None
    if idle <= 0:
        raise UsageError("--session-idle must be more than 0")
    remote = not is_loopback(args.host)
    if remote and not args.allow_remote:
        raise UsageError(f"refusing to listen on {args.host}, which is not a loopback "
                         "address; add --allow-remote if you mean it")
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise _Failure("needs the web extra: pip install 'orchestra[web]'") from None
    from orchestra.web.app import create_app
    from orchestra.web.live import Hub
    from orchestra.web.security import new_token
    from orchestra.web.server import serve
    from orchestra.web.signin import OPEN_CODE_SECONDS, SignIn
    from state.store import open_store

    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    signin = SignIn(new_token(), idle=idle)
    store = open_store()
    hub = Hub(store)
    app = create_app(store, signin=signin, port=port,
                     hosts=None if remote else allowed_hosts(port, args.host), hub=hub)
    base = f"http://{_url_host(args.host)}:{port}"

    def announce() -> None:
        """Once the server accepts connections (and Ctrl-C stops it gracefully)."""
        if remote:
            err.write(f"{PROG}: warning: listening on {args.host}, reachable from other "
                      "machines; the traffic is plain HTTP and the token is the only "
                      "key: prefer an ssh tunnel to a loopback server\n")
        # The token goes to stdout only: never into a URL, argv or a log.
        out.stream.write(f"{PROG}: listening on {args.host}:{port} (Ctrl-C stops it)\n"
                         f"open {base}/?code={signin.new_code()}  (one-time sign-in link)\n"
                         f"token {signin.token}  (signs in other browsers at {base}/; "
                         "scripts send Authorization: Bearer TOKEN)\n")
        out.stream.flush()
        if args.open:
            import threading
            import webbrowser

            # The browser's command line is public (ps): it gets a code of its own, which
            # works once and only for a short while.
            url = f"{base}/?code={signin.new_code(OPEN_CODE_SECONDS)}"
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    try:
        # hub.stop(): open event streams end now, not at the graceful-shutdown timeout.
        serve(app, sock, started=announce, stopping=hub.stop)
    except KeyboardInterrupt:
        pass  # Ctrl-C (uvicorn re-raises the one it handled): stopping is the normal end
    finally:
        sock.close()
    out.stream.write(f"{PROG}: stopped\n")
    out.stream.flush()
    return 0


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    """``orchestra serve [--host H] [--port N] [--open] [--allow-remote] [--session-idle D]``."""
    return run_main(PROG, build_parser(front), _handle, argv, stdout, stderr)


if __name__ == "__main__":
    raise SystemExit(main())
