"""Presence at SessionStart, the env file, and every file-claim policy (issue 5)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from state.shared import set_config
from state.store import open_store
from tests.coordination._helpers import context_of
from tests.handlers._support import payload

FILE = "/home/dev/project/src/app.py"


def _edit(sid: str, tool: str = "Edit", path: str = FILE, phase: str = "Pre") -> dict[str, Any]:
    tool_input = {"file_path": path, "old_string": "a", "new_string": "b"}
    if phase == "Pre":
        return payload("PreToolUse.Bash", sid, tool_name=tool, tool_input=tool_input)
    return payload("PostToolUse.Bash", sid, tool_name=tool, tool_input=tool_input,
                   tool_response={"filePath": path})


def test_presence_names_self_peers_files_and_commands(home: Path,
                                                      dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    dispatch(_edit("alpha", phase="Post"))
    dispatch(payload("SessionStart.startup", "beta"))
    text = context_of(dispatch(payload("SessionStart.startup", "gamma")))
    assert "this is session gamma of project project" in text
    assert "- alpha (active" in text and "- beta (active" in text
    assert "recent files /home/dev/project/src/app.py" in text
    assert "`orchestra inbox`" in text and "`orchestra who --project project`" in text
    alone = context_of(dispatch(payload("SessionStart.startup", "solo",
                                        cwd="/home/dev/other")))
    assert "No other live session is working on other." in alone


def test_env_file_exports_session_id_once(home: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          dispatch: Callable[..., Any]) -> None:
    env_file = tmp_path / "claude-env"
    env_file.write_text("export FOO=1")  # no trailing newline: we must not glue lines
    monkeypatch.setenv("CLAUDE_ENV_FILE", str(env_file))
    dispatch(payload("SessionStart.startup", "alpha"))
    dispatch(payload("SessionStart.startup", "alpha", source="resume"))
    lines = env_file.read_text().splitlines()
    assert lines[0] == "export FOO=1"
    assert lines.count("export ORCHESTRA_SESSION_ID=alpha") == 1
    assert f"export ORCHESTRA_HOME={home}" in lines
    # Settings mode: `orchestra` resolves in Bash through a folder that holds only it.
    assert lines.count(f"export PATH={home / 'bin'}:\"$PATH\"") == 1
    assert sorted(p.name for p in (home / "bin").iterdir()) == ["orchestra"]
    launcher = home / "bin" / "orchestra"
    assert f"exec {sys.executable} -P -m orchestra" in launcher.read_text()
    ran = subprocess.run([str(launcher), "--version"], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout.startswith("orchestra "), ran.stderr


def test_env_file_in_plugin_mode_points_the_launcher_at_its_data(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        dispatch: Callable[..., Any]) -> None:
    env_file = tmp_path / "claude-env"
    monkeypatch.setenv("CLAUDE_ENV_FILE", str(env_file))
    monkeypatch.setenv("CLAUDE_PLUGIN_ROOT", str(tmp_path / "plugin"))
    monkeypatch.setenv("CLAUDE_PLUGIN_DATA", str(tmp_path / "data"))
    dispatch(payload("SessionStart.startup", "alpha"))
    lines = env_file.read_text().splitlines()
    assert f"export ORCHESTRA_PLUGIN_DATA={tmp_path / 'data'}" in lines
    assert not any(line.startswith("export PATH=") for line in lines)  # Claude Code does it
    assert not (home / "bin").exists()


@pytest.mark.parametrize("policy", ["off", "warn", "ask", "deny"])
def test_claim_policies(home: Path, dispatch: Callable[..., Any], policy: str) -> None:
    set_config(open_store(home), "claims.policy", policy)
    for sid in ("alpha", "beta"):
        dispatch(payload("SessionStart.startup", sid))
    dispatch(_edit("alpha", phase="Post"))
    own = dispatch(_edit("alpha"))
    assert own.reply is None  # a session never conflicts with itself
    reply = dispatch(_edit("beta")).reply
    if policy == "off":
        assert reply is None
        return
    assert reply is not None
    specific = reply["hookSpecificOutput"]
    if policy == "warn":
        assert "permissionDecision" not in specific
        assert "session alpha" in specific["additionalContext"]
    else:
        assert specific["permissionDecision"] == policy
        assert "session alpha" in specific["permissionDecisionReason"]
        assert FILE in specific["permissionDecisionReason"]


def test_claims_expire_with_window_and_session_end(home: Path,
                                                   dispatch: Callable[..., Any]) -> None:
    for sid in ("alpha", "beta"):
        dispatch(payload("SessionStart.startup", sid))
    dispatch(_edit("alpha", phase="Post"))
    assert dispatch(_edit("beta")).reply is not None
    set_config(open_store(home), "claims.window_seconds", 0)
    assert dispatch(_edit("beta")).reply is None  # outside the window
    set_config(open_store(home), "claims.window_seconds", 900)
    assert dispatch(_edit("beta")).reply is not None
    dispatch(payload("SessionEnd.other", "alpha"))
    assert dispatch(_edit("beta")).reply is None  # the holder ended


def test_bash_writes_claim_files(home: Path, dispatch: Callable[..., Any]) -> None:
    for sid in ("alpha", "beta"):
        dispatch(payload("SessionStart.startup", sid))
    dispatch(payload("PostToolUse.Bash", "alpha", tool_input={"command": "echo x > notes.md"}))
    reply = dispatch(payload("PreToolUse.Bash", "beta",
                             tool_input={"command": "sed -i s/x/y/ notes.md"})).reply
    assert reply is not None and "/home/dev/project/notes.md" in str(reply)
    assert dispatch(payload("PreToolUse.Bash", "beta",
                            tool_input={"command": "cat notes.md"})).reply is None


@pytest.mark.parametrize(("command", "targets"), [
    ("echo hi > out.txt", ["out.txt"]),
    ("printf x >> log.txt", ["log.txt"]),
    ("cat a | tee -a one.txt two.txt", ["one.txt", "two.txt"]),
    ("sed -i 's/a/b/' f1 f2", ["f1", "f2"]),
    ("sed -i.bak -e s/a/b/ -e s/c/d/ f", ["f"]),
    ("sed -Ei s/a/b/ f", ["f"]),
    ("sed -i '' s/a/b/ f", ["f"]),  # BSD
    ("sed --in-place=.bak 's/x/y/' src/app.py", ["src/app.py"]),
    ("sed -n p f > g", ["g"]),
    ("mv old.py new.py", ["new.py"]),
    ("mv new.py src/", ["src/new.py"]),
    ("mv a.py b.py lib", ["lib/a.py", "lib/b.py"]),
    ("mv -t lib a.py", ["lib/a.py"]),
    ("cp -r src/ dest/", ["dest/src"]),
    ("ls > /dev/null 2>&1", []),
    ('echo "a > b"', []),
    ("echo '>' x", []),
    ("git status && echo 1 >> n.txt", ["n.txt"]),
    ("grep -r foo .", []),
    ("echo hi &> src/app.py", ["src/app.py"]),
    ("echo x 2> err.log >&2", ["err.log"]),
    ("cd src && echo hi > app.py", ["src/app.py"]),
    ("(cd src; echo > a) ; echo > b", ["src/a", "b"]),
    ("cd /abs/where && echo > x", ["/abs/where/x"]),
    ("cd $(dirname f) && echo > x", []),
    ('echo hi > "$OUT"', []),
    ("cat > f <<EOF\nnot > a target\nEOF\necho > y", ["f", "y"]),
    ("LC_ALL=C sudo sed -i s/a/b/ conf 2>/dev/null", ["conf"]),
])
def test_bash_targets(command: str, targets: list[str]) -> None:
    from handlers.bash_writes import bash_targets

    base = "/nonexistent/w"
    expected = [t if t.startswith("/") else f"{base}/{t}" for t in targets]
    assert bash_targets(command, base) == expected
