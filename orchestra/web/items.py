"""Log records as the pages show them: the fields a row needs and one line of detail."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["event_item", "message_item"]

#: Characters of an event's summary sent with a page (the log keeps up to a few KB a field).
SUMMARY_CHARS = 1500
#: Where an event says what it was about, in order of preference.
_DETAIL_KEYS = ("command", "file_path", "pattern", "url", "subject", "task_subject", "prompt",
                "description", "message", "delta", "reason", "source", "error",
                "last_assistant_message", "task")


def _detail(summary: Any) -> str:
    """One line saying what an event was about (the command, the file, the prompt...)."""
    if not isinstance(summary, dict):
        return ""
    places = [summary, summary.get("tool_input")]
    task = summary.get("tool_input")
    if isinstance(task, dict) and task.get("taskId") and task.get("status"):
        return f"task {str(task['taskId'])[:40]} -> {str(task['status'])[:40]}"
    for key in _DETAIL_KEYS:
        for place in places:
            value = place.get(key) if isinstance(place, dict) else None
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())[:300]
    return ""


def event_item(record: dict[str, Any]) -> dict[str, Any]:
    """An event as the page shows it: the record's fields, its session, one line of detail."""
    summary = record.get("summary")
    text = json.dumps(summary, ensure_ascii=False) if summary is not None else ""
    return {
        "session": record.get("_label"), "cursor": record.get("_cursor"),
        "ts": record.get("ts"), "t": record.get("t"), "event": record.get("event"),
        "tool": record.get("tool"), "decision": record.get("decision"),
        "agent_type": record.get("agent_type"), "duration_ms": record.get("duration_ms"),
        "detail": _detail(summary),
        "summary": text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "...",
    }


def message_item(message: dict[str, Any]) -> dict[str, Any]:
    to: dict[str, Any] = message["to"] if isinstance(message.get("to"), dict) else {}
    if message.get("via") == "claude-code":  # SendMessage: Claude Code delivered it
        recipient = f"{to.get('claude_code') or '?'}" + (
            f" (session {to['session']})" if to.get("session") else "")
        sender = message.get("from")
        if message.get("from_name"):
            sender = f"{message['from_name']} (session {sender})"
        text = message.get("text") or ""
        if message.get("summary"):
            text = f"{message['summary']}: {text}" if text else message["summary"]
        return {"id": message.get("id"), "at": message.get("at"), "ts": message.get("ts"),
                "from": sender, "to": recipient, "text": text, "urgent": False,
                "delivered": None, "via": "claude-code", "sent": message.get("sent", True)}
    if to.get("session"):
        recipient = f"session {to['session']}"
    elif to.get("project"):
        recipient = f"project {to['project']}"
    else:
        recipient = "everyone"
    return {"id": message.get("id"), "at": message.get("at"), "ts": message.get("ts"),
            "from": message.get("from"), "to": recipient, "text": message.get("text"),
            "urgent": bool(message.get("urgent")), "delivered": message.get("delivered")}
