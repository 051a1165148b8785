"""Replaying a whole captured session leaves exactly the state it should (issue 4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from state.metrics import session_metrics
from state.store import open_store
from state.view import session_view
from tests.handlers._session import whole_session
from tests.handlers._support import SESSION


def _transcript(tmp_path: Path) -> Path:
    path = tmp_path / "transcript.jsonl"
    lines = [
        {"type": "user", "message": {"role": "user", "content": "hi"}},
        # one assistant message split over two lines: counted once
        {"type": "assistant", "message": {"id": "msg_1", "model": "claude-sonnet",
                                          "usage": {"input_tokens": 100, "output_tokens": 20,
                                                    "cache_read_input_tokens": 5}}},
        {"type": "assistant", "message": {"id": "msg_1", "model": "claude-sonnet",
                                          "usage": {"input_tokens": 100, "output_tokens": 20,
                                                    "cache_read_input_tokens": 5}}},
        {"type": "assistant", "message": {"id": "msg_2", "model": "claude-sonnet",
                                          "usage": {"input_tokens": 7, "output_tokens": 3}}},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_whole_session_state(home: Path, tmp_path: Path, dispatch: Callable[..., Any]) -> None:
    transcript = _transcript(tmp_path)
    events = whole_session(transcript=str(transcript))
    replies = [dispatch(event) for event in events]
    assert all(r.exit_code == 0 for r in replies)
    store = open_store(home)

    view = session_view(store, SESSION)
    # session lifecycle
    assert view["session_id"] == SESSION
    assert view["status"] == "ended"
    assert view["end_reason"] == "other"
    assert view["source"] == "startup"
    assert view["project"] == "project"  # derived from cwd /home/dev/project
    assert view["cwd"] == "/home/dev/project"
    assert view["started_at"] and view["ended_at"]
    # tasks: created by TaskCreate, moved by TaskUpdate, completed
    task = view["active_work"]["tasks"]["1"]
    assert task["subject"] == "Write tests"
    assert task["description"] == "Add unit tests for dispatcher"
    assert task["status"] == "completed"
    assert task["owner"] == "main"
    assert [h["status"] for h in task["history"]] == ["pending", "in_progress", "completed"]
    # subagent: the Agent call became the agent, busy then done
    agents = view["active_work"]["agents"]
    assert list(agents) == ["a97237ab0781df962"]
    agent = agents["a97237ab0781df962"]
    assert agent["agent_type"] == "general-purpose"
    assert agent["status"] == "done"
    assert agent["task"] == "Say ok"
    assert agent["tool_use_id"] == "toolu_5"
    assert agent["last_message"] == "ok"
    assert agent["started_at"] <= agent["stopped_at"]

    # metrics, derived from the event log, plus tokens from the transcript
    metrics = session_metrics(store, SESSION)
    assert metrics["events"] == len(events)
    assert metrics["prompts"] == 1
    assert metrics["tool_calls"] == 9
    assert metrics["failures"] == 1
    assert metrics["subagents"] == 1
    assert metrics["stops"] == 1
    # durations from duration_ms: the captured Bash success took 26 ms, the failure 12 ms
    assert metrics["tools"]["Bash"] == {"calls": 2, "failures": 1, "total_ms": 38.0,
                                        "max_ms": 26.0, "avg_ms": 19.0}
    assert metrics["tools"]["Edit"]["calls"] == 1
    assert metrics["tools"]["Edit"]["total_ms"] == 7.0
    assert metrics["tools"]["Agent"]["max_ms"] == 1500.0
    assert metrics["tokens"] == {"input_tokens": 107, "output_tokens": 23,
                                 "cache_read_input_tokens": 5}

    # the event log: every event in order, bounded and redacted
    log = [json.loads(line) for line in
           (home / "sessions" / SESSION / "events.jsonl").read_text().splitlines()]
    assert [r["event"] for r in log] == [e["hook_event_name"] for e in events]
    assert [r.get("tool") for r in log] == [e.get("tool_name") for e in events]
    read_response = log[9]["summary"]["tool_response"]["file"]["content"]
    assert read_response["length"] == 50_000 and read_response["truncated"] is True
    assert len(json.dumps(log[9])) < 5_000
    assert all(r["ts"] > 0 and r["t"].endswith("Z") for r in log)


def test_tokens_are_read_incrementally(home: Path, tmp_path: Path,
                                       dispatch: Callable[..., Any]) -> None:
    transcript = _transcript(tmp_path)
    stop = whole_session(transcript=str(transcript))[-2]
    dispatch(stop)
    with transcript.open("a") as fh:
        fh.write(json.dumps({"type": "assistant", "message": {
            "id": "msg_3", "model": "claude-haiku",
            "usage": {"input_tokens": 1, "output_tokens": 1}}}) + "\n")
        fh.write('{"type": "assistant", "message": {"id": "msg_4", "usa')  # torn, not counted yet
    dispatch(stop)
    usage = json.loads((home / "sessions" / SESSION / "usage.json").read_text())
    assert usage["tokens"] == {"input_tokens": 108, "output_tokens": 24,
                               "cache_read_input_tokens": 5}
    assert usage["by_model"]["claude-haiku"] == {"input_tokens": 1, "output_tokens": 1}
    offset = usage["transcripts"]["main"]["offset"]
    assert transcript.read_bytes()[:offset].endswith(b"\n")
    assert offset < transcript.stat().st_size  # the torn line waits for the next Stop


def test_resume_keeps_state_and_fork_records_parent(home: Path,
                                                    dispatch: Callable[..., Any]) -> None:
    events = whole_session()
    for event in events[:4]:
        dispatch(event)
    resume = dict(events[0], source="resume")
    dispatch(resume)
    store = open_store(home)
    view = session_view(store, SESSION, with_metrics=False)
    assert view["status"] == "active"
    assert view["resumes"][0]["source"] == "resume"
    assert view["started_at"] < view["resumed_at"] or view["started_at"] == view["resumed_at"]
    fork = dict(events[0], session_id="forked-1", source="fork", parent_session_id=SESSION)
    dispatch(fork)
    assert session_view(store, "forked-1", with_metrics=False)["parent_session_id"] == SESSION


def test_legacy_todowrite_feeds_tasks(home: Path, dispatch: Callable[..., Any]) -> None:
    from tests.handlers._support import payload

    first = payload("public/klaude-doc.PostToolUse.TodoWrite.legacy")
    dispatch(first)
    second = payload("public/klaude-doc.PostToolUse.TodoWrite.legacy", tool_input={"todos": [
        {"content": "Write a short test file", "status": "completed", "activeForm": "x"},
        {"content": "Run it", "status": "in_progress", "activeForm": "Running it"}]})
    dispatch(second)
    tasks = session_view(open_store(home), SESSION, with_metrics=False)["active_work"]["tasks"]
    assert tasks["todo-1"]["status"] == "completed"
    assert tasks["todo-2"]["subject"] == "Run it"
    assert [h["status"] for h in tasks["todo-1"]["history"]] == ["pending", "completed"]
