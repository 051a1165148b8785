"""Evaluation on jsonpath-ng: the RFC's semantics where they are easy to get wrong,
the shapes Orchestra's state has, and random well-formed queries on random JSON."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.jsonpath import compile_query, evaluate

DOC = {
    "active_work": {"tasks": {
        "task-001": {"status": "pending", "subject": "one", "blocks": ["task-002"]},
        "task-002": {"status": "completed", "subject": "two", "blocks": []},
        "3": {"status": "pending", "subject": "three"},
    }},
    "files": {"main.py": {"owner": "ann"}},
    "n": [1, 1.0, True, "1", None, [1], {"a": 1}],
}


@pytest.mark.parametrize(("query", "expected"), [
    ("$.active_work.tasks[?@.status=='pending'].subject", ["one", "three"]),
    ("$.active_work.tasks['task-001'].subject", ["one"]),
    ("$.active_work.tasks['3'].subject", ["three"]),
    ("$.active_work.tasks[?length(@.blocks) > 0].subject", ["one"]),
    ("$.active_work.tasks[?!@.blocks].subject", ["three"]),
    ("$.active_work.tasks[?count(@.blocks[*]) == 0].subject", ["two", "three"]),
    ("$.active_work.tasks[?search(@.subject, 't[wh]')].subject", ["two", "three"]),
    ("$.files['main.py'].owner", ["ann"]),
    ("$..owner", ["ann"]),
    ("$.n[?@ == 1]", [1, 1.0]),  # true is not 1; "1" is not 1
    ("$.n[?@ == true]", [True]),
    ("$.n[?@ == null]", [None]),
    ("$.n[?@ < 2]", [1, 1.0]),  # only numbers and strings are ordered
    ("$.n[?@ <= '1']", ["1"]),
    ("$.n[?@ == $.n[5]]", [[1]]),  # arrays and objects compare by value
    ("$.n[?@.a == 1]", [{"a": 1}]),
    ("$.n[?@.missing == $.nothing]", [1, 1.0, True, "1", None, [1], {"a": 1}]),  # Nothing==Nothing
    ("$.n[?@.missing != 1]", [1, 1.0, True, "1", None, [1], {"a": 1}]),
    ("$.n[?length(@) == 1]", ["1", [1], {"a": 1}]),
    ("$.n[-1:-3:-1]", [{"a": 1}, [1]]),
    ("$.n[1::5]", [1.0, {"a": 1}]),
    ("$.n[0, -1, 0]", [1, {"a": 1}, 1]),
    ("$.active_work.tasks.*.blocks[0]", ["task-002"]),
    ("$.missing", []),
    ("$.n.a", []),  # a name selects nothing from an array
    ("$.files[0]", []),  # an index selects nothing from an object
])
def test_rfc_semantics_on_a_session_shaped_document(query: str, expected: list[Any]) -> None:
    got = evaluate(query, DOC)
    assert [(type(v), v) for v in got] == [(type(v), v) for v in expected]


def test_object_members_come_in_document_order() -> None:
    doc = {"b": 1, "a": 2, "c": {"z": 3, "y": 4}}
    assert evaluate("$.*", doc) == [1, 2, {"z": 3, "y": 4}]
    assert evaluate("$..*", doc) == [1, 2, {"z": 3, "y": 4}, 3, 4]


def test_root_inside_nested_filters_is_the_document() -> None:
    doc = {"limit": 2, "groups": [{"items": [1, 2, 3]}, {"items": [5]}]}
    assert evaluate("$.groups[?@.items[?@ > $.limit]].items", doc) == [[1, 2, 3], [5]]
    assert evaluate("$.groups[*].items[?@ > $.limit]", doc) == [3, 5]


def test_the_compiled_tree_is_jsonpath_ngs() -> None:
    from jsonpath_ng.jsonpath import Child, Descendants, JSONPath

    tree = compile_query("$.a..b[0]")
    assert isinstance(tree, Child) and isinstance(tree.left, Descendants)
    assert isinstance(compile_query("$[?@.a]"), JSONPath)


# -- random well-formed queries on random documents --------------------------------------------

_names = st.sampled_from(["a", "b", "k"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False)
    | st.sampled_from(["", "a", "ab", "b\u00e9"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=12,
)


def _segments(singular: bool) -> st.SearchStrategy[str]:
    one = _names.map(lambda n: f".{n}") | st.integers(-3, 3).map(lambda i: f"[{i}]")
    if singular:
        return st.lists(one, max_size=3).map("".join)
    many = one | st.sampled_from([".*", "[*]", "..a", "..*", "[::-1]", "[1:]", "['a',0]"])
    return st.lists(many, max_size=3).map("".join)


def _query(singular: bool) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["@", "$"]), _segments(singular)).map("".join)


_literal = st.sampled_from(["1", "-0.5", "'a'", "true", "false", "null", "2e0"])
_value = st.one_of(
    _literal, _query(True),
    _query(True).map(lambda q: f"length({q})"),
    _query(False).map(lambda q: f"count({q})"),
    _query(False).map(lambda q: f"value({q})"),
)
_test = st.one_of(
    _query(False),
    st.tuples(_value, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _value).map(" ".join),
    _value.map(lambda v: f"match({v}, 'a.*')"),
    _value.map(lambda v: f"search({v}, '[ab]')"),
)
_condition = st.recursive(
    _test,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"{t[0]} && {t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} || {t[1]})"),
        inner.map(lambda c: f"!({c})"),
    ),
    max_leaves=4,
)
_top = st.lists(_segments(False) | _condition.map(lambda c: f"[?{c}]"), min_size=1,
                max_size=3).map(lambda parts: "$" + "".join(parts))


@settings(max_examples=400, deadline=None)
@given(_top, _json)
def test_any_well_formed_query_evaluates(query: str, doc: Any) -> None:
    result = evaluate(query, doc)
    assert isinstance(result, list)
    # Every result is a value from the document (filters never invent values).
    assert all(any(r is v for v in _walk(doc)) for r in result)


def _walk(value: Any) -> list[Any]:
    out = [value]
    children = value.values() if isinstance(value, dict) else value if isinstance(
        value, list) else []
    for child in children:
        out.extend(_walk(child))
    return out


# -- singular queries: looked up without jsonpath-ng, with jsonpath-ng's results ---------------

_singular_step = st.one_of(
    _names.map(lambda n: f".{n}"), _names.map(lambda n: f"['{n}']"),
    st.integers(-4, 4).map(lambda i: f"[{i}]"),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_singular_step, max_size=4).map(lambda s: "$" + "".join(s)), _json)
def test_a_singular_query_selects_what_jsonpath_ng_selects(query: str, doc: Any) -> None:
    engine = [match.value for match in compile_query(query).find(doc)]
    got = evaluate(query, doc)
    assert len(got) == len(engine) <= 1
    assert all(a is b for a, b in zip(got, engine, strict=True))  # the same node, not a copy


def test_a_singular_query_does_not_load_jsonpath_ng() -> None:
    import subprocess
    import sys

    code = ("import sys; from state.jsonpath import evaluate; "
            "assert evaluate(\"$.a['b'][-1]\", {'a': {'b': [1, 2]}}) == [2]; "
            "assert 'jsonpath_ng' not in sys.modules; "
            "assert evaluate('$.a[*]', {'a': [1]}) == [1]; "
            "assert 'jsonpath_ng.jsonpath' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


_LIGHT_IMPORT = """
import json, sys
from state.jsonpath import evaluate
doc = {"a": {"b": 1, "c": [2, 3]}}
first = evaluate("$.a['b','c'][*]", doc) + evaluate("$.a['c','b']", doc)
engine = sys.modules["jsonpath_ng.jsonpath"]
parser_loaded = "jsonpath_ng.parser" in sys.modules or "jsonpath_ng._ply.yacc" in sys.modules
init_ran = "parse" in vars(sys.modules["jsonpath_ng"])
import jsonpath_ng  # any other code: the real package, with its parser
print(json.dumps({
    "first": first, "parser_loaded": parser_loaded, "init_ran": init_ran,
    "parse": [m.value for m in jsonpath_ng.parse("a.c[1]").find(doc)],
    "same_classes": jsonpath_ng.Fields is engine.Fields and jsonpath_ng.jsonpath is engine,
    "again": evaluate("$.a.c[*]", doc),
}))
"""


def test_the_engine_loads_without_jsonpath_ngs_parser_and_the_package_still_works(
        python_env: dict[str, str]) -> None:
    """A fresh process evaluates with jsonpath-ng's node classes without running its
    package's __init__ (which loads its ply parser); code that uses jsonpath_ng afterwards
    gets the real package, with the same classes (state.jsonpath.ng). Where jsonpath_ng
    was imported first, that one is used."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    expected = {"first": [2, 3, [2, 3], 1], "parse": [3], "same_classes": True,
                "again": [2, 3]}
    for prelude, loaded in (("", False), ("import threading\n", False),
                            ("import jsonpath_ng\n", True)):
        done = subprocess.run([sys.executable, "-c", prelude + _LIGHT_IMPORT], env=python_env,
                              cwd=repo, capture_output=True, text=True, timeout=60, check=True)
        found = json.loads(done.stdout)
        assert found.pop("parser_loaded") is loaded, prelude
        assert found.pop("init_ran") is loaded, prelude
        assert found == expected, prelude
