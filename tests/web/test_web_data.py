"""What the pages show (orchestra.web.data), from states built by real dispatches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestra.web.data import StateReader
from state.errors import InvalidIdError, InvalidValueError, NotFoundError
from state.paths import session_key
from state.persistence.storage import MemoryStorage
from state.shared import add_decision
from state.store import open_store
from tests.handlers._support import payload


def edit(sid: str, path: str) -> dict[str, Any]:
    return payload("PostToolUse.Bash", sid, tool_name="Edit",
                   tool_input={"file_path": path, "old_string": "a", "new_string": "b"},
                   tool_response={"filePath": path})


def bash(sid: str, command: str) -> dict[str, Any]:
    return payload("PreToolUse.Bash", sid, tool_input={"command": command})


@pytest.fixture
def reader(home: Path) -> StateReader:
    return StateReader(open_store(home))


def test_sessions_across_projects_active_first(home: Path, dispatch: Callable[..., Any],
                                               reader: StateReader) -> None:
    dispatch(payload("SessionStart.startup", "old"))
    dispatch(payload("SessionEnd.other", "old"))
    dispatch(payload("SessionStart.startup", "elsewhere", cwd="/home/dev/other"))
    dispatch(payload("SessionStart.startup", "busy"))
    dispatch(bash("busy", "make test"))
    data = reader.sessions()
    assert data["total"] == 3 and data["counts"]["active"] == 2 and data["counts"]["ended"] == 1
    assert [s["session_id"] for s in data["sessions"]][-1] == "old"
    busy = next(s for s in data["sessions"] if s["session_id"] == "busy")
    assert busy["last_event"] == "PreToolUse" and busy["last_tool"] == "Bash"
    assert busy["project"] == "project" and busy["status"] == "active"
    assert {s["project"] for s in data["sessions"]} == {"project", "other"}
    assert data["projects"] == ["other", "project"]
    assert [s["session_id"] for s in reader.sessions(project="other")["sessions"]] == [
        "elsewhere"]
    assert [s["session_id"] for s in reader.sessions(status="ended")["sessions"]] == ["old"]


def test_a_change_is_seen_at_once_and_the_machine_is_shown(home: Path, reader: StateReader,
                                                           dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    assert reader.sessions()["sessions"][0]["last_tool"] is None  # now cached
    dispatch(bash("s1", "ls"))
    assert reader.sessions()["sessions"][0]["last_tool"] == "Bash"
    with reader.store.transaction(session_key("s1", "state.json")) as doc:
        doc["machine"] = "build-box-2"  # as the PostgreSQL backend records it
    assert reader.sessions()["sessions"][0]["machine"] == "build-box-2"


def test_sessions_show_their_roles(home: Path, reader: StateReader,
                                   dispatch: Callable[..., Any]) -> None:
    from state.roles import set_role
    from state.shared import set_config

    for sid in ("lead", "w1", "peer"):
        dispatch(payload("SessionStart.startup", sid))
    store = open_store(home)
    set_role(store, "lead", "orchestrator")
    set_role(store, "w1", "worker")
    roles = {s["session_id"]: s["role"] for s in reader.sessions()["sessions"]}
    assert roles == {"lead": "orchestrator", "w1": "worker", "peer": "peer"}
    set_config(store, "projects.project.roles.default", "worker")  # the project's default
    assert {s["session_id"]: s["role"] for s in reader.sessions()["sessions"]}["peer"] == \
        "worker"


def test_sessions_are_paged(home: Path, reader: StateReader,
                            dispatch: Callable[..., Any]) -> None:
    for n in range(7):
        dispatch(payload("SessionStart.startup", f"s{n}"))
    pages = [reader.sessions(page=p, per_page=3) for p in (1, 2, 3, 99)]
    assert [len(p["sessions"]) for p in pages] == [3, 3, 1, 1]
    assert pages[3]["page"] == 3  # past the end: the last page
    seen = [s["session_id"] for p in pages[:3] for s in p["sessions"]]
    assert sorted(seen) == [f"s{n}" for n in range(7)]


def test_bad_session_filters(reader: StateReader) -> None:
    with pytest.raises(InvalidValueError):
        reader.sessions(status="sleeping")
    with pytest.raises(InvalidIdError):
        reader.sessions(project="../x")


def test_events_newest_first_filtered_and_paged(home: Path, reader: StateReader,
                                                dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "a"))
    dispatch(payload("SessionStart.startup", "b"))
    for n in range(5):
        dispatch(bash("a" if n % 2 else "b", f"echo {n}"))
    every = reader.events()["events"]
    assert [e["detail"] for e in every[:5]] == [f"echo {n}" for n in range(4, -1, -1)]
    assert [e["session"] for e in every[:2]] == ["b", "a"]
    only_a = reader.events(session="a", kind="PreToolUse", tool="Bash")["events"]
    assert [e["detail"] for e in only_a] == ["echo 3", "echo 1"]
    first = reader.events(limit=2)
    second = reader.events(limit=2, before=first["next"])
    assert [e["detail"] for e in first["events"] + second["events"]] == [
        "echo 4", "echo 3", "echo 2", "echo 1"]
    with pytest.raises(NotFoundError):
        reader.events(session="nobody")
    with pytest.raises(InvalidValueError):
        reader.events(before="not-a-cursor")


def test_events_without_files_use_the_stores_reader() -> None:
    store = MemoryStorage()
    with store.transaction(session_key("m1", "state.json")) as doc:
        doc.update({"session_id": "m1", "active_work": {"agents": {}}})
    for n in range(3):
        store.append(session_key("m1", "events.jsonl"),
                     {"ts": float(n), "event": "PreToolUse", "tool": "Bash"})
    events = StateReader(store).events()["events"]
    assert [e["ts"] for e in events] == [2.0, 1.0, 0.0]


def test_messages_sent_as_web_listed_and_in_the_inbox(home: Path, reader: StateReader,
                                                      dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    reader.send({"to": "session", "target": "s1", "text": "first"})
    reader.send({"to": "project", "target": "project", "text": "second", "urgent": True})
    reader.send({"to": "all", "text": "third"})
    listed = reader.messages()["messages"]
    assert [(m["text"], m["to"], m["from"]) for m in listed] == [
        ("third", "everyone", "web"), ("second", "project project", "web"),
        ("first", "session s1", "web")]
    assert listed[1]["urgent"] is True
    inbox = reader.messages(session="s1")["messages"]
    assert {m["text"] for m in inbox} == {"first", "second", "third"}
    assert all(m["delivered"] is False for m in inbox)


@pytest.mark.parametrize(("body", "error"), [
    ({"to": "session", "target": "nobody", "text": "x"}, NotFoundError),
    ({"to": "session", "target": "a/b", "text": "x"}, InvalidIdError),
    ({"to": "session", "text": "x"}, InvalidValueError),
    ({"to": "all", "text": ""}, InvalidValueError),
    ({"to": "all", "text": 5}, InvalidValueError),
    ({"to": "moon", "text": "x"}, InvalidValueError),
])
def test_bad_messages_write_nothing(home: Path, reader: StateReader, body: dict[str, Any],
                                    error: type[Exception]) -> None:
    with pytest.raises(error):
        reader.send(body)
    assert reader.messages()["messages"] == []


def test_claims_of_live_sessions(home: Path, reader: StateReader,
                                 dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    dispatch(edit("alpha", "/home/dev/project/src/app.py"))
    claims = reader.claims()["claims"]
    assert [(c["path"], c["session"], c["project"], c["session_status"]) for c in claims] == [
        ("/home/dev/project/src/app.py", "alpha", "project", "active")]
    dispatch(payload("SessionEnd.other", "alpha"))
    assert reader.claims()["claims"] == []


def test_decisions_of_every_project_newest_first(home: Path, reader: StateReader,
                                                 dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    add_decision(reader.store, "project", title="Use SSE", rationale="one way", by=["ann"])
    add_decision(reader.store, "other", title="Loopback only", rationale="private", by=["bo"])
    data = reader.decisions()
    assert [(d["title"], d["project"]) for d in data["decisions"]] == [
        ("Loopback only", "other"), ("Use SSE", "project")]
    assert [d["title"] for d in reader.decisions("project")["decisions"]] == ["Use SSE"]


def test_board_is_the_board_views_data(home: Path, reader: StateReader,
                                       dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    dispatch(payload("PostToolUse.TaskCreate", "s1"))
    board = reader.board(None)
    assert board["project"] == "project"
    assert [c["key"] for c in board["columns"]] == ["todo", "doing", "blocked", "done"]
    assert sum(len(c["tasks"]) for c in board["columns"]) == 1
    with pytest.raises(NotFoundError):
        reader.board("no-such-project")
