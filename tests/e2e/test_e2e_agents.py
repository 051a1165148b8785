"""Claude Code, Codex CLI and Gemini CLI on one project: one picture of the team (issue 26).

The real pinned CLIs (Claude Code 2.1.332, ``@openai/codex@0.169.0``,
``@google/gemini-cli@0.61.0``) run headless against the project's own fake model APIs on
loopback, with a PATH that holds neither Orchestra's virtualenv nor a Python that has it.
Orchestra is installed for each the way a user does it (``python -m hooks install --scope
project``; ``orchestra install --agent codex``; ``orchestra install --agent gemini``), each
agent with its own HOME, all three with one state root.

The scenario, with the sessions overlapping:

1. **Codex X** adds ``shared.txt`` with ``apply_patch`` (its claim), runs the ``send`` command
   of its context to message the project, then waits inside a shell call;
2. **Gemini G** starts (the message reaches it), tries ``write_file shared.txt`` (stopped:
   X holds it) and runs the ``who`` command of its context;
3. **Claude C** starts (the message reaches it), writes ``claude.txt`` in Bash (its claim),
   tries ``Write shared.txt`` (stopped for a decision: ``ask``, which headless Claude Code
   cannot put to anyone, so the file stays as it is), then waits in Bash;
4. X goes on: its ``apply_patch`` of ``claude.txt`` is stopped (C holds it); X ends, then C.

Afterwards ``orchestra uninstall --agent ...`` must leave each agent's config as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .agent_clis import (
    FAKE_GEMINI_KEY,
    codex_home,
    find_or_install,
    gemini_home,
    run_codex,
    run_gemini,
)
from .claude_cli import REPO_ROOT, run_claude
from .fake_agents import FakeGemini, FakeResponses, Turn, call, say, strings
from .fake_api import FakeAnthropic, Script, tool_use

pytestmark = pytest.mark.e2e

PROJECT = "team-project"
MESSAGE = "Heads-up from codex: main is frozen (msg-agents-4711)."
CONTEXT_MARK = "Orchestra commands for your shell"
EXIT_MARK = "ORCH-EXIT="
WAIT = 120.0

SYNC = textwrap.dedent("""\
    import pathlib, sys, time
    folder, ready, go = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    limit = float(sys.argv[4])
    (folder / ready).write_text("ready")
    end = time.monotonic() + limit
    while not (folder / go).exists() and time.monotonic() < end:
        time.sleep(0.05)
    print("released" if (folder / go).exists() else "gave up")
    """)


@pytest.fixture(scope="module")
def codex_bin() -> Path:
    return find_or_install("codex")


@pytest.fixture(scope="module")
def gemini_bin() -> Path:
    return find_or_install("gemini")


def context_commands(body: Any) -> list[str]:
    """The ``orchestra`` commands Orchestra put into a model's context (Codex, Gemini)."""
    for text in strings(body):
        start = text.find(CONTEXT_MARK)
        if start >= 0:
            line = text[start:].splitlines()[0]
            return re.findall(r"`([^`]+)`", line)
    raise AssertionError("no Orchestra context with commands reached the model")


def command_named(body: Any, verb: str) -> str:
    return next(c for c in context_commands(body) if re.search(rf"/orchestra {verb}\b", c))


def prefix_of(body: Any) -> str:
    """``ORCHESTRA_SESSION_ID=... /abs/orchestra``: how this model runs orchestra."""
    return command_named(body, "who").split(" who", 1)[0]


def count(texts: list[str], needle: str) -> int:
    return sum(text.count(needle) for text in texts)


@dataclass
class Team:
    root: Path
    project: Path
    state: Path
    homes: dict[str, Path]
    before: dict[str, bytes | None]
    x: FakeResponses
    g: FakeGemini
    c: FakeAnthropic
    claude_session: str
    procs: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def orchestra(self, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "HOME": str(home or self.homes["claude"])}
        return subprocess.run([sys.executable, "-P", "-m", "orchestra", *args], env=env,
                              cwd=self.root, capture_output=True, text=True, timeout=120)

    def context(self) -> str:
        parts = []
        for name, proc in self.procs.items():
            if proc is None:
                parts.append(f"=== {name}: did not finish")
                continue
            parts.append(f"=== {name}: exit {proc.returncode}\n--- stdout\n"
                         f"{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")
        log = self.state / "logs" / "dispatch.log"
        if log.exists():
            parts.append("=== dispatch.log\n" + log.read_text(errors="replace")[-3000:])
        return "\n".join(parts)


def _bare_path(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or ""
    (folder / "python3").symlink_to(base)
    path = os.pathsep.join([str(folder), "/usr/local/bin", "/usr/bin", "/bin"])
    assert os.path.dirname(sys.executable) not in path.split(os.pathsep)
    return path


def _codex_script(paths: dict[str, Path]) -> list[Turn | Callable[[dict[str, Any]], Turn]]:
    def send(body: dict[str, Any]) -> Turn:
        command = f"{prefix_of(body)} send --project {PROJECT} '{MESSAGE}'"
        return call("exec_command", {"cmd": f"{command}; echo {EXIT_MARK}$?"})

    wait = f"python3 {paths['sync']} {paths['sync_dir']} ready-x go-x {WAIT}"

    def patch_once_released(body: dict[str, Any]) -> Turn:
        """Codex's exec_command yields after at most 30 s, leaving the command running:
        poll it (write_stdin) until it says it was released, then edit claude.txt."""
        last = str(body["input"][-1].get("output", "")) if body.get("input") else ""
        running = re.search(r"session ID (\d+)", last)
        if "released" not in last and running:
            return call("write_stdin", {"session_id": int(running[1]), "chars": "",
                                        "yield_time_ms": 30000})
        return call("apply_patch", "*** Begin Patch\n*** Update File: claude.txt\n@@\n"
                                   "-from claude\n+from codex\n*** End Patch\n")

    return [
        call("apply_patch", "*** Begin Patch\n*** Add File: shared.txt\n+from codex\n"
                            "*** End Patch\n"),
        send,
        call("exec_command", {"cmd": wait, "yield_time_ms": 30000}),
        patch_once_released,
        say("Codex done."),
    ]


def _gemini_script() -> list[Turn | Callable[[dict[str, Any]], Turn]]:
    def who(body: dict[str, Any]) -> Turn:
        return call("run_shell_command", {"command": f"{command_named(body, 'who')}; "
                                                     f"echo {EXIT_MARK}$?",
                                          "description": "who is on the project"})

    return [call("write_file", {"file_path": "shared.txt", "content": "from gemini\n"}),
            who, say("Gemini done.")]


def _claude_script(paths: dict[str, Path]) -> Script:
    wait = f"python3 {paths['sync']} {paths['sync_dir']} ready-c go-c {WAIT}"
    return Script(main=[
        [tool_use("Bash", {"command": f"printf 'from claude\\n' > {paths['claude']}",
                           "description": "Write claude.txt"})],
        [tool_use("Write", {"file_path": str(paths["shared"]), "content": "from claude\n"})],
        [tool_use("Bash", {"command": wait, "description": "Wait for codex"})],
        ["Claude done."],
    ])


def _wait_for(path: Path, thread: threading.Thread, limit: float = WAIT) -> bool:
    end = time.monotonic() + limit
    while not path.exists() and thread.is_alive() and time.monotonic() < end:
        time.sleep(0.05)
    return path.exists()


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory, claude_bin: Path, codex_bin: Path,
         gemini_bin: Path) -> Team:
    root = tmp_path_factory.mktemp("agents")
    project = root / PROJECT
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    state = root / "state"
    sync_dir = root / "sync"
    sync_dir.mkdir()
    paths = {"sync": root / "sync.py", "sync_dir": sync_dir, "shared": project / "shared.txt",
             "claude": project / "claude.txt"}
    paths["sync"].write_text(SYNC, encoding="utf-8")
    bare = _bare_path(root / "bare-bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRA_", "CLAUDE"))}
    env.update(ORCHESTRA_HOME=str(state))
    homes = {name: root / f"home-{name}" for name in ("claude", "codex", "gemini")}
    x, g = FakeResponses(_codex_script(paths)), FakeGemini(_gemini_script())
    c = FakeAnthropic(_claude_script(paths))
    team = Team(root, project, state, homes, {}, x, g, c, str(uuid.uuid4()), env=env)
    for api in (x, g, c):
        api.start()
    codex_home(homes["codex"], x.base_url)
    gemini_home(homes["gemini"], project)
    homes["claude"].mkdir()
    config_files = {"codex config.toml": homes["codex"] / ".codex" / "config.toml",
                    "codex hooks.json": homes["codex"] / ".codex" / "hooks.json",
                    "gemini settings.json": homes["gemini"] / ".gemini" / "settings.json"}
    team.before = {name: p.read_bytes() if p.exists() else None
                   for name, p in config_files.items()}
    team.procs["install"] = installed = subprocess.run(
        [sys.executable, "-m", "hooks", "install", "--scope", "project", "--project-dir",
         str(project)], env={**env, "HOME": str(homes["claude"])}, capture_output=True,
        text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    for agent in ("codex", "gemini"):
        done = team.orchestra("install", "--agent", agent, home=homes[agent])
        assert done.returncode == 0, done.stderr + done.stdout
        team.procs[f"install {agent}"] = done
    run_env = {"PATH": bare, "ORCHESTRA_HOME": str(state)}

    def codex() -> None:
        team.procs["codex"] = None
        team.procs["codex"] = run_codex(codex_bin, "Add shared.txt, tell the team, edit.",
                                        cwd=project, home=homes["codex"], env_extra=run_env)

    def claude() -> None:
        team.procs["claude"] = None
        team.procs["claude"] = run_claude(claude_bin, "Write the files.", cwd=project,
                                          home=homes["claude"], base_url=c.base_url,
                                          env_extra=run_env, timeout=WAIT + 60,
                                          allowed_tools=("Bash", "Read"),
                                          extra_args=["--session-id", team.claude_session])

    try:
        tx = threading.Thread(target=codex, daemon=True)
        tx.start()
        assert _wait_for(sync_dir / "ready-x", tx), team.context()
        team.procs["gemini"] = run_gemini(gemini_bin, "Write shared.txt, then look around.",
                                          cwd=project, home=homes["gemini"],
                                          base_url=g.base_url, env_extra=run_env)
        tc = threading.Thread(target=claude, daemon=True)
        tc.start()
        assert _wait_for(sync_dir / "ready-c", tc), team.context()
        (sync_dir / "go-x").write_text("go")
        tx.join(WAIT + 60)
    finally:
        (sync_dir / "go-x").write_text("go")
        (sync_dir / "go-c").write_text("go")
    tc.join(WAIT + 60)
    for api in (x, g, c):
        api.stop()
    for name in ("codex", "gemini", "claude"):
        proc = team.procs.get(name)
        assert proc is not None and proc.returncode == 0, team.context()
    return team


def _sessions(team: Team) -> dict[str, dict[str, Any]]:
    listed = team.orchestra("who", "--project", PROJECT)
    assert listed.returncode == 0, listed.stderr
    return {s["agent"]: s for s in json.loads(listed.stdout)}


def test_all_three_are_listed_with_agent_and_model(team: Team) -> None:
    sessions = _sessions(team)
    assert set(sessions) == {"claude-code", "codex", "gemini"}, sessions
    assert sessions["codex"]["model"] == "gpt-5.5"
    assert sessions["gemini"]["model"], sessions["gemini"]  # from Gemini's transcript
    assert sessions["claude-code"]["session_id"] == team.claude_session
    board = team.orchestra("dashboard", "--project", PROJECT)
    assert board.returncode == 0, board.stderr
    for name in ("claude", "codex", "gemini"):
        assert f" {name} " in board.stdout, board.stdout


def test_the_codex_model_ran_send_from_its_context(team: Team) -> None:
    outputs = [s for s in strings(team.x.bodies()) if EXIT_MARK in s and "frozen" in s]
    assert any(f"{EXIT_MARK}0" in s for s in outputs), outputs or team.context()
    codex = _sessions(team)["codex"]["session_id"]
    log = (team.state / "projects" / PROJECT / "messages.jsonl").read_text()
    record = json.loads(log.strip().splitlines()[-1])
    assert record["from"] == codex and MESSAGE in record["text"], record


def test_the_gemini_model_ran_who_from_its_context(team: Team) -> None:
    outputs = [s for s in strings(team.g.bodies()) if EXIT_MARK in s]
    assert any(f"{EXIT_MARK}0" in s for s in outputs), outputs or team.context()
    assert any(team.claude_session not in s and '"agent":"codex"' in s.replace(" ", "")
               for s in outputs), outputs


def test_the_project_message_reaches_the_other_two_once(team: Team) -> None:
    gemini_last = team.g.bodies()[-1]
    claude_last = team.c.bodies("main")[-1]
    assert count(strings(gemini_last), "msg-agents-4711") == 1, team.context()
    assert count(strings(claude_last), "msg-agents-4711") == 1, team.context()
    codex_texts = [s for s in strings(team.x.bodies()[-1]) if "DATA written by" in s]
    assert codex_texts == [], "the sender got its own project message"


def test_a_file_claimed_by_one_stops_another_ones_write(team: Team) -> None:
    assert (team.project / "shared.txt").read_text() == "from codex\n"
    assert (team.project / "claude.txt").read_text() == "from claude\n"
    blocked_g = [s for s in strings(team.g.bodies()) if "Tool execution blocked" in s]
    assert blocked_g and "Another session is working on this" in blocked_g[0], team.context()
    assert "(Codex CLI)" in blocked_g[0], blocked_g
    blocked_x = [s for s in strings(team.x.bodies()) if "blocked by PreToolUse hook" in s]
    assert blocked_x and "claude.txt" in blocked_x[0] and "(Claude Code)" in blocked_x[0], \
        strings(team.x.bodies()[-1])[-20:]
    # Claude Code: stopped for a decision (`ask`; headless, nobody can allow it)
    from state.eventlog import read_events
    from state.store import open_store

    asked = [r for r in read_events(open_store(team.state), team.claude_session)
             if r.get("event") == "PreToolUse" and r.get("tool") == "Write"]
    assert [r.get("decision") for r in asked] == ["ask"], asked


def test_activity_and_tokens_of_the_other_agents(team: Team) -> None:
    from state.view import session_view

    sessions = _sessions(team)
    from state.store import open_store

    store = open_store(team.state)
    for agent in ("codex", "gemini"):
        view = session_view(store, sessions[agent]["session_id"])
        metrics = view["metrics"]
        assert metrics["prompts"] == 1 and metrics["stops"] >= 1, metrics
        assert metrics["tool_calls"] >= 1, metrics
        assert metrics["tokens"]["output_tokens"] > 0, metrics
    gemini = session_view(store, sessions["gemini"]["session_id"])
    # 3 answers of the fake model, 10 output tokens each (fake_agents.GEMINI_USAGE)
    assert gemini["metrics"]["tokens"]["output_tokens"] == 30, gemini["metrics"]
    codex = session_view(store, sessions["codex"]["session_id"])
    assert codex["metrics"]["tokens"]["output_tokens"] == 10 * len(team.x.bodies()), codex


def test_no_secret_reaches_the_state(team: Team) -> None:
    for path in team.state.rglob("*"):
        if path.is_file():
            assert FAKE_GEMINI_KEY.encode() not in path.read_bytes(), path


def test_uninstall_leaves_each_agents_config_as_it_was(team: Team) -> None:
    for agent in ("codex", "gemini"):
        done = team.orchestra("uninstall", "--agent", agent, home=team.homes[agent])
        assert done.returncode == 0, done.stderr
    after = {"codex config.toml": team.homes["codex"] / ".codex" / "config.toml",
             "codex hooks.json": team.homes["codex"] / ".codex" / "hooks.json",
             "gemini settings.json": team.homes["gemini"] / ".gemini" / "settings.json"}
    for name, path in after.items():
        assert (path.read_bytes() if path.exists() else None) == team.before[name], name
    done = subprocess.run([sys.executable, "-m", "hooks", "uninstall", "--scope", "project",
                           "--project-dir", str(team.project)],
                          env={**team.env, "HOME": str(team.homes["claude"])},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "hooks.dispatch" not in (team.project / ".claude" / "settings.json").read_text()
    assert REPO_ROOT.exists()
