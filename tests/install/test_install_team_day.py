"""The README's main job: ``orchestra replay examples/sessions/team-day.jsonl``, then
``orchestra dashboard``, shows a team's day with every section of the dashboard filled."""

from __future__ import annotations

import io
import json
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
    assert "3 total: 1 active  1 idle  0 stale  1 ended" in text
    counts = re.search(r"todo (\d+)\s+doing (\d+)\s+blocked (\d+)\s+done (\d+)", text)
    assert counts and all(int(n) >= 1 for n in counts.groups()), text
    assert "SPRINT s-14 Checkout" in text and "points 6/15" in text
    assert "trend up" in text
    assert "AGENTS                                                         1 busy of 1" in text
    assert "general-purpose          1/2 busy" in text
    assert "BLOCKERS (1)" in text and "Refund webhook: status blocked" in text
    assert "DECISIONS                                                       3 recorded" in text


def test_the_day_holds_messages_and_a_claim(replayed: Path) -> None:
    code, inbox, err = run("inbox", BO, "--all")
    assert code == 0, err
    assert [m["from"] for m in json.loads(inbox)] == [CY]
    code, inbox, err = run("inbox", CY, "--all")  # sent before cy started, within its TTL
    assert [(m["from"], m["delivered"]) for m in json.loads(inbox)] == [(BO, True)], err
    code, claims, err = run("claims", "--project", "shop", "--window", "1d")
    assert code == 0, err
    assert {c["path"].rsplit("/", 1)[-1] for c in json.loads(claims)} >= {"cart.py"}


def test_replay_refuses_a_bad_directive_with_its_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.jsonl"
    scenario.write_text('{"clock": "-12m"}\n{"clock": "yesterday"}\n')
    code, _out, err = run("replay", str(scenario))
    assert code == 1
    assert f"{scenario}, line 2: 'clock' is 'now' or a duration ago" in err
