"""``orchestra task VERB``: project tasks, for the model and for people.

One verb family: ``add``, ``list``, ``show``, ``start``, ``progress``, ``done``, ``block``
(what anyone does with a task), ``assign``, ``next``, ``handoff`` (who does it).
Tasks are the project plan's (:mod:`state.plan`), with ids unique in the project
(``T-3``); a session with no project keeps session-local ones (``L-1``). Also here:
``orchestra assign --auto`` (:mod:`state.assignment`) and ``orchestra role``.
"""

from __future__ import annotations

import argparse

from state.cli import CliParser, Front, Output, run_main, verb_parser, with_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO, Any

__all__ = ["assign_main", "main", "role_main"]

PROG = "orchestra task"

DESCRIPTION = """\
Project tasks: the plan's tasks, with ids unique in the project (T-1, T-2...; '3'
and '#3' mean T-3), a status (pending, in_progress, blocked, done), progress 0-100,
an assignee (a session or a tool), what they need (--needs: a tool or skill) and
their history. The board, sprint and dashboard views show them.

TASK verbs work on the current session's project (--project P for another). A
session with no project keeps session-local tasks (L-1...), which cannot be
assigned, handed off or taken with 'next'.

Who does what: 'start' takes a task for this session; 'assign' gives it to a session
or a tool (a tool's max_instances is enforced per capacity.policy); 'next' takes the
next task this session can do, atomically (never the same task twice, across
processes and, on PostgreSQL, across machines); 'handoff' moves a task with its
history to another session. A session that ends or is gone gives its open tasks back
to the pool, flagged with its last activity and the files it changed. A task another
live session holds is its own: 'start' refuses it, and so do 'progress', 'done', 'block',
'handoff' and 'assign' unless this session gave it out (--force for any of them; outside
a session, people may).

Every verb prints the task as JSON ('list' prints one line per task; --json for JSON)."""


def build_parser(front: Front | None = None, argv: Sequence[str] | None = ()) -> CliParser:
    parser, verbs = verb_parser(PROG, DESCRIPTION, front, argv)
    verb = verbs.add

    def project(p: Any) -> None:
        p.add_argument("--project", metavar="P", help="the project (default: this session's)")

    p = verb("add", "add a task to the project plan (pending, unassigned)")
    p.add_argument("title", metavar="TITLE")
    p.add_argument("--description", "-d", metavar="TEXT")
    p.add_argument("--needs", metavar="TOOL", help="a tool or skill the task needs")
    p.add_argument("--epic", metavar="EPIC")
    p.add_argument("--sprint", metavar="SPRINT")
    p.add_argument("--points", type=float, metavar="N")
    p.add_argument("--start", action="store_true", help="and start it in this session")
    p.add_argument("--new-project", action="store_true",
                   help="with --project: the project is new (no session has had it yet)")
    project(p)

    p = verb("list", "the project's tasks, one line each (--json for JSON)")
    p.add_argument("--status", metavar="S", help="only tasks with this status")
    p.add_argument("--mine", action="store_true", help="only this session's share")
    p.add_argument("--json", action="store_true", help="print JSON")
    project(p)

    p = verb("show", "one task with its history")
    p.add_argument("task", metavar="TASK")
    project(p)

    for name, help_text in (("start", "start a task in this session (takes it if nobody has)"),
                            ("done", "mark a task done (progress 100)"),
                            ("block", "mark a task blocked (say why with --note)")):
        p = verb(name, help_text)
        p.add_argument("task", metavar="TASK")
        p.add_argument("--note", metavar="TEXT", help="why, or what is left")
        p.add_argument("--force", action="store_true",
                       help="take it even from another session" if name == "start" else
                       "even if another session holds it")
        project(p)

    p = verb("progress", "set a task's progress, 0-100")
    p.add_argument("task", metavar="TASK")
    p.add_argument("percent", metavar="N", help="0 to 100")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--force", action="store_true", help="even if another session holds it")
    project(p)

    p = verb("assign", "give a task to a session or to a tool")
    p.add_argument("task", metavar="TASK")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--to", metavar="SESSION", help="a session (told at its next prompt)")
    who.add_argument("--tool", metavar="TOOL", help="a tool of the registry (uses an instance)")
    p.add_argument("--over-capacity", action="store_true",
                   help="assign even when the tool is full (capacity.policy ask)")
    p.add_argument("--force", action="store_true", help="even if another session holds it")
    project(p)

    p = verb("next", "take the next task this session can do (exit 3: none)")
    project(p)

    p = verb("handoff", "move a task, its history and a note, to another session")
    p.add_argument("task", metavar="TASK")
    p.add_argument("--to", metavar="SESSION", required=True)
    p.add_argument("--note", metavar="TEXT", help="what the next session needs to know")
    p.add_argument("--force", action="store_true", help="even if another session holds it")
    project(p)
    return parser if verbs.complete else build_parser(front)


# -- where: the project, the session, who acts ------------------------------------------


class Where:
    __slots__ = ("by", "config", "project", "session", "state")

    def __init__(self, project: str | None, session: str | None, state: dict[str, Any],
                 config: dict[str, Any]) -> None:
        self.project = project
        self.session = session
        self.state = state
        self.config = config
        self.by = session or "cli"


def where(store: Any, args: argparse.Namespace, *, new: bool = False) -> Where:
    from state.config import load_config
    from state.errors import InvalidValueError
    from state.ids import current_session_id
    from state.paths import session_key, validate_id
    from state.sessions import resolve_project

    config = load_config(store)
    raw = current_session_id()
    session = validate_id(raw, "session id") if raw else None
    state = (store.read(session_key(session, "state.json")) or {}) if session else {}
    session_exists = bool(session and state)
    given = getattr(args, "project", None)
    if given:
        project: str | None = resolve_project(store, given, new=new)
    elif session_exists:
        project = state.get("project") if isinstance(state.get("project"), str) else None
    else:
        default = config.get("default_project")
        project = default if isinstance(default, str) and default else None
        if project is None:
            raise InvalidValueError("no project: this is not a session Orchestra knows, and "
                                    "no default_project is set; pass --project P")
    return Where(project, session if session_exists else None, state, config)


def _local(w: Where, verb: str) -> None:
    from state.errors import InvalidValueError

    if w.session is None:
        raise InvalidValueError(f"task {verb}: no project and no session")
    if verb in ("assign", "next", "handoff"):
        raise InvalidValueError(
            f"task {verb}: session {w.session} has no project, so its tasks are "
            "session-local; give the session a project (orchestra set project P) or "
            "pass --project P")


def _run(args: argparse.Namespace, out: Output, store: Any) -> int:
    from state import plan

    verb = args.verb
    w = where(store, args, new=getattr(args, "new_project", False))
    if w.project is None:
        _local(w, verb)
        assert w.session is not None
        return _run_local(args, out, store, w)
    project = w.project
    if verb == "add":
        task = plan.add_task(store, project, args.title, by=w.by, description=args.description,
                             needs=args.needs, epic=args.epic, sprint=args.sprint,
                             points=args.points)
        if args.start:
            task = plan.set_status(store, project, task["id"], "in_progress", by=w.by,
                                   take=w.session is not None)
        out.json(task)
    elif verb == "list":
        plan.return_to_pool(store, project, config=w.config)
        tasks = plan.list_tasks(store, project, status=args.status,
                                session=w.session if args.mine else None)
        if args.json:
            out.json(tasks)
        else:
            _print_lines(out, project, tasks)
    elif verb == "show":
        out.json(plan.get_task(store, project, args.task))
    elif verb in ("start", "done", "block"):
        status = {"start": "in_progress", "done": "done", "block": "blocked"}[verb]
        out.json(plan.set_status(store, project, args.task, status, by=w.by, note=args.note,
                                 take=verb == "start" and w.session is not None,
                                 force=getattr(args, "force", False)))
    elif verb == "progress":
        fields: dict[str, Any] = {"progress": args.percent}
        if args.note is not None:
            fields["note"] = args.note
        out.json(plan.update_fields(store, project, args.task, fields, by=w.by,
                                    force=args.force))
    elif verb == "assign":
        out.json(plan.assign_task(store, project, args.task, by=w.by, to_session=args.to,
                                  tool=args.tool, over_capacity=args.over_capacity,
                                  config=w.config, force=args.force))
    elif verb == "next":
        return _next(out, store, w, project)
    elif verb == "handoff":
        out.json(plan.handoff_task(store, project, args.task, to_session=args.to, by=w.by,
                                   note=args.note, force=args.force))
    return 0


def _next(out: Output, store: Any, w: Where, project: str) -> int:
    from state import plan
    from state.errors import InvalidValueError, NotFoundError
    from state.sessions import role_of

    if w.session is None:
        raise InvalidValueError("task next takes work for the current session: run it inside "
                                "a Claude Code session (or set ORCHESTRA_SESSION_ID)")
    skills = role_of(w.state, w.config)["skills"]
    task = plan.next_task(store, project, w.session, skills=skills, config=w.config)
    if task is None:
        pending = [t for t in plan.list_tasks(store, project, status="pending")
                   if not t.get("assignee")]
        hint = (f"; {len(pending)} pending need a skill or a free tool this session lacks: "
                + ", ".join(f"{t['id']} needs {t.get('needs')}" for t in pending[:5])
                if pending else "")
        raise NotFoundError(f"no pending task session {w.session} can do in project "
                            f"{project}{hint}")
    out.json(task)
    return 0


def _print_lines(out: Output, project: str, tasks: list[dict[str, Any]]) -> None:
    lines = [f"project {project}: {len(tasks)} task(s)"]
    for t in tasks:
        who = ""
        if t.get("assignee"):
            who = f" @{t['assignee']}" + (" (tool)" if t.get("assignee_type") == "tool" else "")
        needs = f" needs:{t['needs']}" if t.get("needs") else ""
        back = ""
        if isinstance(t.get("returned"), dict):
            back = f" [back from {t['returned'].get('from')}: {t['returned'].get('reason')}]"
        lines.append(f"{t['id']:<6} {t.get('status', '?'):<11} {t.get('progress', 0):>3}%  "
                     f"{t.get('title')}{who}{needs}{back}")
    out.stream.write("\n".join(lines) + "\n")


def _run_local(args: argparse.Namespace, out: Output, store: Any, w: Where) -> int:
    from state import plan
    from state.errors import InvalidValueError

    assert w.session is not None
    verb = args.verb
    if verb == "add":
        task = plan.add_local_task(store, w.session, args.title, description=args.description)
        if args.start:
            task = plan.change_local_task(store, w.session, task["id"], status="in_progress")
        task["note"] = ("session-local: this session has no project, so the task is not in a "
                        "project plan and cannot be assigned")
        out.json(task)
    elif verb == "list":
        tasks = [{"id": k, **v} for k, v in plan.local_tasks(store, w.session).items()]
        if args.status:
            tasks = [t for t in tasks if t.get("status") == args.status]
        if args.json:
            out.json(tasks)
        else:
            lines = [f"session {w.session} (no project): {len(tasks)} session-local task(s)"]
            lines += [f"{t['id']:<6} {t.get('status', '?'):<11} {t.get('progress', 0):>3}%  "
                      f"{t.get('subject') or t.get('title')}" for t in tasks]
            out.stream.write("\n".join(lines) + "\n")
    elif verb == "show":
        local = plan.local_tasks(store, w.session)
        key = args.task.lstrip("#")
        found = local.get(key) or local.get(plan.normalize_id(key, local=True))
        if found is None:
            from state.errors import NotFoundError

            raise NotFoundError(f"no task {args.task} in session {w.session}")
        out.json(found)
    elif verb in ("start", "done", "block"):
        status = {"start": "in_progress", "done": "done", "block": "blocked"}[verb]
        out.json(plan.change_local_task(store, w.session, args.task, status=status,
                                        note=args.note))
    elif verb == "progress":
        out.json(plan.change_local_task(store, w.session, args.task, progress=args.percent,
                                        note=args.note))
    else:
        raise InvalidValueError(f"task {verb}: not for session-local tasks")
    return 0


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    prog = front.prog if front else PROG
    return run_main(prog, build_parser(front, argv), with_store(prog, _run), argv, stdout,
                    stderr)


# -- orchestra assign --auto -------------------------------------------------------------

ASSIGN_DESCRIPTION = """\
Give pending, unassigned tasks of the project to idle workers (sessions with the role
worker that hold no open task) whose skills cover what each task needs, within the
tools' capacity. Tasks that came back from a gone session go first. Every assignment is
logged with its reason (the task's history, projects/<P>/assignments.jsonl) and reaches
the worker at its next prompt. The config setting tasks.auto_assign runs this at an
orchestrator's prompts."""


def _assign_parser(front: Front | None) -> CliParser:
    from state.cli import EXIT_CODES_HELP, add_common

    parser = CliParser(prog=front.prog if front else "orchestra assign",
                       description=ASSIGN_DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("--auto", action="store_true", required=True,
                        help="run the automatic policy (the only mode so far)")
    parser.add_argument("--project", metavar="P", help="the project (default: this session's)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be assigned")
    add_common(parser)
    return parser


def _assign(args: argparse.Namespace, out: Output, store: Any) -> int:
    from state.assignment import auto_assign
    from state.errors import InvalidValueError

    w = where(store, args)
    if w.project is None:
        raise InvalidValueError("assign --auto: this session has no project; pass --project P")
    out.json(auto_assign(store, w.project, by=w.by, config=w.config, dry_run=args.dry_run))
    return 0


def assign_main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
                stdout: IO[str] | None = None, stderr: IO[str] | None = None,
                front: Front | None = None) -> int:
    prog = front.prog if front else "orchestra assign"
    return run_main(prog, _assign_parser(front), with_store(prog, _assign), argv, stdout, stderr)


# -- orchestra role ------------------------------------------------------------------

ROLE_DESCRIPTION = """\
A session's orchestration role: peer (the default: sessions see each other and
exchange messages), orchestrator (gives work out: sees unassigned tasks and idle
workers at each prompt), coordinator (an orchestrator for one epic or sprint:
--scope epic:E or sprint:S) or worker (takes work: sees its assignment). Skills are
tools of the registry the session can act as (--skills a,b); a task that needs one
goes only to a worker that has it. Not the team members' free-text role
(orchestra shared set-member --role). A project's default: roles.default in config
(orchestra shared set-config projects.P.roles.default worker)."""


def _role_parser(front: Front | None, argv: Sequence[str] | None) -> CliParser:
    parser, verbs = verb_parser("orchestra role", ROLE_DESCRIPTION, front, argv)
    p = verbs.add("set", "set a session's role (SESSION defaults to the current one)")
    p.add_argument("operands", nargs="+", metavar="[SESSION] ROLE")
    p.add_argument("--skills", metavar="A,B", help="tools of the registry it can act as")
    p.add_argument("--scope", metavar="epic:E|sprint:S", help="a coordinator's scope")
    p = verbs.add("show", "a session's role, skills and scope")
    p.add_argument("session_id", nargs="?", default="-", metavar="SESSION")
    return parser if verbs.complete else _role_parser(front, ())


def _role(args: argparse.Namespace, out: Output, store: Any) -> int:
    from state.config import load_config
    from state.errors import InvalidValueError
    from state.ids import resolve_session_id
    from state.roles import set_role
    from state.sessions import require_session, role_of

    if args.verb == "show":
        sid = resolve_session_id(args.session_id)
        out.json({"session_id": sid, **role_of(require_session(store, sid),
                                               load_config(store))})
        return 0
    operands = list(args.operands)
    if len(operands) > 2:
        raise InvalidValueError("role set takes [SESSION] ROLE")
    sid = resolve_session_id(operands[0] if len(operands) == 2 else None)
    skills = [s for s in args.skills.split(",") if s] if args.skills is not None else None
    out.json(set_role(store, sid, operands[-1], skills=skills, scope=args.scope))
    return 0


def role_main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
              stdout: IO[str] | None = None, stderr: IO[str] | None = None,
              front: Front | None = None) -> int:
    prog = front.prog if front else "orchestra role"
    return run_main(prog, _role_parser(front, argv), with_store(prog, _role), argv, stdout,
                    stderr)
