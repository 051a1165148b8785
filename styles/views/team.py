"""``team``: members with their roles, tools with their load, agents of every session."""

from __future__ import annotations

from styles.views import analysis
from styles.views.common import (
    AGENT_MARK,
    SESSION_MARK,
    base,
    header,
    legend,
    mark,
    no_project,
    short_id,
)
from styles.views.layout import columns
from styles.views.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "text"]

MAX_AGENTS = 12


def build(snap: Snapshot) -> dict[str, Any]:
    members = [{"name": m["id"], "role": m.get("role"), "tools": list(m.get("tools") or []),
                "capabilities": list(m.get("capabilities") or [])} for m in snap.team]
    agents = sorted(snap.agents, key=lambda a: (a["status"] not in ("busy", "starting"),
                                                a["session"], a["id"]))
    roles = [{"session_id": s["session_id"], "role": s.get("role"), "status": s["status"],
              "skills": list(s.get("skills") or []), "scope": s.get("scope"),
              "current_task": s.get("current_task")}
             for s in snap.sessions if s.get("role") not in (None, "peer")]
    return {**base(snap, "team"), "members": members, "tools": analysis.tool_load(snap),
            "agents": agents, "roles": roles}


def text(data: dict[str, Any]) -> str:
    box = header(data, "TEAM")
    members = data["members"]
    box.section(f"MEMBERS ({len(members)})", "role / tools / capabilities")
    for m in members:
        box.line(columns([("", 1), (m["name"], 16), (m["role"] or "-", 14),
                          (", ".join(m["tools"]) or "-", 22),
                          (", ".join(m["capabilities"]) or "-", 17)]))
    if not members:
        if data["project"] is None:
            no_project(box)
        else:
            box.line(f"  No members: orchestra shared set-member {data['project']}"
                     " NAME --role ROLE")
    roles = data.get("roles") or []
    if roles:
        box.section(f"ROLES ({len(roles)})", "orchestrators, coordinators, workers")
        for r in roles[:MAX_AGENTS]:
            scope = ", ".join(f"{k} {v}" for k, v in (r.get("scope") or {}).items())
            box.line(columns([("", 1), (mark(SESSION_MARK, r["status"]), 1),
                              (short_id(r["session_id"], 20), 20), (r["role"], 12),
                              (scope or ", ".join(r["skills"]) or "-", 16),
                              (r["current_task"] or "no task", 22)]))
    tools = data["tools"]
    box.section(f"TOOLS ({len(tools)})", "busy/max instances, free, capabilities")
    for t in tools:
        box.line(columns([("", 1), (t["name"], 24), (f"{t['busy']}/{t['max_instances']}", 5),
                          (f"{t['free']} free", 7), (", ".join(t["capabilities"]) or "-", 33)]))
        for h in t.get("holders", [])[:3]:
            what = (f"task {h['task']} ({h.get('status')})" if h["kind"] == "task"
                    else f"subagent {h.get('state') or ''}".rstrip())
            box.line(f"      busy: {what} @{short_id(h.get('session'), 24)}")
    if not tools:
        box.line("  No tools registered (orchestra shared register-tool --help).")
    agents = data["agents"]
    box.section(f"AGENTS ({len(agents)})", legend("agent"))
    for a in agents[:MAX_AGENTS]:
        box.line(columns([("", 1), (mark(AGENT_MARK, a["status"]), 1), (a["type"], 18),
                          (short_id(a["id"], 18), 18), (f"@{short_id(a['session'], 14)}", 15),
                          (a["task"] or a["status"], 16)]))
    if len(agents) > MAX_AGENTS:
        box.line(f"  + {len(agents) - MAX_AGENTS} more (--json lists all)")
    if not agents:
        box.line("  No subagents have run yet.")
    return box.text()
