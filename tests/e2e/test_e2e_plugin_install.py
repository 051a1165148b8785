"""``/plugin install`` in a running interactive session of the real Claude Code CLI (in
tmux, offline, fake API, a PATH without Orchestra): issue 23, items 17, 18 and 21.

Monitors are armed only in the interactive UI, so this drives it: a directory
marketplace (a fresh copy of the repository) is added with ``claude plugin marketplace
add``; in the running session ``/plugin install orchestra@orchestra`` starts the
plugin's monitor, which Claude Code gives neither ``CLAUDE_PLUGIN_DATA`` nor
``CLAUDE_PLUGIN_ROOT``. Checked:

* #17: the monitor gets the hooks' data folder from its command, and only that folder
  is ever created and built;
* #21: the install session has no SessionStart; at its first prompt after the build the
  model gets the SessionStart context, and the session was created when it was first
  seen;
* #18: a message reaches the session through the monitor; after ``kill -9`` of claude
  the monitor exits.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .claude_cli import FAKE_API_KEY, claude_env
from .fake_api import FakeAnthropic, Script
from .test_e2e_install_modes import Box, _fresh_copy, _make_box, _wait_built

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux: .ci/run installs it")]

MARKET = "orchestra"  # .claude-plugin/marketplace.json
UI_TIMEOUT = 90.0


class Tmux:
    """One interactive claude in a tmux server of its own."""

    def __init__(self, root: Path) -> None:
        self.socket = f"orchestra-e2e-{os.getpid()}-{root.name}"

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, "-f", os.devnull, *args],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "main")

    def wait_for(self, text: str, timeout: float = UI_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.5)
        raise AssertionError(f"{text!r} never showed:\n{self.screen()}")

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "main", "-l", text)
        time.sleep(1)
        self.run("send-keys", "-t", "main", "Enter")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=30)


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _cmdline(pid: int) -> list[str]:
    return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]


def _parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("\nPPid:\t", 1)[1].split()[0])


def _monitors(home: Path) -> list[int]:
    """Processes running the plugin's monitor for this HOME (not the launcher's own
    subshells, such as the one of ``$(find_python)``, which share its command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = _cmdline(int(entry.name))
            if "--follow" in args and "inbox" in args \
                    and _environ(int(entry.name)).get("HOME") == str(home):
                found[int(entry.name)] = _parent(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(pid for pid, parent in found.items() if parent not in found)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in state


@pytest.fixture
def session(tmp_path: Path, claude_bin: Path) -> Iterator[tuple[Box, Tmux, FakeAnthropic]]:
    box = _make_box(tmp_path)
    box.plugin = _fresh_copy(tmp_path / "orchestra-checkout")
    (box.home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark",
        "customApiKeyResponses": {"approved": [FAKE_API_KEY[-20:]], "rejected": []},
        "projects": {str(box.project): {"hasTrustDialogAccepted": True}}}))
    with FakeAnthropic(Script(main=[["hello from the fake model"]] * 20)) as api:
        env = claude_env(home=box.home, base_url=api.base_url,
                         env_extra={"PATH": box.path, "TERM": "xterm-256color", **box.extra})
        added = subprocess.run([str(claude_bin), "plugin", "marketplace", "add",
                                str(box.plugin)], env=env, capture_output=True, text=True,
                               timeout=120)
        assert added.returncode == 0, added.stderr + added.stdout
        tmux = Tmux(tmp_path)
        command = shlex.join(["env", "-i", *(f"{k}={v}" for k, v in env.items()),
                              str(claude_bin)])
        tmux.run("new-session", "-d", "-s", "main", "-x", "200", "-y", "50", "-c",
                 str(box.project), command)
        try:
            yield box, tmux, api
        finally:
            tmux.kill()
            for pid in _monitors(box.home):
                os.kill(pid, signal.SIGKILL)


def test_plugin_install_in_a_running_session(
        session: tuple[Box, Tmux, FakeAnthropic]) -> None:
    box, tmux, api = session
    tmux.wait_for("shift+tab to cycle")  # the prompt is up
    data_root = box.home / ".claude" / "plugins" / "data"
    data = data_root / f"orchestra-{MARKET}"
    tmux.type(f"/plugin install orchestra@{MARKET}")
    tmux.wait_for("Install for you")
    tmux.run("send-keys", "-t", "main", "Enter")  # user scope
    tmux.wait_for("Installed orchestra")
    installed = time.time()

    deadline = time.monotonic() + UI_TIMEOUT
    while not _monitors(box.home):
        assert time.monotonic() < deadline, "the plugin's monitor never started"
        time.sleep(0.5)
    [monitor] = _monitors(box.home)
    environ = _environ(monitor)
    # The premise of #17: no plugin variables for the monitor; its command names the folder.
    assert "CLAUDE_PLUGIN_DATA" not in environ and "CLAUDE_PLUGIN_ROOT" not in environ
    args = _cmdline(monitor)
    assert args[args.index("--plugin-data") + 1] == str(data)
    sid, claude_pid = environ["CLAUDE_CODE_SESSION_ID"], int(environ["CLAUDE_PID"])

    _wait_built(data)
    assert sorted(p.name for p in data_root.iterdir()) == [data.name]  # one environment
    ready = time.time()

    tmux.type("hello")
    deadline = time.monotonic() + UI_TIMEOUT
    while not api.bodies("main"):
        assert time.monotonic() < deadline, tmux.screen()
        time.sleep(0.5)
    first = json.dumps(api.bodies("main")[0])
    assert "Orchestra commands for Bash" in first and f"this is session {sid}" in first
    state = json.loads((box.state / "sessions" / sid / "state.json").read_text())
    assert installed - 5 <= state["created_ts"] < ready  # when the monitor first saw it

    # A message reaches the idle session through the monitor (it runs Orchestra now).
    orchestra = data / "venv" / "bin" / "orchestra"
    bare = {"PATH": box.path, "HOME": str(box.home)}
    sent = subprocess.run([str(orchestra), "send", "--to", sid, "--from", "cli",
                           "ping from another session"], env=bare, capture_output=True,
                          text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    deadline = time.monotonic() + UI_TIMEOUT
    while True:
        pending = subprocess.run([str(orchestra), "inbox", sid], env=bare,
                                 capture_output=True, text=True, timeout=60)
        if pending.returncode == 0 and json.loads(pending.stdout) == []:
            break
        assert time.monotonic() < deadline, f"not delivered: {pending.stdout}"
        time.sleep(0.5)
    assert not _gone(monitor) and _cmdline(monitor)[1:4] == ["-P", "-m", "orchestra"]

    # #18: claude is killed; its monitor notices and exits.
    os.kill(claude_pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not _gone(monitor):
        assert time.monotonic() < deadline, f"the monitor outlived claude: {_cmdline(monitor)}"
        time.sleep(0.5)
