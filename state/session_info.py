"""What hooks read of a session at every event: whether it is alive, and its role.

* :func:`last_heartbeat`, :func:`session_status` and :func:`waits_in_silence` — the
  rules are :mod:`state.sessions`' (its module docstring): ``ended`` when ``state.json``
  says so, else ``active``, ``idle`` or ``stale`` by the age of the last heartbeat; the
  claims checked at every write ask them of each session holding a claim;
* :data:`ROLES` and :func:`role_of` — the session's orchestration role, which every prompt
  asks (:mod:`handlers.orchestration`).

They live here, apart from the session lifecycle, which re-exports them: this module is a
few lines, :mod:`state.sessions` is large (issue 27: the hot path's imports).
"""

from __future__ import annotations

from state.clock import now
from state.paths import session_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["HEARTBEAT", "ROLES", "last_heartbeat", "role_of", "session_status",
           "waits_in_silence"]

HEARTBEAT = "heartbeat.json"


def last_heartbeat(store: Storage, session_id: str) -> dict[str, Any]:
    try:
        return store.read(session_key(session_id, HEARTBEAT)) or {}
    except Exception:  # a torn or foreign heartbeat only costs us presence
        return {}


def session_status(state: dict[str, Any], beat: dict[str, Any], config: dict[str, Any],
                   at: float | None = None) -> tuple[str, float | None]:
    """(status, seconds since the last heartbeat) — see :mod:`state.sessions`."""
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


def waits_in_silence(beat: dict[str, Any], config: dict[str, Any],
                     at: float | None = None) -> bool:
    """Does the session wait for a person (a permission, an answer: its last recorded
    activity), with a heartbeat younger than ``presence.stale_seconds``? It sends nothing
    until someone answers, so past ``presence.idle_seconds`` its status says stale while
    it still waits: its activity, its claims, its tasks and the git guard treat it as live
    until ``stale_seconds``."""
    activity = beat.get("activity")
    last = beat.get("at")
    if not (isinstance(activity, dict) and activity.get("state") == "waiting"
            and isinstance(activity.get("waiting"), dict) and activity["waiting"]
            and isinstance(last, int | float) and not isinstance(last, bool)):
        return False
    limit = config["presence"].get("stale_seconds", 6 * 3600)
    return (now() if at is None else at) - float(last) < float(limit)


#: A session's orchestration role (not the team members' free-text ``role``): ``peer``
#: (the default: sessions see each other and exchange messages, as before roles), or
#: ``orchestrator`` (gives work out), ``coordinator`` (an orchestrator for one epic or
#: sprint, its ``scope``), ``worker`` (takes work).
ROLES = ("peer", "orchestrator", "coordinator", "worker")


def role_of(state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The session's role, skills and scope: its own (``role`` in state.json), else its
    project's ``roles.default`` (config, per project overridable), else ``peer``."""
    role = state.get("role")
    skills = state.get("skills")
    scope = state.get("scope")
    source = "session"
    if role not in ROLES:
        roles = config.get("roles")
        project = state.get("project")
        projects = config.get("projects")
        override = projects.get(project) if isinstance(projects, dict) and isinstance(
            project, str) else None
        if isinstance(override, dict) and isinstance(override.get("roles"), dict):
            roles = {**(roles if isinstance(roles, dict) else {}), **override["roles"]}
        role = roles.get("default") if isinstance(roles, dict) else None
        source = "config"
        if role not in ROLES:
            role, source = "peer", "default"
    return {"role": role,
            "skills": [s for s in skills if isinstance(s, str)] if isinstance(skills, list)
            else [],
            "scope": scope if isinstance(scope, dict) and scope else None,
            "role_source": source}
