"""state_manager: read, change, query and watch one session's state.

Paths are dot paths (``active_work.current_epic``) or JSONPath (anything starting
with ``$``). See ``--help`` and :mod:`state.view` for which file each path lives in.
"""

from __future__ import annotations

from state.errors import InvalidPathError, InvalidValueError, NotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs every CLI call milliseconds
    import argparse
    from collections.abc import Sequence
    from typing import IO, Any

    from state.cli import CliParser, Front, Output

__all__ = ["main"]

# The rest of Orchestra is imported by the functions that use it: run() turns the
# cyclic garbage collector off first (state.process), which makes those imports and
# the parsing of a large state cheaper, and a plain get or set never loads argparse.

PROG = "state_manager"

DESCRIPTION = """\
Read and change one session's state.

A session is shown as one JSON document:
  state.json holds everything except the two keys below;
  active_work.tasks.<id>... is stored in tasks.json (fed by Claude Code's task tools);
  metrics... is derived from the event log when read (read-only).

PATH is a dot path (active_work.current_epic, active_work.tasks.1.status;
escape a dot inside a key as '\\.' or write the key as ["a.b"]) or a JSONPath
query starting with '$' (get and watch only), e.g.
  state_manager get SID '$.active_work.tasks[?@.status=="pending"]'
SESSION_ID defaults to the current session ($ORCHESTRA_SESSION_ID, else
$CLAUDE_CODE_SESSION_ID) when omitted or given as '-'.
VALUE is parsed as JSON when it is valid JSON, else taken as a string. A set
that leaves the value as it was (by JSON type and value: true over 1 is a
change) writes nothing. A stored document nests objects and arrays at most 100
levels deep, itself included: a VALUE or --data that would go deeper is
refused (exit 2).

'version' is the version of the whole session: every change to state.json or
tasks.json (by a CLI or a hook) adds one. Read it, then write with
--if-version N: the write happens only if nobody changed the session since
(exit 4 otherwise), whichever file PATH lives in:
  V=$(state_manager get SID version)
  state_manager set SID active_work.tasks.1.status done --if-version "$V"

"""

#: Each verb's operands, as its usage line shows them (see _operands and _plain).
OPERANDS = {
    "get": "[SESSION_ID] [PATH]",
    "set": "[SESSION_ID] PATH VALUE",
    "merge": "[SESSION_ID] PATH",
    "delete": "[SESSION_ID] PATH",
    "watch": "[SESSION_ID] PATH",
    "events": "[SESSION_ID]",
}

#: The verbs a plain command line may name, with the defaults of their options.
_PLAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "get": {},
    "set": {"value_mode": "auto", "if_version": None},
    "delete": {"if_version": None},
}


def build_parser(front: Front | None = None, argv: Sequence[str] | None = ()) -> CliParser:
    """The parser; for an ``argv`` that names a verb, with only that verb's (see VerbTable)."""
    from state.cli import add_value_mode, verb_parser
    from state.jsonpath import SYNTAX_HELP

    parser, verbs = verb_parser(PROG, DESCRIPTION + SYNTAX_HELP, front, argv)
    verb = verbs.add

    p = verb("get", "print the value at PATH (a JSONPath prints the list of matches)")
    _operands(p, OPERANDS["get"])
    p.epilog = f"{SYNTAX_HELP}\n\n{p.epilog}"  # the exit codes and the example stay last

    p = verb("set", "set PATH to VALUE, creating missing objects")
    _operands(p, OPERANDS["set"])
    add_value_mode(p)
    _add_if_version(p)

    p = verb("merge", "deep-merge a JSON object into the object at PATH")
    _operands(p, OPERANDS["merge"])
    p.add_argument("--data", required=True, metavar="JSON", help="a JSON object")
    _add_if_version(p)

    p = verb("delete", "remove the value at PATH")
    _operands(p, OPERANDS["delete"])
    _add_if_version(p)

    p = verb("list-sessions", "list sessions with their status (like session_manager list)")
    p.add_argument("--project", metavar="P", help="only sessions of project P")

    p = verb("watch", "print the value at PATH as one JSON line each time it changes")
    _operands(p, OPERANDS["watch"])
    p.add_argument("--interval", type=float, default=0.5, metavar="S",
                   help="seconds between polls (default 0.5)")
    p.add_argument("--count", type=int, metavar="N", help="stop after N values")
    p.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds")
    p.epilog = f"PATH may be a JSONPath: see {PROG} get --help.\n\n{p.epilog}"

    p = verb("events", "print the session's event log, one JSON object per line")
    _operands(p, OPERANDS["events"])
    p.add_argument("--since", metavar="T", help="ISO time or a duration ago (10m, 2h)")
    p.add_argument("--type", dest="event_type", metavar="EVENT", help="only this event name")
    p.add_argument("--tail", type=int, metavar="N", help="only the last N matching events")
    return parser if verbs.complete else build_parser(front)


def _plain(argv: Sequence[str] | None, front: Front | None) -> Any:
    """What :func:`build_parser` would parse from ``argv``, read without argparse, when
    ``argv`` is plain: ``get``, ``set`` or ``delete`` followed only by operands (no word
    starting with ``-``: no option, no ``--help``, no negative number). None otherwise.

    argparse and gettext cost about 2 ms of a 20 ms ``get``; a test checks that both
    readings agree on every plain command line.
    """
    import sys
    from types import SimpleNamespace

    words = list(sys.argv[1:] if argv is None else argv)
    if not words or any(word.startswith("-") for word in words):
        return None
    shown = words[0]
    names = front.names if front else {}
    verb = next((own for own in _PLAIN_DEFAULTS if names.get(own, own) == shown), None)
    if verb is None:
        return None
    prog = front.prog if front else PROG
    return SimpleNamespace(shown_verb=shown, operands=words[1:], operand_usage=OPERANDS[verb],
                           **_PLAIN_DEFAULTS[verb], verb=verb, verb_prog=f"{prog} {shown}")


def _operands(p: argparse.ArgumentParser, usage: str) -> None:
    p.add_argument("operands", nargs="*", metavar="OPERAND",
                   help=f"{usage}; SESSION_ID defaults to the current session ('-' too)")
    p.usage = f"%(prog)s [options] {usage}"
    p.set_defaults(operand_usage=usage)


def _split_operands(args: argparse.Namespace) -> None:
    """Fill ``args.session_id``/``path``/``value`` from the operands.

    SESSION_ID may be omitted (or given as ``-``) when ``$ORCHESTRA_SESSION_ID`` is set.
    ``get`` with one operand reads it as a PATH when it is a JSONPath or when
    ``$ORCHESTRA_SESSION_ID`` is set and no session of that name exists.
    """
    from state.cli import UsageError
    from state.ids import current_session_id
    from state.query import is_jsonpath

    usage: str = args.operand_usage
    names = [w.strip("[]") for w in usage.split()]
    required = [w for w in usage.split() if not w.startswith("[")]
    given = list(args.operands)
    if len(given) > len(names) or len(given) < len(required):
        raise UsageError(f"{args.shown_verb} takes {usage} (see {args.verb_prog} --help)")
    if args.verb == "get" and len(given) == 1:
        only = given[0]
        if is_jsonpath(only) or (only != "-" and not _session_exists(only)):
            if not current_session_id():
                raise UsageError(f"get {only}: there is no session {only!r} and no current "
                                 "session (neither ORCHESTRA_SESSION_ID nor "
                                 "CLAUDE_CODE_SESSION_ID is set): give SESSION_ID PATH")
            given = ["-", only]
    elif len(given) < len(names):
        if not current_session_id() and names[0] == "SESSION_ID" and (
                len(given) < len(names) - 1 or args.verb != "get"):
            raise UsageError(f"{args.shown_verb} takes {usage}: give SESSION_ID or set "
                             f"ORCHESTRA_SESSION_ID (see {args.verb_prog} --help)")
        given = ["-", *given]
    values = dict(zip(names, given, strict=False))
    args.session_id = values.get("SESSION_ID", "-")
    args.path = values.get("PATH", ".")
    args.value = values.get("VALUE")


def _session_exists(name: str) -> bool:
    from state.paths import session_key, validate_id
    from state.store import open_store

    try:
        return open_store().exists(session_key(validate_id(name, "session id"), "state.json"))
    except ValueError:
        return False


def _add_if_version(p: argparse.ArgumentParser) -> None:
    p.add_argument("--if-version", type=int, metavar="N",
                   help="write only if the session is still at version N, the number "
                   "'get SESSION_ID version' prints (else exit 4, nothing written)")


def _session_id(raw: str) -> str:
    from state.ids import resolve_session_id

    return resolve_session_id(raw)


def _read(store: Any, sid: str, path: str) -> Any:
    from state.query import get_path, is_jsonpath, jsonpath_query, jsonpath_reads, parse_path
    from state.view import session_view

    if is_jsonpath(path):
        wants_metrics = jsonpath_reads(path, "metrics")  # checks the query before any read
        stored = _one_document(store, sid, path, wants_metrics)
        if stored is not None:
            return store.query_jsonpath(*stored)
        if store.keeps_stamps:  # members of a large state.json: read in its bytes
            from state.in_place import query_in_place
            from state.persistence.spans import MISSING

            found = query_in_place(store, sid, path)
            if found is not MISSING:
                return found
        return jsonpath_query(session_view(store, sid, with_metrics=wants_metrics), path)
    parts = parse_path(path)
    if store.keeps_stamps:  # one member of a large state.json: read in its bytes
        from state.in_place import get_in_place
        from state.persistence.spans import MISSING

        found = get_in_place(store, sid, parts)
        if found is not MISSING:
            return found
    with_metrics = not parts or parts[0] == "metrics"
    return get_path(session_view(store, sid, with_metrics=with_metrics), parts)


_TASKS_PREFIX = "$.active_work.tasks"


def _one_document(store: Any, sid: str, path: str, wants_metrics: bool
                  ) -> tuple[str, str] | None:
    """(key, query) when a store that queries by itself (PostgreSQL: on the server) can
    answer ``path`` from one stored document exactly as the session view would: a query
    that reads neither ``version``, ``metrics`` nor ``active_work`` (the members the view
    changes) runs on ``state.json``; ``$.active_work.tasks...`` runs on ``tasks.json`` as
    ``$.tasks...``. None: compose the view and query it here."""
    from state.paths import session_key
    from state.persistence.storage import Storage
    from state.query import jsonpath_reads
    from state.sessions import STATE, TASKS, require_session

    if type(store).query_jsonpath is Storage.query_jsonpath or wants_metrics:
        return None  # the file store reads the whole document either way
    require_session(store, sid)  # a typo in SESSION_ID still exits 3
    if not (jsonpath_reads(path, "version") or jsonpath_reads(path, "active_work")):
        return session_key(sid, STATE), path
    rest = path[len(_TASKS_PREFIX):]
    # Not "$.active_work.tasks" itself: the view shows {} there when tasks.json is
    # missing, where a query of that missing document finds nothing.
    if path.startswith(_TASKS_PREFIX) and rest[:1] in (".", "[") and "$" not in rest:
        return session_key(sid, TASKS), "$.tasks" + rest
    return None


def _set_in_place(store: Any, sid: str, path: str, value: Any) -> bool:
    """A set of one member of a large state.json, made in its bytes (state.in_place);
    False: make it the usual way, which also says what is wrong with the path."""
    from state.in_place import set_in_place
    from state.query import is_jsonpath, parse_path

    if is_jsonpath(path):
        return False
    try:
        parts = parse_path(path)
    except InvalidPathError:
        return False
    return set_in_place(store, sid, parts, value)


def _write(store: Any, sid: str, path: str, if_version: int | None, change: Any) -> Any:
    """Route PATH to its document and apply ``change(doc, parts)`` in one transaction."""
    from state.paths import session_key
    from state.query import is_jsonpath, parse_path
    from state.session_rules import validate_session_document
    from state.sessions import STATE, TASKS, require_session
    from state.view import check_session_version, route

    if is_jsonpath(path):
        raise InvalidPathError("JSONPath is for reading; use a dot path to change state")
    state_key = session_key(sid, STATE)
    # Before the transaction, whose lock would create sessions/<typo>/ first. Where
    # state.json is not a plain file, reading it says why: no session, a symlink...
    if not store.exists(state_key):
        require_session(store, sid)
    key, parts = route(sid, parse_path(path))
    if key != state_key:
        require_session(store, sid)  # state.json readable (a corrupt one is moved aside)
    version_check = None
    if if_version is not None:  # the session's version spans state.json and tasks.json
        version_check = check_session_version(sid, key, if_version)

    def precondition(old: dict[str, Any] | None, others: dict[str, Any]) -> None:
        # state.json itself is read (and, if corrupt, moved aside) by the transaction:
        # reading it before as well would parse it twice (4 ms a megabyte).
        if key == state_key and old is None:
            raise NotFoundError(f"no session {sid}")
        if version_check is not None:
            version_check(old, others)

    other = session_key(sid, TASKS) if key == state_key else state_key
    also_lock = (other,) if if_version is not None else ()
    with store.transaction(key, also_lock=also_lock, precondition=precondition) as doc:
        result = change(doc, parts)
        active = doc.get("active_work")
        if key == state_key and isinstance(active, dict) and "tasks" in active:
            # The view always shows tasks.json there: this copy would never be seen.
            raise InvalidPathError(
                "active_work.tasks is stored in tasks.json: change it through "
                "active_work.tasks.<id>..., not as part of active_work"
            )
        validate_session_document(key, doc)
    if key == state_key:
        from state.sessions import remember_identity

        remember_identity(store, doc)  # a changed project or mode survives a rebuild
    return result


def _run(args: argparse.Namespace, out: Output, store: Any) -> int:
    from state.query import deep_merge, delete_path, parse_value, refuse_too_deep, set_path

    verb = args.verb
    if hasattr(args, "operands"):
        _split_operands(args)
    if verb == "list-sessions":
        from state.paths import validate_id
        from state.sessions import list_sessions

        if args.project is not None:
            validate_id(args.project, "project id")
        out.json(list_sessions(store, project=args.project))
    elif verb == "get":
        out.json(_read(store, _session_id(args.session_id), args.path))
    elif verb in ("set", "merge", "delete") and _plan_write(store, args, out):
        pass  # a member of a project task: changed in the plan
    elif verb == "set":
        value = parse_value(args.value, mode=args.value_mode)
        refuse_too_deep(value, "VALUE")
        sid = _session_id(args.session_id)
        if not (args.if_version is None and store.keeps_stamps
                and _set_in_place(store, sid, args.path, value)):
            _write(store, sid, args.path, args.if_version,
                   lambda doc, parts: set_path(doc, parts, value))
        out.json(value)
    elif verb == "merge":
        data = parse_value(args.data, mode="json")
        if not isinstance(data, dict):
            raise InvalidValueError("--data must be a JSON object")
        refuse_too_deep(data, "--data")

        def merge(doc: dict[str, Any], parts: list[str]) -> Any:
            target = get_or_create(doc, parts)
            return deep_merge(target, data)

        out.json(_write(store, _session_id(args.session_id), args.path, args.if_version, merge))
    elif verb == "delete":
        out.json(_write(store, _session_id(args.session_id), args.path, args.if_version,
                        lambda doc, parts: delete_path(doc, parts)))
    elif verb == "watch":
        return _watch(store, args, out)
    elif verb == "events":
        from state.eventlog import read_events
        from state.sessions import require_session

        sid = _session_id(args.session_id)
        require_session(store, sid)  # a typo exits 3, not an empty log
        for record in read_events(store, sid, since=args.since,
                                  event_type=args.event_type, tail=args.tail):
            out.stream.write(_compact(record) + "\n")
    return 0


def _plan_write(store: Any, args: argparse.Namespace, out: Output) -> bool:
    """``set``/``merge`` of ``active_work.tasks.T-<n>[.FIELD]``: the task lives in the
    project plan (state.view.plan_target), which is changed instead, validated and with
    its history. True if it was a plan path (the result is printed)."""
    from state.query import is_jsonpath, parse_path, parse_value
    from state.view import plan_target

    if is_jsonpath(args.path) or not args.path.startswith("active_work"):
        return False
    sid = _session_id(args.session_id)
    target = plan_target(store, sid, parse_path(args.path))
    if target is None:
        return False
    project, tid, inner = target
    if args.if_version is not None:
        raise InvalidValueError(
            f"{tid} is a task of project {project}'s plan, not of the session's own documents: "
            "--if-version does not apply (orchestra task show/progress/done change it)")
    if args.verb == "delete":
        raise InvalidValueError(f"{tid} is a task of project {project}'s plan: it is not "
                                "deleted through a session (orchestra task done/block, or "
                                f"orchestra task handoff {tid} --to <session>)")
    if args.verb == "set":
        value = parse_value(args.value, mode=args.value_mode)
        if len(inner) == 1:
            fields = {inner[0]: value}
        elif not inner and isinstance(value, dict):
            fields = value
        else:
            raise InvalidPathError(f"set a member of {tid} (its status, progress, assignee, "
                                   "title...), not deeper or the whole task")
    else:
        value = parse_value(args.data, mode="json")
        if inner or not isinstance(value, dict):
            raise InvalidValueError(f"merge an object of fields into active_work.tasks.{tid}")
        fields = value
    _apply_plan_fields(store, sid, project, tid, fields)
    out.json(value)
    return True


def _apply_plan_fields(store: Any, sid: str, project: str, tid: str,
                       fields: dict[str, Any]) -> None:
    from state import plan

    fields = dict(fields)
    for fixed in ("id", "project", "subject", "history", "created_at", "created_by",
                  "updated_at", "assignee_type", "session"):
        if fixed in fields and fixed != "subject":
            fields.pop(fixed)
    if "subject" in fields:
        fields["title"] = fields.pop("subject")
    assignee = fields.pop("assignee", plan.DONE)  # DONE: a marker, never an assignee
    if assignee != plan.DONE:
        from state.paths import session_key
        from state.shared import list_tools

        if not isinstance(assignee, str):
            raise InvalidValueError("assignee is a session id or a tool name")
        if assignee in list_tools(store):
            plan.assign_task(store, project, tid, by=sid, tool=assignee)
        elif store.exists(session_key(assignee, "state.json")):
            plan.assign_task(store, project, tid, by=sid, to_session=assignee)
        else:
            raise NotFoundError(f"assignee {assignee!r} is neither a session nor a tool of "
                                "the registry")
    status = fields.pop("status", None)
    word = plan.normalize_status(str(status)) if status is not None else None
    # As `orchestra task start|done|block` (starting takes it). A task that is reopened
    # is reopened before its fields change (a done task's progress stays 100), one that
    # is finished after.
    if word is not None and word != plan.DONE:
        plan.set_status(store, project, tid, word, by=sid, take=word == "in_progress")
    if fields:
        plan.update_fields(store, project, tid, fields, by=sid)
    if word == plan.DONE:
        plan.set_status(store, project, tid, word, by=sid)


def get_or_create(doc: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    current: Any = doc
    for key in parts:
        if not isinstance(current, dict):
            raise InvalidPathError("merge target is not an object")
        current = current.setdefault(key, {})
    if not isinstance(current, dict):
        raise InvalidPathError("merge target is not an object")
    return current


def _compact(value: Any) -> str:
    from state.cli import dumps

    return dumps(value, separators=(",", ":"))


_MISSING = object()


def _watch(store: Any, args: argparse.Namespace, out: Output) -> int:
    """Poll PATH; print each new value as one line. Ends on --count/--timeout/Ctrl-C."""
    import time

    from state.errors import NotFoundError
    from state.persistence.storage import same_json
    from state.sessions import require_session

    sid = _session_id(args.session_id)
    if args.interval <= 0:
        raise InvalidValueError("--interval must be positive")
    require_session(store, sid)  # a typo exits 3; a missing *path* is watched (null)
    deadline = time.monotonic() + args.timeout if args.timeout is not None else None
    last: Any = _MISSING
    printed = 0
    try:
        while True:
            try:
                value = _read(store, sid, args.path)
            except NotFoundError:
                value = None
            if not same_json(value, last):  # by type too: true after 1 is printed
                out.stream.write(_compact(value) + "\n")
                out.stream.flush()
                last = value
                printed += 1
                if args.count is not None and printed >= args.count:
                    return 0
            if deadline is not None and time.monotonic() >= deadline:
                return 0
            # Wakes early when the session changes (PostgreSQL: LISTEN/NOTIFY).
            store.wait_for_change([f"sessions/{sid}/"], args.interval if deadline is None
                                  else max(0.0, min(args.interval, deadline - time.monotonic())))
    except KeyboardInterrupt:
        return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    front: Front | None = None,
) -> int:
    from state.cli import run_main, with_store

    prog = front.prog if front else PROG
    parsed = _plain(argv, front)
    parser = None if parsed is not None else build_parser(front, argv)
    return run_main(prog, parser, with_store(prog, _run), argv, stdout, stderr, parsed=parsed)


def run() -> None:
    from state.process import run_process

    run_process(main)


if __name__ == "__main__":
    run()
