"""The claims log stays cheap to read however long its history (issue 27).

A check (claim_step) that finds the live segment past CHECKPOINT_BYTES rotates it, and the
new live segment starts with one checkpoint line whose records replay to the same claims.
Every test compares what a step sees with the truth: the whole history replayed from the
first line (every segment, checkpoint lines aside).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from state.claims import (
    CHECKPOINT_BYTES,
    CLAIMS,
    SEGMENT_BYTES,
    ClaimTable,
    checkpoint_records,
    claim_record,
    claim_step,
    claims_table,
    drop_claims,
    live_claims,
    read_table,
    record_claim,
    record_stash,
    release_claims,
)
from state.config import load_config
from state.paths import project_key, session_key
from state.persistence import filestore
from state.persistence.filestore import FileStorage
from state.persistence.storage import CHECKPOINT, MemoryStorage, Storage

KEY = project_key("p", CLAIMS)
PAD = "src/" + "module/" * 6


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return FileStorage(tmp_path / "store") if request.param == "file" else MemoryStorage()


def _live(store: Storage, *sids: str) -> None:
    for sid in sids:
        with store.transaction(session_key(sid, "state.json")) as doc:
            doc["status"] = "active"
        store.put_volatile(session_key(sid, "heartbeat.json"), {"at": time.time() + 3600})


def _end(store: Storage, sid: str) -> None:
    with store.transaction(session_key(sid, "state.json")) as doc:
        doc["status"] = "ended"


def _step(store: Storage, sid: str, file: str, uid: str, *, at: float | None = None,
          extra: list[dict[str, Any]] | None = None) -> None:
    """A check that lets ``sid`` write ``file``: its provisional claim (and ``extra``)."""
    moment = time.time() if at is None else at

    def decide(table: ClaimTable) -> list[dict[str, Any]]:
        return [claim_record(sid, file, tool="Edit", at=moment, tool_use_id=uid,
                             provisional=True), *(extra or [])]

    assert claim_step(store, "p", decide, window=None, at=moment,
                      config=load_config(store)) is None


def _write(store: Storage, sid: str, file: str, uid: str) -> None:
    """A whole Write: the check, then the result that confirms the claim."""
    _step(store, sid, file, uid)
    record_claim(store, "p", sid, file, tool="Edit", tool_use_id=uid)


def _history(store: Storage) -> list[dict[str, Any]]:
    """Every claim line ever written, oldest first (checkpoints, with no session, aside)."""
    return [r for r in store.read_log(KEY) if CHECKPOINT not in r]


def _shape(table: ClaimTable) -> dict[str, Any]:
    return {"confirmed": table.confirmed, "pending": table.pending, "git": table.git,
            "stashes": table.stashes}


def _truth(store: Storage, window: float | None = None) -> dict[str, Any]:
    return _shape(read_table(store, "p", window=window, at=time.time(),
                             records=_history(store)))


def _seen(store: Storage, window: float | None = None) -> dict[str, Any]:
    return _shape(read_table(store, "p", window=window, at=time.time()))


def _checkpoints(store: Storage) -> int:
    return sum(1 for r in store.read_log(KEY) if CHECKPOINT in r)


def test_rotation_keeps_every_live_claim_while_a_step_reads_a_bounded_amount(
        store: Storage) -> None:
    _live(store, "alpha", "beta")
    _live(store, "gone")
    old = time.time() - 30 * 24 * 3600  # a month old: any age still holds (window None)
    record_claim(store, "p", "alpha", "old.py", tool="Edit", at=old)
    record_claim(store, "p", "alpha", "released.py", tool="Edit")
    release_claims(store, "p", "alpha", "released.py")
    record_claim(store, "p", "gone", "theirs.py", tool="Edit")
    _end(store, "gone")
    _step(store, "alpha", "waiting.py", "toolu_wait", extra=[
        {"ts": time.time(), "session": "alpha", "git": "git stash", "tree": "/repo",
         "tool_use_id": "toolu_git", "provisional": True, "exclude": ["a.py"]}])
    record_stash(store, "p", "alpha", "f" * 40, "/repo/.git")

    read: list[int] = []
    original = store._read_log_from

    def counting(key: str, offset: int) -> bytes | None:
        data = original(key, offset)
        read[-1] += len(data or b"")
        return data

    store._read_log_from = counting  # type: ignore[method-assign]
    steps = 0
    while _checkpoints(store) < 8:
        read.append(0)
        _write(store, "beta", f"{PAD}file{steps % 40}.py", f"toolu_{steps}")
        steps += 1
        assert steps < 5000, "the log never rotated"
    lines = len(_history(store))
    assert lines > 700
    # What a step reads stays bounded: the checkpoint, the live segment (and what came
    # after a cut), never the history.
    assert max(read) < 3 * CHECKPOINT_BYTES, max(read)
    assert len(store.read_recent(KEY)) < 250
    assert _seen(store) == _truth(store)
    assert _seen(store, window=3600) == _truth(store, window=3600)
    held = {(c["session"], c["file"], c["state"]) for c in read_table(
        store, "p", window=None).claims()}
    assert ("alpha", "old.py", "confirmed") in held
    assert ("alpha", "waiting.py", "provisional") in held
    assert not any(f in ("released.py", "theirs.py") for _s, f, _st in held)
    table = read_table(store, "p", window=None)
    assert list(table.git) == [("alpha", "toolu_git")]
    assert table.git["alpha", "toolu_git"]["exclude"] == ["a.py"]
    assert list(table.stashes) == ["f" * 40]
    # the ended session's claims are gone from the checkpoint itself, not only hidden
    assert not any(r.get("session") == "gone" for r in store.read_recent(KEY))


def test_a_release_and_a_drop_after_a_checkpoint_are_not_undone(store: Storage) -> None:
    _live(store, "alpha", "beta")
    record_claim(store, "p", "alpha", "mine.py", tool="Edit")
    _step(store, "alpha", "pending.py", "toolu_p")
    n = 0
    while _checkpoints(store) < 1:
        _write(store, "beta", f"{PAD}{n}.py", f"toolu_{n}")
        n += 1
    release_claims(store, "p", "alpha", "mine.py")
    drop_claims(store, "p", "alpha", "toolu_p")
    while _checkpoints(store) < 3:
        _write(store, "beta", f"{PAD}{n}.py", f"toolu_{n}")
        n += 1
    files = {c["file"] for c in read_table(store, "p", window=None).claims()}
    assert "mine.py" not in files and "pending.py" not in files
    assert _seen(store) == _truth(store)


def test_a_checkpoint_replays_the_same_under_any_window_with_a_clock_set_back(
        store: Storage) -> None:
    """A later line with an older ts (the clock was set back): a window still shows the
    claim the log shows, checkpoint or not."""
    _live(store, "alpha")
    now = time.time()
    record_claim(store, "p", "alpha", "a.py", tool="Edit", at=now - 10)
    record_claim(store, "p", "alpha", "a.py", tool="Write", at=now - 5000)
    records = _history(store)
    replayed = checkpoint_records(store, records, at=now, config=load_config(store))
    for window in (None, 60, 10_000):
        assert _shape(claims_table(replayed, window=window, at=now)) == _shape(
            claims_table(records, window=window, at=now))


def test_a_line_written_to_the_old_file_after_the_cut_is_read(tmp_path: Path) -> None:
    """An appender that opened the live file before the rotation and writes after it: its
    line lands in the segment the checkpoint continues, past the cut, and is read."""
    store = FileStorage(tmp_path / "store")
    _live(store, "alpha", "beta")
    record_claim(store, "p", "alpha", "gone-soon.py", tool="Edit")
    _fill_to_rotation(store)
    late = os.open(store.path(KEY), os.O_WRONLY | os.O_APPEND)
    try:
        _step(store, "beta", "trigger.py", "toolu_t")  # rotates: the live file is replaced
        assert _checkpoints(store) == 1
        for record in ({"ts": time.time(), "session": "alpha", "file": "late.py",
                        "path": "late.py", "tool": "Edit"},
                       {"ts": time.time(), "session": "alpha", "release": True,
                        "file": "gone-soon.py"}):
            os.write(late, (json.dumps(record) + "\n").encode())
    finally:
        os.close(late)
    files = {c["file"] for c in read_table(store, "p", window=None).claims()}
    assert "late.py" in files and "gone-soon.py" not in files
    for m in range(400):  # later rotations carry it on
        _write(store, "beta", f"{PAD}later{m}.py", f"toolu_{m}")
    assert _checkpoints(store) >= 3
    files = {c["file"] for c in read_table(store, "p", window=None).claims()}
    assert "late.py" in files and "gone-soon.py" not in files
    assert _seen(store) == _truth(store)


def _fill_to_rotation(store: Storage, sid: str = "beta") -> None:
    """Plain appends until the next check rotates (the live segment past CHECKPOINT_BYTES
    beyond its checkpoint line)."""
    live = store._read_bytes(KEY) or b""
    head = live.find(b"\n") + 1 if live.startswith(b'{"ts"') and CHECKPOINT.encode() in (
        live[:live.find(b"\n")]) else 0
    n = 0
    while store.size(KEY) - head <= CHECKPOINT_BYTES:
        record_claim(store, "p", sid, f"{PAD}{n}.py", tool="Edit")
        n += 1


def _folder(store: FileStorage) -> list[str]:
    return sorted(os.listdir(store.path(KEY).parent))


def test_a_failed_replace_undoes_the_link_and_loses_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStorage(tmp_path / "store")
    _live(store, "alpha", "beta")
    _step(store, "alpha", "waiting.py", "toolu_w")
    _fill_to_rotation(store)
    before = _folder(store)
    truth = _truth(store)
    real = os.replace

    def refuse(src: Any, dst: Any) -> None:
        if str(dst).endswith(CLAIMS):
            raise PermissionError(13, "sharing violation")
        real(src, dst)

    monkeypatch.setattr(filestore.os, "replace", refuse)
    _step(store, "alpha", "other.py", "toolu_o")
    assert [n for n in _folder(store) if not n.endswith(".lock")] == [
        n for n in before if not n.endswith(".lock")]  # no segment, no temp file left
    assert _checkpoints(store) == 0
    truth["pending"]["alpha", "toolu_o"] = read_table(
        store, "p", window=None).pending["alpha", "toolu_o"]
    assert _seen(store) == truth == _truth(store)
    monkeypatch.setattr(filestore.os, "replace", real)
    _step(store, "alpha", "third.py", "toolu_3")  # the next check rotates
    assert _checkpoints(store) == 1
    assert _seen(store) == _truth(store)


@pytest.mark.parametrize("checkpointed", [False, True])
def test_a_rotation_killed_between_link_and_replace_reads_without_duplicates(
        tmp_path: Path, checkpointed: bool) -> None:
    """kill -9 after the link: the live file is also the newest segment. Readers see each
    claim once, and the next rotation removes the second name."""
    store = FileStorage(tmp_path / "store")
    _live(store, "alpha", "beta")
    if checkpointed:
        _fill_to_rotation(store, "alpha")
        _step(store, "alpha", "first.py", "toolu_f")
        assert _checkpoints(store) == 1
    else:  # an old log: rotated by renaming, two segments
        _fill_to_rotation(store, "alpha")
        store._rotate(KEY, 0)
    _step(store, "alpha", "waiting.py", "toolu_w")
    _step(store, "alpha", "waiting.py", "toolu_w2")
    _fill_to_rotation(store)
    truth = _seen(store)
    segments = store._log_segments(KEY)
    number = len(segments)  # the next segment's number (none deleted)
    os.link(store.path(KEY), store.path(f"projects/p/claims.{number:06d}.jsonl"))
    assert _seen(store) == truth
    assert read_table(store, "p", window=None).pending["alpha", "toolu_w"].__len__() == 1
    _step(store, "alpha", "after.py", "toolu_a")  # rotates, taking the leftover name back
    assert _seen(store) == _truth(store)
    pending = read_table(store, "p", window=None).pending
    assert {k: len(v) for k, v in pending.items() if k[1] in ("toolu_w", "toolu_w2")} == {
        ("alpha", "toolu_w"): 1, ("alpha", "toolu_w2"): 1}


def test_without_hard_links_the_log_is_renamed_at_the_old_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system without hard links (or Windows refusing): no checkpoint, no temp file
    left, and the log is rotated by renaming at SEGMENT_BYTES as before."""
    store = FileStorage(tmp_path / "store")
    _live(store, "alpha", "beta")

    def no_links(src: Any, dst: Any) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(filestore.os, "link", no_links)
    record_claim(store, "p", "alpha", "kept.py", tool="Edit")
    n = 0
    while len(store._log_segments(KEY)) < 2:
        _write(store, "beta", f"{PAD}{n}.py", f"toolu_{n}")
        n += 1
    assert _checkpoints(store) == 0
    assert not [f for f in _folder(store) if f.endswith(".tmp")]
    assert os.path.getsize(store.path("projects/p/claims.000001.jsonl")) > SEGMENT_BYTES
    assert "kept.py" in {c["file"] for c in read_table(store, "p", window=None).claims()}
    assert _seen(store) == _truth(store)


def test_an_old_two_segment_log_reads_as_before(store: Storage) -> None:
    _live(store, "alpha", "beta")
    for n in range(40):
        record_claim(store, "p", "alpha" if n % 2 else "beta", f"{PAD}{n}.py", tool="Edit")
        if n in (9, 25):
            store._rotate(KEY, 0)
    segments = store._log_segments(KEY)
    assert len(segments) == 3
    from state.persistence.storage import decode_lines

    two_newest = [r for s in segments[-2:] for r in decode_lines(store._read_bytes(s) or b"")]
    assert store.read_recent(KEY) == two_newest
    _step(store, "alpha", "x.py", "toolu_x")  # small: no rotation
    assert _checkpoints(store) == 0


def test_the_history_readers_pass_the_checkpoint_by(store: Storage) -> None:
    from orchestra.timeline.lanes import _claims
    from state.plan import last_activity

    _live(store, "alpha", "beta")
    start = time.time() - 1
    record_claim(store, "p", "alpha", "a.py", tool="Edit")
    n = 0
    while _checkpoints(store) < 2:
        _write(store, "beta", f"{PAD}{n % 5}.py", f"toolu_{n}")
        n += 1
    marks = _claims(store, "p", [], ["alpha", "beta"], start, time.time() + 1)
    assert [m.text for m in marks["alpha"]] == ["a.py"]  # once: not again from checkpoints
    assert len(marks["beta"]) == n
    assert last_activity(store, "p", "alpha")["files"] == ["a.py"]


def test_live_claims_reads_through_a_checkpoint(store: Storage) -> None:
    _live(store, "alpha", "beta")
    record_claim(store, "p", "alpha", "a.py", tool="Edit")
    n = 0
    while _checkpoints(store) < 1:
        _write(store, "beta", f"{PAD}{n}.py", f"toolu_{n}")
        n += 1
    claims = live_claims(store, "p", window=3600)
    assert claims["a.py"]["session"] == "alpha"
    assert claims["a.py"]["state"] == "confirmed"


def test_a_crashed_session_is_dropped_from_checkpoints_a_briefly_stale_one_is_kept(
        store: Storage) -> None:
    """A session that crashed never ends its claims; once it has been silent for longer
    than presence.stale_seconds, checkpoints stop carrying them (they would grow with every
    crash). One silent for less — stale, or waiting for a person — keeps them."""
    _live(store, "beta")
    now = time.time()
    config = load_config(store)
    stale_after = config["presence"]["stale_seconds"]
    for sid, silent in (("crashed", stale_after + 60), ("napping", 3 * 3600)):
        with store.transaction(session_key(sid, "state.json")) as doc:
            doc["status"] = "active"
        store.put_volatile(session_key(sid, "heartbeat.json"), {"at": now - silent})
        record_claim(store, "p", sid, f"{sid}.py", tool="Edit")
    n = 0
    while _checkpoints(store) < 1:
        _write(store, "beta", f"{PAD}{n}.py", f"toolu_{n}")
        n += 1
    carried = {r.get("session") for r in checkpoint_records(
        store, store.read_recent(KEY), at=time.time(), config=config)}
    assert "crashed" not in carried and "napping" in carried
    assert not any(r.get("session") == "crashed" for r in store.read_recent(KEY))
    assert any(r.get("session") == "napping" for r in store.read_recent(KEY))


def test_a_check_of_one_write_looks_up_only_the_sessions_holding_that_file(
        store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    """claim_step(files=..., live=...): the liveness of a session holding only other files
    is not read (two reads a session, on every Write); the one holding the file is, and a
    gone one's claim on it still does not count."""
    _live(store, "alpha", "beta", "gamma")
    record_claim(store, "p", "beta", "theirs.py", tool="Edit")
    record_claim(store, "p", "gamma", "other.py", tool="Edit")
    record_claim(store, "p", "ghost", "theirs.py", tool="Edit")  # no state: gone
    looked: list[str] = []
    original = store.read

    def read(key: str, *args: Any, **kwargs: Any) -> Any:
        if key.endswith("/state.json"):
            looked.append(key.split("/")[1])
        return original(key, *args, **kwargs)

    monkeypatch.setattr(store, "read", read)
    seen: list[ClaimTable] = []

    def decide(table: ClaimTable) -> list[dict[str, Any]]:
        seen.append(table)
        return []

    assert claim_step(store, "p", decide, window=None, at=time.time(),
                      config=load_config(store), files={"theirs.py"}, live="alpha") is None
    assert sorted(looked) == ["beta", "ghost"]  # not gamma, not alpha (live)
    holders = [c["session"] for c in seen[0].holders("theirs.py")]
    assert holders == ["beta"]  # the ghost's claim does not count
    assert seen[0].holders("theirs.py")[0]["session_status"] == "active"


def test_two_threads_of_one_process_never_step_at_once(tmp_path: Path) -> None:
    """The step lock is a record lock, which belongs to the process: the threads of one
    process (a server, an embedder) are kept apart by the process's own lock."""
    import threading

    from state.errors import LockTimeoutError

    store = FileStorage(tmp_path / "store")
    _live(store, "alpha")
    inside = threading.Event()
    leave = threading.Event()

    def slow(table: ClaimTable) -> list[dict[str, Any]]:
        inside.set()
        assert leave.wait(30)
        return [claim_record("alpha", "a.py", tool="Edit", tool_use_id="u1", provisional=True)]

    first = threading.Thread(target=lambda: claim_step(
        store, "p", slow, window=None, at=time.time(), config=load_config(store)))
    first.start()
    try:
        assert inside.wait(30)
        with pytest.raises(LockTimeoutError):
            claim_step(store, "p", lambda table: [], window=None, at=time.time(),
                       config=load_config(store), timeout=0.2)
    finally:
        leave.set()
        first.join(30)
    seen: list[ClaimTable] = []
    claim_step(store, "p", lambda table: seen.append(table) or [], window=None,
               at=time.time(), config=load_config(store))
    assert [c["file"] for c in seen[0].claims()] == ["a.py"]  # the first step's claim


def test_a_hand_made_line_with_a_time_out_of_range_is_skipped(store: Storage) -> None:
    """A line whose ``ts`` no clock can show (1e308, NaN, Infinity: json reads them) must
    not make every later check of the project fail: it is skipped, as a torn line is."""
    _live(store, "alpha")
    _step(store, "alpha", "before.py", "toolu_b")
    for ts in ("1e308", "-1e308", "NaN", "Infinity", str(10 ** 40)):
        raw = f'{{"ts": {ts}, "session": "alpha", "file": "odd.py", "tool": "Edit"}}\n'
        store._append_bytes(KEY, raw.encode())
    _step(store, "alpha", "after.py", "toolu_a")
    table = read_table(store, "p", window=None)
    assert set(table.pending) == {("alpha", "toolu_b"), ("alpha", "toolu_a")}
    assert not table.confirmed
    _fill_to_rotation(store, "alpha")
    _step(store, "alpha", "third.py", "toolu_3")  # rotates: the checkpoint is made
    assert _checkpoints(store) == 1
    assert _seen(store) == _truth(store)


def test_a_line_written_to_a_file_cut_twice_while_it_waited_is_read(tmp_path: Path) -> None:
    """A plain appender (no lock) that opened the live file, then waited (a busy machine)
    while two checks rotated the log, writes its line to a segment no checkpoint names any
    more: the line must still be read (here a release, which must not be undone)."""
    store = FileStorage(tmp_path / "store")
    _live(store, "alpha", "beta")
    record_claim(store, "p", "alpha", "held.py", tool="Edit")
    real = filestore._torn_tail
    cut = []

    def two_rotations_meanwhile(fd: int) -> bool:
        if not cut:
            cut.append(1)
            for n in range(2):
                _fill_to_rotation(store)
                _step(store, "beta", f"rot{n}.py", f"toolu_r{n}")
        return real(fd)

    filestore._torn_tail = two_rotations_meanwhile
    try:
        release_claims(store, "p", "alpha", "held.py")
    finally:
        filestore._torn_tail = real
    assert _checkpoints(store) == 2
    assert ("held.py", "alpha") not in _truth(store)["confirmed"]
    assert _seen(store) == _truth(store)
    _fill_to_rotation(store)
    _step(store, "beta", "later.py", "toolu_l")  # and through the next checkpoint
    assert _seen(store) == _truth(store)


def test_a_symlinked_step_lock_is_refused_by_name_and_nothing_is_made_through_it(
        tmp_path: Path) -> None:
    from state.errors import UnsafePathError

    store = FileStorage(tmp_path / "store")
    _live(store, "alpha")
    _step(store, "alpha", "a.py", "toolu_a")
    lock = Path(str(store.path(KEY)) + ".step.lock")
    lock.unlink()
    lock.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError, match="symlink"):
        _step(store, "alpha", "b.py", "toolu_b")
    assert not (tmp_path / "elsewhere").exists()
