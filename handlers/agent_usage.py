"""Token usage of Codex and Gemini sessions, read from their own transcripts at Stop.

Orchestra's token fields are Claude Code's: ``input_tokens`` (not read from a cache),
``cache_read_input_tokens``, ``cache_creation_input_tokens`` and ``output_tokens``. Each agent
is mapped only as far as its transcript says, so a figure is never made up:

* **Codex** (``~/.codex/sessions/.../rollout-*.jsonl``): every ``token_count`` event holds the
  thread's running total (``info.total_token_usage``), so the last one *is* the session's
  usage. OpenAI counts cached input inside ``input_tokens``: ``input_tokens`` here is the
  difference, ``cache_read_input_tokens`` the cached part; ``output_tokens`` includes
  reasoning. Only the file's tail is read.
* **Gemini** (``~/.gemini/tmp/<project>/chats/session-*.jsonl``): each model message
  (``"type": "gemini"``) carries ``tokens`` (``input``, ``cached``, ``output``,
  ``thoughts``...) and its ``model``; a message is written again when it changes, so it is
  counted once by id. Read incrementally from the offset of the last Stop.

Nothing is recorded when a transcript says nothing: the views then show ``unknown``.
"""

from __future__ import annotations

import os

from state.jsontext import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["codex_totals", "gemini_messages"]

_TAIL = 256 * 1024
_MAX_READ = 64 * 1024 * 1024


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def codex_totals(path: str) -> dict[str, int] | None:
    """The session's tokens from the last ``token_count`` of a Codex rollout, or None."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            fh.seek(max(0, size - _TAIL))
            chunk = fh.read()
    except (OSError, ValueError):
        return None
    for line in reversed(chunk.splitlines()):
        if b'"token_count"' not in line:
            continue
        try:
            entry = loads(line)
        except ValueError:
            continue  # the first line of the tail may be cut
        payload = entry.get("payload") if isinstance(entry, dict) else None
        info = payload.get("info") if isinstance(payload, dict) else None
        total = info.get("total_token_usage") if isinstance(info, dict) else None
        if not isinstance(total, dict):
            continue
        given, cached, output = (_count(total.get(k)) for k in
                                 ("input_tokens", "cached_input_tokens", "output_tokens"))
        if given is None or output is None:
            return None
        cached = min(cached or 0, given)
        return {"input_tokens": given - cached, "cache_read_input_tokens": cached,
                "output_tokens": output}
    return None


def gemini_messages(path: str, offset: int, seen: list[str]
                    ) -> tuple[int, list[tuple[str | None, dict[str, int]]]]:
    """New model messages of a Gemini chat file after ``offset``: (new offset,
    [(model, tokens in Orchestra's fields)]), each message id once (``seen`` is updated)."""
    try:
        size = os.path.getsize(path)
    except (OSError, ValueError):
        return offset, []
    if size < offset:
        offset = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        chunk = fh.read(min(size - offset, _MAX_READ))
    end = chunk.rfind(b"\n")
    if end < 0:
        return offset, []
    found: list[tuple[str | None, dict[str, int]]] = []
    for line in chunk[: end + 1].splitlines():
        if b'"tokens"' not in line:
            continue
        try:
            entry = loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("type") != "gemini":
            continue
        tokens = entry.get("tokens")
        message_id = entry.get("id")
        if not isinstance(tokens, dict) or not isinstance(message_id, str) or message_id in seen:
            continue
        given, cached, output = (_count(tokens.get(k)) for k in ("input", "cached", "output"))
        if given is None or output is None:
            continue
        seen.append(message_id)
        cached = min(cached or 0, given)
        model = entry.get("model") if isinstance(entry.get("model"), str) else None
        found.append((model, {"input_tokens": given - cached, "cache_read_input_tokens": cached,
                              "output_tokens": output + (_count(tokens.get("thoughts")) or 0)}))
    del seen[:-200]
    return offset + end + 1, found
