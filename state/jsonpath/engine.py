"""Evaluation: a parsed query becomes a jsonpath-ng expression tree, and jsonpath-ng
finds the nodes.

Segments and selectors map onto jsonpath-ng's own classes, built directly (never
through its parser, whose grammar is not RFC 9535): ``Root``, ``This``, ``Child``,
``Descendants``, ``Fields``, ``Wildcard``, ``Index`` and ``Slice``, which follow
the RFC's semantics for these (jsonpath-ng >= 1.16). Several selectors in one
bracket concatenate their results per input node, as the RFC says.

jsonpath-ng has no RFC filter language (functions, the comparison rules of
section 2.3.5.2.2), so a filter selector is a small jsonpath-ng node of ours:
it offers each child of an array or object, in context (so that ``$`` still
reaches the root), to a predicate compiled from the filter expression. The
queries inside the predicate are jsonpath-ng trees again, except singular ones
(``@.status``, ``$.x[0]``: one name or index per step), which are plain lookups.

Imported only when a JSONPath is evaluated: it loads jsonpath_ng.
"""

from __future__ import annotations

from state.jsonpath import nodes as n
from state.jsonpath.functions import COMPARE, IMPLEMENTATIONS, NOTHING
from state.jsonpath.parser import FUNCTIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from jsonpath_ng.jsonpath import (
        Child,
        DatumInContext,
        Descendants,
        Fields,
        Index,
        JSONPath,
        Root,
        Slice,
        This,
        Wildcard,
    )

    Predicate = Callable[[DatumInContext], bool]
    Getter = Callable[[DatumInContext], Any]
else:  # the same classes, loaded without jsonpath-ng's parser (see state.jsonpath.ng)
    from state.jsonpath.ng import engine_module

    _ng = engine_module()
    Child, DatumInContext, Descendants = _ng.Child, _ng.DatumInContext, _ng.Descendants
    Fields, Index, JSONPath, Root = _ng.Fields, _ng.Index, _ng.JSONPath, _ng.Root
    Slice, This, Wildcard = _ng.Slice, _ng.This, _ng.Wildcard

__all__ = ["build"]

# jsonpath-ng 1.x warns when Slice() (or Fields('*'), see _members) could mean a
# wildcard; its "compliant" constructors say they never do (plain ones from 2.0 on).
_slice: Callable[..., Slice] = getattr(Slice, "_compliant_constructor", Slice)


class _Members(Fields):
    """jsonpath-ng's name selector, returning at once for anything but an object.

    Fields finds nothing there too, through a caught AttributeError per node:
    that made ``$..name`` on a 1 MB state two to three times slower.
    """

    def find(self, datum: Any) -> list[DatumInContext]:
        value = datum.value if isinstance(datum, DatumInContext) else datum
        return super().find(datum) if isinstance(value, dict) else []


_members: Callable[..., Fields] = getattr(_Members, "_compliant_constructor", _Members)

def build(query: n.Query) -> JSONPath:
    """The jsonpath-ng expression that finds the nodes of ``query``."""
    path: JSONPath = Root() if query.root == "$" else This()
    for segment in query.segments:
        selector = _selectors(segment.selectors)
        path = Descendants(path, selector) if segment.descendant else Child(path, selector)
    return path


def _selectors(selectors: tuple[n.Selector, ...]) -> JSONPath:
    if len(selectors) > 1:
        if all(isinstance(s, n.Name) for s in selectors):
            return _members(*(s.name for s in selectors if isinstance(s, n.Name)))
        return _Concat([_selector(s) for s in selectors])
    return _selector(selectors[0])


def _selector(selector: n.Selector) -> JSONPath:
    if isinstance(selector, n.Name):
        return _members(selector.name)
    if isinstance(selector, n.Wildcard):
        return Wildcard()
    if isinstance(selector, n.Index):
        return Index(selector.index)
    if isinstance(selector, n.Slice):
        return _slice(selector.start, selector.end, selector.step)
    return _FilterSelector(_predicate(selector.expr))


class _Concat(JSONPath):
    """Selectors of one bracket: each one's results for the input node, in order."""

    def __init__(self, parts: list[JSONPath]) -> None:
        self.parts = parts

    def find(self, datum: Any) -> list[DatumInContext]:
        return [match for part in self.parts for match in part.find(datum)]

    def __repr__(self) -> str:
        return f"_Concat({self.parts!r})"


_CANDIDATE = This()


class _FilterSelector(JSONPath):
    """``[?expr]``: the children of an array or object for which the predicate holds."""

    def __init__(self, predicate: Predicate) -> None:
        self.predicate = predicate

    def find(self, datum: Any) -> list[DatumInContext]:
        datum = DatumInContext.wrap(datum)
        value = datum.value
        values: Iterable[Any]
        if isinstance(value, dict):
            values = value.values()
        elif isinstance(value, list):
            values = value
        else:
            return []
        # One shared path for every candidate: Orchestra takes only the values of what a
        # query finds, and building a Fields or Index per child was a third of the cost
        # of filtering a large collection (evaluation follows contexts, never paths).
        return [child for child in (DatumInContext(v, path=_CANDIDATE, context=datum)
                                    for v in values) if self.predicate(child)]

    def __repr__(self) -> str:
        return "_FilterSelector(...)"


# -- filter expressions -> predicates --------------------------------------------------------


def _predicate(expr: n.Logical) -> Predicate:
    if isinstance(expr, n.Or):
        parts = [_predicate(e) for e in expr.operands]
        return lambda d: any(p(d) for p in parts)
    if isinstance(expr, n.And):
        parts = [_predicate(e) for e in expr.operands]
        return lambda d: all(p(d) for p in parts)
    if isinstance(expr, n.Not):
        inner = _predicate(expr.operand)
        return lambda d: not inner(d)
    if isinstance(expr, n.Exists):
        if expr.query.singular:
            value = _singular(expr.query)
            return lambda d: value(d) is not NOTHING
        path = build(expr.query)
        return lambda d: bool(path.find(d))
    if isinstance(expr, n.Comparison):
        left, right = _getter(expr.left), _getter(expr.right)
        text = _string_literal(expr.right, expr.left)
        if expr.op in ("==", "!=") and text is not None:
            # Equal to a string means being that string (RFC 9535 2.3.5.2.2): the common
            # @.status == 'pending', without the general rules' type dispatch.
            other = right if isinstance(expr.left, n.Literal) else left
            same = expr.op == "=="
            return lambda d: (isinstance(v := other(d), str) and v == text) is same
        compare = COMPARE[expr.op]
        return lambda d: compare(left(d), right(d))
    call = _call(expr)
    if FUNCTIONS[expr.name][1] == "nodes":
        return lambda d: bool(call(d))
    return call


def _string_literal(*sides: n.Comparable) -> str | None:
    """The string of the one side that is a string literal, if exactly one is."""
    found = [side.value for side in sides
             if isinstance(side, n.Literal) and isinstance(side.value, str)]
    if len(found) == 1 and not all(isinstance(side, n.Literal) for side in sides):
        return found[0]
    return None


def _getter(expr: n.Comparable) -> Getter:
    """A comparable's value for a candidate (NOTHING when a query finds no node)."""
    if isinstance(expr, n.Literal):
        value = expr.value
        return lambda d: value
    if isinstance(expr, n.Query):
        return _singular(expr)
    return _call(expr)


def _singular(query: n.Query) -> Getter:
    """The value a singular query (one name or index per step) selects, or NOTHING.

    Looked up directly rather than through jsonpath-ng, which would build two
    objects per step for every candidate of a filter: the dominant cost of
    filtering a large collection, for a lookup the RFC defines completely.
    """
    keys: list[str | int] = [
        s.name if isinstance(s, n.Name) else s.index
        for s in (seg.selectors[0] for seg in query.segments)
        if isinstance(s, n.Name | n.Index)]
    from_root = query.root == "$"

    def lookup(d: DatumInContext) -> Any:
        if from_root:
            while d.context is not None:
                d = d.context
        value = d.value
        for key in keys:
            if isinstance(key, str):
                if not isinstance(value, dict) or key not in value:
                    return NOTHING
            elif not isinstance(value, list) or not -len(value) <= key < len(value):
                return NOTHING
            value = value[key]
        return value

    return lookup


def _call(call: n.Call) -> Getter:
    params, _ = FUNCTIONS[call.name]
    args = [_argument(a, kind) for a, kind in zip(call.args, params, strict=True)]
    impl = IMPLEMENTATIONS[call.name]
    if len(args) == 1:
        only = args[0]
        return lambda d: impl(only(d))
    first, second = args
    return lambda d: impl(first(d), second(d))


def _argument(arg: n.Argument, kind: str) -> Getter:
    if kind == "nodes":
        if isinstance(arg, n.Query):
            path = build(arg)
            return lambda d: [m.value for m in path.find(d)]
        assert isinstance(arg, n.Call)  # the parser allows only these
        return _call(arg)
    if kind == "logical":
        assert not isinstance(arg, n.Literal | n.Query)
        return _predicate(arg)
    assert isinstance(arg, n.Literal | n.Query | n.Call)
    return _getter(arg)
