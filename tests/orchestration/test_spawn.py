"""``orchestra spawn`` and ``orchestra stop``: every guard, with a stand-in ``claude``.

The stand-in records its arguments and environment and then waits like a running
session; the real CLI runs a spawned worker in tests/e2e/test_e2e_workers.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.orchestration._support import (
    PROJECT,
    child_env,
    event,
    orch,
    plan,
    run_orchestra,
    start,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the stand-in is a sh script")

STUB = """#!/bin/sh
out="$STUB_DIR/call.$$"
printf '%s\\n' "$@" > "$out.args"
env > "$out.env"
pwd > "$out.cwd"
if [ "$1" = "--bg" ]; then echo "backgrounded · 1a2b3c4d"; exit 0; fi
if [ "$1" = "agents" ]; then
  echo '[{"id": "1a2b3c4d", "sessionId": "1a2b3c4d-0000-4000-8000-000000000001"}]'; exit 0
fi
trap 'echo stopped > "$out.stopped"; exit 0' TERM
sleep 120 &
wait
"""


@pytest.fixture
def stub(tmp_path: Path) -> Path:
    folder = tmp_path / "stub"
    folder.mkdir()
    (folder / "claude").write_text(STUB)
    (folder / "claude").chmod(0o755)
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / PROJECT
    folder.mkdir()
    for args in (["init", "-q"], ["config", "user.email", "t@example.com"],
                 ["config", "user.name", "t"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    return folder


@pytest.fixture
def lead(home: Path, dispatch: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    start(dispatch, "lead", "orchestrator")
    orch("task", "add", "Write hello.txt", "-d", "one line", session="lead")
    orch("task", "add", "Write bye.txt", session="lead")
    yield dispatch
    import signal

    for state in (home / "sessions").glob("*/state.json"):  # no stand-in outlives its test
        pid = json.loads(state.read_text()).get("spawn", {}).get("pid")
        if isinstance(pid, int):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def spawn(home: Path, stub: Path, repo: Path, *argv: str, session: str | None = "lead",
          **extra: str) -> Any:
    env = {"STUB_DIR": str(stub), "PATH": f"{stub}{os.pathsep}{os.environ['PATH']}", **extra}
    done = subprocess.run([sys.executable, "-m", "orchestra", "spawn", *argv],
                          env=child_env(home, session, **env), capture_output=True, text=True,
                          timeout=120, cwd=repo)
    return done


def calls(stub: Path) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = []
        for args in sorted(stub.glob("call.*.args")):
            base = str(args)[: -len(".args")]
            env_file = Path(base + ".env")
            if not env_file.exists():
                break
            env = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                       if "=" in line)
            found.append({"args": args.read_text().splitlines(), "env": env,
                          "cwd": Path(base + ".cwd").read_text().strip()
                          if Path(base + ".cwd").exists() else None})
        else:
            return found
        time.sleep(0.1)
    return found


def enable(**settings: str) -> None:
    assert orch("shared", "set-config", f"projects.{PROJECT}.spawn.enabled", "true").code == 0
    for key, value in settings.items():
        assert orch("shared", "set-config", f"projects.{PROJECT}.spawn.{key}", value).code == 0


def test_spawning_is_off_until_a_person_turns_it_on(home: Path, lead: Any, stub: Path,
                                                   repo: Path) -> None:
    refused = spawn(home, stub, repo, "--task", "T-1")
    assert refused.returncode == 4 and "spawning workers is off for project shop" in \
        refused.stderr
    assert "spawn.enabled true" in refused.stderr and calls(stub) == []
    assert [s["session_id"] for s in orch("who").json()] == ["lead"]


def test_a_worker_is_registered_then_started_on_its_id(home: Path, lead: Any, stub: Path,
                                                       repo: Path) -> None:
    enable()
    lead(event("PreToolUse.Bash", "lead", permission_mode="acceptEdits"))  # the parent's mode
    done = spawn(home, stub, repo, "--task", "T-1")
    assert done.returncode == 0, done.stderr
    [worker] = json.loads(done.stdout)
    sid = worker["session_id"]
    [call] = calls(stub)
    args = call["args"]
    assert args[:2] == ["-p", args[1]] and "Orchestra worker session of project shop" in args[1]
    assert args[args.index("--session-id") + 1] == sid
    assert args[args.index("--permission-mode") + 1] == "acceptEdits"
    assert "Bash(orchestra *)" in args and "Edit" in args
    assert call["cwd"] == str(repo)
    env = call["env"]
    assert env["ORCHESTRA_WORKER"] == sid and env["ORCHESTRA_SPAWNED_BY"] == "lead"
    assert "ORCHESTRA_SESSION_ID" not in env and "CLAUDE_CODE_SESSION_ID" not in env
    # registered ahead: in who, a worker of the project, its task given to it
    who = {s["session_id"]: s for s in orch("who").json()}
    assert who[sid]["role"] == "worker" and who[sid]["project"] == PROJECT
    task = plan(home)["T-1"]
    assert (task["assignee"], task["assigned_by"]) == (sid, "lead")
    state = json.loads((home / "sessions" / sid / "state.json").read_text())
    assert state["spawn"]["state"] == "started" and isinstance(state["spawn"]["pid"], int)
    assert state["spawn"]["parent"] == "lead" and state["spawn"]["task"] == "T-1"
    # its Claude Code session starts on that id and finds its assignment
    text = lead(event("SessionStart.startup", sid)).reply["hookSpecificOutput"][
        "additionalContext"]
    assert 'Your task: T-1 "Write hello.txt"' in text
    stopped = orch("stop", sid, "--wait", "5", session="lead").json()
    assert stopped["process"].endswith("stopped") and stopped["returned"] == ["T-1"]
    assert plan(home)["T-1"]["assignee"] is None


@pytest.mark.parametrize(("parent", "wanted", "mode", "has_edit"), [
    ("default", None, "default", False),
    ("acceptEdits", "bypassPermissions", "acceptEdits", True),
    ("dontAsk", "acceptEdits", "dontAsk", False),
    (None, "auto", "auto", True),  # spawned by a person (no parent session): as asked
])
def test_never_above_the_parents_permission_mode(home: Path, lead: Any, stub: Path,
                                                 repo: Path, parent: str | None,
                                                 wanted: str | None, mode: str,
                                                 has_edit: bool) -> None:
    enable()
    if parent is not None:
        lead(event("PreToolUse.Bash", "lead", permission_mode=parent))
    argv = ["--task", "T-1", "--project", PROJECT]
    if wanted:
        argv += ["--permission-mode", wanted]
    done = spawn(home, stub, repo, *argv, session="lead" if parent else None)
    assert done.returncode == 0, done.stderr
    [call] = calls(stub)
    assert call["args"][call["args"].index("--permission-mode") + 1] == mode
    assert ("Edit" in call["args"]) is has_edit and "Bash(orchestra *)" in call["args"]
    assert "--dangerously-skip-permissions" not in call["args"]


def test_a_plan_mode_parent_cannot_spawn(home: Path, lead: Any, stub: Path, repo: Path) -> None:
    enable()
    lead(event("PreToolUse.Bash", "lead", permission_mode="plan"))
    done = spawn(home, stub, repo, "--task", "T-1")
    assert done.returncode == 4 and "plan mode" in done.stderr and calls(stub) == []


def test_workers_cannot_spawn(home: Path, lead: Any, stub: Path, repo: Path) -> None:
    enable()
    start(lead, "w1", "worker")
    by_role = spawn(home, stub, repo, "--task", "T-1", session="w1")
    assert by_role.returncode == 4 and "workers cannot spawn" in by_role.stderr
    by_env = spawn(home, stub, repo, "--task", "T-1", ORCHESTRA_WORKER="some-worker")
    assert by_env.returncode == 4 and "a worker cannot spawn" in by_env.stderr
    assert calls(stub) == []


def test_the_cap_on_live_workers_holds_under_parallel_spawns(home: Path, lead: Any,
                                                             stub: Path, repo: Path) -> None:
    enable(max_workers="3")
    env = {"STUB_DIR": str(stub), "PATH": f"{stub}{os.pathsep}{os.environ['PATH']}"}
    procs = [subprocess.Popen([sys.executable, "-m", "orchestra", "spawn", "--count", "2"],
                              env=child_env(home, "lead", **env), cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = [(p.wait(120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore
    started = [w for code, out, _err in results if code == 0 for w in json.loads(out)]
    assert len(started) == 2  # one spawn of 2 fits under 3; the others would overshoot
    assert all("live worker(s) of at most 3" in err for code, _out, err in results if code)
    for call in calls(stub):
        assert "Run `orchestra task next`" in call["args"][1]
    for worker in started:
        assert orch("stop", worker["session_id"], "--wait", "5").code == 0
    again = spawn(home, stub, repo, "--count", "3")
    assert again.returncode == 0, again.stderr  # stopped workers no longer count
    for worker in json.loads(again.stdout):
        orch("stop", worker["session_id"], "--force")


def test_worktrees_are_kept_when_dirty_and_removed_when_clean(home: Path, lead: Any,
                                                             stub: Path, repo: Path) -> None:
    enable()
    done = spawn(home, stub, repo, "--task", "T-1", "--worktree")
    assert done.returncode == 0, done.stderr
    [worker] = json.loads(done.stdout)
    where = Path(worker["worktree"])
    assert where.parent == repo / ".claude" / "worktrees" and where.is_dir()
    assert calls(stub)[0]["cwd"] == str(where)
    (where / "half-done.txt").write_text("wip\n")
    kept = orch("stop", worker["session_id"], "--wait", "5").json()["worktree"]
    assert kept == {"path": str(where), "state": "kept", "uncommitted": ["half-done.txt"]}
    assert where.is_dir()
    # the next worker commits its work and ends by itself: its worktree goes at SessionEnd
    second = json.loads(spawn(home, stub, repo, "--task", "T-2", "--worktree").stdout)[0]
    path = Path(second["worktree"])
    (path / "bye.txt").write_text("bye\n")
    for args in (["add", "bye.txt"], ["commit", "-q", "-m", "bye"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    lead(event("SessionEnd.other", second["session_id"]))
    assert not path.exists()
    branches = subprocess.run(["git", "branch", "--list", "orchestra/*"], cwd=repo,
                              capture_output=True, text=True).stdout
    assert second["session_id"].split("-")[0] in branches  # the commits are kept
    orch("stop", second["session_id"], "--force")


def test_stop_only_stops_spawned_workers(home: Path, lead: Any, stub: Path,
                                         repo: Path) -> None:
    refused = run_orchestra(home, "stop", "lead")
    assert refused.code == 4 and "was not started by orchestra spawn" in refused.err
    assert run_orchestra(home, "stop", "nobody").code == 3


def test_the_bg_launcher_adopts_the_id_claude_chose(home: Path, lead: Any, stub: Path,
                                                    repo: Path) -> None:
    enable(launcher="bg")
    done = spawn(home, stub, repo, "--task", "T-1")
    assert done.returncode == 0, done.stderr
    [worker] = json.loads(done.stdout)
    real = "1a2b3c4d-0000-4000-8000-000000000001"
    assert worker["session_id"] == real and worker["bg_id"] == "1a2b3c4d"
    assert plan(home)["T-1"]["assignee"] == real
    assert orch("role", "show", real).json()["role"] == "worker"
    bg_call = next(c for c in calls(stub) if c["args"][0] == "--bg")
    assert "--session-id" not in bg_call["args"]


@pytest.mark.parametrize("arg", [
    "--dangerously-skip-permissions", "--allow-dangerously-skip-permissions",
    "--permission-mode=bypassPermissions", "--allowedTools=Bash", "--allowed-tools",
    "--settings={\"permissions\":{\"defaultMode\":\"bypassPermissions\"}}",
    "--permission-prompt-tool=mcp__x__allow", "--agents={}", "--session-id=other",
    "--resume", "-rabc", "--continue", "--fork-session", "--bg", "-p", "--bare",
])
def test_claude_args_cannot_lift_the_guards(home: Path, lead: Any, stub: Path, repo: Path,
                                            arg: str) -> None:
    """``--claude-arg`` passes options to claude, but never one that would lift the worker
    above the mode spawn gives it, start another session than the one registered, or
    hide it from the hooks: refused as a guard, before anything is registered."""
    enable()
    lead(event("PreToolUse.Bash", "lead", permission_mode="default"))
    done = spawn(home, stub, repo, "--task", "T-1", f"--claude-arg={arg}")
    assert done.returncode == 4, (arg, done.stdout, done.stderr)
    name = arg.split("=")[0]
    name = name if name.startswith("--") else name[:2]
    assert f"--claude-arg {name} is refused" in done.stderr
    assert calls(stub) == []
    assert [s["session_id"] for s in orch("who").json()] == ["lead"]
    assert plan(home)["T-1"]["assignee"] is None


def test_a_dry_run_checks_what_the_spawn_would(home: Path, lead: Any, stub: Path,
                                              repo: Path) -> None:
    enable()
    for skills, message in (("../x", "invalid skill"), ("nosuch", "no tool nosuch")):
        for dry in (["--dry-run"], []):
            done = spawn(home, stub, repo, "--task", "T-1", "--skills", skills, *dry)
            assert done.returncode in (2, 3) and message in done.stderr, (dry, done.stderr)
    assert calls(stub) == [] and [s["session_id"] for s in orch("who").json()] == ["lead"]


def test_harmless_claude_args_reach_claude_and_the_dry_run_shows_them(
        home: Path, lead: Any, stub: Path, repo: Path, tmp_path: Path) -> None:
    enable()
    plugin = f"--plugin-dir={tmp_path}"
    dry = spawn(home, stub, repo, "--task", "T-1", "--dry-run", f"--claude-arg={plugin}")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)[0]["claude_args"] == [plugin] and calls(stub) == []
    done = spawn(home, stub, repo, "--task", "T-1", f"--claude-arg={plugin}",
                 "--claude-arg=--effort=low")
    assert done.returncode == 0, done.stderr
    [worker] = json.loads(done.stdout)
    [call] = calls(stub)
    assert call["args"][-2:] == [plugin, "--effort=low"]
    assert orch("stop", worker["session_id"], "--force").code == 0


def test_the_parents_mode_is_not_forgotten_and_never_assumed_higher(
        home: Path, lead: Any, stub: Path, repo: Path) -> None:
    """A heartbeat from the CLI (which knows no permission mode) keeps the mode the
    session's hooks saw; a parent session none of whose events said gets ``default``."""
    enable()
    lead(event("PreToolUse.Bash", "lead", permission_mode="default"))
    assert orch("session", "heartbeat", "lead").code == 0  # the model can run this first
    dry = spawn(home, stub, repo, "--task", "T-1", "--dry-run",
                "--permission-mode", "bypassPermissions")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)[0]["permission_mode"] == "default"
    start(lead, "quiet")  # SessionStart carries no permission mode
    dry = spawn(home, stub, repo, "--task", "T-1", "--dry-run", "--permission-mode", "auto",
                session="quiet")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)[0]["permission_mode"] == "default"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_stop_never_signals_a_process_that_took_the_workers_pid(
        home: Path, lead: Any, stub: Path, repo: Path) -> None:
    """A worker that ended long ago may have its pid reused: orchestra stop then ends the
    session, but signals no process that is not the worker's."""
    enable()
    done = spawn(home, stub, repo, "--task", "T-1")
    assert done.returncode == 0, done.stderr
    [worker] = json.loads(done.stdout)
    sid = worker["session_id"]
    calls(stub)
    state_file = home / "sessions" / sid / "state.json"
    state = json.loads(state_file.read_text())
    real_pid = state["spawn"]["pid"]
    # a stranger: its own process group, not started by spawn
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                start_new_session=True)
    try:
        state["spawn"]["pid"] = stranger.pid
        state_file.write_text(json.dumps(state))
        stopped = orch("stop", sid, "--wait", "5", session="lead")
        assert stopped.code == 0, stopped
        assert "not signalled" in stopped.json()["process"]
        assert stranger.poll() is None  # still running
        assert {s["session_id"]: s["status"] for s in orch("who").json()}[sid] == "ended"
    finally:
        stranger.kill()
        stranger.wait()
        import signal

        with contextlib.suppress(OSError):
            os.killpg(real_pid, signal.SIGKILL)
    for bad in ("-1", "nan", "1e9"):
        refused = run_orchestra(home, "stop", sid, "--wait", bad)
        assert refused.code == 2 and "--wait must be" in refused.err, refused
