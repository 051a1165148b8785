"""``orchestra serve``: a local, private web dashboard of every session (needs ``orchestra[web]``).

Modules: :mod:`.cli` (the command: binding rules, token, start), :mod:`.security`
(token, cookie, CSRF, Host/Origin checks), :mod:`.signin` (one-time links, browser
sessions, the cookie), :mod:`.server` (uvicorn with timeouts and a connection
limit), :mod:`.app` (routes), :mod:`.data` (what
the pages show), :mod:`.sessions` (cached session rows), :mod:`.items` (records as
rows), :mod:`.logs` (logs read from the end), :mod:`.live` (change detection and the
event stream), :mod:`.timeline` (the Timeline page's lanes and cost, over
:mod:`orchestra.timeline`); the page itself is ``static/``. The dispatcher never imports this
package, and only :mod:`.app`, :mod:`.server` and :mod:`.cli` import the web extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

__all__ = ["main"]


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """``orchestra serve [--host H] [--port N] [--open] [--allow-remote] [--session-idle D]``."""
    from orchestra.web.cli import main as run

    return run(argv, stdin=stdin, stdout=stdout, stderr=stderr)
