"""Token usage: read from Claude Code's transcript on Stop, incrementally (Codex and Gemini
sessions: from theirs, :mod:`handlers.agent_usage`).

The transcript (``transcript_path``, JSONL) holds a ``usage`` block per assistant
message. On each Stop (and SubagentStop, for the subagent's own transcript) the
handler reads only what was appended since the last offset it stored in
``sessions/<id>/usage.json`` — never the whole transcript again. Assistant
messages split over several lines share a message id and are counted once.
Other metrics are derived from the event log when read (:mod:`state.metrics`).
"""

from __future__ import annotations

import json
import os

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                "cache_read_input_tokens")
_MAX_READ = 64 * 1024 * 1024  # per Stop: a huge backlog is read over several Stops
_SEEN_IDS = 200


def read_usage(path: str, offset: int, seen: list[str]) -> tuple[int, list[dict[str, Any]]]:
    """New complete lines after ``offset``: (new offset, [{model, usage}])."""
    try:
        size = os.path.getsize(path)
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return offset, []
    if size < offset:  # the transcript was replaced: start again
        offset = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        chunk = fh.read(min(size - offset, _MAX_READ))
    end = chunk.rfind(b"\n")
    if end < 0:
        return offset, []
    found = []
    for line in chunk[: end + 1].splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
            continue
        message_id = message.get("id") or entry.get("uuid")
        if isinstance(message_id, str):
            if message_id in seen:
                continue
            seen.append(message_id)
        found.append({"model": message.get("model"), "usage": message["usage"]})
    del seen[:-_SEEN_IDS]
    return offset + end + 1, found


def _account(event: Event, ctx: HandlerContext, path: str | None, scope: str) -> None:
    if event.session_id is None or not path or not path.endswith(".jsonl"):
        return
    from state.paths import session_key

    with ctx.store.transaction(session_key(event.session_id, "usage.json")) as doc:
        cursor = doc.setdefault("transcripts", {}).setdefault(scope, {"path": path, "offset": 0})
        if cursor.get("path") != path:
            cursor.update(path=path, offset=0)
        seen = doc.setdefault("seen_message_ids", [])
        cursor["offset"], found = read_usage(path, int(cursor.get("offset", 0)), seen)
        tokens = doc.setdefault("tokens", {})
        by_model = doc.setdefault("by_model", {})
        for item in found:
            model = item["model"] if isinstance(item["model"], str) else "unknown"
            per_model = by_model.setdefault(model, {})
            for field in TOKEN_FIELDS:
                value = item["usage"].get(field)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    tokens[field] = tokens.get(field, 0) + value
                    per_model[field] = per_model.get(field, 0) + value


def _account_agent(event: Event, ctx: HandlerContext) -> None:
    """Codex and Gemini sessions: their own transcripts (:mod:`handlers.agent_usage`)."""
    path = event.transcript_path
    if event.session_id is None or not path or not path.endswith(".jsonl"):
        return
    from handlers import agent_usage
    from state.paths import session_key

    model = event.get("model") if isinstance(event.get("model"), str) else None
    with ctx.store.transaction(session_key(event.session_id, "usage.json")) as doc:
        doc["source"] = event.agent
        if event.agent == "codex":
            totals = agent_usage.codex_totals(path)
            if totals is not None:
                doc["tokens"] = totals
                doc["by_model"] = {model or "unknown": dict(totals)}
            return
        cursor = doc.setdefault("transcripts", {}).setdefault("main", {"path": path,
                                                                       "offset": 0})
        if cursor.get("path") != path:
            cursor.update(path=path, offset=0)
        seen = doc.setdefault("seen_message_ids", [])
        cursor["offset"], found = agent_usage.gemini_messages(
            path, int(cursor.get("offset", 0)), seen)
        tokens = doc.setdefault("tokens", {})
        by_model = doc.setdefault("by_model", {})
        for name, counts in found:
            model = name or model
            per_model = by_model.setdefault(name or "unknown", {})
            for field, value in counts.items():
                tokens[field] = tokens.get(field, 0) + value
                per_model[field] = per_model.get(field, 0) + value
    if model and event.agent == "gemini":
        _note_model(event.session_id, model, ctx)


def _note_model(session_id: str, model: str, ctx: HandlerContext) -> None:
    """Gemini's events do not name the model; its transcript does."""
    from state.paths import session_key

    key = session_key(session_id, "state.json")
    if (ctx.store.read(key) or {}).get("model") == model:
        return
    with ctx.store.transaction(key) as doc:
        if "session_id" in doc:
            doc["model"] = model


@hookimpl
def on_stop(event: Event, ctx: HandlerContext) -> None:
    if event.agent != "claude-code":
        _account_agent(event, ctx)
        return
    _account(event, ctx, event.transcript_path, "main")


@hookimpl
def on_subagent_stop(event: Event, ctx: HandlerContext) -> None:
    agent = event.agent_id or "subagent"
    _account(event, ctx, event.text("agent_transcript_path"), f"agent:{agent[:64]}")
