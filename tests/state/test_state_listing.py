"""Reading many sessions at once: the shortcuts of a listing give the answers of the long way.

A listing (``session_manager list``, presence, the dashboard) checks each folder for
symlinks once (``Storage.reading``), reads no more of another project's session than its
``state.json``, and parses the logs many sessions share once (``pending_counts``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from state.errors import UnsafePathError
from state.messages import pending_count, pending_counts, send_message, take_undelivered
from state.paths import session_key
from state.persistence.filestore import FileStorage
from state.sessions import create_session, list_sessions, session_ids, session_summary


@pytest.fixture
def store(tmp_path: Path) -> FileStorage:
    store = FileStorage(tmp_path / "home")
    for n in range(6):
        create_session(store, project="alpha" if n % 2 else "beta", session_id=f"s{n}")
        with store.transaction(session_key(f"s{n}", "tasks.json")) as doc:
            doc["tasks"] = {"1": {"id": "1", "subject": f"task of s{n}",
                                  "status": "in_progress" if n % 3 else "pending"}}
    return store


def _timeless(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    if summary is not None:
        summary.pop("idle_seconds")  # measured at another instant by each call
    return summary


def test_a_listing_equals_the_summaries_one_by_one(store: FileStorage) -> None:
    for project in (None, "alpha", "beta", "nobody"):
        listed = [_timeless(s) for s in list_sessions(store, project=project)]
        one_by_one = [_timeless(session_summary(store, sid)) for sid in session_ids(store)]
        wanted = [s for s in one_by_one if s and (project is None or s["project"] == project)]
        assert sorted(listed, key=lambda s: s["session_id"]) == sorted(  # type: ignore[index]
            wanted, key=lambda s: s["session_id"]), project
    assert {s["session_id"] for s in list_sessions(store, project="alpha")} == {
        "s1", "s3", "s5"}


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_a_symlinked_session_folder_is_refused_inside_a_listing(
        store: FileStorage, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "state.json").write_text('{"session_id": "s9", "project": "alpha"}')
    os.symlink(elsewhere, tmp_path / "home" / "sessions" / "s9")
    with pytest.raises(UnsafePathError, match="symlink"):
        list_sessions(store)
    with store.reading():
        assert (store.read(session_key("s1", "state.json")) or {}).get("session_id") == "s1"
        with pytest.raises(UnsafePathError):
            store.read(session_key("s9", "state.json"))


def test_pending_counts_equal_pending_count_session_by_session(
        store: FileStorage, tmp_path: Path) -> None:
    for n in range(4):
        send_message(store, text=f"to alpha {n}", sender="s1", to_project="alpha")
    send_message(store, text="to everyone", sender="cli", to_all=True)
    send_message(store, text="to s2 only", sender="cli", to_session="s2")
    take_undelivered(store, "s3")  # s3 has read its messages
    (tmp_path / "home" / "sessions" / "s4" / "inbox.json").write_text("{torn")  # unreadable
    sids = session_ids(store)
    counts = pending_counts(store, sids)
    for sid in sids:
        if sid == "s4":
            assert counts[sid] is not None  # moved aside as corrupt: counted from scratch
        assert counts[sid] == pending_count(store, sid), sid
    assert counts["s3"] == 0 and counts["s2"] == 2 and counts["s5"] == 5
    assert counts["s1"] == 1  # its own project messages are not for it
