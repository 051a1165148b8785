"""``orchestra task``: project tasks for the model and for people (issues 21 and 24).

Ids are unique in the project, every change has its history, bad input changes nothing,
a session with no project keeps session-local tasks, and the seed's session paths
(``active_work.tasks.<id>.assignee``/``progress``) are a view of the plan that ``get``
and ``set`` still work on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.orchestration._support import (
    PROJECT,
    context_of,
    event,
    orch,
    plan,
    start,
)


@pytest.fixture
def team(home: Path, dispatch: Callable[..., Any]) -> Callable[..., Any]:
    """An orchestrator ``lead`` and two workers of the project, started."""
    start(dispatch, "lead", "orchestrator")
    start(dispatch, "w1", "worker")
    start(dispatch, "w2", "worker")
    return dispatch


def test_ids_are_unique_in_the_project_and_spelled_freely(home: Path, team: Any) -> None:
    made = [orch("task", "add", f"Task {n}", session=s).json()["id"]
            for n, s in enumerate(["lead", "w1", "w2", "lead"], start=1)]
    assert made == ["T-1", "T-2", "T-3", "T-4"]  # never "#1" twice, whoever adds them
    for spelled in ("3", "#3", "t-3", "T3"):
        assert orch("task", "show", spelled, session="w1").json()["id"] == "T-3"
    listed = orch("task", "list", session="lead")
    assert listed.code == 0 and listed.out.splitlines()[0] == f"project {PROJECT}: 4 task(s)"
    assert [line.split()[0] for line in listed.out.splitlines()[1:]] == made
    assert [t["id"] for t in orch("task", "list", "--json", session="w2").json()] == made


def test_lifecycle_with_history_and_progress(home: Path, team: Any) -> None:
    tid = orch("task", "add", "Fix rounding", "-d", "cart totals", "--points", "2",
               session="lead").json()["id"]
    started = orch("task", "start", tid, session="w1").json()
    assert (started["status"], started["assignee"], started["assignee_type"]) == \
        ("in_progress", "w1", "session")
    assert orch("task", "progress", tid, "40", session="w1").json()["progress"] == 40
    blocked = orch("task", "block", tid, "--note", "needs the API key", session="w1").json()
    assert blocked["status"] == "blocked" and blocked["note"] == "needs the API key"
    done = orch("task", "done", tid, session="w1").json()
    assert (done["status"], done["progress"]) == ("done", 100)
    actions = [(h["action"], h.get("status") or h.get("progress")) for h in done["history"]]
    assert actions == [("added", None), ("status", "in_progress"), ("progress", 40),
                       ("status", "blocked"), ("status", "done")]
    assert all(h["by"] in ("lead", "w1") and h["at"] for h in done["history"])
    # A done task keeps its 100%: lowering it is refused (and changes nothing) until the
    # task is reopened.
    lowered = orch("task", "progress", tid, "30", session="w1")
    assert lowered.code == 4 and f"task {tid} is done" in lowered.err
    assert (plan(home)[tid]["status"], plan(home)[tid]["progress"]) == ("done", 100)
    assert orch("task", "progress", tid, "100", session="w1").code == 0
    reopened = orch("task", "start", tid, session="w1").json()
    assert reopened["status"] == "in_progress"
    assert orch("task", "progress", tid, "30", session="w1").json()["progress"] == 30


def test_starting_a_task_someone_else_holds_is_refused(home: Path, team: Any) -> None:
    tid = orch("task", "add", "Only once", session="lead").json()["id"]
    assert orch("task", "start", tid, session="w1").code == 0
    taken = orch("task", "start", tid, session="w2")
    assert taken.code == 4 and "is in_progress with session w1" in taken.err
    assert plan(home)[tid]["assignee"] == "w1"
    assert orch("task", "start", tid, "--force", session="w2").json()["assignee"] == "w2"


def test_another_sessions_task_is_not_finished_behind_its_back(home: Path, team: Any) -> None:
    """A session (a model that mistook an id, say) cannot mark another live session's
    task done or blocked, nor change its progress; who gave it out, --force and a
    person outside a session can."""
    tid = orch("task", "add", "Held by w1", session="lead").json()["id"]
    assert orch("task", "assign", tid, "--to", "w1", session="lead").code == 0
    assert orch("task", "start", tid, session="w1").code == 0
    before = (home / "projects" / PROJECT / "plan.json").read_bytes()
    for argv in (["done", tid], ["block", tid, "--note", "x"], ["progress", tid, "50"],
                 ["handoff", tid, "--to", "w2"], ["assign", tid, "--to", "w2"]):
        refused = orch("task", *argv, session="w2")
        assert refused.code == 4, refused
        assert f"task {tid} is with session w1" in refused.err and "--force" in refused.err
    assert orch("set", f"active_work.tasks.{tid}.status", "done", session="w2").code == 4
    assert (home / "projects" / PROJECT / "plan.json").read_bytes() == before
    assert orch("task", "progress", tid, "50", session="w1").json()["progress"] == 50
    assert orch("task", "block", tid, "--note", "waits", session="lead").json()["status"] \
        == "blocked"  # who gave it out
    assert orch("task", "progress", tid, "60", "--force", session="w2").json()["progress"] \
        == 60
    assert orch("task", "done", tid, "--project", PROJECT).json()["status"] == "done"  # a person
    assert [h["by"] for h in plan(home)[tid]["history"]][-3:] == ["lead", "w2", "cli"]


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["task", "progress", "T-1", "101"], 2, "from 0 to 100"),
    (["task", "progress", "T-1", "4.5"], 2, "whole number"),
    (["task", "progress", "T-1", "lots"], 2, "whole number"),
    (["task", "show", "T-99"], 3, "no task T-99"),
    (["task", "show", "x/../y"], 2, "invalid task id"),
    (["task", "add", "   "], 2, "title is empty"),
    (["task", "add", "x" * 301], 2, "the limit is 300"),
    (["task", "add", "ok", "--needs", "../tool"], 2, "invalid tool or skill"),
    (["task", "add", "ok", "--points", "-1"], 2, "zero or more"),
    (["task", "add", "ok", "--points", "nan"], 2, "zero or more"),
    (["task", "add", "ok", "--points", "inf"], 2, "zero or more"),
    (["set", "active_work.tasks.T-1.points", "NaN"], 2, "zero or more"),
    (["task", "assign", "T-1", "--to", "nobody"], 3, "no session nobody"),
    (["task", "assign", "T-1", "--tool", "nothing"], 3, "no tool nothing"),
    (["task", "assign", "T-1"], 2, "one of the arguments --to --tool is required"),
    (["task", "handoff", "T-1", "--to", "ghost"], 3, "no session ghost"),
    (["task", "list", "--project", "nope"], 3, "no project 'nope'"),
    (["task", "bogus"], 2, "invalid choice"),
])
def test_bad_input_is_one_line_and_changes_nothing(home: Path, team: Any, argv: list[str],
                                                   code: int, message: str) -> None:
    orch("task", "add", "Existing", session="lead")
    before = (home / "projects" / PROJECT / "plan.json").read_bytes()
    result = orch(*argv, session="lead")
    assert result.code == code, result
    assert message in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert (home / "projects" / PROJECT / "plan.json").read_bytes() == before


def test_assignment_and_handoff_reach_the_session_once(home: Path, team: Any) -> None:
    tid = orch("task", "add", "Write the release notes", "-d", "for 2.0",
               session="lead").json()["id"]
    given = orch("task", "assign", tid, "--to", "w1", session="lead").json()
    assert (given["assignee"], given["assigned_by"]) == ("w1", "lead")
    first = context_of(team(event("UserPromptSubmit", "w1")))
    assert f'Task {tid} "Write the release notes"' in first and "assigned by lead" in first
    assert f"orchestra task done {tid}" in first and "Description: for 2.0" in first
    assert f'Task {tid} "Write' not in context_of(team(event("UserPromptSubmit", "w1")))
    orch("task", "progress", tid, "60", session="w1")
    moved = orch("task", "handoff", tid, "--to", "w2", "--note", "changelog drafted",
                 session="w1").json()
    assert (moved["assignee"], moved["progress"], moved["note"]) == ("w2", 60,
                                                                   "changelog drafted")
    assert [h["action"] for h in moved["history"]] == ["added", "assigned", "progress",
                                                       "handoff"]
    assert moved["history"][2]["status"] == "in_progress"  # progress started the work
    told = context_of(team(event("PostToolUse.Bash", "w2")))
    assert "Handed off to you" in told and "Note: changelog drafted" in told
    # done: the one who assigned it hears it, once
    orch("task", "done", tid, session="w2")
    heard = context_of(team(event("UserPromptSubmit", "lead")))
    assert f'Task {tid} "Write the release notes" is done (by session w2)' in heard
    assert "is done (by session w2)" not in context_of(team(event("UserPromptSubmit", "lead")))


def test_a_session_without_a_project_keeps_session_local_tasks(
        home: Path, dispatch: Callable[..., Any]) -> None:
    assert orch("session", "create", "--id", "solo").code == 0  # no project
    added = orch("task", "add", "Tidy my notes", session="solo").json()
    assert added["id"] == "L-1" and added["local"] is True and "session-local" in added["note"]
    assert orch("task", "done", "1", session="solo").json()["status"] == "done"
    assert "session-local" in orch("task", "list", session="solo").out
    refused = orch("task", "next", session="solo")
    assert refused.code == 2 and "session-local" in refused.err
    assert not (home / "projects").exists() or not any((home / "projects").iterdir())
    tasks = orch("get", "active_work.tasks", session="solo").json()
    assert tasks["L-1"]["status"] == "done"


def test_the_seed_paths_are_a_view_of_the_plan(home: Path, team: Any) -> None:
    orch("shared", "register-tool", "engineering-fullstack", "--capabilities", "backend",
         "--max-instances", "2")
    tid = orch("task", "add", "Checkout API", session="lead").json()["id"]
    orch("task", "assign", tid, "--to", "w1", session="lead")
    mine = orch("get", "active_work.tasks", session="w1").json()
    assert mine[tid]["assignee"] == "w1" and mine[tid]["progress"] == 0
    assert mine[tid]["status"] == "pending" and mine[tid]["subject"] == "Checkout API"
    assert tid not in orch("get", "active_work.tasks", session="w2").json()
    # set: validated, with history, in the plan
    assert orch("set", f"active_work.tasks.{tid}.progress", "45", session="w1").code == 0
    assert plan(home)[tid]["progress"] == 45 and plan(home)[tid]["status"] == "in_progress"
    assert plan(home)[tid]["history"][-1]["action"] == "progress"
    bad = orch("set", f"active_work.tasks.{tid}.progress", "145", session="w1")
    assert bad.code == 2 and plan(home)[tid]["progress"] == 45
    assert orch("get", "$.active_work.tasks[?@.progress>40].title", session="w1").json() == \
        ["Checkout API"]
    # the seed's example: a task whose assignee is a tool, and "completed"
    assert orch("set", f"active_work.tasks.{tid}.assignee", "engineering-fullstack",
                session="w1").code == 0
    assert (plan(home)[tid]["assignee"], plan(home)[tid]["assignee_type"]) == \
        ("engineering-fullstack", "tool")
    assert orch("set", f"active_work.tasks.{tid}.status", "completed", session="w1").code == 0
    assert plan(home)[tid]["status"] == "done"
    # a done task keeps its 100% unless it is reopened, which merge can do in one step
    lowered = orch("set", f"active_work.tasks.{tid}.progress", "30", session="w1")
    assert lowered.code == 4 and plan(home)[tid]["progress"] == 100, lowered
    assert orch("merge", f"active_work.tasks.{tid}", "--data",
                '{"status": "in_progress", "progress": 30}',
                session="w1").code == 0
    assert (plan(home)[tid]["status"], plan(home)[tid]["progress"]) == ("in_progress", 30)
    assert orch("merge", f"active_work.tasks.{tid}", "--data",
                '{"status": "done", "progress": 50}',
                session="w1").code == 0
    assert (plan(home)[tid]["status"], plan(home)[tid]["progress"]) == ("done", 100)
    refused = orch("delete", f"active_work.tasks.{tid}", session="w1")
    assert refused.code == 2 and "project" in refused.err and tid in plan(home)
    conditional = orch("set", f"active_work.tasks.{tid}.progress", "10", "--if-version", "1",
                       session="w1")
    assert conditional.code == 2 and "--if-version does not apply" in conditional.err
    # a path that is not a plan task is the session's own, as before
    assert orch("set", "active_work.tasks.task-001.status", "in_progress",
                session="w1").code == 0
    own = orch("get", "active_work.tasks.task-001", session="w1").json()
    assert own == {"status": "in_progress"}
    assert "task-001" not in plan(home)


def test_claude_code_task_tools_link_to_the_plan_or_say_they_are_local(
        home: Path, team: Any) -> None:
    tid = orch("task", "add", "Cart totals", session="lead").json()["id"]

    def task_tool(tool: str, data: dict[str, Any], response: Any, n: int) -> Any:
        return team(event("PostToolUse.TaskCreate", "w1", tool_name=tool, tool_input=data,
                          tool_response=response, tool_use_id=f"toolu_link_{n}"))

    linked = task_tool("TaskCreate", {"subject": f"{tid}: fix cart totals"},
                       {"task": {"id": "1", "subject": f"{tid}: fix cart totals"}}, 1)
    assert "session-local" not in context_of(linked)
    task_tool("TaskUpdate", {"taskId": "1", "status": "in_progress"}, {"success": True}, 2)
    assert (plan(home)[tid]["status"], plan(home)[tid]["assignee"]) == ("in_progress", "w1")
    task_tool("TaskUpdate", {"taskId": "1", "status": "completed"}, {"success": True}, 3)
    assert plan(home)[tid]["status"] == "done"
    local = task_tool("TaskCreate", {"subject": "scratch idea"},
                      {"task": {"id": "2", "subject": "scratch idea"}}, 4)
    assert "task #2 is session-local" in context_of(local)
    assert f"not in project {PROJECT}'s plan" in context_of(local)
    own = orch("get", "active_work.tasks", session="w1").json()
    assert own["1"]["project_task"] == tid and own["2"]["scope"] == "session"
    board = orch("board", "--json", session="lead").json()
    refs = [t["ref"] for column in board["columns"] for t in column["tasks"]]
    assert refs.count(tid) == 1 and "w1:1" not in refs and "w1:2" in refs
    # A plan task another live session holds is left alone, and Claude is told so (not a
    # handler crash in the log).
    held = orch("task", "add", "Held by w2", "--start", session="w2").json()["id"]
    task_tool("TaskCreate", {"subject": f"{held}: help out"},
              {"task": {"id": "5", "subject": f"{held}: help out"}}, 5)
    said = task_tool("TaskUpdate", {"taskId": "5", "status": "completed"}, {"success": True},
                     6)
    assert (plan(home)[held]["status"], plan(home)[held]["assignee"]) == ("in_progress", "w2")
    assert f"task {held} is in_progress with session w2" in context_of(said)
    assert said.exit_code == 0 and "Traceback" not in said.stderr
    assert orch("get", "active_work.tasks.5.status", session="w1").json() == "completed"
    assert not list(home.glob("logs/*.log")) or "ConflictError" not in "".join(
        f.read_text() for f in home.glob("logs/*.log"))


def test_the_board_dashboard_and_sprint_count_project_tasks(home: Path, team: Any) -> None:
    """A session that uses no Task tools still shows real TASKS counts (issue 21)."""
    orch("shared", "update-sprint", PROJECT, "s-1", "--status", "active")
    for title in ("One", "Two", "Three"):
        orch("task", "add", title, "--sprint", "s-1", session="lead")
    orch("task", "start", "T-1", session="w1")
    orch("task", "done", "T-3", session="w2")
    dash = orch("dashboard", "--json", session="lead").json()
    assert dash["tasks"] == {"total": 3, "by_column": {"todo": 1, "doing": 1, "blocked": 0,
                                                      "done": 1}}
    w1 = next(s for s in dash["sessions"]["list"] if s["session_id"] == "w1")
    assert w1["current_task"] == "T-1 One" and w1["role"] == "worker"
    sprint = orch("sprint", "--json", session="lead").json()
    assert [t["id"] for t in sprint["tasks"]] == ["T-1", "T-2", "T-3"]
    assert (sprint["progress"]["tasks_total"], sprint["progress"]["tasks_completed"]) == (3, 1)
    text = orch("board", session="lead").out
    assert "#T-1 One" in text and "@w1" in text and "unassigned" in text
    who = {s["session_id"]: s for s in orch("who", session="lead").json()}
    assert who["lead"]["role"] == "orchestrator" and who["w1"]["current_task"] == "T-1 One"


def test_work_goes_only_to_live_sessions_and_a_gone_holder_lets_go(home: Path,
                                                                   team: Any) -> None:
    from tests.orchestration._support import age_heartbeat

    tid = orch("task", "add", "Rotate the keys", session="lead").json()["id"]
    team(event("SessionEnd.other", "w2"))
    refused = orch("task", "assign", tid, "--to", "w2", session="lead")
    assert refused.code == 4 and "session w2 has ended" in refused.err
    assert orch("task", "handoff", tid, "--to", "w2", session="lead").code == 4
    orch("task", "start", tid, session="w1")
    age_heartbeat(home, "w1", 3 * 3600)
    (home / "projects" / PROJECT / "sweep.json").write_text('{"at": 9e12}')  # no hook sweep
    taken = orch("task", "start", tid, session="lead")  # w1 is gone: no conflict
    assert taken.code == 0 and taken.json()["assignee"] == "lead"
    # the seed's status path: starting takes it, like `orchestra task start`
    other = orch("task", "add", "Audit", session="lead").json()["id"]
    assert orch("set", f"active_work.tasks.{other}.status", "in_progress",
                session="lead").code == 0
    assert (plan(home)[other]["assignee"], plan(home)[other]["status"]) == ("lead",
                                                                          "in_progress")


def test_a_hand_edited_task_history_does_not_break_the_verbs(home: Path, team: Any) -> None:
    orch("task", "add", "Edited by hand", session="lead")
    path = home / "projects" / PROJECT / "plan.json"
    doc = json.loads(path.read_text())
    doc["tasks"]["T-1"]["history"] = "see the wiki"
    path.write_text(json.dumps(doc))
    started = orch("task", "start", "T-1", session="w1")
    assert started.code == 0, started
    assert [h["action"] for h in started.json()["history"]] == ["status"]
