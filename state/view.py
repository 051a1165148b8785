"""The session *view* that ``state_manager`` reads and writes.

A session's data lives in several files so that hot writers do not contend.
``state_manager`` shows them as one document and routes each path to the file
that owns it:

=========================  =====================================  ==========
path                       stored in                              writable
=========================  =====================================  ==========
``active_work.tasks...``   ``sessions/<id>/tasks.json`` (tasks)    yes
``metrics...``             derived from the event log when read    no
``version``, ``schema_version``, ``session_id``  bookkeeping        no
anything else              ``sessions/<id>/state.json``            yes
=========================  =====================================  ==========
"""

from __future__ import annotations

from state.errors import InvalidPathError
from state.paths import session_key
from state.sessions import STATE, TASKS, require_session
from state.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["READ_ONLY", "route", "session_view"]

READ_ONLY = ("version", "schema_version", "session_id")


def route(session_id: str, parts: list[str]) -> tuple[str, list[str]]:
    """(document key, path inside it) for a writable view path."""
    if not parts:
        raise InvalidPathError("name a key to change; the whole session cannot be replaced")
    if parts[0] in READ_ONLY:
        raise InvalidPathError(f"{parts[0]!r} is maintained by Orchestra and cannot be changed")
    if parts[0] == "metrics":
        raise InvalidPathError("metrics are derived from the event log and cannot be changed")
    if parts[:2] == ["active_work", "tasks"]:
        return session_key(session_id, TASKS), ["tasks", *parts[2:]]
    return session_key(session_id, STATE), parts


def session_view(store: Storage, session_id: str, *, with_metrics: bool = True) -> dict[str, Any]:
    """The state document with tasks (and, if asked, metrics) put in their places."""
    view = require_session(store, session_id)
    tasks = (store.read(session_key(session_id, TASKS)) or {}).get("tasks", {})
    active = view.setdefault("active_work", {})
    if isinstance(active, dict):
        active["tasks"] = tasks
    if with_metrics:
        from state.metrics import session_metrics

        view["metrics"] = session_metrics(store, session_id)
    return view
