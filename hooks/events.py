"""The light, read-only view of a Claude Code hook event used on the hot path.

``Event`` wraps the parsed JSON object and offers typed accessors that never
raise: a field that is missing or has the wrong type reads as ``None`` (or an
empty mapping). The full pydantic model is only built when a handler asks for
it through :meth:`Event.model`, so most events never import pydantic.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["EVENT_NAMES", "SPEC_NAMES", "Event", "spec_name"]

#: Every event in ``HOOK_EVENTS`` of Claude Code 2.1.332, in the contract's order.
EVENT_NAMES: tuple[str, ...] = (
    "SessionStart",
    "Setup",
    "InstructionsLoaded",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "PreSkillShellCommand",
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "MessageDisplay",
    "SubagentStart",
    "SubagentStop",
    "TaskCreated",
    "TaskCompleted",
    "Stop",
    "StopFailure",
    "TeammateIdle",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "Elicitation",
    "ElicitationResult",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "CwdChanged",
    "FileChanged",
    "DirectoryAdded",
    "SessionEnd",
)


def spec_name(event_name: str) -> str:
    """``PreToolUse`` -> ``on_pre_tool_use``: the hookspec named after an event."""
    out = []
    for i, ch in enumerate(event_name):
        if ch.isupper() and i and not event_name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "on_" + "".join(out)


#: Event name -> its hookspec (:func:`spec_name` of each; written out, since computing it
#: is a measurable part of every event's start; a test keeps the two equal).
SPEC_NAMES: dict[str, str] = {
    "SessionStart": "on_session_start",
    "Setup": "on_setup",
    "InstructionsLoaded": "on_instructions_loaded",
    "UserPromptSubmit": "on_user_prompt_submit",
    "UserPromptExpansion": "on_user_prompt_expansion",
    "PreSkillShellCommand": "on_pre_skill_shell_command",
    "PreToolUse": "on_pre_tool_use",
    "PermissionRequest": "on_permission_request",
    "PermissionDenied": "on_permission_denied",
    "PostToolUse": "on_post_tool_use",
    "PostToolUseFailure": "on_post_tool_use_failure",
    "PostToolBatch": "on_post_tool_batch",
    "Notification": "on_notification",
    "MessageDisplay": "on_message_display",
    "SubagentStart": "on_subagent_start",
    "SubagentStop": "on_subagent_stop",
    "TaskCreated": "on_task_created",
    "TaskCompleted": "on_task_completed",
    "Stop": "on_stop",
    "StopFailure": "on_stop_failure",
    "TeammateIdle": "on_teammate_idle",
    "PreCompact": "on_pre_compact",
    "PostCompact": "on_post_compact",
    "PreModelSwitch": "on_pre_model_switch",
    "PostModelSwitch": "on_post_model_switch",
    "Elicitation": "on_elicitation",
    "ElicitationResult": "on_elicitation_result",
    "ConfigChange": "on_config_change",
    "WorktreeCreate": "on_worktree_create",
    "WorktreeRemove": "on_worktree_remove",
    "CwdChanged": "on_cwd_changed",
    "FileChanged": "on_file_changed",
    "DirectoryAdded": "on_directory_added",
    "SessionEnd": "on_session_end",
}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class Event:
    """A read-only view of one hook payload with typed, non-raising accessors."""

    __slots__ = ("_model", "agent", "raw")

    def __init__(self, raw: Mapping[str, Any], agent: str = "claude-code") -> None:
        self.raw = raw
        #: The agent that sent the event: ``claude-code``, ``codex`` or ``gemini``
        #: (:mod:`hooks.agents`). ``raw`` is in Claude Code's model whatever the agent.
        self.agent = agent
        self._model: Any = None

    def __repr__(self) -> str:
        return f"Event({self.name!r}, session={self.session_id!r})"

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def text(self, key: str) -> str | None:
        """The field ``key`` if it is a string, else ``None``."""
        return _str(self.raw.get(key))

    def mapping(self, key: str) -> Mapping[str, Any]:
        """The field ``key`` if it is an object, else an empty mapping."""
        value = self.raw.get(key)
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        name: str = self.raw["hook_event_name"]
        return name

    @property
    def known(self) -> bool:
        """True when the event is one of the 34 that Orchestra has a hookspec for."""
        return self.name in SPEC_NAMES

    @property
    def session_id(self) -> str | None:
        return _str(self.raw.get("session_id"))

    @property
    def cwd(self) -> str | None:
        return _str(self.raw.get("cwd"))

    @property
    def transcript_path(self) -> str | None:
        return _str(self.raw.get("transcript_path"))

    @property
    def permission_mode(self) -> str | None:
        return _str(self.raw.get("permission_mode"))

    @property
    def agent_id(self) -> str | None:
        return _str(self.raw.get("agent_id"))

    @property
    def agent_type(self) -> str | None:
        return _str(self.raw.get("agent_type"))

    @property
    def tool_name(self) -> str | None:
        return _str(self.raw.get("tool_name"))

    @property
    def tool_input(self) -> Mapping[str, Any]:
        return self.mapping("tool_input")

    @property
    def tool_response(self) -> Any:
        return self.raw.get("tool_response")

    @property
    def tool_use_id(self) -> str | None:
        return _str(self.raw.get("tool_use_id"))

    @property
    def prompt(self) -> str | None:
        return _str(self.raw.get("prompt"))

    @property
    def source(self) -> str | None:
        return _str(self.raw.get("source"))

    @property
    def reason(self) -> str | None:
        return _str(self.raw.get("reason"))

    @property
    def stop_hook_active(self) -> bool:
        return self.raw.get("stop_hook_active") is True

    @property
    def duration_ms(self) -> float | None:
        """How long the tool call took: a finite, non-negative number, else None (JSON
        input may say NaN or Infinity, which no JSON document may hold)."""
        value = self.raw.get("duration_ms")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        value = float(value)
        return value if 0 <= value < 1e12 else None  # NaN fails both comparisons

    def model(self) -> Any:
        """The full pydantic model of this event (built once, on first use)."""
        if self._model is None:
            from hooks.models import parse_event

            self._model = parse_event(dict(self.raw))
        return self._model
