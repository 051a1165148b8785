"""The RFC 9535 parser: the trees it builds, the errors it names, its limits, and
what it costs to import. (The compliance suite is in test_jsonpath_cts.py.)"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.errors import InvalidQueryError
from state.jsonpath import (
    JSONPathSyntaxError,
    UnsupportedJSONPathError,
    evaluate,
    parse,
    reads_member,
)
from state.jsonpath.nodes import (
    And,
    Call,
    Comparison,
    Exists,
    Filter,
    Index,
    Literal,
    Name,
    Not,
    Or,
    Query,
    Segment,
    Slice,
    Wildcard,
)
from state.jsonpath.parser import MAX_DEPTH
from state.jsonpath.walk import MAX_SEGMENTS


def seg(*selectors: Any, descendant: bool = False) -> Segment:
    return Segment(tuple(selectors), descendant)


def rel(*names: str | int) -> Query:
    return Query("@", tuple(seg(Name(x) if isinstance(x, str) else Index(x)) for x in names))


# -- trees ----------------------------------------------------------------------------------


def test_segments_and_selectors() -> None:
    assert parse("$") == Query("$")
    assert parse("$.a['b'][0][-1][1:2:3][::-1][:][*].*..c..[0]..*['x',0,*]") == Query("$", (
        seg(Name("a")), seg(Name("b")), seg(Index(0)), seg(Index(-1)),
        seg(Slice(1, 2, 3)), seg(Slice(None, None, -1)), seg(Slice(None, None, None)),
        seg(Wildcard()), seg(Wildcard()),
        seg(Name("c"), descendant=True), seg(Index(0), descendant=True),
        seg(Wildcard(), descendant=True),
        seg(Name("x"), Index(0), Wildcard()),
    ))


def test_blank_space_where_the_rfc_allows_it() -> None:
    spaced = "$ .a [ 'b' , 1 ] [ ? @.c == 1 ] [ 1 : 2 : 3 ]"
    assert parse(spaced) == Query("$", (
        seg(Name("a")), seg(Name("b"), Index(1)),
        seg(Filter(Comparison("==", rel("c"), Literal(1)))), seg(Slice(1, 2, 3)),
    ))


def test_filters() -> None:
    query = parse("$[?@.a == 'x' && !(@.b || $.c[0] > 1.5) || @.d]")
    condition = Or((
        And((
            Comparison("==", rel("a"), Literal("x")),
            Not(Or((Exists(rel("b")), Comparison(
                ">", Query("$", (seg(Name("c")), seg(Index(0)))), Literal(1.5))))),
        )),
        Exists(rel("d")),
    ))
    assert query == Query("$", (seg(Filter(condition)),))


def test_functions() -> None:
    query = parse("$[?length(@.a) > 2 && match(@.b, 'x.*') && count(@.*) == value($..n)]")
    condition = And((
        Comparison(">", Call("length", (rel("a"),)), Literal(2)),
        Call("match", (rel("b"), Literal("x.*"))),
        Comparison("==", Call("count", (Query("@", (seg(Wildcard()),)),)),
                   Call("value", (Query("$", (seg(Name("n"), descendant=True),)),))),
    ))
    assert query == Query("$", (seg(Filter(condition)),))


@pytest.mark.parametrize("seed", [
    "$.active_work.tasks[?(@.status=='pending')]",
    '$.active_work.tasks[?(@.status=="pending")]',
    "$.active_work.tasks[?@.status == 'pending']",
])
def test_the_seeds_filter_forms_are_the_rfcs(seed: str) -> None:
    assert parse(seed) == Query("$", (
        seg(Name("active_work")), seg(Name("tasks")),
        seg(Filter(Comparison("==", rel("status"), Literal("pending")))),
    ))


def test_literals_and_escapes() -> None:
    def literal(text: str) -> Any:
        expr = parse(f"$[?@ == {text}]").segments[0].selectors[0]
        assert isinstance(expr, Filter) and isinstance(expr.expr, Comparison)
        assert isinstance(expr.expr.right, Literal)
        return expr.expr.right.value

    assert literal("true") is True and literal("false") is False and literal("null") is None
    assert literal("-0") == 0 and literal("1e3") == 1000.0 and literal("-1.5E-1") == -0.15
    assert literal("12") == 12 and type(literal("12")) is int
    assert parse(r'''$["\u00e9\uD83D\uDE00\n\"'\/\\"]''').segments[0].selectors[0] == Name(
        "\u00e9\U0001f600\n\"'/\\")
    assert parse(r"$['\'']") == Query("$", (seg(Name("'")),))
    with pytest.raises(JSONPathSyntaxError, match="needs no escape"):
        parse(r"$['\"']")  # \" is not an escape inside '...'


def test_singular_queries() -> None:
    assert rel("a", 0, "b").singular
    assert not parse("$[?@.*]").segments[0].selectors[0].expr.query.singular  # type: ignore
    # The RFC's singular-query has no room for blank space inside its brackets.
    with pytest.raises(JSONPathSyntaxError, match="singular"):
        parse("$[?@[ 'a' ] == 1]")
    assert parse("$[?@ ['a'] [0] == 1]")  # between segments it is allowed


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "position", "reason"), [
    ("a.b", 1, "starts with '$'"),
    (" $.a", 1, "starts with '$'"),
    ("$.a ", 4, "whitespace is not allowed at the end"),
    ("$.a b", 5, "unexpected 'b' after the query"),
    ("$.tasks.task-001", 13, "quote the name, as in ['task-001']"),
    ("$.1", 3, "cannot start with a digit: write ['1'] for a member or [1] for an index"),
    ("$.1a", 3, "write ['1a'] for a member"),
    ("$[?@.task-001 == 1]", 10, "quote the name, as in ['task-001']"),
    ("$. a", 3, "whitespace is not allowed after '.'"),
    ("$.'a'", 3, "a quoted name goes in brackets"),
    ("$.[0]", 3, "no '.' before '['"),
    ("$[a]", 3, "a name in brackets must be quoted: ['a']"),
    ("$[]", 3, "empty brackets"),
    ("$[0,]", 5, "expected a selector after ','"),
    ("$[0", 2, "unclosed '['"),
    ("$['a", 3, "unclosed string"),
    ("$[01]", 3, "leading zeros"),
    ("$[-0]", 3, "'-0' is not a valid index"),
    ("$[9007199254740992]", 3, "out of range"),
    ("$['\\q']", 4, "invalid escape"),
    ("$['\\uD800']", 4, "high surrogate must be followed"),
    ("$['\\uDC00']", 4, "low surrogate"),
    ("$['\x01']", 4, "control character U+0001 must be escaped"),
    ("$[?@.a = 1]", 8, "'=' is not an operator: compare with '=='"),
    ("$[?@.a =~ 'x']", 8, "use match(@.x, 'regex') or search(@.x, 'regex')"),
    ("$[?@.a == 1 == 2]", 13, "comparisons cannot be chained"),
    ("$[?!@.a == 1]", 9, "write !(a == b)"),
    ("$[?(@.a) == 1]", 10, "a parenthesised condition cannot be compared"),
    ("$[?(@.a]", 8, "expected ')', '&&' or '||', found ']'"),
    ("$[?(@.a", 4, "unclosed '('"),
    ("$[?@.* == 1]", 4, "only a singular query"),
    ("$[?1]", 4, "a literal on its own is not a condition"),
    ("$[?@.a == True]", 11, "literals are lowercase: true"),
    ("$[?@.a == pending]", 11, "quote strings ('pending')"),
    ("$[?@.a + 1 == 2]", 8, "arithmetic is not part of RFC 9535"),
    ("$.a.`len`", 5, "use the functions length()"),
    ("$[?foo(@)]", 4, "unknown function foo()"),
    ("$[?length (@) == 1]", 10, "no blank space is allowed between length and '('"),
    ("$[?length(@)]", 4, "length() gives a value, not a condition"),
    ("$[?match(@, 'a') == true]", 4, "match() gives a condition, not a value"),
    ("$[?count(1) == 1]", 10, "argument 1 of count() must be a query"),
    ("$[?length(@.*) == 1]", 11, "argument 1 of length() must be a single value"),
    ("$[?value(@) == 1 && search(@, 'a', 'b')]", 21, "search() takes 2 arguments, not 3"),
    ("$[?match(@, '(')]", 14, "pattern is not an I-Regexp"),
    ("$[?search(@, 'a\\\\d')]", 16, "pattern is not an I-Regexp"),
])
def test_errors_name_the_position(query: str, position: int, reason: str) -> None:
    with pytest.raises(JSONPathSyntaxError) as info:
        parse(query)
    error = info.value
    assert not isinstance(error, UnsupportedJSONPathError)
    assert isinstance(error, InvalidQueryError) and error.exit_code == 2
    assert (error.position, reason in error.reason) == (position, True), str(error)
    assert str(error).startswith(f"invalid JSONPath at position {position}: ")
    assert "\n" not in str(error)


def test_a_long_query_is_shown_around_the_position() -> None:
    query = "$." + ".".join(f"member{i}" for i in range(20)) + ".=oops"
    with pytest.raises(JSONPathSyntaxError) as info:
        parse(query)
    message = str(info.value)
    assert "=oops" in message and message.count("...") == 1 and len(message) < 200


@pytest.mark.parametrize("query", [
    "$[?" + "(" * MAX_DEPTH + "@" + ")" * MAX_DEPTH + "]",
    "$" + "[?@" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    "$[?" + "length(" * (MAX_DEPTH + 1) + "@" + ")" * (MAX_DEPTH + 1) + " == 1]",
    "$" + ".a" * (MAX_SEGMENTS + 1),
    "$[?@" + ".a" * MAX_SEGMENTS + "]",
])
def test_queries_beyond_the_limits_are_unsupported_not_crashes(query: str) -> None:
    with pytest.raises(UnsupportedJSONPathError) as info:
        parse(query)
    assert str(info.value).startswith("unsupported JSONPath at position ")


def test_queries_within_the_limits_run() -> None:
    deep = "$[?" + "(" * (MAX_DEPTH - 2) + "@" + ")" * (MAX_DEPTH - 2) + "]"
    assert evaluate(deep, [[1], 2]) == [[1], 2]
    nested = "$" + "[?@" * (MAX_DEPTH // 2) + "]" * (MAX_DEPTH // 2)
    assert evaluate(nested, [[[1]]]) == []
    long = "$" + ".a" * MAX_SEGMENTS
    doc: Any = 1
    for _ in range(MAX_SEGMENTS):
        doc = {"a": doc}
    assert evaluate(long, doc) == [1]


_JSONPATH_CHARS = st.sampled_from([
    *"$@.[]()?*:,'\"!=<>&|-0123456789abe \t\\",
    "length(", "count(", "value(", "match(", "search(", "true", "null", "\u00e9", "\ud800"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_JSONPATH_CHARS, max_size=25).map("".join))
def test_any_text_parses_or_fails_with_one_line(tail: str) -> None:
    text = "$" + tail
    try:
        query = parse(text)
    except JSONPathSyntaxError as exc:
        assert "\n" not in str(exc) and 1 <= exc.position <= len(text) + 1
        return
    result = evaluate(text, {"a": [1, {"b": "x"}], "b": {"a": None}})
    assert isinstance(result, list) and isinstance(query, Query)


# -- what a query may read --------------------------------------------------------------------


@pytest.mark.parametrize(("query", "reads"), [
    ("$", True), ("$.metrics", True), ("$['metrics'].events", True), ("$.*", True),
    ("$[*]", True), ("$..events", True), ("$[?@.events]", True), ("$['mode','metrics']", True),
    ("$.active_work.tasks[?$.metrics.events > 1]", True),
    ("$.active_work", False), ("$.active_work..x", False), ("$[0]", False),
    ("$.active_work.tasks[?@.metrics]", False), ("$.a[?$.b[?$.metrics]]", True),
])
def test_reads_member(query: str, reads: bool) -> None:
    assert reads_member(parse(query), "metrics") is reads


# -- cost -------------------------------------------------------------------------------------


def test_checking_a_query_imports_neither_jsonpath_ng_nor_heavy_modules(
        python_env: dict[str, str]) -> None:
    code = ("import sys; import state.jsonpath as j\n"
            "j.parse('$.a[?@.b == 1 && match(@.c, \"x\")]')\n"
            "try:\n    j.parse('$.a[')\nexcept j.JSONPathSyntaxError: pass\n"
            "print(sorted(m for m in ('jsonpath_ng', 'dataclasses', 'typing', 'inspect')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=python_env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_a_dot_path_get_does_not_load_the_jsonpath_parser(
        python_env: dict[str, str], tmp_path: Any) -> None:
    env = dict(python_env, ORCHESTRA_HOME=str(tmp_path))
    subprocess.run([sys.executable, "-m", "state.session_manager", "create", "--id", "s1",
                    "--project", "p"], env=env, capture_output=True, check=True, timeout=60)
    code = ("import sys; from state.state_manager import main\n"
            "assert main(['get', 's1', 'mode']) == 0\n"
            "print(sorted(m for m in ('jsonpath_ng', 'state.jsonpath.parser')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
