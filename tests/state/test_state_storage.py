"""Storage semantics, run on every backend: FileStorage, its MemoryStorage twin and PostgreSQL
(torn and corrupt data only where raw bytes can be stored: ``byte_store``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from state.errors import ConflictError, LockTimeoutError, NotFoundError
from state.persistence.storage import Storage

KEY = "sessions/s1/state.json"
LOG = "sessions/s1/events.jsonl"


def write(store: Storage, key: str = KEY, **values: Any) -> None:
    with store.transaction(key) as doc:
        doc.update(values)


# -- transactions ----------------------------------------------------------------------


def test_clean_exit_commits_with_version_and_schema(store: Storage) -> None:
    write(store, a=1)
    assert store.read(KEY) == {"schema_version": 1, "a": 1, "version": 1}


def test_exception_inside_transaction_leaves_old_document(store: Storage) -> None:
    write(store, a=1)
    with pytest.raises(RuntimeError), store.transaction(KEY) as doc:
        doc["a"] = 2
        doc["b"] = "new"
        raise RuntimeError("boom")
    assert store.read(KEY) == {"schema_version": 1, "a": 1, "version": 1}


def test_exception_inside_transaction_on_new_document_creates_nothing(store: Storage) -> None:
    with pytest.raises(RuntimeError), store.transaction(KEY) as doc:
        doc["a"] = 1
        raise RuntimeError("boom")
    assert store.read(KEY) is None
    assert not store.exists(KEY)


def test_every_change_bumps_version(store: Storage) -> None:
    for i in range(1, 6):
        write(store, n=i)
        assert store.require(KEY)["version"] == i


def test_no_write_when_unchanged(store: Storage) -> None:
    calls: list[str] = []
    write(store, a=1)
    store.subscribe(lambda key, old, new: calls.append(key))
    with store.transaction(KEY) as doc:
        doc["a"] = 1  # same value: not a change
    assert store.require(KEY)["version"] == 1
    assert calls == []


def test_untouched_absent_document_is_not_created(store: Storage) -> None:
    with store.transaction(KEY):
        pass
    assert not store.exists(KEY)


def test_yielded_document_is_a_private_copy(store: Storage) -> None:
    write(store, nested={"x": [1]})
    with pytest.raises(RuntimeError), store.transaction(KEY) as doc:
        doc["nested"]["x"].append(2)
        raise RuntimeError
    assert store.require(KEY)["nested"] == {"x": [1]}
    seen = store.require(KEY)
    seen["nested"]["x"].append(3)  # changing what read() returned changes nothing stored
    assert store.require(KEY)["nested"] == {"x": [1]}


def test_expect_version_conflict(store: Storage) -> None:
    write(store, a=1)
    read_version = store.require(KEY)["version"]
    write(store, a=2)  # someone else writes in between
    with pytest.raises(ConflictError, match="version 1"), \
            store.transaction(KEY, expect_version=read_version) as doc:
        doc["a"] = 3
    assert store.require(KEY)["a"] == 2
    with store.transaction(KEY, expect_version=2) as doc:
        doc["a"] = 3
    assert store.require(KEY) == {"schema_version": 1, "a": 3, "version": 3}


def test_expect_version_zero_means_create_only_if_absent(store: Storage) -> None:
    with store.transaction(KEY, expect_version=0) as doc:
        doc["a"] = 1
    with pytest.raises(ConflictError), store.transaction(KEY, expect_version=0) as doc:
        doc["a"] = 2
    assert store.require(KEY)["a"] == 1


def test_create_false_refuses_missing_document(store: Storage) -> None:
    with pytest.raises(NotFoundError), store.transaction(KEY, create=False) as doc:
        doc["a"] = 1
    assert store.read(KEY) is None


def test_unknown_keys_survive_round_trip(store: Storage) -> None:
    future: dict[str, Any] = {"from_a_newer_orchestra": {"deep": [1, {"x": None}]},
                              "schema_version": 7}
    write(store, **future)
    write(store, known="changed")
    doc = store.require(KEY)
    assert doc["from_a_newer_orchestra"] == {"deep": [1, {"x": None}]}
    assert doc["schema_version"] == 7
    assert doc["known"] == "changed"


def test_unicode_round_trip(store: Storage) -> None:
    write(store, text="héllo ✓ 日本 \u2028 \"quoted\" \\ back")
    assert store.require(KEY)["text"] == "héllo ✓ 日本 \u2028 \"quoted\" \\ back"


def test_require_and_delete(store: Storage) -> None:
    with pytest.raises(NotFoundError):
        store.require(KEY)
    write(store, a=1)
    assert store.exists(KEY)
    assert store.delete(KEY) is True
    assert store.delete(KEY) is False
    assert store.read(KEY) is None


# -- change listeners --------------------------------------------------------------------


def test_listeners_get_key_old_and_new(store: Storage) -> None:
    calls: list[tuple[str, Any, Any]] = []
    store.subscribe(lambda key, old, new: calls.append((key, old, new)))
    write(store, a=1)
    write(store, a=2)
    assert calls == [
        (KEY, None, {"schema_version": 1, "a": 1, "version": 1}),
        (KEY, {"schema_version": 1, "a": 1, "version": 1},
         {"schema_version": 1, "a": 2, "version": 2}),
    ]


def test_listeners_not_called_on_failure(store: Storage) -> None:
    calls: list[str] = []
    write(store, a=1)
    store.subscribe(lambda key, old, new: calls.append(key))
    with pytest.raises(RuntimeError), store.transaction(KEY) as doc:
        doc["a"] = 2
        raise RuntimeError
    with pytest.raises(ConflictError), store.transaction(KEY, expect_version=9) as doc:
        doc["a"] = 2
    assert calls == []


# -- logs ------------------------------------------------------------------------------


def test_append_and_read_log_in_order(store: Storage) -> None:
    assert list(store.read_log(LOG)) == []
    for i in range(20):
        store.append(LOG, {"i": i, "text": "ü\n\"x\""})
    assert [r["i"] for r in store.read_log(LOG)] == list(range(20))
    assert all(r["text"] == "ü\n\"x\"" for r in store.read_log(LOG))


def test_rotation_keeps_every_record_in_order(store: Storage) -> None:
    for i in range(60):
        store.append(LOG, {"i": i, "pad": "x" * 20}, max_bytes=200)
    segments = [n for n in store.list_children("sessions/s1") if n.startswith("events.")]
    assert len(segments) >= 5, segments  # it really rotated, several times
    assert "events.000001.jsonl" in segments
    assert [r["i"] for r in store.read_log(LOG)] == list(range(60))


def test_rotation_after_an_old_segment_was_deleted_overwrites_nothing(
    store: Storage, plant: Any
) -> None:
    for i in range(30):
        store.append(LOG, {"i": i, "pad": "x" * 20}, max_bytes=200)
    segments = sorted(n for n in store.list_children("sessions/s1") if n.startswith("events.0"))
    store.delete("sessions/s1/" + segments[0])  # someone cleans up the oldest segment
    kept = [r["i"] for r in store.read_log(LOG)]
    for i in range(30, 60):
        store.append(LOG, {"i": i, "pad": "x" * 20}, max_bytes=200)
    assert [r["i"] for r in store.read_log(LOG)] == kept + list(range(30, 60))


def test_torn_last_line_is_skipped(byte_store: Storage, plant: Any) -> None:
    store = byte_store
    plant(store, LOG, b'{"i":0}\n{"i":1}\n[1,2]\n\n{"i":2,"tru')
    assert list(store.read_log(LOG)) == [{"i": 0}, {"i": 1}]


def test_append_after_torn_line_is_not_lost(byte_store: Storage, plant: Any) -> None:
    store = byte_store
    plant(store, LOG, b'{"i":0}\n{"i":1,"tru')
    store.append(LOG, {"i": 2})
    store.append(LOG, {"i": 3})
    assert list(store.read_log(LOG)) == [{"i": 0}, {"i": 2}, {"i": 3}]


# -- corrupt documents -----------------------------------------------------------------


@pytest.mark.parametrize("raw", [b'{"a": 1', b"[1, 2]", b"\xff\xfe", b"null", b""])
def test_corrupt_document_is_moved_aside_and_reported(
    byte_store: Storage, plant: Any, raw: bytes
) -> None:
    store = byte_store
    plant(store, KEY, raw)
    assert store.read(KEY) is None
    assert len(store.problems) == 1
    assert KEY in store.problems[0] and "state.json.corrupt-" in store.problems[0]
    moved = [n for n in store.list_children("sessions/s1") if n.startswith("state.json.corrupt-")]
    assert len(moved) == 1
    assert store.exists("sessions/s1/" + moved[0])  # kept for a person to look at
    write(store, a=1)  # the next writer starts afresh instead of crashing
    assert store.require(KEY)["a"] == 1


def test_corrupt_document_met_by_a_writer_is_moved_aside(byte_store: Storage, plant: Any) -> None:
    store = byte_store
    plant(store, KEY, b"{broken")
    write(store, a=1)
    assert store.require(KEY) == {"schema_version": 1, "a": 1, "version": 1}
    assert len(store.problems) == 1


def test_second_corruption_does_not_overwrite_first_copy(byte_store: Storage, plant: Any) -> None:
    store = byte_store
    plant(store, KEY, b"{first")
    store.read(KEY)
    plant(store, KEY, b"{second")
    store.read(KEY)
    moved = [n for n in store.list_children("sessions/s1") if ".corrupt-" in n]
    assert len(moved) == 2
    assert len(store.problems) == 2


# -- volatile documents, listing ---------------------------------------------------------


def test_put_volatile_replaces_without_version(store: Storage) -> None:
    store.put_volatile("sessions/s1/heartbeat.json", {"at": 1.5})
    store.put_volatile("sessions/s1/heartbeat.json", {"at": 2.5, "event": "Stop"})
    assert store.read("sessions/s1/heartbeat.json") == {"at": 2.5, "event": "Stop"}


def test_list_children_and_remove_tree(store: Storage) -> None:
    assert store.list_children("sessions") == []
    for sid in ("b", "a", "c"):
        write(store, f"sessions/{sid}/state.json", x=1)
    store.append("sessions/a/events.jsonl", {"e": 1})
    assert store.list_children("sessions") == ["a", "b", "c"]
    store.remove_tree("sessions/a")
    assert store.list_children("sessions") == ["b", "c"]
    assert store.read("sessions/a/state.json") is None
    assert list(store.read_log("sessions/a/events.jsonl")) == []


# -- locking -----------------------------------------------------------------------------


def _hold_lock(
    store: Storage, key: str
) -> tuple[threading.Event, threading.Event, threading.Thread]:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.transaction(key) as doc:
            doc["holder"] = True
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder, daemon=True)
    thread.start()
    assert held.wait(10)
    return held, release, thread


def test_lock_timeout_is_a_clear_error(store: Storage) -> None:
    write(store, a=1)
    _, release, thread = _hold_lock(store, KEY)
    try:
        start = time.monotonic()
        with pytest.raises(LockTimeoutError, match=r"state\.json"), \
                store.transaction(KEY, timeout=0.2) as doc:
            doc["a"] = 2
        assert time.monotonic() - start < 5  # finite: it did not wait for the holder
    finally:
        release.set()
        thread.join(10)
    assert store.require(KEY)["holder"] is True
    assert store.require(KEY)["a"] == 1


def test_readers_take_no_lock(store: Storage) -> None:
    write(store, a=1)
    _, release, thread = _hold_lock(store, KEY)
    try:
        start = time.monotonic()
        assert store.require(KEY)["a"] == 1  # the holder's change is not committed yet
        assert time.monotonic() - start < 1
    finally:
        release.set()
        thread.join(10)


def test_threads_lose_no_update(store: Storage) -> None:
    def work() -> None:
        for _ in range(25):
            with store.transaction(KEY, timeout=30) as doc:
                doc["n"] = doc.get("n", 0) + 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert store.require(KEY)["n"] == 100
    assert store.require(KEY)["version"] == 100


# -- log steps: read and append in one step (check-and-claim) --------------------------------


def test_log_steps_in_threads_never_interleave(store: Storage) -> None:
    """Each step appends the count it read plus one: steps that interleaved would read the
    same count and append it twice."""

    def step(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        count = len(records)
        time.sleep(0.001)  # widen the window a check and a claim would leave open
        return [{"n": count}]

    def work() -> None:
        for _ in range(10):
            assert store.log_step(LOG, step, timeout=60) is None

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [r["n"] for r in store.read_log(LOG)] == list(range(40))


def test_a_log_step_rotates_under_its_lock_and_reads_the_newest_segments(
        store: Storage) -> None:
    seen: list[int] = []

    def step(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen.append(len(records))
        return [{"pad": "x" * 50}]

    for _ in range(30):
        store.log_step(LOG, step, max_bytes=300)
    segments = [n for n in store.list_children("sessions/s1") if n.startswith("events.0")]
    assert len(segments) >= 3, segments
    assert len(list(store.read_log(LOG))) == 30
    assert max(seen) <= 12  # two segments at most, never the whole history
