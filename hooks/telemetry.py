"""Handler telemetry: what each handler cost, and how much context it put into Claude's.

Every dispatch of a session appends one line to ``sessions/<id>/stats.jsonl`` (a single
``O_APPEND`` write, no lock, no document rewritten; rotated like the event log)::

    {"ts": 1795930000.1, "event": "PreToolUse", "tool": "Bash", "ms": 3.2,
     "h": [["session", "on_event", 0.41, "", 0], ["claims", "on_pre_tool_use", 1.2, "", 180]]}

``h`` holds one entry per handler call: plugin, hook, milliseconds, status (``""`` ok,
``error``, ``overrun`` or ``skipped`` when the budget was used up) and the characters of
context its answer carried (``additionalContext``, a block ``reason``, a
``permissionDecisionReason``: what Claude reads, and pays for in tokens). ``orchestra
stats`` reads these lines back.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.storage import Storage

__all__ = ["MAX_BYTES", "STATS_LOG", "context_chars", "record"]

STATS_LOG = "stats.jsonl"
MAX_BYTES = 5_000_000


def context_chars(reply: Any) -> int:
    """Characters of ``reply`` that reach Claude's context."""
    if not isinstance(reply, dict):
        return 0
    total = 0
    reason = reply.get("reason")
    if isinstance(reason, str):
        total += len(reason)
    specific = reply.get("hookSpecificOutput")
    if isinstance(specific, dict):
        for key in ("additionalContext", "permissionDecisionReason"):
            value = specific.get(key)
            if isinstance(value, str):
                total += len(value)
    return total


def record(store: Storage, session_id: str, event: str, tool: str | None,
           calls: list[tuple[str, str, float, str, int]], seconds: float, at: float) -> None:
    """Append the line of one dispatch (see the module docstring)."""
    from state.paths import session_key

    line: dict[str, Any] = {"ts": round(at, 3), "event": event}
    if tool:
        line["tool"] = tool[:100]
    line["ms"] = round(seconds * 1000, 2)
    line["h"] = [[plugin, hook, round(spent * 1000, 2), status, chars]
                 for plugin, hook, spent, status, chars in calls]
    store.append(session_key(session_id, STATS_LOG), line, max_bytes=MAX_BYTES)
