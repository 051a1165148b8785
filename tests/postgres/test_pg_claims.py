"""Check-and-claim on PostgreSQL: one server-side step, bounded (issue 22, point 6)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.guard._team import decision_of, reason_of
from tests.handlers._support import payload
from tests.postgres.conftest import Hook, Machine

PROJECT = "/home/dev/project"


def _start(machine: Machine, sid: str) -> None:
    hook = machine.dispatch(payload("SessionStart.startup", sid, cwd=PROJECT))
    assert hook.code == 0, hook.stderr


def _write(sid: str, name: str, uid: str) -> dict[str, Any]:
    return payload("PreToolUse.Write", sid, cwd=PROJECT, tool_use_id=uid,
                   tool_input={"file_path": f"{PROJECT}/{name}", "content": sid})


def test_sessions_on_two_machines_writing_one_file_at_once_one_is_let_through(
        make_machine: Callable[..., Machine]) -> None:
    """Each machine's cache is fresh (sync_seconds 10: hooks read no news from the server
    otherwise), yet a claim made on one machine is seen by the other at once."""
    # generous bounds: this is about correctness on a loaded machine, not speed
    a = make_machine("a", claim_seconds=30, connect_timeout=30)
    b = make_machine("b", claim_seconds=30, connect_timeout=30)
    sessions = [(a, "a1"), (a, "a2"), (b, "b1"), (b, "b2")]
    for machine, sid in sessions:
        _start(machine, sid)
    for r in range(3):
        def one(entry: tuple[Machine, str], r: int = r) -> tuple[str, Hook]:
            machine, sid = entry
            return sid, machine.dispatch(_write(sid, f"shared{r}.py", f"toolu_{sid}_{r}"),
                                         ORCHESTRA_HANDLER_TIMEOUT="60",
                                         ORCHESTRA_BUDGET="60")

        with ThreadPoolExecutor(max_workers=4) as pool:
            hooks = dict(pool.map(one, sessions))
        assert all(h.code == 0 and h.stderr == "" for h in hooks.values()), hooks
        through = [sid for sid, h in hooks.items() if decision_of(h.reply) is None]
        assert len(through) == 1, (r, {sid: h.reply for sid, h in hooks.items()})
        for sid, hook in hooks.items():
            if sid not in through:
                text = reason_of(hook.reply)
                assert f"being written by session {through[0]}" in text, text
                assert "this machine's copy" not in text
    claims = b.cli("state.session_manager", "claims", "--project", "project")
    assert sorted(c["file"] for c in claims) == ["shared0.py", "shared1.py", "shared2.py"]
    assert {c["state"] for c in claims} == {"provisional"}


def test_a_server_slower_than_the_bound_falls_back_to_the_cache_and_says_so(
        make_machine: Callable[..., Machine]) -> None:
    a = make_machine("a", claim_seconds=0.001)  # no server answers that fast
    _start(a, "alpha")
    _start(a, "beta")
    assert a.dispatch(_write("alpha", "app.py", "toolu_a1")).reply == {}  # let through
    hook = a.dispatch(_write("beta", "app.py", "toolu_b1"))
    assert hook.code == 0, hook.stderr
    assert decision_of(hook.reply) == "ask"
    text = reason_of(hook.reply)
    assert "being written by session alpha" in text
    assert "PostgreSQL did not answer within 0.001 s: decided on this machine's copy" in text
    a.cli("state.session_manager", "list")  # a CLI ships the outbox: the claim reaches it
    claims = a.cli("state.session_manager", "claims", "--project", "project")
    assert [(c["session"], c["state"]) for c in claims] == [("alpha", "provisional")]


def test_the_git_guard_sees_a_claim_made_on_another_machine_at_once(
        make_machine: Callable[..., Machine], tmp_path: Any) -> None:
    """Machine a's session writes a file of a checkout (its result still waits in a's
    outbox); machine b's session then runs `git stash` there: asked at once."""
    from tests.guard._team import make_repo

    repo, _worktree = make_repo(tmp_path)
    slow = {"ORCHESTRA_HANDLER_TIMEOUT": "60", "ORCHESTRA_BUDGET": "60"}
    a = make_machine("a", claim_seconds=30, connect_timeout=30)
    b = make_machine("b", claim_seconds=30, connect_timeout=30)
    for machine, sid in ((a, "alpha"), (b, "beta")):
        hook = machine.dispatch(payload("SessionStart.startup", sid, cwd=str(repo)), **slow)
        assert hook.code == 0, hook.stderr
    cart = repo / "src" / "cart.py"
    write = {"file_path": str(cart), "content": "total = 2\n"}
    hook = a.dispatch(payload("PreToolUse.Write", "alpha", cwd=str(repo), tool_input=write,
                              tool_use_id="toolu_a1"), **slow)
    assert hook.code == 0 and decision_of(hook.reply) is None, hook
    cart.write_text("total = 2\n")
    hook = a.dispatch(payload("PostToolUse.Bash", "alpha", cwd=str(repo), tool_name="Write",
                              tool_input=write, tool_use_id="toolu_a1",
                              tool_response={"type": "update"}), **slow)
    assert hook.code == 0, hook.stderr
    hook = b.dispatch(payload("PreToolUse.Bash", "beta", cwd=str(repo), tool_use_id="toolu_b1",
                              tool_input={"command": "git stash"}), **slow)
    assert hook.code == 0, hook.stderr
    assert decision_of(hook.reply) == "ask", hook.reply
    text = reason_of(hook.reply)
    assert "session alpha" in text and "src/cart.py" in text, text
    assert "this machine's copy" not in text


def test_a_claims_log_copied_from_files_after_a_checkpoint_reads_right(
        tmp_path: Path, pg_url: str, make_machine: Callable[..., Machine]) -> None:
    """A file log rotated with a checkpoint (issue 27), copied to the server: the claims
    made before the checkpoint (now only in it) still hold there, for the server's step and
    for the CLI."""
    from state import migrate
    from state.claims import CHECKPOINT_BYTES, claim_record, claim_step, record_claim
    from state.config import load_config
    from state.persistence.filestore import FileStorage
    from state.persistence.storage import CHECKPOINT
    from state.store import RULES

    files = FileStorage(tmp_path / "files", rules=RULES)
    record_claim(files, "project", "alpha", "old.py", tool="Edit")
    config = load_config(files)
    n = 0
    while sum(CHECKPOINT in r for r in files.read_log("projects/project/claims.jsonl")) < 2:
        name, uid = f"src/filler/{n}.py", f"toolu_f{n}"
        claim_step(files, "project", lambda _table, name=name, uid=uid: [claim_record(
            "filler", name, tool="Edit", tool_use_id=uid, provisional=True)],
            window=None, at=time.time(), config=config)
        record_claim(files, "project", "filler", name, tool="Edit", tool_use_id=uid)
        n += 1
        assert n < 2000
    live = (tmp_path / "files" / "projects" / "project" / "claims.jsonl").read_bytes()
    # only the checkpoint holds it now, not the two newest segments' lines
    assert b"old.py" not in live.split(b"\n", 1)[1]
    assert b"old.py" not in files._read_bytes(files._log_segments(
        "projects/project/claims.jsonl")[-2]).split(b"\n", 1)[1]
    assert files.size("projects/project/claims.jsonl") < 2 * CHECKPOINT_BYTES
    out, err = io.StringIO(), io.StringIO()
    assert migrate.main(["--from", str(tmp_path / "files"), "--to", pg_url],
                        stdout=out, stderr=err) == 0, err.getvalue()

    pg = make_machine("pg", claim_seconds=30, connect_timeout=30)
    _start(pg, "alpha")
    _start(pg, "beta")
    claims = pg.cli("state.session_manager", "claims", "--project", "project")
    assert [c["session"] for c in claims if c["file"] == "old.py"] == ["alpha"]
    hook = pg.dispatch(_write("beta", "old.py", "toolu_b1"), ORCHESTRA_HANDLER_TIMEOUT="60",
                       ORCHESTRA_BUDGET="60")
    assert hook.code == 0, hook.stderr
    text = reason_of(hook.reply)
    assert "alpha" in text and "this machine's copy" not in text, text


def test_an_interrupted_claim_step_lets_the_server_go_at_once(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The claims handler's time limit interrupts it (HandlerOverrun) while it waits for the
    server's step: the server side gives up then — it rolls back and frees the step's lock
    for the other sessions — instead of waiting out the step's own bound."""
    import signal
    import threading

    import psycopg

    from state.postgres.step import step
    from state.postgres.storage import PgStorage
    from state.store import open_store

    if not hasattr(signal, "setitimer"):
        pytest.skip("the interrupt is a SIGALRM (POSIX); elsewhere handlers run on workers")
    monkeypatch.setenv("ORCHESTRA_STORE_URL", pg_url)
    store = open_store(tmp_path / "machine")
    assert isinstance(store, PgStorage)
    store.settings["claim_seconds"] = 20  # the step's own bound: far beyond the test
    key = "projects/p/claims.jsonl"
    store.append(key, {"ts": 1.0, "session": "s", "file": "a.py", "tool": "Edit"})

    class Interrupted(BaseException):
        pass

    def ring(signum: int, frame: Any) -> None:
        raise Interrupted

    blocker = psycopg.connect(pg_url, autocommit=False)
    previous = signal.signal(signal.SIGALRM, ring)
    try:
        blocker.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        (f"{store.schema}:{key}#step",))  # the server step waits for this
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(Interrupted):
            step(store, key, lambda records: [{"ts": 2.0, "session": "t", "file": "b.py",
                                               "tool": "Edit", "provisional": True,
                                               "tool_use_id": "u"}], max_bytes=None)
        blocker.rollback()  # the server step gets the lock now, and must give up at once
        workers = [t for t in threading.enumerate() if t.name == "orchestra:pg-claim"]
        for worker in workers:
            worker.join(10)  # far less than the 20 s bound it would otherwise wait out
            assert not worker.is_alive()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        blocker.close()
    assert [r.get("file") for r in store.read_log(key)] == ["a.py"]  # nothing claimed
    store.close()
