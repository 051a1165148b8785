"""State triggers: ``on_state_change`` sees committed changes, from handlers and from the CLIs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hooks.testing import run_dispatch

Payload = Callable[[str], dict[str, Any]]

RECORDING = """
    import json, os
    from hooks import hookimpl

    @hookimpl
    def on_state_change(document, path, old, new, session_id):
        with open(os.environ["ORCHESTRA_TEST_RECORD"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps([document, path, old, new, session_id]) + "\\n")
"""


def _records(path: Path) -> list[list[Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_task_turning_completed_in_process(home: Path, recorder: Callable[..., Any],
                                           payload: Payload) -> None:
    calls: list[tuple[str, Any]] = []
    watcher = recorder(calls, name="watcher")
    created = payload("PostToolUse.TaskCreate.json")
    completed = payload("TaskCompleted.json")
    sid = created["session_id"]
    assert completed["session_id"] == sid
    assert run_dispatch(created, plugins=[watcher], home=home).exit_code == 0
    assert run_dispatch(completed, plugins=[watcher], home=home).exit_code == 0
    changes = [detail for name, detail in calls if name == "on_state_change"]
    document = f"sessions/{sid}/tasks.json"
    assert (document, "tasks.1.status", "pending", "completed", sid) in changes
    # the task's creation was seen too (as the whole new task), before its completion
    creation = next(i for i, c in enumerate(changes) if c[0] == document and c[1] == "tasks")
    assert changes[creation][3]["1"]["subject"] == "Write tests"
    assert creation < changes.index((document, "tasks.1.status", "pending", "completed", sid))


def test_task_turning_completed_for_real(
    make_plugin: Callable[..., Path], dispatch_cli: Callable[..., Any], tmp_path: Path,
    payload: Payload,
) -> None:
    folder = make_plugin("watcher", RECORDING)
    record = tmp_path / "changes.jsonl"
    for name in ("PostToolUse.TaskCreate.json", "TaskCompleted.json"):
        result = dispatch_cli(payload(name), paths=[folder], ORCHESTRA_TEST_RECORD=str(record))
        assert result.code == 0, result.err
    sid = payload("TaskCompleted.json")["session_id"]
    assert [f"sessions/{sid}/tasks.json", "tasks.1.status", "pending", "completed", sid] in (
        _records(record))


def test_failing_trigger_does_not_break_the_dispatch(home: Path, plugin: Callable[..., Any],
                                                     payload: Payload) -> None:
    def explode(document: str) -> None:
        raise RuntimeError(f"trigger failed on {document}")

    result = run_dispatch(payload("PostToolUse.TaskCreate.json"),
                          plugins=[plugin("bad", on_state_change=explode)], home=home)
    assert (result.exit_code, result.stderr) == (0, "")
    sid = payload("PostToolUse.TaskCreate.json")["session_id"]
    assert (home / "sessions" / sid / "tasks.json").exists()  # the change itself stands
    assert "bad.on_state_change" in (home / "logs" / "dispatch.log").read_text()


def test_change_through_state_manager_cli(
    make_plugin: Callable[..., Path], home: Path, tmp_path: Path, payload: Payload,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from state import state_manager

    start = payload("SessionStart.startup.json")
    sid = start["session_id"]
    assert run_dispatch(start, home=home).exit_code == 0  # the session exists
    folder = make_plugin("cliwatch", RECORDING, package="orchestra_test_cliwatch_trigger")
    record = tmp_path / "changes.jsonl"
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    monkeypatch.setenv("ORCHESTRA_TEST_RECORD", str(record))
    monkeypatch.syspath_prepend(str(folder))
    code = state_manager.main(["set", sid, "active_work.current_epic", "EPIC-7"],
                              stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 0
    assert [f"sessions/{sid}/state.json", "active_work.current_epic", None, "EPIC-7", sid] in (
        _records(record))


def test_change_through_state_manager_cli_for_real(
    make_plugin: Callable[..., Path], home: Path, tmp_path: Path, payload: Payload,
    dispatch_cli: Callable[..., Any], workdir: Path, env_for: Callable[..., dict[str, str]],
) -> None:
    start = payload("SessionStart.startup.json")
    sid = start["session_id"]
    folder = make_plugin("cliwatch", RECORDING, package="orchestra_test_cliwatch_real")
    record = tmp_path / "changes.jsonl"
    assert dispatch_cli(start, paths=[folder], ORCHESTRA_TEST_RECORD=str(record)).code == 0
    env = env_for([folder], ORCHESTRA_TEST_RECORD=str(record))
    done = subprocess.run([sys.executable, "-m", "state.state_manager", "set", sid,
                           "active_work.current_epic", "EPIC-9"], env=env, cwd=workdir,
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [f"sessions/{sid}/state.json", "active_work.current_epic", None, "EPIC-9", sid] in (
        _records(record))


def test_change_of_a_large_state_through_the_cli_still_reaches_plugins(
    make_plugin: Callable[..., Path], home: Path, tmp_path: Path, payload: Payload,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A set on a large state.json is made in its bytes only when nobody wants the whole
    documents: a plugin with on_state_change does, and gets the change."""
    from state import state_manager
    from state.persistence.storage import LARGE_DOCUMENT

    start = payload("SessionStart.startup.json")
    sid = start["session_id"]
    assert run_dispatch(start, home=home).exit_code == 0
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    agents = {f"agent-{i}": {"status": "idle", "n": i} for i in range(9000)}
    assert state_manager.main(["set", sid, "active_work.agents", json.dumps(agents)],
                              stdout=io.StringIO(), stderr=io.StringIO()) == 0
    state = home / "sessions" / sid / "state.json"
    assert state.stat().st_size > LARGE_DOCUMENT
    assert (state.parent / ".state.json.stamp").exists()  # so it could be done in place
    folder = make_plugin("cliwatch", RECORDING, package="orchestra_test_cliwatch_large")
    record = tmp_path / "changes.jsonl"
    monkeypatch.setenv("ORCHESTRA_TEST_RECORD", str(record))
    monkeypatch.syspath_prepend(str(folder))
    code = state_manager.main(["set", sid, "active_work.agents.agent-7.status", "busy"],
                              stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 0
    assert [f"sessions/{sid}/state.json", "active_work.agents.agent-7.status", "idle", "busy",
            sid] in _records(record)
