"""RFC 9535 JSONPath for Orchestra's state: parse and check, evaluate, translate.

* :func:`parse` turns a query into a small tree (:mod:`state.jsonpath.nodes`) or
  raises :class:`JSONPathSyntaxError` (exit 2, one line naming the position);
* :func:`evaluate` runs it with jsonpath-ng (:mod:`state.jsonpath.engine`), except a
  singular query (only one name or index per step, ``$.a.b[0]``), which selects at
  most one node and is looked up directly;
* :func:`to_postgres` gives the PostgreSQL SQL/JSON path of a query when both
  dialects are known to agree on it (:mod:`state.jsonpath.postgres`), else None;
* :func:`reads_member` tells whether a query can look at a given top-level member.

Cheap to import: jsonpath-ng's engine and ``re`` load only when a query other than a
singular one is evaluated (the engine, with the ``logging`` and ``typing`` it imports,
costs about 8 ms even without jsonpath-ng's parser: see :mod:`state.jsonpath.ng`).
"""

from __future__ import annotations

import functools

from state.jsonpath.errors import JSONPathSyntaxError, UnsupportedJSONPathError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.jsonpath.nodes import Query

# The parser, the engine and the translator are imported by the function that needs them
# (see "cheap to import" above).
__all__ = [
    "SYNTAX_HELP",
    "JSONPathSyntaxError",
    "UnsupportedJSONPathError",
    "compile_query",
    "evaluate",
    "parse",
    "reads_member",
    "to_postgres",
]

SYNTAX_HELP = """\
JSONPath (RFC 9535), for get and watch; the result is the list of matches:
  $                    the whole session document
  .name  ['name']      a member; quote any other name: $.files['main.py'],
                       $.active_work.tasks['task-001'] (a dotted name is
                       letters, digits and _, not starting with a digit)
  [0]  [-1]            an array element (negative: from the end)
  [1:5]  [::2]         a slice start:end:step of an array
  .*  [*]              every member or element
  ..name  ..*  ..[0]   the same at any depth below
  ['a','b']  [0,-1]    several selectors, results in that order
  [?COND]              the members or elements for which COND holds, with @ the
                       candidate and $ the document, e.g.
                       $.active_work.tasks[?@.status=='pending'].subject;
                       the form [?(@.status=="pending")] is valid too
COND: A == B (also != < <= > >=) where A and B are 'strings', numbers, true,
  false, null, singular queries (@.a, @['b'][0], $.x) or functions;
  @.a alone: "has member a"; combine with && || ! and ( ).
Functions: length(V) count(Q) value(Q) match(V, 'regex') search(V, 'regex');
  regexes are I-Regexp (RFC 9485): . [a-z] \\p{Lu} * + ? {n,m} ( | ).
Strings take 'single' or "double" quotes; \\' \\" \\\\ \\n \\uXXXX escapes.
Anything else (no quotes around a name, '=', '=~', a space after '.') exits 2
with the position of the first error; no query is answered by a guess."""


@functools.lru_cache(maxsize=256)
def parse(text: str) -> Query:
    """The syntax tree of ``text``, checked against RFC 9535 (cached)."""
    from state.jsonpath.parser import parse_query
    from state.jsonpath.walk import check_size

    query = parse_query(text)
    check_size(text, query)
    return query


@functools.lru_cache(maxsize=256)
def compile_query(text: str) -> Any:
    """The jsonpath-ng expression of ``text`` (cached); raises like :func:`parse`."""
    from state.jsonpath.engine import build

    return build(parse(text))


def evaluate(text: str, document: Any) -> list[Any]:
    """The values of the nodes ``text`` selects in ``document``, in the RFC's order."""
    query = parse(text)
    if query.singular:
        return _singular(query, document)
    return [match.value for match in compile_query(text).find(document)]


def _singular(query: Query, document: Any) -> list[Any]:
    """The node a singular query selects, as a list of zero or one value (RFC 9535,
    2.3.1.2 and 2.3.3.2: a name selects a member of an object; an index an element of
    an array, from the end when negative; anything else selects nothing). Such a walk
    needs no engine; jsonpath-ng stays the engine of every other query, and a test
    checks that both give the same results."""
    from state.jsonpath.nodes import Index, Name

    value = document
    for segment in query.segments:
        selector = segment.selectors[0]
        if isinstance(selector, Name):
            if not isinstance(value, dict) or selector.name not in value:
                return []
            value = value[selector.name]
        else:
            assert isinstance(selector, Index)  # a singular query has nothing else
            index = selector.index
            if not isinstance(value, list) or not -len(value) <= index < len(value):
                return []
            value = value[index]
    return [value]


def to_postgres(query: Query | str) -> str | None:
    """The SQL/JSON path for ``jsonb_path_query(doc, path, '{}', true)`` (``silent``)
    that selects the same nodes as ``query``, or None outside the subset the two
    dialects agree on (see :mod:`state.jsonpath.postgres`). A string is parsed
    first, and raises like :func:`parse`."""
    from state.jsonpath.postgres import translate

    return translate(parse(query) if isinstance(query, str) else query)


def reads_member(query: Query, name: str) -> bool:
    """Could ``query`` select or test the root's member ``name``? (Conservative: a
    wildcard, a descendant segment or a filter on the root may.)"""
    from state.jsonpath.walk import reads_member as reads

    return reads(query, name)
