"""``state_manager get`` and ``set`` on a large state.json, made in its bytes (state.in_place).

The reference is the usual way: the same command on a twin state root whose stamps are
removed before every command (so nothing is vouched for and everything is parsed). Both
must answer the same, exit the same and leave the same bytes behind.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from state import state_manager
from state.persistence.filestore import FileStorage
from state.persistence.storage import LARGE_DOCUMENT, Storage, encode_document
from state.store import RULES

SID = "s1"
AGENTS = 2200  # about 300 KB of state.json: above LARGE_DOCUMENT


def _run(home: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    out, err = io.StringIO(), io.StringIO()
    code = state_manager.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _state(home: Path) -> Path:
    return home / "sessions" / SID / "state.json"


def _stamp(home: Path) -> Path:
    return home / "sessions" / SID / ".state.json.stamp"


@pytest.fixture(scope="module")
def large_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session whose state.json is large, written (and stamped) by state_manager."""
    home = tmp_path_factory.mktemp("large") / "home"
    mp = pytest.MonkeyPatch()
    try:
        from state import session_manager

        mp.setenv("ORCHESTRA_HOME", str(home))
        mp.delenv("ORCHESTRA_SESSION_ID", raising=False)
        assert session_manager.main(["create", "--id", SID, "--project", "p1"],
                                    stdout=io.StringIO(), stderr=io.StringIO()) == 0
        agents = {f"agent-{i:05d}": {"agent_type": "general-purpose", "status": "idle",
                                     "started_at": "2026-01-01T00:00:00.000Z", "n": i,
                                     "tools": ["Bash", "Read"] if i % 50 == 0 else []}
                  for i in range(AGENTS)}
        for path, value in (("active_work.agents", agents), ("items", [1, {"a": [2, 3]}]),
                            ("notes", {"ключ": "значение", "we\"ird": {"x": None}}),
                            ("active_work.current_epic", "EPIC-1"),
                            ("active_work.tasks.t1", {"status": "pending", "subject": "one"}),
                            ("active_work.tasks.t2", {"status": "done", "subject": "two"})):
            code, _, err = _run(home, mp, "set", SID, path, json.dumps(value))
            assert code == 0, err
    finally:
        mp.undo()
    assert _state(home).stat().st_size > LARGE_DOCUMENT
    assert _stamp(home).exists()
    return home


@pytest.fixture
def twins(large_home: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(stamped, reference): two copies of the large state root."""
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    shutil.copytree(large_home, fast)
    shutil.copytree(large_home, slow)
    return fast, slow


def _both(twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
          *argv: str) -> tuple[int, str, str]:
    fast, slow = twins
    _stamp(slow).unlink(missing_ok=True)
    expected = _run(slow, monkeypatch, *argv)
    got = _run(fast, monkeypatch, *argv)
    assert got == expected, argv
    for name in ("state.json", "identity.json", "tasks.json"):
        a, b = fast / "sessions" / SID / name, slow / "sessions" / SID / name
        assert a.exists() == b.exists(), name
        if a.exists():
            assert a.read_bytes() == b.read_bytes(), (argv, name)
    return got


PATHS = [
    "active_work.current_epic", "active_work.current_sprint", "active_work.current_epic.x",
    "active_work.agents.agent-00007", "active_work.agents.agent-00007.status",
    "active_work.agents.agent-00050.tools", "active_work.agents.agent-00050.tools.1",
    "active_work.agents.agent-99999", "active_work.agents.agent-00003.n.deeper",
    "active_work.agents", "active_work.extra", "active_work.extra.a.b",
    "items", "items.0", "items.1.a", "items.1.a.1", "items.7",
    "notes.ключ", 'notes["we\\"ird"].x', "notes.new", "fresh", "fresh.a.b",
    "status", "mode", "project", "version", "metrics.tool_calls", "ended_at",
    "active_work.tasks.t1.status",
]
VALUES = [
    "EPIC-2", "x", "", "0", "7", "-1.5", "1e400", "true", "null", "{}", "[]", '{"a": 1}',
    '{"a": {"b": []}}', '[{"x": [1]}]', '"\\ud800"', '{"k\\u00e9": "v\\n\\"q\\""}',
    '{"status": "busy", "n": 1}', json.dumps({f"k{i}": {"v": [i]} for i in range(3)}),
]


QUERIES = [
    "$.active_work.current_epic", "$.active_work['current_epic','current_sprint']",
    "$['active_work','items']['current_epic',0]", "$.active_work.agents.agent-00007",
    "$.active_work.agents['agent-00007','agent-00050'].tools[*]",
    "$.active_work.agents[?@.n < 3].status", "$.active_work.agents.*.tools[1]",
    "$.active_work.agents[?@.n == $.items[0]].n", "$.items[1].a[-1]", "$.items[*]",
    "$.notes['ключ','we\"ird']", "$.notes..x", "$.fresh.a", "$.fresh..b",
    "$.active_work.tasks", "$.active_work['tasks','current_epic']", "$.version",
    "$.metrics.tool_calls", "$.active_work", "$.status", "$.project", "$",
    "$.active_work.agents[?length(@.tools) > 1].n", "$.nothing['a','b']",
    "$.active_work.current_epic.x", "$.active_work.agents[?@.status=='busy'].n",
    "$.active_work.tasks[?@.status=='pending'].subject", "$.active_work.tasks.*.status",
    "$.active_work['tasks','agents'].t1", "$.active_work.tasks.t1[?@ == 'one']",
]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(VALUES),
                          st.sampled_from(QUERIES)), min_size=1, max_size=6))
def test_set_and_get_match_the_usual_way(
        large_home: Path, tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, str, str]]) -> None:
    root = tmp_path_factory.mktemp("twins")
    fast, slow = root / "fast", root / "slow"
    shutil.copytree(large_home, fast)
    shutil.copytree(large_home, slow)
    for path, value, query in steps:
        _both((fast, slow), monkeypatch, "set", SID, path, value)
        _both((fast, slow), monkeypatch, "get", SID, path)
        _both((fast, slow), monkeypatch, "get", SID, path.rpartition(".")[0] or path)
        _both((fast, slow), monkeypatch, "get", SID, query)
    # What the fast way wrote is what the encoder writes for that document.
    data = _state(fast).read_bytes()
    assert encode_document(json.loads(data)) == data


def test_set_and_get_of_one_member_do_not_read_the_document(
        twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    fast, _ = twins

    read, transaction = Storage.read, Storage.transaction

    def refuse(method: Any) -> Any:
        def guarded(self: Storage, key: str, *args: Any, **kwargs: Any) -> Any:
            assert not key.endswith("/state.json"), "the whole state.json was read"
            return method(self, key, *args, **kwargs)

        return guarded

    monkeypatch.setattr(Storage, "read", refuse(read))
    monkeypatch.setattr(Storage, "transaction", refuse(transaction))
    before = _state(fast).read_bytes()
    assert _run(fast, monkeypatch, "set", SID, "active_work.agents.agent-00009.status",
                "busy") == (0, '"busy"\n', "")
    assert _run(fast, monkeypatch, "get", SID, "active_work.agents.agent-00009")[0] == 0
    assert _run(fast, monkeypatch, "get", SID, "active_work.current_epic") == (
        0, '"EPIC-1"\n', "")
    assert _run(fast, monkeypatch, "get", SID,
                "$.active_work['current_epic','current_sprint']") == (
        0, '["EPIC-1",null]\n', "")
    after = _state(fast).read_bytes()
    assert after != before and len(after) == len(before)
    doc = json.loads(after)
    assert doc["active_work"]["agents"]["agent-00009"]["status"] == "busy"
    assert doc["version"] == json.loads(before)["version"] + 1


def test_a_hand_edit_is_never_trusted(twins: tuple[Path, Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Same size, same layout, different bytes: the stamp no longer vouches; the edit is
    read and kept as the usual way reads and keeps it."""
    fast, _ = twins
    path = _state(fast)
    data = path.read_bytes()
    edited = data.replace(b'"current_epic": "EPIC-1"', b'"current_epic": "EPIC-9"')
    assert edited != data and len(edited) == len(data)
    path.write_bytes(edited)
    assert _run(fast, monkeypatch, "get", SID, "active_work.current_epic")[1] == '"EPIC-9"\n'
    # A reformatted document (one line) with its old stamp: still read right, and written
    # the usual way, which stamps the new bytes.
    doc = json.loads(edited)
    doc["active_work"]["agents"]["agent-00001"] = {"moved": {"here": 1}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert _run(fast, monkeypatch, "get", SID, "active_work.agents.agent-00001.moved")[1] == (
        '{"here":1}\n')
    assert _run(fast, monkeypatch, "set", SID, "active_work.current_sprint", "S-2")[0] == 0
    written = json.loads(path.read_bytes())
    assert written["active_work"]["agents"]["agent-00001"] == {"moved": {"here": 1}}
    assert written["active_work"]["current_sprint"] == "S-2"
    assert written["active_work"]["current_epic"] == "EPIC-9"
    assert encode_document(written) == path.read_bytes()


def test_a_listener_that_wants_documents_gets_them(twins: tuple[Path, Path]) -> None:
    """A listener without ``wants`` (or one that wants this key) turns the in-place
    change off: it is made as a transaction and the listener sees both documents."""
    fast, _ = twins
    store = FileStorage(fast, rules=RULES)
    seen: list[tuple[str, Any, Any]] = []
    store.subscribe(lambda key, old, new: seen.append((key, old, new)))
    with store.member_transaction(f"sessions/{SID}/state.json") as laid:
        assert laid is None
    quiet: list[str] = []

    def listener(key: str, old: Any, new: Any) -> None:
        quiet.append(key)

    listener.wants = lambda key: False  # type: ignore[attr-defined]
    other = FileStorage(fast, rules=RULES)
    other.subscribe(listener)
    with other.member_transaction(f"sessions/{SID}/state.json") as laid:
        assert laid is not None
        laid.replace(laid.locate(["active_work", "current_epic"]), "EPIC-3")
    assert quiet == []  # it said it would do nothing with the change
    assert json.loads(_state(fast).read_bytes())["active_work"]["current_epic"] == "EPIC-3"


def test_a_document_that_does_not_fit_its_model_is_not_vouched_for(
        twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler may write what the model refuses; a set then goes the usual way, which
    refuses the write (pydantic words why) instead of slipping a change past it."""
    fast, slow = twins
    for home in (fast, slow):
        store = FileStorage(home, rules=RULES)
        with store.transaction(f"sessions/{SID}/state.json") as doc:
            doc["status"] = 7  # the model wants a string
    stamp = json.loads(_stamp(fast).read_bytes())
    assert stamp["checked"] is False
    code, _, err = _both(twins, monkeypatch, "set", SID, "active_work.current_epic", "E")
    assert code != 0 and "status" in err


def test_every_query_of_the_suite_answers_the_same_on_a_stamped_state(
        twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    for query in QUERIES:
        _both(twins, monkeypatch, "get", SID, query)


def test_a_failed_write_in_place_changes_nothing(twins: tuple[Path, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The bytes go through the same durable replace as any document write: a disk
    error leaves the document and its stamp as they were, and no temp file."""
    import errno
    import os

    fast, _ = twins
    before, stamp = _state(fast).read_bytes(), _stamp(fast).read_bytes()
    real_fsync = os.fsync

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)
    code, out, err = _run(fast, monkeypatch, "set", SID, "active_work.current_epic", "E-2")
    assert (code, out) == (1, "") and "state.json" in err and len(err.splitlines()) == 1
    assert _state(fast).read_bytes() == before and _stamp(fast).read_bytes() == stamp
    assert sorted(p.name for p in _state(fast).parent.iterdir() if p.name.endswith(".tmp")) == []
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert _run(fast, monkeypatch, "set", SID, "active_work.current_epic", "E-2")[0] == 0
    assert json.loads(_state(fast).read_bytes())["active_work"]["current_epic"] == "E-2"


def test_task_queries_read_tasks_json_only(twins: tuple[Path, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A query into active_work.tasks reads tasks.json, not the large state.json, and
    answers as the view does — also once tasks.json is gone ({} there, as in the view)."""
    fast, slow = twins
    read = Storage.read

    def guarded(self: Storage, key: str) -> Any:
        assert not key.endswith("/state.json"), "the whole state.json was read"
        return read(self, key)

    query = "$.active_work.tasks[?@.status=='pending'].subject"
    monkeypatch.setattr(Storage, "read", guarded)
    assert _run(fast, monkeypatch, "get", SID, query) == (0, '["one"]\n', "")
    monkeypatch.setattr(Storage, "read", read)
    for home in (fast, slow):
        (home / "sessions" / SID / "tasks.json").unlink()
    for each in ("$.active_work.tasks", query, "$.active_work['tasks','current_epic']"):
        _both(twins, monkeypatch, "get", SID, each)
    assert _run(fast, monkeypatch, "get", SID, "$.active_work.tasks")[1] == "[{}]\n"


def _whole_state_json_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, reading state.json whole fails the test: the get is made in place."""
    read = Storage.read

    def guarded(self: Storage, key: str) -> Any:
        assert not key.endswith("/state.json"), "the whole state.json was read"
        return read(self, key)

    monkeypatch.setattr(Storage, "read", guarded)


IN_PLACE_GETS = ["active_work.current_epic", "active_work.agents.agent-00007.status",
                 "$.active_work['current_epic','current_sprint']", "$.notes.ключ"]


@pytest.mark.parametrize("path", IN_PLACE_GETS)
def test_a_get_in_place_moves_a_corrupt_tasks_json_aside_as_the_usual_way_does(
        twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Issue 23, item 24: the session view reads tasks.json whatever the path, so a corrupt
    one is moved aside with a warning; the in-place get does the same."""
    fast, slow = twins
    for home in twins:
        (home / "sessions" / SID / "tasks.json").write_bytes(b'{"tasks": {"t1": ')
    _stamp(slow).unlink()
    expected = _run(slow, monkeypatch, "get", SID, path)
    _whole_state_json_is_not_read(monkeypatch)
    got = _run(fast, monkeypatch, "get", SID, path)
    assert got[:2] == expected[:2] and got[0] == 0
    for home, (_, _, err) in ((fast, got), (slow, expected)):
        folder = home / "sessions" / SID
        assert not (folder / "tasks.json").exists()
        moved = [p for p in folder.iterdir() if p.name.startswith("tasks.json.corrupt-")]
        assert len(moved) == 1 and moved[0].read_bytes() == b'{"tasks": {"t1": '
        assert err.startswith(f"state_manager: warning: sessions/{SID}/tasks.json: not "
                              "valid JSON (") and err.endswith(f"; moved aside to {moved[0]}\n")
        assert len(err.splitlines()) == 1


@pytest.mark.parametrize("path", IN_PLACE_GETS)
def test_a_get_in_place_refuses_a_symlinked_tasks_json_as_the_usual_way_does(
        twins: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        path: str) -> None:
    fast, slow = twins
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"tasks": {}}', encoding="utf-8")
    for home in twins:
        tasks = home / "sessions" / SID / "tasks.json"
        tasks.unlink()
        tasks.symlink_to(elsewhere)
    _stamp(slow).unlink()
    expected = _run(slow, monkeypatch, "get", SID, path)
    _whole_state_json_is_not_read(monkeypatch)
    got = _run(fast, monkeypatch, "get", SID, path)
    assert got[:2] == expected[:2] == (1, "")
    for home, (_, _, err) in ((fast, got), (slow, expected)):
        tasks = home / "sessions" / SID / "tasks.json"
        assert err == f"state_manager: error: {tasks}: is a symlink; refusing to follow it\n"
        assert tasks.is_symlink()
