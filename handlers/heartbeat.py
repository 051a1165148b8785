"""Heartbeats and activity: every event marks its session alive and says what it is doing.

One small file (``sessions/<id>/heartbeat.json``) is rewritten at every event — the
write that presence always cost — and now also carries the session's ``activity``,
folded from the event by :func:`fold_activity`: the running tools and their
descriptions, whether the session waits for a person, the first line of the last prompt
and of the last answer, the files it wrote, background tasks, each with its time. The
rewrite is a read-modify-write under the file's lock (:meth:`Storage.update_volatile`:
no fsync, no version), so parallel hooks of one session never lose each other's
changes; it stays O(1) whatever the session's history. Status (active/idle/stale/ended)
and the activity's state as shown (working, waiting, idle, ended, gone) are derived
when read (:mod:`state.sessions`, :mod:`state.activity`).

The fold works from the canonical fields of Claude Code's events — ``prompt``,
``tool_name``, ``tool_input.description``, ``last_assistant_message``,
``notification_type``, ``background_tasks`` — so events of other agents mapped onto that
model feed it too. "Waiting" comes only from explicit signals: a Notification whose type
asks for a person (:data:`state.activity.WAIT_TYPES`), PermissionRequest and
Elicitation. The next tool event or prompt of the same thread (main, or the subagent that
asked) clears it, as do
Stop and SessionEnd. When a wait starts, the dispatcher calls the plugins'
``on_needs_attention`` (see :mod:`hooks.specs`).
"""

from __future__ import annotations

import os

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

WRITE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
TEXT_CHARS = 200  #: the first line of a prompt or an answer, at most
DESCRIPTION_CHARS = 160
PATH_CHARS = 300
MAX_RUNNING = 16  #: tool calls remembered as running (parallel calls, subagents)
MAX_FILES = 30  #: files written, the most recent
MAX_BACKGROUND = 10
MAX_RECENT = 5  #: finished tool calls remembered, the most recent
_CROSS_SESSION = "<cross-session-message"
_TASK_NOTICE = "<task-notification>"


#: Control characters (terminal escapes...) become spaces: another session's prompt (a
#: SendMessage arrives as one) is shown in people's terminals and in the guard's reasons.
_CONTROLS = {**dict.fromkeys(range(32), " "), 127: " ", **dict.fromkeys(range(128, 160), " ")}


def first_line(value: object, limit: int = TEXT_CHARS) -> str | None:
    """The first non-blank line of ``value``, control characters made spaces, redacted as
    the event log redacts, then cut to ``limit`` characters (redacted first: a cut secret
    may no longer look like one)."""
    if not isinstance(value, str):
        return None
    from state.redact import redact

    for line in value.lstrip()[:4000].splitlines():  # however many blank lines lead
        line = line.translate(_CONTROLS).strip()
        if line:
            line = redact(line)
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return None


def _tag(text: str, name: str) -> str | None:
    start = text.find(f"<{name}>")
    end = text.find(f"</{name}>", start + 1)
    return text[start + len(name) + 2:end].strip()[:200] if 0 <= start < end else None


def _prompt(text: str | None) -> dict[str, Any] | None:
    """What a prompt asked: its first line; a message another Claude Code session sent
    with SendMessage (delivered as a prompt) says who sent it. Claude Code's own
    notices (``<task-notification>``: a background task ended) ask nothing: None."""
    if text is None:
        return None
    stripped = text.lstrip()
    if stripped.startswith(_TASK_NOTICE):
        return None
    if stripped.startswith(_CROSS_SESSION):
        head, _, body = stripped.partition(">")
        sender = _attribute(head, "from-name")
        line = first_line(body.replace("</cross-session-message>", ""))
        return {"text": line or "(empty message)", "kind": "message",
                **({"from": sender} if sender else {})}
    line = first_line(text)
    return {"text": line} if line else None


def _attribute(tag: str, name: str) -> str | None:
    marker = f' {name}="'
    start = tag.find(marker)
    if start < 0:
        return None
    value = tag[start + len(marker):].split('"', 1)[0]
    return value[:100] or None


def _written(event: Event) -> list[str]:
    """The files a successful tool call wrote, relative to the project (or cwd) when
    inside it."""
    tool = event.tool_name
    if tool not in WRITE_TOOLS and tool != "Bash":
        return []
    from handlers.claims import targets_of

    paths = targets_of(event)
    base = os.environ.get("CLAUDE_PROJECT_DIR") or event.cwd or ""
    out = []
    for path in paths[:20]:
        if base and (path == base or path.startswith(base.rstrip(os.sep) + os.sep)):
            path = os.path.relpath(path, base)
        out.append(path[-PATH_CHARS:])
    return out


def _working(activity: dict[str, Any], agent: str | None) -> None:
    """A tool event: its thread no longer waits; the session works unless another thread
    (the main one, or another subagent) still waits for a person."""
    _clear_wait(activity, agent)
    if "waiting" not in activity:
        activity["state"] = "working"


#: Where an elicitation wait comes from: what an answer to an elicitation ends.


def _clear_wait(activity: dict[str, Any], agent: str | None,
                sources: frozenset[str] | None = None) -> bool:
    """End the wait of thread ``agent`` (only one from ``sources``, when given)."""
    waiting = activity.get("waiting")
    if not isinstance(waiting, dict) or waiting.get("agent_id") != agent:
        return False
    if sources is not None and waiting.get("source") not in sources:
        return False
    del activity["waiting"]
    if activity.get("state") == "waiting":
        activity["state"] = "working"
    return True


def _wait(activity: dict[str, Any], event: Event, kind: str, now: float,
          source: str, message: object = None) -> dict[str, Any] | None:
    """Start (or refine) a wait; the wait when it is a new one, else None."""
    previous = activity.get("waiting")
    same = isinstance(previous, dict) and previous.get("for") == kind
    wait: dict[str, Any] = dict(previous) if same and isinstance(previous, dict) else {
        "for": kind, "since": now}
    wait.setdefault("source", source)
    if event.agent_id:
        wait["agent_id"] = event.agent_id[:128]
    if event.tool_name:
        wait["tool"] = event.tool_name[:100]
        description = first_line(event.tool_input.get("description"), DESCRIPTION_CHARS)
        if description:
            wait["description"] = description
    text = first_line(message, DESCRIPTION_CHARS)
    if text:
        wait["message"] = text
    activity["waiting"] = wait
    activity["state"] = "waiting"
    return None if same else wait


def _running(activity: dict[str, Any]) -> dict[str, Any]:
    tools = activity.get("tools")
    if not isinstance(tools, dict):
        tools = activity["tools"] = {}
    return tools


def _forget_thread(activity: dict[str, Any], agent: str | None) -> None:
    """Drop the running calls of one thread (main, or a subagent): its batch or turn is
    over, so none of them runs any more, whatever a lost PostToolUse did not say."""
    tools = _running(activity)
    for key in [k for k, v in tools.items() if not isinstance(v, dict)
                or v.get("agent_id") == agent]:
        del tools[key]


def fold_activity(activity: dict[str, Any], event: Event, now: float) -> dict[str, Any] | None:
    """Fold ``event`` into a session's ``activity`` record (in place).

    Returns the wait when this event starts one (the session now needs a person), else
    None. Every field is bounded and every text redacted, so the record stays small.
    """
    name = event.name
    agent = event.agent_id
    stamp = round(now, 6)
    started = None
    if name == "UserPromptSubmit":
        asked = _prompt(event.prompt)
        if asked is not None:
            activity["prompt"] = {**asked, "at": stamp}
        elif (event.prompt or "").lstrip().startswith(_TASK_NOTICE):
            ended = _tag(event.prompt or "", "task-id")  # a background task is over
            tasks = activity.get("background")
            if ended and isinstance(tasks, list):
                activity["background"] = [t for t in tasks if t.get("id") != ended]
        activity.pop("waiting", None)
        _forget_thread(activity, None)
        activity["state"] = "working"
        activity["turn_at"] = stamp
    elif name == "PreToolUse":
        tools = _running(activity)
        call: dict[str, Any] = {"tool": (event.tool_name or "?")[:100], "at": stamp}
        description = first_line(event.tool_input.get("description"), DESCRIPTION_CHARS)
        if description:
            call["description"] = description
        if agent:
            call["agent_id"] = agent[:128]
        tools[(event.tool_use_id or f"call-{stamp}")[:128]] = call
        while len(tools) > MAX_RUNNING:
            del tools[min(tools, key=lambda k: tools[k].get("at", 0)
                          if isinstance(tools[k], dict) else 0)]
        _working(activity, agent)
    elif name in ("PostToolUse", "PostToolUseFailure"):
        call = _running(activity).pop(event.tool_use_id or "", None)
        done: dict[str, Any] = {"tool": (event.tool_name or "?")[:100], "at": stamp,
                                "ok": name == "PostToolUse"}
        description = first_line(event.tool_input.get("description"), DESCRIPTION_CHARS)
        if description:
            done["description"] = description
        if event.duration_ms is not None:
            done["ms"] = round(event.duration_ms, 1)
        elif isinstance(call, dict) and isinstance(call.get("at"), int | float):
            done["ms"] = round((now - call["at"]) * 1000, 1)
        if agent:
            done["agent_id"] = agent[:128]
        activity["last_tool"] = done
        recent = activity.get("recent")
        recent = [c for c in recent if isinstance(c, dict)] if isinstance(recent, list) else []
        activity["recent"] = [*recent, done][-MAX_RECENT:]
        if name == "PostToolUse":
            _note_files(activity, _written(event), stamp)
        _working(activity, agent)
    elif name == "PostToolBatch":
        _forget_thread(activity, agent)
    elif name == "PermissionRequest":
        started = _wait(activity, event, "permission", now, name)
    elif name == "Elicitation":
        started = _wait(activity, event, "input", now, name, event.get("message"))
    elif name == "ElicitationResult":
        from state.activity import ELICITATIONS  # (rare events: off the tool calls' path)

        _clear_wait(activity, agent, ELICITATIONS)
    elif name == "Notification":
        from state.activity import ANSWER_TYPES, ELICITATIONS, WAIT_TYPES

        kind = event.text("notification_type") or ""
        if kind in WAIT_TYPES:
            started = _wait(activity, event, WAIT_TYPES[kind], now, kind, event.get("message"))
        elif kind in ANSWER_TYPES:
            _clear_wait(activity, agent, ELICITATIONS)
    elif name in ("Stop", "StopFailure"):
        answer = first_line(event.get("last_assistant_message"))
        if name == "StopFailure":
            answer = f"(the turn failed: {first_line(event.get('error'), 80) or 'error'})"
        if answer:
            activity["answer"] = {"text": answer, "at": stamp}
        background = event.get("background_tasks")
        if isinstance(background, list):
            activity["background"] = _background(background)
            activity["background_at"] = stamp
        _forget_thread(activity, None)
        activity.pop("waiting", None)
        activity["state"] = "idle"
        activity["idle_at"] = stamp
    elif name == "SubagentStop":
        _forget_thread(activity, agent)
        _clear_wait(activity, agent)
        tasks = activity.get("background")
        if agent and isinstance(tasks, list):
            activity["background"] = [t for t in tasks if t.get("id") != agent]
    elif name == "SessionStart":
        activity.pop("waiting", None)
        activity["tools"] = {}
        activity["state"] = "idle"
        activity["idle_at"] = stamp
    elif name == "SessionEnd":
        activity.pop("waiting", None)
        activity["tools"] = {}
        activity["state"] = "ended"
        activity["ended_at"] = stamp
    return started


def _note_files(activity: dict[str, Any], paths: list[str], stamp: float) -> None:
    if not paths:
        return
    files = activity.get("files")
    if not isinstance(files, dict):
        files = activity["files"] = {}
    known = files.get("paths")
    known = [p for p in known if isinstance(p, str)] if isinstance(known, list) else []
    for path in paths:
        if path in known:
            known.remove(path)
        elif len(known) >= MAX_FILES:
            known.pop(0)
            files["dropped"] = int(files.get("dropped", 0) or 0) + 1
        known.append(path)
    files["paths"] = known
    files["writes"] = int(files.get("writes", 0) or 0) + len(paths)
    files["at"] = stamp


def _background(tasks: list[Any]) -> list[dict[str, Any]]:
    out = []
    for task in tasks[:MAX_BACKGROUND]:
        if not isinstance(task, dict):
            continue
        item = {key: str(task[key])[:100] for key in ("id", "type", "status", "agent_type",
                                                         "name") if task.get(key)}
        description = first_line(task.get("description") or task.get("command"),
                                 DESCRIPTION_CHARS)
        if description:
            item["description"] = description
        out.append(item)
    return out


#: The events :func:`fold_activity` reads: what the heartbeat needs sent. Any other event
#: that is dispatched (for another handler) marks the session alive too.
FOLDED = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
          "PostToolUseFailure", "PostToolBatch", "PermissionRequest", "Elicitation",
          "ElicitationResult", "Notification", "Stop", "StopFailure", "SubagentStop",
          "SessionEnd")


@hookimpl(tryfirst=True, needs=FOLDED)
def on_event(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None:
        return
    from state.paths import session_key

    started: list[dict[str, Any] | None] = [None]

    def change(doc: dict[str, Any]) -> None:
        if event.name != "SessionEnd":  # an ended session is not alive
            doc["at"] = ctx.now
            doc["event"] = event.name
            if event.tool_name:
                doc["tool"] = event.tool_name
            else:
                doc.pop("tool", None)
            if event.permission_mode:  # what a worker this session spawns may not exceed
                doc["mode"] = event.permission_mode[:40]
        activity = doc.get("activity")
        if not isinstance(activity, dict):
            activity = doc["activity"] = {}
        started[0] = fold_activity(activity, event, ctx.now)

    key = session_key(sid, "heartbeat.json")
    try:
        ctx.store.update_volatile(key, change)
    except Exception as exc:  # a busy lock (or a torn file): never lose the heartbeat
        ctx.log.warning(f"activity not updated ({type(exc).__name__}: {exc}); heartbeat only")
        if event.name != "SessionEnd":
            from state.sessions import heartbeat

            heartbeat(ctx.store, sid, event=event.name, tool=event.tool_name, at=ctx.now,
                      mode=event.permission_mode)
        return
    if started[0] is not None:
        ctx.needs_attention(_attention(ctx, sid, started[0]))


def _attention(ctx: HandlerContext, sid: str, wait: dict[str, Any]) -> dict[str, Any]:
    """What ``on_needs_attention`` gets: the wait, and which session of which project."""
    from state.clock import iso
    from state.paths import session_key

    try:
        state = ctx.store.read(session_key(sid, "state.json")) or {}
    except Exception:  # a plugin still hears of the wait
        state = {}
    attention = {"session_id": sid, "reason": wait["for"], **wait,
                 "at": iso(float(wait.get("since", ctx.now)))}
    for key in ("project", "cwd", "claude_name"):
        if isinstance(state.get(key), str):
            attention[key] = state[key]
    return attention
