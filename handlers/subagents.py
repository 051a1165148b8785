"""Subagents: ``active_work.agents`` in the session document stays current.

* ``PreToolUse`` of the ``Agent`` tool records a pending call
  (``call-<tool_use_id>``: type, description, background or not);
* ``SubagentStart`` records the agent (``agent_id``, ``agent_type``, ``busy``) and
  takes over the oldest pending call of the same type (its description becomes
  the agent's ``task``);
* ``SubagentStop`` marks it ``done`` with its stop time and last message;
* ``PostToolUse`` of ``Agent`` ends a foreground call (``done``); a background
  call (``status: async_launched``) stays ``busy`` until its SubagentStop.
"""

from __future__ import annotations

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event


def _agents(event: Event, ctx: HandlerContext, change: Any) -> None:
    from state.paths import session_key

    assert event.session_id is not None
    with ctx.store.transaction(session_key(event.session_id, "state.json")) as doc:
        if "session_id" not in doc:  # the stored one was corrupt and has just been moved aside
            from handlers.session import _ensure

            _ensure(event, ctx, doc)
        active = doc.setdefault("active_work", {})
        agents = active.setdefault("agents", {})
        change(agents)


def _text(value: Any, limit: int = 500) -> str | None:
    return value[:limit] if isinstance(value, str) else None


@hookimpl(tools=("Agent",))
def on_pre_tool_use(event: Event, ctx: HandlerContext) -> None:
    if event.session_id is None or event.tool_name != "Agent" or not event.tool_use_id:
        return
    from state.clock import iso

    data = event.tool_input
    call = {"status": "starting", "agent_type": _text(data.get("subagent_type")) or
            "general-purpose", "task": _text(data.get("description")),
            "background": data.get("run_in_background") is True,
            "tool_use_id": event.tool_use_id, "requested_at": iso(ctx.now)}
    _agents(event, ctx, lambda agents: agents.__setitem__(f"call-{event.tool_use_id}", call))


@hookimpl
def on_subagent_start(event: Event, ctx: HandlerContext) -> None:
    agent_id = event.agent_id
    if event.session_id is None or not agent_id:
        return
    from state.clock import iso

    def change(agents: dict[str, Any]) -> None:
        agent = agents.setdefault(agent_id, {})
        agent.update({"agent_id": agent_id, "agent_type": event.agent_type, "status": "busy",
                      "started_at": agent.get("started_at") or iso(ctx.now)})
        pending = sorted((v.get("requested_at", ""), k) for k, v in agents.items()
                         if k.startswith("call-") and v.get("status") == "starting"
                         and v.get("agent_type") == event.agent_type)
        if pending:
            call = agents.pop(pending[0][1])
            agent.update({k: call[k] for k in ("task", "background", "tool_use_id") if k in call})

    _agents(event, ctx, change)


@hookimpl
def on_subagent_stop(event: Event, ctx: HandlerContext) -> None:
    agent_id = event.agent_id
    if event.session_id is None or not agent_id:
        return
    from state.clock import iso

    def change(agents: dict[str, Any]) -> None:
        agent = agents.setdefault(agent_id, {"agent_id": agent_id,
                                             "agent_type": event.agent_type})
        agent.update({"status": "done", "stopped_at": iso(ctx.now)})
        message = _text(event.get("last_assistant_message"))
        if message:
            agent["last_message"] = message

    _agents(event, ctx, change)


@hookimpl(tools=("Agent",))
def on_post_tool_use(event: Event, ctx: HandlerContext) -> None:
    if event.session_id is None or event.tool_name != "Agent" or not event.tool_use_id:
        return
    from state.clock import iso

    response = event.tool_response if isinstance(event.tool_response, dict) else {}
    background = response.get("status") == "async_launched"
    stamp = iso(ctx.now)

    def change(agents: dict[str, Any]) -> None:
        call = agents.pop(f"call-{event.tool_use_id}", None)
        agent_id = response.get("agentId") or response.get("agent_id")
        target = None
        if isinstance(agent_id, str) and agent_id:
            target = agents.setdefault(agent_id[:128], {"agent_id": agent_id[:128]})
        else:
            target = next((a for a in agents.values()
                           if a.get("tool_use_id") == event.tool_use_id), None)
        if target is None:
            if call is None:
                return
            target = agents.setdefault(f"call-{event.tool_use_id}", call)
        if call:
            for key in ("task", "agent_type", "tool_use_id"):
                target.setdefault(key, call.get(key))
        target["background"] = background or target.get("background", False)
        if not background:
            target["status"] = "done"
            target.setdefault("stopped_at", stamp)
        elif target.get("status") != "done":
            target["status"] = "busy"

    _agents(event, ctx, change)
