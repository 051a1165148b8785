"""Capacity: a registered tool's ``max_instances``, counted and enforced.

A tool of the registry (``tools.json``: ``max_instances``, the seed's field) is busy
once per

* **live subagent of that type**: a hold in ``capacity.json`` (at the state root),
  taken at ``PreToolUse`` of ``Agent`` with that ``subagent_type`` (``reserved``),
  turned into the agent at ``SubagentStart`` (``running``) and released at
  ``SubagentStop``, at the end of a foreground call, when the call fails or is denied
  (PermissionDenied), when its session ends or is gone — and a reservation no agent took
  up is released at the session's Stop (the call never ran) or lapses after
  :data:`RESERVATION_SECONDS`;
* **open task that occupies it**: a project task assigned to the tool, or assigned to a
  session and ``needs`` the tool (the session acts as it) — until it is done or returns
  to the pool. A subagent started for such a task (its ``description`` or ``prompt``
  names the task's id) is that task's instance, not another one.

Checking and counting are one step: the hook's check and its hold are one transaction
on ``capacity.json``; an assignment that occupies an instance holds that document's lock
while it changes the plan (:func:`state.plan._change`). Whatever frees an instance
(a task done, a subagent stopped) needs no lock to be seen.

What happens when a tool is full follows ``capacity.policy`` (per project overridable):
``ask`` (default: the person confirms the Agent call; an assignment needs
``--over-capacity``), ``deny`` (refused), ``warn`` (allowed, with a warning) or
``off`` (not enforced; still counted).
"""

from __future__ import annotations

from state.clock import iso, now
from state.errors import ConflictError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

# Imported where used: the Agent calls' hooks reach this module, and a hold needs neither
# the plan nor the sessions' presence.
__all__ = [
    "CAPACITY",
    "POLICIES",
    "RESERVATION_SECONDS",
    "busy_instances",
    "check_task_capacity",
    "hold_agent",
    "policy",
    "release_agent",
    "release_session",
    "release_unanswered",
    "start_agent",
    "tool_is_full",
    "tool_load",
]

CAPACITY = "capacity.json"
POLICIES = ("off", "warn", "ask", "deny")
#: Seconds an Agent call's reservation waits for its SubagentStart before it lapses.
RESERVATION_SECONDS = 120.0
_MAX_HOLDS = 2000


def policy(config: dict[str, Any], project: str | None = None) -> str:
    from state.config import project_config

    settings = (project_config(config, project) if project else config).get("capacity")
    value = settings.get("policy") if isinstance(settings, dict) else None
    return value if value in POLICIES else "ask"


def _tools(store: Storage) -> dict[str, Any]:
    from state.paths import tools_key

    tools = (store.read(tools_key()) or {}).get("tools")
    return tools if isinstance(tools, dict) else {}


def max_instances(store: Storage, tool: str) -> int | None:
    """The tool's ``max_instances``, or None when it is not registered."""
    entry = _tools(store).get(tool)
    if not isinstance(entry, dict):
        return None
    value = entry.get("max_instances", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1


# -- who holds what -----------------------------------------------------------------


def _task_holders(store: Storage, tool: str) -> dict[tuple[str, str], dict[str, Any]]:
    """{(project, task id): hold} of the open tasks that occupy an instance of ``tool``."""
    from state.paths import is_id
    from state.plan_tasks import OPEN, plan_tasks

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for project in store.list_children("projects"):
        if not is_id(project):
            continue
        for tid, task in plan_tasks(store, project).items():
            if task.get("status") not in OPEN or not task.get("assignee"):
                continue
            kind = task.get("assignee_type")
            if (kind == "tool" and task.get("assignee") == tool) or (
                    kind == "session" and task.get("needs") == tool):
                out[(project, tid)] = {"kind": "task", "project": project, "task": tid,
                                       "session": task.get("session") or task.get("assignee"),
                                       "status": task.get("status"),
                                       "title": task.get("title")}
    return out


def _live(store: Storage, sessions: set[str], config: dict[str, Any], at: float) -> set[str]:
    from state.paths import session_key
    from state.sessions import STATE, last_heartbeat, session_status

    live = set()
    for sid in sessions:
        try:
            state = store.read(session_key(sid, STATE))
        except (ValueError, OSError):
            continue
        if state is None:
            continue
        status, _age = session_status(state, last_heartbeat(store, sid), config, at)
        if status in ("active", "idle"):
            live.add(sid)
    return live


def _prune(store: Storage, holds: dict[str, Any], config: dict[str, Any], at: float) -> None:
    """Drop holds of sessions that ended or are gone, and lapsed reservations."""
    sessions = {h.get("session") for h in holds.values() if isinstance(h, dict)}
    live = _live(store, {s for s in sessions if isinstance(s, str)}, config, at)
    for key in list(holds):
        hold = holds[key]
        if not isinstance(hold, dict) or hold.get("session") not in live or (
                hold.get("state") == "reserved"
                and at - float(hold.get("ts") or 0) > RESERVATION_SECONDS):
            del holds[key]
    if len(holds) > _MAX_HOLDS:  # never grows without bound, whatever happens
        for key in sorted(holds, key=lambda k: holds[k].get("ts") or 0)[: len(holds) - _MAX_HOLDS]:
            del holds[key]


def busy_instances(store: Storage, tool: str, *, config: dict[str, Any] | None = None,
                   at: float | None = None, holds: dict[str, Any] | None = None
                   ) -> list[dict[str, Any]]:
    """What occupies ``tool``'s instances now: live subagents and open tasks."""
    from state.config import load_config

    config = config if config is not None else load_config(store)
    moment = now() if at is None else at
    if holds is None:
        holds = dict((store.read(CAPACITY) or {}).get("holds") or {})
        _prune(store, holds, config, moment)
    tasks = _task_holders(store, tool)
    out = list(tasks.values())
    for key, hold in sorted(holds.items()):
        if not isinstance(hold, dict) or hold.get("tool") != tool:
            continue
        linked = hold.get("task")
        if linked and (hold.get("project"), linked) in tasks:
            continue  # the subagent works on a task that is counted already
        out.append({"kind": "agent", "key": key, **hold})
    return out


def tool_load(store: Storage, *, config: dict[str, Any] | None = None,
              at: float | None = None) -> dict[str, dict[str, Any]]:
    """{tool: {max_instances, busy, free, holders}} for every registered tool."""
    from state.config import load_config

    config = config if config is not None else load_config(store)
    moment = now() if at is None else at
    holds = dict((store.read(CAPACITY) or {}).get("holds") or {})
    _prune(store, holds, config, moment)
    out = {}
    for name in sorted(_tools(store)):
        most = max_instances(store, name) or 1
        holders = busy_instances(store, name, config=config, at=moment, holds=holds)
        out[name] = {"max_instances": most, "busy": len(holders),
                     "free": max(most - len(holders), 0), "holders": holders}
    return out


def tool_is_full(store: Storage, tool: str | None, config: dict[str, Any] | None = None,
                 *, except_task: str | None = None) -> bool:
    """True if ``tool`` is a registered tool with no free instance (a task that holds
    one already, ``except_task``, is not counted twice)."""
    if not tool:
        return False
    most = max_instances(store, tool)
    if most is None:
        return False
    holders = [h for h in busy_instances(store, tool, config=config)
               if not (h.get("kind") == "task" and h.get("task") == except_task)]
    return len(holders) >= most


def _describe(holders: list[dict[str, Any]]) -> str:
    parts = []
    for h in holders[:5]:
        if h.get("kind") == "task":
            parts.append(f"task {h['task']} ({h.get('status')}, session {h.get('session')})")
        else:
            parts.append(f"a subagent of session {h.get('session')} "
                         f"({h.get('state')}, since {h.get('since') or '?'})")
    more = f" and {len(holders) - 5} more" if len(holders) > 5 else ""
    return "; ".join(parts) + more


def check_task_capacity(store: Storage, tool: str | None, task_id: str, project: str,
                        over_capacity: bool, config: dict[str, Any] | None
                        ) -> dict[str, Any] | None:
    """For an assignment that occupies an instance of ``tool`` (called with the capacity
    lock held): None if ``tool`` is not a registered tool; else the count, and a refusal
    (ConflictError) when it is full and the policy says so."""
    from state.config import load_config

    if not tool:
        return None
    most = max_instances(store, tool)
    if most is None:
        return None
    config = config if config is not None else load_config(store)
    holders = [h for h in busy_instances(store, tool, config=config)
               if not (h.get("kind") == "task" and h.get("task") == task_id
                       and h.get("project") == project)]
    verdict: dict[str, Any] = {"tool": tool, "max_instances": most, "busy": len(holders)}
    if len(holders) < most:
        return verdict
    rule = policy(config, project)
    full = (f"tool {tool} is at capacity: {len(holders)}/{most} busy "
            f"({_describe(holders)})")
    if rule == "deny":
        raise ConflictError(f"{full}; capacity.policy is deny")
    if rule == "ask" and not over_capacity:
        raise ConflictError(f"{full}; add --over-capacity to assign it anyway "
                            "(capacity.policy is ask)")
    verdict["note"] = f"over capacity ({rule}): {full}"
    return verdict


# -- subagents (the hook side) --------------------------------------------------------


def hold_agent(store: Storage, *, session: str, tool: str, tool_use_id: str,
               project: str | None, text: str, config: dict[str, Any], at: float
               ) -> tuple[str, str | None]:
    """At PreToolUse of ``Agent``: check and count in one step.

    Returns (decision, reason): ``allow`` (a free instance, now held), ``linked`` (the
    call works on a task that holds an instance already), ``warn``/``ask`` (full; held
    anyway, the policy decides what the person sees), ``deny`` (full; nothing held) or
    ``none`` (not a registered tool, or the policy is off and nothing to say).
    """
    most = max_instances(store, tool)
    if most is None:
        return "none", None
    rule = policy(config, project)
    with store.transaction(CAPACITY) as doc:
        holds = doc.get("holds")
        if not isinstance(holds, dict):
            holds = doc["holds"] = {}
        _prune(store, holds, config, at)
        key = f"{session}/call-{tool_use_id}"
        if key in holds:
            return "allow", None  # the same call seen twice
        holders = busy_instances(store, tool, config=config, at=at, holds=holds)
        linked = next((h for h in holders if h.get("kind") == "task"
                       and _names(text, h["task"]) and h.get("session") == session), None)
        hold: dict[str, Any] = {"tool": tool, "session": session, "state": "reserved",
                                "tool_use_id": tool_use_id, "ts": round(at, 3),
                                "since": iso(at)}
        if linked is not None:
            hold.update(task=linked["task"], project=linked["project"])
            holds[key] = hold
            return "linked", None
        if len(holders) < most or rule == "off":
            holds[key] = hold
            return ("allow" if len(holders) < most else "none"), None
        reason = (f"Orchestra: tool {tool} is at capacity, {len(holders)}/{most} instances "
                  f"busy ({_describe(holders)}). capacity.policy is {rule}.")
        if rule == "deny":
            return "deny", reason + " Wait for one to finish, or use another agent type."
        hold["over"] = True
        holds[key] = hold
        return rule, reason


def _names(text: str, task_id: str) -> bool:
    import re

    number = task_id.split("-", 1)[-1]
    return re.search(rf"(?<![\w-])(?:T-?|#){number}(?!\d)", text, re.IGNORECASE) is not None


def start_agent(store: Storage, *, session: str, tool: str, agent_id: str,
                config: dict[str, Any], at: float) -> None:
    """At SubagentStart: the oldest reservation of this type becomes the agent; an agent
    nobody reserved for (the call was asked about, say) is counted all the same."""
    if max_instances(store, tool) is None:
        return
    with store.transaction(CAPACITY) as doc:
        holds = doc.get("holds")
        if not isinstance(holds, dict):
            holds = doc["holds"] = {}
        mine = f"{session}/agent-{agent_id}"
        if mine in holds:
            return
        reserved = sorted((h.get("ts") or 0, k) for k, h in holds.items()
                          if isinstance(h, dict) and h.get("session") == session
                          and h.get("tool") == tool and h.get("state") == "reserved")
        hold = holds.pop(reserved[0][1]) if reserved else {
            "tool": tool, "session": session, "ts": round(at, 3), "since": iso(at)}
        hold.update(state="running", agent_id=agent_id)
        holds[mine] = hold
        _prune(store, holds, config, at)


def release_agent(store: Storage, *, session: str, agent_id: str | None = None,
                  tool_use_id: str | None = None, only_reserved: bool = False) -> None:
    """SubagentStop (by agent), the end of a foreground call or a failed one (by call)."""
    doc = store.read(CAPACITY) or {}
    holds: dict[str, Any] = doc["holds"] if isinstance(doc.get("holds"), dict) else {}
    if not any(_matches(h, session, agent_id, tool_use_id, only_reserved)
               for h in holds.values()):
        return  # nothing to release: no lock taken
    with store.transaction(CAPACITY) as doc:
        stored = doc.get("holds")
        if isinstance(stored, dict):
            for key in [k for k, h in stored.items()
                        if _matches(h, session, agent_id, tool_use_id, only_reserved)]:
                del stored[key]


def _matches(hold: Any, session: str, agent_id: str | None, tool_use_id: str | None,
             only_reserved: bool) -> bool:
    if not isinstance(hold, dict) or hold.get("session") != session:
        return False
    if only_reserved and hold.get("state") != "reserved":
        return False
    return bool((agent_id and hold.get("agent_id") == agent_id)
                or (tool_use_id and hold.get("tool_use_id") == tool_use_id))


def release_unanswered(store: Storage, session: str) -> None:
    """The session's turn ended (Stop): a reservation no agent took up belongs to a call
    that never ran (refused at a permission prompt, interrupted) and is released — a
    running agent (one that outlives the turn in the background) keeps its hold."""
    doc = store.read(CAPACITY) or {}
    holds: dict[str, Any] = doc["holds"] if isinstance(doc.get("holds"), dict) else {}
    if not any(isinstance(h, dict) and h.get("session") == session
               and h.get("state") == "reserved" for h in holds.values()):
        return  # the common case: nothing reserved, no lock taken
    with store.transaction(CAPACITY) as doc:
        stored = doc.get("holds")
        if isinstance(stored, dict):
            for key in [k for k, h in stored.items()
                        if isinstance(h, dict) and h.get("session") == session
                        and h.get("state") == "reserved"]:
                del stored[key]


def release_session(store: Storage, session: str) -> None:
    """SessionEnd: every hold of the session."""
    doc = store.read(CAPACITY) or {}
    holds: dict[str, Any] = doc["holds"] if isinstance(doc.get("holds"), dict) else {}
    if not any(isinstance(h, dict) and h.get("session") == session for h in holds.values()):
        return
    with store.transaction(CAPACITY) as doc:
        stored = doc.get("holds")
        if isinstance(stored, dict):
            for key in [k for k, h in stored.items()
                        if isinstance(h, dict) and h.get("session") == session]:
                del stored[key]
