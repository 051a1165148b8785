"""Orchestra where users run it: the real Claude Code CLI, both install modes, a PATH that
holds neither Orchestra's virtualenv nor any Python with Orchestra installed.

* Plugin mode: ``claude --plugin-dir <fresh copy of the repository>`` with an empty plugin
  data folder. The first session builds the plugin's environment (its hooks fail open
  meanwhile); a later session works.
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
from .claude_cli import REPO_ROOT, run_claude
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
    """The ``orchestra`` commands of the SessionStart context in a Messages request."""
    for text in _strings(body):  # the context sits in a system-reminder of a user message
        start = text.find("Orchestra commands for Bash")
        if start >= 0:
            line = text[start:].splitlines()[0]
            found = COMMAND.findall(line)
            assert len(found) >= 5, line
            return found
    raise AssertionError("no Orchestra SessionStart context reached the model")


def _style_commands() -> list[str]:
    from tests.styles.test_styles_commands import ALL_COMMANDS

    return [command for _stem, _i, command in ALL_COMMANDS]


#: Values for the placeholders of the SessionStart context (the styles have their own).
CONTEXT_VALUES = {"session": "sess-beta", "project": PROJECT, "path": "active_work"}


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


@pytest.fixture(scope="module")
def plugin_box(tmp_path_factory: pytest.TempPathFactory, claude_bin: Path) -> Iterator[Box]:
    """A machine where the first session with the plugin has built its environment."""
    root = tmp_path_factory.mktemp("plugin-mode")
    box = _make_box(root)
    box.plugin = _fresh_copy(root / "orchestra-plugin")
    data = box.home / ".claude" / "plugins" / "data" / "orchestra-inline"
    assert not data.exists()  # an empty plugin data folder
    box.claude(claude_bin, Script(main=[["first session"]]))  # hooks fail open meanwhile
    assert (data / "build-state").exists(), "the first session did not start the build"
    deadline = time.monotonic() + BUILD_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        state = (data / "build-state").read_text() if (data / "build-state").exists() else ""
        if state.startswith(("ready", "failed")):
            break
        time.sleep(1)
    log = (data / "build.log").read_text() if (data / "build.log").exists() else "(no log)"
    assert state.startswith("ready"), f"build-state {state!r}\n{log[-4000:]}"
    yield box


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
