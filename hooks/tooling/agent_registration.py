"""What Orchestra registers in Codex CLI's and Gemini CLI's hook files, and how it is found.

**The command** is Claude Code's with the agent named: ``"<python>" -P -m hooks.dispatch
--agent codex`` (or ``gemini``), one handler per event the adapter acts on
(:data:`hooks.agents.codex.EVENTS`, :data:`hooks.agents.gemini.EVENTS`), each in a group of
its own with no matcher, **appended after the user's own groups** of that event.

* Codex (``hooks.json``, Claude Code's format)::

    {"type": "command", "command": "...", "timeout": 10, "statusMessage": "Orchestra"}

* Gemini (``settings.json``; timeouts in milliseconds; ``name`` is what ``/hooks`` shows)::

    {"type": "command", "name": "orchestra", "command": "...", "timeout": 10000,
     "description": "Orchestra: one dispatcher for every agent on the repository"}

**The recognition rule** (uninstall removes exactly these, doctor checks them): a
``"type": "command"`` handler whose command ends with ``-m hooks.dispatch --agent <agent>``
and that carries Orchestra's mark (``statusMessage`` starting with the word ``Orchestra``
for Codex, ``name: "orchestra"`` for Gemini). Anything else is the user's.

**Codex trust.** Codex runs a user hook only if ``config.toml`` holds
``[hooks.state."<hooks.json path>:<event_snake>:<group>:<handler>"]`` with a
``trusted_hash`` equal to the hook's current hash: ``sha256:`` and the hex SHA-256 of the
compact JSON, keys sorted, of ``{"event_name": <event_snake>, "matcher": <if any>,
"hooks": [<the handler normalised: type, command, timeout (default 600, at least 1),
async (default false), statusMessage (when set)>]}``. The key holds the positions, which is
why Orchestra's groups go after the user's and are never moved.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

from hooks.tooling.registration import quote_path

__all__ = ["MARK", "codex_hash", "codex_trust", "command_for", "events_for", "handler_for",
           "is_orchestra", "merge", "positions", "remove", "snake"]

MARK = "Orchestra"
GEMINI_NAME = "orchestra"
GEMINI_DESCRIPTION = "Orchestra: one dispatcher for every agent on the repository"
_STATUS_MARK = re.compile(rf"{MARK}\b")


def events_for(agent: str) -> dict[str, int]:
    """The events registered for ``agent`` and their timeouts (Codex: s, Gemini: ms)."""
    from hooks.agents import adapter

    events: dict[str, int] = adapter(agent).EVENTS
    return events


def command_for(python: str, agent: str) -> str:
    return f"{quote_path(python)} -P -m hooks.dispatch --agent {agent}"


def handler_for(agent: str, command: str, timeout: int) -> dict[str, Any]:
    if agent == "codex":
        return {"type": "command", "command": command, "timeout": timeout,
                "statusMessage": MARK}
    return {"type": "command", "name": GEMINI_NAME, "command": command, "timeout": timeout,
            "description": GEMINI_DESCRIPTION}


def is_orchestra(entry: Any, agent: str) -> bool:
    """The recognition rule of the module docstring."""
    if not isinstance(entry, dict) or entry.get("type") != "command":
        return False
    command = entry.get("command")
    if not isinstance(command, str) or re.search(
            rf"(?:^|\s)-m\s+hooks\.dispatch\s+--agent[\s=]{re.escape(agent)}\s*$",
            command) is None:
        return False
    if agent == "codex":
        status = entry.get("statusMessage")
        return isinstance(status, str) and _STATUS_MARK.match(status) is not None
    return entry.get("name") == GEMINI_NAME


def positions(data: dict[str, Any], agent: str) -> list[tuple[str, int, int, dict[str, Any]]]:
    """``(event, group index, handler index, handler)`` of every Orchestra handler."""
    found = []
    hooks = data.get("hooks")
    for event, groups in (hooks.items() if isinstance(hooks, dict) else ()):
        for g, group in enumerate(groups if isinstance(groups, list) else ()):
            entries = group.get("hooks") if isinstance(group, dict) else None
            for h, entry in enumerate(entries if isinstance(entries, list) else ()):
                if is_orchestra(entry, agent):
                    found.append((event, g, h, entry))
    return found


def merge(data: dict[str, Any], python: str, agent: str) -> dict[str, Any]:
    """A copy of ``data`` with Orchestra registered for the agent's events.

    An event that has Orchestra's handler keeps it where it is (its command and timeout
    brought up to date); one that has none gets a new group after the user's groups.
    Nothing else changes, so a second run changes nothing.
    """
    out = copy.deepcopy(data)
    command = command_for(python, agent)
    hooks = out.setdefault("hooks", {})
    for event, timeout in events_for(agent).items():
        groups = hooks.setdefault(event, [])
        new = handler_for(agent, command, timeout)
        placed = False
        for group in groups:
            entries = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(entries, list):
                continue
            for index, entry in enumerate(entries):
                if is_orchestra(entry, agent) and not placed:
                    entries[index] = {**entry, **new}
                    placed = True
        if not placed:
            groups.append({"hooks": [new]})
    return out


def remove(data: dict[str, Any], agent: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of ``data`` without Orchestra's handlers, and the renumbering of Codex trust
    keys it implies: ``{old key suffix: new key suffix}`` (``event_snake:g:h``) for the
    user's groups that followed a removed group of Orchestra's in the same event (their
    position changed; none do unless hooks were added after Orchestra's). Groups left
    empty by the removal go, and so do event lists and the ``hooks`` table emptied by it.
    """
    out = copy.deepcopy(data)
    moved: dict[str, str] = {}
    hooks = out.get("hooks")
    if not isinstance(hooks, dict):
        return out, moved
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept: list[Any] = []
        touched = False
        for g, group in enumerate(groups):
            entries = group.get("hooks") if isinstance(group, dict) else None
            if isinstance(entries, list) and any(is_orchestra(e, agent) for e in entries):
                touched = True
                rest = [e for e in entries if not is_orchestra(e, agent)]
                if not rest:
                    continue
                group = {**group, "hooks": rest}
                for h_old, entry in enumerate(entries):
                    if not is_orchestra(entry, agent):
                        h_new = rest.index(entry)
                        if (h_old, g) != (h_new, len(kept)):
                            moved[f"{snake(event)}:{g}:{h_old}"] = \
                                f"{snake(event)}:{len(kept)}:{h_new}"
            elif len(kept) != g and isinstance(entries, list):
                for h in range(len(entries)):
                    moved[f"{snake(event)}:{g}:{h}"] = f"{snake(event)}:{len(kept)}:{h}"
            kept.append(group)
        if touched:
            if kept:
                hooks[event] = kept
            else:
                del hooks[event]
    if not hooks and positions(data, agent):
        del out["hooks"]
    return out, moved


def snake(event: str) -> str:
    """``PreToolUse`` -> ``pre_tool_use`` (Codex's trust keys)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event).lower()


def codex_hash(event: str, handler: dict[str, Any], matcher: str | None = None) -> str:
    """The hash Codex expects in ``trusted_hash`` for ``handler`` (module docstring)."""
    timeout = handler.get("timeout")
    normal: dict[str, Any] = {
        "type": "command", "command": handler.get("command"),
        "timeout": max(1, timeout) if isinstance(timeout, int) and not isinstance(timeout, bool)
        else 600,
        "async": handler.get("async") is True,
    }
    if isinstance(handler.get("statusMessage"), str):
        normal["statusMessage"] = handler["statusMessage"]
    identity: dict[str, Any] = {"event_name": snake(event), "hooks": [normal]}
    if matcher is not None:
        identity["matcher"] = matcher
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def codex_trust(data: dict[str, Any], hooks_path: str) -> dict[str, str]:
    """``{trust key: trusted_hash}`` for every Orchestra handler of a Codex ``hooks.json``."""
    trust = {}
    for event, g, h, entry in positions(data, "codex"):
        group = data["hooks"][event][g]
        matcher = group.get("matcher") if isinstance(group.get("matcher"), str) else None
        trust[f"{hooks_path}:{snake(event)}:{g}:{h}"] = codex_hash(event, entry, matcher)
    return trust
