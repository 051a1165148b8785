"""session_manager: session lifecycle, presence and cleanup."""

from __future__ import annotations

import argparse

from state.cli import (
    EXIT_CODES_HELP,
    CliParser,
    Output,
    Verbs,
    add_common,
    run_main,
    with_store,
)
from state.clock import parse_duration
from state.errors import InvalidValueError
from state.ids import resolve_session_id
from state.paths import validate_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO, Any

__all__ = ["main"]

PROG = "session_manager"

DESCRIPTION = """\
Create, list, heartbeat, end and prune Orchestra sessions.

Sessions started by Claude Code are created by the SessionStart hook with
Claude Code's session id; 'create' makes one by hand (scripts, tests).
Status comes from the last heartbeat (every hook event is one):
  active < presence.active_seconds (300) <= idle < presence.idle_seconds (1800) <= stale
  ended: SessionEnd fired or 'end' was run."""


def build_parser(argv: Sequence[str] | None = ()) -> CliParser:
    """The parser; for ``argv`` naming a verb, with only that verb's arguments."""
    parser = CliParser(prog=PROG, description=DESCRIPTION, epilog=EXIT_CODES_HELP)
    add_common(parser)
    verbs = Verbs(parser, argv)
    verb = verbs.add

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

    p = verb("send", "send a durable message to a session, a project's sessions, or everyone")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="SESSION_ID", help="one session")
    target.add_argument("--project", metavar="PROJECT",
                        help="every session of PROJECT, including ones that start later")
    target.add_argument("--all", action="store_true", help="every session")
    p.add_argument("--from", dest="sender", metavar="ID",
                   help="sender (default $ORCHESTRA_SESSION_ID, else 'cli')")
    p.add_argument("--urgent", action="store_true",
                   help="may hold the recipient's next Stop once to show the message")
    p.add_argument("text", metavar="TEXT", help="the message (data for the recipient, "
                   "delivered at its next SessionStart, prompt or tool result)")

    p = verb("inbox", "list messages for a session (pending ones; --all includes delivered)")
    p.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="-")
    p.add_argument("--all", action="store_true", help="include messages already delivered")
    p.add_argument("--mark-read", action="store_true",
                   help="mark the pending messages delivered (they will not reach Claude)")

    p = verb("claims", "list live file claims of a project (who last edited which file)")
    p.add_argument("--project", metavar="P",
                   help="the project (default: the project of $ORCHESTRA_SESSION_ID)")
    p.add_argument("--window", metavar="DURATION",
                   help="claims younger than this (default config claims.window_seconds)")

    p = verb("release", "end a session's file claims (all, or one file with --path)")
    p.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="-")
    p.add_argument("--path", metavar="FILE", help="only this file (absolute path)")
    return parser if verbs.complete else build_parser(())


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
    elif verb in ("send", "inbox", "claims", "release"):
        _coordination(args, out, store)
    return 0


def _coordination(args: argparse.Namespace, out: Output, store: Any) -> None:
    """Messages and file claims (the coordination verbs)."""
    import os

    from state import claims, messages, sessions
    from state.config import load_config, project_config

    verb = args.verb
    if verb == "send":
        sender = args.sender or os.environ.get("ORCHESTRA_SESSION_ID") or "cli"
        out.json(messages.send_message(
            store, text=args.text, sender=sender, to_session=args.to, to_project=args.project,
            to_all=args.all, urgent=args.urgent))
    elif verb == "inbox":
        sid = resolve_session_id(args.session_id)
        if args.mark_read:
            out.json(messages.take_undelivered(store, sid))
        else:
            out.json(messages.inbox(store, sid, include_delivered=args.all))
    elif verb == "claims":
        project = args.project
        if project is None:
            state = sessions.require_session(store, resolve_session_id(None))
            project = state.get("project")
            if not isinstance(project, str):
                raise InvalidValueError("the current session has no project; use --project")
        validate_id(project, "project id")
        config = project_config(load_config(store), project)
        try:
            window = (parse_duration(args.window) if args.window
                      else float(config["claims"]["window_seconds"]))
        except ValueError as exc:
            raise InvalidValueError(str(exc)) from None
        live = claims.live_claims(store, project, window=window)
        out.json(sorted(live.values(), key=lambda c: c["path"]))
    elif verb == "release":
        sid = resolve_session_id(args.session_id)
        project = sessions.require_session(store, sid).get("project")
        if not isinstance(project, str):
            raise InvalidValueError(f"session {sid} has no project, so it holds no claims")
        claims.release_claims(store, project, sid, args.path)
        out.json({"released": sid, "project": project, "path": args.path})


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    return run_main(PROG, build_parser(argv), with_store(PROG, _run), argv, stdout, stderr)


def run() -> None:
    from state.process import run_process

    run_process(main)


if __name__ == "__main__":
    run()
