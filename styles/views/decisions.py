"""``decisions``: the project's decision log, newest first, with rationale and who agreed."""

from __future__ import annotations

from styles.views.common import base, header, no_project
from styles.views.layout import short_time
from styles.views.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "text"]

MAX_SHOWN = 20


def build(snap: Snapshot) -> dict[str, Any]:
    decisions = [{k: d.get(k) for k in ("id", "at", "title", "rationale", "by", "status")}
                 for d in reversed(snap.decisions)]
    counts: dict[str, int] = {}
    for d in decisions:
        counts[str(d["status"])] = counts.get(str(d["status"]), 0) + 1
    return {**base(snap, "decisions"), "total": len(decisions),
            "by_status": dict(sorted(counts.items())), "decisions": decisions}


def text(data: dict[str, Any]) -> str:
    box = header(data, "DECISIONS")
    summary = "  ".join(f"{n} {status}" for status, n in data["by_status"].items())
    box.section(f"DECISIONS ({data['total']})", summary)
    for i, d in enumerate(data["decisions"][:MAX_SHOWN]):
        if i:
            box.line()
        box.split(f"[{d['status']}] {d['title']}", short_time(d["at"])[:10])
        box.para(f"why: {d['rationale'] or '-'}", indent=2, lines=3)
        by = ", ".join(str(b) for b in d["by"] or []) or "-"
        box.line(f"  by: {by}   ({d['id']})")
    if data["total"] > MAX_SHOWN:
        box.line(f"+ {data['total'] - MAX_SHOWN} older (--json lists all)")
    if not data["decisions"]:
        if data["project"] is None:
            no_project(box)
        else:
            box.line("No decisions yet: orchestra shared decide "
                     f"{data['project']} --title T --rationale R --by NAME")
    return box.text()
