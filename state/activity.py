"""What a session is doing, as views show it: from the activity its hooks recorded.

The hooks fold every event into ``activity`` in ``heartbeat.json`` (see
:mod:`handlers.heartbeat`). :func:`describe` turns that record, the session's status and
its subagents into the ``activity`` of a session summary:

* ``state`` — ``working``, ``waiting_permission``, ``waiting_input``, ``idle``
  (between turns), ``ended`` (SessionEnd, or ended by hand) or ``gone`` (no heartbeat
  for ``presence.idle_seconds`` and no SessionEnd: its terminal was probably closed).
  A session that waits for a person sends nothing while it waits, so its wait holds
  past ``presence.idle_seconds``, up to ``presence.stale_seconds``;
  ``label`` says it in words and ``since`` when it began;
* ``running`` (tool calls, with their descriptions), ``subagents`` (busy ones, with
  their tasks), ``background`` (Claude Code's background tasks at the last Stop);
* ``waiting`` (for what, why, since when), ``prompt`` (first line of the last prompt),
  ``answer`` (first line of the last answer), ``files`` (written this session),
  ``last_tool``: each with its time.

:func:`doing` makes one line of it: what a live session is doing or waits for, what an
ended one was asked, changed and answered; None when nothing at all is known.
"""

from __future__ import annotations

from state.clock import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ANSWER_TYPES", "ELICITATIONS", "LABELS", "WAIT_TYPES", "describe", "doing",
           "is_waiting"]

#: Notification types that mean a person is needed: what the session then waits for
#: (the heartbeat's fold and the timeline read waits alike from these).
WAIT_TYPES = {
    "permission_prompt": "permission",
    "idle_prompt": "input",
    "elicitation_dialog": "input",
    "elicitation_url_dialog": "input",
    "agent_needs_input": "input",
}
#: Notification types that end a wait of the kind they answer.
ANSWER_TYPES = frozenset({"elicitation_complete", "elicitation_response"})
#: What started a wait that an elicitation's answer ends.
ELICITATIONS = frozenset({"Elicitation", "elicitation_dialog", "elicitation_url_dialog"})

LABELS = {
    "working": "working",
    "waiting_permission": "waiting for permission",
    "waiting_input": "waiting for input",
    "idle": "idle between turns",
    "ended": "ended",
    "gone": "gone",
}
MAX_LISTED = 8


def _when(value: Any) -> str | None:
    return iso(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _stamped(value: Any, keep: tuple[str, ...]) -> dict[str, Any] | None:
    """A recorded item with its epoch times as ISO times."""
    if not isinstance(value, dict):
        return None
    out = {k: value[k] for k in keep if value.get(k) is not None}
    for key in ("at", "since"):
        if key in value:
            out[key] = _when(value[key])
    return out


def describe(record: dict[str, Any] | None, status: str,
             agents: dict[str, Any] | None = None, ended_at: str | None = None,
             wait_holds: bool = False) -> dict[str, Any]:
    """The ``activity`` of a session summary (see the module docstring).

    ``record``: ``heartbeat.json``'s ``activity``; ``status``: the session's status
    (active/idle/stale/ended); ``agents``: ``active_work.agents`` of its state;
    ``wait_holds``: a stale session that was waiting for a person still is (its last
    heartbeat is younger than ``presence.stale_seconds``).
    """
    act = _dict(record)
    recorded = act.get("state")
    waiting = _dict(act.get("waiting")) or None
    if status == "ended":
        state, since = "ended", act.get("ended_at") or ended_at
    elif status == "stale" and not (wait_holds and recorded == "waiting" and waiting):
        state, since = "gone", None
    elif recorded == "waiting" and waiting:
        state = "waiting_permission" if waiting.get("for") == "permission" else "waiting_input"
        since = waiting.get("since")
    elif recorded == "idle":
        state, since = "idle", act.get("idle_at")
    elif recorded == "working":
        state, since = "working", act.get("turn_at")
    else:
        state, since = "idle", None  # nothing recorded yet (a session from before)
    running = []
    tools = _dict(act.get("tools"))
    if state in ("working", "waiting_permission", "waiting_input"):
        for key, call in sorted(tools.items(), key=lambda kv: _at(kv[1])):
            item = _stamped(call, ("tool", "description", "agent_id"))
            if item is not None:
                running.append({**item, "tool_use_id": key})
    subagents = []
    for key, agent in sorted((agents or {}).items()):
        if isinstance(agent, dict) and agent.get("status") in ("busy", "starting") \
                and state not in ("ended", "gone"):
            subagents.append({"id": key, "type": agent.get("agent_type") or "agent",
                              "task": agent.get("task"), "since": agent.get("started_at")
                              or agent.get("requested_at"),
                              "background": bool(agent.get("background"))})
    files = _dict(act.get("files"))
    paths = [p for p in files.get("paths") or [] if isinstance(p, str)]
    out: dict[str, Any] = {
        "state": state,
        "label": LABELS[state],
        "since": since if isinstance(since, str) else _when(since),
        "running": running[:MAX_LISTED],
        "subagents": subagents[:MAX_LISTED],
        "background": [b for b in act.get("background") or [] if isinstance(b, dict)
                       ][:MAX_LISTED] if state not in ("ended", "gone") else [],
        "waiting": _stamped(waiting, ("for", "source", "tool", "description", "message",
                                      "agent_id"))
        if state.startswith("waiting") else None,
        "prompt": _stamped(act.get("prompt"), ("text", "kind", "from")),
        "answer": _stamped(act.get("answer"), ("text",)),
        "files": {"paths": list(reversed(paths)), "count": len(paths) + int(
            files.get("dropped", 0) or 0), "writes": int(files.get("writes", 0) or 0),
                  "at": _when(files.get("at"))} if paths else None,
        "last_tool": _stamped(act.get("last_tool"), ("tool", "description", "ms", "ok",
                                                      "agent_id")),
        "recent": [item for item in (_stamped(c, ("tool", "description", "ms", "ok",
                                                  "agent_id"))
                                     for c in reversed(act.get("recent") or [])) if item],
        "agents": _ran(agents),
    }
    return out


def _ran(agents: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every subagent of the session (busy or done), the latest first, with its task."""
    out = []
    for key, agent in (agents or {}).items():
        if isinstance(agent, dict) and not key.startswith("call-"):
            out.append({"id": key, "type": agent.get("agent_type") or "agent",
                        "task": agent.get("task"), "status": agent.get("status"),
                        "started_at": agent.get("started_at"),
                        "stopped_at": agent.get("stopped_at")})
    out.sort(key=lambda a: str(a.get("started_at") or ""), reverse=True)
    return out[:MAX_LISTED]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _at(call: Any) -> float:
    value = call.get("at") if isinstance(call, dict) else None
    return float(value) if isinstance(value, int | float) else 0.0


def is_waiting(activity: dict[str, Any] | None) -> bool:
    """Does the session wait for a person (a permission or an answer)?"""
    return activity is not None and str(activity.get("state", "")).startswith("waiting")


def _call(item: dict[str, Any]) -> str:
    tool = item.get("tool") or "tool"
    return f"{tool}: {item['description']}" if item.get("description") else tool


def _files(files: dict[str, Any] | None) -> str | None:
    if not files:
        return None
    count = int(files.get("count") or len(files["paths"]))
    shown = ", ".join(files["paths"][:2])
    more = count - min(2, len(files["paths"]))
    return f"changed {shown}" + (f" +{more} more" if more > 0 else "")


def doing(activity: dict[str, Any] | None) -> str | None:
    """One line: what the session is doing or waits for; what an ended one did. None when
    nothing at all is known."""
    if not activity:
        return None
    state = activity.get("state")
    prompt = (activity.get("prompt") or {}).get("text")
    answer = (activity.get("answer") or {}).get("text")
    if state and state.startswith("waiting"):
        wait = activity.get("waiting") or {}
        what = "permission" if state == "waiting_permission" else "input"
        detail = _call(wait) if wait.get("tool") else wait.get("message")
        return f"waiting for {what}" + (f": {detail}" if detail else "")
    if state == "working":
        running = activity.get("running") or []
        if running:
            more = f" (+{len(running) - 1} more)" if len(running) > 1 else ""
            return _call(running[-1]) + more
        agents = activity.get("subagents") or []
        if agents:
            agent = agents[-1]
            return f"subagent {agent['type']}" + (f": {agent['task']}" if agent.get("task")
                                                  else "")
        if prompt:
            return f"working on: {prompt}"
        return "working"
    parts = []
    if state == "idle":
        agents = activity.get("subagents") or []
        background = activity.get("background") or []
        if agents:
            parts.append(f"subagent {agents[-1]['type']}" + (
                f": {agents[-1]['task']}" if agents[-1].get("task") else "") + " running")
        elif background:
            task = background[-1]
            parts.append("background " + (task.get("description") or task.get("type")
                                          or "task"))
    if prompt:
        sender = (activity.get("prompt") or {}).get("from")
        parts.append(f"message from {sender}: {prompt}" if sender else f"asked: {prompt}")
    if state in ("ended", "gone"):
        changed = _files(activity.get("files"))
        if changed:
            parts.append(changed)
    if answer:
        parts.append(f"answered: {answer}")
    if not parts:
        return None
    prefix = {"idle": "idle", "gone": "gone"}.get(str(state))
    return (f"{prefix}; " if prefix else "") + "; ".join(parts)


# -- text for people (``orchestra who --text``, ``orchestra show --text``) ---------------

def _hm(stamp: object) -> str:
    """``2026-11-24T10:02:05.123Z`` -> ``10:02:05``."""
    return stamp[11:19] if isinstance(stamp, str) and len(stamp) >= 19 else "?"


def _number(value: int) -> str:
    return f"{value:,}"


def tokens_text(tokens: dict[str, Any] | None) -> str:
    """``12,345 in / 678 out / 9,000 cache read / 1,200 cache write``."""
    tokens = tokens or {}
    return (f"{_number(int(tokens.get('input_tokens', 0)))} in / "
            f"{_number(int(tokens.get('output_tokens', 0)))} out / "
            f"{_number(int(tokens.get('cache_read_input_tokens', 0)))} cache read / "
            f"{_number(int(tokens.get('cache_creation_input_tokens', 0)))} cache write")


def role_text(summary: dict[str, Any]) -> str | None:
    """``worker (skills qa-tester)``, ``coordinator of epic E``; None for a peer (the
    default, which the text views leave unsaid as before roles)."""
    role = summary.get("role")
    if role in (None, "peer"):
        return None
    text = str(role)
    scope = summary.get("scope")
    if isinstance(scope, dict) and scope:
        text += " of " + ", ".join(f"{kind} {value}" for kind, value in scope.items())
    skills = summary.get("skills")
    if isinstance(skills, list) and skills:
        text += f" (skills {', '.join(str(s) for s in skills)})"
    return text


def who_line(summary: dict[str, Any]) -> str:
    """One line of ``orchestra who --text``."""
    from state.usage import short_cost  # the text views only

    activity = summary.get("activity") or {}
    name = summary.get("claude_name")
    role = role_text(summary)
    who = (summary["session_id"] + (f" ({name})" if name else "")
           + (f" role {role}" if role else ""))
    now = summary.get("current_task")
    line = doing(activity) if activity else None
    what = f"task {now!r}" + (f"; {line}" if line else "") if now else (
        line or "no task in progress")
    cost = short_cost(summary.get("cost")) if (summary.get("tokens") or {}).get("recorded") \
        else "no tokens recorded"
    return (f"{who}  [{summary['status']}, {activity.get('label', '?')}]  "
            f"{summary.get('project') or '-'}  {what}  ({cost})")


def show_text(summary: dict[str, Any]) -> str:
    """``orchestra show --text``: one session, in lines a person reads."""
    from state.usage import short_cost  # the text views only

    activity = summary.get("activity") or {}
    lines = [f"session {summary['session_id']}"
             + (f"   Claude Code name {summary['claude_name']}" if summary.get("claude_name")
                else "")]
    lines.append(f"project {summary.get('project') or '-'}   status {summary['status']}   "
                 f"{activity.get('label', '?')} since {_hm(activity.get('since'))}   "
                 f"last seen {_hm(summary.get('last_heartbeat'))}"
                 + (f"   machine {summary['machine']}" if summary.get("machine") else ""))
    checkout = summary.get("checkout")
    if isinstance(checkout, dict) and checkout.get("path"):
        lines.append(f"checkout {checkout['path']}"
                     + (f" on branch {checkout['branch']}" if checkout.get("branch") else ""))
    role = role_text(summary)
    if role:
        lines.append(f"role:      {role}")
    if summary.get("current_task"):
        lines.append(f"task:      {summary['current_task']}")
    wait = activity.get("waiting")
    if wait:
        what = _call(wait) if wait.get("tool") else (wait.get("message") or wait.get("source"))
        lines.append(f"waits:     for {wait.get('for')}: {what} (since {_hm(wait.get('since'))})")
    for call in activity.get("running") or []:
        lines.append(f"running:   {_call(call)} (since {_hm(call.get('at'))})")
    for agent in activity.get("subagents") or []:
        lines.append(f"subagent:  {agent['type']}: {agent.get('task') or '-'} "
                     f"(since {_hm(agent.get('since'))})")
    for task in activity.get("background") or []:
        lines.append(f"background: {task.get('type') or 'task'}: "
                     f"{task.get('description') or task.get('id') or '-'}")
    prompt = activity.get("prompt")
    if prompt:
        sender = f"message from {prompt['from']}: " if prompt.get("from") else ""
        lines.append(f"asked:     {sender}{prompt.get('text')} ({_hm(prompt.get('at'))})")
    files = activity.get("files")
    if files:
        more = int(files.get("count", 0)) - len(files["paths"])
        lines.append(f"changed:   {', '.join(files['paths'][:6])}"
                     + (f" +{more} more" if more > 0 else "")
                     + f" ({_hm(files.get('at'))})")
    for n, call in enumerate(activity.get("recent") or []):
        took = f", {call['ms']:.0f} ms" if isinstance(call.get("ms"), int | float) else ""
        lines.append(f"{'last tool:' if n == 0 else '          '} {_call(call)} "
                     f"({'ok' if call.get('ok') else 'failed'}{took}, {_hm(call.get('at'))})")
    for agent in activity.get("agents") or []:
        if agent.get("status") == "done":
            lines.append(f"subagent:  {agent['type']}: {agent.get('task') or '-'} (done "
                         f"{_hm(agent.get('stopped_at'))})")
    answer = activity.get("answer")
    if answer:
        lines.append(f"answered:  {answer.get('text')} ({_hm(answer.get('at'))})")
    tokens = summary.get("tokens") or {}
    if tokens.get("recorded"):
        lines.append(f"tokens:    main {tokens_text(tokens.get('main'))}")
        if tokens.get("subagents"):
            lines.append(f"           subagents {tokens_text(tokens.get('subagents'))}")
        cost = summary.get("cost") or {}
        lines.append(f"cost:      {short_cost(cost)}"
                     + (f" (no price for {', '.join(cost['unknown_models'])})"
                        if cost.get("unknown_models") else "")
                     + (f"; prices of {cost['prices_as_of']}" if cost.get("prices_as_of")
                        else ""))
    else:
        lines.append("tokens:    none recorded (no transcript read: a replay, or no Stop yet)")
    if not doing(activity) and not summary.get("current_task"):
        lines.append("no task in progress")
    return "\n".join(lines) + "\n"
