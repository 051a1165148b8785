"""Automatic assignment: pending tasks to idle workers with the needed skill, within
capacity (``orchestra assign --auto``, or ``tasks.auto_assign`` at an orchestrator's
hooks).

A worker is a session whose role is ``worker`` (state.sessions.role_of), live (active or
idle), of the project, holding no open task. A task is pending and unassigned (tasks
that came back from a gone session first, then by id); one that ``needs`` a tool goes
only to a worker with that skill, and only while the tool has a free instance. Each
assignment goes through :func:`state.plan.assign_task` (one transaction, capacity
checked under its lock) and is logged, with its reason, in the task's history and in
``projects/<project>/assignments.jsonl``.
"""

from __future__ import annotations

from state.clock import iso, now
from state.paths import project_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

# The plan, capacity and sessions are imported when work is given out, not to list it.
__all__ = ["ASSIGNMENTS", "auto_assign", "idle_workers", "live_sessions"]

ASSIGNMENTS = "assignments.jsonl"


def live_sessions(store: Storage, project: str, config: dict[str, Any],
                  at: float) -> list[dict[str, Any]]:
    """The project's live sessions (active or idle), with role and skills."""
    from state.sessions import list_sessions

    return [s for s in list_sessions(store, project=project)
            if s["status"] in ("active", "idle")]


def idle_workers(store: Storage, project: str, config: dict[str, Any], at: float,
                 tasks: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Live workers of the project that hold no open task, least recently busy first."""
    from state.plan import OPEN, plan_tasks

    tasks = plan_tasks(store, project) if tasks is None else tasks
    busy = {t.get("assignee") for t in tasks.values()
            if t.get("status") in OPEN and t.get("assignee_type") == "session"}
    return [s for s in live_sessions(store, project, config, at)
            if s.get("role") == "worker" and s["session_id"] not in busy]


def auto_assign(store: Storage, project: str, *, by: str, config: dict[str, Any] | None = None,
                dry_run: bool = False, at: float | None = None) -> list[dict[str, Any]]:
    """Assign what can be assigned; the assignments made (or, ``dry_run``, planned)."""
    from state.config import load_config
    from state.errors import ConflictError, NotFoundError
    from state.plan import assign_task, plan_tasks, return_to_pool

    config = config if config is not None else load_config(store)
    moment = now() if at is None else at
    return_to_pool(store, project, config=config, at=moment)
    tasks = plan_tasks(store, project)
    workers = idle_workers(store, project, config, moment, tasks)
    pending = sorted(((0 if t.get("returned") else 1, _number(tid), tid)
                      for tid, t in tasks.items()
                      if t.get("status") == "pending" and not t.get("assignee")))
    made: list[dict[str, Any]] = []
    taken: dict[str, int] = {}  # instances this run gave out (a dry run writes none)
    for _returned, _n, tid in pending:
        if not workers:
            break
        task = tasks[tid]
        needs = task.get("needs")
        fit = [w for w in workers if not needs or needs in w.get("skills", [])]
        if not fit:
            continue
        if needs and _full(store, needs, config, tid, taken.get(needs, 0) if dry_run else 0):
            continue
        worker = fit[0]
        reason = (f"idle worker with skill {needs}" if needs else "idle worker") + (
            f"; task came back from {task['returned'].get('from')}"
            if isinstance(task.get("returned"), dict) else "")
        record = {"at": iso(moment), "task": tid, "title": task.get("title"),
                  "to": worker["session_id"], "by": by, "reason": reason}
        if not dry_run:
            try:
                assign_task(store, project, tid, by=by, to_session=worker["session_id"],
                            reason=f"auto: {reason}", config=config, at=moment)
            except (ConflictError, NotFoundError) as exc:
                record["skipped"] = str(exc)
                continue
            store.append(project_key(project, ASSIGNMENTS), record)
        made.append(record)
        workers.remove(worker)
        if needs:
            taken[needs] = taken.get(needs, 0) + 1
    return made


def _full(store: Storage, tool: str, config: dict[str, Any], task_id: str, planned: int) -> bool:
    """No free instance of ``tool``, counting what is stored and the ``planned`` ones a dry
    run gave out without storing them."""
    from state.capacity import busy_instances, max_instances

    most = max_instances(store, tool)
    if most is None:
        return False
    busy = [h for h in busy_instances(store, tool, config=config)
            if not (h.get("kind") == "task" and h.get("task") == task_id)]
    return len(busy) + planned >= most


def _number(tid: str) -> int:
    tail = tid.split("-", 1)[-1]
    return int(tail) if tail.isdigit() else 1 << 60
