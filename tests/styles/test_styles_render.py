"""``python -m styles.render``: fixed layouts (snapshots), the JSON behind them, the numbers
computed here (blockers, velocity, suggestions), defaults and errors.

Snapshots live in ``tests/styles/snapshots/{fixture,empty}/<view>.{txt,json}``; after an
intended layout change regenerate them with::

    UPDATE_SNAPSHOTS=1 python -m pytest tests/styles

and review the diff. The fixture state and the render time (``--at``) are fixed, so a
snapshot only changes when the code does.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from styles.views import VIEWS
from styles.views.layout import WIDTH, width

AT = "2026-11-24T10:02:00Z"
ALPHA, BETA = "sess-alpha", "sess-beta"
Render = Callable[..., Any]


def _shared(home: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> None:
    from state import shared_state

    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    err = io.StringIO()
    assert shared_state.main(list(argv), stdout=io.StringIO(), stderr=err) == 0, err.getvalue()


def _sm(home: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> None:
    from state import state_manager

    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    err = io.StringIO()
    assert state_manager.main(list(argv), stdout=io.StringIO(), stderr=err) == 0, err.getvalue()


def _data(render: Render, home: Path, view: str, *argv: str,
          session: str | None = ALPHA) -> dict[str, Any]:
    result = render(home, view, "--json", "--at", AT, *argv, session=session)
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


# -- layouts -----------------------------------------------------------------------


@pytest.mark.parametrize("view", list(VIEWS))
def test_view_layout_of_the_fixture_state(view: str, render: Render, fixture_home: Path,
                                          snapshot: Callable[[str, str], None]) -> None:
    result = render(fixture_home, view, "--at", AT, session=ALPHA)
    assert result.code == 0, result.err
    assert result.err == ""
    snapshot(f"fixture/{view}.txt", result.out)


@pytest.mark.parametrize("view", list(VIEWS))
def test_view_data_of_the_fixture_state(view: str, render: Render, fixture_home: Path,
                                        snapshot: Callable[[str, str], None]) -> None:
    data = _data(render, fixture_home, view)
    assert data["view"] == view and data["project"] == "demo" and data["session"] == ALPHA
    snapshot(f"fixture/{view}.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@pytest.mark.parametrize("view", list(VIEWS))
def test_view_layout_of_the_empty_state(view: str, render: Render, empty_home: Path,
                                        snapshot: Callable[[str, str], None]) -> None:
    result = render(empty_home, view, "--at", AT)
    assert result.code == 0, result.err
    snapshot(f"empty/{view}.txt", result.out)
    assert not empty_home.exists()  # rendering never writes


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("state", ["fixture", "empty"])
def test_every_line_is_a_box_line_of_78_columns(view: str, state: str, render: Render,
                                                fixture_home: Path, empty_home: Path) -> None:
    home = fixture_home if state == "fixture" else empty_home
    out = render(home, view, "--at", AT, session=ALPHA).out
    lines = out.splitlines()
    assert out.endswith("\n") and len(lines) >= 5
    for line in lines:
        assert len(line) == WIDTH and line.isascii(), line
        assert line[0] in "|+" and line[-1] in "|+", line
    assert lines[0] == lines[-1] == "+" + "-" * (WIDTH - 2) + "+"


def test_rendering_is_deterministic(render: Render, fixture_home: Path) -> None:
    for view in VIEWS:
        first = render(fixture_home, view, "--at", AT, session=ALPHA).out
        assert render(fixture_home, view, "--at", AT, session=ALPHA).out == first


def test_json_is_the_data_the_text_shows(render: Render, fixture_home: Path) -> None:
    data = _data(render, fixture_home, "dashboard")
    text = render(fixture_home, "dashboard", "--at", AT, session=ALPHA).out
    cols = data["tasks"]["by_column"]
    assert f"todo {cols['todo']}   doing {cols['doing']}   blocked {cols['blocked']}   " \
           f"done {cols['done']}" in text
    assert f"BLOCKERS ({len(data['blockers'])})" in text
    for session in data["sessions"]["list"]:
        assert session["session_id"] in text


# -- computed numbers ----------------------------------------------------------------


def test_board_columns_and_blockers(render: Render, fixture_home: Path) -> None:
    data = _data(render, fixture_home, "board")
    columns = {c["key"]: [(t["session"], t["ref"]) for t in c["tasks"]] for c in data["columns"]}
    # Session-local tasks (Claude Code's task tools) carry their session in their ref; the
    # project's tasks are T-1... T-1 was beta's: beta is gone (stale), so it is back in
    # the pool, flagged; T-3 is given to a tool by alpha.
    assert columns == {
        "todo": [(ALPHA, "sess-alp:3"), (ALPHA, "sess-alp:4"), (None, "T-1"), (ALPHA, "T-3")],
        "doing": [(ALPHA, "sess-alp:2"), (BETA, "sess-bet:1"), (ALPHA, "T-2")],
        "blocked": [(ALPHA, "sess-alp:5")],
        "done": [(ALPHA, "sess-alp:1"), (ALPHA, "sess-alp:6")],
    }
    returned = next(t for t in data["columns"][0]["tasks"] if t["ref"] == "T-1")["returned"]
    assert returned["from"] == BETA and returned["status"] == "in_progress"
    assert returned["progress"] == 40 and "gone" in returned["reason"]
    assert [(b["session"], b["task"], b["reason"]) for b in data["blockers"]] == [
        (ALPHA, "sess-alp:5", "status blocked"),
        # beta's last event: 09:00:35, render 10:02
        (BETA, "sess-bet:1", "no activity for 1h 01m"),
    ]


def test_blocker_idle_limit_comes_from_config(render: Render, state_copy: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _shared(state_copy, monkeypatch, "set-config", "render.blocker_idle_seconds", "7200")
    data = _data(render, state_copy, "board")
    assert data["blocker_idle_seconds"] == 7200
    assert [b["task"] for b in data["blockers"]] == ["sess-alp:5"]
    # a project override wins for that project
    _shared(state_copy, monkeypatch, "set-config", "projects.demo.render.blocker_idle_seconds",
            "60")
    assert [b["task"] for b in _data(render, state_copy, "board")["blockers"]] == [
        "sess-alp:5", "sess-bet:1"]


def test_invalid_blocker_limit_falls_back_to_the_default(render: Render, state_copy: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _shared(state_copy, monkeypatch, "set-config", "render.blocker_idle_seconds", "soon")
    assert _data(render, state_copy, "board")["blocker_idle_seconds"] == 1800


def test_in_progress_task_of_an_ended_session_is_a_blocker(render: Render, state_copy: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from state import session_manager

    monkeypatch.setenv("ORCHESTRA_HOME", str(state_copy))
    assert session_manager.main(["end", BETA], stdout=io.StringIO(),
                                stderr=io.StringIO()) == 0
    blockers = _data(render, state_copy, "board")["blockers"]
    assert (BETA, "sess-bet:1", "session ended") in [(b["session"], b["task"], b["reason"])
                                                     for b in blockers]


def test_velocity_and_trend(render: Render, state_copy: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    speed = _data(render, state_copy, "sprint")["velocity"]
    assert (speed["unit"], speed["average"], speed["trend"], speed["finished"]) == \
        ("points", 6.5, "up", 2)
    rows = {r["sprint"]: r for r in speed["sprints"]}
    assert list(rows) == ["sprint-0", "sprint-1", "sprint-2", "sprint-3"]  # by start date
    # 7 session tasks (by their session's sprint) and the project's T-1 and T-2
    assert rows["sprint-2"]["points_planned"] == 13 and rows["sprint-2"]["tasks_total"] == 9
    assert rows["sprint-2"]["tasks_completed"] == 2
    _shared(state_copy, monkeypatch, "update-sprint", "demo", "sprint-1",
            "--points-completed", "3")
    assert _data(render, state_copy, "sprint")["velocity"]["trend"] == "down"
    _shared(state_copy, monkeypatch, "update-sprint", "demo", "sprint-1",
            "--points-completed", "5")
    assert _data(render, state_copy, "sprint")["velocity"]["trend"] == "flat"
    # closing the running sprint: its completed epics' points count when none are recorded
    _shared(state_copy, monkeypatch, "update-epic", "demo", "epic-board", "--status",
            "completed")
    _shared(state_copy, monkeypatch, "update-sprint", "demo", "sprint-2", "--status",
            "completed")
    speed = _data(render, state_copy, "sprint", "--sprint", "sprint-2")["velocity"]
    assert [r["points_completed"] for r in speed["sprints"]][:3] == [5, 5, 8]
    assert (speed["average"], speed["trend"]) == (6.0, "up")


def test_velocity_counts_tasks_when_sprints_have_no_points(render: Render, state_copy: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    _shared(state_copy, monkeypatch, "update-sprint", "demo", "sprint-4", "--status",
            "completed", "--start", "2026-12-21")
    # a task's own "sprint" wins over its session's current sprint
    _sm(state_copy, monkeypatch, "set", ALPHA, "active_work.tasks.1.sprint", "sprint-4")
    speed = _data(render, state_copy, "sprint")["velocity"]
    assert (speed["unit"], speed["trend"], speed["average"]) == ("tasks", "up", 0.3)
    assert [r["tasks_completed"] for r in speed["sprints"] if r["status"] == "completed"] == \
        [0, 0, 1]


def test_suggestions_match_capabilities_and_free_instances(render: Render, state_copy: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from orchestra import task as task_cli

    def add(*argv: str) -> None:
        monkeypatch.setenv("ORCHESTRA_HOME", str(state_copy))
        monkeypatch.setenv("ORCHESTRA_SESSION_ID", ALPHA)
        err = io.StringIO()
        assert task_cli.main(["add", *argv], stdout=io.StringIO(), stderr=err) == 0, \
            err.getvalue()

    add("Snapshot tests for every view", "--description", "Fixed layouts")
    add("Document the frontend install", "--description", "docs/styles.md")
    add("Summarise the research", "--needs", "general-purpose")
    data = _data(render, state_copy, "board")
    hints = {h["task"]: h for h in data["suggestions"]}
    # only the project's pool: T-1 (back from beta), T-4, T-5, T-6; not T-3 (given to a
    # tool), nor the sessions' own tasks
    assert list(hints) == ["T-1", "T-4", "T-5", "T-6"]
    assert hints["T-1"]["needs"] == ["engineering-fullstack"]
    assert hints["T-1"]["tool"] == "engineering-fullstack"
    assert hints["T-4"]["needs"] == ["tests"] and hints["T-4"]["tool"] == "engineering-fullstack"
    # "docs" comes from the description (docs/styles.md); the docs tool has no free instance
    assert hints["T-5"]["needs"] == ["docs", "frontend"] and hints["T-5"]["run_in"] == ALPHA
    assert hints["T-5"]["tool"] == "engineering-fullstack"
    # a task that needs a tool with no free instance (T-3 holds general-purpose's only one)
    assert hints["T-6"]["tool"] is None and hints["T-6"]["needs"] == ["general-purpose"]
    tools = {t["name"]: t for t in data["tools"]}
    assert (tools["general-purpose"]["busy"], tools["general-purpose"]["free"]) == (1, 0)
    assert "none free: general-" in render(state_copy, "board", "--at", AT,
                                              session=ALPHA).out


def test_untrusted_text_cannot_break_the_layout(render: Render, state_copy: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    nasty = "\x1b[31mred\x1b[0m\nnew line\ttab 漢字漢字漢字漢字 " + "x" * 200
    _sm(state_copy, monkeypatch, "set", ALPHA, "active_work.tasks.3.subject", nasty)
    for view in ("dashboard", "board", "sessions"):
        out = render(state_copy, view, "--at", AT, session=ALPHA).out
        assert "\x1b" not in out and "\t" not in out
        for line in out.splitlines():
            assert width(line) == WIDTH, line


def test_many_tasks_are_cut_with_a_count(render: Render, state_copy: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(10, 22):
        _sm(state_copy, monkeypatch, "set", BETA, f"active_work.tasks.{n}",
            json.dumps({"id": str(n), "subject": f"Task {n}", "status": "completed"}))
    out = render(state_copy, "board", "--at", AT, session=ALPHA).out
    assert "+ 8 more" in out  # DONE: 14 tasks, 6 shown
    assert "| DONE (14)" in out


# -- defaults ----------------------------------------------------------------------


def test_session_defaults_to_orchestra_session_id(render: Render, fixture_home: Path) -> None:
    assert _data(render, fixture_home, "sessions")["detail"]["summary"]["session_id"] == ALPHA
    data = _data(render, fixture_home, "sessions", "--session", BETA)
    assert data["session"] == BETA and len(data["detail"]["tasks"]) == 1


def test_project_defaults_to_config_without_a_session(render: Render,
                                                      fixture_home: Path) -> None:
    data = _data(render, fixture_home, "dashboard", session=None)
    assert data["project"] == "demo" and data["session"] is None
    assert data["sessions"]["total"] == 2


def test_unknown_session_in_the_environment_is_a_warning(render: Render,
                                                         fixture_home: Path) -> None:
    result = render(fixture_home, "dashboard", "--at", AT, session="ghost")
    assert result.code == 0
    assert result.err == ("styles.render: warning: session ghost (the current session) "
                          "not found; showing without it\n")


def test_sprint_defaults_to_the_sessions_sprint(render: Render, fixture_home: Path) -> None:
    assert _data(render, fixture_home, "sprint")["sprint"]["id"] == "sprint-2"
    assert _data(render, fixture_home, "sprint", "--sprint", "sprint-0")["sprint"]["id"] == \
        "sprint-0"


def test_config_view_shows_validity_and_history(render: Render, state_copy: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    data = _data(render, state_copy, "config")
    assert data["valid"] and [h["changed"] for h in data["history"]] == [
        "render.blocker_idle_seconds", "default_project"]
    settings = {s["key"]: s for s in data["settings"]}
    assert settings["default_project"]["source"] == "config"
    assert settings["presence.idle_seconds"]["source"] == "default"
    _shared(state_copy, monkeypatch, "set-config", "projects.demo.claims.policy", "warn")
    settings = {s["key"]: s for s in _data(render, state_copy, "config")["settings"]}
    assert (settings["claims.policy"]["value"], settings["claims.policy"]["source"]) == \
        ("warn", "project")
    # a config broken behind the CLI's back is reported, not fatal
    config = state_copy / "config.json"
    doc = json.loads(config.read_text())
    doc["presence"] = {"idle_seconds": -1}
    config.write_text(json.dumps(doc))
    data = _data(render, state_copy, "config")
    assert not data["valid"] and "presence.idle_seconds" in data["error"]
    assert "CONFIG INVALID" in render(state_copy, "config", "--at", AT).out


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["bogus"], 2, "invalid choice: 'bogus'"),
    ([], 2, "the following arguments are required: VIEW"),
    (["board", "--at", "yesterday"], 2, "--at: not a time"),
    (["board", "--sprint", "sprint-1"], 2, "--sprint only applies to the 'sprint' view"),
    (["board", "--session", "nope"], 3, "no session nope"),
    (["board", "--session", "../x"], 2, "invalid session id"),
    (["board", "--project", "nope"], 3, "no project nope"),
    (["sprint", "--sprint", "nope"], 3, "no sprint nope in project demo"),
])
def test_errors_are_one_line_with_the_cli_exit_codes(argv: list[str], code: int, message: str,
                                                     render: Render,
                                                     state_copy: Path) -> None:
    result = render(state_copy, *argv)
    assert result.code == code and result.out == ""
    assert len(result.err.splitlines()) == 1 and result.err.startswith("styles.render: error: ")
    assert message in result.err


def test_help(render: Render, empty_home: Path) -> None:
    result = render(empty_home, "--help")
    assert result.code == 0
    for view in VIEWS:
        assert view in result.out
    assert "render.blocker_idle_seconds" in result.out


def test_render_runs_as_a_module(fixture_home: Path,
                                 child_env: Callable[..., dict[str, str]],
                                 tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "styles.render", "board", "--at", AT],
                          env=child_env(fixture_home, ORCHESTRA_SESSION_ID=ALPHA),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    expected = (Path(__file__).parent / "snapshots" / "fixture" / "board.txt").read_text()
    assert proc.stdout == expected
