"""A session's event log folded into what a timeline draws: spans and marks.

:class:`Folder` reads the records of ``sessions/<id>/events.jsonl`` (see
:mod:`handlers.eventlog`) in the order they were written and keeps a list of
:class:`Item`, in order of their start:

* ``turn`` — a prompt until its Stop (or StopFailure, the next prompt, SessionEnd);
* ``tool`` — a tool call, PreToolUse until its PostToolUse/PostToolUseFailure (paired by
  ``tool_use_id``), PermissionDenied, or the end of its batch or turn; Bash calls carry
  their ``description``, file tools their file;
* ``agent`` — a subagent, SubagentStart until SubagentStop, with the task its ``Agent``
  call gave it; calls made inside it carry its id in ``agent``;
* ``wait`` — a session waiting for a person: a Notification that asks for one
  (``permission_prompt``, ``idle_prompt``, ...), PermissionRequest or Elicitation, until
  the next tool event or prompt of the same thread (the rule of issue 21's activity);
* ``guard`` — a decision Orchestra sent (deny, ask, block, defer, stop), as a mark.

An item still open has ``end`` None. The folder is resumable: feeding it the lines
appended since keeps it current, which is how ``orchestra serve`` follows a log.
Everything here is data from the log, which the event log has already redacted and
bounded; texts are cut again to a line.
"""

from __future__ import annotations

from bisect import insort

from state.activity import ANSWER_TYPES, ELICITATIONS, WAIT_TYPES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GUARD_DECISIONS", "WAIT_TYPES", "Folder", "Item", "line"]

#: Decisions that stopped or questioned a call: drawn as guard marks.
GUARD_DECISIONS = frozenset({"deny", "ask", "block", "defer", "stop"})
#: Where a tool call says what it works on, in order of preference.
_DETAIL_KEYS = ("command", "file_path", "notebook_path", "path", "pattern", "url", "query",
                "skill", "to", "subagent_type")
TEXT_CHARS = 160
_TASK_NOTICE = "<task-notification>"
_CROSS_SESSION = "<cross-session-message"


def line(value: Any, limit: int = TEXT_CHARS) -> str | None:
    """The first non-blank line of a logged text (or of a cut one), at most ``limit``."""
    if isinstance(value, dict) and value.get("truncated"):
        value = value.get("text")
    if not isinstance(value, str):
        return None
    if len(value) <= limit and value.isprintable() and "  " not in value:
        return value.strip() or None  # one short line already (most texts): as it is
    for part in value[:4000].splitlines():
        part = " ".join(part.split())
        if part:
            return part if len(part) <= limit else part[: limit - 1] + "…"
    return None


class Item:
    """One span or mark of a lane. ``end`` None: still open. (A plain class with slots:
    folding 100,000 events makes many of them.)"""

    __slots__ = ("agent", "detail", "end", "extra", "id", "kind", "start", "state", "text",
                 "tool")

    def __init__(self, kind: str, start: float, *, end: float | None = None,
                 tool: str | None = None, text: str | None = None, detail: str | None = None,
                 agent: str | None = None, state: str | None = None,
                 id: str | None = None) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.tool = tool
        self.text = text
        self.detail = detail
        self.agent = agent
        self.state = state
        self.id = id
        self.extra: dict[str, Any] | None = None

    def close(self, at: float, state: str) -> None:
        if self.end is None:
            self.end = max(at, self.start)
            self.state = state

    def to_json(self) -> dict[str, Any]:
        end = self.end
        out: dict[str, Any] = {"kind": self.kind, "start": round(self.start, 3),
                               "end": None if end is None else round(end, 3)}
        for key in ("tool", "text", "detail", "agent", "state", "id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.extra:
            out.update(self.extra)
        return out

    def __repr__(self) -> str:  # for test failures
        return f"Item({self.to_json()!r})"


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    summary = record.get("summary")
    return summary if isinstance(summary, dict) else {}


def _tool_input(summary: dict[str, Any]) -> dict[str, Any]:
    value = summary.get("tool_input")
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int = 40) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


class Folder:
    """Folds one session's event records, oldest first (see the module docstring)."""

    def __init__(self, horizon: float | None = None) -> None:
        #: Where reading began: what began before it and ends after is drawn from here.
        self.horizon = horizon
        self.items: list[Item] = []
        self.turn: Item | None = None
        self.tools: dict[str, Item] = {}
        self.agents: dict[str, Item] = {}
        #: ``Agent`` calls whose subagent has not started yet (it takes their task).
        self.tasks: list[Item] = []
        #: Open waits by thread (None: the main thread; else the subagent's id).
        self.waits: dict[str | None, Item] = {}
        self.last: float | None = None
        self.ended: float | None = None
        self.count = 0

    # -- feeding -----------------------------------------------------------------------

    def feed(self, record: dict[str, Any]) -> None:
        ts = record.get("ts")
        if type(ts) not in _NUMBERS:  # bool is not a number here
            return  # a hand-made or foreign line: nothing to place
        ts = float(ts)  # type: ignore[arg-type]
        if ts != ts or ts in (float("inf"), float("-inf")):
            return
        handler = _HANDLERS.get(record.get("event"))  # type: ignore[arg-type]
        self.count += 1
        if self.last is None or ts > self.last:
            self.last = ts
        if handler is not None:
            handler(self, record, ts)
        decision = record.get("decision")
        if decision is not None and decision in GUARD_DECISIONS:
            self._guard(record, ts, str(decision))

    def _since(self, ts: float) -> float:
        """Where an item whose beginning was not read starts: the reading's horizon."""
        return ts if self.horizon is None else min(ts, self.horizon)

    def _add(self, item: Item) -> Item:
        self.items.append(item)
        return item

    def _thread(self, record: dict[str, Any]) -> str | None:
        agent = record.get("agent_id")
        return agent if isinstance(agent, str) and agent else None

    def _end_wait(self, agent: str | None, at: float, sources: frozenset[str] | None = None
                  ) -> None:
        wait = self.waits.get(agent)
        if wait is None or (sources is not None and (wait.extra or {}).get("source")
                            not in sources):
            return
        wait.close(at, "answered")
        del self.waits[agent]

    def _end_thread_tools(self, agent: str | None, at: float, state: str) -> None:
        for key in [k for k, call in self.tools.items() if call.agent == agent]:
            self.tools.pop(key).close(at, state)

    def _end_all(self, at: float, state: str) -> None:
        for call in self.tools.values():
            call.close(at, state)
        self.tools.clear()
        for agent in self.agents.values():
            agent.close(at, state)
        self.agents.clear()
        self.tasks.clear()
        for wait in self.waits.values():
            wait.close(at, state)
        self.waits.clear()
        if self.turn is not None:
            self.turn.close(at, state)
            self.turn = None

    def _prompt(self, record: dict[str, Any], ts: float) -> None:
        if self.turn is not None:
            self.turn.close(ts, "interrupted")
        self._end_thread_tools(None, ts, "lost")
        self._end_wait(None, ts)
        raw = _summary(record).get("prompt")
        prompt = raw.get("text") if isinstance(raw, dict) else raw
        text, extra = line(prompt), None
        stripped = prompt.lstrip() if isinstance(prompt, str) else ""
        if stripped.startswith(_TASK_NOTICE):
            text = "a background task ended"
        elif stripped.startswith(_CROSS_SESSION):
            head, _, body = stripped.partition(">")
            sender = _attribute(head, "from-name")
            text = line(body.replace("</cross-session-message>", "")) or "(empty message)"
            extra = {"from_name": sender} if sender else None
        self.turn = self._add(Item("turn", ts, text=text, state="running"))
        self.turn.extra = extra

    def _pre(self, record: dict[str, Any], ts: float) -> None:
        agent = self._thread(record)
        tool = _text(record.get("tool"), 100) or "?"
        key = _text(record.get("tool_use_id"), 200) or f"call-{ts}"
        inputs = _tool_input(_summary(record))
        call = self._add(Item("tool", ts, tool=tool, text=line(inputs.get("description")),
                              detail=_detail(inputs), agent=agent, state="running", id=key))
        previous = self.tools.pop(key, None)
        if previous is not None:
            previous.close(ts, "lost")
        self.tools[key] = call
        if tool == "Agent" or tool == "Task":
            self.tasks.append(call)
            del self.tasks[:-16]
        self._end_wait(agent, ts)

    def _post(self, record: dict[str, Any], ts: float) -> None:
        agent = self._thread(record)
        key = _text(record.get("tool_use_id"), 200)
        call = self.tools.pop(key, None) if key else None
        state = _RESULTS.get(record.get("event"), "denied")  # type: ignore[arg-type]
        duration = record.get("duration_ms")
        if call is None:  # its start is before what was read: place it by its duration
            start = self._since(ts)
            if type(duration) in _NUMBERS and 0 <= duration < 86_400_000:  # type: ignore
                start = ts - duration / 1000  # type: ignore[operator]
            inputs = _tool_input(_summary(record))
            call = Item("tool", start, tool=_text(record.get("tool"), 100) or "?",
                        text=line(inputs.get("description")), detail=_detail(inputs),
                        agent=agent, id=key)
            insort(self.items, call, key=_start)  # its start may be before earlier items
        call.close(ts, state)
        if call.state != state:  # closed before (the batch ended first): the result stands
            call.state = state
        if state == "denied":
            reason = line(_summary(record).get("reason"))
            if reason:
                call.extra = {**(call.extra or {}), "reason": reason}
        self._end_wait(agent, ts)

    def _batch(self, record: dict[str, Any], ts: float) -> None:
        self._end_thread_tools(self._thread(record), ts, "lost")

    def _agent_start(self, record: dict[str, Any], ts: float) -> None:
        key = _text(record.get("agent_id"), 128)
        if key is None:
            return
        task = self.tasks.pop(0) if self.tasks else None
        kind = _text(record.get("agent_type"), 100) or "agent"
        item = Item("agent", ts, tool=kind, text=task.text if task else None,
                    agent=key, state="running", id=key)
        old = self.agents.pop(key, None)
        if old is not None:
            old.close(ts, "lost")
        self.agents[key] = self._add(item)

    def _agent_stop(self, record: dict[str, Any], ts: float) -> None:
        key = _text(record.get("agent_id"), 128)
        if key is None:
            return
        self._end_thread_tools(key, ts, "lost")
        self._end_wait(key, ts)
        item = self.agents.pop(key, None)
        if item is None:  # started before what was read
            kind = _text(record.get("agent_type"), 100) or "agent"
            item = Item("agent", self._since(ts), tool=kind, agent=key, id=key)
            item.extra = {"clipped": True}
            self._add(item)
        answer = line(_summary(record).get("last_assistant_message"))
        if answer:
            item.extra = {**(item.extra or {}), "answer": answer}
        item.close(ts, "done")

    def _wait(self, record: dict[str, Any], ts: float, kind: str, source: str,
              message: Any = None) -> None:
        agent = self._thread(record)
        wait = self.waits.get(agent)
        if wait is not None and wait.tool == kind:
            return  # the same wait, said again (PermissionRequest, then its Notification)
        if wait is not None:
            wait.close(ts, "answered")
        inputs = _tool_input(_summary(record))
        tool = _text(record.get("tool"), 100)
        text = line(inputs.get("description")) or line(message)
        item = Item("wait", ts, tool=kind, text=text, detail=_detail(inputs) if tool else None,
                    agent=agent, state="waiting")
        item.extra = {"source": source, **({"call": tool} if tool else {})}
        self.waits[agent] = self._add(item)

    def _permission(self, record: dict[str, Any], ts: float) -> None:
        self._wait(record, ts, "permission", "PermissionRequest")

    def _elicitation(self, record: dict[str, Any], ts: float) -> None:
        self._wait(record, ts, "input", "Elicitation", _summary(record).get("message"))

    def _elicitation_result(self, record: dict[str, Any], ts: float) -> None:
        self._end_wait(self._thread(record), ts, ELICITATIONS)

    def _notification(self, record: dict[str, Any], ts: float) -> None:
        summary = _summary(record)
        kind = summary.get("notification_type")
        if isinstance(kind, str) and kind in WAIT_TYPES:
            self._wait(record, ts, WAIT_TYPES[kind], kind, summary.get("message"))
        elif kind in ANSWER_TYPES:
            self._end_wait(self._thread(record), ts, ELICITATIONS)

    def _stop(self, record: dict[str, Any], ts: float) -> None:
        summary = _summary(record)
        failed = record.get("event") == "StopFailure"
        self._end_thread_tools(None, ts, "lost")
        self._end_wait(None, ts)
        turn = self.turn
        if turn is None:  # its prompt is before what was read
            turn = self._add(Item("turn", self._since(ts)))
            turn.extra = {"clipped": True}
        answer = line(summary.get("last_assistant_message"))
        if failed:
            answer = f"the turn failed: {line(summary.get('error'), 80) or 'error'}"
        if answer:
            turn.extra = {**(turn.extra or {}), "answer": answer}
        turn.close(ts, "failed" if failed else "done")
        self.turn = None

    def _session_start(self, record: dict[str, Any], ts: float) -> None:
        self._end_all(ts, "lost")  # a resume after a crash: nothing of before still runs
        self.ended = None

    def _session_end(self, record: dict[str, Any], ts: float) -> None:
        self._end_all(ts, "ended")
        self.ended = ts

    def _guard(self, record: dict[str, Any], ts: float, decision: str) -> None:
        inputs = _tool_input(_summary(record))
        item = Item("guard", ts, end=ts, tool=_text(record.get("tool"), 100),
                    text=line(inputs.get("description")), detail=_detail(inputs),
                    agent=self._thread(record), state=decision,
                    id=_text(record.get("tool_use_id"), 200))
        item.extra = {"event": str(record.get("event"))[:40]}
        self._add(item)

    # -- reading -----------------------------------------------------------------------

    def between(self, start: float, end: float) -> list[Item]:
        """Items that overlap ``[start, end]`` (open ones reach to the end of time)."""
        return [i for i in self.items
                if i.start <= end and (i.end is None or i.end >= start)]


def _start(item: Item) -> float:
    return item.start


def _attribute(tag: str, name: str) -> str | None:
    marker = f' {name}="'
    begin = tag.find(marker)
    if begin < 0:
        return None
    return tag[begin + len(marker):].split('"', 1)[0][:100] or None


def _detail(inputs: dict[str, Any]) -> str | None:
    """What a call works on: its command, file, pattern, address..."""
    for key in _DETAIL_KEYS:
        value = inputs.get(key)
        if value:
            found = line(value, 300)
            if found:
                return found
    return None


_NUMBERS = (int, float)
_RESULTS = {"PostToolUse": "ok", "PostToolUseFailure": "failed"}
_HANDLERS: dict[str, Any] = {
    "UserPromptSubmit": Folder._prompt,
    "PreToolUse": Folder._pre,
    "PostToolUse": Folder._post,
    "PostToolUseFailure": Folder._post,
    "PermissionDenied": Folder._post,
    "PostToolBatch": Folder._batch,
    "SubagentStart": Folder._agent_start,
    "SubagentStop": Folder._agent_stop,
    "PermissionRequest": Folder._permission,
    "Elicitation": Folder._elicitation,
    "ElicitationResult": Folder._elicitation_result,
    "Notification": Folder._notification,
    "Stop": Folder._stop,
    "StopFailure": Folder._stop,
    "SessionStart": Folder._session_start,
    "SessionEnd": Folder._session_end,
}
