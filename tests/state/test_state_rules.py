"""The store knows no domain: what it must know of the documents it asks the rules it was
handed where it was opened (``DocumentRules``), and a store handed none knows nothing.

Each rule is shown to be asked — a store opened with other rules behaves accordingly — and
:func:`state.store.open_store` hands over Orchestra's (:data:`state.store.RULES`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from state.errors import InvalidQueryError
from state.persistence.filestore import FileStorage
from state.persistence.spans import Untrusted
from state.persistence.storage import (
    LARGE_DOCUMENT,
    NO_RULES,
    DocumentRules,
    MemoryStorage,
    Storage,
)
from state.store import RULES, open_store

KEY = "sessions/s1/state.json"
#: A session document above the large-document size, which fits its model.
LARGE = {"session_id": "s1", "status": "active",
         "active_work": {"current_epic": None,
                         "agents": {f"a{i:05d}": {"n": i, "tools": ["x"]} for i in range(9000)}}}


def _stamp(root: Path) -> dict[str, Any]:
    stamp: dict[str, Any] = json.loads(
        (root / "sessions" / "s1" / ".state.json.stamp").read_bytes())
    return stamp


def test_open_store_hands_over_orchestras_rules(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRA_STORE_URL", raising=False)
    store = open_store(tmp_path)
    assert store.rules is RULES
    assert FileStorage(tmp_path).rules is NO_RULES and MemoryStorage().rules is NO_RULES


@pytest.mark.parametrize("backend", ["file", "memory"])
def test_a_store_without_rules_knows_nothing_of_the_documents(backend: str,
                                                               tmp_path: Path) -> None:
    store: Storage = FileStorage(tmp_path) if backend == "file" else MemoryStorage()
    # No containers: a state.json whose active_work is a list is plain JSON to it ...
    with store.transaction(KEY) as doc:
        doc.update(session_id="s1", active_work=[])
    assert store.read(KEY) == {"session_id": "s1", "active_work": [], "schema_version": 1,
                               "version": 1}
    assert store.problems == []
    # ... no query language ...
    with pytest.raises(InvalidQueryError, match="without a query language"):
        store.query_jsonpath(KEY, "$.session_id")


def test_with_orchestras_rules_a_container_of_another_type_is_corrupt(tmp_path: Path) -> None:
    FileStorage(tmp_path).put_volatile(KEY, {"session_id": "s1", "active_work": []})
    store = FileStorage(tmp_path, rules=RULES)
    assert store.read(KEY) is None  # moved aside, as a document that does not parse
    assert "active_work should be a JSON object" in store.problems[0]
    assert store.query_jsonpath("x.json", "$.a") == []


def test_the_stamp_says_what_the_rules_say(tmp_path: Path) -> None:
    """Only the rules vouch for a large document: without them its stamp says unchecked,
    and no member of it is changed in its bytes."""
    plain, ruled = FileStorage(tmp_path / "plain"), FileStorage(tmp_path / "ruled", rules=RULES)
    for store in (plain, ruled):
        with store.transaction(KEY) as doc:
            doc.update(json.loads(json.dumps(LARGE)))
    assert (tmp_path / "ruled" / "sessions" / "s1" / "state.json").stat().st_size > (
        LARGE_DOCUMENT)
    assert _stamp(tmp_path / "plain")["checked"] is False
    assert _stamp(tmp_path / "ruled")["checked"] is True
    assert plain.read_laid_out(KEY) is None
    assert ruled.read_laid_out(KEY) is not None


def test_a_member_changed_in_the_bytes_is_written_only_if_the_rules_accept_it(
        tmp_path: Path) -> None:
    asked: list[tuple[str, list[str], Any]] = []

    class Strict(DocumentRules):
        def fits(self, key: str, doc: dict[str, Any]) -> bool:
            return True

        def fits_member(self, key: str, parts: list[str], value: Any) -> bool:
            asked.append((key, parts, value))
            return isinstance(value, str)

    store = FileStorage(tmp_path, rules=Strict())
    with store.transaction(KEY) as doc:
        doc.update(json.loads(json.dumps(LARGE)))
    before = (tmp_path / "sessions" / "s1" / "state.json").read_bytes()
    with pytest.raises(Untrusted), store.member_transaction(KEY) as laid:
        assert laid is not None
        laid.replace(laid.locate(["active_work", "current_epic"]), 7)
    assert (tmp_path / "sessions" / "s1" / "state.json").read_bytes() == before
    with store.member_transaction(KEY) as laid:
        assert laid is not None
        laid.replace(laid.locate(["active_work", "current_epic"]), "E-1")
    assert asked == [(KEY, ["active_work", "current_epic"], 7),
                     (KEY, ["active_work", "current_epic"], "E-1")]
    assert store.require(KEY)["active_work"]["current_epic"] == "E-1"
    assert store.require(KEY)["version"] == 2
    # Orchestra's rules: active_work.current_epic is a string or null (the model's field)
    assert RULES.fits_member(KEY, ["active_work", "current_epic"], None)
    assert not RULES.fits_member(KEY, ["active_work", "current_epic"], 7)
    assert not RULES.fits_member("projects/p/epics.json", ["x"], 1)  # no model: not vouched


def test_queries_are_evaluated_by_the_rules(tmp_path: Path) -> None:
    class Echo(DocumentRules):
        def query(self, doc: Any, expression: str) -> list[Any]:
            return [expression, sorted(doc)]

    store = FileStorage(tmp_path, rules=Echo())
    with store.transaction("a.json") as doc:
        doc["x"] = 1
    assert store.query_jsonpath("a.json", "anything") == [
        "anything", ["schema_version", "version", "x"]]
    with FileStorage(tmp_path, rules=RULES).transaction("a.json") as doc:
        doc["y"] = [1, 2]
    assert FileStorage(tmp_path, rules=RULES).query_jsonpath("a.json", "$.y[-1]") == [2]
    assert RULES.server_query("$.y[0]") is not None  # the PostgreSQL dialect, by the domain


def test_orchestras_rules_name_its_volatile_and_latest_only_documents() -> None:
    assert RULES.volatile("sessions/s1/heartbeat.json")
    assert not RULES.volatile("sessions/s1/state.json")
    assert RULES.needs_latest("sessions/s1/inbox.json")
    assert not RULES.needs_latest("sessions/s1/state.json")
    assert RULES.state_folders == ("sessions", "projects")
    assert not NO_RULES.volatile("sessions/s1/heartbeat.json")
    assert not NO_RULES.needs_latest("sessions/s1/inbox.json")
