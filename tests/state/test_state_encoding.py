"""How documents are written: ``json.dumps(indent=2)``, and one entry per line above
``LARGE_DOCUMENT`` (state.persistence.storage.encode_document)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.persistence import storage
from state.persistence.filestore import FileStorage
from state.persistence.storage import LARGE_DOCUMENT, encode_document

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6) | st.sampled_from(["\ud800", "é", '"{[\\', "\n"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                               max_size=4),
    max_leaves=30,
)
_docs = st.dictionaries(st.text(max_size=4), _json, max_size=5)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON, NaN included."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(_docs)
def test_a_document_below_the_threshold_is_written_as_before(doc: dict[str, Any]) -> None:
    try:
        expected = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        expected.encode("utf-8")
    except UnicodeEncodeError:
        expected = json.dumps(doc, indent=2) + "\n"
    assert encode_document(doc) == expected.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(_docs)
def test_one_entry_per_line_reads_back_as_the_same_document(
        doc: dict[str, Any]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(storage, "LARGE_DOCUMENT", 0)  # every document is "large"
        data = encode_document(doc)
    assert data.endswith(b"\n")
    assert _same(json.loads(data), doc)
    for line in data.decode("utf-8").split("\n")[:-1]:  # valid UTF-8, one entry a line
        assert _one_entry(line.strip().removesuffix(",")), line


def _one_entry(line: str) -> bool:
    """An opening or closing bracket, ``"name": {`` or ``[``, or one (named) value."""
    if line in ("{", "[", "}", "]"):
        return True
    if line.endswith(("{", "[")):
        line += "}" if line.endswith("{") else "]"
    try:
        return len(json.loads("{" + line + "}")) == 1  # one member
    except ValueError:
        pass
    try:
        json.loads(line)  # one element
    except ValueError:
        return False
    return True


def test_a_large_document_is_one_entry_per_line() -> None:
    agents = {f"agent-{i:05d}": {"status": "busy", "n": i, "tags": [], "meta": {}}
              for i in range(4000)}
    doc = {"session_id": "s1", "active_work": {"agents": agents, "ids": ["a", "b"],
                                               "nested": [{"x": [1, {"y": 2}]}]}}
    text = encode_document(doc).decode("utf-8")
    assert len(text) > LARGE_DOCUMENT
    assert text.startswith('{\n  "session_id": "s1",\n  "active_work": {\n    "agents": {\n'
                           '      "agent-00000": {"status": "busy", "n": 0, "tags": [], '
                           '"meta": {}},\n      "agent-00001": ')
    assert text.endswith('\n    "ids": ["a", "b"],\n    "nested": [\n      {\n        "x": [\n'
                         '          1,\n          {"y": 2}\n        ]\n      }\n    ]\n  }\n}\n')
    assert json.loads(text) == doc
    assert len(text.splitlines()) == 4000 + 16


def test_a_large_document_goes_through_the_store_and_back(tmp_path: Any) -> None:
    fs = FileStorage(tmp_path)
    agents = {f"a{i}": {"notes": "é" * 40, "n": i} for i in range(6000)}
    with fs.transaction("sessions/s1/state.json") as doc:
        doc.update(session_id="s1", active_work={"agents": agents}, odd="\ud800")
    raw = (tmp_path / "sessions" / "s1" / "state.json").read_bytes()
    assert b'"a17": {"notes": "' in raw and b'"odd": "\\ud800"' in raw  # escaped: valid UTF-8
    assert fs.read("sessions/s1/state.json") == {
        "schema_version": 1, "session_id": "s1", "active_work": {"agents": agents},
        "odd": "\ud800", "version": 1}


def test_keys_that_are_not_strings_are_left_to_json() -> None:
    doc = {"big": {str(i): [i] for i in range(30000)}, "n": {1: "one", None: [2]}}
    assert json.loads(encode_document(doc)) == json.loads(json.dumps(doc))
