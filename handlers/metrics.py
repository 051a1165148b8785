"""Token usage: read from Claude Code's transcripts, incrementally, off the per-tool path
(Codex and Gemini sessions: from theirs at Stop, :mod:`handlers.agent_usage`).

The transcript (``transcript_path``, JSONL) holds a ``usage`` block per assistant
message. At Stop, PreCompact and SessionEnd the handler reads the session's transcript,
at SubagentStop the subagent's own (``agent_transcript_path``), each only from the
offset it stored in ``sessions/<id>/usage.json`` — never the whole transcript again —
and at most :data:`MAX_READ` bytes per event (:data:`SESSION_END_READ` at SessionEnd,
whose budget is one second): a larger backlog is read over the next events. Only lines
holding ``"usage"`` are parsed. A message's usage is repeated on every line of its
content blocks: messages are counted once, by message id.

Totals are kept per model for the main thread (``main``), for the subagents
(``subagents``) and for both (``tokens``, ``by_model``); see :mod:`state.usage`, which
also prices them. ``history`` keeps when tokens were added (:func:`remember`), for the
Timeline's chart of tokens and cost over time. Other metrics are derived from the event
log when read (:mod:`state.metrics`). PreToolUse and PostToolUse never come here.
"""

from __future__ import annotations

import os

from hooks import hookimpl
from state.jsontext import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                "cache_read_input_tokens")
CACHE_1H = "cache_creation_1h_input_tokens"
MAX_READ = 8 * 1024 * 1024  #: bytes of one transcript read per event, at most
SESSION_END_READ = 2 * 1024 * 1024
_SEEN_IDS = 400


def read_usage(path: str, offset: int, seen: list[str], limit: int = MAX_READ
               ) -> tuple[int, list[dict[str, Any]]]:
    """New complete lines after ``offset`` (at most ``limit`` bytes of them):
    (new offset, [{model, usage}]), each message once (``seen``: ids already counted)."""
    try:
        size = os.path.getsize(path)
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return offset, []
    if size < offset:  # the transcript was replaced: start again
        offset = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        chunk = fh.read(min(size - offset, limit))
    end = chunk.rfind(b"\n")
    if end < 0:
        return offset, []
    found = []
    known = set(seen)
    for line in chunk[: end + 1].splitlines():
        if b'"usage"' not in line:
            continue  # tool results and prompts: the bulk of a transcript, never parsed
        try:
            entry = loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
            continue
        message_id = message.get("id") or entry.get("uuid")
        if isinstance(message_id, str):
            if message_id in known:
                continue
            known.add(message_id)
            seen.append(message_id)
        found.append({"model": message.get("model"), "usage": message["usage"]})
    del seen[:-_SEEN_IDS]
    return offset + end + 1, found


def _counts(usage: dict[str, Any]) -> dict[str, int]:
    out = {}
    for field in TOKEN_FIELDS:
        value = usage.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            out[field] = value
    creation = usage.get("cache_creation")
    hour = creation.get("ephemeral_1h_input_tokens") if isinstance(creation, dict) else None
    if isinstance(hour, int) and not isinstance(hour, bool) and hour > 0:
        out[CACHE_1H] = hour
    return out


def _add(into: dict[str, Any], counts: dict[str, int]) -> None:
    for field, value in counts.items():
        into[field] = into.get(field, 0) + value


def _account(event: Event, ctx: HandlerContext, path: str | None, scope: str,
             limit: int | None = None) -> None:
    if event.session_id is None or not path or not path.endswith(".jsonl"):
        return
    from state.clock import iso
    from state.paths import session_key

    part = "main" if scope == "main" else "subagents"
    with ctx.store.transaction(session_key(event.session_id, "usage.json")) as doc:
        known = doc.get("transcripts")
        if not (isinstance(known, dict) and scope in known) and not os.path.isfile(path):
            return  # never read, and nothing to read (a replay): nothing written
        cursor = doc.setdefault("transcripts", {}).setdefault(scope, {"path": path, "offset": 0})
        if cursor.get("path") != path:
            _switch(doc, cursor, path)
            path = str(cursor["path"])
        seen = doc.setdefault("seen_message_ids", [])
        cursor["offset"], found = read_usage(path, int(cursor.get("offset", 0)), seen,
                                             MAX_READ if limit is None else limit)
        if not found:
            return
        tokens = doc.setdefault("tokens", {})
        by_model = doc.setdefault("by_model", {})
        section = doc.setdefault(part, {})
        if not isinstance(section, dict):
            section = doc[part] = {}
        section_tokens = section.setdefault("tokens", {})
        section_models = section.setdefault("by_model", {})
        added: dict[str, dict[str, int]] = {}
        for item in found:
            model = item["model"] if isinstance(item["model"], str) else "unknown"
            counts = _counts(item["usage"])
            for target in (tokens, by_model.setdefault(model, {}), section_tokens,
                           section_models.setdefault(model, {}), added.setdefault(model, {})):
                _add(target, counts)
        remember(doc, ctx.now, added)
        doc["updated_at"] = iso(ctx.now)


#: Points of a session's usage over time kept in ``usage.json`` (``history``).
MAX_HISTORY = 120


def remember(doc: dict[str, Any], now: float, added: dict[str, dict[str, int]]) -> None:
    """One point of the session's tokens over time (the Timeline's cost chart): when, and
    the tokens of each model added then. Bounded: the oldest point is folded into the
    next, so the points still add up to the session's total."""
    added = {model: counts for model, counts in added.items() if counts}
    if not added:
        return
    history = doc.get("history")
    if not isinstance(history, list):
        history = doc["history"] = []
    history.append({"ts": round(now, 3), "by_model": added})
    while len(history) > MAX_HISTORY:
        oldest = history.pop(0)
        into = history[0].get("by_model") if isinstance(history[0], dict) else None
        if isinstance(oldest, dict) and isinstance(into, dict):
            for model, counts in (oldest.get("by_model") or {}).items():
                if isinstance(counts, dict):  # whole numbers only: a hand edit is dropped
                    _add(into.setdefault(model, {}), {
                        k: v for k, v in counts.items()
                        if isinstance(v, int) and not isinstance(v, bool)})


def _switch(doc: dict[str, Any], cursor: dict[str, Any], path: str) -> None:
    """The event names another transcript than the one read so far. In a worktree
    (``EnterWorktree``) Claude Code 2.1.332 names a file under the worktree's project
    folder that it never writes, and goes on writing the first one: a path that does not
    exist keeps the cursor where it is. Each transcript keeps its own offset
    (``offsets``), so going back never reads a file again from its start."""
    if not os.path.isfile(path):
        return
    offsets = doc.get("offsets")
    if not isinstance(offsets, dict):
        offsets = doc["offsets"] = {}
    offsets[str(cursor.get("path"))] = int(cursor.get("offset", 0) or 0)
    cursor.update(path=path, offset=int(offsets.pop(path, 0) or 0))
    while len(offsets) > 32:
        del offsets[next(iter(offsets))]


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
                name = model or "unknown"
                before = (doc.get("by_model") or {}).get(name) or {}
                remember(doc, ctx.now, {name: {k: v - before.get(k, 0) for k, v in
                                               totals.items() if v > before.get(k, 0)}})
                doc["tokens"] = totals
                doc["by_model"] = {name: dict(totals)}
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
        added: dict[str, dict[str, int]] = {}
        for name, counts in found:
            model = name or model
            per_model = by_model.setdefault(name or "unknown", {})
            for field, value in counts.items():
                tokens[field] = tokens.get(field, 0) + value
                per_model[field] = per_model.get(field, 0) + value
            _add(added.setdefault(name or "unknown", {}), counts)
        remember(doc, ctx.now, added)
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
def on_pre_compact(event: Event, ctx: HandlerContext) -> None:
    """Before the conversation is compacted: what it cost so far is counted now."""
    if event.agent == "claude-code":  # the other agents' transcripts are read at Stop
        _account(event, ctx, event.transcript_path, "main")


@hookimpl
def on_session_end(event: Event, ctx: HandlerContext) -> None:
    """The rest of the transcript since the last Stop (an interrupted turn, say)."""
    if event.agent == "claude-code":
        _account(event, ctx, event.transcript_path, "main", SESSION_END_READ)


@hookimpl
def on_subagent_stop(event: Event, ctx: HandlerContext) -> None:
    if event.agent != "claude-code":
        return
    agent = event.agent_id or "subagent"
    _account(event, ctx, event.text("agent_transcript_path"), f"agent:{agent[:64]}")
