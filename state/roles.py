"""Setting a session's orchestration role (reading it: :func:`state.sessions.role_of`).

The role lives in the session's ``state.json`` as ``role`` (``peer``, ``orchestrator``,
``coordinator``, ``worker``), with ``skills`` (tools of the registry the session can
act as) and, for a coordinator, ``scope`` (``{"epic": E}`` or ``{"sprint": S}``). It is
not the team members' free-text ``role`` (``shared set-member --role``), which lives in
the project's ``team.json``.
"""

from __future__ import annotations

from state.clock import iso
from state.errors import InvalidValueError, NotFoundError
from state.paths import session_key, validate_id
from state.sessions import ROLES, require_session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.storage import Storage

__all__ = ["check_role", "parse_scope", "set_role"]


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
    from state.shared import list_tools

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


def set_role(store: Storage, session_id: str, role: str, *, skills: list[str] | None = None,
             scope: str | dict[str, str] | None = None) -> dict[str, Any]:
    """Set the session's role (and skills, scope); return role, skills, scope."""
    role, skills, parsed = check_role(store, role, skills, scope)
    require_session(store, session_id)
    with store.transaction(session_key(session_id, "state.json"), create=False) as doc:
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
