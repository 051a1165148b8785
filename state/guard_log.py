"""The guard's decisions: what was stopped (or warned about), for whom, and why.

One line per decision in ``projects/<id>/guard.jsonl`` (append-only, rotated at
:data:`SEGMENT_BYTES`), written by the claims handler when a write or a git command
would take another live session's work::

    {"ts": 1795930000.1, "at": "...Z", "session": "<the session stopped>",
     "decision": "ask", "kind": "git", "tool": "Bash", "command": "git stash",
     "tool_use_id": "toolu_...",
     "others": [{"session": "<whose work>", "why": "has uncommitted changes there",
                 "files": ["src/cart.py (modified)"], "call": "git stash", "tree": "/repo"}]}

``decision`` is the policy's answer (``ask``, ``deny`` or ``warn``); ``kind`` is ``git``
(the git guard) or ``edit`` (a file another session changed). Commands are redacted
(:func:`state.redact.redact`) and cut to 300 characters. ``orchestra show``, the dashboard,
the web view and ``orchestra stats`` read them back with :func:`recent_decisions`.
"""

from __future__ import annotations

from state.clock import iso
from state.paths import project_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["GUARD_LOG", "count_decisions", "one_line", "recent_decisions", "record_decision"]

GUARD_LOG = "guard.jsonl"
SEGMENT_BYTES = 1_000_000


def record_decision(store: Storage, project: str, *, session: str, decision: str, kind: str,
                    tool: str, command: str, others: list[dict[str, Any]], at: float,
                    tool_use_id: str | None = None, note: str | None = None) -> None:
    from state.redact import redact  # only when a decision is logged

    record: dict[str, Any] = {"ts": round(at, 6), "at": iso(at), "session": session,
                              "decision": decision, "kind": kind, "tool": tool[:64],
                              "command": redact(command[:2000])[:300], "others": others[:20]}
    if tool_use_id:
        record["tool_use_id"] = tool_use_id[:200]
    if note:
        record["note"] = note[:300]
    store.append(project_key(project, GUARD_LOG), record, max_bytes=SEGMENT_BYTES)


def recent_decisions(store: Storage, projects: list[str], *, session: str | None = None,
                     since: float | None = None, limit: int | None = 20
                     ) -> list[dict[str, Any]]:
    """The newest decisions of ``projects`` (newest first, each with its ``project``);
    with ``session``, those that stopped it or were taken for its work."""
    found: list[dict[str, Any]] = []
    for project in projects:
        for record in store.read_log(project_key(project, GUARD_LOG)):
            ts = record.get("ts")
            if not isinstance(ts, int | float) or (since is not None and ts < since):
                continue
            listed = record.get("others")
            others: list[Any] = listed if isinstance(listed, list) else []
            if session is not None and record.get("session") != session and not any(
                    isinstance(o, dict) and o.get("session") == session for o in others):
                continue
            found.append({**record, "project": project, "others": others})
    found.sort(key=lambda r: -float(r["ts"]))
    return found if limit is None else found[:limit]


def count_decisions(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of ``records``: by decision, by kind, and for each session whose work was
    protected."""
    by_decision: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    protected: dict[str, int] = {}
    for record in records:
        decision = str(record.get("decision", "?"))
        kind = str(record.get("kind", "?"))
        by_decision[decision] = by_decision.get(decision, 0) + 1
        by_kind[kind] = by_kind.get(kind, 0) + 1
        for other in record.get("others") or []:
            if isinstance(other, dict) and isinstance(other.get("session"), str):
                protected[other["session"]] = protected.get(other["session"], 0) + 1
    return {"total": len(records), "by_decision": by_decision, "by_kind": by_kind,
            "protected_sessions": protected}


def one_line(record: dict[str, Any]) -> str:
    """``ask git stash: session X stopped for Y (src/cart.py ...)``: for views."""
    others = [o for o in record.get("others") or [] if isinstance(o, dict)]
    whom = ", ".join(dict.fromkeys(str(o.get("session", "?")) for o in others)) or "?"
    files = [f for o in others for f in (o.get("files") or []) if isinstance(f, str)]
    detail = f" ({', '.join(files[:3])}{' ...' if len(files) > 3 else ''})" if files else ""
    return (f"{record.get('decision', '?')} {str(record.get('command', ''))[:60]}: "
            f"{record.get('session', '?')} stopped for {whom}{detail}")
