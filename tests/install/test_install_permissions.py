"""Issue 23, item 27: under ``umask 022`` everything Orchestra creates in its state root is
private — the root itself and any folder Orchestra makes on the way to it 0700, every file
0600 (the ``orchestra`` launcher 0700) — and nothing above the root changes. A fresh
install, a session's hooks and the CLIs leave ``orchestra doctor`` nothing to warn about.
"""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hooks import dispatch

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits and umask")

SID = "0c2b5a3e-7d1f-4c55-9b8e-23f1a0c4d6e7"
EVENTS = ["SessionStart.startup", "UserPromptSubmit", "PreToolUse.Bash", "PostToolUse.Bash",
          "PostToolUse.TaskCreate", "SubagentStart", "SubagentStop", "Stop", "SessionEnd.other"]


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask: files 0644 and folders 0755 unless the code asks for less."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _session(env: Any, payload: Callable[[str], dict[str, Any]], *, online: bool = True
             ) -> None:
    """One session's hooks, in-process as Claude Code runs them, then the CLIs (with the
    server away, only what they queue)."""
    from state import session_manager, shared_state, state_manager

    for name in EVENTS:
        event = payload(name)
        event.update(session_id=SID, cwd=str(env.project))
        out, err = io.StringIO(), io.StringIO()
        assert dispatch.main([], stdin=io.BytesIO(json.dumps(event).encode()),
                             stdout=out, stderr=err) == 0, err.getvalue()
    calls = [(session_manager.main, ["send", "--all", "hello"])]
    if online:
        calls += [(state_manager.main, ["set", SID, "notes.x", "1"]),
                  (session_manager.main, ["create", "--id", "s2", "--project", "p2"]),
                  (shared_state.main, ["set-config", "claims.policy", "warn"])]
    for main, argv in calls:
        err = io.StringIO()
        assert main(argv, stdout=io.StringIO(), stderr=err) == 0, (argv, err.getvalue())


def _internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI crash: its traceback goes to <root>/logs/errors.log."""
    from state import state_manager

    def crash(*args: Any) -> int:
        raise RuntimeError("boom")

    with monkeypatch.context() as patched:
        patched.setattr(state_manager, "_run", crash)
        err = io.StringIO()
        assert state_manager.main(["get", SID, "notes"], stdout=io.StringIO(),
                                  stderr=err) == 1
    assert "errors.log" in err.getvalue()


def _not_private(top: Path) -> list[str]:
    """Every folder and file at or below ``top`` that other users can read, with its mode."""
    found = []
    for path in [top, *top.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() or path.name == "orchestra" else 0o600
        if mode != wanted:
            found.append(f"{oct(mode)} {path.relative_to(top.parent)}")
    return found


@pytest.mark.parametrize("store", ["files", "postgres away"])
def test_a_fresh_install_and_a_session_keep_the_state_root_private(
        cli: Any, env: Any, payload: Callable[[str], dict[str, Any]], umask_022: None,
        monkeypatch: pytest.MonkeyPatch, store: str) -> None:
    """ORCHESTRA_HOME below folders that do not exist yet: Orchestra makes them, all 0700."""
    made = env.home.parent / "made-by-orchestra"
    root = made / "deeper" / "state"
    monkeypatch.setenv("ORCHESTRA_HOME", str(root))
    if store == "postgres away":  # its cache, outbox and breaker files live in the root
        monkeypatch.setenv("ORCHESTRA_STORE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert cli("install").code == 0
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert _not_private(made) == []
    result = cli("install", "--agent", "codex")  # keeps a record in <root>/installs/
    assert result.code == 0, result.err
    _session(env, payload, online=store == "files")
    _internal_error(monkeypatch)
    names = {p.name for p in root.rglob("*")}
    assert {"machine.json", "orchestra", "errors.log", "heartbeat.json", "codex.json"} <= names
    if store == "postgres away":
        assert {"outbox", "down"} <= names
    else:
        assert {"state.json", "state.json.lock", "heartbeat.json", "identity.json"} <= names
    assert _not_private(made) == []
    doctor = cli("doctor")
    assert "warn  permissions" not in doctor.out, doctor.out
    assert f"ok    permissions      {root} and its files are private" in doctor.out


def test_nothing_above_the_state_root_changes(
        cli: Any, env: Any, payload: Callable[[str], dict[str, Any]], umask_022: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The default root, ~/.claude/orchestration: ~/.claude is Claude Code's and keeps its
    mode; the root below it is private."""
    claude = env.home / ".claude"
    claude.mkdir(mode=0o755)
    home_mode = stat.S_IMODE(env.home.stat().st_mode)
    monkeypatch.delenv("ORCHESTRA_HOME")
    assert cli("install").code == 0
    _session(env, payload)
    assert stat.S_IMODE(claude.stat().st_mode) == 0o755
    assert stat.S_IMODE(env.home.stat().st_mode) == home_mode
    assert _not_private(claude / "orchestration") == []
    assert "warn  permissions" not in cli("doctor").out
