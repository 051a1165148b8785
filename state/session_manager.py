"""session_manager: session lifecycle, presence and cleanup."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import IO, Any

from state.cli import EXIT_CODES_HELP, CliParser, Output, add_common, log_problems, run_main
from state.clock import parse_duration
from state.errors import InvalidValueError
from state.ids import resolve_session_id
from state.paths import validate_id
from state.store import open_store

__all__ = ["main"]

PROG = "session_manager"

DESCRIPTION = """\
Create, list, heartbeat, end and prune Orchestra sessions.

Sessions started by Claude Code are created by the SessionStart hook with
Claude Code's session id; 'create' makes one by hand (scripts, tests).
Status comes from the last heartbeat (every hook event is one):
  active < presence.active_seconds (300) <= idle < presence.idle_seconds (1800) <= stale
  ended: SessionEnd fired or 'end' was run."""


def build_parser() -> CliParser:
    parser = CliParser(prog=PROG, description=DESCRIPTION, epilog=EXIT_CODES_HELP)
    add_common(parser)
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES_HELP)
        add_common(p)
        return p

    p = verb("create", "create a session and print it (its id is 'session_id')")
    p.add_argument("--mode", default="development", help="free text, e.g. development, review")
    p.add_argument("--project", metavar="PROJECT", help="project id the session works on")
    p.add_argument("--id", dest="session_id", metavar="ID", help="choose the id (default: a UUID)")

    p = verb("list", "list sessions with status and what each is doing now")
    p.add_argument("--project", metavar="P", help="only sessions of project P")
    p.add_argument("--status", choices=["active", "idle", "stale", "ended"],
                   help="only sessions with this status")

    p = verb("show", "print one session's summary (status, last tool, current task, agents)")
    p.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="-")

    p = verb("heartbeat", "mark the session alive now")
    p.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="-")

    p = verb("end", "mark the session ended")
    p.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="-")
    p.add_argument("--reason", default="manual", help="recorded as end_reason (default manual)")

    p = verb("prune", "delete ended or stale sessions whose last activity is older than DURATION")
    p.add_argument("--older-than", required=True, metavar="DURATION",
                   help="e.g. 7d, 12h, 30m, 90s")
    p.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    return parser


def _handle(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
    store = open_store()
    try:
        return _run(args, out, store)
    finally:  # also when the verb fails: say what was moved aside on the way
        log_problems(store, err, PROG)


def _run(args: argparse.Namespace, out: Output, store: Any) -> int:
    from state import sessions

    verb = args.verb
    if verb == "create":
        doc = sessions.create_session(store, mode=args.mode, project=args.project,
                                      session_id=args.session_id)
        out.json(doc)
    elif verb == "list":
        if args.project is not None:
            validate_id(args.project, "project id")
        out.json(sessions.list_sessions(store, project=args.project, status=args.status))
    elif verb == "show":
        sid = resolve_session_id(args.session_id)
        sessions.require_session(store, sid)
        out.json(sessions.session_summary(store, sid))
    elif verb == "heartbeat":
        sid = resolve_session_id(args.session_id)
        sessions.require_session(store, sid)
        sessions.heartbeat(store, sid, event="cli")
        out.json(sessions.session_summary(store, sid))
    elif verb == "end":
        out.json(sessions.end_session(store, resolve_session_id(args.session_id),
                                      reason=args.reason))
    elif verb == "prune":
        try:
            seconds = parse_duration(args.older_than)
        except ValueError as exc:
            raise InvalidValueError(str(exc)) from None
        removed = sessions.prune_sessions(store, older_than=seconds, dry_run=args.dry_run)
        out.json({"removed" if not args.dry_run else "would_remove": removed})
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    return run_main(PROG, build_parser(), _handle, argv, stdout, stderr)


def run() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    run()
