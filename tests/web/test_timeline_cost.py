"""The Timeline's tokens and cost over time: from the transcripts Stop reads (issue 21's
handler), stacked by session, with the project total of ``orchestra who --json``; checked
against the usage the transcripts hold, summed and priced here by hand. Unknown is never
zero: a model without a price or a session without tokens makes the total partial."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.web import _timeline as tl

A, B, C, D = tl.COST_SESSIONS
PRICED, OTHER, UNPRICED = tl.PRICED, tl.OTHER, tl.UNPRICED
PRICES, FIELDS, STOPS, _usage, _by_hand, _message = (tl.PRICES, tl.FIELDS, tl.STOPS, tl.usage_of,
                                                     tl.by_hand, tl.transcript_message)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tl.costs(tmp_path_factory.mktemp("cost"))


def _usage_api(home: Path) -> dict[str, Any]:
    from orchestra.web.data import StateReader
    from orchestra.web.timeline import TimelineReader
    from state.store import open_store

    data: dict[str, Any] = TimelineReader(StateReader(open_store(home))).usage()
    return data


def test_the_total_is_what_the_transcripts_hold(home: Path) -> None:
    data = _usage_api(home)
    answers = [a for _sid, _ago, listed in STOPS for a in listed]
    tokens = sum(_usage(n)[f] for _mid, _model, n in answers for f in FIELDS)
    usd = sum(_by_hand(model, n) for _mid, model, n in answers if model in PRICES)
    assert data["total"]["tokens"] == tokens
    assert data["total"]["usd"] == pytest.approx(usd, abs=1e-6)
    # Unknown is not zero: C's model has no price, D has no tokens yet.
    assert data["total"]["partial"] is True
    assert {u["session"]: u["why"] for u in data["unknown_cost"]} == {
        C: f"no price for {UNPRICED}", D: "no tokens recorded yet"}
    assert [u["session"] for u in data["unknown_tokens"]] == [D]


def test_the_total_equals_the_project_total_of_who(home: Path) -> None:
    data = _usage_api(home)
    done = tl.cli(home, "who", "--json", "--compact", "--project", "project")
    assert done.returncode == 0, done.stderr
    sessions = json.loads(done.stdout)
    usd = sum(s["cost"]["usd"] for s in sessions if s["cost"]["usd"] is not None)
    tokens = sum(sum(s["tokens"]["total"].get(f, 0) for f in FIELDS) for s in sessions)
    assert data["total"]["usd"] == pytest.approx(usd, abs=1e-9)
    assert data["total"]["tokens"] == tokens
    dashboard = tl.cli(home, "dashboard", "--json", "--compact")
    project = json.loads(dashboard.stdout)["usage"]
    assert data["total"]["usd"] == pytest.approx(project["cost"]["usd"], abs=1e-9)


def test_each_session_is_a_band_that_grows_when_its_tokens_came(home: Path) -> None:
    data = _usage_api(home)
    grid = data["grid"]
    bands = {s["session"]: s for s in data["series"]}
    assert set(bands) == {A, B, C}  # D has no tokens: no band, listed as unknown
    a = bands[A]
    first = sum(_usage(n)[f] for n in (1, 2) for f in FIELDS)
    assert a["tokens"][-1] == a["tokens_total"] == first + sum(_usage(3)[f] for f in FIELDS)
    assert a["usd"][-1] == pytest.approx(_by_hand(PRICED, 1) + _by_hand(PRICED, 2)
                                         + _by_hand(PRICED, 3), abs=1e-6)
    # A's first Stop (40 min ago) shows before its second (10 min ago).
    middle = next(k for k, t in enumerate(grid) if t >= grid[-1] - 25 * 60)
    assert a["tokens"][middle] == first
    assert bands[C]["usd"] is None and bands[C]["tokens_total"] > 0  # tokens yes, cost unknown
    assert sum(s["tokens"][-1] for s in data["series"]) == data["total"]["tokens"]
    priced = sum(s["usd"][-1] for s in data["series"] if s["usd"] is not None)
    assert priced == pytest.approx(data["total"]["usd"], abs=1e-6)


def test_the_history_stays_bounded_and_adds_up(tmp_path: Path) -> None:
    """Many Stops: at most MAX_HISTORY points, and they still add up to the total."""
    from handlers.metrics import MAX_HISTORY

    home = tmp_path / "orchestra"
    tl.replay(home, [tl.start(A), tl.prompt(A, "long")])
    transcript = tmp_path / "long.jsonl"
    for n in range(MAX_HISTORY + 15):
        with transcript.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in _message(f"x{n}", PRICED, n)))
        tl.replay(home, [{**tl.stop(A, "ok"), "transcript_path": str(transcript)}])
    doc = json.loads((home / "sessions" / A / "usage.json").read_text())
    assert len(doc["history"]) == MAX_HISTORY
    summed = {f: sum(p["by_model"][PRICED].get(f, 0) for p in doc["history"]) for f in FIELDS}
    assert summed == {f: doc["tokens"][f] for f in FIELDS}
    data = _usage_api(home)
    assert data["total"]["tokens"] == sum(doc["tokens"][f] for f in FIELDS)
