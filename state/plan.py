"""Project tasks: the project plan's tasks, which anyone can be given.

A project's tasks live in ``projects/<project>/plan.json``::

    {"next_id": 4, "tasks": {"T-1": {...}, "T-2": {...}, "T-3": {...}}}

Ids are ``T-<n>``, unique in the project (``next_id`` only grows), so the board never
shows two ``#1``. ``3``, ``#3`` and ``t-3`` name the same task. A task:

* ``id``, ``title``, ``description``, ``status`` (``pending``, ``in_progress``,
  ``blocked``, ``done``), ``progress`` (0-100), ``needs`` (a tool or skill it needs);
* ``assignee``: who does it, a session id or a tool name, with ``assignee_type``
  (``session`` or ``tool``) — the seed's ``active_work.tasks.*.assignee``;
* ``session``: the session whose share of the plan it is (``active_work.tasks`` of that
  session): the assignee when that is a session, else the session that gave it to the
  tool or started it;
* ``assigned_by``, ``created_by``, ``created_at``, ``updated_at``, optional ``epic``,
  ``sprint``, ``points``, ``note`` (the last handoff or block note);
* ``history``: every change, newest last, each ``{at, by, action, ...}`` (at most
  :data:`MAX_HISTORY`: the oldest go);
* ``returned``: set when the task came back to the pool because its session ended or
  was gone: from whom, why, its last activity and the files it changed.

Every change is one transaction on ``plan.json`` (its lock serialises writers; on
PostgreSQL the server's advisory lock does, across machines). Taking work
(:func:`next_task`) checks and takes in that one step, so two workers never get the same
task; so does every assignment that occupies a tool's instance, with the capacity lock
held as well (:mod:`state.capacity`).

The document's name, the open statuses and :func:`plan_tasks` are
:mod:`state.plan_tasks`'s (re-exported here), which :mod:`state.capacity` reads too.

Sessions with no project keep *session-local* tasks in their own ``tasks.json``, with
ids ``L-<n>`` and ``"local": true`` (see :func:`add_local_task`); they cannot be
assigned, handed off or taken with ``next``.
"""

from __future__ import annotations

import contextlib

from state.clock import iso, now
from state.errors import ConflictError, InvalidValueError, NotFoundError
from state.paths import project_key, session_key, validate_id
from state.plan_tasks import DONE, OPEN, PLAN, STATUSES, plan_key, plan_tasks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from state.persistence.storage import Storage

# Capacity, the tool registry, the sessions and messages are imported by the operations
# that need them: the tasks handler reads the plan at every task tool call.
__all__ = [
    "DONE",
    "OPEN",
    "PLAN",
    "STATUSES",
    "add_local_task",
    "add_task",
    "assign_task",
    "get_task",
    "handoff_task",
    "list_tasks",
    "local_tasks",
    "next_task",
    "normalize_id",
    "normalize_status",
    "plan_tasks",
    "return_to_pool",
    "session_share",
    "set_status",
    "update_fields",
]

MAX_HISTORY = 100
MAX_TITLE = 300
MAX_TEXT = 4000
#: Words accepted for a status and what they mean.
_STATUS_WORDS = {"todo": "pending", "open": "pending", "doing": "in_progress",
                 "started": "in_progress", "completed": "done", "finished": "done",
                 "closed": "done", "waiting": "blocked"}


# -- ids and small checks -----------------------------------------------------------


def normalize_id(raw: object, *, local: bool = False) -> str:
    """``T-3`` from ``3``, ``#3``, ``t-3``, ``T3`` (``L-3`` for a session-local task)."""
    prefix = "L" if local else "T"
    text = str(raw).strip().lstrip("#").upper()
    for lead in ("T-", "L-", "T", "L"):
        if text.startswith(lead) and text[len(lead):].isdigit():
            return f"{lead[0]}-{int(text[len(lead):])}"
    if text.isdigit() and int(text) > 0:
        return f"{prefix}-{int(text)}"
    raise InvalidValueError(f"invalid task id {str(raw)[:40]!r}: use T-<n> (or just <n>)")


def normalize_status(value: str) -> str:
    """A status word as the plan keeps it (``completed`` -> ``done``...); else refused."""
    word = str(value).strip().lower()
    word = _STATUS_WORDS.get(word, word)
    if word not in STATUSES:
        raise InvalidValueError(f"invalid status {value!r}: use one of {', '.join(STATUSES)}")
    return word


def _progress(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidValueError("progress must be a whole number from 0 to 100")
    try:
        number = float(value)
    except ValueError:
        raise InvalidValueError(f"progress must be a whole number from 0 to 100, not "
                                f"{str(value)[:20]!r}") from None
    if not number.is_integer() or not 0 <= number <= 100:
        raise InvalidValueError(f"progress must be a whole number from 0 to 100, not {value}")
    return int(number)


def _points(value: object) -> float | int | None:
    """Story points: a finite number, zero or more (NaN and infinity are not JSON)."""
    import math

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value < 0:
        raise InvalidValueError("points must be a number, zero or more")
    return value


def _text(value: object, limit: int, what: str) -> str:
    """Text for a task, checked: control characters (terminal escapes...) become spaces,
    a title is one line; empty or too long is refused."""
    if not isinstance(value, str):
        raise InvalidValueError(f"the {what} is empty")
    value = "".join(" " if (ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160 else c
                    for c in value)
    if not value.strip():
        raise InvalidValueError(f"the {what} is empty")
    text = " ".join(value.split()) if what == "title" else value.strip()
    if len(text) > limit:
        raise InvalidValueError(f"the {what} is {len(text)} characters; the limit is {limit}")
    return text


def _history(task: dict[str, Any], entry: dict[str, Any], at: float) -> None:
    entry = {"at": iso(at), **{k: v for k, v in entry.items() if v is not None}}
    history = task.get("history")
    if not isinstance(history, list):  # a hand edit: a history starts again, the task works
        history = task["history"] = []
    history.append(entry)
    if len(history) > MAX_HISTORY:
        del history[: len(history) - MAX_HISTORY]
    task["updated_at"] = entry["at"]


def _ordered(tasks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    def number(task_id: str) -> tuple[int, str]:
        tail = task_id.split("-", 1)[-1]
        return (int(tail), task_id) if tail.isdigit() else (1 << 60, task_id)

    return [{"id": k, **v} for k, v in sorted(tasks.items(), key=lambda kv: number(kv[0]))]


def get_task(store: Storage, project: str, task_id: str) -> dict[str, Any]:
    tid = normalize_id(task_id)
    task = plan_tasks(store, project).get(tid)
    if task is None:
        raise NotFoundError(f"no task {tid} in project {project}")
    return {"id": tid, "project": project, **task}


def list_tasks(store: Storage, project: str, *, status: str | None = None,
               session: str | None = None) -> list[dict[str, Any]]:
    wanted = normalize_status(status) if status else None
    out = []
    for task in _ordered(plan_tasks(store, project)):
        if wanted is not None and task.get("status") != wanted:
            continue
        if session is not None and not _is_share_of(task, session):
            continue
        out.append({**task, "project": project})
    return out


def _is_share_of(task: dict[str, Any], session: str) -> bool:
    if task.get("assignee_type") == "session":
        return task.get("assignee") == session
    return task.get("session") == session


# -- the one transaction ------------------------------------------------------------


def _change(store: Storage, project: str, change: Callable[[dict[str, Any]], Any], *,
            capacity: bool = False, online: bool = False) -> Any:
    """Run ``change(plan document)`` in one transaction on the project's plan.

    ``capacity``: hold the capacity lock too (an assignment that may occupy a tool's
    instance: see :mod:`state.capacity`). ``online``: on PostgreSQL, refuse to run
    without the server rather than journal the change for later (taking work must be
    decided by the server, or two machines could take the same task).
    """
    validate_id(project, "project id")
    also: tuple[str, ...] = ()
    if capacity:
        from state.capacity import CAPACITY

        also = (CAPACITY,)
    precondition = _needs_the_server if online else None
    with store.transaction(plan_key(project), also_lock=also,
                           precondition=precondition) as doc:
        tasks = doc.get("tasks")
        if not isinstance(tasks, dict):
            tasks = doc["tasks"] = {}
        return change(doc)


def _needs_the_server(doc: dict[str, Any] | None, others: dict[str, Any]) -> None:
    """A precondition that holds: its presence makes a PostgreSQL store decide the
    transaction on the server (it refuses to journal a conditional change offline)."""


def _task_of(doc: dict[str, Any], project: str, task_id: str) -> dict[str, Any]:
    tid = normalize_id(task_id)
    task = doc["tasks"].get(tid)
    if not isinstance(task, dict):
        raise NotFoundError(f"no task {tid} in project {project}")
    return task


def _shown(project: str, tid: str, task: dict[str, Any]) -> dict[str, Any]:
    import json

    return {"id": tid, "project": project, **json.loads(json.dumps(task))}


# -- adding and changing ------------------------------------------------------------


def add_task(store: Storage, project: str, title: str, *, by: str, description: str | None = None,
             needs: str | None = None, epic: str | None = None, sprint: str | None = None,
             points: float | None = None, at: float | None = None) -> dict[str, Any]:
    """Add a pending, unassigned task; return it with its new id."""
    moment = now() if at is None else at
    clean_title = _text(title, MAX_TITLE, "title")
    clean_description = (_text(description, MAX_TEXT, "description")
                         if description is not None else None)
    for value, kind in ((needs, "tool or skill"), (epic, "epic id"), (sprint, "sprint id")):
        if value is not None:
            validate_id(value, kind)
    points = _points(points)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        number = doc.get("next_id")
        number = number if isinstance(number, int) and number > 0 else 1
        tid = f"T-{number}"
        while tid in doc["tasks"]:  # a hand-edited next_id never reuses an id
            number += 1
            tid = f"T-{number}"
        doc["next_id"] = number + 1
        task: dict[str, Any] = {"title": clean_title, "status": "pending", "progress": 0,
                                "assignee": None, "assignee_type": None, "session": None,
                                "created_by": by, "created_at": iso(moment)}
        for key, value in (("description", clean_description), ("needs", needs),
                           ("epic", epic), ("sprint", sprint), ("points", points)):
            if value is not None:
                task[key] = value
        _history(task, {"by": by, "action": "added"}, moment)
        doc["tasks"][tid] = task
        return _shown(project, tid, task)

    result: dict[str, Any] = _change(store, project, change)
    return result


def _not_yours(store: Storage, project: str, doc: dict[str, Any], task: dict[str, Any],
               tid: str, by: str, what: str, at: float, force: bool) -> None:
    """A session changes only a task it holds, gave out, or nobody holds: another live
    session's task is refused (ConflictError) unless ``force`` — a mistyped id must not
    finish someone else's work behind its back. People outside a session (``cli``) may."""
    holder = task.get("assignee") if task.get("assignee_type") == "session" else None
    if force or by == "cli" or holder in (None, by) or task.get("assigned_by") == by:
        return
    _sweep_doc(store, project, doc, at, None)  # a gone holder lets go first
    holder = task.get("assignee") if task.get("assignee_type") == "session" else None
    if holder not in (None, by):
        raise ConflictError(f"task {tid} is with session {holder}: only it (or who gave it "
                            f"out) {what}; ask it (orchestra send --to {holder}), or pass "
                            "--force")


def set_status(store: Storage, project: str, task_id: str, status: str, *, by: str,
               note: str | None = None, take: bool = False, force: bool = False,
               at: float | None = None) -> dict[str, Any]:
    """Change a task's status (``start``, ``done``, ``block``...).

    ``take``: the session ``by`` takes the task if nobody has it (``task start``); a task
    another session holds is refused (ConflictError) unless ``force``. Without ``take``
    too: only the holder, who gave the task out, or a person (``cli``) changes it.
    """
    moment = now() if at is None else at
    new = normalize_status(status)
    clean_note = _text(note, MAX_TEXT, "note") if note is not None else None

    def change(doc: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        task = _task_of(doc, project, task_id)
        tid = normalize_id(task_id)
        if take and task.get("assignee_type") == "session" and task.get("assignee") != by:
            _sweep_doc(store, project, doc, moment, None)  # a gone holder lets go first
        if not take:
            _not_yours(store, project, doc, task, tid, by, f"marks it {new}", moment, force)
        old = task.get("status")
        holder = task.get("assignee") if task.get("assignee_type") == "session" else None
        if take and holder not in (None, by) and not force:
            raise ConflictError(f"task {tid} is {old} with session {holder}; ask it to hand "
                                f"it off (orchestra send --to {holder}), or pass --force")
        if take and task.get("assignee_type") != "tool" and holder != by:
            task.update({"assignee": by, "assignee_type": "session", "session": by})
        elif take and task.get("assignee_type") == "tool" and not task.get("session"):
            task["session"] = by
        task["status"] = new
        if new == DONE:
            task["progress"] = 100
            task["done_at"] = iso(moment)
        if new == "in_progress":
            task.setdefault("started_at", iso(moment))
            task.pop("returned", None)
        if clean_note is not None:
            task["note"] = clean_note
        _history(task, {"by": by, "action": "status", "status": new, "from": old,
                        "note": clean_note}, moment)
        tell = task.get("assigned_by") or task.get("created_by")
        return _shown(project, tid, task), (tell if old != new and tell not in (by, "cli")
                                            else None)

    shown, tell = _change(store, project, change)
    if tell and new in (DONE, "blocked"):
        what = "done" if new == DONE else f"blocked: {clean_note or 'no reason given'}"
        notify(store, tell, f"Task {shown['id']} \"{shown['title']}\" is {what} "
               f"(by session {by}).", sender=by)
    return shown


def update_fields(store: Storage, project: str, task_id: str, fields: dict[str, Any], *,
                  by: str, force: bool = False, at: float | None = None) -> dict[str, Any]:
    """Set some of ``progress``, ``title``, ``description``, ``note``, ``needs``, ``epic``,
    ``sprint``, ``points``, ``status`` (validated, one history entry). Another live
    session's task is refused unless ``force`` (see :func:`set_status`)."""
    moment = now() if at is None else at
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "progress":
            clean[key] = _progress(value)
        elif key == "status":
            clean[key] = normalize_status(value)
        elif key == "title":
            clean[key] = _text(value, MAX_TITLE, "title")
        elif key in ("description", "note"):
            clean[key] = None if value is None else _text(value, MAX_TEXT, key)
        elif key in ("needs", "epic", "sprint"):
            clean[key] = None if value is None else validate_id(value, key)
        elif key == "points":
            clean[key] = _points(value)
        else:
            raise InvalidValueError(
                f"{key!r} cannot be set on a project task: assignee with `orchestra task "
                f"assign`/`handoff`; history, ids and times are kept by Orchestra")

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        task = _task_of(doc, project, task_id)
        tid = normalize_id(task_id)
        changed = {k: v for k, v in clean.items() if task.get(k) != v}
        if not changed:
            return _shown(project, tid, task)
        _not_yours(store, project, doc, task, tid, by, "changes it", moment, force)
        old = task.get("status")
        if old == DONE and changed.get("progress", 100) < 100 and "status" not in changed:
            raise ConflictError(f"task {tid} is done: its progress stays 100 (reopen it with "
                                f"`orchestra task start {tid}` first)")
        for key, value in changed.items():
            if value is None:
                task.pop(key, None)
            else:
                task[key] = value
        if changed.get("status") == DONE:
            task["progress"] = 100
            task["done_at"] = iso(moment)
        elif "progress" in changed and task.get("status") == "pending" and changed["progress"]:
            task["status"] = "in_progress"  # work has started
            task.setdefault("started_at", iso(moment))
        entry: dict[str, Any] = {"by": by, "action": "changed", **changed}
        if "status" in changed:
            entry.update(action="status", **{"from": old})
        elif list(changed) in (["progress"], ["progress", "note"]):
            entry["action"] = "progress"
            if task.get("status") != old:
                entry.update(status=task["status"], **{"from": old})
        _history(task, entry, moment)
        return _shown(project, tid, task)

    result: dict[str, Any] = _change(store, project, change)
    return result


# -- who does it -------------------------------------------------------------------


def assign_task(store: Storage, project: str, task_id: str, *, by: str,
                to_session: str | None = None, tool: str | None = None,
                over_capacity: bool = False, reason: str | None = None,
                config: dict[str, Any] | None = None, force: bool = False,
                at: float | None = None) -> dict[str, Any]:
    """Give a task to a session or a tool (checked against the tool's capacity, under
    the capacity lock: see :mod:`state.capacity`). The session is told at its next
    prompt or tool result, once. Returns the task, with ``capacity`` when a tool's
    instances were counted. Another live session's task is given out again only by who
    gave it out, a person (``cli``), or with ``force`` (see :func:`set_status`)."""
    from state.capacity import check_task_capacity

    if (to_session is None) == (tool is None):
        raise InvalidValueError("give exactly one of --to SESSION or --tool TOOL")
    moment = now() if at is None else at
    if to_session is not None:
        _live_session(store, to_session)
    else:
        from state.shared import list_tools

        validate_id(tool, "tool name")
        if tool not in list_tools(store):
            raise NotFoundError(f"no tool {tool} in the tool registry (orchestra shared "
                                "list-tools; register it with orchestra shared register-tool)")

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        task = _task_of(doc, project, task_id)
        tid = normalize_id(task_id)
        if task.get("status") == DONE:
            raise ConflictError(f"task {tid} is done; nothing to assign")
        _not_yours(store, project, doc, task, tid, by, "gives it to another", moment, force)
        needed = tool if tool is not None else task.get("needs")
        verdict = check_task_capacity(store, needed, tid, project, over_capacity, config)
        previous = task.get("assignee")
        task.update({"assignee": to_session or tool,
                     "assignee_type": "session" if to_session else "tool",
                     "session": to_session or by, "assigned_by": by,
                     "assigned_at": iso(moment)})
        task.pop("returned", None)
        _history(task, {"by": by, "action": "assigned", "to": to_session or tool,
                        "type": "session" if to_session else "tool", "from": previous,
                        "reason": reason, "capacity": verdict and verdict.get("note")},
                 moment)
        shown = _shown(project, tid, task)
        if verdict:
            shown["capacity"] = verdict
        return shown

    shown: dict[str, Any] = _change(store, project, change, capacity=True, online=True)
    if to_session is not None and to_session != by:
        notify(store, to_session, _assignment_text(shown, by), sender=by)
    return shown


def _live_session(store: Storage, session: str) -> None:
    """A session work can be given to: it exists and has not ended."""
    from state.sessions import require_session

    state = require_session(store, validate_id(session, "session id"))
    if state.get("status") == "ended":
        raise ConflictError(f"session {session} has ended: give the task to a live session "
                            "(orchestra who)")


def _assignment_text(task: dict[str, Any], by: str) -> str:
    lines = [f"Task {task['id']} \"{task['title']}\" of project {task['project']} is now "
             f"yours (assigned by {by})."]
    if task.get("description"):
        lines.append(f"Description: {task['description']}")
    if task.get("note"):
        lines.append(f"Note: {task['note']}")
    tid = task["id"]
    lines.append(f"Start: `orchestra task start {tid}`; report: `orchestra task progress {tid} "
                 f"<0-100>`; finish: `orchestra task done {tid}`; stuck: `orchestra task block "
                 f"{tid} --note \"why\"`.")
    return "\n".join(lines)


def handoff_task(store: Storage, project: str, task_id: str, *, to_session: str, by: str,
                 note: str | None = None, force: bool = False,
                 at: float | None = None) -> dict[str, Any]:
    """Move a task, with its history, status and progress, to another session, with a
    note. The receiver is told once. Another live session's task is moved only by who
    gave it out, a person (``cli``), or with ``force`` (see :func:`set_status`)."""
    moment = now() if at is None else at
    _live_session(store, to_session)
    clean_note = _text(note, MAX_TEXT, "note") if note is not None else None

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        task = _task_of(doc, project, task_id)
        tid = normalize_id(task_id)
        if task.get("status") == DONE:
            raise ConflictError(f"task {tid} is done; nothing to hand off")
        _not_yours(store, project, doc, task, tid, by, "hands it off", moment, force)
        previous = task.get("assignee")
        # Who gave the work out stays who hears it is done; the handoff is in the history.
        task.setdefault("assigned_by", by)
        task.update({"assignee": to_session, "assignee_type": "session",
                     "session": to_session, "assigned_at": iso(moment)})
        task.pop("returned", None)
        if clean_note is not None:
            task["note"] = clean_note
        _history(task, {"by": by, "action": "handoff", "from": previous, "to": to_session,
                        "note": clean_note}, moment)
        return _shown(project, tid, task)

    shown: dict[str, Any] = _change(store, project, change, capacity=True, online=True)
    if to_session != by:
        notify(store, to_session, "Handed off to you: " + _assignment_text(shown, by),
               sender=by)
    return shown


def next_task(store: Storage, project: str, session: str, *, skills: list[str] | None = None,
              config: dict[str, Any] | None = None, at: float | None = None
              ) -> dict[str, Any] | None:
    """Take the next task ``session`` can do, atomically; None when there is none.

    In order: a task already given to it and not started; then, from the pool (pending,
    unassigned), tasks that came back from a gone session first, then by id — a task
    that ``needs`` a tool or skill only if it is one of ``skills``, and only while that
    tool has a free instance. Tasks of sessions that ended or are gone are returned to
    the pool first, in the same transaction.
    """
    moment = now() if at is None else at
    have = set(skills or [])
    from state.capacity import tool_is_full

    def change(doc: dict[str, Any]) -> dict[str, Any] | None:
        _sweep_doc(store, project, doc, moment, config)
        ordered = _ordered(doc["tasks"])
        mine = [t for t in ordered if t.get("status") == "pending"
                and t.get("assignee_type") == "session" and t.get("assignee") == session]
        pool = [t for t in ordered if t.get("status") == "pending" and not t.get("assignee")]
        pool.sort(key=lambda t: 0 if t.get("returned") else 1)  # stable: ids stay in order
        for candidate in [*mine, *pool]:
            needs = candidate.get("needs")
            if candidate in pool and needs and needs not in have:
                continue
            if candidate in pool and needs and tool_is_full(store, needs, config,
                                                            except_task=candidate["id"]):
                continue
            tid = candidate["id"]
            task = doc["tasks"][tid]
            returned = task.pop("returned", None)
            task.update({"assignee": session, "assignee_type": "session", "session": session,
                         "status": "in_progress"})
            task.setdefault("started_at", iso(moment))
            task.setdefault("assigned_at", iso(moment))
            _history(task, {"by": session, "action": "taken", "status": "in_progress",
                            "returned_from": (returned or {}).get("from")}, moment)
            shown = _shown(project, tid, task)
            if returned:
                shown["returned"] = returned
            return shown
        return None

    result: dict[str, Any] | None = _change(store, project, change, capacity=True, online=True)
    return result


# -- sessions that are gone ---------------------------------------------------------


def return_to_pool(store: Storage, project: str, *, config: dict[str, Any] | None = None,
                   at: float | None = None, only: str | None = None,
                   ending: str | None = None) -> list[dict[str, Any]]:
    """Return the open tasks of sessions that ended or are gone to the pool; the tasks
    returned (usually none: then nothing is written). ``only``: just that session's;
    ``ending``: it is ending now (its SessionEnd), whatever its document says yet."""
    moment = now() if at is None else at
    holders = {t.get("assignee") if t.get("assignee_type") == "session" else t.get("session")
               for t in plan_tasks(store, project).values() if t.get("status") in OPEN}
    holders.discard(None)
    if only is not None:
        holders &= {only}
    ends = {only: f"ended ({ending})"} if only is not None and ending is not None else {}
    if not holders or not (ends or _gone_sessions(store, holders, config, moment)):
        return []  # the common case: read only, no lock

    def change(doc: dict[str, Any]) -> list[dict[str, Any]]:
        return _sweep_doc(store, project, doc, moment, config, only=only, ends=ends)

    returned: list[dict[str, Any]] = _change(store, project, change)
    for task in returned:
        tell = task.get("assigned_by")
        if tell and tell != task["returned"]["from"]:
            notify(store, tell, f"Task {task['id']} \"{task['title']}\" is back in the pool: "
                   f"session {task['returned']['from']} {task['returned']['reason']}.",
                   sender="orchestra")
    return returned


def _gone_sessions(store: Storage, sessions: set[Any], config: dict[str, Any] | None,
                   at: float) -> dict[str, str]:
    """{session: why it is gone} for the ones of ``sessions`` that ended or are gone."""
    from state.config import load_config
    from state.sessions import STATE, last_heartbeat, session_status, waits_in_silence

    config = config if config is not None else load_config(store)
    gone: dict[str, str] = {}
    for sid in sessions:
        if not isinstance(sid, str):
            continue
        try:
            state = store.read(session_key(sid, STATE))
        except (ValueError, OSError):
            state = None
        if state is None:
            gone[sid] = "no longer exists"
            continue
        beat = last_heartbeat(store, sid)
        status, age = session_status(state, beat, config, at)
        if status == "stale" and waits_in_silence(beat, config, at):
            continue  # it waits for a person, in silence: its work is still its own
        if status == "ended":
            gone[sid] = f"ended ({state.get('end_reason') or 'ended'})"
        elif status == "stale":
            minutes = int((age or 0) // 60)
            gone[sid] = (f"is gone (no heartbeat for {minutes} min, no SessionEnd)"
                         if age is not None else "is gone (never seen)")
    return gone


def _sweep_doc(store: Storage, project: str, doc: dict[str, Any], at: float,
               config: dict[str, Any] | None, only: str | None = None,
               ends: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """In a transaction on the plan: return the open tasks of gone sessions."""
    holders: set[Any] = set()
    for task in doc["tasks"].values():
        if isinstance(task, dict) and task.get("status") in OPEN:
            holders.add(task.get("assignee") if task.get("assignee_type") == "session"
                        else task.get("session"))
    holders.discard(None)
    if only is not None:
        holders &= {only}
    gone = _gone_sessions(store, holders - set(ends or {}), config, at) if holders else {}
    gone.update({k: v for k, v in (ends or {}).items() if k in holders})
    returned = []
    for tid, task in doc["tasks"].items():
        if not isinstance(task, dict) or task.get("status") not in OPEN:
            continue
        by_tool = task.get("assignee_type") == "tool"
        holder = task.get("session") if by_tool else task.get("assignee")
        if holder not in gone:
            continue
        flag = {"from": holder, "at": iso(at), "reason": gone[holder],
                "status": task.get("status"), "progress": task.get("progress", 0),
                **last_activity(store, project, holder)}
        task.update({"assignee": None, "assignee_type": None, "session": None,
                     "status": "pending", "returned": flag})
        _history(task, {"by": "orchestra", "action": "returned", "from": holder,
                        "reason": gone[holder], "status": "pending",
                        "was": flag["status"]}, at)
        returned.append(_shown(project, tid, task))
    return returned


def last_activity(store: Storage, project: str, session: str) -> dict[str, Any]:
    """What a session was last seen doing, and the files it changed: its heartbeat and the
    activity its hooks recorded there (:mod:`state.activity`: last prompt, answer, tool
    call, files written), else the last described tool call and prompt of its event log;
    and the files it claimed in the project."""
    from state.sessions import last_heartbeat

    out: dict[str, Any] = {}
    beat = last_heartbeat(store, session)
    if isinstance(beat.get("at"), int | float):
        out["last_seen"] = iso(beat["at"])
    if beat.get("event"):
        out["last_event"] = beat.get("event")
    if beat.get("tool"):
        out["last_tool"] = beat.get("tool")
    written = _recorded_activity(beat.get("activity"), out)
    for record in reversed(_log_tail(store, session_key(session, "events.jsonl"))):
        summary: dict[str, Any] = record["summary"] if isinstance(record.get("summary"),
                                                                   dict) else {}
        tool_input: dict[str, Any] = summary["tool_input"] if isinstance(
            summary.get("tool_input"), dict) else {}
        if "doing" not in out and isinstance(tool_input.get("description"), str):
            out["doing"] = f"{record.get('tool')}: {tool_input['description'][:200]}"
        if "last_prompt" not in out and isinstance(summary.get("prompt"), str):
            out["last_prompt"] = summary["prompt"].strip().splitlines()[0][:200] \
                if summary["prompt"].strip() else ""
        if "doing" in out and "last_prompt" in out:
            break
    files: list[str] = list(written)
    for record in _log_tail(store, project_key(project, "claims.jsonl")):
        path = record.get("file") or record.get("path")
        if record.get("session") == session and isinstance(path, str) and path not in files:
            files.append(path)
    if files:
        out["files"] = files[-20:]
    return out


def _recorded_activity(record: Any, out: dict[str, Any]) -> list[str]:
    """Fill ``out`` from the activity the hooks recorded in the heartbeat (issue 21); the
    files the session wrote, newest last."""
    if not isinstance(record, dict):
        return []
    from state.activity import describe

    activity = describe(record, "ended")
    calls = [activity.get("last_tool") or {}, *(activity.get("recent") or [])]
    described = next((c for c in calls if c.get("tool") and c.get("description")), None)
    if described is not None:  # the last call that says what it was for
        out["doing"] = f"{described['tool']}: {described['description']}"
    elif calls[0].get("tool"):
        out["doing"] = str(calls[0]["tool"])
    for key, field in (("last_prompt", "prompt"), ("last_answer", "answer")):
        text = (activity.get(field) or {}).get("text")
        if isinstance(text, str) and text:
            out[key] = text[:200]
    files = (activity.get("files") or {}).get("paths") or []
    return [f for f in reversed(files) if isinstance(f, str)][-20:]


def _log_tail(store: Storage, key: str, limit: int = 256 * 1024) -> list[dict[str, Any]]:
    """The records of the last ``limit`` bytes of a log (its newest segments: a log rotated
    with checkpoints keeps a small live one). Its callers pass a checkpoint line by: it
    names no session."""
    from state.persistence.storage import decode_lines

    chunks: list[bytes] = []
    try:
        size = 0
        for segment in reversed(store._log_segments(key)):
            chunk = store._read_bytes(segment)
            if chunk:
                chunks.append(chunk if chunk.endswith(b"\n") else chunk + b"\n")
                size += len(chunk)
                if size >= limit:
                    break
    except (OSError, ValueError):
        return []
    data = b"".join(reversed(chunks))
    if not data:
        return []
    chunk = data[-limit:]
    if len(data) > limit:
        chunk = chunk[chunk.find(b"\n") + 1:]
    return list(decode_lines(chunk))


def session_share(store: Storage, project: str, session: str) -> dict[str, dict[str, Any]]:
    """The session's share of the plan, as ``active_work.tasks`` shows it (by id)."""
    out = {}
    for tid, task in plan_tasks(store, project).items():
        if _is_share_of(task, session):
            out[tid] = {"id": tid, "project": project, "subject": task.get("title"), **task}
    return out


# -- notices -----------------------------------------------------------------------


def notify(store: Storage, session: str, text: str, *, sender: str) -> None:
    """Tell ``session`` something about its tasks at its next prompt or tool result, once
    (a message from Orchestra itself, see :mod:`handlers.messages`). Never fails the
    change it reports."""
    from state.messages import send_message

    with contextlib.suppress(LookupError, ValueError, OSError):
        send_message(store, text=text, sender=sender, to_session=session, kind="orchestra")


# -- session-local tasks (a session with no project) -------------------------------


def local_tasks(store: Storage, session: str) -> dict[str, dict[str, Any]]:
    tasks = (store.read(session_key(session, "tasks.json")) or {}).get("tasks")
    return {k: v for k, v in (tasks or {}).items() if isinstance(v, dict)}


def add_local_task(store: Storage, session: str, title: str, *, description: str | None = None,
                   at: float | None = None) -> dict[str, Any]:
    """A task in the session's own ``tasks.json`` (``L-<n>``, ``local: true``), for a
    session that has no project."""
    moment = now() if at is None else at
    clean_title = _text(title, MAX_TITLE, "title")
    clean_description = (_text(description, MAX_TEXT, "description")
                         if description is not None else None)
    with store.transaction(session_key(session, "tasks.json")) as doc:
        tasks = doc.setdefault("tasks", {})
        number = 1 + max((int(k[2:]) for k in tasks if k.startswith("L-") and k[2:].isdigit()),
                         default=0)
        tid = f"L-{number}"
        task: dict[str, Any] = {"id": tid, "subject": clean_title, "title": clean_title,
                                "status": "pending", "progress": 0, "owner": "main",
                                "local": True, "source": "orchestra",
                                "created_at": iso(moment), "history": []}
        if clean_description is not None:
            task["description"] = clean_description
        _history(task, {"by": session, "action": "added", "status": "pending"}, moment)
        tasks[tid] = task
    return {**task, "local": True}


def change_local_task(store: Storage, session: str, task_id: str, *,
                      status: str | None = None, progress: object = None,
                      note: str | None = None, at: float | None = None) -> dict[str, Any]:
    """Change a session-local task (``L-<n>``; a Claude Code task id works too)."""
    moment = now() if at is None else at
    new = normalize_status(status) if status is not None else None
    value = _progress(progress) if progress is not None else None
    with store.transaction(session_key(session, "tasks.json")) as doc:
        tasks = doc.setdefault("tasks", {})
        key = str(task_id).strip().lstrip("#")
        if key not in tasks:
            with contextlib.suppress(InvalidValueError):
                key = normalize_id(key, local=True)
        task = tasks.get(key)
        if not isinstance(task, dict):
            raise NotFoundError(f"no task {task_id} in session {session} (this session has no "
                                "project: its tasks are session-local)")
        old = task.get("status")
        if new is not None:
            task["status"] = "completed" if new == DONE and not task.get("local") else new
            if new == DONE:
                task["progress"] = 100
        if value is not None:
            task["progress"] = value
        if note is not None:
            task["note"] = _text(note, MAX_TEXT, "note")
        _history(task, {"by": session, "action": "status" if new else "progress",
                        "status": task.get("status") if new else None,
                        "from": old if new else None, "progress": value}, moment)
    return {"id": key, **task}
