"""RFC 9535 queries as PostgreSQL SQL/JSON paths, for the subset where the two agree.

:func:`translate` returns a path for ``jsonb_path_query(doc, path, '{}', true)``
(the last argument, ``silent``, is required) that yields the same nodes, in the
same order, as the RFC query evaluated on the same jsonb document; or None, and
the caller evaluates the query client-side. The subset:

* ``$``, then child segments of one selector each: a name (``.a``, ``['a']``),
  an index (``[0]``, ``[-1]``), a wildcard (``.*``, ``[*]``) or a filter;
* descendant segments of one name: ``..name``;
* filter conditions made of ``&&``, ``||``, parentheses, existence tests of
  singular queries (``@.a``, ``$.x[0]``) and comparisons of a singular query with
  a literal: ``==`` with a string, number, ``true``, ``false`` or ``null``;
  ``<``, ``<=``, ``>``, ``>=`` with a string or number.

Outside it: a name or string literal holding a NUL character (PostgreSQL's text
cannot hold one, and refuses ``\u0000`` in a path), ``!``, ``!=``, functions,
slices, several selectors in one bracket, ``..*`` and ``..[...]`` (whose orders
differ), comparisons between two queries (jsonb compares no objects or arrays),
literal against literal, and numbers written with an exponent.

Why the translation is exact:

* The path runs in ``strict`` mode, so nothing is unwrapped or wrapped as in
  ``lax`` mode; ``silent`` turns a structural error into "no result".
* A failing step on a path that can only give one node means no result in both
  dialects. After a step that can give several nodes (wildcard, filter,
  descendants), a name or index step is guarded, ``? (exists(@."a"))."a"``, so that
  one node without the member drops that node only, not the whole result.
* ``.**{1}`` gives the children of arrays and objects, which is the RFC's
  wildcard, in document order. Object members come in jsonb's own key order
  (shorter keys first), the order a document read back from jsonb has.
* In a filter, an error (missing member, wrong type) makes a condition
  *unknown*, which selects nothing, as the RFC's false does; ``&&`` and ``||``
  keep that so, but negation would not (not unknown is unknown), hence no
  ``!`` and no ``!=``. Booleans and null are left out of ordering comparisons,
  which PostgreSQL orders and the RFC does not.
* Strings compare by code point in a UTF-8 database, as in the RFC. Numbers
  compare exactly in PostgreSQL but as Python floats client-side: they agree
  up to 15 significant digits.
"""

from __future__ import annotations

import json

from state.jsonpath import nodes as n

__all__ = ["translate"]

_ORDERING = ("<", "<=", ">", ">=")


class _Untranslatable(Exception):
    """A part of the query PostgreSQL cannot even read (a NUL character)."""


def translate(query: n.Query) -> str | None:
    """The SQL/JSON path of ``query`` (run it with ``silent => true``), or None."""
    try:
        return _translate(query)
    except _Untranslatable:
        return None


def _translate(query: n.Query) -> str | None:
    parts = ["strict $"]
    several = False  # whether the path so far can select more than one node
    for segment in query.segments:
        if len(segment.selectors) != 1:
            return None
        selector = segment.selectors[0]
        if segment.descendant:
            if not isinstance(selector, n.Name):
                return None
            key = "." + _string(selector.name)
            parts.append(f".** ? (exists(@{key})){key}")
            several = True
        elif isinstance(selector, n.Name | n.Index):
            step = _step(selector)
            parts.append(f" ? (exists(@{step})){step}" if several else step)
        elif isinstance(selector, n.Wildcard):
            parts.append(".**{1}")
            several = True
        elif isinstance(selector, n.Filter):
            condition = _condition(selector.expr)
            if condition is None:
                return None
            parts.append(f".**{{1}} ? ({condition})")
            several = True
        else:
            return None
    return "".join(parts)


def _step(selector: n.Name | n.Index) -> str:
    if isinstance(selector, n.Name):
        return "." + _string(selector.name)
    index = selector.index
    if index >= 0:
        return f"[{index}]"
    return "[last]" if index == -1 else f"[last - {-index - 1}]"


def _string(text: str) -> str:
    # JSON's escapes are SQL/JSON path's; non-ASCII stays as it is (UTF-8 database).
    if "\x00" in text:
        # PostgreSQL's text holds no NUL, so it refuses "\u0000" in a path: the query runs
        # client-side, where such a name or literal simply matches nothing stored.
        raise _Untranslatable
    return json.dumps(text, ensure_ascii=False)


def _singular(query: n.Query) -> str | None:
    if not query.singular:
        return None
    steps = [_step(s.selectors[0]) for s in query.segments
             if isinstance(s.selectors[0], n.Name | n.Index)]
    return query.root + "".join(steps)


def _condition(expr: n.Logical) -> str | None:
    if isinstance(expr, n.Or | n.And):
        operands = [_condition(e) for e in expr.operands]
        if any(o is None for o in operands):
            return None
        joiner = " || " if isinstance(expr, n.Or) else " && "
        return "(" + joiner.join(o for o in operands if o is not None) + ")"
    if isinstance(expr, n.Exists):
        path = _singular(expr.query)
        return None if path is None else f"exists({path})"
    if isinstance(expr, n.Comparison):
        return _comparison(expr)
    return None  # Not, function calls


def _comparison(expr: n.Comparison) -> str | None:
    if expr.op not in ("==", *_ORDERING):
        return None
    sides: list[str] = []
    literals = 0
    for side in (expr.left, expr.right):
        if isinstance(side, n.Literal):
            literal = _literal(side.value, ordering=expr.op in _ORDERING)
            if literal is None:
                return None
            sides.append(literal)
            literals += 1
        elif isinstance(side, n.Query):
            path = _singular(side)
            if path is None:
                return None
            sides.append(path)
        else:
            return None
    if literals != 1:
        return None
    return f"{sides[0]} {expr.op} {sides[1]}"


def _literal(value: object, *, ordering: bool) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if ordering else json.dumps(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return None if "e" in text or "n" in text else text  # exponent, inf, nan
    return None
