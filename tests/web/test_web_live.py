"""The change watcher behind the event stream: new lines, new sessions, rotation, topics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestra.changes import changed_topics, scan
from orchestra.web.live import QUEUE, Hub, Listener
from state.eventlog import append_event
from state.messages import send_message
from state.shared import add_decision
from state.store import open_store
from tests.handlers._support import payload


def bash(sid: str, command: str) -> dict[str, Any]:
    return payload("PreToolUse.Bash", sid, tool_input={"command": command})


def details(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail"] for e in events]


def test_what_existed_is_not_news_what_follows_is(home: Path,
                                                  dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    dispatch(bash("s1", "echo before"))
    hub = Hub(open_store(home))
    assert hub.check() == (set(), [])
    dispatch(bash("s1", "echo one"))
    dispatch(bash("s1", "echo two"))
    topics, events = hub.check()
    assert details(events) == ["echo one", "echo two"]
    assert {e["session"] for e in events} == {"s1"}
    assert {"events", "sessions"} <= topics
    assert hub.check() == (set(), [])  # nothing new: nothing pushed


def test_a_new_session_is_news_from_its_first_event(home: Path,
                                                    dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    hub = Hub(open_store(home))
    hub.check()
    dispatch(payload("SessionStart.startup", "s2"))
    _topics, events = hub.check()
    assert [(e["session"], e["event"]) for e in events] == [("s2", "SessionStart")]


def test_no_line_is_lost_or_repeated_across_rotation(home: Path,
                                                     dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    store = open_store(home)
    hub = Hub(store)
    hub.check()
    seen: list[str] = []
    for n in range(40):
        # Tiny segments: the log rotates every few lines, often between two checks.
        append_event(store, "s1", {"ts": 1000.0 + n, "event": "PreToolUse", "tool": "Bash",
                                   "summary": {"tool_input": {"command": f"echo {n}"}}},
                     max_bytes=300)
        if n % 3 == 0:
            seen += details(hub.check()[1])
    seen += details(hub.check()[1])
    assert seen == [f"echo {n}" for n in range(40)]
    assert len(list((home / "sessions" / "s1").glob("events.*.jsonl"))) > 3


def test_a_line_being_written_waits_for_its_end(home: Path,
                                                dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    hub = Hub(open_store(home))
    hub.check()
    log = home / "sessions" / "s1" / "events.jsonl"
    with open(log, "ab") as fh:
        fh.write(b'{"ts":5.0,"event":"Stop","summary":{"reason":"hal')
    assert hub.check()[1] == []
    with open(log, "ab") as fh:
        fh.write(b'f"}}\n')
    assert details(hub.check()[1]) == ["half"]


def test_topics_say_what_changed(home: Path, dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    store = open_store(home)
    before = scan(store)
    assert before is not None
    send_message(store, text="hi", sender="web", to_session="s1")
    after = scan(store)
    assert after is not None
    assert changed_topics(before, after) == {"messages", "sessions"}
    add_decision(store, "project", title="t", rationale="r", by=[])
    assert changed_topics(after, scan(store) or {}) == {"decisions", "board"}
    assert changed_topics(after, after) == set()


def test_a_store_without_files_has_no_scan() -> None:
    from state.persistence.storage import MemoryStorage

    assert scan(MemoryStorage()) is None
    assert Hub(MemoryStorage()).check() == (set(), [])


def test_listeners_filter_and_a_slow_one_is_told_to_resync() -> None:
    async def scenario() -> None:
        listener = Listener(session="s1", tool="Bash")
        assert listener.wants({"session": "s1", "event": "PreToolUse", "tool": "Bash"})
        assert not listener.wants({"session": "s2", "event": "PreToolUse", "tool": "Bash"})
        assert not listener.wants({"session": "s1", "event": "PreToolUse", "tool": "Read"})
        assert not Listener(events=False).wants({"session": "s1", "event": "x", "tool": None})
        for n in range(QUEUE + 5):
            listener.put(("event", {"n": n}))
        # The backlog is dropped for one "reload your page"; what follows is pushed again.
        assert listener.queue.get_nowait() == ("resync", {})
        rest = [listener.queue.get_nowait()[1]["n"] for _ in range(listener.queue.qsize())]
        assert rest == list(range(QUEUE + 1, QUEUE + 5))

    asyncio.run(scenario())


def test_the_hub_pushes_to_subscribers_and_stops_them(home: Path,
                                                      dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))

    async def scenario() -> list[tuple[str, Any]]:
        hub = Hub(open_store(home), interval=0.01)
        listener = Listener(session="s1")
        hub.subscribe(listener)
        while hub._scan is None:  # primed
            await asyncio.sleep(0.01)
        await asyncio.to_thread(dispatch, bash("s1", "echo pushed"))
        got = []
        while not any(kind == "event" for kind, _ in got):
            got.append(await asyncio.wait_for(listener.queue.get(), 30))
        hub.stop()
        got.append(await asyncio.wait_for(listener.queue.get(), 30))
        hub.unsubscribe(listener)
        return got

    got = asyncio.run(scenario())
    event = next(data for kind, data in got if kind == "event")
    assert event["detail"] == "echo pushed"
    assert got[-1] == ("bye", None)
