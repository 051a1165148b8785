"""Built-in handlers on the dispatcher's own thread (hooks.runner._Alarm).

On the main thread of a POSIX process whose ``SIGALRM`` nobody else uses, a built-in
handler runs without a worker thread, under an interval timer: at its limit it is
interrupted (``HandlerOverrun``) and reported as overrun, and the other handlers still run.
Where the signal is taken (or on Windows, or off the main thread) the workers of old do it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import handlers.eventlog
import handlers.heartbeat
from hooks.runner import HandlerOverrun
from hooks.testing import run_dispatch

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "setitimer"),
    reason="the timer path is POSIX-only; elsewhere built-ins run on workers, "
           "which the plugin isolation tests cover")

Payload = Callable[[str], dict[str, Any]]


def _log(home: Path) -> str:
    path = home / "logs" / "dispatch.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _warm(home: Path, payload: Payload) -> None:
    """Build the dispatch table before a handler is replaced: a replacement carries no
    hookimpl marker, so a table built with it in place would leave the handler out."""
    assert run_dispatch(payload("SessionStart.startup.json"), home=home).exit_code == 0


def _events(home: Path, sid: str) -> list[dict[str, Any]]:
    path = home / "sessions" / sid / "events.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def alarm_free() -> Iterator[None]:
    """The test starts and must end with SIGALRM unused and no timer armed."""
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    yield
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL  # given back
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # disarmed


def test_a_hanging_builtin_is_interrupted_on_the_main_thread(
        home: Path, payload: Payload, monkeypatch: pytest.MonkeyPatch, alarm_free: None
) -> None:
    threads: list[str] = []
    original = handlers.heartbeat.on_event

    def hangs(event: Any, ctx: Any) -> None:
        threads.append(threading.current_thread().name)
        time.sleep(60)

    _warm(home, payload)
    monkeypatch.setattr(handlers.heartbeat, "on_event", hangs)
    data = payload("PreToolUse.Bash.json")
    started = time.monotonic()
    result = run_dispatch(data, home=home, env={"ORCHESTRA_HANDLER_TIMEOUT": "0.3"})
    assert time.monotonic() - started < 30  # far below the sleep: it was cut short
    assert result.exit_code == 0 and result.stderr == ""
    assert threads == ["MainThread"]  # no worker
    assert ("handler heartbeat.on_event on PreToolUse overran its time limit of 0.30s"
            in _log(home))
    assert _events(home, data["session_id"])[-1]["event"] == "PreToolUse"  # the rest ran
    assert handlers.heartbeat.on_event is hangs and original is not hangs


def test_a_builtin_that_swallows_the_interrupt_is_interrupted_again(
        home: Path, payload: Payload, monkeypatch: pytest.MonkeyPatch, alarm_free: None
) -> None:
    caught: list[str] = []

    def stubborn(event: Any, ctx: Any) -> None:
        try:
            time.sleep(60)
        except HandlerOverrun:
            caught.append("first")
        time.sleep(60)  # carries on regardless: the timer rings again

    _warm(home, payload)
    monkeypatch.setattr(handlers.heartbeat, "on_event", stubborn)
    data = payload("PreToolUse.Bash.json")
    result = run_dispatch(data, home=home, env={"ORCHESTRA_HANDLER_TIMEOUT": "0.3"})
    assert result.exit_code == 0
    assert caught == ["first"]
    assert "heartbeat.on_event on PreToolUse overran its time limit of 0.30s" in _log(home)
    assert _events(home, data["session_id"])[-1]["event"] == "PreToolUse"


def test_a_builtin_that_returns_in_time_keeps_its_reply_and_effects(
        home: Path, payload: Payload, alarm_free: None) -> None:
    data = payload("PreToolUse.Bash.json")
    result = run_dispatch(data, home=home, env={"ORCHESTRA_HANDLER_TIMEOUT": "0.3"})
    assert result.exit_code == 0
    assert "overran" not in _log(home)
    sid = data["session_id"]
    assert (home / "sessions" / sid / "heartbeat.json").exists()
    assert _events(home, sid)[-1]["event"] == "PreToolUse"


def test_a_sigalrm_in_use_is_left_alone_and_workers_do_the_job(
        home: Path, payload: Payload, monkeypatch: pytest.MonkeyPatch) -> None:
    rang: list[int] = []

    def theirs(signum: int, frame: Any) -> None:
        rang.append(signum)

    threads: list[str] = []

    def hangs(event: Any, ctx: Any) -> None:
        threads.append(threading.current_thread().name)
        time.sleep(3)

    _warm(home, payload)
    monkeypatch.setattr(handlers.heartbeat, "on_event", hangs)
    previous = signal.signal(signal.SIGALRM, theirs)
    try:
        result = run_dispatch(payload("PreToolUse.Bash.json"), home=home,
                              env={"ORCHESTRA_HANDLER_TIMEOUT": "0.3"})
        assert signal.getsignal(signal.SIGALRM) is theirs  # never replaced
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert result.exit_code == 0
    assert threads and threads != ["MainThread"]  # a worker ran it
    assert "heartbeat.on_event on PreToolUse overran its time limit of 0.30s" in _log(home)
    assert rang == []


def test_off_the_main_thread_workers_do_the_job(
        home: Path, payload: Payload, monkeypatch: pytest.MonkeyPatch, alarm_free: None
) -> None:
    seen: list[str] = []
    original = handlers.eventlog.after_dispatch

    def records(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread().name)
        return original(*args, **kwargs)

    _warm(home, payload)
    monkeypatch.setattr(handlers.eventlog, "after_dispatch", records)
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(run_dispatch(
        payload("PreToolUse.Bash.json"), home=home)), name="embedder")
    thread.start()
    thread.join(60)
    assert box and box[0].exit_code == 0
    assert seen and seen[0] not in ("embedder", "MainThread")


@pytest.mark.skipif(not hasattr(os, "lockf"), reason="the heartbeat's record lock: POSIX")
def test_a_builtin_stuck_on_a_lock_is_interrupted_in_a_real_hook_process(
        dispatch_cli: Callable[..., Any], home: Path, payload: Payload) -> None:
    data = payload("PreToolUse.Bash.json")
    sid = data["session_id"]
    assert dispatch_cli(data).code == 0  # the session's folder and lock file exist
    lock = home / "sessions" / sid / "heartbeat.json.lock"
    assert lock.exists()
    with open(lock, "r+b") as held:
        os.lockf(held.fileno(), os.F_LOCK, 0)  # the heartbeat waits for it (5 s)
        result = dispatch_cli(data, ORCHESTRA_HANDLER_TIMEOUT="0.4", ORCHESTRA_BUDGET="30")
    assert result.code == 0, result.err
    log = _log(home)
    assert "handler heartbeat.on_event on PreToolUse overran its time limit of 0.40s" in log
    assert "LockTimeoutError" not in log  # interrupted at its limit, not at the lock's
    assert [e["event"] for e in _events(home, sid)][-2:] == ["PreToolUse", "PreToolUse"]


def test_an_interrupt_never_leaves_the_import_lock_held(
        home: Path, payload: Payload, monkeypatch: pytest.MonkeyPatch, alarm_free: None
) -> None:
    """importlib holds its global lock for an instant around each import (a tiny timeout
    once interrupted ``_get_module_lock.<locals>.cb`` right after its ``acquire_lock``):
    an interrupt there would leave the lock held for good, and every import of another
    thread (a plugin's worker, the PostgreSQL step's) would hang. The handler here holds it
    past its limit, as importlib does for that instant."""
    import _imp

    def holds_the_import_lock(event: Any, ctx: Any) -> None:
        _imp.acquire_lock()
        end = time.monotonic() + 0.6
        while time.monotonic() < end:  # the limit (0.2 s) passes in here
            pass
        _imp.release_lock()
        time.sleep(60)  # ... and the handler is interrupted once the lock is let go

    _warm(home, payload)
    monkeypatch.setattr(handlers.heartbeat, "on_event", holds_the_import_lock)
    try:
        result = run_dispatch(payload("PreToolUse.Bash.json"), home=home,
                              env={"ORCHESTRA_HANDLER_TIMEOUT": "0.2"})
        held = _imp.lock_held()
    finally:
        while _imp.lock_held():
            _imp.release_lock()  # the failing case: do not hang the rest of the suite
    assert result.exit_code == 0
    assert not held
    assert "heartbeat.on_event on PreToolUse overran its time limit of 0.20s" in _log(home)


def test_an_interrupt_that_python_swallows_prints_nothing(
        home: Path, payload: Payload, monkeypatch: pytest.MonkeyPatch, alarm_free: None
) -> None:
    """An interrupt that lands in a weakref callback or ``__del__`` cannot propagate: Python
    reports it as "Exception ignored in ..." with a traceback on stderr. The timer rings
    again, so it is no error of anyone's, and nothing is printed."""
    import weakref

    reported: list[Any] = []
    monkeypatch.setattr("sys.unraisablehook", reported.append)

    class Thing:
        pass

    calls: list[int] = []

    def slow_callback(ref: Any) -> None:
        calls.append(1)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:  # the limit (0.2 s) passes in here
            pass

    def hangs(event: Any, ctx: Any) -> None:
        thing = Thing()
        ref = weakref.ref(thing, slow_callback)
        del thing  # the callback runs now
        assert ref() is None
        time.sleep(60)

    _warm(home, payload)
    monkeypatch.setattr(handlers.heartbeat, "on_event", hangs)
    result = run_dispatch(payload("PreToolUse.Bash.json"), home=home,
                          env={"ORCHESTRA_HANDLER_TIMEOUT": "0.2"})
    assert result.exit_code == 0
    assert "heartbeat.on_event on PreToolUse overran its time limit of 0.20s" in _log(home)
    assert calls == [1]  # the interrupt landed in it
    assert [r.exc_type for r in reported] == []
    import sys

    assert sys.unraisablehook == reported.append  # given back


@pytest.mark.skipif(not hasattr(os, "posix_spawnp"), reason="git started by posix_spawn")
def test_a_git_the_guard_waits_for_is_killed_and_reaped_when_interrupted(
        home: Path, payload: Payload, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        alarm_free: None) -> None:
    """The git guard gives git less than its own limit, but a handler that starts late (the
    budget nearly spent) is interrupted while it waits for git: git must not outlive it."""
    from handlers.git_guard import Git

    fake = tmp_path / "bin"
    fake.mkdir()
    pid_file = tmp_path / "git.pid"
    (fake / "git").write_text(f"#!/bin/sh\necho $$ > '{pid_file}'\nexec sleep 30\n")
    (fake / "git").chmod(0o755)

    def asks_git(event: Any, ctx: Any) -> None:
        Git(30).run(["status"], str(tmp_path))

    _warm(home, payload)
    monkeypatch.setattr(handlers.heartbeat, "on_event", asks_git)
    result = run_dispatch(payload("PreToolUse.Bash.json"), home=home,
                          env={"ORCHESTRA_HANDLER_TIMEOUT": "0.5",
                               "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"})
    assert result.exit_code == 0
    assert "heartbeat.on_event on PreToolUse overran its time limit of 0.50s" in _log(home)
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)  # a zombie still counts: only a reaped child is gone
    except ProcessLookupError:
        return
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("git outlived the interrupted handler")
