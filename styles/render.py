"""styles.render: deterministic ASCII views of Orchestra state (or the same data as JSON).

    python -m styles.render dashboard|board|team|sessions|sprint|config|decisions|timeline
        [--project P] [--session S] [--sprint SPRINT] [--zoom 15m|1h|day] [--at TIME] [--json]

The output styles run this and show the result, so what the user sees does not
depend on how the model draws a table. Same state and same ``--at``, same
bytes: lists have a fixed order, every line is 78 columns, and no value depends
on the clock except through ``--at`` (default: now).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from state.cli import (
    EXIT_CODES_HELP,
    CliParser,
    Front,
    Output,
    UsageError,
    log_problems,
    run_main,
)
from state.store import open_store
from styles.views import VIEWS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = ["main", "render"]

PROG = "styles.render"

DESCRIPTION = """\
Render one view of Orchestra state as a fixed-width (78 columns) ASCII layout.

views:
""" + "\n".join(f"  {name:<10} {desc}" for name, (_m, desc) in VIEWS.items()) + """

The project is --project, else the session's project, else config default_project,
else the only project there is. The session is --session, else the current one
($ORCHESTRA_SESSION_ID, else $CLAUDE_CODE_SESSION_ID; marked '>' and shown in detail
by 'sessions'). Blockers include tasks in progress
whose session has been silent for render.blocker_idle_seconds (default 1800):
  orchestra shared set-config render.blocker_idle_seconds 900"""


def build_parser(front: Front | None = None, view: str | None = None) -> CliParser:
    """The parser; with ``view`` it renders that view only (``orchestra dashboard``)."""
    if view is None:
        parser = CliParser(prog=front.prog if front else f"python -m {PROG}",
                           description=DESCRIPTION, epilog=EXIT_CODES_HELP)
        parser.add_argument("view", metavar="VIEW", choices=list(VIEWS),
                            help="one of: " + ", ".join(VIEWS))
    else:
        parser = CliParser(prog=front.prog if front else f"python -m {PROG} {view}",
                           description=f"Show the {view} view: {VIEWS[view][1]}.",
                           epilog=front.epilog(view) if front else EXIT_CODES_HELP)
        parser.set_defaults(view=view)
    parser.add_argument("--project", metavar="P", help=(
        "project id (see above for the default)" if view is None else
        "project id (default: the session's project, else config default_project, else "
        "the only project there is)"))
    parser.add_argument("--session", metavar="S",
                        help="session id (default: the current session)")
    parser.add_argument("--sprint", metavar="SPRINT", help="sprint to show (view 'sprint')")
    # Only the timeline has a window: the other views refuse --zoom (_handle), so their
    # --help does not offer it.
    parser.add_argument("--zoom", choices=["15m", "1h", "day"], help=(
        "the window the 'timeline' view shows, ending now (default 1h)"
        if view in (None, "timeline") else argparse.SUPPRESS))
    parser.add_argument("--at", metavar="TIME",
                        help="evaluate presence and idle times as of TIME (ISO 8601), "
                             "for reproducible output; default now. The state shown is "
                             "today's: this is no replay of the past")
    parser.add_argument("--json", action="store_true", help="print the view's data as JSON")
    parser.add_argument("--compact", action="store_true",
                        help="with --json: compact JSON even on a terminal")
    return parser


def render(store: Any, view: str, *, project: str | None = None, session: str | None = None,
           session_required: bool = False, sprint: str | None = None,
           at: float | None = None, zoom: str | None = None) -> tuple[dict[str, Any], str]:
    """(data, text) of ``view``; the library entry point behind the CLI."""
    from state.clock import now
    from styles.views import load_view
    from styles.views.snapshot import take_snapshot

    build, text = load_view(view)
    # A view of now returns gone sessions' tasks to the pool first; a view --at another
    # time only reads (it must not act on a clock it was given).
    snap = take_snapshot(store, at=now() if at is None else at, project=project,
                         session=session, session_required=session_required,
                         sprint=sprint if view == "sprint" else None,
                         with_config=view == "config", sweep=at is None)
    if view == "timeline":
        snap.zoom = zoom
    data = build(snap)
    return data, text(data)


def _at(raw: str | None) -> float | None:
    if raw is None:
        return None
    from state.clock import parse_time

    try:
        return parse_time(raw)
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from None


def _handle(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
    if args.sprint is not None and args.view != "sprint":
        raise UsageError("--sprint only applies to the 'sprint' view")
    if args.zoom is not None and args.view != "timeline":
        raise UsageError("--zoom only applies to the 'timeline' view")
    session, explicit = args.session, args.session is not None
    if session is None:
        from state.ids import current_session_id

        session = current_session_id()
    at = _at(args.at)
    store = open_store()
    try:
        data, text = render(store, args.view, project=args.project, session=session,
                            session_required=explicit, sprint=args.sprint, at=at,
                            zoom=args.zoom)
        if session is not None and data["session"] is None:
            err.write(f"{PROG}: warning: session {session} (the current session) "
                      "not found; showing without it\n")
        if args.json:
            out.json(data)
        else:
            out.stream.write(text)
            out.stream.flush()
    finally:  # also when the view fails: say what was moved aside on the way
        log_problems(store, err, PROG)
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    front: Front | None = None,
    view: str | None = None,
) -> int:
    """Render a view; ``view`` fixes it (then ``argv`` holds only the options)."""
    return run_main(front.prog if front else PROG, build_parser(front, view), _handle, argv,
                    stdout, stderr)


if __name__ == "__main__":
    from state.process import run_process

    run_process(main)
