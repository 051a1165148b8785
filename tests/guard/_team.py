"""Sessions working in a real git repository, driven through the dispatcher (the git guard's
tests; imported as tests.guard._team)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from hooks.testing import run_dispatch
from tests.handlers._support import payload

GIT_USER = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid",
            "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *GIT_USER, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def make_repo(base: Path) -> tuple[Path, Path]:
    """``base/shop`` (branches main, feature; alias ``sv`` for stash, ``!`` alias ``shsv``)
    and a second worktree ``base/shop-wt`` on branch ``wt-branch``."""
    repo = base / "shop"
    (repo / "src" / "pay").mkdir(parents=True)
    (repo / "docs").mkdir()
    for name, text in {"src/cart.py": "total = 1\n", "src/pay/card.py": "card = 1\n",
                       "docs/notes.md": "notes\n", "README.md": "shop\n"}.items():
        (repo / name).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    git(repo, "branch", "feature")
    git(repo, "config", "alias.sv", "stash")
    git(repo, "config", "alias.shsv", "!git stash")
    worktree = base / "shop-wt"
    git(repo, "worktree", "add", "-q", "-b", "wt-branch", str(worktree))
    return repo, worktree


def reason_of(reply: dict[str, Any] | None) -> str:
    specific = (reply or {}).get("hookSpecificOutput") or {}
    return str(specific.get("permissionDecisionReason") or specific.get("additionalContext")
               or "")


def decision_of(reply: dict[str, Any] | None) -> str | None:
    specific = (reply or {}).get("hookSpecificOutput") or {}
    decision = specific.get("permissionDecision")
    if decision is None and specific.get("additionalContext"):
        return "warn"
    return decision if isinstance(decision, str) else None


class Team:
    """Sessions of one state root; each method is one hook event through the dispatcher."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.calls = 0

    def send(self, event: dict[str, Any]) -> dict[str, Any] | None:
        outcome = run_dispatch(event, home=self.home)
        assert outcome.exit_code == 0, outcome.stderr
        assert outcome.stderr == "", outcome.stderr
        return outcome.reply

    def _id(self, sid: str) -> str:
        self.calls += 1
        return f"toolu_{sid}_{self.calls:04d}"

    def start(self, sid: str, cwd: Path) -> None:
        self.send(payload("SessionStart.startup", sid, cwd=str(cwd)))
        self.send(payload("UserPromptSubmit", sid, cwd=str(cwd), prompt="work on the shop"))

    def write(self, sid: str, path: Path, text: str, cwd: Path) -> None:
        """A Write that is let through, happens, and is confirmed."""
        tool_input = {"file_path": str(path), "content": text}
        uid = self._id(sid)
        reply = self.send(payload("PreToolUse.Write", sid, cwd=str(cwd), tool_input=tool_input,
                                  tool_use_id=uid))
        assert decision_of(reply) is None, reason_of(reply)
        path.write_text(text)
        self.send(payload("PostToolUse.Bash", sid, cwd=str(cwd), tool_name="Write",
                          tool_input=tool_input, tool_use_id=uid,
                          tool_response={"type": "update", "filePath": str(path)}))

    def pre_bash(self, sid: str, command: str, cwd: Path,
                 tool_use_id: str | None = None) -> dict[str, Any] | None:
        return self.send(payload("PreToolUse.Bash", sid, cwd=str(cwd),
                                 tool_input={"command": command, "description": "git"},
                                 tool_use_id=tool_use_id or self._id(sid)))

    def run_bash(self, sid: str, command: str, cwd: Path) -> dict[str, Any] | None:
        """Pre (must be let through), the command for real, then Post."""
        uid = self._id(sid)
        reply = self.pre_bash(sid, command, cwd, uid)
        assert decision_of(reply) is None, reason_of(reply)
        done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True,
                              timeout=60, check=False,
                              env={**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_COMMITTER_NAME": "T",
                                   "GIT_AUTHOR_EMAIL": "t@x.invalid",
                                   "GIT_COMMITTER_EMAIL": "t@x.invalid"})
        assert done.returncode == 0, done.stderr
        return self.send(payload("PostToolUse.Bash", sid, cwd=str(cwd),
                                 tool_input={"command": command, "description": "git"},
                                 tool_use_id=uid,
                                 tool_response={"stdout": done.stdout, "stderr": done.stderr,
                                                "interrupted": False, "isImage": False}))

    def stop(self, sid: str, cwd: Path) -> None:
        self.send(payload("Stop", sid, cwd=str(cwd)))

    def end(self, sid: str, cwd: Path) -> None:
        self.send(payload("SessionEnd.other", sid, cwd=str(cwd)))

    def claims_log(self, project: str = "shop") -> list[dict[str, Any]]:
        path = self.home / "projects" / project / "claims.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
