"""The plugin's first run, through ``bin/orchestra`` as Claude Code runs it (issue 23,
items 17-21): one data folder for hooks and monitor, a follower that ends with its
session and never loses a line, no pyenv shim run by the interpreter search, and the
SessionStart context delivered at the first prompt once the environment is ready.

No environment is built here: a stamp that names this test's interpreter stands for a
ready one (as in test_launcher.py), and a recent failed build for one being built (the
launcher then starts no build for five minutes). tests/e2e builds real ones.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.handlers._support import payload

from .test_launcher import REPO, SH, base_env, launch, make_ready

#: Any build a test might start by mistake fails at once instead of reaching an index.
NO_INDEX = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": os.devnull}


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A PATH folder with the programs the launcher uses and a python3 >= 3.11."""
    folder = tmp_path / "tools"
    folder.mkdir()
    for name in ("cat", "sleep"):
        found = shutil.which(name)
        assert found, name
        (folder / name).symlink_to(found)
    (folder / "python3").symlink_to(sys.executable)
    return folder


@pytest.fixture
def claude() -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in for the Claude Code process (its pid is CLAUDE_PID)."""
    proc = subprocess.Popen(["sleep", "600"])
    yield proc
    proc.kill()
    proc.wait()


def building(data: Path) -> None:
    """A data folder whose build failed a moment ago: no build starts for a while."""
    data.mkdir(parents=True, exist_ok=True)
    (data / "build-state").write_text(f"failed {int(time.time())} pip install exited 1\n")


def monitor_command(root: Path, data: Path) -> str:
    """The plugin's monitor command as Claude Code fills it in (it substitutes
    ${CLAUDE_PLUGIN_ROOT} and ${CLAUDE_PLUGIN_DATA} in it, but exports neither)."""
    [monitor] = json.loads((REPO / "monitors" / "monitors.json").read_text("utf-8"))
    return (monitor["command"].replace("${CLAUDE_PLUGIN_ROOT}", str(root))
            .replace("${CLAUDE_PLUGIN_DATA}", str(data)))


def start_monitor(env: dict[str, str], data: Path, cwd: Path,
                  stdout: int | None = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen([SH, "-c", monitor_command(REPO, data)], env=env, cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE)


def hook(event: dict[str, object], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = launch("dispatch", env=env, stdin=json.dumps(event))
    assert done.returncode == 0, done.stderr
    return done


def context_of(done: subprocess.CompletedProcess[str]) -> str:
    if not done.stdout.strip():
        return ""
    return str(json.loads(done.stdout).get("hookSpecificOutput", {})
               .get("additionalContext", ""))


# -- 17: one plugin, one environment ---------------------------------------------------


def test_the_monitor_uses_the_data_folder_of_the_hooks(tmp_path: Path, tools: Path,
                                                       claude: subprocess.Popen[bytes]) -> None:
    """The monitor that /plugin install starts has neither CLAUDE_PLUGIN_DATA nor
    CLAUDE_PLUGIN_ROOT in its environment; it must not pick (or build) another folder."""
    plugins = tmp_path / "home" / ".claude" / "plugins" / "data"
    market = plugins / "orchestra-market"  # what Claude Code gives this plugin's hooks
    building(market)
    building(plugins / "orchestra-other")  # another install of Orchestra on this machine
    env = base_env(tmp_path, tools, CLAUDE_PID=str(claude.pid),
                   CLAUDE_CODE_SESSION_ID="sess-install", **NO_INDEX)
    monitor = start_monitor(env, market, tmp_path)
    expected = ["orchestra-market", "orchestra-other"]
    try:
        deadline = time.monotonic() + 60
        while not (market / "deferred" / "sess-install.json").exists():
            assert sorted(p.name for p in plugins.iterdir()) == expected
            assert monitor.poll() is None, monitor.stderr.read() if monitor.stderr else ""
            assert time.monotonic() < deadline, "the monitor never noted its session"
            time.sleep(0.1)
        time.sleep(1)  # time for a wrong choice to show
        assert sorted(p.name for p in plugins.iterdir()) == expected
        # The model's Bash (no data variable at all) finds the folder that serves this root.
        said = launch("doctor", env=base_env(tmp_path, tools))
        assert f"details in {market / 'build.log'}" in said.stdout, said.stdout
    finally:
        monitor.kill()
        monitor.wait()


# -- 18: a follower ends with its session, and marks a message only once written -------


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The orchestra CLI itself (the launcher is what is tested, not this)."""
    done = subprocess.run([sys.executable, "-m", "orchestra", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def _session(tmp_path: Path, tools: Path, sid: str) -> dict[str, str]:
    env = base_env(tmp_path, tools)
    cli(env, "session", "create", "--id", sid)
    return env


def _send(env: dict[str, str], sid: str, text: str) -> None:
    cli(env, "send", "--to", sid, text)


def _pending(env: dict[str, str], sid: str) -> list[str]:
    return [m["text"] for m in json.loads(cli(env, "inbox", sid).stdout)]


@pytest.mark.skipif(os.name == "nt", reason="kill -9 of the stand-in")
@pytest.mark.parametrize("ready", [True, False], ids=["following", "waiting-for-the-build"])
def test_the_follower_exits_when_its_claude_process_is_killed(
        tmp_path: Path, tools: Path, claude: subprocess.Popen[bytes], ready: bool) -> None:
    data = tmp_path / "data"
    if ready:
        make_ready(data)
    else:
        building(data)
    env = {**_session(tmp_path, tools, "sess-a"), "CLAUDE_PID": str(claude.pid),
           "CLAUDE_CODE_SESSION_ID": "sess-a", **NO_INDEX}
    monitor = start_monitor(env, data, tmp_path)
    try:
        time.sleep(2)
        assert monitor.poll() is None, monitor.stderr.read() if monitor.stderr else ""
        claude.send_signal(signal.SIGKILL)
        claude.wait()
        assert monitor.wait(timeout=30) == 0
    finally:
        if monitor.poll() is None:
            monitor.kill()
            monitor.wait()


@pytest.mark.skipif(os.name == "nt", reason="a pipe closed under the writer")
def test_a_line_that_cannot_be_written_stays_pending(tmp_path: Path, tools: Path,
                                                     claude: subprocess.Popen[bytes]) -> None:
    data = tmp_path / "data"
    make_ready(data)
    env = {**_session(tmp_path, tools, "sess-b"), "CLAUDE_PID": str(claude.pid)}
    _send(env, "sess-b", "first")
    monitor = subprocess.Popen([SH, "-c", monitor_command(REPO, data) + " --interval 0.2"],
                               env={**env, "CLAUDE_CODE_SESSION_ID": "sess-b"}, cwd=tmp_path,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert monitor.stdout is not None
        assert select.select([monitor.stdout], [], [], 60)[0], "no line from the monitor"
        line = monitor.stdout.readline().decode()
        assert '"first"' in line
        assert _pending(env, "sess-b") == []  # written, flushed, then marked
        monitor.stdout.close()  # the reader is gone (Claude Code crashed)
        _send(env, "sess-b", "second")
        code = monitor.wait(timeout=30)
    finally:
        if monitor.poll() is None:
            monitor.kill()
            monitor.wait()
    assert _pending(env, "sess-b") == ["second"]  # for `claude --resume`
    assert code == 0  # quietly: no "Exception ignored" and exit 120 on the last flush


# -- 20: no pyenv shim run by the interpreter search ----------------------------------


def _recording(path: Path, log: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\necho \"$0 $*\" >> '{log}'\n{body}\n")
    path.chmod(0o755)


def test_the_interpreter_search_runs_no_shim_and_is_done_once(tmp_path: Path,
                                                              tools: Path) -> None:
    log = tmp_path / "ran.log"
    shims = tmp_path / "pyenv" / "shims"  # first on PATH, as pyenv puts it
    shims.mkdir(parents=True)
    for name in ("python3.13", "python3.12", "python3.11", "python3"):
        _recording(shims / name, log, f"echo 'pyenv: {name}: command not found' >&2; exit 127")
    (tools / "python3").unlink()
    _recording(tools / "python3", log, f'exec "{sys.executable}" "$@"')
    data = tmp_path / "data"
    building(data)
    env = {**base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO),
                      CLAUDE_PLUGIN_DATA=str(data), **NO_INDEX),
           "PATH": f"{shims}{os.pathsep}{tools}"}
    first = hook(payload("PreToolUse.Bash", "sess-c"), env)
    assert "orchestra: skipped" in first.stderr
    ran = log.read_text().splitlines()
    assert ran and not [r for r in ran if str(shims) in r], ran  # no shim ran
    hook(payload("PostToolUse.Bash", "sess-c"), env)
    assert log.read_text().splitlines() == ran  # found once: nothing searched again
    assert (data / "python").read_text().strip() == sys.executable


def test_a_shim_is_run_when_it_is_the_only_python(tmp_path: Path, tools: Path) -> None:
    log = tmp_path / "ran.log"
    shims = tmp_path / "pyenv" / "shims"
    shims.mkdir(parents=True)
    _recording(shims / "python3", log, f'exec "{sys.executable}" "$@"')
    (tools / "python3").unlink()
    data = tmp_path / "data"
    building(data)
    env = {**base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO),
                      CLAUDE_PLUGIN_DATA=str(data), **NO_INDEX),
           "PATH": f"{shims}{os.pathsep}{tools}"}
    hook(payload("PreToolUse.Bash", "sess-d"), env)
    assert (data / "python").read_text().strip() == sys.executable
    runs = len(log.read_text().splitlines())
    hook(payload("PreToolUse.Bash", "sess-d"), env)
    assert len(log.read_text().splitlines()) == runs


# -- 21: the first session gets Orchestra ------------------------------------------------


def _state(tmp_path: Path, sid: str) -> dict[str, object]:
    state = tmp_path / "state" / "sessions" / sid / "state.json"
    return dict(json.loads(state.read_text()))


def _events(tmp_path: Path, sid: str) -> list[str]:
    log = tmp_path / "state" / "sessions" / sid / "events.jsonl"
    return [json.loads(line)["event"] for line in log.read_text().splitlines()]


def test_the_sessionstart_context_arrives_at_the_first_prompt_once_ready(
        tmp_path: Path, tools: Path, claude: subprocess.Popen[bytes]) -> None:
    data = tmp_path / "data"
    building(data)
    env_file = tmp_path / "claude-env"
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data),
                   CLAUDE_PID=str(claude.pid), **NO_INDEX)
    started_at = time.time()
    skipped = hook(payload("SessionStart.startup", "sess-e", cwd=str(tmp_path / "demo")),
                   {**env, "CLAUDE_ENV_FILE": str(env_file)})
    assert skipped.stdout == "" and "orchestra: skipped" in skipped.stderr
    assert f"export ORCHESTRA_PLUGIN_DATA='{data}'" in env_file.read_text()
    demo = str(tmp_path / "demo")  # the project folder: project "demo"
    hook(payload("UserPromptSubmit", "sess-e", cwd=demo), env)  # skipped too: building
    time.sleep(0.05)
    make_ready(data)
    # Another session sends to the project while this one's start is pending.
    sender = base_env(tmp_path, tools)
    cli(sender, "session", "create", "--id", "sess-sender", "--project", "demo")
    cli(sender, "send", "--project", "demo", "--from", "sess-sender", "welcome aboard")

    tool = hook(payload("PreToolUse.Bash", "sess-e", cwd=demo), env)  # ready now: mid-turn
    assert "Orchestra commands for Bash" not in tool.stdout  # not a prompt
    state = _state(tmp_path, "sess-e")
    assert state["status"] == "active" and state["source"] == "startup"
    assert started_at <= float(str(state["created_ts"])) < started_at + 1  # when it began
    assert _events(tmp_path, "sess-e")[:2] == ["SessionStart", "PreToolUse"]

    prompt = hook(payload("UserPromptSubmit", "sess-e", cwd=demo), env)
    context = context_of(prompt)
    assert "this is session sess-e" in context and "Orchestra commands for Bash" in context
    assert "welcome aboard" in context  # the message waited for a delivery point
    again = hook(payload("UserPromptSubmit", "sess-e", cwd=demo), env)
    assert "Orchestra commands for Bash" not in context_of(again)  # once
    assert not (data / "deferred").exists()  # hooks go straight to the dispatcher again


def test_a_session_first_seen_while_building_is_not_ended_at_its_creation(
        tmp_path: Path, tools: Path, claude: subprocess.Popen[bytes]) -> None:
    """The install session: no SessionStart at all, its first hooks skipped."""
    data = tmp_path / "data"
    building(data)
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data),
                   CLAUDE_PID=str(claude.pid), **NO_INDEX)
    hook(payload("UserPromptSubmit", "sess-f"), env)
    time.sleep(0.05)
    make_ready(data)
    hook(payload("SessionEnd.other", "sess-f"), env)
    state = _state(tmp_path, "sess-f")
    assert state["status"] == "ended"
    assert str(state["created_at"]) < str(state["ended_at"])
    assert _events(tmp_path, "sess-f") == ["SessionStart", "SessionEnd"]


def test_notes_of_sessions_whose_claude_is_gone_are_dropped(
        tmp_path: Path, tools: Path, claude: subprocess.Popen[bytes]) -> None:
    data = tmp_path / "data"
    building(data)
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data),
                   **NO_INDEX)
    hook(payload("SessionStart.startup", "sess-g"), {**env, "CLAUDE_PID": str(claude.pid)})
    assert (data / "deferred" / "sess-g.json").exists()
    claude.kill()
    claude.wait()
    make_ready(data)
    hook(payload("SessionStart.startup", "sess-h"), env)  # another session, later
    assert not (data / "deferred").exists()
    assert not (tmp_path / "state" / "sessions" / "sess-g").exists()



def test_with_uv_sessionstart_waits_for_the_build_and_starts_the_session(
        tmp_path: Path, tools: Path) -> None:
    """uv builds within SessionStart's timeout: that hook waits and dispatches. A fake uv
    (no network here) makes an "environment" whose python runs this test's interpreter."""
    uv = tools / "uv"
    uv.write_text(f"""#!/bin/sh
case $1 in
    venv) for target; do :; done
          mkdir -p "$target/bin"
          printf '#!/bin/sh\\nexec "{sys.executable}" "$@"\\n' > "$target/bin/python"
          chmod +x "$target/bin/python" ;;
    pip) sleep 1 ;;
esac
""")
    uv.chmod(0o755)
    for name in ("mkdir", "chmod"):
        (tools / name).symlink_to(shutil.which(name) or name)
    data = tmp_path / "data"
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data),
                   **NO_INDEX)
    started = hook(payload("SessionStart.startup", "sess-uv"), env)
    assert "Orchestra commands for Bash" in context_of(started), started.stderr
    assert (data / "build-state").read_text().startswith("ready")
    assert _state(tmp_path, "sess-uv")["status"] == "active"
    assert not (data / "deferred" / "sess-uv.json").exists()  # nothing left for later


def test_damaged_notes_change_nothing_but_themselves(tmp_path: Path, tools: Path) -> None:
    data = tmp_path / "data"
    make_ready(data)
    notes = data / "deferred"
    notes.mkdir()
    (notes / "sess-i.json").write_bytes(b"\xff{not json")
    (notes / "sess-j.json").write_text(json.dumps(  # says it is another session, from the future
        {"session_id": "sess-other", "first_seen": 1e12, "event": {"cwd": 7}}))
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data))
    hook(payload("PreToolUse.Bash", "sess-i"), env)  # a torn note: dispatched as usual
    assert _events(tmp_path, "sess-i") == ["PreToolUse"]
    prompt = hook(payload("UserPromptSubmit", "sess-j"), env)
    assert "this is session sess-j" in context_of(prompt)
    assert not (tmp_path / "state" / "sessions" / "sess-other").exists()
    assert time.time() - 60 < float(str(_state(tmp_path, "sess-j")["created_ts"])) <= time.time()
    hook(payload("PreToolUse.Bash", "sess-k"), env)  # any later hook tidies up
    assert not notes.exists()
