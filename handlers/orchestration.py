"""Roles at work: what each role sees, and tasks of gone sessions back to the pool.

* **Context per role** (SessionStart and UserPromptSubmit, a few bounded lines): an
  orchestrator (or a coordinator, for its epic or sprint) sees the plan's counts, the
  unassigned tasks, the tasks back from gone sessions, what was done lately and the idle
  workers; a worker sees its assignment and the commands to report. A peer (the
  default) sees nothing more than before roles.
* **Back to the pool, without a daemon**: a session's SessionEnd returns its open tasks
  at once; at the other hooks of any session of the project (SessionStart,
  UserPromptSubmit, Stop — not the per-tool events), at most every
  ``tasks.sweep_seconds``, the tasks of sessions that are gone are returned (see
  :func:`state.plan.return_to_pool`). ``orchestra task next`` and the views do it too.
* ``tasks.auto_assign``: an orchestrator's hooks also run the automatic assignment.
* A worker that ``orchestra spawn`` started in its own worktree: at its SessionEnd the
  worktree is removed if nothing in it is uncommitted, else kept and reported
  (:func:`state.workers.cleanup_worktree`).

Assignments, handoffs and tasks done reach the session they concern through
:mod:`handlers.messages` (Orchestra's own notices, once).
"""

from __future__ import annotations

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

_SWEEP = "sweep.json"
_TITLE = 100
_LIST = 5


def _state(ctx: HandlerContext, sid: str) -> dict[str, Any]:
    from state.paths import session_key

    return ctx.store.read(session_key(sid, "state.json")) or {}


def _project(state: dict[str, Any]) -> str | None:
    from state.paths import is_id

    project = state.get("project")
    return project if isinstance(project, str) and is_id(project) else None


def _sweep(ctx: HandlerContext, project: str, *, always: bool = False) -> None:
    """Return gone sessions' tasks, at most every ``tasks.sweep_seconds`` per project."""
    from state.paths import project_key

    if not ctx.store.exists(project_key(project, "plan.json")):
        return  # no plan: nothing to return (and nothing more imported)
    stamp = project_key(project, _SWEEP)
    if not always:
        from state.config import project_config

        seconds = project_config(ctx.config, project).get("tasks", {}).get("sweep_seconds", 60)
        last = (ctx.store.read(stamp) or {}).get("at")
        if isinstance(last, int | float) and ctx.now - last < float(seconds):
            return
    ctx.store.put_volatile(stamp, {"at": ctx.now})
    from state.plan import return_to_pool

    return_to_pool(ctx.store, project, config=ctx.config, at=ctx.now)


def _quote(text: object, limit: int = _TITLE) -> str:
    """A title or note as data: one line, bounded, in quotes, with nothing that could close
    or forge a frame around messages (as handlers.messages escapes them)."""
    line = " ".join(str(text or "").split())
    if len(line) > limit:
        line = line[: limit - 3] + "..."
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return '"' + line.replace('"', "'") + '"'


def _in_scope(task: dict[str, Any], scope: dict[str, str] | None) -> bool:
    if not scope:
        return True
    return all(task.get(kind) == name for kind, name in scope.items())


def orchestrator_lines(ctx: HandlerContext, sid: str, project: str,
                       role: dict[str, Any]) -> list[str]:
    from state.assignment import idle_workers
    from state.plan import plan_tasks

    scope = role.get("scope")
    tasks = {k: v for k, v in plan_tasks(ctx.store, project).items() if _in_scope(v, scope)}
    where = f"project {project}" + (
        "".join(f", {kind} {name}" for kind, name in scope.items()) if scope else "")
    counts: dict[str, int] = {}
    for task in tasks.values():
        counts[str(task.get("status"))] = counts.get(str(task.get("status")), 0) + 1
    unassigned = sorted((k for k, t in tasks.items()
                         if t.get("status") == "pending" and not t.get("assignee")),
                        key=_number)
    lines = [f"Orchestra: you are the {role['role']} of {where}. Plan: "
             + ", ".join(f"{counts.get(s, 0)} {s.replace('_', ' ')}"
                         for s in ("pending", "in_progress", "blocked", "done")) + "."]
    back = [k for k in unassigned if isinstance(tasks[k].get("returned"), dict)]
    for tid in back[:3]:
        flag = tasks[tid]["returned"]
        seen = "; ".join(x for x in (
            f"was doing {_quote(flag.get('doing'), 80)}" if flag.get("doing") else "",
            f"files {', '.join(flag.get('files', [])[:4])}" if flag.get("files") else "")
            if x)
        lines.append(f"Back in the pool: {tid} {_quote(tasks[tid].get('title'))}, "
                     f"{flag.get('status')} {flag.get('progress', 0)}% when session "
                     f"{flag.get('from')} {flag.get('reason')}" + (f" ({seen})" if seen else ""))
    fresh = [k for k in unassigned if k not in back]
    if fresh:
        shown = "; ".join(f"{k} {_quote(tasks[k].get('title'), 60)}"
                          + (f" needs {tasks[k]['needs']}" if tasks[k].get("needs") else "")
                          for k in fresh[:_LIST])
        more = f" (+{len(fresh) - _LIST} more)" if len(fresh) > _LIST else ""
        lines.append(f"Unassigned: {shown}{more}.")
    recent = sorted((t.get("done_at") or "", k) for k, t in tasks.items()
                    if t.get("status") == "done" and t.get("done_at"))[-3:]
    if recent:
        lines.append("Done lately: " + "; ".join(
            f"{k} {_quote(tasks[k].get('title'), 60)} by {tasks[k].get('assignee') or '?'}"
            for _at, k in reversed(recent)) + ".")
    workers = idle_workers(ctx.store, project, ctx.config, ctx.now, tasks)
    lines.append("Idle workers: " + (", ".join(
        w["session_id"] + (f" ({', '.join(w['skills'])})" if w.get("skills") else "")
        for w in workers[:_LIST]) or "none") + ". Give work: `orchestra task assign <task> "
        "--to <session>`, `orchestra assign --auto`, `orchestra spawn --task <task>`; "
        "`orchestra board` shows all.")
    return lines


def worker_lines(ctx: HandlerContext, sid: str, project: str,
                 role: dict[str, Any]) -> list[str]:
    from state.plan import OPEN, session_share

    skills = f" (skills: {', '.join(role['skills'])})" if role.get("skills") else ""
    lines = [f"Orchestra: you are a worker of project {project}{skills}."]
    mine = sorted(((k, t) for k, t in session_share(ctx.store, project, sid).items()
                   if t.get("status") in OPEN), key=lambda kv: _number(kv[0]))
    if not mine:
        lines.append("You have no task: `orchestra task next` takes the next one you can do.")
        return lines
    tid, task = mine[0]
    lines.append(f"Your task: {tid} {_quote(task.get('title'), 200)} ({task.get('status')}, "
                 f"{task.get('progress', 0)}%)" + (
                     f"; description: {_quote(task.get('description'), 300)}"
                     if task.get("description") else "") + (
                     f"; note: {_quote(task.get('note'), 200)}" if task.get("note") else ""))
    if len(mine) > 1:
        lines.append("Also yours: " + ", ".join(k for k, _t in mine[1:_LIST]) + ".")
    lines.append(f"Start: `orchestra task start {tid}`; report: `orchestra task progress {tid} "
                 f"<0-100>`; finish: `orchestra task done {tid}`; stuck: `orchestra task block "
                 f"{tid} --note \"why\"`.")
    return lines


def _number(tid: str) -> int:
    tail = tid.split("-", 1)[-1]
    return int(tail) if tail.isdigit() else 1 << 60


def briefing(ctx: HandlerContext, sid: str, state: dict[str, Any]) -> str | None:
    """The role's lines, or None for a peer (or a session with no project)."""
    from state.session_info import role_of  # (state.sessions is large)

    role = role_of(state, ctx.config)
    project = _project(state)
    if role["role"] == "peer" or project is None:
        return None
    if role["role"] == "worker":
        lines = worker_lines(ctx, sid, project, role)
    else:
        from state.config import project_config

        if project_config(ctx.config, project).get("tasks", {}).get("auto_assign"):
            from state.assignment import auto_assign

            auto_assign(ctx.store, project, by=sid, config=ctx.config, at=ctx.now)
        lines = orchestrator_lines(ctx, sid, project, role)
    return "\n".join(line[:600] for line in lines)


def _brief(event: Event, ctx: HandlerContext, *, always: bool) -> dict[str, Any] | None:
    sid = event.session_id
    if sid is None:
        return None
    state = _state(ctx, sid)
    project = _project(state)
    if project is not None:
        _sweep(ctx, project, always=always)
    text = briefing(ctx, sid, state)
    if not text:
        return None
    return {"hookSpecificOutput": {"additionalContext": text}}


@hookimpl
def on_session_start(event: Event, ctx: HandlerContext) -> dict[str, Any] | None:
    return _brief(event, ctx, always=True)


@hookimpl
def on_user_prompt_submit(event: Event, ctx: HandlerContext) -> dict[str, Any] | None:
    sid = event.session_id
    if sid is None:
        return None
    return _brief(event, ctx, always=False)  # a peer: None, and nothing more imported


@hookimpl
def on_stop(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None:
        return
    project = _project(_state(ctx, sid))
    if project is not None:
        _sweep(ctx, project)


@hookimpl
def on_session_end(event: Event, ctx: HandlerContext) -> None:
    """The ending session's open tasks go back to the pool now; its tool instances are
    released (state.capacity)."""
    sid = event.session_id
    if sid is None:
        return
    from state.paths import project_key

    state = _state(ctx, sid)
    project = _project(state)
    if project is not None and ctx.store.exists(project_key(project, "plan.json")):
        from state.plan import return_to_pool

        return_to_pool(ctx.store, project, config=ctx.config, at=ctx.now, only=sid,
                       ending=(event.reason or "other")[:60])
    spawn = state.get("spawn")
    if isinstance(spawn, dict) and spawn.get("worktree"):
        from state.workers import cleanup_worktree

        cleanup_worktree(ctx.store, sid)  # removed if clean, else kept and reported
