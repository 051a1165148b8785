"""Capacity: a registered tool's ``max_instances``, enforced at the Agent call.

At ``PreToolUse`` of ``Agent`` with a ``subagent_type`` that is a tool of the registry,
the free instances are counted and one is taken in one step (:func:`state.capacity.hold_agent`).
When none is free, ``capacity.policy`` (per project overridable) decides:

* ``ask``  (default) — ``permissionDecision: ask``, naming what holds the instances;
* ``deny`` — ``permissionDecision: deny``, with that reason;
* ``warn`` — allowed, with the reason as ``additionalContext``;
* ``off``  — not enforced (still counted).

``SubagentStart`` turns the reservation into the running agent, ``SubagentStop`` and the
end of a foreground call release it, and so do a failed or denied call (PermissionDenied),
the end of the turn for a call that never ran (Stop: refused at Claude Code's permission
prompt, interrupted) and the session's end.
A call whose description or prompt names one of the session's tasks that occupies the
tool already (``T-3``) uses that task's instance.
"""

from __future__ import annotations

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event


def _tool(event: Event) -> str | None:
    data = event.tool_input if event.tool_name == "Agent" else {}
    value = data.get("subagent_type") if isinstance(data, dict) else None
    return value[:128] if isinstance(value, str) and value else None


def _project(ctx: HandlerContext, sid: str) -> str | None:
    from state.paths import is_id, session_key

    project = (ctx.store.read(session_key(sid, "state.json")) or {}).get("project")
    return project if isinstance(project, str) and is_id(project) else None


@hookimpl(tools=("Agent",))
def on_pre_tool_use(event: Event, ctx: HandlerContext) -> dict[str, Any] | None:
    sid, tool = event.session_id, _tool(event)
    if sid is None or tool is None or not event.tool_use_id:
        return None
    from state.capacity import hold_agent

    data = event.tool_input
    text = " ".join(str(data.get(k) or "") for k in ("description", "prompt"))
    decision, reason = hold_agent(ctx.store, session=sid, tool=tool,
                                  tool_use_id=event.tool_use_id[:128],
                                  project=_project(ctx, sid), text=text[:20000],
                                  config=ctx.config, at=ctx.now)
    if reason is None:
        return None
    if decision == "warn":
        return {"hookSpecificOutput": {"additionalContext": reason}}
    if decision in ("ask", "deny"):
        return {"hookSpecificOutput": {"permissionDecision": decision,
                                       "permissionDecisionReason": reason}}
    return None


@hookimpl
def on_subagent_start(event: Event, ctx: HandlerContext) -> None:
    sid, agent_type, agent_id = event.session_id, event.agent_type, event.agent_id
    if sid is None or not agent_type or not agent_id:
        return
    from state.capacity import start_agent

    start_agent(ctx.store, session=sid, tool=str(agent_type)[:128], agent_id=str(agent_id)[:128],
                config=ctx.config, at=ctx.now)


@hookimpl
def on_subagent_stop(event: Event, ctx: HandlerContext) -> None:
    sid, agent_id = event.session_id, event.agent_id
    if sid is None or not agent_id:
        return
    from state.capacity import release_agent

    release_agent(ctx.store, session=sid, agent_id=str(agent_id)[:128])


@hookimpl(tools=("Agent",))
def on_post_tool_use(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None or event.tool_name != "Agent" or not event.tool_use_id:
        return
    response = event.tool_response if isinstance(event.tool_response, dict) else {}
    if response.get("status") == "async_launched":
        return  # a background agent: busy until its SubagentStop
    from state.capacity import release_agent

    release_agent(ctx.store, session=sid, tool_use_id=event.tool_use_id[:128])


@hookimpl(tools=("Agent",))
def on_post_tool_use_failure(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None or event.tool_name != "Agent" or not event.tool_use_id:
        return
    from state.capacity import release_agent

    release_agent(ctx.store, session=sid, tool_use_id=event.tool_use_id[:128])


@hookimpl(tools=("Agent",))
def on_permission_denied(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None or event.tool_name != "Agent" or not event.tool_use_id:
        return
    from state.capacity import release_agent

    release_agent(ctx.store, session=sid, tool_use_id=event.tool_use_id[:128])


@hookimpl
def on_stop(event: Event, ctx: HandlerContext) -> None:
    """Every call of the turn is answered: a reservation no agent took up is released."""
    if event.session_id is None:
        return
    from state.capacity import release_unanswered

    release_unanswered(ctx.store, event.session_id)


@hookimpl
def on_session_end(event: Event, ctx: HandlerContext) -> None:
    if event.session_id is None:
        return
    from state.capacity import release_session

    release_session(ctx.store, event.session_id)
