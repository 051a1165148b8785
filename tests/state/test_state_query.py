"""Dot paths, JSONPath and command-line values: the functions, then the same
rules through ``state_manager``."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from state.errors import InvalidPathError, InvalidQueryError, InvalidValueError, NotFoundError
from state.query import (
    deep_merge,
    delete_path,
    format_path,
    get_path,
    jsonpath_query,
    parse_path,
    parse_value,
    set_path,
)

# -- parse_path / format_path --------------------------------------------------------------


@pytest.mark.parametrize(("path", "parts"), [
    ("a", ["a"]),
    ("execution.tasks.task-001.status", ["execution", "tasks", "task-001", "status"]),
    ("files.main\\.py", ["files", "main.py"]),
    ('files["main.py"].owner', ["files", "main.py", "owner"]),
    ("files['a.b.c']", ["files", "a.b.c"]),
    ('["a.b"]', ["a.b"]),
    ('[""]', [""]),
    ("a\\\\.b", ["a\\", "b"]),
    ("list.0.x", ["list", "0", "x"]),
    ("", []),
    (".", []),
])
def test_parse_path(path: str, parts: list[str]) -> None:
    assert parse_path(path) == parts


@pytest.mark.parametrize("path", ["a..b", ".a", "a.", 'a["b"c', 'a["b', "a['b\"]"])
def test_parse_path_refuses_malformed_paths(path: str) -> None:
    with pytest.raises(InvalidPathError):
        parse_path(path)


@given(st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_format_path_round_trips(parts: list[str]) -> None:
    assert parse_path(format_path(parts)) == parts


# -- get / set / merge / delete -----------------------------------------------------------


def test_set_creates_missing_objects() -> None:
    doc: dict[str, Any] = {"a": {"keep": 1}}
    assert set_path(doc, ["a", "b", "c", "d"], 5) is None
    assert doc == {"a": {"keep": 1, "b": {"c": {"d": 5}}}}
    assert set_path(doc, ["a", "keep"], 2) == 1  # returns the old value


def test_set_and_get_keys_with_dots() -> None:
    doc: dict[str, Any] = {}
    set_path(doc, parse_path("files.main\\.py.owner"), "ann")
    set_path(doc, parse_path('files["util.py"].owner'), "bob")
    assert doc == {"files": {"main.py": {"owner": "ann"}, "util.py": {"owner": "bob"}}}
    assert get_path(doc, parse_path('files["main.py"].owner')) == "ann"
    assert get_path(doc, parse_path("files.util\\.py.owner")) == "bob"


def test_list_index() -> None:
    doc: dict[str, Any] = {"items": [{"x": 1}, {"x": 2}, 3]}
    assert get_path(doc, ["items", "1", "x"]) == 2
    set_path(doc, ["items", "0", "x"], 9)
    set_path(doc, ["items", "2"], 4)
    assert doc["items"] == [{"x": 9}, {"x": 2}, 4]
    assert delete_path(doc, ["items", "0"]) == {"x": 9}
    assert doc["items"] == [{"x": 2}, 4]
    with pytest.raises(NotFoundError):
        get_path(doc, ["items", "5"])
    with pytest.raises(InvalidPathError):
        set_path(doc, ["items", "5"], 1)  # no silent append or padding


def test_get_missing_and_through_scalars() -> None:
    doc = {"a": {"b": 1}}
    with pytest.raises(NotFoundError, match=r"a\.c"):
        get_path(doc, ["a", "c"])
    with pytest.raises(NotFoundError):
        get_path(doc, ["a", "b", "c"])
    assert get_path(doc, []) == doc


def test_set_refuses_to_walk_through_a_scalar() -> None:
    doc = {"a": 1}
    with pytest.raises(InvalidPathError):
        set_path(doc, ["a", "b"], 2)
    with pytest.raises(InvalidPathError):
        set_path(doc, [], 2)
    assert doc == {"a": 1}


def test_delete() -> None:
    doc = {"a": {"b": 1, "c": 2}}
    assert delete_path(doc, ["a", "b"]) == 1
    assert doc == {"a": {"c": 2}}
    with pytest.raises(NotFoundError):
        delete_path(doc, ["a", "b"])
    with pytest.raises(InvalidPathError):
        delete_path(doc, [])


def test_deep_merge() -> None:
    target = {"a": {"x": 1, "y": {"z": 1}}, "keep": True, "list": [1]}
    deep_merge(target, {"a": {"y": {"w": 2}, "x": 5}, "list": [2], "new": None})
    assert target == {"a": {"x": 5, "y": {"z": 1, "w": 2}}, "keep": True, "list": [2],
                      "new": None}


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.dictionaries(st.text(min_size=1, max_size=4), children, max_size=3),
    max_leaves=10,
), st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=4))
def test_set_then_get_returns_the_value(value: Any, parts: list[str]) -> None:
    doc: dict[str, Any] = {}
    set_path(doc, parts, copy.deepcopy(value))
    assert get_path(doc, parse_path(format_path(parts))) == value


# -- JSONPath ----------------------------------------------------------------------------

DOC = {"active_work": {"tasks": {
    "t1": {"status": "pending", "subject": "one"},
    "t2": {"status": "done", "subject": "two"},
    "t3": {"status": "pending", "subject": "three"},
}, "agents": [{"n": 1}, {"n": 5}]}}


@pytest.mark.parametrize(("expression", "expected"), [
    ("$.active_work.tasks[?(@.status=='pending')].subject", ["one", "three"]),
    ('$.active_work.tasks[?(@.status=="done")]', [{"status": "done", "subject": "two"}]),
    ("$.active_work.agents[?(@.n > 2)].n", [5]),
    ("$..subject", ["one", "two", "three"]),
    ("$.active_work.agents[*].n", [1, 5]),
    ("$.active_work.missing", []),
])
def test_jsonpath(expression: str, expected: list[Any]) -> None:
    assert jsonpath_query(DOC, expression) == expected


INVALID_JSONPATH = ["$[?(", "$.a.", "$..", "$.a[", "$.a b", "$[?(@.x ==)]", "$$", "$.a)",
                    "$.a['b'", "$ foo", '$.active_work.tasks[?(@.subject =~ "(")]']


@pytest.mark.parametrize("expression", INVALID_JSONPATH)
def test_invalid_jsonpath_is_an_error_not_an_empty_result(expression: str) -> None:
    with pytest.raises(InvalidQueryError) as info:
        jsonpath_query(DOC, expression)
    assert "\n" not in str(info.value) and "JSONPath" in str(info.value)


def test_compiled_expressions_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    import state.jsonpath.parser as parser

    calls: list[str] = []
    real = parser.parse_query

    def counting(expression: str) -> Any:
        calls.append(expression)
        return real(expression)

    monkeypatch.setattr(parser, "parse_query", counting)
    expression = "$.active_work.agents[?(@.n == 424242)]"  # not used by any other test
    for _ in range(3):
        assert jsonpath_query(DOC, expression) == []
    assert calls == [expression]


# -- values on the command line ------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1), ("1.5", 1.5), ("-2", -2), ("true", True), ("null", None), ('"x"', "x"),
    ('{"a": [1]}', {"a": [1]}), ("[]", []), ("hello", "hello"), ("[1", "[1"),
    ("epic-001", "epic-001"), ("", ""), ("True", "True"), ("'x'", "'x'"),
])
def test_values_are_json_when_valid_else_strings(text: str, value: Any) -> None:
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_value_modes_force_json_or_string() -> None:
    assert parse_value("42", mode="string") == "42"
    assert parse_value("null", mode="string") == "null"
    assert parse_value("42", mode="json") == 42
    with pytest.raises(InvalidValueError):
        parse_value("hello", mode="json")


# -- the same through state_manager ----------------------------------------------------------


def test_cli_set_creates_missing_objects_and_get_reads_them(sm: Any, session: str) -> None:
    assert sm("set", session, "notes.deep.er.value", "1").json() == 1
    assert sm("get", session, "notes").json() == {"deep": {"er": {"value": 1}}}


def test_cli_keys_with_dots(sm: Any, session: str) -> None:
    assert sm("set", session, "files.main\\.py", "ann").code == 0
    assert sm("set", session, 'files["util.py"]', "bob").code == 0
    assert sm("get", session, "files").json() == {"main.py": "ann", "util.py": "bob"}
    assert sm("get", session, 'files["main.py"]').json() == "ann"
    assert sm("get", session, "$.files['util.py']").json() == ["bob"]


def test_cli_list_index(sm: Any, session: str) -> None:
    assert sm("set", session, "items", "[10, 20, 30]").code == 0
    assert sm("set", session, "items.1", "21").code == 0
    assert sm("get", session, "items.1").json() == 21
    assert sm("delete", session, "items.0").json() == 10
    assert sm("get", session, "items").json() == [21, 30]
    sm("get", session, "items.9").assert_error(3)


def test_cli_jsonpath_filter(sm: Any, session: str) -> None:
    for tid, status in (("t1", "pending"), ("t2", "completed"), ("t3", "pending")):
        assert sm("set", session, f"active_work.tasks.{tid}",
                  f'{{"id": "{tid}", "status": "{status}"}}').code == 0
    result = sm("get", session, "$.active_work.tasks[?(@.status=='pending')]")
    assert result.code == 0
    assert [t["id"] for t in result.json()] == ["t1", "t3"]
    assert sm("get", session, "$.active_work.tasks[?(@.status=='nope')]").json() == []


@pytest.mark.parametrize("expression", INVALID_JSONPATH)
def test_cli_invalid_jsonpath_exits_2_with_one_line(
    sm: Any, session: str, expression: str
) -> None:
    line = sm("get", session, expression).assert_error(2)
    assert "JSONPath" in line


def test_cli_jsonpath_is_read_only(sm: Any, session: str) -> None:
    sm("set", session, "$.mode", "x").assert_error(2)
    assert sm("get", session, "mode").json() == "development"


def test_cli_value_parsing(sm: Any, session: str) -> None:
    cases = [("42", 42), ("true", True), ('{"a": 1}', {"a": 1}), ("epic-7", "epic-7"),
             ("null", None)]
    for text, value in cases:
        assert sm("set", session, "v", text).json() == value
        assert sm("get", session, "v").json() == value
    assert sm("set", session, "v", "42", "--string").json() == "42"
    assert sm("get", session, "v").json() == "42"
    assert sm("set", session, "v", "[1, 2]", "--json").json() == [1, 2]
    sm("set", session, "v", "not json", "--json").assert_error(2)
    assert sm("get", session, "v").json() == [1, 2]  # nothing written
    sm("set", session, "v", "1", "--json", "--string").assert_error(2)
