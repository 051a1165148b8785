"""Setting a session's orchestration role. What the roles are, checking one and reading a
session's (:data:`~state.sessions.ROLES`, :func:`~state.sessions.check_role`,
:func:`~state.sessions.role_of`) are :mod:`state.sessions`' — which creates sessions with
their role, and never imports this module — re-exported here.

The role lives in the session's ``state.json`` as ``role`` (``peer``, ``orchestrator``,
``coordinator``, ``worker``), with ``skills`` (tools of the registry the session can
act as) and, for a coordinator, ``scope`` (``{"epic": E}`` or ``{"sprint": S}``). It is
not the team members' free-text ``role`` (``shared set-member --role``), which lives in
the project's ``team.json``.
"""

from __future__ import annotations

from state.clock import iso
from state.paths import session_key
from state.sessions import ROLES, STATE, check_role, parse_scope, require_session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["ROLES", "check_role", "parse_scope", "set_role"]


def set_role(store: Storage, session_id: str, role: str, *, skills: list[str] | None = None,
             scope: str | dict[str, str] | None = None) -> dict[str, Any]:
    """Set the session's role (and skills, scope); return role, skills, scope."""
    role, skills, parsed = check_role(store, role, skills, scope)
    require_session(store, session_id)
    with store.transaction(session_key(session_id, STATE), create=False) as doc:
        doc["role"] = role
        if skills is not None:
            doc["skills"] = skills
        if parsed:
            doc["scope"] = parsed
        else:
            doc.pop("scope", None)
        doc["updated_at"] = iso()
    return {"session_id": session_id, "role": role, "skills": doc.get("skills", []),
            "scope": doc.get("scope")}
