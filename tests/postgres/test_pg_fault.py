"""Losing the server costs nothing but delay (issue 14, fault test).

The server is stopped with ``pg_ctl stop -m immediate`` in the middle of a
session while hooks keep coming, messages are sent and a task is created on
both machines. Every hook exits 0 within the dispatch budget; once the server
is back, every event and every message is there exactly once, in order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._postgres import Cluster
from tests.handlers._support import payload
from tests.postgres.conftest import REPO, Machine

BUDGET = 5.0  # the dispatcher's default budget (dispatch.budget_seconds)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A cluster of this test's own: stopping it must not disturb other tests."""
    own = Cluster.create()
    try:
        yield own
    finally:
        own.destroy()


def _machine(name: str, tmp_path: Path, cluster: Cluster) -> Machine:
    root = tmp_path / name
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRA_", "CLAUDE_"))}
    env.update({"ORCHESTRA_HOME": str(root), "PYTHONPATH": str(REPO), **cluster.client_env()})
    machine = Machine(name, root, env)
    machine.configure(url=cluster.url, schema="fault", sync_seconds=0, retry_seconds=1)
    return machine


def _bash(sid: str, i: int) -> dict[str, Any]:
    return payload("PostToolUse.Bash", sid, tool_use_id=f"tu-{i:02d}",
                   tool_input={"command": f"echo {i}"})


def test_server_stopped_mid_session_loses_and_duplicates_nothing(
        tmp_path: Path, cluster: Cluster) -> None:
    a, b = _machine("a", tmp_path, cluster), _machine("b", tmp_path, cluster)
    hooks = [a.dispatch(payload("SessionStart.startup", "s1")),
             b.dispatch(payload("SessionStart.startup", "r1"))]
    hooks += [a.dispatch(_bash("s1", i)) for i in range(1, 6)]
    a.cli("state.session_manager", "list")  # each machine has seen the other's sessions
    b.cli("state.session_manager", "list")

    cluster.stop(mode="immediate")
    hooks += [a.dispatch(_bash("s1", i)) for i in range(6, 11)]
    sent_b = b.cli("state.session_manager", "send", "--to", "s1", "--from", "r1",
                   "sent from b while the server was down")
    sent_a = a.cli("state.session_manager", "send", "--to", "r1", "--from", "s1",
                   "sent from a while the server was down")
    hooks.append(a.dispatch(payload("PostToolUse.TaskCreate", "s1")))
    hooks += [a.dispatch(_bash("s1", i)) for i in range(11, 16)]
    hooks.append(b.dispatch(_bash("r1", 1)))
    assert a.outbox() and b.outbox(), "the writes wait on each machine"

    cluster.start()
    b.cli("state.session_manager", "list")  # any command that reaches the server ships
    a.cli("state.session_manager", "list")
    hooks += [a.dispatch(_bash("s1", i)) for i in range(16, 19)]
    hooks.append(b.dispatch(_bash("r1", 2)))

    for hook in hooks:
        assert hook.code == 0, hook.stderr
        assert hook.seconds < BUDGET, hook  # fail open within the budget
    assert a.outbox() == [] and b.outbox() == []
    print(f"{len(hooks)} hooks, slowest {max(h.seconds for h in hooks):.2f}s "
          f"(budget {BUDGET:g}s)")  # shown with pytest -s

    events = a.cli("state.state_manager", "events", "s1")
    bash = [e["tool_use_id"] for e in events if e.get("tool") == "Bash"]
    assert bash == [f"tu-{i:02d}" for i in range(1, 19)]  # every event, once, in order
    assert [e["event"] for e in events].count("SessionStart") == 1
    assert sum(1 for e in events if e.get("tool") == "TaskCreate") == 1

    delivered_s1 = "".join(h.context for h in hooks)
    assert delivered_s1.count(sent_b["text"]) == 1
    assert delivered_s1.count(sent_a["text"]) == 1
    inbox = a.cli("state.session_manager", "inbox", "s1", "--all")
    assert [m["id"] for m in inbox] == [sent_b["id"]] and inbox[0]["delivered"]
    assert [m["id"] for m in b.cli("state.session_manager", "inbox", "r1", "--all")] == [
        sent_a["id"]]

    tasks = a.cli("state.state_manager", "get", "s1", "active_work.tasks")
    assert [t["subject"] for t in tasks.values()] == ["Write tests"]  # made while it was down
