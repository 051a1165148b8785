"""RFC 9535 JSONPath for Orchestra's state: parse and check, evaluate, translate.

* :func:`parse` turns a query into a small tree (:mod:`state.jsonpath.nodes`) or
  raises :class:`JSONPathSyntaxError` (exit 2, one line naming the position);
* :func:`evaluate` runs it with jsonpath-ng (:mod:`state.jsonpath.engine`);
* :func:`to_postgres` gives the PostgreSQL SQL/JSON path of a query when both
  dialects are known to agree on it (:mod:`state.jsonpath.postgres`), else None;
* :func:`reads_member` tells whether a query can look at a given top-level member.

Cheap to import: jsonpath_ng and ``re`` load only when a query is evaluated.
"""

from __future__ import annotations

import functools

from state.jsonpath import nodes as n
from state.jsonpath.errors import JSONPathSyntaxError, UnsupportedJSONPathError
from state.jsonpath.parser import parse_query

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "JSONPathSyntaxError",
    "UnsupportedJSONPathError",
    "compile_query",
    "evaluate",
    "parse",
    "reads_member",
    "to_postgres",
]

#: More segments than this (all queries of a query together) could exhaust
#: jsonpath-ng's recursion, which goes one level deeper per segment.
MAX_SEGMENTS = 100


@functools.lru_cache(maxsize=256)
def parse(text: str) -> n.Query:
    """The syntax tree of ``text``, checked against RFC 9535 (cached)."""
    query = parse_query(text)
    _check_size(text, query)
    return query


@functools.lru_cache(maxsize=256)
def compile_query(text: str) -> Any:
    """The jsonpath-ng expression of ``text`` (cached); raises like :func:`parse`."""
    from state.jsonpath.engine import build

    return build(parse(text))


def evaluate(text: str, document: Any) -> list[Any]:
    """The values of the nodes ``text`` selects in ``document``, in the RFC's order."""
    return [match.value for match in compile_query(text).find(document)]


def to_postgres(query: n.Query) -> str | None:
    """The SQL/JSON path for ``jsonb_path_query(doc, path, silent => true)`` that
    selects the same nodes as ``query``, or None outside the shared subset."""
    from state.jsonpath.postgres import translate

    return translate(query)


def reads_member(query: n.Query, name: str) -> bool:
    """Could ``query`` select or test the root's member ``name``? (Conservative: a
    wildcard, a descendant segment or a filter on the root may.)"""
    if not query.segments:
        return True
    first = query.segments[0]
    if first.descendant:
        return True
    for selector in first.selectors:
        if isinstance(selector, n.Filter | n.Wildcard):
            return True
        if isinstance(selector, n.Name) and selector.name == name:
            return True
    return any(reads_member(q, name) for q in _queries(query) if q.root == "$")


def _queries(query: n.Query) -> list[n.Query]:
    """The queries inside the filters of ``query``, at any depth."""
    found: list[n.Query] = []
    stack: list[Any] = [query]
    while stack:
        node = stack.pop()
        if isinstance(node, n.Query):
            if node is not query:
                found.append(node)
            stack.extend(node.segments)
        elif isinstance(node, n.Segment):
            stack.extend(node.selectors)
        elif isinstance(node, n.Filter):
            stack.append(node.expr)
        elif isinstance(node, n.Or | n.And):
            stack.extend(node.operands)
        elif isinstance(node, n.Not):
            stack.append(node.operand)
        elif isinstance(node, n.Exists):
            stack.append(node.query)
        elif isinstance(node, n.Comparison):
            stack.extend((node.left, node.right))
        elif isinstance(node, n.Call):
            stack.extend(node.args)
    return found


def _check_size(text: str, query: n.Query) -> None:
    segments = [s for q in (query, *_queries(query)) for s in q.segments]
    if len(segments) > MAX_SEGMENTS:
        last = max(s.pos for s in segments)
        raise UnsupportedJSONPathError(
            text, last, f"more than {MAX_SEGMENTS} segments in all (this query has "
            f"{len(segments)})")
