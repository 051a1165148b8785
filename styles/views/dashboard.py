"""``dashboard``: the team at a glance — sessions, tasks, sprint, agents, tools, blockers."""

from __future__ import annotations

from styles.views import analysis
from styles.views.common import (
    AGENT_MARK,
    SESSION_MARK,
    base,
    header,
    mark,
    short_id,
    who_runs,
)
from styles.views.layout import bar, columns, fit
from styles.views.snapshot import COLUMNS, Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "text"]

MAX_ROWS = 6
STATUSES = ("active", "idle", "stale", "ended")


def build(snap: Snapshot) -> dict[str, Any]:
    by_status = {s: sum(1 for x in snap.sessions if x["status"] == s) for s in STATUSES}
    by_column = {key: sum(1 for t in snap.tasks if t["column"] == key) for key, _, _ in COLUMNS}
    speed = analysis.velocity(snap)
    sprint = analysis.current_sprint(snap)
    row = next((r for r in speed["sprints"] if sprint and r["sprint"] == sprint["id"]), None)
    busy = [a for a in snap.agents if a["status"] in ("busy", "starting")]
    latest = snap.decisions[-1] if snap.decisions else None
    guard = {}
    if snap.guard:  # only when the guard stopped something (the layout stays as it was)
        from state.guard_log import count_decisions

        guard = {"guard": {**count_decisions(snap.guard), "recent": [
            {k: d.get(k) for k in ("at", "decision", "kind", "command", "session", "others")}
            for d in snap.guard[:MAX_ROWS]]}}
    return {
        **base(snap, "dashboard"),
        "sessions": {"total": len(snap.sessions), "by_status": by_status,
                     "waiting": sum(1 for x in snap.sessions
                                    if str((x.get("activity") or {}).get("state", "")
                                           ).startswith("waiting")),
                     "list": [{**{k: s.get(k) for k in ("session_id", "status", "mode",
                                                        "agent", "model", "last_heartbeat",
                                                        "idle_seconds", "current_task",
                                                        "active_agents", "claude_name",
                                                        "doing", "cost", "role")},
                               "activity": (s.get("activity") or {}).get("state"),
                               "tokens": (s.get("tokens") or {}).get("total")}
                              for s in snap.sessions]},
        "usage": analysis.project_usage(snap),
        "tasks": {"total": len(snap.tasks), "by_column": by_column},
        "sprint": row,
        "velocity": {k: speed[k] for k in ("unit", "average", "trend", "finished")},
        "agents": {"total": len(snap.agents), "busy": busy},
        "tools": analysis.tool_load(snap),
        "blockers": analysis.blockers(snap),
        "decisions": {"total": len(snap.decisions),
                      "latest": latest and {k: latest.get(k) for k in ("id", "at", "title")}},
        **guard,
    }


def _now(session: dict[str, Any]) -> str:
    """What the session does, after its role when it has one (``[worker] now: T-3 ...``)."""
    now = analysis.now_text(session)
    role = session.get("role")
    return f"[{role}] {now}" if role not in (None, "peer") else now


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def text(data: dict[str, Any]) -> str:
    box = header(data, "DASHBOARD")
    sessions = data["sessions"]
    counts = "  ".join(f"{sessions['by_status'][s]} {s}" for s in STATUSES)
    box.section("SESSIONS", f"{sessions['total']} total: {counts}")
    for s in sessions["list"][:MAX_ROWS]:
        here = ">" if s["session_id"] == data["session"] else " "
        box.line(columns([(f"{here} {mark(SESSION_MARK, s['status'])}", 3),
                          (short_id(s["session_id"], 20), 20), (s["status"], 7),
                          (who_runs(s, with_model=False), 6), (_now(s), 34)]))
    if len(sessions["list"]) > MAX_ROWS:
        box.line(f"  + {len(sessions['list']) - MAX_ROWS} more (/sessions)")
    if not sessions["list"]:
        box.line("  No sessions yet: each appears with its first hook event.")
    elif sessions.get("waiting"):
        box.line(f"  {sessions['waiting']} waiting for a person (orchestra who --waiting)")
    box.line(analysis.usage_line(data["usage"]))

    tasks = data["tasks"]
    cols = tasks["by_column"]
    box.section("TASKS", f"{tasks['total']} total")
    box.line("   ".join(f"{title.lower()} {cols[key]}" for key, title, _ in COLUMNS))
    box.line(bar(cols["done"], tasks["total"]) + " done")

    row = data["sprint"]
    speed = data["velocity"]
    if row:
        dates = f"{row['start'] or '?'} .. {row['end'] or '?'}"
        box.section(f"SPRINT {row['sprint']} {row['title'] or ''}".rstrip(),
                    f"{row['status']}  {dates}")
        box.line(f"points {_num(row['points_completed'])}/{_num(row['points_planned'])}   "
                 f"tasks {row['tasks_completed']}/{row['tasks_total']}")
    else:
        box.section("SPRINT", "none planned")
    box.line(f"velocity {_num(speed['average'])} {speed['unit']}/sprint over "
             f"{speed['finished']} finished, trend {speed['trend']}")

    agents = data["agents"]
    box.section("AGENTS", f"{len(agents['busy'])} busy of {agents['total']}")
    for a in agents["busy"][:MAX_ROWS]:
        box.line(columns([(f"  {mark(AGENT_MARK, a['status'])}", 3), (a["type"], 18),
                          (short_id(a["id"], 18), 18), (short_id(a["session"], 14), 14),
                          (a["task"] or "", 16)]))
    tools = data["tools"]
    box.section("TOOLS", f"{sum(t['free'] for t in tools)} free instances")
    for t in tools[:MAX_ROWS]:
        box.line(columns([("", 1), (t["name"], 24), (f"{t['busy']}/{t['max_instances']} busy", 10),
                          (", ".join(t["capabilities"]), 36)]))
    if not tools:
        box.line("  No tools registered (orchestra shared register-tool --help).")

    blocked = data["blockers"]
    box.section(f"BLOCKERS ({len(blocked)})")
    for b in blocked[:MAX_ROWS]:
        box.line(fit(f"  ! {short_id(b['session'], 14)} #{b['task']} {b['subject']}: "
                     f"{b['reason']}", 74))
    if not blocked:
        box.line("  none")
    decisions = data["decisions"]
    latest = decisions["latest"]
    box.section("DECISIONS", f"{decisions['total']} recorded")
    if latest:
        box.line(f"  latest: {latest['title']}")
    guard = data.get("guard")
    if guard:
        from state.guard_log import one_line

        counts = ", ".join(f"{n} {d}" for d, n in sorted(guard["by_decision"].items()))
        box.section("GUARD (last 24h)", f"{guard['total']} stopped: {counts}")
        for decision in guard["recent"][:3]:
            box.line(fit("  ! " + one_line(decision), 74))
    box.section("/members  /sessions  /board  @session|agent|tool  #sprint|epic")
    return box.text()
