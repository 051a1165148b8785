"""session_manager: session lifecycle, presence and cleanup."""

from __future__ import annotations

import argparse
import os

from state.cli import (
    CliParser,
    Front,
    Output,
    UsageError,
    run_main,
    verb_parser,
    with_store,
)
from state.clock import parse_duration
from state.errors import InvalidValueError, NotFoundError
from state.ids import current_session_id, resolve_session_id
from state.paths import validate_id

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs every CLI call milliseconds
    from collections.abc import Sequence
    from typing import IO, Any

# The verbs import what they use after run() turned the collector off (state.process).
__all__ = ["main"]

PROG = "session_manager"

DESCRIPTION = """\
Create, list, heartbeat, end and prune Orchestra sessions.

Sessions started by Claude Code are created by the SessionStart hook with
Claude Code's session id; 'create' makes one by hand (scripts, tests).
Status comes from the last heartbeat (every hook event is one):
  active < presence.active_seconds (300) <= idle < presence.idle_seconds (1800) <= stale
  ended: SessionEnd fired or 'end' was run."""


SEND_DESCRIPTION = """\
Send a durable message to one session (--to), every session of a project
(--project) or every session (--all). Each recipient gets it once, at its next
SessionStart, prompt or tool result, framed as data from another session.
A sender never receives its own --project or --all message; a message --to
oneself is delivered (a note to self).

A --project or --all message lives --ttl (default 24h): it reaches every
session of its audience that was live when it was sent or starts before it
expires (a session that existed in time gets it at its next event, however
late), never a session that starts after it expired. A --to message waits
for its session however long it takes.

PROJECT is spelled as sessions spell it: the project of a session in folder
'MyApp' is 'myapp' (lower-cased; characters other than letters, digits, '-',
'_' and '.' become '-'), so --project MyApp reaches it. A project that no
session has had and that is not configured (projects.<id>, default_project)
is refused with exit 3, naming the known projects; --new-project sends to it
anyway (to sessions that start in it later)."""


RELEASE_DESCRIPTION = """\
End a session's file claims: all of them, or with --path the one on FILE.

FILE is resolved the way claims are: relative to the current folder, symlinks
followed, then taken relative to the project's root (projects.<id>.root, else
the folder the session's project came from), so 'link/app.py' releases the
claim on 'src/app.py' when link points to src. Prints the released session,
project, the resolved path and the claimed files released ('file' in
'claims'). A --path the session holds no live claim on exits 3."""


LIST_DESCRIPTION = """\
Each session: its status (active, idle, stale, ended: from its heartbeat), its
Claude Code name (claude_name, as ListAgents shows it and SendMessage takes it),
its role (peer, orchestrator, coordinator, worker; with skills and scope), its
checkout (folder and branch) and what it is doing (activity): state (working,
waiting_permission, waiting_input, idle, ended, gone; a wait outlasts
presence.idle_seconds, since a waiting session is silent), running tools with
their descriptions, busy subagents with their tasks, background tasks, the first
line of the last prompt and of the last answer, the files it wrote, each with its
time; 'doing' says it in one line. tokens: per model, for the main
thread and the subagents (from the transcripts, at Stop); cost: from the price
table in config (pricing), "usd": null where a model has no price (never 0).
JSON by default; --text prints lines for people."""


def _formats(parser: Any) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", dest="text", action="store_false",
                       help="JSON (the default)")
    group.add_argument("--text", dest="text", action="store_true",
                       help="plain text for people instead of JSON")
    parser.set_defaults(text=False)


def build_parser(front: Front | None = None, argv: Sequence[str] | None = ()) -> CliParser:
    """The parser; for an ``argv`` that names a verb, with only that verb's (see VerbTable)."""
    parser, verbs = verb_parser(PROG, DESCRIPTION, front, argv)
    verb = verbs.add

    p = verb("create", "create a session and print it (its id is 'session_id')")
    p.add_argument("--mode", default="development", help="free text, e.g. development, review")
    p.add_argument("--project", metavar="PROJECT", help="project id the session works on")
    p.add_argument("--id", dest="session_id", metavar="ID", help="choose the id (default: a UUID)")
    p.add_argument("--role", choices=["peer", "orchestrator", "coordinator", "worker"],
                   help="its orchestration role (default: the project's roles.default, "
                   "else peer; see orchestra role --help)")
    p.add_argument("--skills", metavar="A,B", help="tools of the registry it can act as")
    p.add_argument("--scope", metavar="epic:E|sprint:S", help="a coordinator's epic or sprint")

    p = verb("list", "list sessions with status and what each is doing now")
    p.description = LIST_DESCRIPTION
    p.add_argument("--project", metavar="P", help="only sessions of project P")
    p.add_argument("--status", choices=["active", "idle", "stale", "ended"],
                   help="only sessions with this status")
    p.add_argument("--waiting", action="store_true",
                   help="only sessions that wait for a person (a permission or an answer)")
    _formats(p)

    p = verb("show", "print one session's summary (status, last tool, current task, agents, "
                     "the guard's recent decisions that stopped it or protected its work)")
    p.description = LIST_DESCRIPTION
    p.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="-")
    _formats(p)

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
    p.description = SEND_DESCRIPTION
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="SESSION_ID", help="one session")
    target.add_argument("--project", metavar="PROJECT",
                        help="every session of PROJECT, including ones that start later "
                        "(spelled as sessions spell it: see above)")
    target.add_argument("--all", action="store_true", help="every session")
    p.add_argument("--from", dest="sender", metavar="ID",
                   help="sender (default: the current session, else 'cli')")
    p.add_argument("--new-project", action="store_true",
                   help="with --project: the project is new (no session has had it yet)")
    p.add_argument("--urgent", action="store_true",
                   help="may hold the recipient's next Stop once to show the message")
    p.add_argument("--ttl", metavar="DURATION",
                   help="with --project or --all: how long sessions that start later still "
                   "get it (default 24h; e.g. 30m, 12h, 2d; at most 365d)")
    p.add_argument("text", metavar="TEXT", help="the message (data for the recipient, "
                   "delivered at its next SessionStart, prompt or tool result)")

    p = verb("inbox", "list messages for a session (pending ones; --all includes delivered)")
    p.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="-")
    p.add_argument("--all", action="store_true", help="include messages already delivered")
    p.add_argument("--mark-read", action="store_true",
                   help="mark the pending messages delivered (they will not reach Claude)")
    p.add_argument("--follow", action="store_true",
                   help="keep running: print each new message as one line of text (framed as "
                   "data) as it arrives and mark it delivered, so hooks do not repeat it; "
                   "this is what the plugin's monitor runs")
    p.add_argument("--interval", type=float, default=1.0, metavar="S",
                   help="with --follow: seconds between checks (default 1)")

    p = verb("claims", "list live file claims of a project (who last edited or is writing "
                       "which file, and why each is still held)")
    p.add_argument("--project", metavar="P",
                   help="the project (default: the current session's project)")
    p.add_argument("--window", metavar="DURATION",
                   help="claims younger than this (default config claims.window_seconds)")

    p = verb("release", "end a session's file claims (all, or one file with --path)")
    p.description = RELEASE_DESCRIPTION
    p.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="-")
    p.add_argument("--path", metavar="FILE",
                   help="only this file: absolute or relative to the current folder, resolved "
                   "like claims are (exit 3 if the session holds no live claim on it)")
    return parser if verbs.complete else build_parser(front)


def _run(args: argparse.Namespace, out: Output, store: Any) -> int:
    from state import sessions

    verb = args.verb
    if verb == "create":
        skills = [x for x in args.skills.split(",") if x] if args.skills is not None else None
        doc = sessions.create_session(store, mode=args.mode, project=args.project,
                                      session_id=args.session_id, role=args.role,
                                      skills=skills, scope=args.scope)
        out.json(doc)
    elif verb == "list":
        if args.project is not None:
            validate_id(args.project, "project id")
        listed = sessions.list_sessions(store, project=args.project, status=args.status)
        if args.waiting:
            from state.activity import is_waiting

            listed = [s for s in listed if is_waiting(s.get("activity"))]
        if args.text:
            from state.activity import who_line

            out.stream.write("".join(who_line(s) + "\n" for s in listed) or (
                "no session waits for a person\n" if args.waiting else "no sessions\n"))
        else:
            out.json(listed)
    elif verb == "show":
        sid = resolve_session_id(args.session_id)
        sessions.require_session(store, sid)
        summary = sessions.session_summary(store, sid) or {}
        from state.guard_log import one_line, recent_decisions

        if isinstance(summary.get("project"), str):  # what the guard stopped, for or by it
            summary["guard"] = recent_decisions(store, [summary["project"]], session=sid,
                                                limit=5)
        if args.text:
            from state.activity import show_text

            out.stream.write(show_text(summary))
            for decision in summary.get("guard") or []:
                out.stream.write(f"guard:     {str(decision.get('at', ''))[:19]} "
                                 f"{one_line(decision)}\n")
        else:
            out.json(summary)
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


def _drop_output(stream: Any) -> None:
    """The reader of ``stream`` is gone: send what is still buffered to the null device,
    so that the interpreter's last flush does not fail (exit 120) on the way out."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)


def _coordination(args: argparse.Namespace, out: Output, store: Any) -> None:
    """Messages and file claims (the coordination verbs)."""

    from state import claims, messages, sessions
    from state.config import load_config, project_config

    verb = args.verb
    if verb == "send":
        sender = args.sender or current_session_id() or "cli"
        if args.new_project and args.project is None:
            raise UsageError("--new-project goes with --project")
        try:
            ttl = parse_duration(args.ttl) if args.ttl is not None else None
        except ValueError as exc:
            raise InvalidValueError(f"--ttl: {exc}") from None
        project = (sessions.resolve_project(store, args.project, new=args.new_project)
                   if args.project is not None else None)
        out.json(messages.send_message(
            store, text=args.text, sender=sender, to_session=args.to, to_project=project,
            to_all=args.all, urgent=args.urgent, ttl=ttl))
    elif verb == "inbox":
        sid = resolve_session_id(args.session_id)
        if args.follow:
            if args.all or args.mark_read or args.interval <= 0:
                raise InvalidValueError("--follow takes only --interval (a positive number)")

            def write(line: str) -> None:
                try:
                    out.stream.write(line + "\n")
                    out.stream.flush()  # written and flushed before it counts as delivered
                except BrokenPipeError:
                    _drop_output(out.stream)
                    raise

            from state.lifeline import session_lifeline

            messages.follow(store, sid, write, interval=args.interval,
                            alive=session_lifeline())
        elif args.mark_read:
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
        state = sessions.require_session(store, sid)
        project = state.get("project")
        if not isinstance(project, str):
            raise InvalidValueError(f"session {sid} has no project, so it holds no claims")
        config = load_config(store)
        window = float(project_config(config, project)["claims"]["window_seconds"])
        held = sorted(file for file, claim in claims.live_claims(store, project,
                                                                 window=window).items()
                      if claim["session"] == sid)
        file = real = None
        if args.path is not None:
            if not args.path or "\0" in args.path:
                raise InvalidValueError("--path is empty or holds a NUL character")
            file, real = claims.claim_file(os.path.abspath(os.path.expanduser(args.path)),
                                           claims.project_root(config, project, state))
            if file not in held:
                raise NotFoundError(
                    f"session {sid} holds no live claim on {args.path} (resolved to {file!r} "
                    f"in project {project}); its claims: {', '.join(held) or 'none'}")
            held = [file]
        claims.release_claims(store, project, sid, file)
        out.json({"released": sid, "project": project, "path": real, "files": held})


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    front: Front | None = None,
) -> int:
    prog = front.prog if front else PROG
    return run_main(prog, build_parser(front, argv), with_store(prog, _run), argv, stdout, stderr)


def run() -> None:
    from state.process import run_process

    run_process(main)


if __name__ == "__main__":
    run()
