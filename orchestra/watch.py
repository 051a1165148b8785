"""``orchestra watch [VIEW]``: a terminal view redrawn in place whenever the state changes.

On a terminal the view fills the alternate screen and only changed lines are
rewritten (see :mod:`orchestra.screen`); ``q`` or Ctrl-C quits and the terminal
comes back as it was. Piped, it prints plain text: the view once, then once more
each time what it shows changes. Whether anything changed is decided by
:func:`orchestra.changes.scan` (one ``stat`` per state file), so an idle watch
costs almost nothing and renders nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import IO, Any

from state.cli import EXIT_CODES_HELP, CliParser, Front, Output, UsageError, run_main
from state.errors import StateError
from styles.views import VIEWS

__all__ = ["main"]

PROG = "orchestra watch"

DESCRIPTION = """\
Show one view of Orchestra state and redraw it in place whenever the state changes.

views:
""" + "\n".join(f"  {name:<10} {desc}" for name, (_m, desc) in VIEWS.items()) + """

On a terminal the view fills the screen (the alternate screen: your scrollback is
left alone) and only the lines that change are redrawn; q or Ctrl-C quits, exit 0.
It needs nothing but an ANSI terminal, so it works over ssh and in tmux.
When stdout is not a terminal it prints plain text: the view, then the view again
each time what it shows changes (one frame per change).

--project, --session and --sprint are those of 'python -m styles.render'.

'orchestra watch [SESSION_ID] PATH' (a PATH, not a view) instead prints one value of
the session's state each time it changes, as 'orchestra state watch' does."""

_AS_OF = re.compile(r"as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def build_parser(front: Front | None = None) -> CliParser:
    parser = CliParser(prog=PROG, description=DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("view", metavar="VIEW", nargs="?", default="dashboard",
                        choices=list(VIEWS), help="one of: " + ", ".join(VIEWS)
                        + " (default dashboard)")
    parser.add_argument("--project", metavar="P", help="project id")
    parser.add_argument("--session", metavar="S",
                        help="session id (default $ORCHESTRA_SESSION_ID)")
    parser.add_argument("--sprint", metavar="SPRINT", help="sprint to show (view 'sprint')")
    parser.add_argument("--zoom", choices=["15m", "1h", "day"],
                        help="the window of the 'timeline' view, ending now (default 1h)")
    parser.add_argument("--interval", metavar="SEC", type=float, default=0.5,
                        help="seconds between checks for a change (default 0.5)")
    parser.add_argument("--refresh", metavar="SEC", type=float,
                        help="also redraw every SEC seconds so that ages and presence stay "
                             "current (default 15 on a terminal, 0 = never; piped: 0)")
    parser.add_argument("--count", metavar="N", type=int,
                        help="stop after N frames (for scripts and tests)")
    return parser


class _View:
    """Renders the chosen view; remembers errors so each is reported once."""

    def __init__(self, args: argparse.Namespace) -> None:
        from state.store import open_store

        self.args = args
        self.session = args.session or os.environ.get("ORCHESTRA_SESSION_ID") or None
        self.store = open_store()

    def render(self) -> str:
        from styles.render import render

        _data, text = render(self.store, self.args.view, project=self.args.project,
                             session=self.session,
                             session_required=self.args.session is not None,
                             sprint=self.args.sprint, zoom=self.args.zoom)
        return text

    def render_or_error(self) -> str:
        """The view, or one line saying why it cannot be drawn now (it may come back)."""
        try:
            return self.render()
        except (StateError, OSError) as exc:
            return f"{PROG}: cannot draw the {self.args.view} view now: {exc}\n"

    def problems(self) -> list[str]:
        found, self.store.problems[:] = list(self.store.problems), []
        return found


def _check(args: argparse.Namespace) -> None:
    if args.sprint is not None and args.view != "sprint":
        raise UsageError("--sprint only applies to the 'sprint' view")
    if args.zoom is not None and args.view != "timeline":
        raise UsageError("--zoom only applies to the 'timeline' view")
    if not args.interval > 0:
        raise UsageError("--interval must be more than 0 seconds")
    if args.refresh is not None and args.refresh < 0:
        raise UsageError("--refresh must be 0 (never) or more seconds")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be 1 or more")


def _changes(view: _View, first: str, interval: float, refresh: float,
             wait: Callable[[float], bool]) -> Iterator[str]:
    """Yield ``first``, then a new frame after each change (or ``refresh`` seconds).

    ``wait`` sleeps up to ``interval`` seconds and returns True to force a redraw
    (the terminal was resized). Without a cheap signature (a database store) every
    check renders, and a frame is yielded only if it differs.
    """
    from orchestra.changes import scan

    signature = scan(view.store)
    drawn_at = time.monotonic()
    yield first
    while True:
        forced = wait(interval)
        current = scan(view.store)
        due = refresh > 0 and time.monotonic() - drawn_at >= refresh
        if current is not None and current == signature and not due and not forced:
            continue
        signature = current
        drawn_at = time.monotonic()
        yield view.render_or_error()


def _plain(view: _View, first: str, args: argparse.Namespace, out: IO[str],
           err: IO[str]) -> int:
    """Piped: one plain frame per change of what the view shows."""
    shown = None
    frames = 0
    for text in _changes(view, first, args.interval, args.refresh or 0.0, _sleep):
        for problem in view.problems():
            err.write(f"{PROG}: warning: {problem}\n")
        content = _AS_OF.sub("", text)  # the clock alone is not a change
        if content == shown:
            continue
        shown = content
        out.write(text)
        out.flush()
        frames += 1
        if args.count is not None and frames >= args.count:
            return 0
    return 0  # pragma: no cover - the generator never ends


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _full_screen(view: _View, first: str, args: argparse.Namespace, stdin: IO[str] | None,
                 out: IO[str]) -> tuple[int, list[str]]:
    """On a terminal: redraw in place until q, Ctrl-C or ``--count`` frames."""
    from orchestra.screen import Keys, Screen

    refresh = 15.0 if args.refresh is None else args.refresh
    problems: list[str] = []
    frames = 0
    with _terminal_signals(), Screen(out) as screen, Keys(stdin) as keys:
        quit_keys = {"q", "Q"}

        def wait(seconds: float) -> bool:
            if quit_keys & set(keys.wait(seconds)):
                raise _Quit
            return screen.resized()

        try:
            for text in _changes(view, first, args.interval, refresh, wait):
                problems.extend(view.problems())
                status = (f"orchestra watch {args.view}   updated "
                          f"{time.strftime('%H:%M:%S')}   q or Ctrl-C quits")
                screen.draw(text.rstrip("\n").split("\n"), status)
                frames += 1
                if args.count is not None and frames >= args.count:
                    break
        except (_Quit, KeyboardInterrupt):
            pass
    return 0, problems


class _Quit(Exception):
    """The user asked to stop (q, Ctrl-C, the terminal hung up)."""


@contextmanager
def _terminal_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP (ssh dropped) end the watch the way Ctrl-C does, so the
    terminal is restored; only the main thread may set handlers."""
    def stop(signum: int, frame: Any) -> None:
        raise _Quit

    saved: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is None:
            continue
        with suppress(ValueError, OSError):
            saved[number] = signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in saved.items():
            with suppress(ValueError, OSError):
                signal.signal(number, handler)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _handle_with(stdin: IO[str] | None) -> Callable[[argparse.Namespace, Output, IO[str]], int]:
    def handle(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
        _check(args)
        view = _View(args)
        first = view.render()  # bad --project, --session or --sprint: say so now, exit 2/3
        if not _is_terminal(out.stream):
            try:
                return _plain(view, first, args, out.stream, err)
            except KeyboardInterrupt:
                return 0
        code, problems = _full_screen(view, first, args, stdin, out.stream)
        for problem in problems:  # after the screen is restored, so they stay visible
            err.write(f"{PROG}: warning: {problem}\n")
        return code

    return handle


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    front: Front | None = None,
) -> int:
    """``orchestra watch [VIEW] [--project P] [--session S] [--interval SEC] ...``."""
    keys = stdin if stdin is not None else sys.stdin
    return run_main(PROG, build_parser(front), _handle_with(keys), argv, stdout, stderr)


if __name__ == "__main__":
    raise SystemExit(main())
