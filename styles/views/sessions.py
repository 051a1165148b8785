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
from styles.views.layout import columns, fit, short_time
from styles.views.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "text"]

DETAIL_TASKS = 10
DETAIL_MESSAGES = 5


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
                  "agents": [a for a in snap.agents if a["session"] == snap.session],
                  "messages": snap.messages_of(snap.session, DETAIL_MESSAGES)}
    return {**base(snap, "sessions"), "sessions": rows, "detail": detail,
            "usage": analysis.project_usage(snap)}


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
        name = f"claude {s['claude_name']}" if s.get("claude_name") else ""
        cost = _cost(s)
        role = ""
        if s.get("role") not in (None, "peer"):
            role = f"role {s['role']}" + (f" ({', '.join(s['skills'])})" if s.get("skills")
                                          else "")
        if model or name or where or cost or role:
            box.line("    " + "   ".join(part for part in (model, name, where, role, cost)
                                         if part))
        box.line("    " + analysis.now_text(s))
    if not rows:
        box.line("  No sessions yet: each appears with its first hook event.")
    else:
        box.line(analysis.usage_line(data.get("usage") or {}))
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
                              (f"#{t['id']}", 8), (t["subject"], 47),
                              (t["status"] if t["column"] != "doing" or not t.get("progress")
                               else f"{t['progress']}% done", 11)]))
        if len(detail["tasks"]) > DETAIL_TASKS:
            box.line(f"  + {len(detail['tasks']) - DETAIL_TASKS} more (/tasks)")
        box.line(f"agents ({len(detail['agents'])})")
        for a in detail["agents"]:
            box.line(columns([("", 1), (mark(AGENT_MARK, a["status"]), 1),
                              (a["type"], 18), (short_id(a["id"], 20), 20),
                              (a["task"] or a["status"], 30)]))
        _activity(box, s)
        messages = detail.get("messages") or []
        if messages:
            box.line(f"messages ({len(messages)} latest)")
            for m in messages:
                box.line("  " + _message(m, s["session_id"]))
    return box.text()


def _cost(s: dict[str, Any]) -> str:
    from state.usage import short_cost, token_count

    tokens = s.get("tokens") or {}
    if not tokens.get("recorded") or not token_count(tokens.get("total") or {}):
        return ""
    return f"tokens {token_count(tokens['total']):,}, cost {short_cost(s.get('cost'))}"


def _activity(box: Any, s: dict[str, Any]) -> None:
    """What the session is doing, asked, changed and answered, each with its time."""
    activity = s.get("activity") or {}
    box.line(f"activity: {activity.get('label', '?')} since "
             f"{short_time(activity.get('since'))}")
    wait = activity.get("waiting")
    if wait:
        what = (f"{wait['tool']}: {wait.get('description') or ''}".rstrip(": ")
                if wait.get("tool") else wait.get("message") or wait.get("source"))
        box.para(f"waits for {wait.get('for')}: {what}", indent=2, lines=2)
    for call in activity.get("running") or []:
        box.para(f"running {call.get('tool')}: {call.get('description') or '-'} "
                 f"(since {short_time(call.get('at'))[11:]})", indent=2, lines=2)
    for key, label in (("prompt", "asked"), ("answer", "answered")):
        item = activity.get(key)
        if item:
            sender = f"message from {item['from']}: " if item.get("from") else ""
            box.para(f"{label} {short_time(item.get('at'))[11:]}: {sender}{item.get('text')}",
                     indent=2, lines=2)
    files = activity.get("files")
    if files:
        more = int(files.get("count", 0)) - len(files["paths"][:4])
        box.para(f"changed {short_time(files.get('at'))[11:]}: "
                 + ", ".join(files["paths"][:4]) + (f" +{more} more" if more > 0 else ""),
                 indent=2, lines=2)
    tokens = s.get("tokens") or {}
    if _cost(s):
        from state.activity import tokens_text

        box.para(f"tokens main {tokens_text(tokens.get('main'))}", indent=2, lines=2)
        if tokens.get("subagents"):
            box.para(f"tokens subagents {tokens_text(tokens.get('subagents'))}", indent=4,
                     lines=2)
        box.line(f"  {_cost(s)}")
    elif tokens.get("recorded"):
        box.line("  tokens: none in the transcripts read so far")
    else:
        box.line("  tokens: none recorded (no transcript read)")


def _message(m: dict[str, Any], sid: str) -> str:
    raw = m.get("to")
    to: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if m.get("via") == "claude-code":
        way = "sent" if m.get("from") == sid else "received"
        peer = to.get("claude_code") if way == "sent" else (m.get("from_name") or m.get("from"))
        return fit(f"{short_time(m.get('at'))[11:]} via Claude Code, {way} "
                   f"{'to' if way == 'sent' else 'from'} {peer}: "
                   f"{m.get('summary') or m.get('text')}"
                   + ("" if m.get("sent", True) else " (not sent)"), 72)
    return fit(f"{short_time(m.get('at'))[11:]} from {m.get('from')}: {m.get('text')}", 72)
