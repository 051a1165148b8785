"""Which reply fields each Claude Code event honours (contract of Claude Code 2.1.332).

The merge emits only what the event honours; everything else a handler returns
is dropped (and logged), so Claude Code never receives a field it would ignore
or misread.
"""

from __future__ import annotations

__all__ = ["BLOCK_BY_EXIT_2", "CONTRACT", "DECISION_EVENTS", "EventContract", "contract_for"]


class EventContract:
    """What one event honours.

    ``top``: top-level reply fields; ``specific``: ``hookSpecificOutput`` fields;
    ``silent``: Claude Code discards the output entirely (emit nothing).
    """

    __slots__ = ("silent", "specific", "top")

    def __init__(self, top: frozenset[str], specific: frozenset[str], silent: bool = False):
        self.top = top
        self.specific = specific
        self.silent = silent


_COMMON = frozenset({"continue", "stopReason", "systemMessage"})
_DECISION = _COMMON | {"decision", "reason"}
_NONE = EventContract(frozenset(), frozenset(), silent=True)


def _c(top: frozenset[str], *specific: str) -> EventContract:
    return EventContract(top, frozenset(specific))


CONTRACT: dict[str, EventContract] = {
    "SessionStart": _c(_COMMON, "additionalContext", "initialUserMessage", "sessionTitle",
                       "watchPaths", "reloadSkills"),
    "Setup": _c(_COMMON, "additionalContext"),
    "InstructionsLoaded": _NONE,
    "UserPromptSubmit": _c(_DECISION, "additionalContext", "sessionTitle",
                           "suppressOriginalPrompt"),
    "UserPromptExpansion": _c(_DECISION, "additionalContext", "suppressOriginalPrompt"),
    "PreSkillShellCommand": _c(_COMMON, "permissionDecision", "permissionDecisionReason"),
    "PreToolUse": _c(_COMMON, "permissionDecision", "permissionDecisionReason", "updatedInput",
                     "additionalContext"),
    "PermissionRequest": _c(_COMMON, "decision"),
    "PermissionDenied": _c(_COMMON, "retry"),
    "PostToolUse": _c(_DECISION, "additionalContext", "updatedToolOutput",
                      "updatedMCPToolOutput", "classifierContext"),
    "PostToolUseFailure": _c(_DECISION, "additionalContext"),
    "PostToolBatch": _c(_DECISION, "additionalContext"),
    "Notification": _NONE,
    "MessageDisplay": _c(_COMMON, "displayContent"),
    "SubagentStart": _c(_COMMON, "additionalContext"),
    "SubagentStop": _c(_DECISION, "additionalContext"),
    "TaskCreated": _c(_DECISION),
    "TaskCompleted": _c(_DECISION),  # a block is sent as exit 2
    "Stop": _c(_DECISION, "additionalContext"),
    "StopFailure": _NONE,
    "TeammateIdle": _c(_DECISION),  # a block is sent as exit 2
    "PreCompact": _c(_DECISION),
    "PostCompact": _NONE,
    "PreModelSwitch": _c(_COMMON, "permissionDecision", "permissionDecisionReason"),
    "PostModelSwitch": _c(_COMMON, "additionalContext"),
    "Elicitation": _c(_COMMON, "action", "content"),
    "ElicitationResult": _c(_COMMON, "action", "content"),
    "ConfigChange": _c(_DECISION),
    "WorktreeCreate": _NONE,
    "WorktreeRemove": _NONE,
    "CwdChanged": _c(_COMMON, "watchPaths"),
    "FileChanged": _c(_COMMON, "watchPaths"),
    "DirectoryAdded": _c(_COMMON),
    "SessionEnd": _NONE,
}

#: Events where a block can only be expressed as exit code 2 (+ reason on stderr).
BLOCK_BY_EXIT_2 = frozenset({"TaskCompleted", "TeammateIdle"})

#: Events on which a handler can stop or refuse something: guards fail closed here.
DECISION_EVENTS = frozenset(
    {name for name, c in CONTRACT.items()
     if "decision" in c.top or {"permissionDecision", "decision", "action"} & c.specific}
    | BLOCK_BY_EXIT_2
)

_UNKNOWN = _NONE


def contract_for(event_name: str) -> EventContract:
    """The contract of ``event_name``; an unknown (future) event honours nothing."""
    return CONTRACT.get(event_name, _UNKNOWN)
