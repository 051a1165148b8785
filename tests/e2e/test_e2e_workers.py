"""An orchestrator spawns a worker on a task, in the real Claude Code CLI (issue 24).

Settings mode (``orchestra install --scope project``), a PATH without Orchestra's
virtualenv and without a Python that has Orchestra, the pinned CLI offline against one
fake model for both sessions:

1. the orchestrator session (registered ahead with the role orchestrator) is asked to
   start a worker; its model runs ``orchestra spawn --task T-1`` in Bash;
2. Orchestra registers the worker and starts a detached ``claude -p --session-id`` on it;
3. the fake model completes a task **only when the request it gets contains that task's
   id and title** — the worker's prompt names neither, so they must come from Orchestra's
   context for the worker — by running ``orchestra task done T-1`` in the worker's Bash;
4. the orchestrator's next prompt (``--resume``) shows the task done.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ._scenario import request_texts
from .claude_cli import run_claude
from .fake_api import FakeAnthropic, Script, text, tool_use
from .test_e2e_install_modes import _bare_path

pytestmark = pytest.mark.e2e

PROJECT = "crew"
TITLE = "Write the greeting file"
DESCRIPTION = "Put one friendly line in greeting.txt"
WORKER_MARK = "Orchestra: you are a worker of project crew"
NO_TASK = "WORKER-HAS-NO-TASK"
SEEN_DONE = "ORCHESTRATOR-SAW-T1-DONE"
NOT_SEEN = "ORCHESTRATOR-DID-NOT-SEE-IT"


def first_turn(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn 0 of both sessions: the worker does its task only if its request names it."""
    seen = request_texts(body)
    if WORKER_MARK in seen:
        if "T-1" in seen and TITLE in seen:
            return [tool_use("Bash", {"command": "orchestra task done T-1 --note 'greeted'",
                                      "description": "Report the task done"})]
        return [text(NO_TASK)]
    return [tool_use("Bash", {"command": "orchestra spawn --task T-1",
                              "description": "Start a worker on T-1"})]


def third_turn(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The orchestrator's next prompt: does its request show T-1 done?"""
    last = body["messages"][-1]
    seen = request_texts({"messages": [last]})
    done = 'Task T-1 "Write the greeting file" is done' in seen and "Done lately: T-1" in seen
    return [text(SEEN_DONE if done else NOT_SEEN)]


@pytest.fixture
def box(tmp_path: Path, claude_bin: Path) -> dict[str, Any]:
    home, project = tmp_path / "home", tmp_path / PROJECT
    project.mkdir(parents=True)
    path = _bare_path(tmp_path / "bare-bin")
    path = os.pathsep.join([str(claude_bin.parent), path])  # `claude` is on the user's PATH
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRA_", "CLAUDE"))}
    env["HOME"] = str(home)

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "orchestra", *argv], env=env,
                              cwd=project, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (argv, done.stderr)
        return done

    cli("install", "--scope", "project", "--project-dir", str(project))
    return {"home": home, "project": project, "path": path, "cli": cli,
            "state": home / ".claude" / "orchestration"}


def _wait_done(state: Path, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    task: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            task = json.loads((state / "projects" / PROJECT / "plan.json").read_text())[
                "tasks"]["T-1"]
        except (OSError, ValueError, KeyError):
            task = {}
        if task.get("status") == "done":
            return task
        time.sleep(0.5)
    return task


def _wait_gone(pid: int, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.3)
    return False


@pytest.mark.skipif(sys.platform == "win32", reason="the bare PATH is built for POSIX shells")
def test_a_spawned_worker_gets_its_assignment_and_completes_it(box: dict[str, Any],
                                                               claude_bin: Path) -> None:
    cli, state = box["cli"], box["state"]
    lead = str(uuid.uuid4())
    cli("session", "create", "--id", lead, "--project", PROJECT, "--role", "orchestrator")
    cli("shared", "set-config", f"projects.{PROJECT}.spawn.enabled", "true")
    added = json.loads(cli("task", "add", TITLE, "-d", DESCRIPTION, "--project",
                           PROJECT).stdout)
    assert added["id"] == "T-1"
    script = Script(main=[first_turn, ["worker started"], third_turn])
    pid = None
    with FakeAnthropic(script, log_path=box["home"].parent / "requests.jsonl") as api:
        run = run_claude(claude_bin, "Start a worker on the first task.", cwd=box["project"],
                         home=box["home"], base_url=api.base_url, timeout=240,
                         env_extra={"PATH": box["path"]}, extra_args=["--session-id", lead])
        assert run.returncode == 0, run.stderr[-3000:]
        spawned = [r for r in api.tool_results() if "session_id" in json.dumps(r)]
        assert spawned, [json.dumps(r)[:500] for r in api.tool_results()]
        workers = [s for s in (state / "sessions").iterdir() if s.name != lead]
        assert len(workers) == 1, [s.name for s in workers]
        worker = workers[0].name
        record = json.loads((workers[0] / "state.json").read_text())
        assert record["role"] == "worker" and record["spawn"]["parent"] == lead
        pid = record["spawn"]["pid"]
        try:
            task = _wait_done(state)
            log = Path(record["spawn"]["log"]).read_text(errors="replace")[-3000:]
            assert task.get("status") == "done", (task, log)
            assert task["assignee"] == worker and task["note"] == "greeted"
            assert [h["action"] for h in task["history"]] == ["added", "assigned", "status"]
            assert _wait_gone(pid), "the worker did not end after its turn"
        finally:
            if pid is not None:
                _kill_group(pid)
        # Not hollow: the worker's prompt names neither the id nor the title; its request
        # had them from Orchestra's context, and the model acted on that.
        worker_bodies = [b for b in api.bodies("main") if WORKER_MARK in request_texts(b)]
        assert worker_bodies, "the worker's model was never asked"
        prompts = [block["text"] for block in _blocks(worker_bodies[0])
                   if block["text"].startswith("You are an Orchestra worker session")]
        assert len(prompts) == 1 and "T-1" not in prompts[0] and TITLE not in prompts[0]
        context = [block["text"] for block in _blocks(worker_bodies[0])
                   if "SessionStart hook additional context" in block["text"]]
        assert any(f'Your task: T-1 "{TITLE}"' in c for c in context), context
        assert NO_TASK not in json.dumps(api.tool_results())
        # The orchestrator's next prompt shows the task done.
        again = run_claude(claude_bin, "How is the plan going?", cwd=box["project"],
                           home=box["home"], base_url=api.base_url, timeout=240,
                           env_extra={"PATH": box["path"]}, extra_args=["--resume", lead])
        assert again.returncode == 0, again.stderr[-3000:]
        assert json.loads(again.stdout)["result"] == SEEN_DONE, json.dumps(
            api.bodies("main")[-1]["messages"][-1])[-3000:]
    ended = json.loads((state / "sessions" / worker / "state.json").read_text())
    assert ended["status"] == "ended"  # its SessionEnd ran; nothing of it is held
    who = json.loads(cli("who", "--project", PROJECT).stdout)
    assert {s["session_id"]: s["role"] for s in who} == {lead: "orchestrator",
                                                        worker: "worker"}
    assert shutil.which("orchestra", path=box["path"]) is None  # only Claude's Bash had it


def _blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The text blocks of a request's messages."""
    return [block for message in body.get("messages") or []
            if isinstance(message.get("content"), list)
            for block in message["content"] if block.get("type") == "text"]


def _kill_group(pid: int) -> None:
    import signal

    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
