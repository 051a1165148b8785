"""The event log: one line per event in ``sessions/<id>/events.jsonl``.

Written after the reply is merged (``after_dispatch``) so the record carries the
decision Orchestra sent (deny/ask/block), which the metrics count. Each record:
``ts`` (epoch seconds), ``t`` (ISO time), ``event``, ``tool``, ``tool_use_id``,
``agent_id``, ``duration_ms``, ``decision`` and ``summary`` — the event's own
fields, redacted and truncated (:func:`state.redact.summarize`). A single
``O_APPEND`` write per event: O(1), and safe under parallel hooks.

Which events it records is the setting ``event_log.events``: ``"all"`` (the default:
every event Claude Code sends that Orchestra registers) or a list of event names. A
list also narrows what ``orchestra install`` registers: an event that neither the log
nor another enabled handler needs starts no process (:func:`covered`).
"""

from __future__ import annotations

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

#: Fields every payload has; they are not repeated in the summary.
COMMON_FIELDS = frozenset({
    "session_id", "transcript_path", "cwd", "prompt_id", "permission_mode", "agent_id",
    "agent_type", "effort", "hook_event_name", "tool_name", "tool_use_id", "duration_ms",
})
#: Tool output is the bulk of most payloads: keep less of it.
RESPONSE_CHARS = 500
#: ``event_log.events``: every event.
ALL = "all"


def covered(config: dict[str, Any]) -> tuple[str, ...] | None:
    """The events ``event_log.events`` names (None: every event)."""
    section = config.get("event_log")
    events = section.get("events", ALL) if isinstance(section, dict) else ALL
    if isinstance(events, list):
        return tuple(e for e in events if isinstance(e, str))
    return None


def build_record(event: Event, reply: dict[str, Any] | None, now: float,
                 field_chars: int) -> dict[str, Any]:
    from state.clock import iso
    from state.redact import summarize

    raw = event.raw
    record: dict[str, Any] = {"ts": round(now, 6), "t": iso(now), "event": event.name}
    for key, field in (("tool", "tool_name"), ("tool_use_id", "tool_use_id"),
                       ("agent_id", "agent_id"), ("agent_type", "agent_type")):
        value = raw.get(field)
        if isinstance(value, str) and value:
            record[key] = value[:200]
    if event.duration_ms is not None:
        record["duration_ms"] = event.duration_ms
    decision = _decision(reply)
    if decision:
        record["decision"] = decision
    summary: dict[str, Any] = {}
    for key, value in raw.items():
        if key in COMMON_FIELDS:
            continue
        limit = RESPONSE_CHARS if key in ("tool_response", "tool_calls") else field_chars
        summary[str(key)[:100]] = summarize(value, limit)
    if summary:
        record["summary"] = summary
    return record


def _decision(reply: dict[str, Any] | None) -> str | None:
    if not reply:
        return None
    specific = reply.get("hookSpecificOutput") or {}
    if specific.get("permissionDecision"):
        return str(specific["permissionDecision"])
    if isinstance(specific.get("decision"), dict):
        return str(specific["decision"].get("behavior"))
    if reply.get("decision") == "block":
        return "block"
    if reply.get("continue") is False:
        return "stop"
    return None


@hookimpl(needs=covered)
def after_dispatch(event: Event, reply: dict[str, Any] | None, ctx: HandlerContext) -> None:
    if event.session_id is None:
        return
    events = covered(ctx.config)
    if events is not None and event.name not in events:
        return  # dispatched for another handler's sake
    from state.eventlog import append_event

    settings = ctx.config["event_log"]
    record = build_record(event, reply, ctx.now, int(settings["max_field_chars"]))
    append_event(ctx.store, event.session_id, record, max_bytes=int(settings["max_bytes"]))
