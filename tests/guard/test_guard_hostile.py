"""The git guard against hostile and odd command lines: it never crashes, never blocks by
accident, and stays within its time (another session has work at stake throughout)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.guard._team import Team, decision_of, make_repo
from tests.reliability._reliability_support import dispatch_log_errors


class Shop:
    def __init__(self, team: Team, repo: Path) -> None:
        self.team = team
        self.repo = repo


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    patch = pytest.MonkeyPatch()
    patch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    base = tmp_path_factory.mktemp("hostile")
    repo, _worktree = make_repo(base)
    team = Team(base / "orchestra")
    team.start("sess-a", repo)
    team.start("sess-b", repo)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    try:
        yield Shop(team, repo)
    finally:
        patch.undo()


ODD = [
    "git stash " + "; git stash" * 20000,  # a generated line: 20,001 git calls
    "echo " + "$(" * 300 + "git stash" + ")" * 300,  # substitutions nested deeply
    "git stash '",  # an unbalanced quote
    'git stash "$(',
    "git -C",  # an option without its value
    "git -C /nonexistent/folder stash",
    "GIT_DIR=/nonexistent git reset --hard",
    "git --git-dir= --work-tree= stash",
    "git -c alias.x='!git stash' x",
    "git -c alias.loop=loop loop",  # an alias naming itself
    "git \udcff stash",  # a lone surrogate (a JavaScript string cut in half)
    "git checkout -- \ud800.py",
    "cd \udcfe && git stash",
    "git stash push -- ':(glob)**/*.py' ':!src' '[a-z]*'",
    "git " + "x" * 100000,
    "git\tstash\n\ngit\\\nstash",
    "bash -c 'bash -c \"bash -c \\\"bash -c git\\\\ stash\\\"\"'",
    "git worktree remove",
    "git branch -D",
    "git stash drop stash@{999}",
    "git stash drop stash@{-1}",
    "git rm -- $(git ls-files)",
]


@pytest.mark.parametrize("command", ODD, ids=range(len(ODD)))
def test_odd_lines_never_crash_the_guard(shop: Shop, command: str) -> None:
    start = time.monotonic()
    reply = shop.team.pre_bash("sess-b", command, shop.repo)
    assert decision_of(reply) in (None, "ask")
    assert time.monotonic() - start < 30
    assert dispatch_log_errors(shop.team.home) == []


def test_odd_folders_never_crash_the_guard(shop: Shop, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for cwd in (tmp_path / "gone", a_file, Path("/"), shop.repo / "src" / "pay"):
        reply = shop.team.pre_bash("sess-b", "git stash", cwd)
        assert decision_of(reply) in (None, "ask"), cwd
    assert decision_of(shop.team.pre_bash("sess-b", "git stash", shop.repo / "src")) == "ask"
    assert dispatch_log_errors(shop.team.home) == []


WORDS = st.sampled_from([
    "git", "stash", "pop", "drop", "clear", "checkout", "switch", "-b", "reset", "--hard",
    "clean", "-fdx", "rebase", "-C", "src", "..", "/", "-c", "alias.z=stash", "z", "cd",
    "&&", ";", "||", "|", "(", ")", "$(", "`", "'", '"', "\\", "GIT_DIR=.git", "env",
    "sudo", "bash", "-c", "eval", "xargs", "--", ".", "src/cart.py", "*", "\n", "#",
    "<<EOF", "EOF", ">", "out.txt", "$HOME", "~", "\udcff", "worktree", "remove", "branch",
    "-D", "main", "add", "-A", "commit", "-am", "x", "bisect", "start", "am", "mv", "rm"])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(command=st.lists(WORDS, min_size=1, max_size=14).map(" ".join))
def test_random_git_lines_never_crash_the_guard(shop: Shop, command: str) -> None:
    reply = shop.team.pre_bash("sess-b", command, shop.repo)
    assert decision_of(reply) in (None, "ask"), command
    errors = dispatch_log_errors(shop.team.home)
    assert errors == [], (command, errors)
