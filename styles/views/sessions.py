"""``sessions``: every session of the project; the current one (``--session``) in detail."""

from __future__ import annotations

from styles.views import analysis
from styles.views.common import (
    AGENT_MARK,
    SESSION_MARK,
    TASK_MARK,
    base,
    header,
    legend,
    mark,
    short_id,
    who_runs,
)
from styles.views.layout import columns, short_time
from styles.views.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "text"]

DETAIL_TASKS = 10


def build(snap: Snapshot) -> dict[str, Any]:
    rows = []
    for s in snap.sessions:
        tasks = [t for t in snap.tasks if t["session"] == s["session_id"]]
        rows.append({**s,
                     "tasks_total": len(tasks),
                     "tasks_done": sum(1 for t in tasks if t["column"] == "done"),
                     "agents_busy": sum(1 for a in snap.agents
                                        if a["session"] == s["session_id"]
                                        and a["status"] in ("busy", "starting"))})
    detail = None
    current = snap.session_by_id(snap.session)
    if current is not None:
        detail = {"summary": current,
                  "tasks": [t for t in snap.tasks if t["session"] == snap.session],
                  "agents": [a for a in snap.agents if a["session"] == snap.session]}
    return {**base(snap, "sessions"), "sessions": rows, "detail": detail}


def text(data: dict[str, Any]) -> str:
    box = header(data, "SESSIONS")
    rows = data["sessions"]
    box.section(f"SESSIONS ({len(rows)})", legend("session"))
    for s in rows:
        here = ">" if s["session_id"] == data["session"] else " "
        box.line(columns([(f"{here} {mark(SESSION_MARK, s['status'])}", 3),
                          (s["session_id"], 40), (s["status"], 6),
                          (f"seen {analysis.duration(s['idle_seconds'])} ago", 21)]))
        inbox = s.get("messages_pending")
        box.line(columns([("", 3), (who_runs(s, with_model=False), 11),
                          (f"tasks {s['tasks_done']}/{s['tasks_total']} done", 15),
                          (f"agents {s['agents_busy']} busy", 13),
                          (f"inbox {inbox}" if inbox is not None else "", 8),
                          (short_time(s["last_heartbeat"]), 19)]))
        where = f"on {s['machine']}" if s.get("machine") else ""
        model = f"model {who_runs(s).split(' ', 1)[1]}" if s.get("agent") else ""
        if s["current_task"] or where or model:
            now = f"now: {s['current_task']}" if s["current_task"] else ""
            box.line("    " + "   ".join(part for part in (model, where, now) if part))
    if not rows:
        box.line("  No sessions yet: each appears with its first hook event.")
    detail = data["detail"]
    if detail:
        s = detail["summary"]
        box.section(f"SESSION {s['session_id']}", s["status"])
        runs = (f"{who_runs(s, with_model=False)}, model {who_runs(s).split(' ', 1)[1]}"
                if s.get("agent") else f"mode {s['mode'] or '-'}")
        box.line(f"project {s['project'] or '-'}   {runs}   created {short_time(s['created_at'])}")
        box.line(f"sprint {s['current_sprint'] or '-'}   epic {s['current_epic'] or '-'}   "
                 f"last event {s['last_event'] or '-'} {s['last_tool'] or ''}".rstrip()
                 + (f"   machine {s['machine']}" if s.get("machine") else ""))
        box.line(f"tasks ({len(detail['tasks'])})")
        for t in detail["tasks"][:DETAIL_TASKS]:
            box.line(columns([("", 1), (mark(TASK_MARK, t["column"]), 3),
                              (f"#{t['id']}", 8), (t["subject"], 47), (t["status"], 11)]))
        if len(detail["tasks"]) > DETAIL_TASKS:
            box.line(f"  + {len(detail['tasks']) - DETAIL_TASKS} more (/tasks)")
        box.line(f"agents ({len(detail['agents'])})")
        for a in detail["agents"]:
            box.line(columns([("", 1), (mark(AGENT_MARK, a["status"]), 1),
                              (a["type"], 18), (short_id(a["id"], 20), 20),
                              (a["task"] or a["status"], 30)]))
    return box.text()
