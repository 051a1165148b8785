"""Fixtures for the output-style tests: a known Orchestra state built from captured payloads.

The fixture state is what two Claude Code sessions and a lead would leave behind:

* the captured payloads in ``tests/payloads`` replayed through the real dispatcher
  (:func:`hooks.testing.run_dispatch`) with their ``session_id`` rewritten to
  ``sess-alpha`` or ``sess-beta``, plus task payloads derived from the captured
  ``PostToolUse.TaskCreate.json`` (other ids and subjects, and ``TaskUpdate`` calls);
* ``shared_state`` and ``state_manager`` commands (run in-process) for the project
  ``demo``: config, tools, sprints, epics, team, decisions, a blocked task;
* ``orchestra task`` and ``orchestra role`` commands (run in-process, as the session that
  runs them): project tasks (``T-1``...), one in progress, one given to a tool, and the
  roles of the two sessions.

Everything happens under a frozen clock (``time.time`` is patched, step by step) and
a counting ``uuid4``, so the state — and every view of it rendered ``--at``
:data:`AT` — is the same on every run. Helpers are handed out as fixtures (this
folder has no ``__init__.py``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "payloads"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"

PROJECT = "demo"
ALPHA, BETA = "sess-alpha", "sess-beta"
#: Every view in the snapshots is rendered as of this instant.
AT = "2026-11-24T10:02:00Z"
#: Environment variables of a surrounding session that must not leak into the fixture.
_SESSION_ENV = ("ORCHESTRA_SESSION_ID", "CLAUDE_ENV_FILE", "CLAUDE_PROJECT_DIR",
                "ORCHESTRA_RECORD", "CLAUDE_CODE_SESSION_ID")


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def payload(name: str, session: str, **changes: Any) -> dict[str, Any]:
    """A captured payload with its session id rewritten (and top-level fields changed)."""
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    data["session_id"] = session
    data.update(changes)
    return data


def task_create(session: str, task_id: str, subject: str, description: str) -> dict[str, Any]:
    """``PostToolUse.TaskCreate.json`` with another task id and subject."""
    data = payload("PostToolUse.TaskCreate.json", session,
                   tool_use_id=f"toolu_fixture_create_{session}_{task_id}")
    data["tool_input"] = {**data["tool_input"], "subject": subject, "description": description,
                          "activeForm": subject}
    data["tool_response"] = {"task": {"id": task_id, "subject": subject,
                                      "description": description}}
    return data


def task_update(session: str, task_id: str, status: str) -> dict[str, Any]:
    """A ``TaskUpdate`` call, in the shape of the captured TaskCreate payload."""
    data = payload("PostToolUse.TaskCreate.json", session, tool_name="TaskUpdate",
                   tool_use_id=f"toolu_fixture_update_{session}_{task_id}_{status}")
    data["tool_input"] = {"taskId": task_id, "status": status}
    data["tool_response"] = {"success": True, "taskId": task_id, "updatedFields": ["status"]}
    return data


def _shared(*argv: str) -> tuple[str, ...]:
    return ("shared_state", *argv)


def _sm(*argv: str) -> tuple[str, ...]:
    return ("state_manager", *argv)


def fixture_steps() -> list[tuple[float, Any]]:
    """(epoch seconds, step) in order: a payload dict, a CLI argv tuple or a message."""
    day1 = [
        _shared("set-config", "default_project", PROJECT),
        _shared("set-config", "render.blocker_idle_seconds", "1800"),
        _shared("register-tool", "engineering-fullstack", "--capabilities",
                "frontend,backend,tests", "--max-instances", "2",
                "--description", "Full-stack engineer"),
        _shared("register-tool", "general-purpose", "--capabilities", "research,docs",
                "--max-instances", "1"),
        _shared("register-tool", "qa-tester", "--capabilities", "tests,review",
                "--max-instances", "1"),
        _shared("update-sprint", PROJECT, "sprint-0", "--title", "Kickoff", "--status",
                "completed", "--start", "2026-11-02", "--end", "2026-11-06",
                "--points-planned", "5", "--points-completed", "5"),
        _shared("update-sprint", PROJECT, "sprint-1", "--title", "Foundations", "--status",
                "completed", "--start", "2026-11-09", "--end", "2026-11-20",
                "--points-planned", "10", "--points-completed", "8"),
        _shared("update-sprint", PROJECT, "sprint-2", "--title", "Coordination", "--status",
                "active", "--start", "2026-11-23", "--end", "2026-12-04",
                "--goal", "Sessions see each other's work: board, blockers, decisions",
                "--epic", "epic-board,epic-styles", "--points-planned", "13"),
        _shared("update-sprint", PROJECT, "sprint-3", "--title", "Polish", "--status",
                "planned", "--start", "2026-12-07", "--end", "2026-12-18"),
        _shared("update-epic", PROJECT, "epic-dispatch", "--title", "Hook dispatcher",
                "--status", "completed", "--sprint", "sprint-1", "--points", "8"),
        _shared("update-epic", PROJECT, "epic-board", "--title", "Task board and blockers",
                "--status", "in_progress", "--sprint", "sprint-2", "--points", "8"),
        _shared("update-epic", PROJECT, "epic-styles", "--title", "Output styles",
                "--status", "planned", "--sprint", "sprint-2", "--points", "5"),
        _shared("set-member", PROJECT, "alice", "--role", "lead", "--tools",
                "engineering-fullstack", "--capabilities", "backend,frontend"),
        _shared("set-member", PROJECT, "bob", "--role", "reviewer", "--tools", "qa-tester",
                "--capabilities", "tests,review"),
        _shared("set-member", PROJECT, "claude", "--role", "agent", "--tools",
                "general-purpose,engineering-fullstack", "--capabilities", "research,backend"),
        _shared("decide", PROJECT, "--title", "Keep state in JSON files",
                "--rationale", "Readable, diffable, no server to run; file locks make "
                "concurrent sessions safe.", "--by", "alice,bob"),
        _shared("decide", PROJECT, "--title", "Render views in Python, not in the prompt",
                "--rationale", "Same state, same picture: the model shows the output "
                "instead of drawing tables itself.", "--by", "alice,claude"),
        _shared("decide", PROJECT, "--title", "Add a message bus", "--status", "proposed",
                "--rationale", "Only if append-only logs prove too slow.", "--by", "bob"),
    ]
    beta = [
        payload("SessionStart.startup.json", BETA),
        payload("UserPromptSubmit.json", BETA),
        _sm("set", BETA, "active_work.current_sprint", "sprint-2"),
        task_create(BETA, "1", "Fix the flaky lock test",
                    "Investigate the lock timeout seen in CI"),
        task_update(BETA, "1", "in_progress"),
        payload("PreToolUse.Write.json", BETA),
        payload("SubagentStart.json", BETA),
        payload("PostToolUseFailure.Bash.json", BETA),
    ]
    alpha = [
        payload("SessionStart.startup.json", ALPHA),
        payload("UserPromptSubmit.json", ALPHA),
        _sm("set", ALPHA, "active_work.current_sprint", "sprint-2"),
        _sm("set", ALPHA, "active_work.current_epic", "epic-board"),
        payload("PreToolUse.Bash.json", ALPHA),
        payload("PostToolUse.Bash.json", ALPHA),
        payload("PostToolUse.TaskCreate.json", ALPHA),
        payload("TaskCreated.json", ALPHA),
        payload("TaskCompleted.json", ALPHA),
        task_create(ALPHA, "2", "Render the kanban board", "Columns by status"),
        task_update(ALPHA, "2", "in_progress"),
        task_create(ALPHA, "3", "Snapshot tests for every view", "Fixed layouts"),
        task_create(ALPHA, "4", "Document the frontend install steps", "docs/styles.md"),
        task_create(ALPHA, "5", "Review config rollback", "Needs a second pair of eyes"),
        _sm("set", ALPHA, "active_work.tasks.5.status", "blocked"),
        task_create(ALPHA, "6", "Research output style limits", "Frontmatter keys"),
        task_update(ALPHA, "6", "completed"),
        ("message", ALPHA, BETA, "Lock test: the timeout is 5 s in CI; want my notes?"),
        ("role", ALPHA, "set", "orchestrator"),
        ("role", BETA, "set", BETA, "worker", "--skills", "engineering-fullstack"),
        ("task", ALPHA, "add", "Cap subagents per tool", "--sprint", "sprint-2", "--epic",
         "epic-board", "--points", "3", "--needs", "engineering-fullstack"),
        ("task", ALPHA, "add", "Write the plugin commands", "--sprint", "sprint-2",
         "--description", "One /orchestra:<view> per view"),
        ("task", ALPHA, "add", "Research the --bg launcher", "--needs", "general-purpose"),
        ("task", BETA, "start", "T-1"),
        ("task", BETA, "progress", "T-1", "40"),
        ("task", ALPHA, "assign", "T-3", "--tool", "general-purpose"),
        ("task", ALPHA, "start", "T-2"),
        ("task", ALPHA, "progress", "T-2", "60"),
        ("render",),  # a view returns beta's T-1 to the pool: beta is gone by then
        payload("PostToolBatch.single.json", ALPHA),
        payload("Stop.json", ALPHA),
    ]
    steps: list[tuple[float, Any]] = []
    for start, group in (("2026-11-23T09:00:00Z", day1), ("2026-11-24T09:00:00Z", beta),
                         ("2026-11-24T10:00:00Z", alpha)):
        base = _ts(start)
        steps.extend((base + 5 * i, step) for i, step in enumerate(group))
    return steps


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def build_fixture_state(home: Path) -> None:
    """Replay :func:`fixture_steps` into ``home`` under a frozen clock."""
    from hooks.testing import run_dispatch
    from state import shared_state, state_manager

    clis = {"shared_state": shared_state.main, "state_manager": state_manager.main}
    counter = iter(range(1, 10_000))
    with pytest.MonkeyPatch.context() as mp:
        clock = _Clock(0.0)
        mp.setattr(time, "time", clock)
        # n << 96: the first 8 hex digits (what short ids keep) count 00000001, 00000002...
        mp.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter) << 96))
        for name in _SESSION_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("ORCHESTRA_HOME", str(home))
        mp.setenv("ORCHESTRA_MACHINE_ID", "devbox-1")  # fixed: the snapshots show it
        for at, step in fixture_steps():
            clock.t = at
            if isinstance(step, dict):
                outcome = run_dispatch(step, home=home)
                assert outcome.exit_code == 0, (step["hook_event_name"], outcome.stderr)
            elif step[0] == "message":
                _send_message(home, *step[1:])
            elif step[0] == "render":
                from state.store import open_store
                from styles.render import render

                clock.t = _ts(AT)
                render(open_store(home), "board")
            elif step[0] in ("task", "role"):
                from orchestra import task as task_cli

                mp.setenv("ORCHESTRA_SESSION_ID", step[1])
                main = task_cli.main if step[0] == "task" else task_cli.role_main
                err = io.StringIO()
                code = main(list(step[2:]), stdout=io.StringIO(), stderr=err)
                mp.delenv("ORCHESTRA_SESSION_ID")
                assert code == 0, (step, err.getvalue())
            else:
                err = io.StringIO()
                code = clis[step[0]](list(step[1:]), stdout=io.StringIO(), stderr=err)
                assert code == 0, (step, err.getvalue())


def _send_message(home: Path, sender: str, to: str, text: str) -> None:
    """A message between the sessions, where this Orchestra has messages (issue 5)."""
    try:
        from state.messages import send_message
    except ImportError:
        return
    from state.store import open_store

    send_message(open_store(home), text=text, sender=sender, to_session=to)


@pytest.fixture(scope="session")
def fixture_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture state (read-only: copy it with ``state_copy`` before changing it)."""
    home = tmp_path_factory.mktemp("styles-fixture") / "home"
    build_fixture_state(home)
    return home


@pytest.fixture(scope="session")
def empty_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("styles-empty") / "home"


@pytest.fixture
def state_copy(fixture_home: Path, tmp_path: Path) -> Path:
    """A private copy of the fixture state."""
    target = tmp_path / "home"
    shutil.copytree(fixture_home, target)
    return target


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def render(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """``python -m styles.render`` in-process against ``home`` as session ``session``."""
    from styles import render as render_module

    def run(home: Path, *argv: str, session: str | None = None) -> Result:
        for name in _SESSION_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ORCHESTRA_HOME", str(home))
        if session is not None:
            monkeypatch.setenv("ORCHESTRA_SESSION_ID", session)
        out, err = io.StringIO(), io.StringIO()
        code = render_module.main(list(argv), stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def child_env() -> Iterator[Callable[..., dict[str, str]]]:
    """Environment for child processes: this checkout importable, no surrounding session."""

    def make(home: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SESSION_ENV}
        env["ORCHESTRA_HOME"] = str(home)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        env.update(extra)
        return env

    yield make


@pytest.fixture
def run_module(child_env: Callable[..., dict[str, str]]) -> Callable[..., Result]:
    def run(home: Path, argv: list[str], cwd: Path, **extra: str) -> Result:
        proc = subprocess.run([sys.executable, *argv], env=child_env(home, **extra), cwd=cwd,
                              capture_output=True, text=True, timeout=60)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def snapshot() -> Callable[[str, str], None]:
    """Compare ``text`` with ``snapshots/<name>``; ``UPDATE_SNAPSHOTS=1`` rewrites it."""

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"no snapshot {name}: run with UPDATE_SNAPSHOTS=1 to create it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, (
            f"{name} changed; if intended, regenerate with "
            f"UPDATE_SNAPSHOTS=1 python -m pytest tests/styles\n--- got ---\n{text}")

    return check
