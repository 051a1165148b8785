"""shared_state: config (validated, with history and rollback), tools, projects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from state.config import DEFAULTS


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


# -- config ---------------------------------------------------------------------------------


def test_get_config_defaults(shared: Any, home: Path) -> None:
    result = shared("get-config")
    assert result.code == 0 and result.json() == DEFAULTS
    assert not home.exists()  # reading creates nothing


def test_set_config_validates_persists_and_bumps_version(shared: Any, home: Path) -> None:
    result = shared("set-config", "claims.policy", "deny")
    assert result.code == 0
    assert result.json()["claims"] == {"policy": "deny", "window_seconds": 900}
    on_disk = json.loads((home / "config.json").read_text(encoding="utf-8"))
    assert on_disk["claims"]["policy"] == "deny" and on_disk["version"] == 1
    assert shared("set-config", "presence.active_seconds", "60").json()["presence"] == {
        "active_seconds": 60, "idle_seconds": 1800, "stale_seconds": 21600}
    assert shared("set-config", "features.dashboard", "true").json()["features"] == {
        "dashboard": True}
    assert json.loads((home / "config.json").read_text(encoding="utf-8"))["version"] == 3


@pytest.mark.parametrize(("path", "value"), [
    ("claims.policy", "sometimes"),
    ("presence.active_seconds", "-1"),
    ("presence.idle_seconds", "soon"),
    ("event_log.max_bytes", "10"),
    ("dispatch.budget_seconds", "9999"),
    ("plugins.disabled", "not-a-list"),
    ("projects", "[]"),
    ("version", "7"),
    ("schema_version", "2"),
])
def test_invalid_config_is_refused_and_old_config_stays(
    shared: Any, home: Path, path: str, value: str
) -> None:
    assert shared("set-config", "claims.policy", "warn").code == 0
    before = _read(home / "config.json")
    history = _read(home / "config-history.jsonl")
    shared("set-config", path, value).assert_error(2)
    assert _read(home / "config.json") == before
    assert _read(home / "config-history.jsonl") == history
    assert shared("get-config").json()["claims"]["policy"] == "warn"


def test_project_overrides(shared: Any) -> None:
    assert shared("set-config", "projects.p1.claims.policy", "deny").code == 0
    global_config = shared("get-config").json()
    assert global_config["claims"]["policy"] == "ask"
    p1 = shared("get-config", "p1").json()
    assert p1["claims"] == {"policy": "deny", "window_seconds": 900}
    assert p1["project"] == "p1" and "projects" not in p1
    assert shared("get-config", "other").json()["claims"]["policy"] == "ask"


def test_config_history_and_rollback(shared: Any) -> None:
    assert shared("config-history").json() == []
    assert shared("set-config", "claims.policy", "warn").code == 0
    assert shared("set-config", "claims.policy", "deny").code == 0
    assert shared("set-config", "messages.max_context_chars", "999").code == 0
    history = shared("config-history").json()
    assert [h["n"] for h in history] == [1, 2, 3]
    assert [h["changed"] for h in history] == [
        "messages.max_context_chars", "claims.policy", "claims.policy"]
    assert history[0]["config"]["claims"]["policy"] == "deny"  # the config before change 3
    assert history[0]["config"]["version"] == 2

    rolled = shared("rollback", "2").json()  # as it was two changes ago
    assert rolled["claims"]["policy"] == "warn"
    assert rolled["messages"]["max_context_chars"] == 4000
    assert shared("config-history").json()[0]["changed"] == "rollback 2"  # recorded too
    rolled = shared("rollback").json()  # undo the rollback
    assert rolled["claims"]["policy"] == "deny"
    assert rolled["messages"]["max_context_chars"] == 999
    assert "no config 99" in shared("rollback", "99").assert_error(3)
    shared("rollback", "0").assert_error(3)


# -- tools ----------------------------------------------------------------------------------


def test_tool_registry(shared: Any) -> None:
    assert shared("list-tools").json() == {}
    result = shared("register-tool", "reviewer", "--capabilities", "read,review",
                    "--capabilities", "comment", "--max-instances", "3",
                    "--description", "reviews PRs")
    assert result.code == 0
    assert result.json()["capabilities"] == ["read", "review", "comment"]
    tools = shared("list-tools").json()
    assert tools["reviewer"]["max_instances"] == 3
    assert tools["reviewer"]["description"] == "reviews PRs"
    assert shared("register-tool", "reviewer", "--max-instances", "1").json()[
        "max_instances"] == 1
    assert shared("unregister-tool", "reviewer").json()["capabilities"] == []
    assert shared("list-tools").json() == {}
    shared("unregister-tool", "reviewer").assert_error(3)
    shared("register-tool", "x", "--max-instances", "0").assert_error(2)
    shared("register-tool", "x", "--max-instances", "two").assert_error(2)
    assert shared("list-tools").json() == {}


# -- epics, sprints, team, decisions, projects -------------------------------------------------


def test_epics(shared: Any) -> None:
    created = shared("update-epic", "p1", "e1", "--title", "Login", "--status", "planned",
                     "--points", "5").json()
    assert (created["id"], created["title"], created["status"], created["points"]) == (
        "e1", "Login", "planned", 5)
    changed = shared("update-epic", "p1", "e1", "--status", "in_progress",
                     "--sprint", "sp1").json()
    assert changed["title"] == "Login"  # untouched fields stay
    assert [(h["from"], h["status"]) for h in changed["history"]] == [
        (None, "planned"), ("planned", "in_progress")]
    assert shared("update-epic", "p1", "e2", "--status", "completed").code == 0
    assert [e["id"] for e in shared("list-epics", "p1").json()] == ["e1", "e2"]
    assert [e["id"] for e in shared("list-epics", "p1", "--status", "completed").json()] == [
        "e2"]
    assert shared("list-epics", "p2").json() == []
    shared("update-epic", "p1", "e3", "--status", "In Progress").assert_error(2)
    assert [e["id"] for e in shared("list-epics", "p1").json()] == ["e1", "e2"]


def test_sprints(shared: Any) -> None:
    sprint = shared("update-sprint", "p1", "sp1", "--status", "active", "--goal", "ship",
                    "--start", "2026-01-05", "--end", "2026-01-19", "--epic", "e1,e2",
                    "--epic", "e3", "--points-planned", "13").json()
    assert sprint["epics"] == ["e1", "e2", "e3"]
    assert (sprint["status"], sprint["goal"], sprint["points_planned"]) == ("active", "ship", 13)
    assert shared("update-sprint", "p1", "sp1", "--points-completed", "8").json()[
        "points_completed"] == 8
    assert shared("update-sprint", "p1", "sp2").code == 0
    assert [s["id"] for s in shared("list-sprints", "p1").json()] == ["sp1", "sp2"]
    assert [s["id"] for s in shared("list-sprints", "p1", "--status", "active").json()] == [
        "sp1"]


def test_team(shared: Any, home: Path) -> None:
    assert shared("set-member", "p1", "alice", "--role", "lead", "--tools", "git,gh",
                  "--capabilities", "review").json()["tools"] == ["git", "gh"]
    assert shared("set-member", "p1", "bob").code == 0
    assert shared("set-member", "p1", "alice", "--role", "owner").json()["tools"] == [
        "git", "gh"]
    team = shared("list-team", "p1").json()
    assert [(m["id"], m.get("role")) for m in team] == [("alice", "owner"), ("bob", None)]
    assert shared("remove-member", "p1", "bob").json() == {
        "created_at": team[1]["created_at"], "updated_at": team[1]["updated_at"]}
    assert [m["id"] for m in shared("list-team", "p1").json()] == ["alice"]
    shared("remove-member", "p1", "bob").assert_error(3)


def test_remove_member_of_unknown_project_leaves_no_trace(shared: Any, home: Path,
                                                          tree: Any) -> None:
    shared("remove-member", "typo", "bob").assert_error(3)
    assert not (home / "projects" / "typo").exists()
    assert shared("list-projects").json() == []


def test_decisions(shared: Any) -> None:
    first = shared("decide", "p1", "--title", "Use JSONL", "--rationale", "O(1) appends",
                   "--by", "alice,bob", "--by", "carol").json()
    assert first["by"] == ["alice", "bob", "carol"] and first["status"] == "agreed"
    assert first["id"].startswith("dec-")
    assert shared("decide", "p1", "--title", "Maybe SQLite", "--rationale", "later",
                  "--by", "bob", "--status", "proposed").code == 0
    listed = shared("list-decisions", "p1").json()
    assert [d["title"] for d in listed] == ["Use JSONL", "Maybe SQLite"]  # oldest first
    shared("decide", "p1", "--title", "  ", "--rationale", "x", "--by", "a").assert_error(2)
    shared("decide", "p1", "--title", "t", "--rationale", "x").assert_error(2)  # --by needed
    assert len(shared("list-decisions", "p1").json()) == 2


def test_list_projects(shared: Any) -> None:
    assert shared("list-projects").json() == []
    assert shared("update-epic", "beta", "e1").code == 0
    assert shared("decide", "alpha", "--title", "t", "--rationale", "r", "--by", "a").code == 0
    assert shared("set-config", "projects.gamma.claims.policy", "off").code == 0
    assert shared("list-projects").json() == ["alpha", "beta", "gamma"]


def test_unknown_keys_in_shared_documents_survive(shared: Any, home: Path) -> None:
    assert shared("update-epic", "p1", "e1", "--title", "A").code == 0
    path = home / "projects" / "p1" / "epics.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["owner_team"] = "blue"
    doc["epics"]["e1"]["jira"] = "ABC-1"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert shared("update-epic", "p1", "e1", "--status", "blocked").code == 0
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["owner_team"] == "blue" and after["epics"]["e1"]["jira"] == "ABC-1"


# -- once as a real process ------------------------------------------------------------------


@pytest.mark.slow
def test_runs_as_python_module(run_module: Any) -> None:
    done = run_module("state.shared_state", "register-tool", "linter", "--capabilities", "lint")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["capabilities"] == ["lint"]
    bad = run_module("state.shared_state", "set-config", "claims.policy", "sometimes")
    assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.splitlines()) == 1
    assert json.loads(run_module("state.shared_state", "list-tools").stdout) == {
        "linter": {"capabilities": ["lint"], "max_instances": 1,
                   "updated_at": json.loads(done.stdout)["updated_at"]}}
