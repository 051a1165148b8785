"""Questions about a parsed query that need no document: which queries it holds,
whether it can reach a top-level member, whether it is small enough to run."""

from __future__ import annotations

from state.jsonpath import nodes as n
from state.jsonpath.errors import UnsupportedJSONPathError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MAX_SEGMENTS", "check_size", "queries", "reads_member"]

#: More segments than this (all queries of a query together) could exhaust
#: jsonpath-ng's recursion, which goes one level deeper per segment.
MAX_SEGMENTS = 100


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
    return any(reads_member(q, name) for q in queries(query) if q.root == "$")


def queries(query: n.Query) -> list[n.Query]:
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


def check_size(text: str, query: n.Query) -> None:
    segments = [s for q in (query, *queries(query)) for s in q.segments]
    if len(segments) > MAX_SEGMENTS:
        last = max(s.pos for s in segments)
        raise UnsupportedJSONPathError(
            text, last, f"more than {MAX_SEGMENTS} segments in all (this query has "
            f"{len(segments)})")
