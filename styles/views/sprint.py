"""``sprint``: one sprint (``--sprint``, else the current one), its epics, velocity, blockers."""

from __future__ import annotations

from styles.views import analysis
from styles.views.common import TASK_MARK, base, header, no_project, short_id
from styles.views.layout import bar, columns
from styles.views.snapshot import Snapshot, column_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "text"]


def build(snap: Snapshot) -> dict[str, Any]:
    sprint = analysis.current_sprint(snap, snap.sprint)
    speed = analysis.velocity(snap)
    row = next((r for r in speed["sprints"] if sprint and r["sprint"] == sprint["id"]), None)
    epics = []
    if sprint is not None:
        wanted = set(sprint.get("epics") or [])
        epics = [{"id": e["id"], "title": e.get("title"), "status": e.get("status"),
                  "points": e.get("points")}
                 for e in snap.epics if e.get("sprint") == sprint["id"] or e["id"] in wanted]
    tasks = [t for t in snap.tasks if sprint and t["sprint"] == sprint["id"]]
    return {
        **base(snap, "sprint"),
        "sprint": sprint and {k: sprint.get(k) for k in ("id", "title", "status", "goal",
                                                          "start", "end", "epics")},
        "progress": row,
        "epics": epics,
        "tasks": tasks,
        "velocity": speed,
        "blockers": [b for b in analysis.blockers(snap)
                     if any(t["session"] == b["session"] and (t.get("ref") or t["id"]) == b["task"]
                            for t in tasks)],
    }


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def text(data: dict[str, Any]) -> str:
    box = header(data, "SPRINT")
    sprint, row = data["sprint"], data["progress"]
    if sprint is None:
        box.section("SPRINT", "none")
        if data["project"] is None:
            no_project(box)
        else:
            box.line("No sprints yet: orchestra shared update-sprint "
                     f"{data['project']} SPRINT --status active")
    else:
        box.section(f"SPRINT {sprint['id']} {sprint['title'] or ''}".rstrip(),
                    sprint["status"] or "")
        box.line(f"dates {sprint['start'] or '?'} .. {sprint['end'] or '?'}")
        if sprint["goal"]:
            box.para(f"goal: {sprint['goal']}", lines=2)
        planned, done = row["points_planned"], row["points_completed"]
        box.line(f"points {_num(done)}/{_num(planned)}  " + bar(done or 0, planned or 0))
        box.line(f"tasks  {row['tasks_completed']}/{row['tasks_total']}  "
                 + bar(row["tasks_completed"], row["tasks_total"]))
        box.section(f"EPICS ({len(data['epics'])})")
        for e in data["epics"]:
            box.line(columns([("", 1), (TASK_MARK[column_of(e["status"])], 3), (e["id"], 20),
                              (e["title"] or "", 30), (e["status"] or "", 11),
                              (f"{_num(e['points'])} pt", -4)]))
        if not data["epics"]:
            box.line("  none")
    speed = data["velocity"]
    box.section("VELOCITY", f"{_num(speed['average'])} {speed['unit']}/sprint, "
                            f"trend {speed['trend']}")
    box.line(columns([("", 1), ("sprint", 18), ("status", 11), ("points", -9),
                      ("tasks", -7), ("dates", 22)]))
    for r in speed["sprints"]:
        here = ">" if sprint and r["sprint"] == sprint["id"] else " "
        box.line(columns([(here, 1), (r["sprint"], 18), (r["status"] or "", 11),
                          (f"{_num(r['points_completed'])}/{_num(r['points_planned'])}", -9),
                          (f"{r['tasks_completed']}/{r['tasks_total']}", -7),
                          (f"{r['start'] or '?'}..{r['end'] or '?'}", 22)]))
    if not speed["sprints"]:
        box.line("  no sprints")
    blocked = data["blockers"]
    box.section(f"BLOCKERS ({len(blocked)})")
    for b in blocked:
        box.para(f"! @{short_id(b['session'], 18)} #{b['task']} {b['subject']}: {b['reason']}",
                 indent=2, lines=2)
    if not blocked:
        box.line("  none")
    return box.text()
