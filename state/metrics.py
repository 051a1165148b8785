"""Per-session metrics, derived from the event log when read.

Counting on the hot path would turn every tool call into a read-modify-write of
a shared document (a lock, an fsync, contention between parallel hooks). The
event log already holds one line per event, appended in O(1), so metrics are
computed from it when someone asks — the CLI, a style, the dashboard. Token
usage is the exception: it lives in the transcript and is read incrementally
on Stop into ``usage.json`` (see :mod:`handlers.metrics`).
"""

from __future__ import annotations

from state.paths import session_key
from state.persistence.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["compute_metrics", "session_metrics"]


def compute_metrics(records: Any) -> dict[str, Any]:
    """Fold event-log records into counters."""
    tools: dict[str, dict[str, Any]] = {}
    pre_times: dict[str, float] = {}
    counts = {"events": 0, "prompts": 0, "tool_calls": 0, "failures": 0, "interrupts": 0,
              "denials": 0, "compactions": 0, "subagents": 0, "stops": 0}
    for r in records:
        counts["events"] += 1
        name = r.get("event")
        tool = r.get("tool")
        if name == "UserPromptSubmit":
            counts["prompts"] += 1
        elif name == "PreToolUse":
            if r.get("tool_use_id") and isinstance(r.get("ts"), int | float):
                pre_times[r["tool_use_id"]] = r["ts"]
            if r.get("decision") == "deny":
                counts["denials"] += 1
        elif name in ("PostToolUse", "PostToolUseFailure") and tool:
            counts["tool_calls"] += 1
            entry = tools.setdefault(tool, {"calls": 0, "failures": 0, "total_ms": 0.0,
                                            "max_ms": 0.0, "timed": 0})
            entry["calls"] += 1
            if name == "PostToolUseFailure":
                counts["failures"] += 1
                entry["failures"] += 1
                if (r.get("summary") or {}).get("is_interrupt") is True:
                    counts["interrupts"] += 1
            duration = r.get("duration_ms")
            if not isinstance(duration, int | float):
                start = pre_times.pop(r.get("tool_use_id") or "", None)
                if start is not None and isinstance(r.get("ts"), int | float):
                    duration = (r["ts"] - start) * 1000
            if isinstance(duration, int | float):
                entry["total_ms"] += duration
                entry["max_ms"] = max(entry["max_ms"], duration)
                entry["timed"] += 1
        elif name == "PermissionDenied":
            counts["denials"] += 1
        elif name == "PreCompact":
            counts["compactions"] += 1
        elif name == "SubagentStart":
            counts["subagents"] += 1
        elif name == "Stop":
            counts["stops"] += 1
    for entry in tools.values():
        timed = entry.pop("timed")
        entry["avg_ms"] = round(entry["total_ms"] / timed, 1) if timed else None
        entry["total_ms"] = round(entry["total_ms"], 1)
        entry["max_ms"] = round(entry["max_ms"], 1)
    return {**counts, "tools": dict(sorted(tools.items()))}


def session_metrics(store: Storage, session_id: str) -> dict[str, Any]:
    """Counters from the event log plus token usage from ``usage.json``."""
    metrics = compute_metrics(store.read_log(session_key(session_id, "events.jsonl")))
    usage = store.read(session_key(session_id, "usage.json")) or {}
    metrics["tokens"] = usage.get("tokens", {})
    if usage.get("by_model"):
        metrics["tokens_by_model"] = usage["by_model"]
    return metrics
