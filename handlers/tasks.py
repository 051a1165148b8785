"""Tasks: Claude Code's task tools feed ``sessions/<id>/tasks.json``.

Sources, all folded into one task list keyed by Claude Code's task id:

* ``PostToolUse`` of ``TaskCreate`` (the response carries the new id) and of
  ``TaskUpdate`` (``taskId``, ``status``, ``subject``, ``description``, ``owner``);
* the ``TaskCreated`` and ``TaskCompleted`` events;
* the older ``TodoWrite`` tool (``tool_input.todos``): todos get ids
  ``todo-1``, ``todo-2``... in list order, and the list replaces earlier todos.

Each task: ``id``, ``subject``, ``description``, ``status``, ``owner`` (``main``
or the subagent's ``agent_id``), ``created_at``, ``updated_at`` and ``history``
(every status change with its time and who made it).

Linked to the project plan (:mod:`state.plan`): a task whose subject or description
names a task of the session's project (``T-3``) gets ``project_task: "T-3"``, and its
status changes (in progress, completed) are made to that project task too, by this
session. Any other task of a session that has a project is session-local
(``scope: "session"``): the views show it with its session, and Claude is told so once,
when it creates it, with the command that puts a task in the plan.
"""

from __future__ import annotations

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

_TEXT = 2000
#: The tools whose results change the task list.
TASK_TOOLS = ("TaskCreate", "TaskUpdate", "TodoWrite")


def _text(value: Any) -> str | None:
    return value[:_TEXT] if isinstance(value, str) else None


def _task_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= 128:
        return value
    return None


def _apply(tasks: dict[str, Any], task_id: str, ctx: HandlerContext, event: Event,
           **fields: Any) -> None:
    from state.clock import iso

    stamp = iso(ctx.now)
    owner = event.agent_id or "main"
    task = tasks.get(task_id)
    if not isinstance(task, dict):
        task = tasks[task_id] = {"id": task_id, "status": "pending", "owner": owner,
                                 "created_at": stamp, "history": []}
        task["history"].append({"status": "pending", "at": stamp, "by": owner})
    status = fields.pop("status", None)
    for key, value in fields.items():
        if value is not None:
            task[key] = value
    if isinstance(status, str) and status and status != task.get("status"):
        if status == "deleted":
            del tasks[task_id]
            return
        task.setdefault("history", []).append(
            {"status": status, "from": task.get("status"), "at": stamp, "by": owner})
        task["status"] = status[:40]
    task["updated_at"] = stamp


def _update(event: Event, ctx: HandlerContext, change: Any) -> _Links:
    """Change the session's tasks in one transaction; the tasks it touched are linked to
    the project plan in the same write (:class:`_Links`)."""
    from state.clock import iso
    from state.paths import session_key

    assert event.session_id is not None
    links = _Links(event, ctx)
    stamp = iso(ctx.now)
    with ctx.store.transaction(session_key(event.session_id, "tasks.json")) as doc:
        tasks = doc.setdefault("tasks", {})
        change(tasks)
        links.apply(tasks, [k for k, t in tasks.items()
                            if isinstance(t, dict) and t.get("updated_at") == stamp])
    links.finish()
    return links


class _Links:
    """Linking the session's tasks to its project's plan (see the module docstring)."""

    def __init__(self, event: Event, ctx: HandlerContext) -> None:
        from state.paths import is_id, project_key, session_key

        self.event, self.ctx = event, ctx
        self.moves: list[tuple[str, str]] = []
        self.refused: list[str] = []
        self.local: list[str] = []
        self.plan: dict[str, Any] = {}
        assert event.session_id is not None
        state = ctx.store.read(session_key(event.session_id, "state.json")) or {}
        project = state.get("project")
        self.project = project if isinstance(project, str) and is_id(project) else None
        if self.project and ctx.store.exists(project_key(self.project, "plan.json")):
            from state.plan import plan_tasks

            self.plan = plan_tasks(ctx.store, self.project)

    def apply(self, tasks: dict[str, Any], task_ids: list[str]) -> None:
        if self.project is None:
            return
        for task_id in task_ids:
            task = tasks[task_id]
            linked = task.get("project_task")
            if linked not in self.plan:
                text = f"{task.get('subject') or ''} {task.get('description') or ''}"
                linked = None
                if self.plan and "T" in text:  # re (and enum...) only for a text naming one
                    import re

                    named = [f"T-{n}" for n in re.findall(r"(?<![\w-])T-?(\d+)(?!\d)", text)]
                    linked = next((n for n in named if n in self.plan), None)
            if linked:
                task["project_task"] = linked
                task.pop("scope", None)
                wanted = {"in_progress": "in_progress", "completed": "done"}.get(
                    str(task.get("status")))
                if wanted and self.plan[linked].get("status") != wanted:
                    self.moves.append((linked, wanted))
            elif task.get("scope") != "session":
                task["scope"] = "session"
                self.local.append(task_id)

    def finish(self) -> None:
        if not self.moves or self.project is None:
            return
        from state.errors import ConflictError
        from state.plan import set_status

        assert self.event.session_id is not None
        for linked, status in self.moves:
            try:
                set_status(self.ctx.store, self.project, linked, status,
                           by=self.event.session_id, take=True, at=self.ctx.now)
            except ConflictError as exc:  # another live session holds it: not a crash
                self.refused.append(f"{exc}"[:300])

    def said(self) -> str | None:
        """What tells Claude that a task it just created is session-local, or that a plan
        task it names is another session's (its status there was left alone)."""
        if self.refused:
            return ("Orchestra: the project plan was not changed: " + "; ".join(self.refused)
                    + ". Your own task list keeps the change.")
        if self.event.tool_name != "TaskCreate" or not self.local:
            return None
        return (f"Orchestra: task {', '.join('#' + t for t in self.local)} is session-local "
                f"(Claude Code's own list), not in project {self.project}'s plan; other "
                "sessions do not see it. To share work: `orchestra task add \"title\"`; naming "
                "a plan task (T-3) in a task's subject links the two.")


@hookimpl(tools=TASK_TOOLS)
def on_post_tool_use(event: Event, ctx: HandlerContext) -> dict[str, Any] | None:
    links = _record(event, ctx)
    text = links.said() if links is not None else None
    return {"hookSpecificOutput": {"additionalContext": text}} if text else None


def _record(event: Event, ctx: HandlerContext) -> _Links | None:
    """Fold the tool call into tasks.json."""
    tool = event.tool_name
    if event.session_id is None or tool not in TASK_TOOLS:
        return None
    data = event.tool_input
    if tool == "TaskCreate":
        response = event.tool_response if isinstance(event.tool_response, dict) else {}
        nested = response.get("task")
        task: dict[str, Any] = nested if isinstance(nested, dict) else response
        task_id = _task_id(task.get("id") or task.get("taskId"))
        if task_id is None:
            return None
        return _update(event, ctx, lambda tasks: _apply(
            tasks, task_id, ctx, event,
            subject=_text(task.get("subject") or data.get("subject")),
            description=_text(task.get("description") or data.get("description")),
            active_form=_text(data.get("activeForm"))))
    if tool == "TaskUpdate":
        task_id = _task_id(data.get("taskId") or data.get("id"))
        if task_id is None:
            return None
        return _update(event, ctx, lambda tasks: _apply(
            tasks, task_id, ctx, event, status=_text(data.get("status")),
            subject=_text(data.get("subject")), description=_text(data.get("description")),
            owner=_text(data.get("owner"))))
    todos = data.get("todos")
    if not isinstance(todos, list):
        return None
    return _update(event, ctx, lambda tasks: _todos(tasks, todos, ctx, event))


def _todos(tasks: dict[str, Any], todos: list[Any], ctx: HandlerContext, event: Event) -> None:
    wanted = set()
    for index, todo in enumerate(todos, start=1):
        if not isinstance(todo, dict):
            continue
        task_id = _task_id(todo.get("id")) or f"todo-{index}"
        wanted.add(task_id)
        _apply(tasks, task_id, ctx, event, status=_text(todo.get("status")),
               subject=_text(todo.get("content")), active_form=_text(todo.get("activeForm")),
               source="TodoWrite")
    for task_id in [t for t, v in tasks.items() if v.get("source") == "TodoWrite"]:
        if task_id not in wanted:
            del tasks[task_id]


@hookimpl
def on_task_created(event: Event, ctx: HandlerContext) -> None:
    task_id = _task_id(event.get("task_id"))
    if event.session_id is None or task_id is None:
        return
    _update(event, ctx, lambda tasks: _apply(
        tasks, task_id, ctx, event, subject=_text(event.get("task_subject")),
        description=_text(event.get("task_description")),
        teammate=_text(event.get("teammate_name"))))


@hookimpl
def on_task_completed(event: Event, ctx: HandlerContext) -> None:
    task_id = _task_id(event.get("task_id"))
    if event.session_id is None or task_id is None:
        return
    _update(event, ctx, lambda tasks: _apply(
        tasks, task_id, ctx, event, status="completed",
        subject=_text(event.get("task_subject")),
        description=_text(event.get("task_description"))))
