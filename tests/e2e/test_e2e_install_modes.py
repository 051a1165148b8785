"""Orchestra where users run it: the real Claude Code CLI, both install modes, a PATH that
holds neither Orchestra's virtualenv nor any Python with Orchestra installed.

* Plugin mode: ``claude --plugin-dir <fresh, read-only copy of the repository>`` with an
  empty plugin data folder. The first session builds the plugin's environment (its hooks
  fail open meanwhile) and gets the SessionStart context at its first prompt after the
  build; a later session works.
* Settings mode: ``orchestra install --scope project`` from Orchestra's own virtualenv.

In both, the model's Bash runs every ``orchestra`` command of the SessionStart context
(read from the request Claude Code sent) and of the four styles' ``stateIntegration``
(read from the style files), and each exits 0. Two sessions then message each other.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._scenario import _strings
from .claude_cli import REPO_ROOT, claude_env, run_claude
from .fake_api import FakeAnthropic, Script, tool_use

pytestmark = pytest.mark.e2e

PROJECT = "demo"  # the project of the styles' fixture state, so its placeholders resolve
BUILD_TIMEOUT = 900.0
DONE = "ORCHESTRA-COMMANDS-DONE"
COMMAND = re.compile(r"`(orchestra [^`]+)`")


@dataclass
class Box:
    """One machine as a user has it: a HOME, a project folder, the PATH Claude runs with."""

    root: Path
    home: Path
    project: Path
    path: str
    extra: dict[str, str]
    plugin: Path | None = None
    first: Any = None  # plugin mode: the FirstSession
    written: Any = None  # plugin mode: what changed in the plugin root while it ran

    @property
    def state(self) -> Path:
        return self.home / ".claude" / "orchestration"

    def claude(self, claude_bin: Path, script: Script, *, args: tuple[str, ...] = (),
               prompt: str = "go") -> tuple[subprocess.CompletedProcess[str], FakeAnthropic]:
        if self.plugin is not None:
            args = ("--plugin-dir", str(self.plugin), *args)
        with FakeAnthropic(script) as api:
            proc = run_claude(claude_bin, prompt, cwd=self.project, home=self.home,
                              base_url=api.base_url, extra_args=args, timeout=240,
                              env_extra={"PATH": self.path, **self.extra})
        assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
        return proc, api


def _bare_path(folder: Path) -> str:
    """A PATH with a python3 that does not have Orchestra (the interpreter this virtualenv
    was made from) and the system folders; never this virtualenv's bin/."""
    folder.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or ""
    (folder / "python3").symlink_to(base)
    path = os.pathsep.join([str(folder), "/usr/bin", "/bin"])
    venv_bin = os.path.dirname(sys.executable)
    assert venv_bin not in path.split(os.pathsep)
    probe = subprocess.run(["python3", "-c", "import orchestra"], env={"PATH": path}, cwd=folder,
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode != 0, "a python3 on the bare PATH imports Orchestra"
    assert shutil.which("orchestra", path=path) is None
    return path


def _make_box(root: Path) -> Box:
    from tests.styles.conftest import build_fixture_state

    home, project = root / "home", root / PROJECT
    project.mkdir(parents=True)
    box = Box(root, home, project, _bare_path(root / "bare-bin"),
              {"PIP_CACHE_DIR": str(REPO_ROOT / ".cache" / "pip-e2e"),
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    build_fixture_state(box.state)  # sessions, sprints, tasks the style commands name
    return box


def _fresh_copy(target: Path) -> Path:
    """The repository as a fresh clone holds it (tracked and new files, nothing ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO_ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


# -- what the model runs ----------------------------------------------------------------


def _context_commands(body: dict[str, Any]) -> list[str]:
    """The ``orchestra`` commands of the SessionStart context in a Messages request: the
    line of commands, and the one line that offers the task verbs (issue 21)."""
    for text in _strings(body):  # the context sits in a system-reminder of a user message
        start = text.find("Orchestra commands for Bash")
        if start >= 0:
            lines = text[start:].splitlines()
            found = COMMAND.findall(lines[0])
            assert len(found) >= 5, lines[0]
            tasks = next(line for line in lines if line.startswith("Tasks (ids unique"))
            verbs = COMMAND.findall(tasks)
            assert [v.split()[2] for v in verbs] == ["list", "add", "start", "done", "--help"]
            return found + verbs
    raise AssertionError("no Orchestra SessionStart context reached the model")


def _style_commands() -> list[str]:
    from tests.styles.test_styles_commands import ALL_COMMANDS

    return [command for _stem, _i, command in ALL_COMMANDS]


#: Values for the placeholders of the SessionStart context (the styles have their own).
#: ``<id>``: the fixture's T-3, given to a tool (so any session may start it).
CONTEXT_VALUES = {"session": "sess-beta", "project": PROJECT, "path": "active_work",
                  "title": "A task the model adds", "id": "T-3"}


def _fill(command: str, values: dict[str, str]) -> str:
    from tests.styles.test_styles_commands import PLACEHOLDER

    return PLACEHOLDER.sub(lambda m: shlex.quote(values[m.group(1)]), command)


def _check_script(commands: list[str]) -> str:
    """One Bash command that runs each command and reports every failure with its stderr."""
    lines = ["err=$(mktemp)"]
    for filled in commands:
        lines.append(f"{filled} >/dev/null 2>\"$err\" || {{ echo \"FAILED($?): "
                     f"{filled.replace(chr(34), chr(39))}\"; head -c 400 \"$err\"; echo; }}")
    lines.append(f"echo {DONE} $(command -v orchestra)")
    return "\n".join(lines)


def _run_everything(body: dict[str, Any]) -> list[dict[str, Any]]:
    from tests.styles.test_styles_commands import PLACEHOLDERS

    commands = ([_fill(c, CONTEXT_VALUES) for c in _context_commands(body)]
                + [_fill(c, PLACEHOLDERS) for c in _style_commands()])
    return [tool_use("Bash", {"command": _check_script(commands),
                              "description": "Run every Orchestra command"})]


def _assert_all_ran(api: FakeAnthropic) -> str:
    results = [r for r in api.tool_results() if DONE in json.dumps(r)]
    assert results, [json.dumps(r)[:2000] for r in api.tool_results()]
    output = json.dumps(results[0]["content"])
    assert "FAILED(" not in output, output[:6000]
    return output


def _session_ids(box: Box) -> set[str]:
    return {p.name for p in (box.state / "sessions").iterdir()}


# -- plugin mode --------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in folder.rglob("*")}


def _read_only(folder: Path, writable: bool = False) -> None:
    """chmod a-w (or u+w back) over a tree. Root may write anyway: the tree's listing
    before and after is what proves the plugin root untouched."""
    for path in [folder, *folder.rglob("*")]:
        mode = path.lstat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


def _wait_built(data: Path) -> None:
    deadline = time.monotonic() + BUILD_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        state = (data / "build-state").read_text() if (data / "build-state").exists() else ""
        if state.startswith(("ready", "failed")):
            break
        time.sleep(1)
    log = (data / "build.log").read_text() if (data / "build.log").exists() else "(no log)"
    assert state.startswith("ready"), f"build-state {state!r}\n{log[-4000:]}"


@dataclass
class FirstSession:
    session_id: str
    bodies: list[Any]
    started: float
    ready: float


def _first_session(box: Box, claude_bin: Path, data: Path) -> FirstSession:
    """The first session after installing: one prompt while the environment is being
    built, one once it is ready (stream-json input: one session, two prompts)."""
    import queue
    import threading

    assert box.plugin is not None
    lines: queue.Queue[str] = queue.Queue()
    with FakeAnthropic(Script(main=[["first answer"], ["second answer"]])) as api:
        env = claude_env(home=box.home, base_url=api.base_url,
                         env_extra={"PATH": box.path, **box.extra})
        args = [str(claude_bin), "-p", "--input-format", "stream-json", "--output-format",
                "stream-json", "--verbose", "--plugin-dir", str(box.plugin)]
        with open(box.root / "first-session.stderr", "w") as err:
            proc = subprocess.Popen(args, cwd=box.project, env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        out = proc.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in out], daemon=True).start()

        def say(text: str) -> dict[str, Any]:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"type": "user", "message": {"role": "user",
                                                                     "content": text}}) + "\n")
            proc.stdin.flush()
            while True:
                message = json.loads(lines.get(timeout=240))
                if message.get("type") == "result":
                    return dict(message)

        try:
            started = time.time()
            first = say("first prompt")
            _wait_built(data)
            ready = time.time()
            say("second prompt")
            proc.stdin.close()
            assert proc.wait(timeout=120) == 0, (box.root / "first-session.stderr").read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return FirstSession(str(first["session_id"]), api.bodies("main"), started, ready)


@pytest.fixture(scope="module")
def plugin_box(tmp_path_factory: pytest.TempPathFactory, claude_bin: Path) -> Iterator[Box]:
    """A machine where the first session with the plugin has built its environment,
    from a plugin root that is read-only (a directory marketplace may be the user's own
    checkout: the build must write nothing there)."""
    root = tmp_path_factory.mktemp("plugin-mode")
    box = _make_box(root)
    box.plugin = _fresh_copy(root / "orchestra-plugin")
    _read_only(box.plugin)
    before = _tree(box.plugin)
    data = box.home / ".claude" / "plugins" / "data" / "orchestra-inline"
    assert not data.exists()  # an empty plugin data folder
    first = _first_session(box, claude_bin, data)
    box.first = first
    box.written = {k: v for k, v in _tree(box.plugin).items() if before.get(k) != v}
    yield box
    _read_only(box.plugin, writable=True)


def test_the_first_session_gets_orchestra_at_its_first_prompt_once_built(
        plugin_box: Box) -> None:
    """Issue 23 #21: SessionStart came while the environment was being built; the
    SessionStart context reaches the model at the first prompt after that, once."""
    first: FirstSession = plugin_box.first
    [before, after] = first.bodies
    assert "Orchestra commands for Bash" not in json.dumps(before)
    assert json.dumps(after).count("Orchestra commands for Bash") == 1
    assert f"this is session {first.session_id}" in json.dumps(after)
    state = json.loads((plugin_box.state / "sessions" / first.session_id
                        / "state.json").read_text())
    assert state["status"] == "ended" and state["source"] == "startup"
    # Created when it started, not when the environment was ready (nor when it ended).
    assert first.started - 1 <= state["created_ts"] < first.ready
    data = plugin_box.home / ".claude" / "plugins" / "data"
    assert not (data / "orchestra-inline" / "deferred").exists() or not any(
        (data / "orchestra-inline" / "deferred").glob("*.json"))


def test_the_build_writes_nothing_into_the_plugin_root(plugin_box: Box) -> None:
    """Issue 23 #22: no build/, no *.egg-info: a read-only plugin root works."""
    assert plugin_box.written == {}


def test_the_environments_own_scripts_work(plugin_box: Box) -> None:
    """Issue 23 #19: built at its final path, not renamed from venv.new."""
    venv = plugin_box.home / ".claude" / "plugins" / "data" / "orchestra-inline" / "venv"
    bare = {"PATH": plugin_box.path, "HOME": str(plugin_box.home)}
    for command in ([str(venv / "bin" / "orchestra"), "--version"],
                    [str(venv / "bin" / "pip"), "--version"],
                    ["sh", "-c", f". '{venv}/bin/activate' && orchestra --version && "
                                 "command -v orchestra"]):
        done = subprocess.run(command, env=bare, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (command, done.stderr)
    assert not [p for p in (venv / "bin").iterdir()
                if p.is_file() and b"venv.new" in p.read_bytes()[:4096]]
    # One plugin, one environment (#17).
    assert sorted(p.name for p in venv.parent.parent.iterdir()) == ["orchestra-inline"]


def test_plugin_mode_hooks_and_every_command_work(plugin_box: Box, claude_bin: Path) -> None:
    before = _session_ids(plugin_box)
    _proc, api = plugin_box.claude(claude_bin, Script(main=[_run_everything, ["done"]]))
    output = _assert_all_ran(api)
    assert f"{plugin_box.plugin}/bin/orchestra" in output  # the launcher, from its bin/
    [new] = _session_ids(plugin_box) - before
    state = json.loads((plugin_box.state / "sessions" / new / "state.json").read_text())
    assert state["project"] == PROJECT and state["status"] == "ended"
    events = (plugin_box.state / "sessions" / new / "events.jsonl").read_text()
    for name in ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"):
        assert f'"event":"{name}"' in events, name


@pytest.mark.parametrize(("view", "title"), [("dashboard", "ORCHESTRA DASHBOARD"),
                                             ("team", "ORCHESTRA TEAM"),
                                             ("timeline", "ORCHESTRA TIMELINE")])
def test_plugin_slash_command_runs_orchestra(plugin_box: Box, claude_bin: Path, view: str,
                                             title: str) -> None:
    """/orchestra:<view> expands to the command file; the model runs what it names."""

    def run_named(body: dict[str, Any]) -> list[dict[str, Any]]:
        named = COMMAND.findall(json.dumps(body))
        assert f"orchestra {view} " in named or f"orchestra {view}" in named, named
        return [tool_use("Bash", {"command": f"orchestra {view}; echo {DONE}"})]

    _proc, api = plugin_box.claude(claude_bin, Script(main=[run_named, ["done"]]),
                                   prompt=f"/orchestra:{view}")
    output = _assert_all_ran(api)
    assert title in output and f"project {PROJECT}" in output


# -- settings mode ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings_box(tmp_path_factory: pytest.TempPathFactory) -> Box:
    box = _make_box(tmp_path_factory.mktemp("settings-mode"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "CLAUDE"))}
    installed = subprocess.run([sys.executable, "-m", "orchestra", "install", "--scope",
                                "project", "--project-dir", str(box.project)],
                               env={**env, "HOME": str(box.home)}, capture_output=True,
                               text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    assert "output styles:" in installed.stdout
    assert sorted(p.name for p in (box.project / ".claude" / "output-styles").glob("*.md")) \
        == ["orchestra-config.md", "orchestra-dashboard.md", "orchestra-leadership.md",
            "orchestra-sprint.md"]
    return box


def test_settings_mode_hooks_and_every_command_work(settings_box: Box,
                                                    claude_bin: Path) -> None:
    before = _session_ids(settings_box)
    _proc, api = settings_box.claude(claude_bin, Script(main=[_run_everything, ["done"]]))
    output = _assert_all_ran(api)
    assert f"{settings_box.state}/bin/orchestra" in output
    [new] = _session_ids(settings_box) - before
    events = (settings_box.state / "sessions" / new / "events.jsonl").read_text()
    assert '"event":"PostToolUse"' in events


def test_two_sessions_message_each_other(settings_box: Box, claude_bin: Path) -> None:
    """A sends to its project before B exists; B sees it at its first prompt. A then sends
    to B directly; B sees that at its next prompt."""
    box = settings_box
    send_project = [tool_use("Bash", {"command": f"orchestra send --project {PROJECT} "
                                                 "'main is frozen for the release'"})]
    before = _session_ids(box)
    _proc, a_api = box.claude(claude_bin, Script(main=[send_project, ["sent"]]))
    [a] = _session_ids(box) - before
    sent = json.loads(a_api.tool_results()[0]["content"])
    assert sent["to"] == {"project": PROJECT} and sent["from"] == a

    _proc, b_api = box.claude(claude_bin, Script(main=[["B here"]]))
    [b] = _session_ids(box) - before - {a}
    seen = json.dumps(b_api.bodies("main"))
    assert "main is frozen for the release" in seen and a in seen
    assert "DATA written by another session" in seen

    def send_direct(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [tool_use("Bash", {"command": f"orchestra send --to {b} 'please rebase on main'"})]

    # A resumed conversation holds its earlier turns: the scripts go on from there.
    box.claude(claude_bin, Script(main=[send_project, ["sent"], send_direct, ["sent"]]),
               args=("--resume", a))
    _proc, b_again = box.claude(claude_bin, Script(main=[["B here"], ["B again"]]),
                                args=("--resume", b), prompt="next")
    assert "please rebase on main" in json.dumps(b_again.bodies("main"))
