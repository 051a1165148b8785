"""The Timeline on a PostgreSQL store: the same lanes, marks and links as on files, and a
later request sees what was appended since (a store without files is read again)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from state.postgres.storage import PgStorage
from state.store import open_store

A, B = "pg-lane-a", "pg-lane-b"


@pytest.fixture
def pg(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PgStorage]:
    monkeypatch.setenv("ORCHESTRA_STORE_URL", pg_url)
    store = open_store(tmp_path / "machine")
    assert isinstance(store, PgStorage)
    yield store
    store.close()


def _event(ts: float, event: str, **fields: object) -> dict[str, object]:
    return {"ts": ts, "t": "x", "event": event, **fields}


def test_lanes_marks_and_links_on_postgresql(pg: PgStorage) -> None:
    from orchestra.web.data import StateReader
    from orchestra.web.timeline import TimelineReader
    from state.eventlog import append_event
    from state.messages import send_message
    from state.sessions import create_session

    for sid in (A, B):
        create_session(pg, session_id=sid, project="shop", mode="claude-code")
    now = time.time()
    call = {"tool_input": {"command": "make test", "description": "Run the tests"}}
    for record in (_event(now - 600, "UserPromptSubmit", summary={"prompt": "Fix totals"}),
                   _event(now - 590, "PreToolUse", tool="Bash", tool_use_id="t1",
                          summary=call),
                   _event(now - 500, "PostToolUse", tool="Bash", tool_use_id="t1",
                          duration_ms=90_000, summary=call),
                   _event(now - 400, "Stop", summary={"last_assistant_message": "Done."})):
        append_event(pg, A, record)
    send_message(pg, text="rebase, please", sender=A, to_session=B)
    reader = TimelineReader(StateReader(pg))
    data = reader.timeline(project="shop", zoom="1h")
    assert {lane["session"] for lane in data["lanes"]} == {A, B}
    kinds = [(i["kind"], i.get("text")) for i in data["items"][A]]
    assert ("turn", "Fix totals") in kinds and ("tool", "Run the tests") in kinds
    [link] = data["links"]
    assert (link["from"], link["to"], link["text"]) == (A, B, "rebase, please")
    append_event(pg, B, _event(time.time(), "PreToolUse", tool="Read", tool_use_id="t2",
                               summary={"tool_input": {"file_path": "/x.py"}}))
    later = reader.timeline(project="shop", zoom="1h", sessions=B)
    assert [(i["kind"], i.get("tool"), i.get("state")) for i in later["items"][B]
            if i["kind"] == "tool"] == [("tool", "Read", "running")]
