"""The Timeline's data, from events dispatched as Claude Code sends them: turns, described
tool calls, subagents with their calls, waits for a person, messages and their links,
claims, guard decisions; windows, binning, paging, following a growing log."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.web import _timeline as tl
from tests.web._support import dispatch

A = "0b6f3c1e-7d2a-4e59-9a41-5f0c8e2d7b13"
B = "5a9d2e47-1c3b-4f86-b0d5-2e7a9c4f1d68"
AGENT = "a1b2c3d4e5f6a7b8c"


def _reader(home: Path) -> Any:
    from orchestra.web.data import StateReader
    from orchestra.web.timeline import TimelineReader
    from state.store import open_store

    return TimelineReader(StateReader(open_store(home)))


def _items(data: dict[str, Any], sid: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [i for i in data["items"][sid] if kind is None or i["kind"] == kind]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("timeline") / "orchestra"
    tl.replay(home, tl.working_day(A, AGENT))
    return home


def test_a_turn_its_calls_its_subagent_and_its_waits(day: Path) -> None:
    data = _reader(day).timeline(zoom="1h")
    assert data["project"] == "project" and [lane["session"] for lane in data["lanes"]] == [A]
    [turn] = _items(data, A, "turn")
    assert turn["text"] == "Fix the rounding bug in cart totals"  # the first line
    assert turn["answer"] == "Fixed the rounding bug: totals are rounded once."
    assert turn["state"] == "done" and 12 * 60 < turn["end"] - turn["start"] < 14 * 60
    tools = {(t["tool"], t.get("text")): t for t in _items(data, A, "tool")}
    tests = tools[("Bash", "Run the cart tests")]
    assert tests["detail"] == "pytest -q tests/cart" and tests["state"] == "ok"
    assert 50 < tests["end"] - tests["start"] < 70 and "agent" not in tests
    assert tools[("Write", None)]["detail"].endswith("cart_totals.py")
    [agent] = _items(data, A, "agent")
    assert (agent["tool"], agent["text"], agent["state"]) == (
        "general-purpose", "Audit cart totals", "done")
    assert agent["answer"] == "Audit: the totals are right."
    nested = tools[("Bash", "Check the totals")]
    assert nested["agent"] == AGENT and agent["start"] <= nested["start"] <= agent["end"]
    risky = tools[("Bash", "Clean the build")]
    assert risky["state"] == "failed"
    waits = _items(data, A, "wait")
    assert [(w["tool"], w.get("call"), w.get("text"), w["state"]) for w in waits] == [
        ("permission", "Bash", "Clean the build", "answered"),
        ("input", None, "Claude is waiting for your input", "waiting")]
    assert waits[0]["end"] == pytest.approx(risky["end"])  # its tool event ended the wait
    assert waits[1]["end"] is None  # nobody answered yet: still waiting


def test_the_window_moves_and_zooms(day: Path) -> None:
    reader = _reader(day)
    now = time.time()
    narrow = reader.timeline(zoom="15m")
    assert narrow["end"] - narrow["start"] == 900 and narrow["live"] is True
    # The last quarter hour holds only the wait for input, begun 30 minutes ago.
    assert [i["kind"] for i in narrow["items"][A]] == ["wait"]
    past = reader.timeline(zoom="15m", end=now - 40 * 60)
    assert past["live"] is False and past["end"] == pytest.approx(now - 2400, abs=5)
    kinds = {i["kind"] for i in past["items"][A]}
    assert {"turn", "tool", "agent"} <= kinds and "wait" not in kinds
    nothing = reader.timeline(zoom="1h", end=now - 3 * 3600)
    assert nothing["items"][A] == []


def test_a_wide_window_is_binned_on_the_server(day: Path) -> None:
    raw = _reader(day).timeline(zoom="1h")
    wide = _reader(day).timeline(zoom="day", width=1200)
    assert wide["bin_seconds"] == pytest.approx(86_400 / 400)
    bins, alone = _items(wide, A, "bin"), _items(wide, A, "tool")
    assert bins and all(b["count"] > 1 for b in bins)  # a bin of one call shows the call
    calls = _items(raw, A, "tool")
    assert sum(b["count"] for b in bins) + len(alone) == len(calls)
    counted: dict[str, int] = {}
    for b in bins:
        for tool, n in b["tools"].items():
            counted[tool] = counted.get(tool, 0) + n
    for call in alone:
        counted[call["tool"]] = counted.get(call["tool"], 0) + 1
    assert counted == {"Bash": 3, "Write": 1, "Agent": 1}
    failed = sum(b["failed"] for b in bins) + sum(c["state"] == "failed" for c in alone)
    assert failed == 1
    assert len(_items(wide, A, "turn")) == 1 and len(_items(wide, A, "agent")) == 1


def test_messages_link_sender_and_recipient_lanes(tmp_path: Path) -> None:
    home = tmp_path / "orchestra"
    tl.replay(home, [
        tl.clock("-20m"), tl.start(A), tl.start(B),
        tl.clock("-15m"), tl.prompt(A, "Add wallets"),
        {**tl.pre(A, "Bash", {"command": f"orchestra send --to {B} hi"}, 1)},
        tl.orchestra("session", "send", "--from", A, "--to", B, "rebase on main, please"),
        tl.orchestra("session", "send", "--from", A, "--project", "project", "main is frozen"),
        tl.clock("now"),
    ])
    data = _reader(home).timeline(zoom="1h")
    [link] = data["links"]
    assert (link["from"], link["to"], link["text"], link["via"]) == (
        A, B, "rebase on main, please", "orchestra")
    sent = _items(data, A, "message")
    assert {(m["state"], m["to"]) for m in sent} == {
        ("sent", f"session {B}"), ("sent", "project project")}
    [received] = _items(data, B, "message")
    assert received["state"] == "received" and received["from"] == A
    assert received["link"] == link["id"] == next(m["link"] for m in sent if "link" in m)
    project_wide = next(m for m in sent if m["to"] == "project project")
    assert "link" not in project_wide  # many recipients: a mark, no link


def test_claims_and_guard_decisions_are_marks(tmp_path: Path) -> None:
    home = tmp_path / "orchestra"
    edit = {"file_path": f"{tl.DEMO_CWD}/src/cart.py", "old_string": "a", "new_string": "b"}
    tl.replay(home, [
        tl.orchestra("shared", "set-config", "claims.policy", "deny"),
        tl.clock("-10m"), tl.start(A), tl.start(B),
        tl.prompt(A, "Fix cart"), tl.pre(A, "Edit", edit, 1), tl.post(A, "Edit", edit, 1),
        tl.clock("-5m"), tl.prompt(B, "Wallets"), tl.pre(B, "Edit", edit, 2),
        tl.clock("now"),
    ])
    data = _reader(home).timeline(zoom="1h")
    [claim] = _items(data, A, "claim")
    assert claim["text"] == "src/cart.py" and claim["tool"] == "Edit"
    [guard] = _items(data, B, "guard")
    assert guard["state"] == "deny" and guard["tool"] == "Edit"
    assert guard["detail"].endswith("src/cart.py")
    assert not _items(data, B, "claim")  # denied: nothing claimed
    # The guard's own record of that decision (issue 22) stands for it: whose work.
    assert guard["guard"] == "edit" and guard["text"] == f"for {A}: {edit['file_path']}"


def test_lanes_are_paged_and_ordered(tmp_path: Path) -> None:
    home = tmp_path / "orchestra"
    ids = [f"sess-{n:02d}" for n in range(7)]
    lines: list[dict[str, Any]] = []
    for n, sid in enumerate(ids):
        lines += [tl.clock(f"-{30 - n}m"), tl.start(sid), tl.prompt(sid, f"task {n}")]
    lines.append(tl.clock("now"))
    tl.replay(home, lines)
    reader = _reader(home)
    page = reader.timeline(zoom="1h", offset=2, limit=3)
    assert [lane["session"] for lane in page["lanes"]] == list(reversed(ids))  # latest first
    assert list(page["items"]) == [ids[4], ids[3], ids[2]]  # lanes 3 to 5 only
    assert page["total"] == 7
    started = reader.timeline(zoom="1h", order="started", limit=2)
    assert [lane["session"] for lane in started["lanes"]] == ids
    chosen = reader.timeline(zoom="1h", sessions=f"{ids[0]},{ids[6]}")
    assert sorted(chosen["items"]) == sorted([ids[0], ids[6]])
    assert _items(chosen, ids[0], "turn")[0]["text"] == "task 0"


def test_bad_requests_are_refused(day: Path) -> None:
    from state.errors import InvalidIdError, InvalidValueError

    reader = _reader(day)
    with pytest.raises(InvalidValueError, match="zoom"):
        reader.timeline(zoom="week")
    with pytest.raises(InvalidValueError, match="order"):
        reader.timeline(order="random")
    with pytest.raises(InvalidIdError):
        reader.timeline(project="../etc")
    with pytest.raises(InvalidIdError):
        reader.timeline(sessions="ok,../../etc/passwd")
    with pytest.raises(InvalidValueError, match="at most"):
        reader.timeline(sessions=",".join(f"s{n}" for n in range(101)))


def test_the_server_follows_a_growing_log(tmp_path: Path) -> None:
    """A later request folds only what was appended; a rotated log is read again."""
    home = tmp_path / "orchestra"
    tl.replay(home, [tl.clock("-5m"), tl.start(A), tl.prompt(A, "go"), tl.clock("now")])
    reader = _reader(home)
    assert _items(reader.timeline(), A, "tool") == []
    dispatch(home, tl.pre(A, "Bash", BASH := {"command": "make", "description": "Build"}, 7))
    [running] = _items(reader.timeline(), A, "tool")
    assert running["end"] is None and running["text"] == "Build"
    dispatch(home, tl.post(A, "Bash", BASH, 7))
    [done] = _items(reader.timeline(), A, "tool")
    assert done["state"] == "ok" and done["end"] is not None
    folds = reader.folds._folds[A]
    assert folds.position is not None and folds.position.offset == os.path.getsize(
        home / "sessions" / A / "events.jsonl")
    # Rotation (the store moves the live file aside): read again from the segments.
    live = home / "sessions" / A / "events.jsonl"
    os.replace(live, home / "sessions" / A / "events.000001.jsonl")
    dispatch(home, tl.pre(A, "Read", {"file_path": "/x"}, 8))
    tools = _items(reader.timeline(), A, "tool")
    assert [(t["tool"], t["state"]) for t in tools] == [("Bash", "ok"), ("Read", "running")]


def test_hostile_lines_never_break_a_lane(tmp_path: Path) -> None:
    home = tmp_path / "orchestra"
    tl.replay(home, [tl.clock("-5m"), tl.start(A), tl.prompt(A, "go"), tl.clock("now")])
    log = home / "sessions" / A / "events.jsonl"
    now = time.time()
    garbage = [
        b"not json\n", b"[1, 2]\n", b'{"ts": "yesterday", "event": "Stop"}\n',
        json.dumps({"ts": now, "event": "PreToolUse", "tool": ["x"], "summary": "s"}).encode()
        + b"\n",
        json.dumps({"ts": now, "event": "PostToolUse", "tool_use_id": 5, "duration_ms": -1,
                    "summary": {"tool_input": ["not", "a", "dict"]}}).encode() + b"\n",
        json.dumps({"ts": now, "event": "SubagentStop", "agent_id": None}).encode() + b"\n",
        json.dumps({"ts": now, "event": "Notification", "summary": {
            "notification_type": "permission_prompt", "message": {"text": "x" * 5000,
                                                                 "truncated": True}}}).encode()
        + b"\n",
        json.dumps({"ts": now, "event": "UserPromptSubmit",
                    "summary": {"prompt": "\u202eevil\x1b[31m" + "y" * 10_000}}).encode() + b"\n",
        b'{"ts": 1e308, "event": "Stop"}\n', b"\xff\xfe\n",
    ]
    with open(log, "ab") as handle:
        handle.write(b"".join(garbage))
    data = _reader(home).timeline()
    turns = _items(data, A, "turn")
    assert turns and all(len(t.get("text") or "") <= 160 for t in turns)
    [wait] = _items(data, A, "wait")
    assert len(wait["text"]) <= 160
    view = tl.timeline_json(home)
    assert view["lanes"][0]["session"] == A


def test_the_view_prints_one_row_per_session(day: Path) -> None:
    done = tl.cli(day, "timeline")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) == 78 for line in lines), lines
    [lane] = [line for line in lines if A[:10] in line]
    row = lane[2 + 15 + 1: -2]  # "| " + name + " " + cells + " |"
    assert set(row) <= set(" ?!><BEWRANMTbewranmt=-")
    assert "B" in row and "W" in row and "b" in row and "?" in row and "-" in row
    data = tl.timeline_json(day, "--zoom", "15m")
    assert data["view"] == "timeline" and data["zoom"] == "15m"
    assert [lane["session"] for lane in data["lanes"]] == [A]
    assert data["lanes"][0]["row"].strip() == "?" * len(data["lanes"][0]["row"].strip())
    refused = tl.cli(day, "dashboard", "--zoom", "15m")
    assert refused.returncode == 2 and "--zoom only applies" in refused.stderr


def test_watch_timeline_redraws_the_lanes_when_a_session_acts(tmp_path: Path) -> None:
    """``orchestra watch timeline``, piped: a frame, then one more when a session acts."""
    import subprocess
    import sys

    from tests.web._support import REPO, clean_env

    home = tmp_path / "orchestra"
    tl.replay(home, [tl.clock("-20m"), tl.start(A), tl.prompt(A, "go"), tl.clock("now")])
    watch = subprocess.Popen([sys.executable, "-m", "orchestra", "watch", "timeline",
                              "--zoom", "15m", "--interval", "0.1", "--count", "2"],
                             cwd=REPO, env=clean_env(home), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert watch.stdout is not None
    first = [watch.stdout.readline() for _ in range(6)]
    assert "ORCHESTRA TIMELINE" in first[1] and "LANES (1)" in first[4]
    assert "B" not in first[5][17:]
    dispatch(home, tl.pre(A, "Bash", {"command": "make", "description": "Build"}, 1))
    out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    frames = ("".join(first) + out).split("| ORCHESTRA TIMELINE")
    assert len(frames) == 3  # the first frame, and one after the change
    [lane] = [line for line in frames[2].splitlines() if A[:10] in line]
    assert lane.rstrip(" |").endswith("B")  # a Bash call running now, at the right edge


def test_send_message_links_only_names_the_name_map_knows(tmp_path: Path) -> None:
    """Claude Code's SendMessage names its recipient; the link is drawn once issue 21's
    name map says which session has that name (even when it learnt it after the send),
    and never to a name nobody has."""
    home = tmp_path / "orchestra"
    tl.replay(home, [
        tl.clock("-20m"), tl.start(A), tl.start(B), tl.list_agents(A, 0, 1),
        tl.clock("-15m"), *tl.send_message(A, "wallet-02", "wallets", "Rebase, please.", 2),
        *tl.send_message(A, "nobody-99", "lost", "Anyone there?", 3),
        tl.clock("-10m"), tl.list_agents(B, 1, 4),  # B learns its name after the send
        tl.clock("now"),
    ])
    data = _reader(home).timeline(zoom="1h")
    [link] = data["links"]
    assert (link["from"], link["to"], link["via"], link["text"]) == (
        A, B, "claude-code", "wallets")
    sent = {m["to"]: m for m in _items(data, A, "message")}
    assert set(sent) == {"wallet-02", "nobody-99"}
    assert sent["wallet-02"]["link"] == link["id"] and "link" not in sent["nobody-99"]
    assert sent["wallet-02"]["from_name"] == "cart-01 [a1b2c0]"
    [received] = _items(data, B, "message")
    assert received["state"] == "received" and received["via"] == "claude-code"


def test_the_git_guard_s_decisions_say_for_whom(tmp_path: Path) -> None:
    """Issue 22's git guard in a real repository: B's ``git stash`` would take A's
    uncommitted change; B's lane marks the decision, saying whose work and which file, and
    A's lane the claim on that file."""
    from tests.guard._team import Team, decision_of, make_repo

    repo, _worktree = make_repo(tmp_path)
    home = tmp_path / "orchestra"
    team = Team(home)
    team.start(A, repo)
    team.start(B, repo)
    team.write(A, repo / "src" / "cart.py", "total = 2\n", repo)
    reply = team.pre_bash(B, "git stash", repo)
    assert decision_of(reply) == "ask"
    data = _reader(home).timeline(zoom="15m")
    [guard] = _items(data, B, "guard")
    assert (guard["state"], guard["guard"], guard["detail"]) == ("ask", "git", "git stash")
    assert guard["text"].startswith(f"for {A}: src/cart.py")
    [claim] = _items(data, A, "claim")
    assert claim["text"] == "src/cart.py" and claim["tool"] == "Write"
    [call] = [c for c in _items(data, B, "tool") if c["tool"] == "Bash"]
    assert call["detail"] == "git stash" and call["end"] is None  # asked: not run yet


def test_each_views_help_offers_what_it_takes(tmp_path: Path) -> None:
    """``orchestra timeline --help`` offers --zoom; the other views' help does not (they
    refuse it), and each says the project's default where it says "default"."""
    timeline = tl.cli(tmp_path, "timeline", "--help")
    assert timeline.returncode == 0 and "--zoom {15m,1h,day}" in timeline.stdout
    for view in ("dashboard", "sessions", "board"):
        shown = tl.cli(tmp_path, view, "--help")
        assert shown.returncode == 0 and "--zoom" not in shown.stdout, view
    for view in ("timeline", "dashboard"):
        text = " ".join(tl.cli(tmp_path, view, "--help").stdout.split())
        assert "see above" not in text
        assert "default: the session's project, else config default_project" in text
