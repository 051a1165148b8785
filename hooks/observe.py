"""What the dispatcher notes about itself: handler telemetry and drift.

**Telemetry.** Every dispatch of a session appends one line to
``sessions/<id>/stats.jsonl`` (a single ``O_APPEND`` write, no lock, no document
rewritten; rotated at :data:`STATS_MAX_BYTES`)::

    {"ts": 1795930000.1, "event": "PreToolUse", "tool": "Bash", "ms": 3.2,
     "h": [["session", "on_event", 0.41, "", 0], ["claims", "on_pre_tool_use", 1.2, "", 180]]}

``h`` holds one entry per handler call: plugin, hook, milliseconds, status (``""`` ok,
``error``, ``overrun`` or ``skipped`` when the budget was used up) and the characters of
context its answer carried (``additionalContext``, a block ``reason``, a
``permissionDecisionReason``: what Claude reads, and pays for in tokens). ``orchestra
stats`` reads these lines back.

**Drift**: what Claude Code sent, or a plugin answered, that Orchestra's contract does not
know. A new Claude Code release shows up as a report, never as a breakage: an unknown
event is still dispatched (``on_event`` handlers, heartbeat and event log included) and
the dispatcher still exits 0. Four kinds are noticed:

* ``event`` — an event name that is not one of the 34 of :mod:`hooks.events`;
* ``field`` — a top-level payload field the event's model does not have (:mod:`hooks.fields`);
* ``tool`` — a ``tool_name`` outside :data:`KNOWN_TOOLS` (``mcp__*`` tools are expected);
* ``reply_field`` — a reply field a handler returned for an event that does not honour it
  (:func:`hooks.merge.merge_replies` drops those).

Checking a payload is a few set lookups. Only a sighting is written: one line in
``<root>/drift.jsonl`` (``{"at", "kind", "name", "event", "detail", "version"}``; rotated at
:data:`DRIFT_MAX_BYTES`), with the Claude Code version when the transcript tells it.
``orchestra drift`` counts the lines (first and last seen, versions).
"""

from __future__ import annotations

from hooks.fields import COMMON_FIELDS, EVENT_FIELDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["DRIFT_LOG", "DRIFT_MAX_BYTES", "KNOWN_TOOLS", "STATS_LOG", "STATS_MAX_BYTES",
           "agent_sightings", "context_chars", "record_drift", "record_stats", "reply_sightings",
           "sightings"]

# -- telemetry ---------------------------------------------------------------------------

STATS_LOG = "stats.jsonl"
STATS_MAX_BYTES = 5_000_000


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


def record_stats(store: Storage, session_id: str, event: str, tool: str | None,
           calls: list[tuple[str, str, float, str, int]], seconds: float, at: float) -> None:
    """Append the line of one dispatch (see the module docstring)."""
    from state.paths import session_key

    line: dict[str, Any] = {"ts": round(at, 3), "event": event}
    if tool:
        line["tool"] = tool[:100]
    line["ms"] = round(seconds * 1000, 2)
    line["h"] = [[plugin, hook, round(spent * 1000, 2), status, chars]
                 for plugin, hook, spent, status, chars in calls]
    store.append(session_key(session_id, STATS_LOG), line, max_bytes=STATS_MAX_BYTES)


# -- drift -------------------------------------------------------------------------------

DRIFT_LOG = "drift.jsonl"
DRIFT_MAX_BYTES = 2_000_000

#: Tool names of Claude Code 2.1.x (and the legacy ones payloads still carry).
KNOWN_TOOLS = frozenset({
    "Agent", "AskUserQuestion", "Bash", "BashOutput", "Edit", "EnterPlanMode",
    "ExitPlanMode", "Glob", "Grep", "KillShell", "LS", "ListMcpResourcesTool", "MultiEdit",
    "NotebookEdit", "NotebookRead", "PowerShell", "Read", "ReadMcpResourceTool", "Skill",
    "SlashCommand", "Task", "TaskCreate", "TaskGet", "TaskList", "TaskOutput", "TaskStop",
    "TaskUpdate", "TodoRead", "TodoWrite", "WebFetch", "WebSearch", "Write",
})

Sighting = tuple[str, str, str, str]  # kind, name, event, detail


def sightings(payload: dict[str, Any]) -> list[Sighting]:
    """What in ``payload`` the contract does not know (usually nothing)."""
    event = str(payload.get("hook_event_name"))
    known = EVENT_FIELDS.get(event)
    found: list[Sighting] = []
    if known is None:
        found.append(("event", event, event, ""))
    else:
        found += [("field", key, event, "") for key in payload
                  if key not in COMMON_FIELDS and key not in known]
    tool = payload.get("tool_name")
    if isinstance(tool, str) and tool not in KNOWN_TOOLS and not tool.startswith("mcp__"):
        found.append(("tool", tool[:100], event, ""))
    return found


def agent_sightings(payload: dict[str, Any], common: frozenset[str],
                    fields: dict[str, frozenset[str]], tools: frozenset[str]) -> list[Sighting]:
    """:func:`sightings` for another agent's own payload, against that agent's tables
    (:mod:`hooks.agents`): its events, their fields, its tool names."""
    event = str(payload.get("hook_event_name"))
    known = fields.get(event)
    found: list[Sighting] = []
    if known is None:
        found.append(("event", event, event, ""))
    else:
        found += [("field", key, event, "") for key in payload
                  if key not in common and key not in known]
    tool = payload.get("tool_name")
    if isinstance(tool, str) and tool not in tools and not tool.startswith("mcp__"):
        found.append(("tool", tool[:100], event, ""))
    return found


def reply_sightings(event: str, dropped: list[str]) -> list[Sighting]:
    """The reply fields :class:`hooks.merge.Merged` dropped because ``event`` does not
    honour them (``"plugin: field"``); values of the wrong type are a plugin's bug, not drift."""
    found: list[Sighting] = []
    for entry in dropped:
        plugin, _sep, field = entry.partition(": ")
        if field and "(" not in field and field != "reply is not an object":
            found.append(("reply_field", field, event, plugin))
    return found


def record_drift(store: Storage, found: list[Sighting], payload: dict[str, Any], at: float,
                 agent: str | None = None) -> None:
    """Append one line per sighting to :data:`DRIFT_LOG`; ``agent`` names another agent
    than Claude Code (the line then says which, and its version where the transcript
    tells it)."""
    from state.clock import iso

    marker = _VERSION_MARKERS.get(agent or "", b'"version":"')
    version = claude_version(payload.get("transcript_path"), marker) if marker else None
    stamp = iso(at)
    for kind, name, event, detail in found:
        line: dict[str, Any] = {"at": stamp, "kind": kind, "name": name[:200],
                                "event": event[:100]}
        if detail:
            line["detail"] = detail[:200]
        if version:
            line["version"] = version
        if agent:
            line["agent"] = agent
        store.append(DRIFT_LOG, line, max_bytes=DRIFT_MAX_BYTES)


#: How each agent's transcript names the CLI's version (Gemini's does not).
_VERSION_MARKERS = {"codex": b'"cli_version":"', "gemini": b""}


def claude_version(transcript: Any, marker: bytes = b'"version":"') -> str | None:
    """The version a transcript's first lines name (Claude Code: ``"version":"2.1.332"``)."""
    if not isinstance(transcript, str) or not transcript:
        return None
    try:
        with open(transcript, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    start = head.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = head.find(b'"', start, start + 40)
    value = head[start:end].decode("ascii", "replace") if end > start else ""
    return value if value[:1].isdigit() else None
