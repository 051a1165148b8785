"""Switches: a built-in handler or plugin turned off (or back on) for one session, one
project, or everywhere, without a restart.

One small document, ``<root>/switches.json``::

    {"global": {"claims": false},
     "projects": {"shop": {"presence": false}},
     "sessions": {"5a9d2e47-...": {"claims": true}}}

The narrowest scope that names a plugin decides: a session's switch over its project's,
over the global one; a plugin no scope names is on. ``plugins.disabled`` in the config
(and ``ORCHESTRA_DISABLED_PLUGINS``) still remove a plugin before any of this. The
dispatcher reads this one document per event (:func:`switched_off`) and skips the
handlers of what is off; ``orchestra disable|enable`` change it (:func:`set_switch`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["SWITCHES", "effective", "project_of", "set_switch", "switched_off"]

SWITCHES = "switches.json"
_SCOPES = ("sessions", "projects")


def effective(doc: dict[str, Any] | None, name: str, session: str | None,
              project: str | None) -> tuple[bool, str | None]:
    """(on, the scope that decided: "session", "project", "global" or None)."""
    if not doc:
        return True, None
    for scope, key in (("sessions", session), ("projects", project)):
        table = doc.get(scope)
        entry = table.get(key) if key and isinstance(table, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get(name), bool):
            return bool(entry[name]), scope[:-1]
    table = doc.get("global")
    if isinstance(table, dict) and isinstance(table.get(name), bool):
        return bool(table[name]), "global"
    return True, None


def project_of(store: Storage, session: str | None) -> str | None:
    """The project a session's switches are looked up under: the one its state records
    (the dispatcher and ``orchestra plugins --session`` must agree on it)."""
    if session is None:
        return None
    from state.paths import session_key  # only with a session

    state = store.read(session_key(session, "state.json")) or {}
    project = state.get("project")
    return project if isinstance(project, str) else None


def switched_off(doc: dict[str, Any] | None, plugins: set[str], session: str | None,
                 project: str | None) -> set[str]:
    """Which of ``plugins`` are off for this session and project."""
    if not doc:
        return set()
    return {name for name in plugins if not effective(doc, name, session, project)[0]}


def set_switch(store: Storage, name: str, on: bool, *, session: str | None = None,
               project: str | None = None) -> dict[str, Any]:
    """Turn ``name`` on or off in one scope (global when neither is given); the document."""
    from state.paths import validate_id  # only a CLI that writes

    with store.transaction(SWITCHES) as doc:
        if session is not None:
            table = doc.setdefault("sessions", {}).setdefault(validate_id(session, "session id"),
                                                              {})
        elif project is not None:
            table = doc.setdefault("projects", {}).setdefault(validate_id(project, "project id"),
                                                              {})
        else:
            table = doc.setdefault("global", {})
        table[name] = on
        result = dict(doc)
    return result
