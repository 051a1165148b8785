"""state.jsontext gives json's answers without importing json (the hook's hot path)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state import jsontext

REPO = Path(__file__).resolve().parents[2]

_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text())
_KEYS = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner) | st.tuples(inner, inner)
                      | st.dictionaries(_KEYS, inner), max_leaves=40)


def _outcome(dumps: Any, value: Any, ascii_only: bool, options: dict[str, Any]) -> str:
    try:
        return str(dumps(value, ensure_ascii=ascii_only, **options)).split(" object at ")[0]
    except TypeError:  # keys that cannot be sorted together
        return "TypeError"


@settings(max_examples=400, deadline=None)
@given(VALUES, st.booleans())
def test_dumps_is_json_dumps(value: Any, ascii_only: bool) -> None:
    for separators in ((", ", ": "), (",", ":")):
        assert jsontext.dumps(value, ensure_ascii=ascii_only, separators=separators) == \
            json.dumps(value, ensure_ascii=ascii_only, separators=separators)
    for options in ({"sort_keys": True}, {"sort_keys": True, "default": repr},
                    {"default": repr}):
        both = [value, {"b": 1, "a": object()}] if "default" in options else value
        assert _outcome(jsontext.dumps, both, ascii_only, options) == \
            _outcome(json.dumps, both, ascii_only, options)
    for indent in (1, 2, 4):
        assert jsontext.dumps_indented(value, indent, ensure_ascii=ascii_only) == \
            json.dumps(value, indent=indent, ensure_ascii=ascii_only)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.sampled_from(["", " ", "\n", " \t\r\n"]))
def test_loads_is_json_loads(value: Any, space: str) -> None:
    text = space + json.dumps(value) + space
    assert json.dumps(jsontext.loads(text)) == json.dumps(json.loads(text))
    assert json.dumps(jsontext.loads(text.encode())) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", ["", " ", "{", "[1,]", "1 2", '{"a":1}x', '"\x01"', "nul",
                                  "\ufeff{}", '{"a" 1}', "[" * 100_000])
def test_loads_refuses_what_json_refuses(text: str) -> None:
    with pytest.raises((ValueError, RecursionError)):
        json.loads(text)
    with pytest.raises((ValueError, RecursionError)):
        jsontext.loads(text)


def test_bytes_may_start_with_a_byte_order_mark() -> None:
    assert jsontext.loads(b'\xef\xbb\xbf{"a": "\xc3\xa9"}') == {"a": "\u00e9"}
    with pytest.raises(UnicodeDecodeError):
        jsontext.loads(b'{"a": "\xff"}')


def test_what_is_not_json_is_a_type_error() -> None:
    for value in ({1, 2}, {"a": object()}, [b"bytes"], {(1, 2): 3}):
        with pytest.raises(TypeError):
            jsontext.dumps(value)
        with pytest.raises(TypeError):
            jsontext.dumps_indented(value)


def test_it_imports_neither_json_nor_re() -> None:
    """Malformed text included: the error path loads json only when it must word one."""
    code = ("import sys\nfrom state.jsontext import dumps, dumps_indented, loads\n"
            "loads(dumps({'a': [1, 2.5, None, 'é']}) + '\\n'); dumps_indented({'b': {}})\n"
            "print(sorted(m for m in ('json', 're', 'enum', 'functools') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True,
                          text=True, check=True, env={"PYTHONPATH": str(REPO)})
    assert done.stdout.strip() == "[]"
