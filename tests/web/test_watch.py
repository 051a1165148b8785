"""`orchestra watch` piped (one plain frame per change), its errors, and the screen drawing."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestra.screen import LEAVE, Screen, fit_frame
from orchestra.watch import main
from state.eventlog import append_event
from state.store import open_store
from tests.handlers._support import payload

FRAME_START = "| ORCHESTRA DASHBOARD"  # a view without ages in seconds: frames are stable


class Pipe(io.StringIO):
    """A stdout that is not a terminal, read while the watch writes to it."""

    def isatty(self) -> bool:
        return False

    def frames(self) -> list[str]:
        text = self.getvalue()
        return [FRAME_START + part for part in text.split(FRAME_START)[1:]]


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def start(argv: list[str], out: Pipe, err: io.StringIO) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(argv, stdout=out, stderr=err)),
                              daemon=True)
    thread.start()
    return thread, codes


def test_piped_it_prints_one_plain_frame_per_change(home: Path,
                                                    dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "first"))
    out, err = Pipe(), io.StringIO()
    thread, codes = start(["dashboard", "--interval", "0.02", "--count", "3"], out, err)
    wait_for(lambda: len(out.frames()) == 1, "the first frame")
    time.sleep(0.5)  # some 25 checks with nothing changed...
    assert len(out.frames()) == 1  # ...print nothing
    # A change the view does not show (an event logged without a heartbeat): no frame.
    append_event(open_store(home), "first", {"ts": 1.0, "event": "Notification"})
    time.sleep(0.3)
    assert len(out.frames()) == 1

    dispatch(payload("SessionStart.startup", "second"))
    wait_for(lambda: len(out.frames()) == 2, "the frame of the new session")
    dispatch(payload("SessionEnd.other", "first"))
    wait_for(lambda: len(out.frames()) == 3, "the frame of the ended session")
    thread.join(30)
    assert codes == [0] and err.getvalue() == ""

    one, two, three = out.frames()
    assert "second" not in one and "second" in two
    assert re.search(r"\* first +active", two) and re.search(r"x first +ended", three)
    assert "\x1b" not in out.getvalue()  # plain text: no escape sequences
    for frame in (one, two, three):
        assert all(len(line) == 78 for line in frame.rstrip("\n").split("\n")[1:])


def test_the_default_view_is_the_dashboard(home: Path, dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    out, err = Pipe(), io.StringIO()
    assert main(["--count", "1"], stdout=out, stderr=err) == 0
    assert "| ORCHESTRA DASHBOARD" in out.getvalue() and err.getvalue() == ""


@pytest.mark.parametrize(("argv", "code", "words"), [
    (["nosuchview"], 2, "invalid choice"),
    (["board", "--sprint", "s1"], 2, "--sprint only applies"),
    (["--interval", "0"], 2, "--interval must be"),
    (["--refresh", "-1"], 2, "--refresh must be"),
    (["--count", "0"], 2, "--count must be"),
    (["--project", "../etc"], 2, "invalid project id"),
    (["--project", "nowhere"], 3, "no project nowhere"),
    (["--session", "ghost"], 3, "no session ghost"),
])
def test_bad_arguments_are_one_line(home: Path, dispatch: Callable[..., Any], argv: list[str],
                                    code: int, words: str) -> None:
    dispatch(payload("SessionStart.startup", "s1"))
    out, err = Pipe(), io.StringIO()
    assert main(argv, stdout=out, stderr=err) == code
    assert out.getvalue() == ""
    assert err.getvalue().count("\n") == 1 and words in err.getvalue()


def test_help(home: Path) -> None:
    out = Pipe()
    assert main(["--help"], stdout=out, stderr=io.StringIO()) == 0
    for words in ("dashboard", "alternate screen", "Ctrl-C", "one frame per change", "ssh"):
        assert words in out.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_screen_rewrites_only_the_lines_that_changed(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr("orchestra.screen.terminal_size", lambda stream: (100, 30))
    out = Terminal()
    with Screen(out) as screen:
        screen.draw(["line one", "line two", "line three"], "status 1")
        first = out.getvalue()
        assert first.startswith("\x1b[?1049h\x1b[?25l")  # alternate screen, cursor hidden
        assert "\x1b[2J" in first and "line three" in first
        mark = len(out.getvalue())
        screen.draw(["line one", "line 2", "line three"], "status 1")
        update = out.getvalue()[mark:]
        assert update == "\x1b[2;1Hline 2\x1b[K"  # that line only, overwritten in place
        mark = len(out.getvalue())
        screen.draw(["line one"], "status 2")
        assert out.getvalue()[mark:] == "\x1b[2;1Hstatus 2\x1b[K\x1b[3;1H\x1b[J"
    assert out.getvalue().endswith(LEAVE)  # cursor shown, normal screen back


def test_frames_never_overflow_the_terminal() -> None:
    lines = fit_frame([f"{n:02d} " + "x" * 100 for n in range(40)], "status", (50, 10))
    assert len(lines) == 10
    assert all(len(line) <= 49 for line in lines)  # one column short of the edge
    assert lines[-2].startswith("... 32 more lines") and lines[-1] == "status"
    assert fit_frame(["a", "b"], "s", (80, 24)) == ["a", "b", "s"]


def test_a_frame_comes_when_a_session_starts_or_stops_waiting(
        home: Path, dispatch: Callable[..., Any]) -> None:
    """What each session does lives in its heartbeat: a watch redraws when it changes."""
    dispatch(payload("UserPromptSubmit", "w1", prompt="Fix the rounding bug"))
    dispatch(payload("PreToolUse.Bash", "w1", tool_input={"command": "make",
                                                           "description": "Build it"}))
    out, err = Pipe(), io.StringIO()
    thread, codes = start(["dashboard", "--interval", "0.02", "--count", "3"], out, err)
    wait_for(lambda: len(out.frames()) == 1, "the first frame")
    dispatch(payload("PermissionRequest.Bash", "w1"))
    wait_for(lambda: len(out.frames()) == 2, "the frame of the wait")
    dispatch(payload("PostToolUse.Bash", "w1"))
    wait_for(lambda: len(out.frames()) == 3, "the frame after the wait")
    thread.join(30)
    assert codes == [0], err.getvalue()
    one, two, three = out.frames()
    assert "Bash: Build it" in one
    assert "waiting for permission: Bash: To" in two and "1 waiting for a person" in two
    assert "waiting" not in three and "working on: Fix the rounding bug" in three
