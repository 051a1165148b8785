"""Claude Code's names for sessions: ``proj-69 [46a7a0]`` <-> Orchestra's session ids.

Claude Code 2.1.332 gives every local session a name: ``ListAgents`` lists the others
as ``NAME [REF]`` and opens with ``This session is NAME [REF]``; ``SendMessage`` takes
the name as ``to``; ``claude agents --json`` prints ``name`` beside ``sessionId``.
Orchestra learns the name of a session from its own ListAgents result and from Claude
Code's session registry (``~/.claude/sessions/<pid>.json``, what ``claude agents``
reads; see :mod:`handlers.coordination`), and keeps it twice:

* in the session's ``state.json``: ``claude_name`` (``proj-69 [46a7a0]`` when the
  reference is known, else ``proj-69``), ``claude_name_at``;
* in ``names.json`` at the root, the name map: ``names.<name>`` = the session that has
  it (``session_id``, ``ref``, ``at``, ``source``). Names are short and are given again
  to later sessions, so the map keeps the latest holder of each name (at most
  :data:`MAX_NAMES` names, the most recent).

:func:`session_for_name` resolves a ``SendMessage`` recipient; later work (timeline links,
guard reasons) reads :func:`name_map` / :func:`name_of`.
"""

from __future__ import annotations

import re

from state.clock import iso, now
from state.paths import session_key, validate_id
from state.persistence.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["NAMES", "display_name", "name_map", "name_of", "parse_name", "record_name",
           "session_for_name"]

NAMES = "names.json"
MAX_NAMES = 500
#: A Claude Code session name, optionally with its reference: ``proj-69 [46a7a0]``.
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]{0,63})(?:\s*\[([0-9a-fA-F]{4,16})\])?\s*$")


def parse_name(text: object) -> tuple[str, str | None] | None:
    """``"proj-69 [46a7a0]"`` -> ``("proj-69", "46a7a0")``; None if it is not a name."""
    if not isinstance(text, str):
        return None
    match = _NAME.match(text)
    if match is None:
        return None
    return match.group(1), (match.group(2).lower() if match.group(2) else None)


def display_name(name: str, ref: str | None) -> str:
    return f"{name} [{ref}]" if ref else name


def record_name(store: Storage, session_id: str, name: str, *, ref: str | None = None,
                source: str = "", at: float | None = None) -> bool:
    """Remember that ``session_id`` is called ``name`` in Claude Code. True if that was
    news (documents are written only when something changed)."""
    validate_id(session_id, "session id")
    parsed = parse_name(name if ref is None else f"{name} [{ref}]")
    if parsed is None:
        return False
    name, ref = parsed
    moment = now() if at is None else at
    state_key = session_key(session_id, "state.json")
    state = store.read(state_key)
    if state is None:
        return False
    known = parse_name(state.get("claude_name"))
    if known is not None and known[1] and not ref and known[0] == name:
        ref = known[1]  # the registry does not say the reference: keep the one we know
    shown = display_name(name, ref)
    changed = False
    if state.get("claude_name") != shown:
        with store.transaction(state_key, create=False) as doc:
            doc["claude_name"] = shown
            doc["claude_name_at"] = iso(moment)
        changed = True
    entry = (store.read(NAMES) or {}).get("names", {}).get(name)
    if not isinstance(entry, dict) or entry.get("session_id") != session_id or (
            ref and entry.get("ref") != ref):
        with store.transaction(NAMES) as doc:
            names = doc.setdefault("names", {})
            names[name] = {"session_id": session_id, "ref": ref, "at": iso(moment),
                           "ts": round(moment, 3), "source": source[:40]}
            if len(names) > MAX_NAMES:
                for old in sorted(names, key=lambda n: names[n].get("ts", 0))[
                        : len(names) - MAX_NAMES]:
                    del names[old]
        changed = True
    return changed


def name_map(store: Storage) -> dict[str, dict[str, Any]]:
    """Every known name and the session that has it (the latest one given it)."""
    names = (store.read(NAMES) or {}).get("names", {})
    return {k: v for k, v in names.items() if isinstance(v, dict)} if isinstance(
        names, dict) else {}


def session_for_name(store: Storage, text: str) -> str | None:
    """The session Claude Code calls ``text`` (``proj-69`` or ``proj-69 [46a7a0]``), or
    None. With a reference, only the session of that reference."""
    parsed = parse_name(text)
    if parsed is None:
        return None
    entry = name_map(store).get(parsed[0])
    if entry is None or (parsed[1] and entry.get("ref") and entry["ref"] != parsed[1]):
        return None
    sid = entry.get("session_id")
    return sid if isinstance(sid, str) else None


def name_of(store: Storage, session_id: str) -> str | None:
    """The Claude Code name of a session (``proj-69 [46a7a0]``), when known."""
    state = store.read(session_key(session_id, "state.json")) or {}
    name = state.get("claude_name")
    return name if isinstance(name, str) else None
