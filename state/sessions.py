"""Session lifecycle and presence: create, heartbeat, status, end, list, prune.

A session is the folder ``sessions/<id>/``. Its ``state.json`` is the document the
CLIs and handlers change; ``heartbeat.json`` is rewritten (atomically, without a
lock: last writer wins) on every event, so presence costs O(1) per hook. Status
is derived when read:

* ``ended``  — ``state.json`` says so (SessionEnd or ``session_manager end``);
* ``active`` — last heartbeat younger than ``presence.active_seconds`` (300 s);
* ``idle``   — younger than ``presence.idle_seconds`` (1800 s);
* ``stale``  — older: the terminal was probably killed without a SessionEnd.
"""

from __future__ import annotations

from state.clock import iso, now
from state.config import load_config
from state.errors import ConflictError, NotFoundError
from state.paths import session_key, validate_id
from state.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from typing import Any

__all__ = [
    "create_session",
    "end_session",
    "heartbeat",
    "list_sessions",
    "prune_sessions",
    "session_status",
    "session_summary",
    "summarize",
]

STATE = "state.json"
HEARTBEAT = "heartbeat.json"
TASKS = "tasks.json"


def new_session_state(session_id: str, *, mode: str, project: str | None) -> dict[str, Any]:
    stamp = iso()
    return {
        "session_id": session_id,
        "mode": mode,
        "project": project,
        "status": "active",
        "created_at": stamp,
        "updated_at": stamp,
        "ended_at": None,
        "active_work": {"current_epic": None, "current_sprint": None, "agents": {}},
    }


def create_session(
    store: Storage, *, mode: str = "development", project: str | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    """Create a session document; ConflictError if the id is taken."""
    import uuid  # only here: uuid imports platform (~4 ms on every CLI start)

    # `is None`, not `or`: an empty --id is an invalid id, not a request for a UUID
    sid = validate_id(str(uuid.uuid4()) if session_id is None else session_id, "session id")
    if project is not None:
        validate_id(project, "project id")
    with store.transaction(session_key(sid, STATE)) as doc:
        if "session_id" in doc:
            raise ConflictError(f"session {sid} already exists")
        doc.update(new_session_state(sid, mode=mode, project=project))
    heartbeat(store, sid)
    return store.require(session_key(sid, STATE))


def heartbeat(store: Storage, session_id: str, *, event: str | None = None,
              tool: str | None = None, at: float | None = None) -> None:
    """Record that the session is alive (O(1): one small atomic file replace)."""
    record: dict[str, Any] = {"at": now() if at is None else at}
    if event:
        record["event"] = event
    if tool:
        record["tool"] = tool
    store.put_volatile(session_key(session_id, HEARTBEAT), record)


def last_heartbeat(store: Storage, session_id: str) -> dict[str, Any]:
    try:
        return store.read(session_key(session_id, HEARTBEAT)) or {}
    except Exception:  # a torn or foreign heartbeat only costs us presence
        return {}


def session_status(state: dict[str, Any], beat: dict[str, Any], config: dict[str, Any],
                   at: float | None = None) -> tuple[str, float | None]:
    """(status, seconds since the last heartbeat) — see the module docstring."""
    last = beat.get("at")
    age = (now() if at is None else at) - last if isinstance(last, int | float) else None
    if state.get("status") == "ended":
        return "ended", age
    presence = config["presence"]
    if age is None or age >= presence["idle_seconds"]:
        return "stale", age
    if age >= presence["active_seconds"]:
        return "idle", age
    return "active", age


def session_summary(store: Storage, session_id: str, config: dict[str, Any] | None = None,
                    at: float | None = None) -> dict[str, Any] | None:
    """One line of ``session_manager list``: who, status, and what it is doing now."""
    state = store.read(session_key(session_id, STATE))
    if state is None:
        return None
    return summarize(store, session_id, state,
                     config if config is not None else load_config(store), at)


def summarize(store: Storage, session_id: str, state: dict[str, Any], config: dict[str, Any],
              at: float | None = None) -> dict[str, Any]:
    """:func:`session_summary` of a session whose ``state.json`` the caller has read."""
    beat = last_heartbeat(store, session_id)
    status, age = session_status(state, beat, config, at)
    tasks = (store.read(session_key(session_id, TASKS)) or {}).get("tasks", {})
    current = [t.get("subject") or t.get("id") for t in tasks.values()
               if isinstance(t, dict) and t.get("status") == "in_progress"]
    agents = state.get("active_work", {}).get("agents", {})
    busy = [a.get("agent_type") or key for key, a in agents.items()
            if isinstance(a, dict) and a.get("status") == "busy"]
    return {
        "session_id": session_id,
        "project": state.get("project"),
        "mode": state.get("mode"),
        "status": status,
        "last_heartbeat": iso(beat["at"]) if isinstance(beat.get("at"), int | float) else None,
        "idle_seconds": round(age, 1) if age is not None else None,
        "last_event": beat.get("event"),
        "last_tool": beat.get("tool"),
        "current_task": current[0] if current else None,
        "active_agents": busy,
        "created_at": state.get("created_at"),
        "ended_at": state.get("ended_at"),
    }


def session_ids(store: Storage) -> list[str]:
    ids = []
    for name in store.list_children("sessions"):
        try:
            ids.append(validate_id(name, "session id"))
        except ValueError:
            continue  # a stray folder someone made by hand
    return ids


def list_sessions(store: Storage, *, project: str | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
    config = load_config(store)
    at = now()
    out = []
    with store.reading():
        for sid in session_ids(store):
            state = store.read(session_key(sid, STATE))
            if state is None or (project is not None and state.get("project") != project):
                continue  # another project's session: its other files are not read
            summary = summarize(store, sid, state, config, at)
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
