"""``board``: the kanban board (one column per status group), blockers and suggestions."""

from __future__ import annotations

from styles.views import analysis
from styles.views.common import base, header, short_id
from styles.views.layout import WIDTH, Box, columns, fit, pad, wrap
from styles.views.snapshot import COLUMNS, Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "text"]

#: Column widths (border to border, without the borders): 5 borders + 73 = 78.
WIDTHS = (18, 18, 18, 19)
MAX_CARDS = 6


def build(snap: Snapshot) -> dict[str, Any]:
    load = analysis.tool_load(snap)
    return {
        **base(snap, "board"),
        "columns": [{"key": key, "title": title,
                     "tasks": [t for t in snap.tasks if t["column"] == key]}
                    for key, title, _ in COLUMNS],
        "blockers": analysis.blockers(snap),
        "suggestions": analysis.suggestions(snap, load),
        "tools": load,
        "blocker_idle_seconds": analysis.blocker_idle_seconds(snap.config),
    }


def _card(task: dict[str, Any], cells: int) -> list[str]:
    """``#T-3 title`` (a session-local task: ``#<session>:<id>``), then who has it:
    ``@session 40%``, ``@tool (tool)``, ``unassigned``, ``back from <session>``."""
    lines = wrap(f"#{task.get('ref') or task['id']} {task['subject']}", cells, lines=3)
    who = task.get("assignee") or task.get("session")
    if task.get("local") is False and not task.get("assignee"):
        returned = task.get("returned")
        meta = (f"back from {short_id(returned.get('from'), cells - 10)}"
                if isinstance(returned, dict) else "unassigned")
        if task.get("needs"):
            meta = fit(f"{meta}, needs {task['needs']}", cells)
    else:
        meta = f"@{short_id(who, cells - 1)}"
        if task.get("assignee_type") == "tool" and task.get("local") is False:
            meta = fit(f"{meta} (tool)", cells)
    if task["column"] == "doing" and task.get("progress"):
        meta = fit(f"{meta} {task['progress']}%", cells)
    if task["status"] not in ("pending", "in_progress", "blocked", "completed", "done"):
        meta = fit(f"{meta} ({task['status']})", cells)
    return [*lines, meta]


def _cells(column: dict[str, Any], cells: int) -> list[str]:
    out: list[str] = []
    for task in column["tasks"][:MAX_CARDS]:
        if out:
            out.append("")
        out.extend(_card(task, cells))
    hidden = len(column["tasks"]) - MAX_CARDS
    if hidden > 0:
        out.extend(["", f"+ {hidden} more"])
    return out


def _row(texts: list[str]) -> str:
    return "|" + "|".join(" " + pad(t, w - 2) + " " for t, w in zip(texts, WIDTHS, strict=True)) \
        + "|"


def _grid(box: Box, data: dict[str, Any]) -> None:
    separator = "+" + "+".join("-" * w for w in WIDTHS) + "+"
    assert len(separator) == WIDTH
    box.lines[-1] = separator
    box.raw(_row([f"{c['title']} ({len(c['tasks'])})" for c in data["columns"]]))
    box.raw(separator)
    stacks = [_cells(c, w - 2) for c, w in zip(data["columns"], WIDTHS, strict=True)]
    height = max((len(s) for s in stacks), default=0)
    if height == 0:
        stacks, height = [["(empty)"] for _ in stacks], 1
    for i in range(height):
        box.raw(_row([s[i] if i < len(s) else "" for s in stacks]))
    box.rule()


def text(data: dict[str, Any]) -> str:
    box = header(data, "BOARD").rule()
    _grid(box, data)
    blocked = data["blockers"]
    box.section(f"BLOCKERS ({len(blocked)})",
                f"idle limit {int(data['blocker_idle_seconds'])}s")
    for b in blocked:
        box.para(f"! @{short_id(b['session'], 18)} #{b['task']} {b['subject']}: {b['reason']}",
                 indent=2, lines=2)
    if not blocked:
        box.line("  none")
    hints = data["suggestions"]
    box.section("SUGGESTED ASSIGNMENTS", "free tool; idle worker, else least busy")
    for s in hints:
        tool, free = (s["tool"], f"{s['free']} free") if s["tool"] else (
            "none free: " + (", ".join(s["needs"]) or "any"), "")
        where = f"@{short_id(s['run_in'], 11)}" if s["run_in"] else "no active session"
        box.line(columns([("", 1), (f"#{s['task']}", 4), (s["subject"], 22), ("->", 2),
                          (tool, 21), (free, 6), (where, 12)]))
    if not hints:
        box.line("  nothing waiting to be assigned")
    return box.text()
