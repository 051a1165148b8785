"""The verbs of the ``orchestra`` command: what each one runs, its group and its example.

Every verb fronts a CLI that already exists (``styles.render``, ``state.session_manager``,
``state.state_manager``, ``state.shared_state``, the hooks tooling...), so ``orchestra who``
and ``python -m state.session_manager list`` are the same code with the same options,
exit codes and errors; the front door only gives them a shorter name, one ``--help``
and an example each (:class:`state.cli.Front`). Modules are imported when their verb runs.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any

__all__ = ["GROUPS", "VERBS", "Verb"]

#: Group titles of ``orchestra --help``, in order.
GROUPS = {
    "views": "views (each also --json)",
    "messages": "messages between sessions",
    "sessions": "sessions",
    "work": "work: project tasks, roles, workers",
    "state": "state of the current session (SESSION_ID defaults to it)",
    "shared": "everything else the seed CLIs do",
    "tooling": "tooling: into Claude Code, and how it runs there",
}

if TYPE_CHECKING:
    Streams = tuple[IO[str] | None, IO[str] | None, IO[str] | None]
    #: (the verb's name, its arguments, its example, the streams) -> exit code
    Runner = Callable[[str, list[str], str, Streams], int]


class Verb:
    """One verb: its group in ``--help``, a one-line summary, the example that ends its
    ``--help``, and what runs it. (A plain class: dataclasses costs an import of inspect.)"""

    __slots__ = ("example", "group", "name", "run", "summary")

    def __init__(self, name: str, group: str, summary: str, example: str, run: Runner) -> None:
        self.name = name
        self.group = group
        self.summary = summary
        self.example = example
        self.run = run


def _import(module: str) -> Any:
    import importlib

    return importlib.import_module(module)


def _front(prog: str, *, names: dict[str, str] | None = None,
           examples: dict[str, str] | None = None, example: str | None = None) -> Any:
    from state.cli import Front

    return Front(prog, names=names, examples=examples, example=example)


def view(name: str) -> Runner:
    """``orchestra <view> [options]``: ``python -m styles.render <view> [options]``."""

    def run(shown: str, argv: list[str], example: str, io: Streams) -> int:
        render = _import("styles.render")
        code: int = render.main(argv, stdin=io[0], stdout=io[1], stderr=io[2], view=name,
                                front=_front(f"orchestra {shown}", examples={name: example}))
        return code

    return run


def sub(module: str, verb: str, *, prepend: tuple[str, ...] = ()) -> Runner:
    """``orchestra <name> ...``: verb ``verb`` of the state CLI ``module``."""

    def run(shown: str, argv: list[str], example: str, io: Streams) -> int:
        front = _front("orchestra", names={verb: shown}, examples={verb: example})
        code: int = _import(module).main([shown, *prepend, *argv], stdin=io[0], stdout=io[1],
                                         stderr=io[2], front=front)
        return code

    return run


def group(module: str, examples: dict[str, str]) -> Runner:
    """``orchestra <name> VERB ...``: every verb of ``module``, under ``orchestra <name>``."""

    def run(shown: str, argv: list[str], example: str, io: Streams) -> int:
        front = _front(f"orchestra {shown}", examples=examples, example=example)
        code: int = _import(module).main(argv, stdin=io[0], stdout=io[1], stderr=io[2],
                                         front=front)
        return code

    return run


def tool(module: str, function: str, internal: str, *, prepend: tuple[str, ...] = ()
         ) -> Runner:
    """``orchestra <name> ...``: a verb of the hooks tooling (``python -m hooks <internal>``)."""

    def run(shown: str, argv: list[str], example: str, io: Streams) -> int:
        entry = getattr(_import(module), function)
        front = _front(f"orchestra {shown}", examples={internal: example})
        code: int = entry([*prepend, *argv], stdin=io[0], stdout=io[1], stderr=io[2],
                          front=front)
        return code

    return run


def command(module: str, function: str = "main") -> Runner:
    """``orchestra <name> ...``: a command of Orchestra's own (``module.function``)."""

    def run(shown: str, argv: list[str], example: str, io: Streams) -> int:
        entry = getattr(_import(module), function)
        code: int = entry(argv, stdin=io[0], stdout=io[1], stderr=io[2],
                          front=_front(f"orchestra {shown}", example=example))
        return code

    return run


def _role_group() -> Runner:
    """``orchestra role set|show``: the role verbs of :mod:`orchestra.task`."""

    def run(shown: str, argv: list[str], example: str, io: Streams) -> int:
        front = _front(f"orchestra {shown}", examples=_ROLE_EXAMPLES, example=example)
        code: int = _import("orchestra.task").role_main(argv, stdin=io[0], stdout=io[1],
                                                        stderr=io[2], front=front)
        return code

    return run


def watch(shown: str, argv: list[str], example: str, io: Streams) -> int:
    """``orchestra watch [VIEW]`` redraws a view; ``orchestra watch [SESSION] PATH`` prints
    one value of the session's state each time it changes (``state_manager watch``)."""
    from styles.views import VIEWS

    words = [a for a in argv if not a.startswith("-")]
    if not words or any(word in VIEWS for word in words) or "--help" in argv or "-h" in argv:
        return command("orchestra.watch")(shown, argv, example, io)
    return sub(STM, "watch")(shown, argv, example, io)


SM, STM, SH = "state.session_manager", "state.state_manager", "state.shared_state"

_SHARED_EXAMPLES = {
    "get-config": "orchestra shared get-config myapp",
    "set-config": "orchestra shared set-config claims.policy warn",
    "config-history": "orchestra shared config-history",
    "rollback": "orchestra shared rollback 1",
    "list-tools": "orchestra shared list-tools",
    "register-tool": "orchestra shared register-tool pytest --capabilities test "
                     "--max-instances 2",
    "unregister-tool": "orchestra shared unregister-tool pytest",
    "list-projects": "orchestra shared list-projects",
    "update-epic": "orchestra shared update-epic myapp auth --title 'Sign-in' --status active",
    "list-epics": "orchestra shared list-epics myapp",
    "update-sprint": "orchestra shared update-sprint myapp s-12 --status active",
    "list-sprints": "orchestra shared list-sprints myapp",
    "set-member": "orchestra shared set-member myapp ana --role reviewer --tools pytest",
    "remove-member": "orchestra shared remove-member myapp ana",
    "list-team": "orchestra shared list-team myapp",
    "decide": "orchestra shared decide myapp --title 'Use SQLite for tests' "
              "--rationale 'fast, no server' --by ana,bo",
    "list-decisions": "orchestra shared list-decisions myapp",
}
_SESSION_EXAMPLES = {
    "create": "orchestra session create --id build-7 --project myapp",
    "list": "orchestra session list --status active",
    "show": "orchestra session show build-7",
    "heartbeat": "orchestra session heartbeat",
    "end": "orchestra session end build-7 --reason done",
    "prune": "orchestra session prune --older-than 7d --dry-run",
    "send": "orchestra session send --to build-7 'rebase on main, please'",
    "inbox": "orchestra session inbox --all",
    "claims": "orchestra session claims --project myapp",
    "release": "orchestra session release --path src/app.py",
}
_STATE_EXAMPLES = {
    "get": "orchestra state get build-7 active_work.current_task",
    "set": "orchestra state set build-7 active_work.current_epic auth",
    "merge": "orchestra state merge build-7 active_work --data '{\"notes\": \"wip\"}'",
    "delete": "orchestra state delete build-7 active_work.notes",
    "list-sessions": "orchestra state list-sessions --project myapp",
    "watch": "orchestra state watch build-7 active_work.current_task --count 2",
    "events": "orchestra state events build-7 --type PostToolUse --tail 5",
}
_TASK_EXAMPLES = {
    "add": "orchestra task add 'Fix the login redirect' --needs engineering-fullstack",
    "list": "orchestra task list --status pending",
    "show": "orchestra task show T-3",
    "start": "orchestra task start T-3",
    "done": "orchestra task done T-3 --note 'merged in #42'",
    "block": "orchestra task block T-3 --note 'waiting for the API key'",
    "progress": "orchestra task progress T-3 40",
    "assign": "orchestra task assign T-3 --to build-7",
    "next": "orchestra task next",
    "handoff": "orchestra task handoff T-3 --to build-8 --note 'tests pass; docs left'",
}
_ROLE_EXAMPLES = {
    "set": "orchestra role set worker --skills engineering-fullstack",
    "show": "orchestra role show build-7",
}
_STYLES_EXAMPLES = {
    "install": "orchestra styles install --project .",
    "list": "orchestra styles list",
}


def _verbs() -> dict[str, Verb]:
    table = [
        Verb("dashboard", "views", "sessions, tasks, sprint, agents and blockers at a glance",
             "orchestra dashboard --project myapp", view("dashboard")),
        Verb("board", "views", "the kanban board with blockers and suggested assignments",
             "orchestra board --json", view("board")),
        Verb("team", "views", "members, tools with their load, agents of every session",
             "orchestra team", view("team")),
        Verb("sessions", "views", "every session of the project; one in detail",
             "orchestra sessions --session build-7", view("sessions")),
        Verb("sprint", "views", "one sprint: epics, progress, velocity, blockers",
             "orchestra sprint --sprint s-12", view("sprint")),
        Verb("config", "views", "effective settings, validity, history for rollback",
             "orchestra config", view("config")),
        Verb("decisions", "views", "the decision log with rationale and who agreed",
             "orchestra decisions --project myapp", view("decisions")),
        Verb("timeline", "views", "a lane per session: what each did over the last hour",
             "orchestra timeline --zoom 15m", view("timeline")),
        Verb("send", "messages", "send a message to a session, a project or everyone",
             "orchestra send --project myapp 'main is frozen until the release is out'",
             sub(SM, "send")),
        Verb("inbox", "messages", "your messages (pending; --all, --follow)",
             "orchestra inbox --all", sub(SM, "inbox")),
        Verb("who", "sessions", "list sessions: status, task, last tool",
             "orchestra who --project myapp --status active", sub(SM, "list")),
        Verb("show", "sessions", "one session's summary (default: this one)",
             "orchestra show build-7", sub(SM, "show")),
        Verb("task", "work", "project tasks: add list show start progress done block assign "
             "next handoff", "orchestra task next", group("orchestra.task", _TASK_EXAMPLES)),
        Verb("assign", "work", "give pending tasks to idle workers with the skill (--auto)",
             "orchestra assign --auto --dry-run", command("orchestra.task", "assign_main")),
        Verb("role", "work", "a session's role: peer, orchestrator, coordinator, worker",
             "orchestra role set worker --skills engineering-fullstack",
             _role_group()),
        Verb("spawn", "work", "start background worker sessions on tasks (opt-in per project)",
             "orchestra spawn --task T-3 --worktree", command("orchestra.spawn")),
        Verb("stop", "work", "stop a worker that orchestra spawn started",
             "orchestra stop build-7", command("orchestra.spawn", "stop_main")),
        Verb("get", "state", "print the value at a dot path or JSONPath",
             "orchestra get active_work.current_task", sub(STM, "get")),
        Verb("set", "state", "set a dot path to a value",
             "orchestra set active_work.current_epic auth", sub(STM, "set")),
        Verb("merge", "state", "deep-merge a JSON object into a dot path",
             "orchestra merge active_work --data '{\"notes\": \"wip\"}'", sub(STM, "merge")),
        Verb("delete", "state", "remove the value at a dot path",
             "orchestra delete active_work.notes", sub(STM, "delete")),
        Verb("watch", "state", "a value as it changes ([SESSION] PATH), or a view redrawn live",
             "orchestra watch board --project myapp", watch),
        Verb("serve", "views", "a private live web dashboard on localhost (one-time sign-in link)",
             "orchestra serve --port 8765 --open", command("orchestra.web.cli")),
        Verb("events", "state", "the session's event log, one JSON line per event",
             "orchestra events --type PostToolUse --tail 5", sub(STM, "events")),
        Verb("claims", "state", "who last edited which file of the project",
             "orchestra claims --project myapp", sub(SM, "claims")),
        Verb("release", "state", "end this session's file claims (all, or --path FILE)",
             "orchestra release --path src/app.py", sub(SM, "release")),
        Verb("shared", "shared", "config, tools, epics, sprints, team, decisions (shared_state)",
             "orchestra shared list-epics myapp",
             group(SH, _SHARED_EXAMPLES)),
        Verb("session", "shared", "every session_manager verb (create, end, prune...)",
             "orchestra session prune --older-than 7d --dry-run",
             group(SM, _SESSION_EXAMPLES)),
        Verb("state", "shared", "every state_manager verb, with an explicit SESSION_ID",
             "orchestra state get build-7 active_work",
             group(STM, _STATE_EXAMPLES)),
        Verb("install", "tooling", "register Orchestra's hooks and styles in Claude Code",
             "orchestra install --scope project",
             tool("hooks.tooling.install", "install_main", "install", prepend=("--styles",))),
        Verb("uninstall", "tooling", "remove exactly Orchestra's hooks, nothing else",
             "orchestra uninstall --scope project",
             tool("hooks.tooling.install", "uninstall_main", "uninstall")),
        Verb("doctor", "tooling", "check registration, environment, state and latency",
             "orchestra doctor", tool("hooks.tooling.doctor", "main", "doctor")),
        Verb("replay", "tooling", "feed a recorded session through the dispatcher",
             "orchestra replay examples/sessions/demo.jsonl --home /tmp/demo",
             tool("hooks.tooling.replay", "main", "replay")),
        Verb("record", "tooling", "record every payload Claude Code sends (on FILE|off|status)",
             "orchestra record on ~/orchestra-payloads.jsonl",
             tool("hooks.tooling.record", "main", "record")),
        Verb("migrate", "tooling", "create/upgrade the PostgreSQL schema; copy a store "
             "between files and a server", "orchestra migrate --from ~/.claude/orchestration "
             "--to postgresql://orchestra@db.internal/orchestra",
             command("state.migrate")),
        Verb("stats", "tooling", "per handler and event: calls, p50/p95 time, errors, context",
             "orchestra stats --session --since 1h", command("orchestra.stats")),
        Verb("drift", "tooling", "events, fields, tools and reply fields Orchestra does not know",
             "orchestra drift --since 7d", command("orchestra.drift")),
        Verb("disable", "tooling", "turn a handler or plugin off (--session [S], --project P)",
             "orchestra disable claims --session",
             command("orchestra.switches", "disable_main")),
        Verb("enable", "tooling", "turn a handler or plugin back on (same scopes)",
             "orchestra enable claims --session",
             command("orchestra.switches", "enable_main")),
        Verb("plugins", "tooling", "plugins and handlers, their hooks, errors, what runs where",
             "orchestra plugins --session", tool("plugins.__main__", "main", "list",
                                               prepend=("list",))),
        Verb("styles", "tooling", "install or list the four output styles",
             "orchestra styles install --project .",
             group("styles.__main__", _STYLES_EXAMPLES)),
    ]
    return {verb.name: verb for verb in table}


VERBS: dict[str, Verb] = _verbs()
