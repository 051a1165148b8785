"""The README's main job: ``orchestra replay examples/sessions/team-day.jsonl``, then
``orchestra dashboard``, shows a team's day with every section of the dashboard filled."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest

from orchestra.cli import main

REPO = Path(__file__).resolve().parents[2]
TEAM_DAY = REPO / "examples" / "sessions" / "team-day.jsonl"
BO, CY = "5a9d2e47-1c3b-4f86-b0d5-2e7a9c4f1d68", "c3e81f20-94ab-47d6-8e15-7b2f0a6d9c34"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.fixture
def replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    code, out, err = run("replay", str(TEAM_DAY), "--home", str(home))
    assert code == 0, err
    results = [json.loads(line) for line in out.splitlines()]
    assert all(r["exit_code"] == 0 for r in results), [r for r in results if r["exit_code"]]
    assert any("orchestra" in r for r in results)  # the scenario's commands ran
    return home


def test_every_section_of_the_dashboard_is_filled(replayed: Path) -> None:
    code, text, err = run("dashboard")
    assert code == 0, err
    assert "project shop" in text
    assert "3 total: 2 active  0 idle  0 stale  1 ended" in text
    # Filled from what real sessions sent, not from Task tools: what each does or waits for.
    assert "waiting for permission: Bash: In" in text
    assert "asked: Write down how prices are" in text
    assert "no task in progress" not in text
    assert "1 waiting for a person" in text
    assert "tokens: none recorded (no transcript read" in text  # a replay has no transcripts
    counts = re.search(r"todo (\d+)\s+doing (\d+)\s+blocked (\d+)\s+done (\d+)", text)
    assert counts and all(int(n) >= 1 for n in counts.groups()), text
    assert "SPRINT s-14 Checkout" in text and "points 6/15" in text
    assert "trend up" in text
    assert "AGENTS                                                         1 busy of 1" in text
    assert "general-purpose          1/2 busy" in text
    assert "BLOCKERS (1)" in text and "#T-5 Refund webhook: status blocked" in text
    assert "DECISIONS                                                       3 recorded" in text


def test_the_day_holds_messages_and_a_claim(replayed: Path) -> None:
    code, inbox, err = run("inbox", BO, "--all")
    assert code == 0, err
    (message,) = json.loads(inbox)  # cy's SendMessage, recorded from the real CLI
    assert (message["from"], message["via"], message["to"]["session"]) == (
        CY, "claude-code", BO)
    assert message["summary"] == "cart.total takes a wallet now"
    code, inbox, err = run("inbox", CY, "--all")  # sent before cy started, within its TTL
    assert [(m["from"], m["delivered"], m.get("via")) for m in json.loads(inbox)] == [
        (BO, True, None), (CY, True, "claude-code")], err
    code, claims, err = run("claims", "--project", "shop", "--window", "1d")
    assert code == 0, err
    assert {c["path"].rsplit("/", 1)[-1] for c in json.loads(claims)} >= {"cart.py"}


def test_replay_refuses_a_bad_directive_with_its_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.jsonl"
    scenario.write_text('{"clock": "-12m"}\n{"clock": "yesterday"}\n')
    code, _out, err = run("replay", str(scenario))
    assert code == 1
    assert f"{scenario}, line 2: 'clock' is 'now' or a duration ago" in err


def test_the_sessions_say_what_they_did(replayed: Path) -> None:
    code, out, err = run("who", "--waiting")
    assert code == 0, err
    (waiting,) = json.loads(out)
    assert waiting["session_id"] == CY
    assert waiting["activity"]["waiting"] == {**waiting["activity"]["waiting"],
                                              "for": "permission", "tool": "Bash",
                                              "description": "Install the Stripe SDK"}
    assert [(a["type"], a["task"]) for a in waiting["activity"]["subagents"]] == [
        ("general-purpose", "Read the wallet docs")]
    code, out, err = run("show", BO, "--json")
    bo = json.loads(out)
    assert bo["claude_name"].startswith("shop-")
    assert bo["activity"]["prompt"]["kind"] == "message"  # cy's message, as Claude Code
    assert bo["activity"]["prompt"]["from"] == waiting["claude_name"].split(" ")[0]
    assert bo["activity"]["files"]["paths"] == ["src/shop/cart.py"]
    assert [c.get("description") for c in bo["activity"]["recent"]][:3] == [
        "Run the cart tests again", None, "Run the cart tests"]


def test_the_days_tasks_are_the_project_plans(replayed: Path) -> None:
    """The scenario's tasks are added and worked with the task verbs, run as each session."""
    code, out, err = run("task", "list", "--project", "shop", "--json")
    assert code == 0, err
    tasks = {t["id"]: t for t in json.loads(out)}
    assert sorted(tasks) == ["T-1", "T-2", "T-3", "T-4", "T-5"]
    assert (tasks["T-2"]["status"], tasks["T-2"]["assignee"], tasks["T-2"]["progress"]) == (
        "in_progress", BO, 40)
    assert (tasks["T-5"]["status"], tasks["T-5"]["assignee"]) == ("blocked", CY)
    assert tasks["T-4"]["status"] == "pending" and not tasks["T-4"].get("assignee")


def test_a_directive_runs_as_the_session_it_names(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = tmp_path / "day.jsonl"
    start = {"hook_event_name": "SessionStart", "session_id": "s-one", "source": "startup",
             "cwd": str(tmp_path / "proj"), "transcript_path": "/nonexistent.jsonl"}
    lines = [start, {"orchestra": ["task", "add", "Write the notes", "--start"],
                     "session": "s-one"},
             {"orchestra": ["task", "add", "Nobody's", "--project", "proj"]}]
    scenario.write_text("".join(json.dumps(line) + "\n" for line in lines))
    home = tmp_path / "state"
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    code, out, err = run("replay", str(scenario), "--home", str(home))
    assert code == 0, err
    assert [r["exit_code"] for r in map(json.loads, out.splitlines())] == [0, 0, 0]
    code, out, err = run("task", "list", "--project", "proj", "--json")
    assert code == 0, err
    assert [(t["title"], t.get("assignee")) for t in json.loads(out)] == [
        ("Write the notes", "s-one"), ("Nobody's", None)]
    assert "ORCHESTRA_SESSION_ID" not in os.environ  # a replay never leaves one behind


def test_a_directive_with_a_bad_session_is_refused_with_its_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.jsonl"
    scenario.write_text('{"orchestra": ["who"]}\n{"orchestra": ["who"], "session": "../x"}\n')
    code, _out, err = run("replay", str(scenario))
    assert code == 1
    assert f"{scenario}, line 2: 'session' is the id of the session the command runs as" in err
