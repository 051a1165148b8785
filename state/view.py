"""The session *view* that ``state_manager`` reads and writes.

A session's data lives in several files so that hot writers do not contend.
``state_manager`` shows them as one document and routes each path to the file
that owns it:

=========================  =====================================  ==========
path                       stored in                              writable
=========================  =====================================  ==========
``active_work.tasks.T-n``  the project plan (``plan.json``)        yes
``active_work.tasks...``   ``sessions/<id>/tasks.json`` (tasks)    yes
``metrics...``             derived from the event log when read    no
``version``, ``schema_version``, ``session_id``  bookkeeping        no
anything else              ``sessions/<id>/state.json``            yes
=========================  =====================================  ==========

``active_work.tasks`` shows the session's own tasks (Claude Code's task tools,
session-local ones) and its share of the project plan (:func:`state.plan.session_share`:
the tasks assigned to it, or that it gave to a tool), keyed by their project ids
(``T-3``), with the seed's ``assignee`` and ``progress``. Setting a member of such a
task changes the plan (:func:`plan_target`), validated, with its history; the plan is
the source of truth.

``version`` is the session's version: the sum of the write counters of
``state.json`` and ``tasks.json``. Each committed change to either adds one, so
it is the number a conditional write (``--if-version``) compares, whichever of
the two files the path lives in (:func:`check_session_version`, under both
documents' locks). A document moved aside as corrupt starts counting again:
read the version again after such a warning.
"""

from __future__ import annotations

from state.errors import ConflictError, InvalidPathError
from state.paths import session_key
from state.persistence.storage import Storage
from state.sessions import STATE, TASKS, require_session

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs every CLI call milliseconds
    from typing import Any

    from state.persistence.storage import Precondition

__all__ = ["READ_ONLY", "check_session_version", "plan_target", "route", "session_version",
           "session_view", "view_tasks"]

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


def session_version(state: dict[str, Any] | None, tasks: dict[str, Any] | None) -> int:
    """The session's version (see the module docstring)."""
    return _counter(state) + _counter(tasks)


def _counter(doc: dict[str, Any] | None) -> int:
    value = (doc or {}).get("version", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def check_session_version(session_id: str, key: str, expected: int) -> Precondition:
    """A ``precondition`` for a transaction on ``key`` (one of the session's two
    documents, the other one in ``also_lock``): ConflictError unless the session
    is at version ``expected``."""
    state_key = session_key(session_id, STATE)

    def check(doc: dict[str, Any] | None, others: dict[str, dict[str, Any] | None]) -> None:
        other = next(iter(others.values()), None)
        state, tasks = (doc, other) if key == state_key else (other, doc)
        current = session_version(state, tasks)
        if current != expected:
            raise ConflictError(
                f"session {session_id} changed since version {expected} (now version "
                f"{current}); read it again (get {session_id} version) and retry")

    return check


def session_view(store: Storage, session_id: str, *, with_metrics: bool = True) -> dict[str, Any]:
    """The state document with tasks (and, if asked, metrics) put in their places."""
    view = require_session(store, session_id)
    tasks_doc = store.read(session_key(session_id, TASKS))
    view["version"] = session_version(view, tasks_doc)
    active = view.setdefault("active_work", {})
    if isinstance(active, dict):
        active["tasks"] = view_tasks(store, session_id, view.get("project"), tasks_doc)
    if with_metrics:
        from state.metrics import session_metrics  # only when metrics are read

        view["metrics"] = session_metrics(store, session_id)
    return view


def view_tasks(store: Storage, session_id: str, project: object,
               tasks_doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """``active_work.tasks``: the session's own tasks, then its share of the plan."""
    if tasks_doc is None:
        tasks_doc = store.read(session_key(session_id, TASKS))
    tasks = (tasks_doc or {}).get("tasks", {})
    tasks = dict(tasks) if isinstance(tasks, dict) else {}
    if isinstance(project, str):
        from state.paths import is_id  # only a session with a project

        if is_id(project):
            from state.plan import session_share  # the plan: only a session with a project

            tasks.update(session_share(store, project, session_id))
    return tasks


def plan_target(store: Storage, session_id: str, parts: list[str]
                ) -> tuple[str, str, list[str]] | None:
    """(project, task id, path inside the task) when the view path ``parts`` names a
    project task of the session's share (``active_work.tasks.T-3.progress``); else None."""
    if len(parts) < 3 or parts[:2] != ["active_work", "tasks"]:
        return None
    tid = parts[2]
    if not (tid[:2] == "T-" and tid[2:].isdigit()):
        return None
    state = store.read(session_key(session_id, STATE)) or {}
    project = state.get("project")
    if not isinstance(project, str):
        return None
    from state.plan import plan_tasks  # the plan: only a session with a project

    if tid not in plan_tasks(store, project):
        return None
    return project, tid, parts[3:]
