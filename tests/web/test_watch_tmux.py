"""`orchestra watch` in a real terminal: tmux runs it, capture-pane reads the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.web._support import DEMO_SESSION, REPO, clean_env, dispatch, session_start

pytestmark = pytest.mark.slow


class Tmux:
    """A private tmux server (its own socket), so nothing of the user's is touched."""

    def __init__(self, home: Path, socket_dir: Path) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed: apt-get install tmux (.ci/run does)")
        self.env = {**clean_env(home), "TMUX_TMPDIR": str(socket_dir)}
        self.env.pop("TMUX", None)
        self.socket = f"orchestra-watch-{os.getpid()}"

    def __call__(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], env=self.env, timeout=30,
                                capture_output=True, text=True, check=True)
        return result.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "watch")

    def flag(self, name: str) -> str:
        return self("display-message", "-p", "-t", "watch", f"#{{{name}}}").strip()

    def wait(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 30
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}; screen:\n{self.screen()}")
            time.sleep(0.05)


@pytest.fixture
def tmux(demo_home: Path, tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(demo_home, tmp_path)
    try:
        yield server
    finally:
        subprocess.run(["tmux", "-L", server.socket, "kill-server"], env=server.env,
                       timeout=30, capture_output=True, check=False)


def test_watch_redraws_in_place_and_ctrl_c_restores_the_terminal(tmux: Tmux, demo_home: Path,
                                                                 tmp_path: Path) -> None:
    rc = tmp_path / "rc"
    command = (f"cd {REPO} && {sys.executable} -m orchestra.watch sessions --interval 0.1; "
               f"echo $? > {rc}; sleep 120")  # the shell stays: its screen is looked at
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "watch", "-x", "100", "-y", "50",
         "bash", "-c", command)
    tmux.wait(lambda: DEMO_SESSION in tmux.screen(), "the demo session on the screen")
    first = tmux.screen()
    assert "| ORCHESTRA SESSIONS" in first and "q or Ctrl-C quits" in first
    assert tmux.flag("alternate_on") == "1" and tmux.flag("cursor_flag") == "0"

    dispatch(demo_home, session_start("watch-live-1"))
    tmux.wait(lambda: "watch-live-1" in tmux.screen(), "the new session on the screen")
    screen = tmux.screen()
    assert screen.count("| ORCHESTRA SESSIONS") == 1  # redrawn in place, not appended
    assert screen.index("| ORCHESTRA SESSIONS") == first.index("| ORCHESTRA SESSIONS")
    assert tmux.flag("history_size") == "0"  # no frame went to the scrollback

    tmux("send-keys", "-t", "watch", "C-c")
    tmux.wait(rc.exists, "the watch to exit")
    assert rc.read_text().strip() == "0"
    assert tmux.flag("alternate_on") == "0" and tmux.flag("cursor_flag") == "1"
    after = tmux.screen()
    assert "Traceback" not in after and "| ORCHESTRA" not in after  # the shell's screen back
