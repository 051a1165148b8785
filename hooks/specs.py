"""Every hook Orchestra offers, in one module (the contract for plugin authors).

One spec per Claude Code event, named after it (``PreToolUse`` -> ``on_pre_tool_use``),
plus:

* :func:`on_event` — called for *every* event, known or not (loggers, heartbeats);
* :func:`after_dispatch` — called once the reply is merged (audit, metrics);
* :func:`on_state_change` — called after a committed state change (triggers);
* :func:`on_needs_attention` — called when a session starts waiting for a person.

Every event spec takes the same two arguments (an implementation may accept
either, both, or none):

:param event: :class:`hooks.events.Event` — a read-only view of Claude Code's
    payload with typed accessors (``event.tool_name``, ``event.tool_input``...);
    ``event.model()`` builds the full pydantic model when a handler needs it.
:param ctx: :class:`hooks.context.HandlerContext` — the store, the session's
    state, the config, a logger and the clock. Handlers never build paths.

Return value of an event spec: a partial Claude Code reply (a ``dict`` shaped
like Claude Code's JSON output, best built with :mod:`hooks.replies`), or
``None`` for "nothing to say". The dispatcher merges all answers with
:func:`hooks.merge.merge_replies` (most restrictive decision wins; context is
concatenated and attributed to each handler) and drops fields the event does
not honour. A handler that raises is logged and skipped, unless it is a guard
(``@hookimpl(guard=True)``), which fails closed on decision events.
"""

from __future__ import annotations

from typing import Any

import pluggy

from hooks import NAME
from hooks.context import HandlerContext
from hooks.events import Event

__all__ = ["hookspec"]

hookspec = pluggy.HookspecMarker(NAME)

Reply = dict[str, Any] | None


@hookspec
def on_event(event: Event, ctx: HandlerContext) -> Reply:
    """Called for every event Claude Code sends, before the event's own spec.

    Also receives events Orchestra has no spec for (added by a later Claude
    Code); for those, replies are ignored and nothing is sent back.

    :return: a partial reply merged like the event spec's, or ``None``.
    """


@hookspec
def after_dispatch(event: Event, reply: dict[str, Any] | None, ctx: HandlerContext) -> None:
    """Called once per event after all replies were merged, before it is written.

    :param reply: the merged reply about to be printed (``None`` when empty);
        read it, do not change it.
    :return: ignored.
    """


@hookspec
def on_needs_attention(attention: dict[str, Any], event: Event, ctx: HandlerContext) -> None:
    """Called when a session starts waiting for a person: for a permission
    (``PermissionRequest``, Notification ``permission_prompt``) or for input (Notification
    ``idle_prompt``, ``elicitation_dialog``, ``elicitation_url_dialog``,
    ``agent_needs_input``; ``Elicitation``). Called once per wait, after the event's own
    handlers: a Notification that follows a PermissionRequest for the same dialog does not
    call it again. The wait ends at the session's next tool event or prompt (of the same
    thread), Stop or SessionEnd. Meant for forwarding to a person (a desktop notifier,
    ntfy, chat): keep it quick, the dispatcher's budget applies; send in the background.

    :param attention: a plain dict: ``session_id``; ``reason`` (``"permission"`` or
        ``"input"``, also as ``for``); ``source`` (the Notification type or the event
        name); ``at`` (ISO time the wait started) and ``since`` (epoch seconds);
        where known ``message`` (bounded, redacted), ``tool`` and ``description`` (the
        call that waits), ``agent_id`` (a subagent that waits), ``project``, ``cwd`` and
        ``claude_name`` (the name Claude Code's ListAgents gives the session).
    :param event: the event that started the wait.
    :return: ignored.
    """


@hookspec
def on_state_change(
    document: str, path: str, old: Any, new: Any, session_id: str | None, ctx: HandlerContext
) -> None:
    """Called after a state change was committed, once per changed value.

    Fires for changes made by handlers during a dispatch and for changes made
    through the CLIs (``state_manager set`` ...).

    :param document: the document's key, e.g. ``sessions/<id>/tasks.json``.
    :param path: dot path of the changed value inside it (``tasks.1.status``).
    :param old: the value before (``None`` when it was added).
    :param new: the value after (``None`` when it was removed).
    :param session_id: the session the document belongs to, or ``None``.
    :return: ignored. Changes made here fire this hook again: avoid loops.
    """


@hookspec
def on_session_start(event: Event, ctx: HandlerContext) -> Reply:
    """``SessionStart``: fires when a session starts, resumes, is cleared or compacted
    (``event.source``: startup/resume/clear/compact/fork).

    :return: a partial reply; honoured here: ``hookSpecificOutput.additionalContext`` (added to
            Claude's context), ``initialUserMessage``, ``sessionTitle``, ``watchPaths``,
            ``reloadSkills``; ``systemMessage``.
        ``None`` means nothing to add.
    """


@hookspec
def on_setup(event: Event, ctx: HandlerContext) -> Reply:
    """``Setup``: fires when Claude Code runs with ``--init``/``--maintenance``
    (``event.get('trigger')``: init/maintenance).

    :return: a partial reply; honoured here: ``additionalContext``.
        ``None`` means nothing to add.
    """


@hookspec
def on_instructions_loaded(event: Event, ctx: HandlerContext) -> Reply:
    """``InstructionsLoaded``: fires when a CLAUDE.md or rules file is loaded (``file_path``,
    ``memory_type``, ``load_reason``).

    :return: a partial reply; honoured here: nothing: Claude Code discards the output, so any reply
            is dropped.
        ``None`` means nothing to add.
    """


@hookspec
def on_user_prompt_submit(event: Event, ctx: HandlerContext) -> Reply:
    """``UserPromptSubmit``: fires when the user submits a prompt (``event.prompt``), before Claude
    sees it.

    :return: a partial reply; honoured here: ``decision: block`` + ``reason`` (the prompt is
            dropped; the reason is shown to the user), ``additionalContext``, ``sessionTitle``,
            ``suppressOriginalPrompt``.
        ``None`` means nothing to add.
    """


@hookspec
def on_user_prompt_expansion(event: Event, ctx: HandlerContext) -> Reply:
    """``UserPromptExpansion``: fires when a slash command or MCP prompt expands (``command_name``,
    ``command_args``).

    :return: a partial reply; honoured here: ``decision: block`` + ``reason``,
            ``additionalContext``, ``suppressOriginalPrompt``.
        ``None`` means nothing to add.
    """


@hookspec
def on_pre_skill_shell_command(event: Event, ctx: HandlerContext) -> Reply:
    """``PreSkillShellCommand``: fires when a skill or command runs an inline shell command
    (``tool_input.command``, ``invoked_by``).

    :return: a partial reply; honoured here: ``permissionDecision`` allow/deny/ask/defer (anything
            but allow stops the command), ``permissionDecisionReason``.
        ``None`` means nothing to add.
    """


@hookspec
def on_pre_tool_use(event: Event, ctx: HandlerContext) -> Reply:
    """``PreToolUse``: fires when Claude is about to run a tool (``tool_name``, ``tool_input``,
    ``tool_use_id``).

    :return: a partial reply; honoured here: ``permissionDecision`` allow/ask/defer/deny (merged:
            deny > defer > ask > allow), ``permissionDecisionReason``, ``updatedInput`` (replaces
            the whole input), ``additionalContext``.
        ``None`` means nothing to add.
    """


@hookspec
def on_permission_request(event: Event, ctx: HandlerContext) -> Reply:
    """``PermissionRequest``: fires when Claude Code is about to show a permission dialog (no
    ``tool_use_id``).

    :return: a partial reply; honoured here: ``hookSpecificOutput.decision`` ``{behavior: allow,
            updatedInput?}`` or ``{behavior: deny, message?, interrupt?}``.
        ``None`` means nothing to add.
    """


@hookspec
def on_permission_denied(event: Event, ctx: HandlerContext) -> Reply:
    """``PermissionDenied``: fires when auto mode's classifier denied a tool call (``reason``).

    :return: a partial reply; honoured here: ``retry: true`` to let Claude try again.
        ``None`` means nothing to add.
    """


@hookspec
def on_post_tool_use(event: Event, ctx: HandlerContext) -> Reply:
    """``PostToolUse``: fires when a tool finished successfully (``tool_response`` is its structured
    output, ``duration_ms``).

    :return: a partial reply; honoured here: ``decision: block`` + ``reason`` (shown to Claude next
            to the result), ``additionalContext``, ``updatedToolOutput``, ``updatedMCPToolOutput``.
        ``None`` means nothing to add.
    """


@hookspec
def on_post_tool_use_failure(event: Event, ctx: HandlerContext) -> Reply:
    """``PostToolUseFailure``: fires when a tool failed (``error``; Bash: first line ``Exit code
    N``; ``is_interrupt``).

    :return: a partial reply; honoured here: ``additionalContext``.
        ``None`` means nothing to add.
    """


@hookspec
def on_post_tool_batch(event: Event, ctx: HandlerContext) -> Reply:
    """``PostToolBatch``: fires when all tool calls of one model turn finished (``tool_calls``:
    model-facing strings).

    :return: a partial reply; honoured here: ``decision: block`` or ``continue: false`` (stop before
            the next model call), ``additionalContext``.
        ``None`` means nothing to add.
    """


@hookspec
def on_notification(event: Event, ctx: HandlerContext) -> Reply:
    """``Notification``: fires when Claude Code shows a notification (``message``,
    ``notification_type``).

    :return: a partial reply; honoured here: nothing (only a terminal sequence); any reply is
            dropped.
        ``None`` means nothing to add.
    """


@hookspec
def on_message_display(event: Event, ctx: HandlerContext) -> Reply:
    """``MessageDisplay``: fires when an assistant message is displayed (``turn_id``, ``index``,
    ``final``, ``delta``).

    :return: a partial reply; honoured here: ``displayContent`` (changes the display only).
        ``None`` means nothing to add.
    """


@hookspec
def on_subagent_start(event: Event, ctx: HandlerContext) -> Reply:
    """``SubagentStart``: fires when a subagent starts (``agent_id``, ``agent_type``).

    :return: a partial reply; honoured here: ``additionalContext`` (goes into the subagent).
        ``None`` means nothing to add.
    """


@hookspec
def on_subagent_stop(event: Event, ctx: HandlerContext) -> Reply:
    """``SubagentStop``: fires when a subagent finishes (``agent_id``, ``agent_transcript_path``,
    ``stop_hook_active``).

    :return: a partial reply; honoured here: ``decision: block`` + ``reason`` (the subagent
            continues), ``additionalContext``.
        ``None`` means nothing to add.
    """


@hookspec
def on_task_created(event: Event, ctx: HandlerContext) -> Reply:
    """``TaskCreated``: fires when a task is created through TaskCreate (``task_id``,
    ``task_subject``).

    :return: a partial reply; honoured here: ``decision: block`` + ``reason`` deletes the task.
        ``None`` means nothing to add.
    """


@hookspec
def on_task_completed(event: Event, ctx: HandlerContext) -> Reply:
    """``TaskCompleted``: fires when a task is marked completed (``task_id``, ``task_subject``).

    :return: a partial reply; honoured here: a block keeps the task open (sent as exit 2 with the
            reason on stderr, the only form Claude Code honours here); ``continue: false`` +
            ``stopReason``.
        ``None`` means nothing to add.
    """


@hookspec
def on_stop(event: Event, ctx: HandlerContext) -> Reply:
    """``Stop``: fires when Claude finishes its turn (``stop_hook_active`` is true when a Stop hook
    already continued it).

    :return: a partial reply; honoured here: ``decision: block`` + ``reason`` (Claude continues with
            the reason; never block when ``stop_hook_active``), ``additionalContext``.
        ``None`` means nothing to add.
    """


@hookspec
def on_stop_failure(event: Event, ctx: HandlerContext) -> Reply:
    """``StopFailure``: fires when the turn ended on an API error (``error``).

    :return: a partial reply; honoured here: nothing: output is ignored.
        ``None`` means nothing to add.
    """


@hookspec
def on_teammate_idle(event: Event, ctx: HandlerContext) -> Reply:
    """``TeammateIdle``: fires when an agent-team teammate is about to go idle (``teammate_name``).

    :return: a partial reply; honoured here: a block keeps it working (sent as exit 2); ``continue:
            false`` + ``stopReason``.
        ``None`` means nothing to add.
    """


@hookspec
def on_pre_compact(event: Event, ctx: HandlerContext) -> Reply:
    """``PreCompact``: fires when the conversation is about to be compacted
    (``trigger`` manual/auto).

    :return: a partial reply; honoured here: ``decision: block`` stops the compaction.
        ``None`` means nothing to add.
    """


@hookspec
def on_post_compact(event: Event, ctx: HandlerContext) -> Reply:
    """``PostCompact``: fires when compaction has finished (``compact_summary``).

    :return: a partial reply; honoured here: nothing; any reply is dropped.
        ``None`` means nothing to add.
    """


@hookspec
def on_pre_model_switch(event: Event, ctx: HandlerContext) -> Reply:
    """``PreModelSwitch``: fires when the model is about to change (``from_model``, ``to_model``).

    :return: a partial reply; honoured here: ``permissionDecision`` allow/deny/ask +
            ``permissionDecisionReason``.
        ``None`` means nothing to add.
    """


@hookspec
def on_post_model_switch(event: Event, ctx: HandlerContext) -> Reply:
    """``PostModelSwitch``: fires when the model has changed.

    :return: a partial reply; honoured here: ``additionalContext``.
        ``None`` means nothing to add.
    """


@hookspec
def on_elicitation(event: Event, ctx: HandlerContext) -> Reply:
    """``Elicitation``: fires when an MCP server asks the user for input (``mcp_server_name``,
    ``requested_schema``).

    :return: a partial reply; honoured here: ``action`` accept/decline/cancel (merged: cancel >
            decline > accept) and ``content``.
        ``None`` means nothing to add.
    """


@hookspec
def on_elicitation_result(event: Event, ctx: HandlerContext) -> Reply:
    """``ElicitationResult``: fires when the user answered an elicitation (``action``, ``content``).

    :return: a partial reply; honoured here: ``action`` and ``content`` override the answer.
        ``None`` means nothing to add.
    """


@hookspec
def on_config_change(event: Event, ctx: HandlerContext) -> Reply:
    """``ConfigChange``: fires when a settings file changed during the session (``source``,
    ``file_path``).

    :return: a partial reply; honoured here: ``decision: block`` keeps the old settings (not for
            policy settings).
        ``None`` means nothing to add.
    """


@hookspec
def on_worktree_create(event: Event, ctx: HandlerContext) -> Reply:
    """``WorktreeCreate``: fires when Claude Code creates a worktree (``name``). Orchestra does not
    register for it: a hook there *replaces* git's worktree creation.

    :return: a partial reply; honoured here: nothing: a command hook would have to print the
            worktree path, which Orchestra never does.
        ``None`` means nothing to add.
    """


@hookspec
def on_worktree_remove(event: Event, ctx: HandlerContext) -> Reply:
    """``WorktreeRemove``: fires when a worktree is removed (``worktree_path``).

    :return: a partial reply; honoured here: nothing; any reply is dropped.
        ``None`` means nothing to add.
    """


@hookspec
def on_cwd_changed(event: Event, ctx: HandlerContext) -> Reply:
    """``CwdChanged``: fires when Claude's working directory changed (``old_cwd``, ``new_cwd``).

    :return: a partial reply; honoured here: ``watchPaths``, ``systemMessage``.
        ``None`` means nothing to add.
    """


@hookspec
def on_file_changed(event: Event, ctx: HandlerContext) -> Reply:
    """``FileChanged``: fires when a watched file changed (``file_path``, ``event``
    change/add/unlink).

    :return: a partial reply; honoured here: ``watchPaths``, ``systemMessage``.
        ``None`` means nothing to add.
    """


@hookspec
def on_directory_added(event: Event, ctx: HandlerContext) -> Reply:
    """``DirectoryAdded``: fires when a directory is added to the session (``directory``,
    ``source``).

    :return: a partial reply; honoured here: ``systemMessage``.
        ``None`` means nothing to add.
    """


@hookspec
def on_session_end(event: Event, ctx: HandlerContext) -> Reply:
    """``SessionEnd``: fires when the session ends (``reason``:
    clear/resume/logout/prompt_input_exit/other). All SessionEnd hooks share 1.5 s, so the
    dispatcher's budget here is 1 s.

    :return: a partial reply; honoured here: nothing; any reply is dropped. Do only quick, local
            work.
        ``None`` means nothing to add.
    """
