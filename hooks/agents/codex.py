"""The Codex CLI adapter (Codex 0.169.0, ``... -m hooks.dispatch --agent codex``).

**In.** Codex sends Claude Code's event and field names, and its tools as hooks see them
are ``Bash {command}`` and ``apply_patch {command: <patch>}``: the payload is Orchestra's
event model already. ``apply_patch`` keeps its name; :func:`handlers.claims.targets_of`
reads the files a patch writes from the patch text. ``Interrupt`` (Ctrl-C during a turn) has
no Claude Code counterpart: it reaches ``on_event`` handlers (heartbeat, event log) under
its own name. Codex gives hooks no session variables: the session id is in the payload.

**Out.** Codex parses each event's reply strictly (an unknown field makes the whole reply
invalid, and it is ignored), so only what :data:`ACCEPTS` lists for the event is sent:

* PreToolUse ``permissionDecision``: ``deny`` with its reason; ``ask`` is not supported by
  Codex (the reply would be dropped, failing open), so it becomes ``deny`` with the reason
  and a note saying so; ``allow`` is valid only with ``updatedInput``, else it is left out;
* ``continue: false``/``stopReason``/``suppressOutput`` only where Codex takes them;
* ``additionalContext`` on SessionStart, UserPromptSubmit, PreToolUse, PostToolUse and
  SubagentStart (Codex adds it to the model's input as a developer message);
* PermissionRequest ``decision`` without ``updatedInput``/``updatedPermissions``/``interrupt``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.dispatch import DispatchResult

__all__ = ["ACCEPTS", "EVENTS", "KNOWN_FIELDS", "KNOWN_TOOLS", "inbound", "outbound",
           "sightings"]

AGENT = "codex"

#: The events Orchestra registers with Codex, and the seconds Codex gives the hook
#: (Codex clamps SessionEnd and Interrupt to 3 s itself).
EVENTS: dict[str, int] = {
    "SessionStart": 20, "UserPromptSubmit": 10, "PreToolUse": 10, "PermissionRequest": 10,
    "PostToolUse": 10, "Stop": 10, "SubagentStart": 10, "SubagentStop": 10, "PreCompact": 10,
    "PostCompact": 10, "Interrupt": 3, "SessionEnd": 3,
}

_COMMON = frozenset({"session_id", "transcript_path", "cwd", "hook_event_name", "model",
                     "permission_mode", "turn_id", "agent_id", "agent_type"})
#: Fields of Codex 0.169.0's payloads beyond the common ones (captured from the real CLI).
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "SessionStart": frozenset({"source"}),
    "UserPromptSubmit": frozenset({"prompt"}),
    "PreToolUse": frozenset({"tool_name", "tool_input", "tool_use_id"}),
    "PermissionRequest": frozenset({"tool_name", "tool_input"}),
    "PostToolUse": frozenset({"tool_name", "tool_input", "tool_use_id", "tool_response"}),
    "Stop": frozenset({"stop_hook_active", "last_assistant_message"}),
    "SubagentStart": frozenset(),
    "SubagentStop": frozenset({"agent_transcript_path", "stop_hook_active",
                               "last_assistant_message"}),
    "PreCompact": frozenset({"trigger"}),
    "PostCompact": frozenset({"trigger"}),
    "Interrupt": frozenset(),
    "SessionEnd": frozenset({"reason"}),
}
#: Tool names as Codex's hooks see them (MCP tools, ``mcp__*``, are expected too).
KNOWN_TOOLS = frozenset({"Bash", "apply_patch"})

_UNIVERSAL = frozenset({"continue", "stopReason", "suppressOutput", "systemMessage"})
#: What Codex takes in each event's reply: (top-level fields, hookSpecificOutput fields).
ACCEPTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "SessionStart": (_UNIVERSAL, frozenset({"additionalContext"})),
    "UserPromptSubmit": (_UNIVERSAL | {"decision", "reason"}, frozenset({"additionalContext"})),
    "PreToolUse": (frozenset({"systemMessage"}),
                   frozenset({"permissionDecision", "permissionDecisionReason", "updatedInput",
                              "additionalContext"})),
    "PermissionRequest": (frozenset({"systemMessage"}), frozenset({"decision"})),
    "PostToolUse": (frozenset({"continue", "stopReason", "systemMessage", "decision",
                               "reason"}),
                    frozenset({"additionalContext", "updatedToolOutput",
                               "updatedMCPToolOutput"})),
    "Stop": (_UNIVERSAL | {"decision", "reason"}, frozenset()),
    "SubagentStart": (_UNIVERSAL, frozenset({"additionalContext"})),
    "SubagentStop": (_UNIVERSAL | {"decision", "reason"}, frozenset()),
    "PreCompact": (_UNIVERSAL, frozenset()),
    "PostCompact": (_UNIVERSAL, frozenset()),
}

ASK_NOTE = " (Codex cannot ask you from a hook, so Orchestra refused the call; retry it " \
           "if you decide it is fine)"


def inbound(payload: dict[str, Any], home: str) -> dict[str, Any] | None:
    """Codex's payload in Orchestra's model: it is one already (see the module docstring)."""
    return payload


def outbound(payload: dict[str, Any], event: dict[str, Any], result: DispatchResult,
             home: str) -> tuple[dict[str, Any] | None, int, str | None]:
    """The merged reply as Codex takes it for this event (see the module docstring)."""
    return shape(payload["hook_event_name"], result.reply), 0, None


def shape(name: str, reply: dict[str, Any] | None) -> dict[str, Any] | None:
    """``reply`` (Claude Code's shape, as merged) cut to what Codex takes for event ``name``."""
    if not reply or name not in ACCEPTS:
        return None
    top_ok, specific_ok = ACCEPTS[name]
    out = {key: value for key, value in reply.items() if key in top_ok}
    if out.get("continue") is not False:
        out.pop("continue", None)
        out.pop("stopReason", None)
    if out.get("decision") != "block" or not str(out.get("reason") or "").strip():
        out.pop("decision", None)
        out.pop("reason", None)
    given = reply.get("hookSpecificOutput")
    specific = {key: value for key, value in (given.items() if isinstance(given, dict) else ())
                if key in specific_ok}
    if name == "PreToolUse":
        _permission(specific)
    elif name == "PermissionRequest":
        decision = specific.get("decision")
        if isinstance(decision, dict) and decision.get("behavior") in ("allow", "deny"):
            specific["decision"] = {k: v for k, v in decision.items()
                                    if k in ("behavior", "message")}
        else:
            specific.pop("decision", None)
    if specific:
        out["hookSpecificOutput"] = {"hookEventName": name, **specific}
    return out or None


def _permission(specific: dict[str, Any]) -> None:
    decision = specific.get("permissionDecision")
    reason = str(specific.get("permissionDecisionReason") or "").strip()
    if decision == "ask":
        specific["permissionDecision"] = "deny"
        specific["permissionDecisionReason"] = (reason or "Orchestra asks for a decision") \
            + ASK_NOTE
        specific.pop("updatedInput", None)
    elif decision == "deny":
        specific["permissionDecisionReason"] = reason or "refused by Orchestra"
        specific.pop("updatedInput", None)
    elif decision == "allow" and isinstance(specific.get("updatedInput"), dict):
        specific.pop("permissionDecisionReason", None)
    else:  # allow without a rewrite, defer, or nothing: Codex takes none of these
        for key in ("permissionDecision", "permissionDecisionReason", "updatedInput"):
            specific.pop(key, None)


def sightings(payload: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """What in Codex's own payload Orchestra does not know (:mod:`hooks.observe`)."""
    from hooks.observe import agent_sightings

    return agent_sightings(payload, _COMMON, KNOWN_FIELDS, KNOWN_TOOLS)
