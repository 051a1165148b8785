"""Session lifecycle and presence: create, heartbeat, status, end, list, prune.

A session is the folder ``sessions/<id>/``. Its ``state.json`` is the document the
CLIs and handlers change; ``heartbeat.json`` is rewritten (atomically, without a
lock: last writer wins) on every event, so presence costs O(1) per hook.

``identity.json`` keeps what a session *is* — id, ``created_at`` (and
``created_ts``, the same to the microsecond), project, mode —
apart from the busy ``state.json``: written when the session is created and when
its project or mode changes, read only when a corrupt ``state.json`` has been
moved aside and the document is rebuilt (:func:`recover_identity`). The rebuilt
session so keeps its ``created_at``, which decides which project and broadcast
messages are its own, and its project. Sessions older than ``identity.json``
recover ``created_at`` from the first line of their event log.

Status is derived when read:

* ``ended``  — ``state.json`` says so (SessionEnd or ``session_manager end``);
* ``active`` — last heartbeat younger than ``presence.active_seconds`` (300 s);
* ``idle``   — younger than ``presence.idle_seconds`` (1800 s);
* ``stale``  — older: the terminal was probably killed without a SessionEnd.
"""

from __future__ import annotations

from state.clock import iso, now
from state.config import load_config
from state.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    StateError,
    UnavailableError,
)
from state.paths import is_id, project_key, project_slug, session_key, validate_id
from state.persistence.storage import Storage
from state.session_info import (  # (re-exported)
    HEARTBEAT,
    ROLES,
    last_heartbeat,
    role_of,
    session_status,
    waits_in_silence,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from typing import Any

__all__ = [
    "ROLES",
    "check_role",
    "create_session",
    "end_session",
    "heartbeat",
    "known_projects",
    "list_sessions",
    "parse_scope",
    "prune_sessions",
    "recover_identity",
    "remember_identity",
    "resolve_project",
    "role_of",
    "session_status",
    "session_summary",
    "summarize",
]

STATE = "state.json"
TASKS = "tasks.json"
IDENTITY = "identity.json"
#: What a rebuilt session document takes over from identity.json.
IDENTITY_FIELDS = ("session_id", "created_at", "created_ts", "project", "mode", "agent")


def new_session_state(session_id: str, *, mode: str, project: str | None,
                      at: float | None = None) -> dict[str, Any]:
    """A new session document. ``created_ts`` is ``created_at`` to the microsecond:
    which project and broadcast messages are the session's depends on it."""
    from state.paths import root  # (with the machine: only a new session)
    from state.persistence.machine import machine_id  # only a new session

    moment = now() if at is None else at
    stamp = iso(moment)
    return {
        "session_id": session_id,
        "mode": mode,
        "project": project,
        "machine": machine_id(root()),
        "status": "active",
        "created_at": stamp,
        "created_ts": round(moment, 6),
        "updated_at": stamp,
        "ended_at": None,
        "active_work": {"current_epic": None, "current_sprint": None, "agents": {}},
    }


def create_session(
    store: Storage, *, mode: str = "development", project: str | None = None,
    session_id: str | None = None, role: str | None = None, skills: list[str] | None = None,
    scope: str | None = None, extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a session document; ConflictError if the id is taken. ``role``, ``skills``
    and ``scope``: its orchestration role (see :mod:`state.roles`); ``extra``: more
    members (a spawned worker's ``spawn`` record)."""
    import uuid  # only here: uuid imports platform (~4 ms on every CLI start)

    # `is None`, not `or`: an empty --id is an invalid id, not a request for a UUID
    sid = validate_id(str(uuid.uuid4()) if session_id is None else session_id, "session id")
    if project is not None:
        validate_id(project, "project id")
    parsed_scope = None
    if role is not None or skills is not None or scope is not None:
        role, skills, parsed_scope = check_role(store, role or "peer", skills, scope)
    with store.transaction(session_key(sid, STATE)) as doc:
        if "session_id" in doc:
            raise ConflictError(f"session {sid} already exists")
        doc.update(new_session_state(sid, mode=mode, project=project))
        if role is not None:
            doc["role"] = role
        if skills is not None:
            doc["skills"] = skills
        if parsed_scope:
            doc["scope"] = parsed_scope
        if extra:
            doc.update(extra)
    created = store.require(session_key(sid, STATE))
    remember_identity(store, created)
    heartbeat(store, sid)
    return created


def remember_identity(store: Storage, state: dict[str, Any]) -> None:
    """Keep the identity of the session ``state`` describes in ``identity.json``
    (written only when it differs from the one stored)."""
    sid = state.get("session_id")
    if not isinstance(sid, str):
        return
    record = {name: state.get(name) for name in IDENTITY_FIELDS}
    key = session_key(sid, IDENTITY)
    stored = store.read(key) or {}
    if all(stored.get(name) == value for name, value in record.items()):
        return
    with store.transaction(key) as doc:
        doc.update(record)


def recover_identity(store: Storage, session_id: str) -> dict[str, Any]:
    """What a session document rebuilt after a quarantine takes over from the lost one.

    ``created_at``, ``project`` and ``mode`` from ``identity.json``; without one (a
    session older than it, or a lost one too), ``created_at`` from the first event
    the session logged. Empty for a session never seen before.
    """
    from state.eventlog import EVENTS  # only to rebuild a lost session

    try:
        stored = store.read(session_key(session_id, IDENTITY)) or {}
    except StateError:
        stored = {}  # refused (a symlink): the event log may still tell
    found: dict[str, Any] = {}
    if stored.get("session_id") == session_id:
        for name, valid in (("created_at", lambda v: isinstance(v, str) and v),
                            ("created_ts", _is_number), ("project", is_id),
                            ("mode", lambda v: isinstance(v, str)),
                            ("agent", lambda v: isinstance(v, str) and v)):
            if valid(stored.get(name)):
                found[name] = stored[name]
    if "created_at" not in found:
        try:
            for record in store.read_log(session_key(session_id, EVENTS)):
                ts = record.get("ts")
                if _is_number(ts):
                    found["created_at"], found["created_ts"] = iso(ts), ts
                    break
        except StateError:
            pass
    return found


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def heartbeat(store: Storage, session_id: str, *, event: str | None = None,
              tool: str | None = None, at: float | None = None,
              mode: str | None = None) -> None:
    """Record that the session is alive (O(1): one small atomic file replace). What the
    heartbeat file says of the session's activity is kept (the hooks fold it in: see
    :mod:`handlers.heartbeat`). ``mode``: the permission mode the event reported (what a
    worker it spawns may not exceed)."""
    key = session_key(session_id, HEARTBEAT)
    record: dict[str, Any] = {"at": now() if at is None else at}
    if event:
        record["event"] = event
    if tool:
        record["tool"] = tool
    last = last_heartbeat(store, session_id)
    if not mode and isinstance(last.get("mode"), str):
        mode = last["mode"]  # a beat that does not say (the CLI, SessionStart) keeps it
    if mode:
        record["mode"] = mode[:40]
    activity = last.get("activity")
    if isinstance(activity, dict):
        record["activity"] = activity
    store.put_volatile(key, record)


def parse_scope(text: str | None) -> dict[str, str] | None:
    """``epic:auth`` -> ``{"epic": "auth"}``; ``sprint:s-3`` -> ``{"sprint": "s-3"}``."""
    if text is None or text == "":
        return None
    kind, sep, name = text.partition(":")
    if not sep or kind not in ("epic", "sprint"):
        raise InvalidValueError(f"invalid --scope {text!r}: use epic:<epic id> or "
                                "sprint:<sprint id>")
    return {kind: validate_id(name, f"{kind} id")}


def check_role(store: Storage, role: str, skills: list[str] | None,
               scope: str | dict[str, str] | None) -> tuple[str, list[str] | None,
                                                            dict[str, str] | None]:
    """Validate a role, its skills (registered tools) and a coordinator's scope."""
    from state.shared import list_tools  # only when a role is given

    if role not in ROLES:
        raise InvalidValueError(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
    parsed = parse_scope(scope) if isinstance(scope, str) or scope is None else scope
    if role == "coordinator" and not parsed:
        raise InvalidValueError("a coordinator needs a --scope (epic:<id> or sprint:<id>)")
    if role != "coordinator" and parsed:
        raise InvalidValueError("--scope is for a coordinator")
    if skills is not None:
        known = list_tools(store)
        for skill in skills:
            validate_id(skill, "skill (tool name)")
        unknown = [s for s in skills if s not in known]
        if unknown:
            raise NotFoundError(f"no tool {', '.join(unknown)} in the tool registry: skills are "
                                f"tools a session can act as; registered: "
                                f"{', '.join(sorted(known)) or 'none'} (orchestra shared "
                                "register-tool)")
        skills = list(dict.fromkeys(skills))
    return role, skills, parsed


def session_summary(store: Storage, session_id: str, config: dict[str, Any] | None = None,
                    at: float | None = None) -> dict[str, Any] | None:
    """One line of ``session_manager list``: who, status, and what it is doing now."""
    state = store.read(session_key(session_id, STATE))
    if state is None:
        return None
    return summarize(store, session_id, state,
                     config if config is not None else load_config(store), at)


def summarize(store: Storage, session_id: str, state: dict[str, Any], config: dict[str, Any],
              at: float | None = None, plans: dict[str, Any] | None = None, *,
              detail: bool = True) -> dict[str, Any]:
    """:func:`session_summary` of a session whose ``state.json`` the caller has read.

    With ``detail`` (the default) the summary also says what the session is doing
    (``activity``, ``doing``: :mod:`state.activity`) and its tokens and their cost
    (``tokens``, ``cost``: :mod:`state.usage`); without, only who and status.
    ``plans``: a cache of project plans shared by the calls of one listing.
    """
    beat = last_heartbeat(store, session_id)
    status, age = session_status(state, beat, config, at)
    tasks = (store.read(session_key(session_id, TASKS)) or {}).get("tasks", {})
    plan = _plan_of(store, state, plans)
    current: list[Any] = [f"{tid} {t.get('title')}" for tid, t in plan.items()
                          if isinstance(t, dict) and t.get("status") == "in_progress"
                          and t.get("assignee_type") == "session"
                          and t.get("assignee") == session_id]
    current += [t.get("subject") or t.get("id") for t in tasks.values()
                if isinstance(t, dict) and t.get("status") == "in_progress"]
    agents = state.get("active_work", {}).get("agents", {})
    busy = [a.get("agent_type") or key for key, a in agents.items()
            if isinstance(a, dict) and a.get("status") == "busy"]
    summary = {
        "session_id": session_id,
        "project": state.get("project"),
        "machine": state.get("machine"),
        "mode": state.get("mode"),
        "agent": agent_of(state),
        "model": state.get("model") if isinstance(state.get("model"), str) else None,
        "status": status,
        "last_heartbeat": iso(beat["at"]) if isinstance(beat.get("at"), int | float) else None,
        "idle_seconds": round(age, 1) if age is not None else None,
        "last_event": beat.get("event"),
        "last_tool": beat.get("tool"),
        "current_task": current[0] if current else None,
        "active_agents": busy,
        **role_of(state, config),
        "created_at": state.get("created_at"),
        "ended_at": state.get("ended_at"),
        "claude_name": state.get("claude_name"),
        "checkout": state.get("checkout"),
    }
    if detail:
        from state.activity import describe, doing  # only a detailed summary
        from state.usage import session_usage  # only a detailed summary

        activity = describe(beat.get("activity"), status, agents, state.get("ended_at"),
                            wait_holds=waits_in_silence(beat, config, at))
        usage = session_usage(store, session_id, config.get("pricing") or {})
        summary["activity"] = activity
        summary["doing"] = doing(activity)
        summary["tokens"] = {k: usage[k] for k in ("recorded", "total", "main", "subagents",
                                                   "by_model", "updated_at")}
        summary["cost"] = usage["cost"]
    return summary


def _plan_of(store: Storage, state: dict[str, Any], plans: dict[str, Any] | None
             ) -> dict[str, Any]:
    """The tasks of the session's project plan (state.plan), read once per listing."""
    project = state.get("project")
    if not isinstance(project, str) or not is_id(project):
        return {}
    if plans is not None and project in plans:
        cached: dict[str, Any] = plans[project]
        return cached
    try:
        tasks = (store.read(project_key(project, "plan.json")) or {}).get("tasks")
    except StateError:
        tasks = None
    found = tasks if isinstance(tasks, dict) else {}
    if plans is not None:
        plans[project] = found
    return found


def agent_of(state: dict[str, Any]) -> str | None:
    """The agent that runs a session (``claude-code``, ``codex``, ``gemini``), or None when
    nothing says (a session made by ``session_manager create`` that never started)."""
    agent = state.get("agent")
    if isinstance(agent, str) and agent:
        return agent
    return "claude-code" if state.get("mode") == "claude-code" else None


def session_ids(store: Storage) -> list[str]:
    ids = []
    for name in store.list_children("sessions"):
        try:
            ids.append(validate_id(name, "session id"))
        except ValueError:
            continue  # a stray folder someone made by hand
    return ids


def list_sessions(store: Storage, *, project: str | None = None,
                  status: str | None = None, detail: bool = True) -> list[dict[str, Any]]:
    config = load_config(store)
    at = now()
    out = []
    plans: dict[str, Any] = {}
    with store.reading():
        for sid in session_ids(store):
            state = store.read(session_key(sid, STATE))
            if state is None or (project is not None and state.get("project") != project):
                continue  # another project's session: its other files are not read
            summary = summarize(store, sid, state, config, at, plans, detail=detail)
            if status is not None and summary["status"] != status:
                continue
            out.append(summary)
    out.sort(key=lambda s: (s["status"] != "active", s["created_at"] or "", s["session_id"]))
    return out


def end_session(store: Storage, session_id: str, *, reason: str | None = None) -> dict[str, Any]:
    key = session_key(session_id, STATE)
    # Checked before the transaction: its lock would create sessions/<typo>/ first.
    require_session(store, session_id)
    with store.transaction(key, create=False) as doc:
        doc["status"] = "ended"
        doc["ended_at"] = iso()
        doc["updated_at"] = doc["ended_at"]
        if reason:
            doc["end_reason"] = reason
    return store.require(key)


def require_session(store: Storage, session_id: str) -> dict[str, Any]:
    doc = store.read(session_key(session_id, STATE))
    if doc is None:
        raise NotFoundError(f"no session {session_id}")
    return doc


def prune_sessions(store: Storage, *, older_than: float, dry_run: bool = False) -> list[str]:
    """Remove ended or stale sessions whose last activity is older than ``older_than`` s."""
    config = load_config(store)
    at = now()
    removed = []
    for sid in session_ids(store):
        state = store.read(session_key(sid, STATE)) or {}
        beat = last_heartbeat(store, sid)
        status, age = session_status(state, beat, config, at)
        if status not in ("ended", "stale"):
            continue
        if age is not None and age < older_than:
            continue
        removed.append(sid)
        if not dry_run:
            store.remove_tree(f"sessions/{sid}")
    return removed


def _configured_projects(config: dict[str, Any]) -> set[str]:
    known = {p for p in config.get("projects", {}) if is_id(p)}
    default = config.get("default_project")
    if isinstance(default, str) and is_id(default):
        known.add(default)
    return known


def known_projects(store: Storage, config: dict[str, Any] | None = None) -> set[str]:
    """Projects Orchestra knows: configured (``projects.<id>``, ``default_project``),
    had by a session, or holding project data other than messages (epics, team,
    claims...). A message log alone proves nothing: a typo once made one."""
    known = _configured_projects(config if config is not None else load_config(store))
    for sid in session_ids(store):
        try:
            project = (store.read(session_key(sid, STATE)) or {}).get("project")
        except StateError:
            continue  # a symlinked session folder: refused, and not a witness
        if isinstance(project, str) and is_id(project):
            known.add(project)
    for name in store.list_children("projects"):
        if is_id(name) and any(not entry.startswith("messages.")
                                for entry in store.list_children(f"projects/{name}")):
            known.add(name)
    return known


def resolve_project(store: Storage, name: str, *, new: bool = False) -> str:
    """The id of project ``name`` as sessions spell it (see :func:`state.paths.project_slug`).

    ``name`` itself if Orchestra knows it, else its slug, else the one known project
    with the same slug (``MyApp`` configured, ``myapp`` given). A project nobody
    knows is refused (:class:`NotFoundError`, naming the known ones) unless ``new``
    says it is intended; it is then spelled as a session in a folder of that name
    would spell it.
    """
    validate_id(name, "project id")
    slug = project_slug(name)
    try:
        known = known_projects(store)
    except UnavailableError as exc:
        if not new:
            raise UnavailableError(f"{exc}; whether project {name!r} exists cannot be "
                                   "checked now: --new-project sends the message without "
                                   "the check (it is queued)") from None
        # A shared server that is away or starting: the message is queued, so spell the
        # project from what this machine knows (its config), else as a folder would.
        known = _configured_projects(load_config(store))
    if name in known:
        return name
    if slug is not None and slug in known:
        return slug
    same = sorted(p for p in known if project_slug(p) == slug)
    if slug is not None and len(same) == 1:
        return same[0]
    if new:
        if slug is None:
            raise InvalidValueError(f"invalid project id {name!r}: nothing left after "
                                    "normalising it (see --help)")
        return slug
    spelled = f" (normalised: {slug!r})" if slug not in (None, name) else ""
    listed = sorted(known)
    names = ", ".join(listed[:20]) + (f" and {len(listed) - 20} more" if len(listed) > 20
                                      else "")
    raise NotFoundError(f"no project {name!r}{spelled}: no session has had it and it is not "
                        f"configured; known projects: {names or 'none'} "
                        "(--new-project sends to a project no session has had yet)")

