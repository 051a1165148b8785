"""What hooks read of a session at every event: whether it is alive, and its role.

* :func:`last_heartbeat` and :func:`session_status` — the rules are :mod:`state.sessions`'
  (its module docstring): ``ended`` when ``state.json`` says so, else ``active``, ``idle``
  or ``stale`` by the age of the last heartbeat; the claims checked at every write ask them
  of each session holding a claim;
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

__all__ = ["HEARTBEAT", "ROLES", "last_heartbeat", "role_of", "session_status"]

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
