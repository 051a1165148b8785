"""The git guard where it runs: the real Claude Code CLI (offline, fake model) in a git
repository in which another live session has an uncommitted change.

Session A is driven through the dispatcher (it wrote ``src/cart.py``); session B is a real
``claude -p`` run whose model calls ``git stash`` and then ``git status --short``. With
``claims.policy`` ``ask`` (the default: in ``-p`` there is nobody to ask, and Claude Code
2.1.332 refuses the call with the hook's reason) and ``deny``, the stash never runs, A's
change is still there, and the model is told why, naming A and the file; the read-only
command runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.guard._team import Team, git, make_repo

from ._scenario import tool_result_text
from .claude_cli import run_claude
from .fake_api import FakeAnthropic, Script, tool_use

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("policy", ["ask", "deny"])
def test_a_real_session_is_stopped_before_a_git_stash_that_would_take_another_sessions_work(
        claude_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str) -> None:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    repo, _worktree = make_repo(tmp_path)
    home = tmp_path / "orchestra-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRA_", "CLAUDE"))}
    env.update(ORCHESTRA_HOME=str(home), HOME=str(tmp_path / "home-cli"))
    for argv in (["-m", "hooks", "install", "--scope", "project", "--project-dir", str(repo),
                  "--no-styles"],
                 ["-m", "state.shared_state", "set-config", "claims.policy", policy]):
        done = subprocess.run([sys.executable, *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    git(repo, "add", ".claude")  # the project's settings are part of it, not a change
    git(repo, "commit", "-qm", "orchestra hooks")

    team = Team(home)  # session A, through the dispatcher
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    team.start("sess-a", repo)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)

    script = Script(main=[
        [tool_use("Bash", {"command": "git stash", "description": "Stash the changes"})],
        [tool_use("Bash", {"command": "git status --short", "description": "Show status"})],
        ["Done."],
    ])
    with FakeAnthropic(script, log_path=tmp_path / "requests-B.jsonl") as api:
        proc = run_claude(claude_bin, "tidy up the checkout", cwd=repo,
                          home=tmp_path / "home-b", base_url=api.base_url,
                          env_extra={"ORCHESTRA_HOME": str(home), "ORCHESTRA_SESSION_ID": "",
                                     "ORCHESTRA_DISABLED_PLUGINS": "", "ORCHESTRA_BUDGET": "",
                                     "ORCHESTRA_HANDLER_TIMEOUT": ""},
                          debug_file=tmp_path / "claude-debug-B.log", timeout=240,
                          extra_args=["--session-id", str(uuid.uuid4())])
        results = api.tool_results("main")
    context = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n{results}"
    assert proc.returncode == 0, context

    assert git(repo, "stash", "list") == "", context  # the stash never ran
    assert (repo / "src" / "cart.py").read_text() == "total = 2\n", context
    assert len(results) == 2, context
    refused, status = results
    assert refused.get("is_error") is True, context
    text = tool_result_text(refused)
    assert "session sess-a" in text and "src/cart.py (modified)" in text, context
    assert "git worktree add" in text and "EnterWorktree" in text, context
    assert "M src/cart.py" in tool_result_text(status), context

    from state.guard_log import recent_decisions
    from state.store import open_store

    (decision,) = recent_decisions(open_store(home), ["shop"])
    assert (decision["decision"], decision["kind"], decision["command"]) == (
        policy, "git", "git stash")
    assert decision["others"][0]["session"] == "sess-a"
