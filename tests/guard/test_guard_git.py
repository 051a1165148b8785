"""The git guard through the dispatcher, in a real git repository with a second worktree.

Session A works in the main checkout of ``shop``: it made a stash entry (``src/pay/card.py``),
then changed ``src/cart.py`` and created ``src/new.py``, and is in the middle of a turn.
Session C works in the second worktree ``shop-wt`` (branch ``wt-branch``) and changed its
``src/cart.py``. Session B runs every family of risky git command, in five forms each
(plain, chained, after ``cd``, with ``-C``, with ``GIT_DIR=``): each one is stopped for a
person with a reason naming the session whose work it would take and a file. The same
commands pass in another worktree, after the other session ended, and when nobody else
has changes at stake; read-only commands never ask.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.guard._team import Team, decision_of, git, make_repo, reason_of

#: family -> (arguments from the top of the checkout, the same from its src/ folder, whose
#: work is at stake: "A" in the main checkout, "C" in the second worktree)
RISKY: dict[str, tuple[str, str, str]] = {
    "stash": ("stash", "stash", "A"),
    "stash push paths": ("stash push -- src/cart.py", "stash push -- cart.py", "A"),
    "stash pop": ("stash pop", "stash pop", "A"),
    "stash apply": ("stash apply", "stash apply", "A"),
    "stash drop": ("stash drop", "stash drop", "A"),
    "stash clear": ("stash clear", "stash clear", "A"),
    "checkout branch": ("checkout feature", "checkout feature", "A"),
    "checkout -b": ("checkout -b topic", "checkout -b topic", "A"),
    "switch": ("switch feature", "switch feature", "A"),
    "switch -c": ("switch -c topic", "switch -c topic", "A"),
    "switch --detach": ("switch --detach feature", "switch --detach feature", "A"),
    "checkout paths": ("checkout -- src/cart.py", "checkout -- cart.py", "A"),
    "checkout .": ("checkout .", "checkout .", "A"),
    "restore paths": ("restore src/cart.py", "restore cart.py", "A"),
    "restore .": ("restore .", "restore .", "A"),
    "reset --hard": ("reset --hard", "reset --hard", "A"),
    "reset --merge": ("reset --merge HEAD", "reset --merge HEAD", "A"),
    "reset --keep": ("reset --keep HEAD", "reset --keep HEAD", "A"),
    "reset to a commit": ("reset --soft feature", "reset --soft feature", "A"),
    "clean -f": ("clean -fd", "clean -fd", "A"),
    "rebase": ("rebase feature", "rebase feature", "A"),
    "merge": ("merge feature", "merge feature", "A"),
    "pull": ("pull --rebase", "pull --rebase", "A"),
    "cherry-pick": ("cherry-pick feature", "cherry-pick feature", "A"),
    "revert": ("revert --no-edit HEAD", "revert --no-edit HEAD", "A"),
    "am": ("am fix.patch", "am ../fix.patch", "A"),
    "bisect": ("bisect start", "bisect start", "A"),
    "rm": ("rm src/cart.py", "rm cart.py", "A"),
    "mv": ("mv src/cart.py src/basket.py", "mv cart.py basket.py", "A"),
    "add -A": ("add -A", "add -A", "A"),
    "add .": ("add .", "add .", "A"),
    "add a file of A": ("add src/cart.py", "add cart.py", "A"),
    "commit -a": ("commit -am wip", "commit -am wip", "A"),
    "alias": ("sv", "sv", "A"),
    "shell alias": ("shsv", "shsv", "A"),
    "worktree remove": ("worktree remove ../shop-wt", "worktree remove ../../shop-wt", "C"),
    "worktree move": ("worktree move ../shop-wt ../elsewhere",
                      "worktree move ../../shop-wt ../../elsewhere", "C"),
    "branch -D": ("branch -D wt-branch", "branch -D wt-branch", "C"),
    "branch -f": ("branch -f wt-branch feature", "branch -f wt-branch feature", "C"),
    "branch -m": ("branch -m wt-branch other", "branch -m wt-branch other", "C"),
}

READ_ONLY: dict[str, tuple[str, str]] = {
    "status": ("status", "status"),
    "diff": ("diff", "diff"),
    "log": ("log --oneline -3", "log --oneline -3"),
    "show": ("show --stat HEAD", "show --stat HEAD"),
    "fetch": ("fetch --all", "fetch --all"),
    "stash list": ("stash list", "stash list"),
    "stash show": ("stash show", "stash show"),
    "branch -a": ("branch -a", "branch -a"),
    "branch --show-current": ("branch --show-current", "branch --show-current"),
    "add of its own file": ("add docs/notes.md", "add ../docs/notes.md"),
    "restore --staged": ("restore --staged src/cart.py", "restore --staged cart.py"),
    "reset of paths": ("reset -- src/cart.py", "reset -- cart.py"),
    "clean -n": ("clean -nd", "clean -nd"),
    "checkout of its own file": ("checkout -- docs/notes.md", "checkout -- ../docs/notes.md"),
    "blame": ("blame README.md", "blame ../README.md"),
    "worktree list": ("worktree list", "worktree list"),
    "rev-parse": ("rev-parse --show-toplevel", "rev-parse --show-toplevel"),
    "config": ("config --get alias.sv", "config --get alias.sv"),
}

FORMS = ("plain", "chained", "cd", "-C", "env")


def forms(top_args: str, src_args: str, repo: Path) -> list[tuple[str, str, Path]]:
    """(form, command, folder it runs in) for one command."""
    return [
        ("plain", f"git {top_args}", repo),
        ("chained", f"git status --short && git {top_args}; echo done", repo),
        ("cd", f"cd src && git {src_args}", repo),
        ("-C", f"git -C {repo.name} {top_args}", repo.parent),
        ("env", f"GIT_DIR=.git git {top_args}", repo),
    ]


class Scenario:
    def __init__(self, team: Team, repo: Path, worktree: Path) -> None:
        self.team = team
        self.repo = repo
        self.worktree = worktree


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    patch = pytest.MonkeyPatch()
    for name in ("CLAUDE_PROJECT_DIR", "ORCHESTRA_SESSION_ID", "ORCHESTRA_DISABLED_PLUGINS",
                 "ORCHESTRA_LOAD_PLUGINS", "CLAUDE_ENV_FILE"):
        patch.delenv(name, raising=False)
    base = tmp_path_factory.mktemp("guard")
    repo, worktree = make_repo(base)
    (repo / "fix.patch").write_text("")
    git(repo, "add", "fix.patch")
    git(repo, "commit", "-qm", "patch")
    team = Team(base / "orchestra")
    team.start("sess-a", repo)
    team.start("sess-b", repo)
    team.start("sess-c", worktree)
    # A stashes a change of its own (the stash entry is A's), then keeps working.
    team.write("sess-a", repo / "src" / "pay" / "card.py", "card = 2\n", repo)
    team.run_bash("sess-a", "git stash push -- src/pay/card.py", repo)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    team.write("sess-a", repo / "src" / "new.py", "new = 1\n", repo)
    team.write("sess-c", worktree / "src" / "cart.py", "total = 3\n", worktree)
    try:
        yield Scenario(team, repo, worktree)
    finally:
        patch.undo()


@pytest.mark.parametrize("family", sorted(RISKY))
def test_every_risky_family_in_every_form_is_stopped_naming_the_session_and_a_file(
        scenario: Scenario, family: str) -> None:
    top_args, src_args, whose = RISKY[family]
    owner = {"A": "sess-a", "C": "sess-c"}[whose]
    bystander = {"A": "sess-c", "C": None}[whose]
    for form, command, cwd in forms(top_args, src_args, scenario.repo):
        reply = scenario.team.pre_bash("sess-b", command, cwd)
        text = reason_of(reply)
        assert decision_of(reply) == "ask", f"{family} ({form}): {command!r} was let through"
        assert owner in text, f"{family} ({form}): {text}"
        assert "cart.py" in text or "card.py" in text or "new.py" in text, (
            f"{family} ({form}) names no file: {text}")
        assert "git worktree add" in text and "EnterWorktree" in text
        if bystander:  # another worktree's session is never at stake for this checkout
            assert bystander not in text, f"{family} ({form}): {text}"


@pytest.mark.parametrize("spelling", ["g'i't", 'g""it', "g\\it", "'git'", "/usr/bin/git"])
def test_a_quoted_or_escaped_git_is_still_git(scenario: Scenario, spelling: str) -> None:
    reply = scenario.team.pre_bash("sess-b", f"{spelling} stash", scenario.repo)
    assert decision_of(reply) == "ask", f"{spelling} stash was let through"
    assert "sess-a" in reason_of(reply)


def test_each_family_names_what_is_at_stake(scenario: Scenario) -> None:
    team, repo = scenario.team, scenario.repo
    text = reason_of(team.pre_bash("sess-b", "git clean -fd", repo))
    assert "src/new.py (new file)" in text and "src/cart.py" not in text  # untracked only
    text = reason_of(team.pre_bash("sess-b", "git commit -am wip", repo))
    assert "src/cart.py (modified)" in text and "new.py" not in text  # tracked only
    text = reason_of(team.pre_bash("sess-b", "git stash drop", repo))
    assert "stash@{0}" in text and "src/pay/card.py" in text
    text = reason_of(team.pre_bash("sess-b", "git checkout feature", repo))
    assert "in the middle of a turn on branch main" in text
    text = reason_of(team.pre_bash("sess-b", "git worktree remove ../shop-wt", repo))
    assert "works in that worktree" in text and "sess-c" in text and "sess-a" not in text
    text = reason_of(team.pre_bash("sess-b", "git branch -D wt-branch", repo))
    assert "is on branch wt-branch" in text


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_read_only_commands_never_ask(scenario: Scenario, name: str) -> None:
    top_args, src_args = READ_ONLY[name]
    for form, command, cwd in forms(top_args, src_args, scenario.repo):
        reply = scenario.team.pre_bash("sess-b", command, cwd)
        assert reply is None, f"{name} ({form}): {command!r} -> {reason_of(reply)}"


def test_subshells_sudo_env_and_nested_shells_are_read(scenario: Scenario) -> None:
    team, repo = scenario.team, scenario.repo
    for command in ("(cd src && git stash) && ls", "sudo -u root git stash",
                    "env GIT_WORK_TREE=. GIT_DIR=.git git stash", "bash -c 'git stash'",
                    "echo $(git stash)", "if true; then git reset --hard; fi",
                    "time git checkout feature", "git --no-pager -c color.ui=never stash",
                    f"cd {repo.parent} && cd shop && git stash",
                    "git -C src -C .. stash", "nohup git stash &"):
        reply = team.pre_bash("sess-b", command, repo)
        assert decision_of(reply) == "ask", command
        assert "sess-a" in reason_of(reply)


def test_the_other_worktree_is_another_working_tree(scenario: Scenario) -> None:
    """C's checkout: A's changes in the main one are not at stake there, C's are."""
    team, worktree = scenario.team, scenario.worktree
    reply = team.pre_bash("sess-b", "git reset --hard", worktree)
    assert decision_of(reply) == "ask"
    text = reason_of(reply)
    assert "sess-c" in text and "sess-a" not in text


def test_three_sessions_with_changes_are_all_named(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    repo, _worktree = make_repo(tmp_path)
    team = Team(tmp_path / "orchestra")
    for sid in ("s1", "s2", "s3"):
        team.start(sid, repo)
    team.write("s1", repo / "src" / "cart.py", "total = 5\n", repo)
    team.write("s2", repo / "docs" / "notes.md", "more notes\n", repo)
    text = reason_of(team.pre_bash("s3", "git stash", repo))
    assert "session s1" in text and "src/cart.py" in text
    assert "session s2" in text and "docs/notes.md" in text
    # a pathspec takes only what it names
    text = reason_of(team.pre_bash("s3", "git checkout -- docs", repo))
    assert "session s2" in text and "session s1" not in text
    # each session's own commands are its own business while nobody else's are at stake
    assert team.pre_bash("s1", "git checkout -- src/cart.py", repo) is None


# -- the same commands pass ------------------------------------------------------------


def _all_pass(team: Team, sid: str, repo: Path, skip: set[str] = frozenset()) -> None:
    for family, (top_args, src_args, _whose) in sorted(RISKY.items()):
        if family in skip:
            continue
        for form, command, cwd in forms(top_args, src_args, repo):
            reply = team.pre_bash(sid, command, cwd)
            assert reply is None, f"{family} ({form}): {command!r} -> {reason_of(reply)}"


def _pass_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Team, Path, Path]:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    repo, worktree = make_repo(tmp_path)
    (repo / "fix.patch").write_text("")
    team = Team(tmp_path / "orchestra")
    team.start("sess-a", repo)
    team.start("sess-b", repo)
    return team, repo, worktree


def test_the_same_commands_pass_in_another_worktree(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    team, repo, worktree = _pass_base(tmp_path, monkeypatch)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    team.write("sess-a", repo / "src" / "new.py", "new = 1\n", repo)
    (worktree / "fix.patch").write_text("")
    # B works in the second worktree: A's changes are in another working tree. (Removing
    # or renaming that worktree's own branch is B's business; the main one is A's.)
    _all_pass(team, "sess-b", worktree, skip={"worktree remove", "worktree move",
                                              "branch -D", "branch -f", "branch -m"})
    assert team.pre_bash("sess-b", "git branch -D feature", worktree) is None


def test_the_same_commands_pass_after_the_other_session_ended(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team, repo, worktree = _pass_base(tmp_path, monkeypatch)
    team.start("sess-c", worktree)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    team.write("sess-c", worktree / "src" / "cart.py", "total = 3\n", worktree)
    assert decision_of(team.pre_bash("sess-b", "git stash", repo)) == "ask"
    team.end("sess-a", repo)
    team.end("sess-c", worktree)
    _all_pass(team, "sess-b", repo)


def test_the_same_commands_pass_when_nobody_else_has_changes_at_stake(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team, repo, worktree = _pass_base(tmp_path, monkeypatch)
    team.start("sess-c", worktree)
    team.stop("sess-a", repo)  # between turns, nothing changed
    team.stop("sess-c", worktree)
    # B's own changes are its own business
    team.write("sess-b", repo / "src" / "cart.py", "total = 9\n", repo)
    _all_pass(team, "sess-b", repo, skip={"worktree remove", "worktree move"})


def test_a_session_mid_turn_with_no_changes_gates_only_branch_moves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team, repo, _worktree = _pass_base(tmp_path, monkeypatch)
    # sess-a has just been prompted: in the middle of a turn, nothing changed
    moves = {"checkout branch", "checkout -b", "switch", "switch -c", "switch --detach",
             "reset --hard", "reset --merge", "reset --keep", "reset to a commit", "rebase",
             "merge", "pull", "cherry-pick", "revert", "am", "bisect"}
    for family, (top_args, _src_args, _whose) in sorted(RISKY.items()):
        if family.startswith(("worktree", "branch")):
            continue
        reply = team.pre_bash("sess-b", f"git {top_args}", repo)
        if family in moves:
            assert decision_of(reply) == "ask", family
            text = reason_of(reply)
            assert "session sess-a" in text and "middle of a turn on branch main" in text
        else:
            assert reply is None, f"{family}: {reason_of(reply)}"
    team.stop("sess-a", repo)
    assert team.pre_bash("sess-b", "git checkout feature", repo) is None


# -- refs/stash, worktree remove, unreadable lines ---------------------------------------


def test_stash_entries_are_guarded_across_worktrees(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    team, repo, worktree = _pass_base(tmp_path, monkeypatch)
    team.start("sess-c", worktree)
    team.write("sess-c", worktree / "README.md", "wip\n", worktree)
    team.run_bash("sess-c", "git stash", worktree)
    team.stop("sess-c", worktree)
    for command in ("git stash drop", "git stash pop", "git stash clear", "git stash drop 0",
                    "git stash drop stash@{0}"):
        reply = team.pre_bash("sess-b", command, repo)  # the main checkout: another worktree
        assert decision_of(reply) == "ask", command
        text = reason_of(reply)
        assert "session sess-c" in text and "README.md" in text and "stash@{0}" in text
    assert team.pre_bash("sess-b", "git stash list", repo) is None
    assert team.pre_bash("sess-b", "git stash", repo) is None  # a new entry takes nothing
    team.end("sess-c", worktree)
    assert team.pre_bash("sess-b", "git stash drop", repo) is None


def test_unreadable_commands_fail_open_and_show_in_drift(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from orchestra.drift import main as drift

    team, repo, _worktree = _pass_base(tmp_path, monkeypatch)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    for command in ('cd "$DIR" && git stash', "ls | xargs git rm", 'git -C "$D" stash',
                    "git $SUB", 'bash -c "$CMD git"'):
        assert team.pre_bash("sess-b", command, repo) is None, command
    monkeypatch.setenv("ORCHESTRA_HOME", str(team.home))
    out = io.StringIO()
    assert drift(["--json"], stdout=out, stderr=io.StringIO()) == 0
    entries = [e for e in json.loads(out.getvalue()) if e["kind"] == "command"]
    details = {e["detail"] for e in entries}
    assert "git run by xargs" in details
    assert any("folder" in d for d in details) and any("variable" in d for d in details)
    assert all("$" not in e["name"] for e in entries)  # the command itself is not logged


def test_git_starts_only_for_risky_commands_and_only_with_others_live(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted where the guard starts git (handlers.git_guard.Git.run)."""
    from handlers import git_guard

    runs: list[list[str]] = []
    original = git_guard.Git.run

    def counting(self: Any, args: list[str], cwd: str, env: Any = None) -> Any:
        runs.append(args)
        return original(self, args, cwd, env)

    monkeypatch.setattr(git_guard.Git, "run", counting)
    team, repo, _worktree = _pass_base(tmp_path, monkeypatch)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    for command in ("ls -la", "git status", "git log --oneline", "echo git stash",
                    "cat .gitignore", "git diff && git show HEAD"):
        team.pre_bash("sess-b", command, repo)
    assert runs == []
    assert decision_of(team.pre_bash("sess-b", "git stash", repo)) == "ask"
    assert runs and len(runs) <= 4
    team.end("sess-a", repo)
    runs.clear()
    assert team.pre_bash("sess-b", "git stash", repo) is None
    assert runs == []  # nobody else live: nothing to ask git


def test_new_files_are_at_stake_only_for_what_takes_new_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another session's new (untracked) file: `git stash`, `reset --hard`, `restore` and
    `rm` leave it alone; `stash -u`, `clean -f`, `add -A` and a branch switch do not."""
    team, repo, _worktree = _pass_base(tmp_path, monkeypatch)
    team.write("sess-a", repo / "src" / "new.py", "new = 1\n", repo)
    team.stop("sess-a", repo)  # between turns: only its new file is at stake
    for command in ("git stash", "git reset --hard", "git restore .", "git checkout -- src",
                    "git rm -r src", "git commit -am wip"):
        assert team.pre_bash("sess-b", command, repo) is None, command
    for command in ("git stash -u", "git stash push --include-untracked", "git clean -f",
                    "git add -A", "git add src", "git checkout feature", "git rebase feature"):
        reply = team.pre_bash("sess-b", command, repo)
        assert decision_of(reply) == "ask", command
        assert "src/new.py (new file)" in reason_of(reply), command


@pytest.mark.parametrize(("settings", "decision"), [
    ((), "ask"),  # the default
    ((("claims.policy", "deny"),), "deny"),
    ((("claims.policy", "warn"),), "warn"),
    ((("claims.policy", "off"),), None),
    ((("claims.policy", "off"), ("projects.shop.claims.policy", "deny")), "deny"),
    ((("projects.shop.claims.policy", "off"),), None),
])
def test_the_guard_follows_the_claims_policy_per_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        settings: tuple[tuple[str, str], ...], decision: str | None) -> None:
    """The git guard decides as the claims policy says (ask, deny, warn, off), and a
    project's own setting wins over the global one."""
    import io

    from orchestra.cli import main as orchestra

    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / "orchestra"))
    team, repo, _worktree = _pass_base(tmp_path, monkeypatch)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    for key, value in settings:
        err = io.StringIO()
        assert orchestra(["shared", "set-config", key, value], stdout=io.StringIO(),
                         stderr=err) == 0, err.getvalue()
    reply = team.pre_bash("sess-b", "cd src && git stash", repo)
    assert decision_of(reply) == decision
    if decision is not None:
        assert "sess-a" in reason_of(reply) and "src/cart.py" in reason_of(reply)
