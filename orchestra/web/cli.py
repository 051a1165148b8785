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
stream with filters, the board, messages (with a form to send one), claims and
decisions. Pages update by themselves (Server-Sent Events) within a second.

Access: the server prints a URL with a random token. Open it: the token is swapped
for a cookie (HttpOnly, SameSite=Strict) and every other request without it gets
401 or 403 and no data. Writes (sending a message) also need the page's CSRF token
and a same-origin request. Keep the URL to yourself: it is the key.

Binding: loopback (127.0.0.1) by default, so only this machine can connect. Any
other address needs --allow-remote; the traffic is plain HTTP, so prefer an ssh
tunnel: ssh -L 8765:127.0.0.1:8765 host, then open the printed URL locally.

Needs the web extra: pip install 'orchestra[web]'. Ctrl-C stops the server."""


def build_parser(front: Front | None = None) -> CliParser:
    parser = CliParser(prog=PROG, description=DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("--host", metavar="H", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", metavar="N", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    parser.add_argument("--open", action="store_true",
                        help="open the dashboard in the default browser")
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


def allowed_hosts(port: int) -> set[str]:
    """``Host`` headers a loopback server answers (anything else may be DNS rebinding)."""
    names = {"127.0.0.1", "localhost", "[::1]"}
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
    remote = not is_loopback(args.host)
    if remote and not args.allow_remote:
        raise UsageError(f"refusing to listen on {args.host}, which is not a loopback "
                         "address; add --allow-remote if you mean it")
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise _Failure("needs the web extra: pip install 'orchestra[web]'") from None
    from orchestra.web.app import create_app
    from orchestra.web.live import Hub
    from orchestra.web.security import new_token
    from state.store import open_store

    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    token = new_token()
    store = open_store()
    hub = Hub(store)
    app = create_app(store, token=token, port=port,
                     hosts=None if remote else allowed_hosts(port), hub=hub)
    url = f"http://{_url_host(args.host)}:{port}/?token={token}"

    def announce() -> None:
        """Once the server accepts connections (and Ctrl-C stops it gracefully)."""
        if remote:
            err.write(f"{PROG}: warning: listening on {args.host}, reachable from other "
                      "machines; the traffic is plain HTTP and the URL's token is the only "
                      "key: prefer an ssh tunnel to a loopback server\n")
        out.stream.write(f"{PROG}: listening on {args.host}:{port} (Ctrl-C stops it)\n"
                         f"open {url}\n")
        out.stream.flush()
        if args.open:
            import threading
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                announce()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            hub.stop()  # open event streams end now, not at the graceful-shutdown timeout
            await super().shutdown(sockets)

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            ws="none", proxy_headers=False, server_header=False,
                            timeout_graceful_shutdown=2)
    try:
        Server(config).run(sockets=[sock])
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
    """``orchestra serve [--host H] [--port N] [--open] [--allow-remote]``."""
    return run_main(PROG, build_parser(front), _handle, argv, stdout, stderr)


if __name__ == "__main__":
    raise SystemExit(main())
