"""Handoff, and a session that ends or is gone mid-task (issue 24, section 5).

Its open tasks return to the pool with their history, flagged with the last activity
and the files the session changed, without a daemon: at its SessionEnd, at the next
hook of any session of the project, in ``task next`` and in the views. Nothing is lost
and nothing is held twice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.orchestration._support import (
    CWD,
    age_heartbeat,
    context_of,
    event,
    orch,
    plan,
    start,
)


@pytest.fixture
def team(home: Path, dispatch: Callable[..., Any]) -> Callable[..., Any]:
    start(dispatch, "lead", "orchestrator")
    start(dispatch, "w1", "worker")
    start(dispatch, "w2", "worker")
    for title in ("Fix the cart", "Write docs"):
        assert orch("task", "add", title, session="lead").code == 0
    return dispatch


def _work(dispatch: Callable[..., Any], session: str) -> None:
    """The session is asked something, runs a described Bash call and writes a file."""
    dispatch(event("UserPromptSubmit", session, prompt="Fix the rounding in cart totals\nnow"))
    dispatch(event("PreToolUse.Bash", session, tool_use_id=f"toolu_{session}_b",
                   tool_input={"command": "pytest -q", "description": "Run the cart tests"}))
    dispatch(event("PostToolUse.Bash", session, tool_use_id=f"toolu_{session}_b",
                   tool_input={"command": "pytest -q", "description": "Run the cart tests"}))
    written = {"file_path": f"{CWD}/cart.py", "content": "x = 1\n"}
    dispatch(event("PreToolUse.Write", session, tool_use_id=f"toolu_{session}_w",
                   tool_input=written))
    dispatch(event("PostToolUse.Bash", session, tool_name="Write",
                   tool_use_id=f"toolu_{session}_w", tool_input=written,
                   tool_response={"type": "create", "filePath": f"{CWD}/cart.py"}))


def test_a_session_ending_mid_task_returns_it_with_its_history(home: Path, team: Any) -> None:
    assert orch("task", "next", session="w1").json()["id"] == "T-1"
    orch("task", "progress", "T-1", "30", session="w1")
    _work(team, "w1")
    team(event("SessionEnd.other", "w1"))
    task = plan(home)["T-1"]
    assert (task["status"], task["assignee"], task["session"]) == ("pending", None, None)
    assert task["progress"] == 30  # what was done is not lost
    flag = task["returned"]
    assert (flag["from"], flag["status"], flag["progress"]) == ("w1", "in_progress", 30)
    assert flag["reason"] == "ended (other)"
    assert flag["doing"] == "Bash: Run the cart tests" and flag["files"] == ["cart.py"]
    assert flag["last_prompt"] == "Fix the rounding in cart totals"  # issue 21's activity
    assert flag["last_seen"]
    assert [h["action"] for h in task["history"]] == ["added", "taken", "progress", "returned"]
    # the orchestrator sees it back in the pool; the next worker takes it first
    context = context_of(team(event("UserPromptSubmit", "lead")))
    assert 'Back in the pool: T-1 "Fix the cart", in_progress 30% when session w1 ended' in \
        context and "files cart.py" in context
    taken = orch("task", "next", session="w2").json()
    assert taken["id"] == "T-1" and taken["returned"]["from"] == "w1"
    assert "returned" not in plan(home)["T-1"]
    assert plan(home)["T-1"]["history"][-1] == {**plan(home)["T-1"]["history"][-1],
                                                "action": "taken", "returned_from": "w1"}


def test_a_gone_session_returns_its_tasks_at_the_next_hook_of_any_session(
        home: Path, team: Any) -> None:
    orch("task", "assign", "T-1", "--to", "w1", session="lead")
    orch("task", "start", "T-1", session="w1")
    orch("task", "assign", "T-2", "--to", "w1", session="lead")  # given, not started
    age_heartbeat(home, "w1", 3 * 3600)  # crashed: no heartbeat, no SessionEnd
    assert plan(home)["T-1"]["assignee"] == "w1"  # nothing runs by itself...
    team(event("Stop", "w2"))  # ...until any session of the project has a hook
    tasks = plan(home)
    for tid in ("T-1", "T-2"):
        assert tasks[tid]["assignee"] is None and tasks[tid]["status"] == "pending"
        assert tasks[tid]["returned"]["from"] == "w1"
        assert "is gone (no heartbeat for 180 min" in tasks[tid]["returned"]["reason"]
    told = context_of(team(event("UserPromptSubmit", "lead")))
    assert "Task T-1 \"Fix the cart\" is back in the pool: session w1 is gone" in told


def test_task_next_and_the_views_return_gone_sessions_tasks_too(home: Path, team: Any) -> None:
    orch("task", "start", "T-1", session="w1")
    age_heartbeat(home, "w1", 3 * 3600)
    (home / "projects" / "shop" / "sweep.json").write_text('{"at": 9e12}')  # hooks: not yet
    board = orch("board", "--json", session="lead").json()
    todo = [t["id"] for t in board["columns"][0]["tasks"]]
    assert "T-1" in todo  # the view of now returned it
    orch("task", "start", "T-2", session="w1")  # a gone session's own CLI call...
    age_heartbeat(home, "w1", 3 * 3600)
    got = orch("task", "next", session="w2").json()  # ...is returned by the next taker
    assert got["id"] in ("T-1", "T-2")
    holders = [t.get("assignee") for t in plan(home).values()]
    assert holders.count("w1") == 0 and holders.count("w2") == 1


def test_handoff_moves_the_task_history_and_note(home: Path, team: Any) -> None:
    orch("task", "start", "T-1", session="w1")
    orch("task", "progress", "T-1", "70", session="w1")
    moved = orch("task", "handoff", "T-1", "--to", "w2", "--note", "only the docs left",
                 session="w1").json()
    assert (moved["assignee"], moved["status"], moved["progress"]) == ("w2", "in_progress", 70)
    assert moved["history"][-1]["action"] == "handoff"
    assert (moved["history"][-1]["from"], moved["history"][-1]["to"]) == ("w1", "w2")
    assert moved["history"][-1]["note"] == "only the docs left"
    # w1 ending now takes nothing with it
    team(event("SessionEnd.other", "w1"))
    assert plan(home)["T-1"]["assignee"] == "w2"
    worker = context_of(team(event("UserPromptSubmit", "w2")))
    assert "Handed off to you" in worker and 'Your task: T-1 "Fix the cart"' in worker
    # a handoff of a done task is refused; nothing changes
    orch("task", "done", "T-1", session="w2")
    refused = orch("task", "handoff", "T-1", "--to", "lead", session="w2")
    assert refused.code == 4 and plan(home)["T-1"]["assignee"] == "w2"


def test_nothing_is_held_twice_under_returns_and_takes(home: Path, team: Any) -> None:
    """Return and take race on one plan: every task has one holder or none."""
    for n in range(10):
        orch("task", "add", f"Job {n}", session="lead")
    for _round in range(3):
        for worker in ("w1", "w2"):
            orch("task", "next", session=worker)
        team(event("SessionEnd.other", "w1"))
        start(team, "w1", "worker")
    open_tasks = [t for t in plan(home).values() if t["status"] != "done"]
    holders = [t["assignee"] for t in open_tasks if t["assignee"]]
    assert all(t["status"] == "in_progress" for t in open_tasks if t["assignee"])
    assert all(t["status"] == "pending" for t in open_tasks if not t["assignee"])
    assert holders.count("w1") == 0  # w1 ended last: nothing of it is held
    for task in plan(home).values():  # every take followed by one return at most
        actions = [h["action"] for h in task["history"]]
        assert actions.count("taken") - actions.count("returned") in (0, 1)


def test_a_session_waiting_for_a_person_keeps_its_task(home: Path, team: Any) -> None:
    """A worker at a permission prompt is silent until someone answers: past
    presence.idle_seconds its task stays its own (no second worker takes it), up to
    presence.stale_seconds, when it goes back to the pool."""
    assert orch("task", "start", "T-1", session="w1").code == 0
    assert orch("task", "start", "T-2", session="lead").code == 0  # the pool is empty
    team(event("PreToolUse.Bash", "w1", tool_use_id="toolu_p1"))
    team(event("PermissionRequest.Bash", "w1", tool_use_id="toolu_p1"))
    age_heartbeat(home, "w1", 45 * 60)
    assert orch("task", "next", session="w2").code == 3
    assert plan(home)["T-1"]["assignee"] == "w1"
    age_heartbeat(home, "w1", 7 * 3600)
    taken = orch("task", "next", session="w2").json()
    assert taken["id"] == "T-1" and taken["returned"]["from"] == "w1"
