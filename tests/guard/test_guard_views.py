"""The guard's decisions in ``orchestra show``, the dashboard, the web view and
``orchestra stats`` (issue 22, point 7)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from orchestra.cli import main
from orchestra.web.data import StateReader
from state.store import open_store
from tests.guard._team import Team, decision_of, make_repo
from tests.handlers._support import payload


def orchestra(*argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    text = out.getvalue()
    try:
        return code, json.loads(text), err.getvalue()
    except ValueError:
        return code, text, err.getvalue()


@pytest.fixture
def stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    """sess-b's `git stash` and its edit of src/cart.py were stopped for sess-a's work."""
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / "orchestra"))
    repo, _worktree = make_repo(tmp_path)
    team = Team(tmp_path / "orchestra")
    team.start("sess-a", repo)
    team.start("sess-b", repo)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    assert decision_of(team.pre_bash("sess-b", "git stash", repo)) == "ask"
    reply = team.send(payload("PreToolUse.Write", "sess-b", cwd=str(repo),
                              tool_input={"file_path": str(repo / "src" / "cart.py"),
                                          "content": "x"}, tool_use_id="toolu_b_edit"))
    assert decision_of(reply) == "ask"
    return team


def test_show_lists_what_stopped_the_session_and_what_protected_it(stopped: Team) -> None:
    code, shown, err = orchestra("show", "sess-b")
    assert code == 0, err
    kinds = [(d["kind"], d["decision"], d["command"]) for d in shown["guard"]]
    assert ("git", "ask", "git stash") in kinds
    assert ("edit", "ask", next(c for k, _d, c in kinds if k == "edit")) in kinds
    git = next(d for d in shown["guard"] if d["kind"] == "git")
    assert git["others"][0]["session"] == "sess-a"
    assert git["others"][0]["files"] == ["src/cart.py (modified)"]
    code, shown, _ = orchestra("show", "sess-a")  # the session whose work was protected
    assert {d["session"] for d in shown["guard"]} == {"sess-b"}


def test_the_dashboard_shows_the_guard_only_when_it_stopped_something(stopped: Team) -> None:
    code, text, err = orchestra("dashboard", "--project", "shop")
    assert code == 0, err
    assert "GUARD (last 24h)" in text and "2 stopped: 2 ask" in text
    assert "! ask git stash: sess-b stopped for sess-a (src/cart.py (modified))" in text
    code, data, _ = orchestra("dashboard", "--project", "shop", "--json")
    assert data["guard"]["total"] == 2 and data["guard"]["by_kind"] == {"edit": 1, "git": 1}
    assert data["guard"]["protected_sessions"] == {"sess-a": 2}


def test_the_web_view_lists_the_decisions(stopped: Team) -> None:
    reader = StateReader(open_store(stopped.home))
    data = reader.claims()
    assert [d["command"] for d in data["guard"] if d["kind"] == "git"] == ["git stash"]
    assert data["guard"][0]["project"] == "shop"
    assert reader.claims("shop")["guard"] == data["guard"]


def test_stats_counts_the_decisions(stopped: Team) -> None:
    code, rows, err = orchestra("stats", "--json")
    assert code == 0, err
    guard = {r["event"]: r for r in rows if r["handler"] == "(guard)"}
    assert guard["git ask"]["calls"] == 1 and guard["edit ask"]["calls"] == 1
    assert guard["git ask"]["protected"] == {"sess-a": 1}
    code, rows, _ = orchestra("stats", "--session", "sess-a", "--json")
    assert sum(r["calls"] for r in rows if r["handler"] == "(guard)") == 2
    code, text, _ = orchestra("stats")
    assert "GUARD DECISIONS" in text and "git ask" in text
    assert "work protected: sess-a (2)" in text
    code, rows, _ = orchestra("stats", "--since", "2099-01-01T00:00:00Z", "--json")
    assert rows == []
