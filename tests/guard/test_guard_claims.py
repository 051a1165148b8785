"""Claims that hold under load, and claims that end (issue 22, points 4 and 5).

The check and the claim are one step under the claims log's lock: of several sessions —
real processes, released at the same moment — that start a write to one file, exactly
one is let through; the same holds between a write and a git command. A provisional claim
lives until its call's result (never on a timer), is dropped by PostToolUseFailure,
PermissionDenied or the session's Stop, and a claim ends when a commit took the file.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from state.session_manager import main as session_manager
from tests.guard._team import Team, decision_of, make_repo, reason_of
from tests.handlers._support import payload

REPO_ROOT = Path(__file__).resolve().parents[2]

#: One process: warm up (imports), say ready, then at each "go" file dispatch its event.
WORKER = """
import io, json, os, sys, time
from hooks.dispatch import main

def dispatch(event):
    out = io.StringIO()
    code = main([], stdin=io.BytesIO(json.dumps(event).encode()), stdout=out,
                stderr=sys.stderr)
    return {"code": code, "reply": json.loads(out.getvalue()) if out.getvalue() else None}

rounds = json.loads(open(sys.argv[1]).read())
folder = sys.argv[2]
name = sys.argv[3]
dispatch(rounds["warm"])
results = []
for n, event in enumerate(rounds["events"]):
    open(os.path.join(folder, f"ready-{n}-{name}"), "w").close()
    go = os.path.join(folder, f"go-{n}")
    while not os.path.exists(go):
        time.sleep(0.0005)
    time.sleep(rounds.get("delays", [0] * (n + 1))[n])
    results.append(dispatch(event))
print(json.dumps(results))
"""


def _race(tmp_path: Path, home: Path, per_worker: dict[str, dict[str, Any]],
          rounds: int, between: Any = None) -> list[dict[str, dict[str, Any]]]:
    """Each worker (name -> {"warm": event, "events": [one per round], "delays": [seconds
    to wait after the release, per round]}) runs in its own process; every round is released
    at once. Returns, per round, name -> result."""
    folder = tmp_path / "race"
    folder.mkdir()
    env = {**os.environ, "ORCHESTRA_HOME": str(home),
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("CLAUDE_PROJECT_DIR", None)
    procs = {}
    for name, plan in per_worker.items():
        (folder / f"{name}.json").write_text(json.dumps(plan))
        procs[name] = subprocess.Popen(
            [sys.executable, "-P", "-c", WORKER, str(folder / f"{name}.json"), str(folder), name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True, cwd=tmp_path)
    try:
        for n in range(rounds):
            deadline = time.monotonic() + 120
            while len(list(folder.glob(f"ready-{n}-*"))) < len(procs):
                assert time.monotonic() < deadline, "workers did not get ready"
                assert all(p.poll() is None for p in procs.values()), [
                    p.stderr.read() for p in procs.values() if p.poll() is not None]
                time.sleep(0.005)
            if between is not None and n:
                between(n)
            (folder / f"go-{n}").touch()
        outputs = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            assert "Traceback" not in err, err
            outputs[name] = json.loads(out)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    return [{name: outputs[name][n] for name in procs} for n in range(rounds)]


def _write(sid: str, path: Path, uid: str, cwd: Path) -> dict[str, Any]:
    return payload("PreToolUse.Write", sid, cwd=str(cwd), tool_use_id=uid,
                   tool_input={"file_path": str(path), "content": f"{sid}\n"})


def test_of_six_sessions_writing_one_file_at_once_exactly_one_is_let_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    project = tmp_path / "shop"
    project.mkdir()
    home = tmp_path / "orchestra"
    team = Team(home)
    names = [f"w{n}" for n in range(6)]
    for sid in names:
        team.start(sid, project)
    rounds = 4
    plans = {sid: {"warm": payload("UserPromptSubmit", sid, cwd=str(project), prompt="go"),
                   "events": [_write(sid, project / f"shared{r}.py", f"toolu_{sid}_{r}", project)
                              for r in range(rounds)]}
             for sid in names}
    results = _race(tmp_path, home, plans, rounds)
    for r, round_ in enumerate(results):
        assert all(res["code"] == 0 for res in round_.values())
        through = [sid for sid, res in round_.items() if decision_of(res["reply"]) is None]
        asked = [sid for sid, res in round_.items() if decision_of(res["reply"]) == "ask"]
        assert len(through) == 1 and len(asked) == 5, (r, round_)
        for sid in asked:
            text = reason_of(round_[sid]["reply"])
            assert f"shared{r}.py is being written by session {through[0]}" in text
        provisional = [c for c in team.claims_log()
                       if c.get("provisional") and c.get("file") == f"shared{r}.py"]
        assert [c["session"] for c in provisional] == through
    print(f"6 processes x {rounds} rounds: one write let through per round")


def test_of_six_sessions_writing_one_file_while_the_check_rotates_the_log_one_is_let_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As above, with the log past its checkpoint size before every round: the first check
    of each round rotates it (issue 27) while the others wait for the step's lock."""
    from state.claims import CHECKPOINT_BYTES, claim_record
    from state.persistence.storage import CHECKPOINT, encode_record

    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    project = tmp_path / "shop"
    project.mkdir()
    home = tmp_path / "orchestra"
    team = Team(home)
    names = [f"w{n}" for n in range(6)]
    for sid in names:
        team.start(sid, project)
    log = home / "projects" / "shop" / "claims.jsonl"

    def fill(n: int = 0) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        written = k = 0
        with log.open("ab") as out:
            while written <= CHECKPOINT_BYTES:  # past it whatever the checkpoint's size
                line = encode_record(claim_record(names[k % 6], f"pad/{n}/{k}.py", tool="Edit"))
                written += out.write(line)
                k += 1

    fill()
    rounds = 3
    plans = {sid: {"warm": payload("UserPromptSubmit", sid, cwd=str(project), prompt="go"),
                   "events": [_write(sid, project / f"shared{r}.py", f"toolu_{sid}_{r}", project)
                              for r in range(rounds)]}
             for sid in names}
    results = _race(tmp_path, home, plans, rounds, between=fill)
    for r, round_ in enumerate(results):
        through = [sid for sid, res in round_.items() if decision_of(res["reply"]) is None]
        assert len(through) == 1, (r, round_)
    first = log.read_bytes().split(b"\n", 1)[0]
    assert CHECKPOINT.encode() in first
    assert len(sorted(log.parent.glob("claims.0*.jsonl"))) == rounds


def test_a_write_and_a_git_command_at_the_same_moment_one_is_let_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    repo, _worktree = make_repo(tmp_path)
    home = tmp_path / "orchestra"
    team = Team(home)
    team.start("writer", repo)
    team.start("stasher", repo)
    rounds = 4
    plans = {
        "writer": {"warm": payload("UserPromptSubmit", "writer", cwd=str(repo), prompt="go"),
                   "events": [payload("PreToolUse.Write", "writer", cwd=str(repo),
                                      tool_name="Edit", tool_use_id=f"toolu_w{r}",
                                      tool_input={"file_path": str(repo / "src" / "cart.py"),
                                                  "old_string": "1", "new_string": "2"})
                              for r in range(rounds)],
                   # released together; in two rounds the write starts a little later, while
                   # the git command is being checked (git runs before the lock is taken)
                   "delays": [0, 0.02, 0, 0.05]},
        "stasher": {"warm": payload("PreToolUse.Bash", "stasher", cwd=str(repo),
                                    tool_input={"command": "git status"}),
                    "events": [payload("PreToolUse.Bash", "stasher", cwd=str(repo),
                                       tool_use_id=f"toolu_s{r}",
                                       tool_input={"command": "git stash"})
                               for r in range(rounds)]},
    }

    def settle(n: int) -> None:
        """Between rounds: both calls of the last round failed (nothing happened)."""
        for sid, uid, tool, tool_input in (
                ("writer", f"toolu_w{n - 1}", "Edit", plans["writer"]["events"][0]["tool_input"]),
                ("stasher", f"toolu_s{n - 1}", "Bash", {"command": "git stash"})):
            team.send(payload("PostToolUseFailure.Bash", sid, cwd=str(repo), tool_name=tool,
                              tool_input=tool_input, tool_use_id=uid, is_interrupt=True))
        team.stop("writer", repo)  # between turns: a git stash moves no branch of its

    team.stop("writer", repo)
    results = _race(tmp_path, home, plans, rounds, between=settle)
    winners = []
    for r, round_ in enumerate(results):
        through = [sid for sid, res in round_.items() if decision_of(res["reply"]) is None]
        assert len(through) == 1, (r, round_)
        winners += through
        if through == ["writer"]:
            text = reason_of(round_["stasher"]["reply"])
            assert "session writer" in text and "src/cart.py (being written by Edit now)" in text
        else:
            text = reason_of(round_["writer"]["reply"])
            assert "session stasher" in text and "running `git stash` right now" in text
    print(f"a write and a git stash at once, {rounds} rounds: let through {winners}")


# -- provisional claims: until the result, never on a timer -------------------------------


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Team, Path]:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / "orchestra"))
    project = tmp_path / "shop"
    project.mkdir()
    team = Team(tmp_path / "orchestra")
    team.start("sess-a", project)
    team.start("sess-b", project)
    return team, project


def _claims_cli(*argv: str) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    assert session_manager(["claims", "--project", "shop", *argv], stdout=out, stderr=err) == 0
    return list(json.loads(out.getvalue()))


def test_a_provisional_claim_lives_until_the_result(shop: tuple[Team, Path]) -> None:
    team, project = shop
    target = project / "app.py"
    assert team.send(_write("sess-a", target, "toolu_a1", project)) is None
    reply = team.send(_write("sess-b", target, "toolu_b1", project))
    assert decision_of(reply) == "ask"
    assert "app.py is being written by session sess-a" in reason_of(reply)
    (claim,) = _claims_cli()
    assert claim["state"] == "provisional" and claim["session"] == "sess-a"
    assert claim["held"].startswith("provisional: session sess-a (active) was let through")

    # No timer: the call is still open an hour later (an ask can wait for minutes).
    log = team.home / "projects" / "shop" / "claims.jsonl"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    for line in lines:
        line["ts"] -= 3600
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert decision_of(team.send(_write("sess-b", target, "toolu_b2", project))) == "ask"

    # The write failed: its claim is dropped, and B may write.
    team.send(payload("PostToolUseFailure.Bash", "sess-a", cwd=str(project), tool_name="Write",
                      tool_input={"file_path": str(target), "content": "x"},
                      tool_use_id="toolu_a1", error="disk full"))
    assert _claims_cli() == []
    assert team.send(_write("sess-b", target, "toolu_b3", project)) is None
    assert decision_of(team.send(_write("sess-a", target, "toolu_a2", project))) == "ask"

    # B's write is denied (auto mode): dropped too.
    team.send(payload("PermissionDenied.auto_mode", "sess-b", cwd=str(project),
                      tool_name="Write", tool_input={"file_path": str(target), "content": "x"},
                      tool_use_id="toolu_b3"))
    assert team.send(_write("sess-a", target, "toolu_a3", project)) is None

    # A's write is refused at Claude Code's own prompt (no result at all): its Stop drops it.
    assert decision_of(team.send(_write("sess-b", target, "toolu_b4", project))) == "ask"
    team.stop("sess-a", project)
    assert team.send(_write("sess-b", target, "toolu_b5", project)) is None

    # B's write happens and is confirmed: a claim in its window, and why it is held.
    target.write_text("b\n")
    team.send(payload("PostToolUse.Bash", "sess-b", cwd=str(project), tool_name="Write",
                      tool_input={"file_path": str(target), "content": "b\n"},
                      tool_use_id="toolu_b5", tool_response={"type": "create"}))
    (claim,) = _claims_cli()
    assert claim["state"] == "confirmed" and claim["session"] == "sess-b"
    assert "held until" in claim["held"] and "committed unchanged" in claim["held"]
    assert claim["until"] > claim["at"]
    reply = team.send(_write("sess-a", target, "toolu_a4", project))
    assert "app.py was changed 0 min ago (Write) by session sess-b" in reason_of(reply)
    assert [c for c in team.claims_log() if c.get("provisional") and "drop" not in c]


def test_a_bash_line_that_failed_after_it_ran_keeps_the_claims_of_what_it_wrote(
        shop: tuple[Team, Path]) -> None:
    team, project = shop
    command = "echo x > out.txt && false"
    event = payload("PreToolUse.Bash", "sess-a", cwd=str(project), tool_use_id="toolu_x",
                    tool_input={"command": command})
    assert team.send(event) is None
    (project / "out.txt").write_text("x\n")
    team.send(payload("PostToolUseFailure.Bash", "sess-a", cwd=str(project),
                      tool_input={"command": command}, tool_use_id="toolu_x"))
    (claim,) = _claims_cli()
    assert (claim["file"], claim["state"]) == ("out.txt", "confirmed")


def test_a_commit_ends_the_claims_on_the_files_it_took(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / "orchestra"))
    repo, _worktree = make_repo(tmp_path)
    team = Team(tmp_path / "orchestra")
    team.start("sess-a", repo)
    team.start("sess-b", repo)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    team.write("sess-a", repo / "docs" / "notes.md", "draft\n", repo)
    assert sorted(c["file"] for c in _claims_cli()) == ["docs/notes.md", "src/cart.py"]
    assert decision_of(team.pre_bash("sess-b", "git stash", repo)) == "ask"
    team.run_bash("sess-a", "git commit -qm cart -- src/cart.py", repo)
    assert [c["file"] for c in _claims_cli()] == ["docs/notes.md"]  # not committed: held
    released = [r for r in team.claims_log() if r.get("release")]
    assert [(r["file"], r["reason"]) for r in released] == [("src/cart.py", "committed")]
    assert len(released[0]["commit"]) == 40
    text = reason_of(team.pre_bash("sess-b", "git stash", repo))
    assert "docs/notes.md" in text and "cart.py" not in text
    team.run_bash("sess-a", "git add docs && git commit -qm notes", repo)
    assert _claims_cli() == []
    team.run_bash("sess-b", "git stash", repo)  # nothing left at stake: let through, and done
    team.write("sess-a", repo / "src" / "cart.py", "total = 3\n", repo)  # a new change: held
    assert decision_of(team.pre_bash("sess-b", "git stash", repo)) == "ask"


def test_claims_end_with_the_session_and_when_it_goes_stale(shop: tuple[Team, Path]) -> None:
    team, project = shop
    team.write("sess-a", project / "a.py", "a\n", project)
    assert len(_claims_cli()) == 1
    beat = team.home / "sessions" / "sess-a" / "heartbeat.json"
    data = json.loads(beat.read_text())
    data["at"] -= 4000  # past presence.idle_seconds (1800): stale
    beat.write_text(json.dumps(data))
    assert _claims_cli() == []
    assert team.send(_write("sess-b", project / "a.py", "toolu_b9", project)) is None
    team.end("sess-b", project)
    assert _claims_cli() == []


def test_the_claims_log_rotates_even_when_nothing_checks(tmp_path: Path) -> None:
    """claims.policy off: no check takes a step, yet the log stays small to read."""
    from state.claims import SEGMENT_BYTES, read_table, record_claim
    from state.persistence.filestore import FileStorage

    store = FileStorage(tmp_path / "orchestra")
    path = "src/" + "deep/" * 40 + "file{}.py"
    n = 0
    while n < 3000:
        record_claim(store, "p", "s1", path.format(n), tool="Edit")
        n += 1
    segments = store._log_segments("projects/p/claims.jsonl")
    assert len(segments) >= 2
    assert store.size("projects/p/claims.jsonl") <= 2 * SEGMENT_BYTES + 1000
    claims = [r for r in store.read_log("projects/p/claims.jsonl") if "session" in r]
    assert len(claims) == n  # nothing lost (checkpoint lines, without a session, aside)
    table = read_table(store, "p", window=None, records=None)
    assert table.claims() == []  # s1 never started: no live session holds anything


def test_a_write_another_plugin_denies_is_not_claimed(shop: tuple[Team, Path]) -> None:
    """Claude Code sends no result for a call a hook denied: its claim ends at once."""
    from hooks import hookimpl
    from hooks.testing import run_dispatch

    class Refuse:
        @hookimpl
        def on_pre_tool_use(self, event: Any) -> dict[str, Any]:
            return {"hookSpecificOutput": {"permissionDecision": "deny",
                                           "permissionDecisionReason": "not today"}}

    team, project = shop
    target = project / "app.py"
    outcome = run_dispatch(_write("sess-a", target, "toolu_a1", project), plugins=[Refuse()],
                           home=team.home)
    assert decision_of(outcome.reply) == "deny"
    assert _claims_cli() == []
    assert team.send(_write("sess-b", target, "toolu_b1", project)) is None


def test_a_busy_claims_lock_still_decides_and_never_raises(
        shop: tuple[Team, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """On a machine too busy to get the step's lock in time, the check is still made (on the
    claims as they are, without the lock), the write is still claimed, and nothing is logged
    as a handler error."""
    team, project = shop
    target = project / "app.py"
    assert team.send(_write("sess-a", target, "toolu_a1", project)) is None
    monkeypatch.setenv("ORCHESTRA_HANDLER_TIMEOUT", "0.3")
    step_lock = team.home / "projects" / "shop" / "claims.jsonl.step.lock"
    with _held_by_another_process(step_lock):
        reply = team.send(_write("sess-b", target, "toolu_b1", project))
        assert decision_of(reply) == "ask"
        assert "app.py is being written by session sess-a" in reason_of(reply)
        assert "decided without" in reason_of(reply)
        other = project / "other.py"
        assert team.send(_write("sess-b", other, "toolu_b2", project)) is None
    assert [c["session"] for c in _claims_cli() if c["file"] == "other.py"] == ["sess-b"]
    errors = team.home / "logs" / "dispatch.log"
    assert "ERROR" not in (errors.read_text() if errors.exists() else "")


@contextmanager
def _held_by_another_process(lock: Path) -> Iterator[None]:
    """The step's lock held the way Orchestra takes it (a POSIX record lock; the documents'
    lock where there is none), by another process: a record lock never excludes its own."""
    code = ("import os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
            "lockf = getattr(os, 'lockf', None)\n"
            "if lockf: lockf(fd, os.F_LOCK, 0)\n"
            "else:\n"
            "    from filelock import FileLock; held = FileLock(sys.argv[1]); held.acquire()\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def _silent_for(team: Team, sid: str, seconds: float) -> None:
    beat = team.home / "sessions" / sid / "heartbeat.json"
    data = json.loads(beat.read_text())
    data["at"] = time.time() - seconds
    beat.write_text(json.dumps(data))


def test_a_session_waiting_at_a_permission_prompt_keeps_its_claims(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A session at a permission prompt sends nothing until someone answers. Past
    presence.idle_seconds it looks stale, yet its ask may be approved any moment: its
    provisional claim and its uncommitted files stay at stake (for writes and for the git
    guard) up to presence.stale_seconds."""
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / "orchestra"))
    repo, _worktree = make_repo(tmp_path)
    team = Team(tmp_path / "orchestra")
    team.start("sess-a", repo)
    team.start("sess-b", repo)
    team.write("sess-a", repo / "src" / "cart.py", "total = 2\n", repo)
    target = repo / "src" / "pay" / "card.py"
    assert team.send(_write("sess-a", target, "toolu_wait", repo)) is None
    team.send(payload("PermissionRequest.Bash", "sess-a", cwd=str(repo), tool_name="Write",
                      tool_input={"file_path": str(target), "content": "x"},
                      tool_use_id="toolu_wait"))
    _silent_for(team, "sess-a", 45 * 60)  # past idle_seconds (30 min), the person is away
    held = {c["file"]: c for c in _claims_cli()}
    assert set(held) == {"src/cart.py", "src/pay/card.py"}
    assert held["src/pay/card.py"]["session_status"] == "waiting for a person"
    assert decision_of(team.send(_write("sess-b", target, "toolu_b", repo))) == "ask"
    reply = team.pre_bash("sess-b", "git stash", repo)
    assert decision_of(reply) == "ask" and "sess-a" in reason_of(reply)
    _silent_for(team, "sess-a", 7 * 3600)  # past stale_seconds (6 h): nobody is there
    assert _claims_cli() == []
    assert team.pre_bash("sess-b", "git stash", repo) is None
