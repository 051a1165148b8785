"""state.persistence.spans on arbitrary documents: finding a member in the bytes finds what parsing
finds, and replacing it gives the bytes the encoder writes for the changed document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from state.persistence.spans import MISSING, LaidOut, Untrusted, stamp, trust
from state.persistence.storage import LARGE_DOCUMENT, encode_document, encode_document_layout

# Names that look like the layout's own punctuation, or need escaping.
NAMES = st.one_of(st.sampled_from(['a', 'b', '"', '\\', '\n', '": ', ',\n  "', '{', 'ключ',
                                   '}', ' ', '', 'tasks', '\u2028', 'a"b']),
                  st.text(max_size=6))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=8))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(NAMES, inner, max_size=4)), max_leaves=20)
PAD = "x" * (LARGE_DOCUMENT + 10)


def _large(doc: dict[str, Any]) -> bytes:
    data, laid_out = encode_document_layout(doc)
    if not laid_out:  # (a lone surrogate makes the encoder escape everything: no layout)
        assume(False)
    return data


def _get(doc: Any, path: list[str]) -> Any:
    for name in path:
        if not isinstance(doc, dict) or name not in doc:
            return MISSING
        doc = doc[name]
    return doc


@st.composite
def documents_and_paths(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    body = draw(st.dictionaries(NAMES, VALUES, min_size=1, max_size=5))
    doc = {"pad": PAD, **body} if draw(st.booleans()) else {**body, "pad": PAD}
    doc.setdefault("nested", {"keeps": ["the root expanded"]})
    path: list[str] = []
    node: Any = doc
    while (isinstance(node, dict) and node and draw(st.booleans())) or not path:
        if isinstance(node, dict) and node and draw(st.integers(0, 4)):
            name = draw(st.sampled_from(sorted(node)))
        else:
            name = draw(NAMES)  # often missing
        path.append(name)
        node = node.get(name) if isinstance(node, dict) else None
    return doc, path


@settings(max_examples=300, deadline=None)
@given(documents_and_paths(), VALUES)
def test_locate_and_replace_agree_with_parsing_and_encoding(
        case: tuple[dict[str, Any], list[str]], new: Any) -> None:
    doc, path = case
    data = _large(doc)
    try:
        laid = LaidOut(data)  # (a root with nothing nested is one line: refused)
        where = laid.locate(path)
    except Untrusted:
        assume(False)
        return
    head = path[:where.depth]
    assert 1 <= where.depth <= len(path)
    parent = _get(doc, head[:-1])
    assert isinstance(parent, dict)  # the layout only walks through objects
    assert laid.value(where) == _get(doc, head)  # (MISSING when it is not there)
    if where.depth < len(path):  # it stopped early: what is below has to be parsed
        assert where.span is not None  # a value on one line, or an array
        start = where.span[0]
        assert data[start:start + 2] != b"{\n"
    # Replace it: the bytes must be the encoder's for the changed document.
    changed = json.loads(data)
    _get(changed, head[:-1])[head[-1]] = new
    try:
        laid.replace(where, new)
        written = laid.commit()
    except Untrusted:
        event("left to the usual way")
        return
    event("replaced in place")
    assert written == encode_document(changed)


def test_a_stamp_vouches_for_its_bytes_only() -> None:
    data = _large({"a": {"b": [1, {"c": 2}]}, "pad": PAD})
    vouched = stamp(data, checked=True)
    assert isinstance(trust(data, vouched), LaidOut)
    assert trust(data, stamp(data, checked=False)) is None  # not known to fit its model
    assert trust(data, stamp(data, checked=False), checked=False) is not None
    other = data.replace(b'"c": 2', b'"c": 3')
    assert trust(other, vouched) is None  # same size, other bytes
    assert trust(data + b" ", vouched) is None
    assert trust(data, vouched[:-3]) is None  # a torn stamp
    assert trust(data, None) is None
    assert trust(None, vouched) is None
    compact = json.dumps(json.loads(data)).encode()  # another layout, stamped by mistake
    assert trust(compact, stamp(compact, checked=True)) is None


@pytest.mark.parametrize("new", [{}, [], 1, "s", None])
def test_a_member_that_kept_its_object_expanded_is_not_folded_in_place(new: Any) -> None:
    """Replacing the only nested member of an object by something flat would fold the
    object onto one line: that is left to the usual way."""
    data = _large({"pad": PAD, "o": {"a": 1, "n": {"deep": [1]}}})
    laid = LaidOut(data)
    with pytest.raises(Untrusted):
        laid.replace(laid.locate(["o", "n"]), new)
