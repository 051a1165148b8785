"""Numbers the styles must not guess: blockers, velocity, tool load, assignment suggestions.

* **Blockers**: a task whose status is ``blocked`` (or ``waiting``/``on_hold``);
  a task in progress whose session has ended; a task in progress whose
  session's last heartbeat is older than ``render.blocker_idle_seconds``
  (config, per project overridable; default 1800 s).
* **Velocity** per sprint (sprints ordered by start date, undated ones last, then id): points
  completed (the sprint's ``points_completed``, else the points of its
  completed epics) and tasks completed (tasks whose ``sprint``, or else their
  session's ``active_work.current_sprint``, is the sprint). Over finished
  sprints: the average, and the trend of the last two (up, down or flat),
  on points when both have points, else on tasks.
* **Tool load**: what :mod:`state.capacity` counts and enforces — live subagents of
  that type and open tasks that occupy the tool — with what holds each instance.
* **Suggestions**: for each project task in the pool (pending, unassigned;
  session-local tasks cannot be given to anyone), the tool it ``needs`` if that
  has a free instance, else the tool with a free instance that covers most of
  the capabilities the task names (capability words in its title and
  description); and where to run it: an idle worker with the skill, else the
  active session with the fewest tasks in progress.
"""

from __future__ import annotations

import re

from styles.views.snapshot import DONE_STATUSES, Snapshot, natural_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DEFAULT_BLOCKER_IDLE_SECONDS",
    "blocker_idle_seconds",
    "blockers",
    "suggestions",
    "tool_load",
    "velocity",
]

DEFAULT_BLOCKER_IDLE_SECONDS = 1800
FINISHED_SPRINTS = frozenset({"completed", "done", "closed", "finished"})


def blocker_idle_seconds(config: dict[str, Any]) -> float:
    """``render.blocker_idle_seconds`` if it is a positive number, else the default."""
    render = config.get("render")
    value = render.get("blocker_idle_seconds") if isinstance(render, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return DEFAULT_BLOCKER_IDLE_SECONDS


def duration(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h 05m``, ``2d 04h`` (whole units, rounded down)."""
    if seconds is None:
        return "?"
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def blockers(snap: Snapshot) -> list[dict[str, Any]]:
    limit = blocker_idle_seconds(snap.config)
    out = []
    for task in snap.tasks:
        session = snap.session_by_id(task["session"]) or {}
        reason = None
        if task["column"] == "blocked":
            reason = f"status {task['status']}"
        elif task["column"] == "doing":
            idle = session.get("idle_seconds")
            if task.get("local") is False:
                reason = None  # a project task of a gone session returns to the pool
            elif session.get("status") == "ended":
                reason = "session ended"
            elif idle is None:
                reason = "session never seen"
            elif idle >= limit:
                reason = f"no activity for {duration(idle)}"
        if reason:
            out.append({"session": task["session"], "task": task.get("ref") or task["id"],
                        "subject": task["subject"], "status": task["status"],
                        "reason": reason})
    return out


def _epic_points(snap: Snapshot, sprint: str) -> tuple[float | None, float | None]:
    planned = completed = None
    for epic in snap.epics:
        points = epic.get("points")
        if epic.get("sprint") != sprint or not isinstance(points, int | float):
            continue
        planned = (planned or 0) + points
        if epic.get("status") in DONE_STATUSES:
            completed = (completed or 0) + points
    return planned, completed


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def velocity(snap: Snapshot) -> dict[str, Any]:
    rows = []
    for sprint in snap.sprints:
        sid = sprint["id"]
        epic_planned, epic_done = _epic_points(snap, sid)
        tasks = [t for t in snap.tasks if t["sprint"] == sid]
        done = sum(1 for t in tasks if t["column"] == "done")
        planned = _num(sprint.get("points_planned"))
        completed = _num(sprint.get("points_completed"))
        rows.append({
            "sprint": sid, "title": sprint.get("title"), "status": sprint.get("status"),
            "start": sprint.get("start"), "end": sprint.get("end"),
            "points_planned": planned if planned is not None else epic_planned,
            "points_completed": completed if completed is not None else epic_done,
            "tasks_total": len(tasks), "tasks_completed": done,
        })
    finished = [r for r in rows if r["status"] in FINISHED_SPRINTS]
    by_points = bool(finished) and all(r["points_completed"] is not None for r in finished)
    unit = "points" if by_points else "tasks"
    values = [float(r["points_completed"] if by_points else r["tasks_completed"])
              for r in finished]
    trend = "n/a"
    if len(values) >= 2:
        last, before = values[-1], values[-2]
        trend = "up" if last > before else "down" if last < before else "flat"
    average = round(sum(values) / len(values), 1) if values else None
    return {"unit": unit, "average": average, "trend": trend, "finished": len(finished),
            "sprints": rows}


def tool_load(snap: Snapshot) -> list[dict[str, Any]]:
    out = []
    for tool in snap.tools:
        load = snap.capacity.get(tool["name"]) or {}
        maximum = int(load.get("max_instances") or tool.get("max_instances") or 1)
        holders = list(load.get("holders") or [])
        busy = len(holders)
        out.append({"name": tool["name"], "capabilities": list(tool.get("capabilities") or []),
                    "max_instances": maximum, "busy": busy, "free": max(maximum - busy, 0),
                    "description": tool.get("description"),
                    "holders": [_holder(h) for h in holders]})
    return out


def _holder(hold: dict[str, Any]) -> dict[str, Any]:
    if hold.get("kind") == "task":
        return {"kind": "task", "task": hold.get("task"), "session": hold.get("session"),
                "status": hold.get("status")}
    return {"kind": "agent", "session": hold.get("session"), "state": hold.get("state"),
            "agent_id": hold.get("agent_id"), "task": hold.get("task"),
            "since": hold.get("since")}


def _needs(task: dict[str, Any], known: set[str]) -> set[str]:
    named = task.get("capability")
    if isinstance(named, str) and named:
        return {named.lower()}
    if isinstance(named, list):
        return {str(n).lower() for n in named}
    words = set(re.findall(r"[a-z0-9_-]+", f"{task['subject']} {task.get('description') or ''}"
                           .lower()))
    # "tests" in a capability list should match "test" in a subject, and back
    stems = {w.rstrip("s") for w in words}
    return {cap for cap in known if cap in words or cap.rstrip("s") in stems}


def suggestions(snap: Snapshot, load: list[dict[str, Any]] | None = None,
                limit: int = 5) -> list[dict[str, Any]]:
    load = tool_load(snap) if load is None else load
    known = {c.lower() for tool in load for c in tool["capabilities"]}
    doing: dict[str, int] = {}
    for task in snap.tasks:
        if task["column"] == "doing":
            doing[task["session"]] = doing.get(task["session"], 0) + 1
    sessions = sorted((s["session_id"] for s in snap.sessions if s["status"] == "active"),
                      key=lambda sid: (doing.get(sid, 0), natural_key(sid)))
    workers = [s for s in snap.sessions if s.get("role") == "worker"
               and s["status"] in ("active", "idle") and not doing.get(s["session_id"])]
    by_name = {t["name"]: t for t in load}
    out = []
    for task in snap.tasks:
        if task["column"] != "todo" or task.get("local") is not False or task.get("assignee"):
            continue  # session-local, or given to someone already
        named = task.get("needs")
        if isinstance(named, str) and named in by_name:
            needs = {named}
            tool = by_name[named] if by_name[named]["free"] > 0 else None
        else:
            needs = _needs(task, known)
            ranked = sorted(
                ((len(needs & {c.lower() for c in t["capabilities"]}), t) for t in load
                 if t["free"] > 0),
                key=lambda pair: (-pair[0], -pair[1]["free"], pair[1]["name"]))
            matches = [t for score, t in ranked if score or not needs]
            tool = matches[0] if matches else None
        fit = [w["session_id"] for w in workers
               if not named or named in (w.get("skills") or [])]
        run_in = fit[0] if fit else sessions[0] if sessions else None
        out.append({"session": task["session"], "task": task.get("ref") or task["id"],
                    "subject": task["subject"],
                    "needs": sorted(needs), "tool": tool["name"] if tool else None,
                    "free": tool["free"] if tool else 0, "run_in": run_in})
        if len(out) >= limit:
            break
    return out


ACTIVE_SPRINTS = frozenset({"active", "in_progress", "started", "current"})


def current_sprint(snap: Snapshot, wanted: str | None = None) -> dict[str, Any] | None:
    """``wanted``; else the current session's sprint; else the active one; else the next."""
    by_id = {s["id"]: s for s in snap.sprints}
    if wanted is not None:
        return by_id.get(wanted)
    session = snap.session_by_id(snap.session) or {}
    if session.get("current_sprint") in by_id:
        return by_id[session["current_sprint"]]
    for pick in (lambda s: s.get("status") in ACTIVE_SPRINTS,
                 lambda s: s.get("status") not in FINISHED_SPRINTS):
        found = next((s for s in snap.sprints if pick(s)), None)
        if found is not None:
            return found
    return snap.sprints[-1] if snap.sprints else None


def now_text(session: dict[str, Any]) -> str:
    """What a session line says it is doing: its task in progress, else what its hooks
    saw it do (``doing``); "no task in progress" only when nothing at all is known."""
    task, doing = session.get("current_task"), session.get("doing")
    state = session.get("activity")
    state = state.get("state") if isinstance(state, dict) else state
    if doing and (str(state).startswith("waiting") or not task):
        return doing  # what it waits for matters most; else its task says more
    return f"now: {task}" if task else "no task in progress"


def project_usage(snap: Snapshot) -> dict[str, Any]:
    """Tokens and cost of the project's sessions together (see :mod:`state.usage`)."""
    from state.usage import total_usage

    usages = [{"recorded": (s.get("tokens") or {}).get("recorded"),
               "total": (s.get("tokens") or {}).get("total"),
               "by_model": (s.get("tokens") or {}).get("by_model")} for s in snap.sessions]
    return total_usage(usages, snap.config.get("pricing") or {})


def usage_line(usage: dict[str, Any]) -> str:
    """``  tokens 12,345 in / ... · cost $0.0123`` for the project, or why there are none."""
    from state.usage import short_cost, token_count

    if not usage.get("sessions"):
        return "  tokens: none recorded (no transcript read, e.g. a replayed demo)"
    total = token_count(usage.get("total") or {})
    if not total:
        return "  tokens: none in the transcripts read so far"
    cost = usage.get("cost") or {}
    return (f"  tokens {total:,} in {usage['sessions']} session(s), cost {short_cost(cost)}"
            + (f" (no price: {', '.join(cost['unknown_models'][:2])})"
               if cost.get("unknown_models") else ""))
