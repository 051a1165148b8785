"""decode_lines (one decode, then json's C scanner line by line) reads a JSONL buffer exactly
as parsing each line alone with state.jsontext.loads does (issue 27)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from state.jsontext import loads
from state.persistence.storage import decode_lines

REPO = Path(__file__).resolve().parents[2]


def one_by_one(data: bytes) -> Iterator[dict[str, Any]]:
    """What decode_lines returned before it scanned a decoded buffer: each line parsed on
    its own, torn and foreign lines skipped."""
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue
        if isinstance(record, dict):
            yield record


def same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Equal, NaN included, and of the same types (1 is not 1.0)."""
    return json.dumps(a) == json.dumps(b) and repr(a) == repr(b)


_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text())
VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
OBJECTS = st.dictionaries(st.text(max_size=8), VALUES, max_size=5)
SPACE = st.sampled_from(["", " ", "\t", "\r", " \t\r ", "\x0b", "\x0c"])


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["object", "object", "object", "value", "torn", "blank",
                                 "indented", "two", "bytes", "bom", "nul", "surrogate",
                                 "deep"]))
    if kind == "object":
        text = json.dumps(draw(OBJECTS), ensure_ascii=draw(st.booleans()),
                          separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
        return (draw(SPACE) + text + draw(SPACE)).encode("utf-8", "surrogatepass")
    if kind == "value":
        return json.dumps(draw(VALUES)).encode()
    if kind == "torn":
        text = json.dumps(draw(OBJECTS)).encode()
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "blank":
        return draw(SPACE).encode()
    if kind == "indented":  # a value split across lines: no line parses alone
        return json.dumps(draw(OBJECTS), indent=draw(st.integers(0, 2))).encode()
    if kind == "two":
        return (json.dumps(draw(OBJECTS)) + draw(SPACE) + json.dumps(draw(OBJECTS))).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=12)).replace(b"\n", b"")
    if kind == "bom":
        return b"\xef\xbb\xbf" + json.dumps(draw(OBJECTS)).encode()
    if kind == "nul":
        return draw(st.sampled_from([b"\x00{}", b"{\x00}", b'{"a":"\x00"}', b"\x00"]))
    if kind == "surrogate":  # a lone surrogate, encoded as it is or escaped
        return draw(st.sampled_from([b'{"s":"\xed\xa0\x80"}', b'{"s":"\\ud800"}',
                                     b'{"\xed\xb0\x80":1}']))
    depth = draw(st.sampled_from([5, 2000]))
    return b'{"d":' + b"[" * depth + b"]" * depth + b"}"


@settings(max_examples=600, deadline=None)
@given(st.lists(lines(), max_size=12), st.booleans())
def test_decode_lines_reads_each_line_as_loads_does(parts: list[bytes], newline: bool) -> None:
    data = b"\n".join(parts) + (b"\n" if newline else b"")
    assert same(list(decode_lines(data)), list(one_by_one(data)))
    data = data.replace(b"\n", b"\r\n")  # written on Windows by hand
    assert same(list(decode_lines(data)), list(one_by_one(data)))


def test_decode_lines_examples() -> None:
    data = (b'{"a":1}\n \t{"b":2} \r\n\n[1]\n{"c":\n1}\n{"x":1} {"y":2}\n{"n":NaN}\n'
            b'{"t":"\xed\xa0\x80"}\n\xff{"z":1}\n{"u":"\xc3\xbc"}\n{"torn":')
    got = list(decode_lines(data))
    assert same(got, list(one_by_one(data)))
    assert [sorted(r) for r in got] == [["a"], ["b"], ["n"], ["t"], ["u"]]


def test_decode_lines_without_json_loaded() -> None:
    """On the hook's path json is not imported: the C scanner then fails otherwise on a
    malformed value (json.decoder missing), and the line is skipped all the same."""
    code = (
        "import sys\n"
        "from state.persistence.storage import decode_lines\n"
        "assert 'json' not in sys.modules\n"
        "data = (b'{\"a\":1}\\n{\"b\": [1,}\\n{\"c\":\"x\\x01\"}\\n'\n"
        "        b'{\"d\":{\"e\":}}\\n{\"f\":2}\\n')\n"
        "print([sorted(r) for r in decode_lines(data)])\n"
        "assert 'json' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-P", "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[['a'], ['f']]"
