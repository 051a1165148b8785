"""The project plan's document, read: where it is, which statuses are open, its tasks.

The operations on the plan (adding, assigning, taking, handing off...) are
:mod:`state.plan`, which checks a tool's capacity (:mod:`state.capacity`) as it assigns;
capacity counts the open tasks that occupy a tool, read here. So both read the plan
through this module and neither imports the other back.
"""

from __future__ import annotations

from state.paths import project_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["DONE", "OPEN", "PLAN", "STATUSES", "plan_key", "plan_tasks"]

PLAN = "plan.json"
STATUSES = ("pending", "in_progress", "blocked", "done")
OPEN = frozenset({"pending", "in_progress", "blocked"})
DONE = "done"


def plan_key(project: str) -> str:
    return project_key(project, PLAN)


def plan_tasks(store: Storage, project: str) -> dict[str, dict[str, Any]]:
    """The project's tasks by id (read without a lock; {} when there is no plan)."""
    tasks = (store.read(plan_key(project)) or {}).get("tasks")
    if not isinstance(tasks, dict):
        return {}
    return {k: v for k, v in tasks.items() if isinstance(v, dict)}
