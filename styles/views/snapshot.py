"""One consistent read of the state a view needs: sessions, tasks, agents, project data.

Everything is read through the state layer (:mod:`state.sessions`,
:mod:`state.shared`, :mod:`state.config`) and normalised into plain lists in a
stable order, so the views never touch files and never depend on dict order.
Ages are measured against one instant, ``at``, fixed for the whole render.
"""

from __future__ import annotations

import contextlib
import re

from state.config import load_config, project_config
from state.errors import NotFoundError
from state.paths import session_key, validate_id
from state.persistence.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "COLUMNS",
    "Snapshot",
    "column_of",
    "known_projects",
    "natural_key",
    "resolve_project",
    "take_snapshot",
]

#: Board columns in display order, with the task statuses each one collects.
COLUMNS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("todo", "TODO", frozenset({"pending", "todo", "planned", "open", "new"})),
    ("doing", "DOING", frozenset({"in_progress", "active", "doing", "started", "review"})),
    ("blocked", "BLOCKED", frozenset({"blocked", "waiting", "on_hold"})),
    ("done", "DONE", frozenset({"completed", "done", "closed", "finished", "cancelled"})),
)
DONE_STATUSES = COLUMNS[3][2]
#: How far back the views show the guard's decisions.
GUARD_SECONDS = 86400


def column_of(status: object) -> str:
    """The board column of a task status; an unknown status counts as to do."""
    text = str(status or "").lower()
    for key, _title, statuses in COLUMNS:
        if text in statuses:
            return key
    return "todo"


def natural_key(value: object) -> tuple[Any, ...]:
    """Sort ``2`` before ``10`` and ``todo-2`` before ``todo-10``."""
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


class Snapshot:
    """Everything a view reads. (A plain class: :mod:`dataclasses` would import
    :mod:`inspect`, a few milliseconds of every render.)"""

    def __init__(self, at: float, project: str | None, session: str | None,
                 config: dict[str, Any], sprint: str | None = None) -> None:
        self.at = at
        self.project = project
        self.session = session
        self.config = config
        self.sprint = sprint  #: the sprint asked for (``--sprint``), checked to exist
        self.sessions: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.agents: list[dict[str, Any]] = []
        self.tools: list[dict[str, Any]] = []
        self.epics: list[dict[str, Any]] = []
        self.sprints: list[dict[str, Any]] = []
        self.team: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        #: {tool: {max_instances, busy, free, holders}}: what state.capacity enforces.
        self.capacity: dict[str, dict[str, Any]] = {}
        #: The guard's decisions of the last day, newest first (state.guard_log).
        self.guard: list[dict[str, Any]] = []
        #: Only with ``with_config``: the stored config, its validation error, its history.
        self.stored_config: dict[str, Any] = {}
        self.config_error: str | None = None
        self.config_history: list[dict[str, Any]] = []
        self._store: Storage | None = None
        #: Only for the timeline: the window it shows (``15m``, ``1h``, ``day``).
        self.zoom: str | None = None

    @property
    def store(self) -> Storage | None:
        """The store this was read from (for views that read more of it: the timeline)."""
        return self._store

    def session_by_id(self, sid: str | None) -> dict[str, Any] | None:
        return next((s for s in self.sessions if s["session_id"] == sid), None)

    def messages_of(self, sid: str | None, limit: int) -> list[dict[str, Any]]:
        """The latest messages to or from session ``sid`` (also those Claude Code sent
        itself), newest first; read when a view asks."""
        if sid is None or self._store is None:
            return []
        from state.messages import inbox

        try:
            found = inbox(self._store, sid, include_delivered=True)
        except Exception:  # a view shows what it can
            return []
        return list(reversed(found))[:limit]


def _session_ids(store: Storage) -> list[str]:
    from state.sessions import session_ids

    return sorted(session_ids(store))


def known_projects(store: Storage) -> set[str]:
    from state.shared import list_projects

    names = set(list_projects(store))
    for sid in _session_ids(store):
        project = (store.read(session_key(sid, "state.json")) or {}).get("project")
        if isinstance(project, str):
            names.add(project)
    return names


def resolve_project(store: Storage, project: str | None, session: str | None,
                    config: dict[str, Any]) -> str | None:
    """--project, else the session's project, else ``default_project``, else the only one."""
    if project is not None:
        from state.shared import list_projects

        validate_id(project, "project id")
        # The projects folder first: only a project no document names needs the sessions read.
        if project not in list_projects(store) and project not in known_projects(store):
            raise NotFoundError(f"no project {project}")
        return project
    if session is not None:
        state = store.read(session_key(session, "state.json")) or {}
        if isinstance(state.get("project"), str):
            return str(state["project"])
    default = config.get("default_project")
    if isinstance(default, str) and default:
        return default
    names = known_projects(store)
    return next(iter(names)) if len(names) == 1 else None


def _tasks_of(store: Storage, sid: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    """The session's own tasks (Claude Code's task tools, session-local ones): local to it,
    so shown with the session (``ref``: ``<session>:<id>``); one that is linked to a
    project task (``project_task``) is that task, shown once, from the plan."""
    tasks = (store.read(session_key(sid, "tasks.json")) or {}).get("tasks", {})
    sprint = (state.get("active_work") or {}).get("current_sprint")
    out = []
    for key in sorted(tasks, key=natural_key):
        task = tasks[key]
        if not isinstance(task, dict) or task.get("project_task"):
            continue
        status = str(task.get("status") or "pending")
        tid = str(task.get("id") or key)
        out.append({
            "session": sid, "id": tid, "ref": f"{sid[:8]}:{tid}", "local": True,
            "assignee": sid, "assignee_type": "session",
            "progress": task.get("progress") if isinstance(task.get("progress"), int) else None,
            "subject": task.get("subject") or task.get("active_form") or "(no subject)",
            "status": status, "column": column_of(status), "owner": task.get("owner"),
            "sprint": task.get("sprint") or sprint, "epic": task.get("epic"),
            "points": task.get("points") if isinstance(task.get("points"), int | float)
            else None,
            "capability": task.get("capability"),
            "description": task.get("description"), "updated_at": task.get("updated_at"),
        })
    return out


def _plan_of(store: Storage, project: str, config: dict[str, Any], at: float,
             sweep: bool) -> list[dict[str, Any]]:
    """The project plan's tasks (state.plan), after returning gone sessions' tasks."""
    from state.plan import plan_key, plan_tasks, return_to_pool

    if not store.exists(plan_key(project)):
        return []
    from state.errors import StateError

    # A view still shows the plan when it cannot write (a busy lock, a read-only store).
    with contextlib.suppress(StateError, OSError):
        if sweep:
            return_to_pool(store, project, config=config, at=at)
    out = []
    for tid, task in sorted(plan_tasks(store, project).items(), key=lambda kv: natural_key(
            kv[0])):
        status = str(task.get("status") or "pending")
        by_tool = task.get("assignee_type") == "tool"
        out.append({
            "session": task.get("session") if by_tool else task.get("assignee"),
            "id": tid, "ref": tid, "local": False, "subject": task.get("title") or "(no title)",
            "status": status, "column": column_of(status), "owner": None,
            "assignee": task.get("assignee"), "assignee_type": task.get("assignee_type"),
            "progress": task.get("progress") if isinstance(task.get("progress"), int) else 0,
            "sprint": task.get("sprint"), "epic": task.get("epic"),
            "points": task.get("points") if isinstance(task.get("points"), int | float)
            else None,
            "capability": task.get("needs"), "needs": task.get("needs"),
            "description": task.get("description"), "updated_at": task.get("updated_at"),
            "returned": task.get("returned") if isinstance(task.get("returned"), dict) else None,
        })
    return out


def _agents_of(sid: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    agents = (state.get("active_work") or {}).get("agents") or {}
    out = []
    for key in sorted(agents):
        agent = agents[key]
        if not isinstance(agent, dict):
            continue
        out.append({"session": sid, "id": key, "type": agent.get("agent_type") or "agent",
                    "status": agent.get("status") or "unknown", "task": agent.get("task"),
                    "started_at": agent.get("started_at"), "stopped_at": agent.get("stopped_at")})
    return out


def _pending_messages(store: Storage, sessions: list[dict[str, Any]]) -> None:
    """Set each session's ``messages_pending``: the messages waiting for it, or None
    where they cannot be counted (a torn inbox must not take the whole view down)."""
    from state.messages import pending_counts

    counts = pending_counts(store, [s["session_id"] for s in sessions])
    for summary in sessions:
        summary["messages_pending"] = counts[summary["session_id"]]


def take_snapshot(store: Storage, *, at: float, project: str | None = None,
                  session: str | None = None, session_required: bool = False,
                  sprint: str | None = None, with_config: bool = False,
                  sweep: bool = True) -> Snapshot:
    """Read everything once. ``session`` must exist when it was asked for explicitly.
    ``sweep``: return gone sessions' project tasks to the pool first (state.plan)."""
    from state import shared
    from state.sessions import summarize

    config = load_config(store)
    if session is not None:
        validate_id(session, "session id")
        if store.read(session_key(session, "state.json")) is None:
            if session_required:
                raise NotFoundError(f"no session {session}")
            session = None
    project = resolve_project(store, project, session, config)
    snap = Snapshot(at=at, project=project, session=session,
                    config=project_config(config, project) if project else config)
    snap._store = store
    with store.reading():
        for sid in _session_ids(store):
            state = store.read(session_key(sid, "state.json"))
            if state is None or (project is not None and state.get("project") != project):
                continue  # another project's session: nothing more of it is read
            summary = summarize(store, sid, state, config, at)
            active = state.get("active_work") or {}
            summary["current_sprint"] = active.get("current_sprint")
            summary["current_epic"] = active.get("current_epic")
            snap.sessions.append(summary)
            snap.tasks.extend(_tasks_of(store, sid, state))
            snap.agents.extend(_agents_of(sid, state))
        _pending_messages(store, snap.sessions)
        if project is not None:
            snap.tasks.extend(_plan_of(store, project, config, at, sweep))
    snap.sessions.sort(key=lambda s: (s["status"] != "active", s["created_at"] or "",
                                      s["session_id"]))
    snap.tools = [{"name": k, **v} for k, v in sorted(shared.list_tools(store).items())
                  if isinstance(v, dict)]
    if snap.tools:
        from state.capacity import tool_load

        snap.capacity = tool_load(store, config=config, at=at)
    if project is not None:
        snap.epics = shared.list_epics(store, project)
        snap.sprints = sorted(shared.list_sprints(store, project),
                              key=lambda s: (not s.get("start"), str(s.get("start") or ""),
                                             natural_key(s["id"])))
        snap.team = shared.list_team(store, project)
        snap.decisions = shared.list_decisions(store, project)
        from state.guard_log import recent_decisions

        snap.guard = recent_decisions(store, [project], since=at - GUARD_SECONDS)
    if sprint is not None:
        validate_id(sprint, "sprint id")
        if sprint not in {s["id"] for s in snap.sprints}:
            raise NotFoundError(f"no sprint {sprint} in project {project or '(none)'}")
        snap.sprint = sprint
    if with_config:
        _read_config(store, snap)
    return snap


def _read_config(store: Storage, snap: Snapshot) -> None:
    from state.documents import validate_document
    from state.errors import InvalidValueError
    from state.paths import config_key
    from state.shared import config_history

    snap.stored_config = store.read(config_key()) or {}
    try:
        validate_document(config_key(), snap.stored_config)
    except InvalidValueError as exc:
        snap.config_error = str(exc).removesuffix("; nothing written")
    snap.config_history = [{k: e.get(k) for k in ("n", "replaced_at", "changed")}
                           for e in config_history(store)]
