"""pydantic models of what Claude Code sends a hook and what a hook may answer.

Inputs are tolerant: every field except ``hook_event_name`` is optional, unknown fields are
accepted and kept in ``model_extra``, and values that Claude Code may extend later (``source``,
``reason``, ``notification_type``, ...) are plain ``str``; their known values are listed in the
comments. Replies are strict: ``extra="forbid"`` everywhere, because what we emit must be exactly
what Claude Code reads.

The contract (Claude Code 2.1.332, 34 events) is summarised in the project's reference notes;
the field comments below give the values it lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EVENT_MODELS",
    "REPLY_MODELS",
    "BackgroundTask",
    "BatchToolCall",
    "ConfigChangeInput",
    "CwdChangedInput",
    "CwdChangedSpecificOutput",
    "DirectoryAddedInput",
    "Effort",
    "ElicitationInput",
    "ElicitationResultInput",
    "ElicitationResultSpecificOutput",
    "ElicitationSpecificOutput",
    "FileChangedInput",
    "FileChangedSpecificOutput",
    "HookInput",
    "HookReply",
    "HookSpecificOutput",
    "InstructionsLoadedInput",
    "McpServer",
    "MessageDisplayInput",
    "MessageDisplaySpecificOutput",
    "NotificationInput",
    "PermissionAllow",
    "PermissionDeniedInput",
    "PermissionDeniedSpecificOutput",
    "PermissionDeny",
    "PermissionRequestInput",
    "PermissionRequestSpecificOutput",
    "PostCompactInput",
    "PostModelSwitchInput",
    "PostModelSwitchSpecificOutput",
    "PostToolBatchInput",
    "PostToolBatchSpecificOutput",
    "PostToolUseFailureInput",
    "PostToolUseFailureSpecificOutput",
    "PostToolUseInput",
    "PostToolUseSpecificOutput",
    "PreCompactInput",
    "PreModelSwitchInput",
    "PreModelSwitchSpecificOutput",
    "PreSkillShellCommandInput",
    "PreSkillShellCommandSpecificOutput",
    "PreToolUseInput",
    "PreToolUseSpecificOutput",
    "SessionCron",
    "SessionEndInput",
    "SessionStartInput",
    "SessionStartSpecificOutput",
    "SetupInput",
    "SetupSpecificOutput",
    "StopFailureInput",
    "StopInput",
    "StopSpecificOutput",
    "SubagentStartInput",
    "SubagentStartSpecificOutput",
    "SubagentStopInput",
    "SubagentStopSpecificOutput",
    "TaskCompletedInput",
    "TaskCreatedInput",
    "TeammateIdleInput",
    "UserPromptExpansionInput",
    "UserPromptExpansionSpecificOutput",
    "UserPromptSubmitInput",
    "UserPromptSubmitSpecificOutput",
    "WorktreeCreateInput",
    "WorktreeRemoveInput",
    "parse_event",
    "validate_reply",
]

_TOLERANT = ConfigDict(extra="allow")
_STRICT = ConfigDict(extra="forbid")

# --------------------------------------------------------------------------------------------
# Nested input shapes
# --------------------------------------------------------------------------------------------


class Effort(BaseModel):
    """``effort``: the session's reasoning effort, e.g. ``{"level": "medium"}``."""

    model_config = _TOLERANT

    level: str | None = None


class McpServer(BaseModel):
    """``mcp_server`` on tool events for ``mcp__*`` tools."""

    model_config = _TOLERANT

    name: str | None = None
    source: str | None = None


class BackgroundTask(BaseModel):
    """One item of ``background_tasks`` (Stop, SubagentStop)."""

    model_config = _TOLERANT

    id: str | None = None
    type: str | None = None  # shell, subagent, ...
    status: str | None = None  # running, ...
    description: str | None = None
    command: str | None = None
    agent_type: str | None = None
    server: str | None = None
    tool: str | None = None
    name: str | None = None


class SessionCron(BaseModel):
    """One item of ``session_crons`` (Stop, SubagentStop)."""

    model_config = _TOLERANT

    id: str | None = None
    schedule: str | None = None
    recurring: bool | None = None
    prompt: str | None = None


class BatchToolCall(BaseModel):
    """One item of PostToolBatch ``tool_calls``.

    ``tool_response`` is the model-facing string or content blocks, not the structured output
    that PostToolUse carries.
    """

    model_config = _TOLERANT

    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    tool_use_id: str | None = None
    tool_response: Any = None


# --------------------------------------------------------------------------------------------
# Inputs: the common base and one subclass per event, in the order of EVENT_NAMES
# --------------------------------------------------------------------------------------------


class HookInput(BaseModel):
    """Fields common to every event (``BaseHookInput``). Also the model of unknown events."""

    model_config = _TOLERANT

    session_id: str | None = None
    transcript_path: str | None = None
    cwd: str | None = None  # Claude's current directory; follows `cd`
    prompt_id: str | None = None  # absent before the first prompt
    permission_mode: str | None = None  # default/acceptEdits/bypassPermissions/plan/dontAsk/auto
    agent_id: str | None = None  # only inside a subagent
    agent_type: str | None = None
    effort: Effort | None = None
    hook_event_name: str


class SessionStartInput(HookInput):
    """A session starts, resumes, is cleared, compacted or forked."""

    source: str | None = None  # startup/resume/clear/compact/fork
    model: str | None = None
    session_title: str | None = None
    # On resume and fork only:
    seconds_since_last_response: float | None = None
    context_tokens: int | None = None
    prompt_cache_likely_expired: bool | None = None
    estimated_cache_write_usd: float | None = None


class SetupInput(HookInput):
    """``--init`` / ``--maintenance`` runs."""

    trigger: str | None = None  # init/maintenance


class InstructionsLoadedInput(HookInput):
    """A CLAUDE.md or rules file was loaded into context."""

    file_path: str | None = None
    memory_type: str | None = None  # User/Project/Local/Managed
    load_reason: str | None = None  # session_start/nested_traversal/path_glob_match/include/compact
    globs: list[str] | None = None
    trigger_file_path: str | None = None
    parent_file_path: str | None = None


class UserPromptSubmitInput(HookInput):
    """The user (or the SDK, a loop, a schedule) submitted a prompt."""

    prompt: str | None = None
    source: str | None = None  # user/sdk/system/loop_wakeup/schedule_wakeup/poll_event
    session_title: str | None = None


class UserPromptExpansionInput(HookInput):
    """A slash command or MCP prompt is being expanded."""

    expansion_type: str | None = None  # slash_command/mcp_prompt
    command_name: str | None = None
    command_args: str | None = None
    command_source: str | None = None
    prompt: str | None = None


class PreSkillShellCommandInput(HookInput):
    """An inline ``!`cmd` `` of a skill or command is about to run."""

    tool_name: str | None = None  # Bash/PowerShell
    tool_input: dict[str, Any] | None = None
    tool_use_id: str | None = None  # not a transcript tool_use id
    command_name: str | None = None
    command_source: str | None = None
    invoked_by: str | None = None  # user/claude/other


class PreToolUseInput(HookInput):
    """A tool call is about to run."""

    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    tool_use_id: str | None = None
    mcp_server: McpServer | None = None


class PermissionRequestInput(HookInput):
    """The permission dialog is about to be shown (there is no ``tool_use_id``)."""

    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    permission_suggestions: list[dict[str, Any]] | None = None  # PermissionUpdate objects
    mcp_server: McpServer | None = None


class PermissionDeniedInput(HookInput):
    """Auto mode denied a tool call."""

    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    tool_use_id: str | None = None
    reason: str | None = None
    mcp_server: McpServer | None = None


class PostToolUseInput(HookInput):
    """A tool call succeeded; ``tool_response`` is the tool's structured output."""

    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    tool_response: Any = None
    tool_use_id: str | None = None
    duration_ms: float | None = None
    mcp_server: McpServer | None = None


class PostToolUseFailureInput(HookInput):
    """A tool call failed (for Bash, ``error`` starts with ``Exit code N``)."""

    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    tool_use_id: str | None = None
    error: str | None = None
    is_interrupt: bool | None = None
    duration_ms: float | None = None
    mcp_server: McpServer | None = None


class PostToolBatchInput(HookInput):
    """All tool calls of one model turn have finished."""

    tool_calls: list[BatchToolCall] | None = None


class NotificationInput(HookInput):
    """Claude Code shows a notification."""

    message: str | None = None
    title: str | None = None
    # permission_prompt, idle_prompt, auth_success, elicitation_dialog, elicitation_url_dialog,
    # elicitation_complete, elicitation_response, agent_needs_input, agent_completed
    notification_type: str | None = None


class MessageDisplayInput(HookInput):
    """An assistant message (or a chunk of it) is about to be displayed."""

    turn_id: str | None = None
    message_id: str | None = None
    index: int | None = None
    final: bool | None = None
    delta: str | None = None


class SubagentStartInput(HookInput):
    """A subagent starts (``agent_id`` and ``agent_type`` are in the base fields)."""


class SubagentStopInput(HookInput):
    """A subagent finished; ``agent_type`` may be ``""`` for /compact's summariser forks."""

    stop_hook_active: bool | None = None
    agent_transcript_path: str | None = None
    last_assistant_message: str | None = None
    background_tasks: list[BackgroundTask] | None = None
    session_crons: list[SessionCron] | None = None


class TaskCreatedInput(HookInput):
    """A task was created (TaskCreate)."""

    task_id: str | None = None
    task_subject: str | None = None
    task_description: str | None = None
    teammate_name: str | None = None
    team_name: str | None = None  # deprecated


class TaskCompletedInput(HookInput):
    """A task was marked completed."""

    task_id: str | None = None
    task_subject: str | None = None
    task_description: str | None = None
    teammate_name: str | None = None
    team_name: str | None = None  # deprecated


class StopInput(HookInput):
    """Claude finished its turn."""

    stop_hook_active: bool | None = None
    last_assistant_message: str | None = None
    background_tasks: list[BackgroundTask] | None = None
    session_crons: list[SessionCron] | None = None


class StopFailureInput(HookInput):
    """The turn ended on an API error."""

    # authentication_failed, oauth_org_not_allowed, account_on_hold, verification_required,
    # billing_error, rate_limit, overloaded, invalid_request, model_not_found, server_error,
    # unknown, max_output_tokens, cloud_credential_error
    error: str | None = None
    error_details: str | None = None
    last_assistant_message: str | None = None


class TeammateIdleInput(HookInput):
    """An agent-team teammate is about to go idle."""

    teammate_name: str | None = None
    team_name: str | None = None  # deprecated


class PreCompactInput(HookInput):
    """The conversation is about to be compacted."""

    trigger: str | None = None  # manual/auto
    custom_instructions: str | None = None  # may be null


class PostCompactInput(HookInput):
    """The conversation was compacted."""

    trigger: str | None = None  # manual/auto
    compact_summary: str | None = None


class PreModelSwitchInput(HookInput):
    """The model is about to change (``/model``, the picker, the SDK)."""

    from_model: str | None = None
    to_model: str | None = None
    requested_model: str | None = None  # may be null
    source: str | None = None  # command/picker/sdk
    context_tokens: int | None = None
    prompt_cache_warm: bool | None = None
    cache_ttl: str | None = None  # 5m/1h
    estimated_cache_write_usd: float | None = None
    pricing: str | None = None  # configured/catalog/default


class PostModelSwitchInput(HookInput):
    """The model changed; same fields as PreModelSwitch (``source`` may also be auto/resume)."""

    from_model: str | None = None
    to_model: str | None = None
    requested_model: str | None = None
    source: str | None = None  # command/picker/sdk/auto/resume
    context_tokens: int | None = None
    prompt_cache_warm: bool | None = None
    cache_ttl: str | None = None
    estimated_cache_write_usd: float | None = None
    pricing: str | None = None


class ElicitationInput(HookInput):
    """An MCP server asks the user for input."""

    mcp_server_name: str | None = None
    message: str | None = None
    mode: str | None = None  # form/url
    url: str | None = None
    elicitation_id: str | None = None
    requested_schema: dict[str, Any] | None = None


class ElicitationResultInput(HookInput):
    """The user answered an elicitation."""

    mcp_server_name: str | None = None
    elicitation_id: str | None = None
    mode: str | None = None  # form/url
    action: str | None = None  # accept/decline/cancel
    content: dict[str, Any] | None = None


class ConfigChangeInput(HookInput):
    """A settings file or skill changed during the session."""

    # user_settings/project_settings/local_settings/policy_settings/skills
    source: str | None = None
    file_path: str | None = None


class WorktreeCreateInput(HookInput):
    """A git worktree is to be created; a command hook prints its absolute path."""

    name: str | None = None


class WorktreeRemoveInput(HookInput):
    """A worktree is being removed."""

    worktree_path: str | None = None


class CwdChangedInput(HookInput):
    """Claude's working directory changed."""

    old_cwd: str | None = None
    new_cwd: str | None = None


class FileChangedInput(HookInput):
    """A watched file changed."""

    file_path: str | None = None
    event: str | None = None  # change/add/unlink


class DirectoryAddedInput(HookInput):
    """A directory was added to the workspace."""

    directory: str | None = None
    source: str | None = None  # slash_command/register_repo_root


class SessionEndInput(HookInput):
    """The session ends."""

    reason: str | None = None  # clear/resume/logout/prompt_input_exit/other


EVENT_MODELS: dict[str, type[HookInput]] = {
    "SessionStart": SessionStartInput,
    "Setup": SetupInput,
    "InstructionsLoaded": InstructionsLoadedInput,
    "UserPromptSubmit": UserPromptSubmitInput,
    "UserPromptExpansion": UserPromptExpansionInput,
    "PreSkillShellCommand": PreSkillShellCommandInput,
    "PreToolUse": PreToolUseInput,
    "PermissionRequest": PermissionRequestInput,
    "PermissionDenied": PermissionDeniedInput,
    "PostToolUse": PostToolUseInput,
    "PostToolUseFailure": PostToolUseFailureInput,
    "PostToolBatch": PostToolBatchInput,
    "Notification": NotificationInput,
    "MessageDisplay": MessageDisplayInput,
    "SubagentStart": SubagentStartInput,
    "SubagentStop": SubagentStopInput,
    "TaskCreated": TaskCreatedInput,
    "TaskCompleted": TaskCompletedInput,
    "Stop": StopInput,
    "StopFailure": StopFailureInput,
    "TeammateIdle": TeammateIdleInput,
    "PreCompact": PreCompactInput,
    "PostCompact": PostCompactInput,
    "PreModelSwitch": PreModelSwitchInput,
    "PostModelSwitch": PostModelSwitchInput,
    "Elicitation": ElicitationInput,
    "ElicitationResult": ElicitationResultInput,
    "ConfigChange": ConfigChangeInput,
    "WorktreeCreate": WorktreeCreateInput,
    "WorktreeRemove": WorktreeRemoveInput,
    "CwdChanged": CwdChangedInput,
    "FileChanged": FileChangedInput,
    "DirectoryAdded": DirectoryAddedInput,
    "SessionEnd": SessionEndInput,
}


def parse_event(data: Mapping[str, Any]) -> HookInput:
    """Validate one stdin payload with the model of its ``hook_event_name``.

    An unknown event name gives the base :class:`HookInput`; a missing ``hook_event_name`` (or a
    field of the wrong type) raises :class:`pydantic.ValidationError`.
    """
    name = data.get("hook_event_name")
    model = EVENT_MODELS.get(name, HookInput) if isinstance(name, str) else HookInput
    return model.model_validate(data)


# --------------------------------------------------------------------------------------------
# Replies: hookSpecificOutput per event, then the top-level reply
# --------------------------------------------------------------------------------------------


class SessionStartSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["SessionStart"]
    additionalContext: str | None = None
    initialUserMessage: str | None = None
    sessionTitle: str | None = None
    watchPaths: list[str] | None = None
    reloadSkills: bool | None = None


class SetupSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["Setup"]
    additionalContext: str | None = None


class UserPromptSubmitSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["UserPromptSubmit"]
    additionalContext: str | None = None
    sessionTitle: str | None = None
    suppressOriginalPrompt: bool | None = None


class UserPromptExpansionSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["UserPromptExpansion"]
    additionalContext: str | None = None
    suppressOriginalPrompt: bool | None = None


class PreSkillShellCommandSpecificOutput(BaseModel):
    """``allow`` adds nothing; deny, ask, defer and any ``updatedInput`` all stop the command."""

    model_config = _STRICT

    hookEventName: Literal["PreSkillShellCommand"]
    permissionDecision: Literal["allow", "deny", "ask", "defer"] | None = None
    permissionDecisionReason: str | None = None
    updatedInput: dict[str, Any] | None = None


class PreToolUseSpecificOutput(BaseModel):
    """``updatedInput`` replaces the whole tool input; the reason reaches Claude only on deny."""

    model_config = _STRICT

    hookEventName: Literal["PreToolUse"]
    permissionDecision: Literal["allow", "deny", "ask", "defer"] | None = None
    permissionDecisionReason: str | None = None
    updatedInput: dict[str, Any] | None = None
    additionalContext: str | None = None


class PermissionAllow(BaseModel):
    """PermissionRequest ``decision`` that grants the request."""

    model_config = _STRICT

    behavior: Literal["allow"]
    updatedInput: dict[str, Any] | None = None
    updatedPermissions: list[dict[str, Any]] | None = None  # PermissionUpdate objects


class PermissionDeny(BaseModel):
    """PermissionRequest ``decision`` that refuses the request."""

    model_config = _STRICT

    behavior: Literal["deny"]
    message: str | None = None
    interrupt: bool | None = None


class PermissionRequestSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["PermissionRequest"]
    decision: Annotated[PermissionAllow | PermissionDeny, Field(discriminator="behavior")]


class PermissionDeniedSpecificOutput(BaseModel):
    """``retry: true`` lets the model try the denied call again (auto mode)."""

    model_config = _STRICT

    hookEventName: Literal["PermissionDenied"]
    retry: bool | None = None


class PostToolUseSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["PostToolUse"]
    additionalContext: str | None = None
    updatedToolOutput: Any = None
    updatedMCPToolOutput: Any = None
    classifierContext: str | None = None


class PostToolUseFailureSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["PostToolUseFailure"]
    additionalContext: str | None = None


class PostToolBatchSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["PostToolBatch"]
    additionalContext: str | None = None


class MessageDisplaySpecificOutput(BaseModel):
    """``displayContent`` changes what the user sees, not what the model saw."""

    model_config = _STRICT

    hookEventName: Literal["MessageDisplay"]
    displayContent: str | None = None


class SubagentStartSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["SubagentStart"]
    additionalContext: str | None = None


class SubagentStopSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["SubagentStop"]
    additionalContext: str | None = None


class StopSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["Stop"]
    additionalContext: str | None = None


class PreModelSwitchSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["PreModelSwitch"]
    permissionDecision: Literal["allow", "deny", "ask"] | None = None
    permissionDecisionReason: str | None = None


class PostModelSwitchSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["PostModelSwitch"]
    additionalContext: str | None = None


class ElicitationSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["Elicitation"]
    action: Literal["accept", "decline", "cancel"] | None = None
    content: dict[str, Any] | None = None


class ElicitationResultSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["ElicitationResult"]
    action: Literal["accept", "decline", "cancel"] | None = None
    content: dict[str, Any] | None = None


class CwdChangedSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["CwdChanged"]
    watchPaths: list[str] | None = None


class FileChangedSpecificOutput(BaseModel):
    model_config = _STRICT

    hookEventName: Literal["FileChanged"]
    watchPaths: list[str] | None = None


#: Any event's ``hookSpecificOutput``, chosen by its ``hookEventName``.
HookSpecificOutput = Annotated[
    SessionStartSpecificOutput
    | SetupSpecificOutput
    | UserPromptSubmitSpecificOutput
    | UserPromptExpansionSpecificOutput
    | PreSkillShellCommandSpecificOutput
    | PreToolUseSpecificOutput
    | PermissionRequestSpecificOutput
    | PermissionDeniedSpecificOutput
    | PostToolUseSpecificOutput
    | PostToolUseFailureSpecificOutput
    | PostToolBatchSpecificOutput
    | MessageDisplaySpecificOutput
    | SubagentStartSpecificOutput
    | SubagentStopSpecificOutput
    | StopSpecificOutput
    | PreModelSwitchSpecificOutput
    | PostModelSwitchSpecificOutput
    | ElicitationSpecificOutput
    | ElicitationResultSpecificOutput
    | CwdChangedSpecificOutput
    | FileChangedSpecificOutput,
    Field(discriminator="hookEventName"),
]

REPLY_MODELS: dict[str, type[BaseModel]] = {
    "SessionStart": SessionStartSpecificOutput,
    "Setup": SetupSpecificOutput,
    "UserPromptSubmit": UserPromptSubmitSpecificOutput,
    "UserPromptExpansion": UserPromptExpansionSpecificOutput,
    "PreSkillShellCommand": PreSkillShellCommandSpecificOutput,
    "PreToolUse": PreToolUseSpecificOutput,
    "PermissionRequest": PermissionRequestSpecificOutput,
    "PermissionDenied": PermissionDeniedSpecificOutput,
    "PostToolUse": PostToolUseSpecificOutput,
    "PostToolUseFailure": PostToolUseFailureSpecificOutput,
    "PostToolBatch": PostToolBatchSpecificOutput,
    "MessageDisplay": MessageDisplaySpecificOutput,
    "SubagentStart": SubagentStartSpecificOutput,
    "SubagentStop": SubagentStopSpecificOutput,
    "Stop": StopSpecificOutput,
    "PreModelSwitch": PreModelSwitchSpecificOutput,
    "PostModelSwitch": PostModelSwitchSpecificOutput,
    "Elicitation": ElicitationSpecificOutput,
    "ElicitationResult": ElicitationResultSpecificOutput,
    "CwdChanged": CwdChangedSpecificOutput,
    "FileChanged": FileChangedSpecificOutput,
}


class HookReply(BaseModel):
    """The JSON a synchronous hook prints on stdout.

    ``continue`` is a Python keyword, so the field is ``continue_`` and only its alias is
    accepted on input; :meth:`to_dict` gives the wire form. ``async`` replies (SDK callbacks
    only) are not modelled and are rejected.
    """

    model_config = _STRICT

    continue_: bool | None = Field(default=None, alias="continue")
    stopReason: str | None = None
    suppressOutput: bool | None = None
    systemMessage: str | None = None
    decision: Literal["block", "approve"] | None = None  # "approve" is deprecated
    reason: str | None = None
    terminalSequence: str | None = None
    hookSpecificOutput: HookSpecificOutput | None = None

    def to_dict(self) -> dict[str, Any]:
        """The reply as Claude Code reads it: wire names, unset fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True)


def validate_reply(event_name: str, reply: Mapping[str, Any]) -> HookReply:
    """Validate a full reply ``reply`` meant for the event ``event_name``.

    Unknown fields anywhere raise :class:`pydantic.ValidationError`; a ``hookSpecificOutput`` on
    an event that has none, or one whose ``hookEventName`` is not ``event_name``, raises
    :class:`ValueError` (of which ``ValidationError`` is a subclass).
    """
    if reply.get("hookSpecificOutput") is not None and event_name not in REPLY_MODELS:
        raise ValueError(f"{event_name} replies take no hookSpecificOutput")
    parsed = HookReply.model_validate(reply)
    specific = parsed.hookSpecificOutput
    if specific is not None and specific.hookEventName != event_name:
        raise ValueError(
            f"hookSpecificOutput.hookEventName is {specific.hookEventName!r}, "
            f"expected {event_name!r}"
        )
    return parsed
