"""The syntax tree of an RFC 9535 JSONPath query: plain value classes, no behaviour.

``pos`` is the 0-based offset in the query text where a node starts; it is left
out of equality so that trees can be compared by shape. A query in a filter
(``@.a``, ``$.b``) is a :class:`Query` too; where it stands for a condition it is
wrapped in :class:`Exists`.

Slotted classes rather than dataclasses: ``dataclasses`` imports ``re`` and
``inspect`` and generates code per class, about 8 ms on every CLI call that
checks a query.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays out of the CLI's start-up
    from typing import TypeAlias

    Selector: TypeAlias = "Name | Wildcard | Index | Slice | Filter"
    Logical: TypeAlias = "Or | And | Not | Comparison | Exists | Call"
    Comparable: TypeAlias = "Literal | Query | Call"
    Argument: TypeAlias = "Literal | Query | Call | Or | And | Not | Comparison | Exists"

__all__ = [
    "And",
    "Call",
    "Comparison",
    "Exists",
    "Filter",
    "Index",
    "Literal",
    "Name",
    "Not",
    "Or",
    "Query",
    "Segment",
    "Slice",
    "Wildcard",
]


class _Node:
    """Equality and repr over ``_fields``; ``pos`` takes no part in either."""

    __slots__ = ("pos",)
    _fields: tuple[str, ...] = ()
    pos: int

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking values: no hashing

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"


class Name(_Node):
    """``.name``, ``['name']``: the member called ``name`` of an object."""

    __slots__ = _fields = ("name",)

    def __init__(self, name: str, pos: int = 0) -> None:
        self.name, self.pos = name, pos


class Wildcard(_Node):
    """``*``: every member of an object, every element of an array."""

    __slots__ = ()

    def __init__(self, pos: int = 0) -> None:
        self.pos = pos


class Index(_Node):
    """``[n]``: element ``n`` of an array, counted from the end when negative."""

    __slots__ = _fields = ("index",)

    def __init__(self, index: int, pos: int = 0) -> None:
        self.index, self.pos = index, pos


class Slice(_Node):
    """``[start:end:step]``, Python's slice semantics (the RFC's are the same)."""

    __slots__ = _fields = ("start", "end", "step")

    def __init__(self, start: int | None, end: int | None, step: int | None,
                 pos: int = 0) -> None:
        self.start, self.end, self.step, self.pos = start, end, step, pos


class Filter(_Node):
    """``[?expr]``: the members or elements for which ``expr`` holds."""

    __slots__ = _fields = ("expr",)

    def __init__(self, expr: Logical, pos: int = 0) -> None:
        self.expr, self.pos = expr, pos


class Segment(_Node):
    """One ``.x``, ``[...]`` or (``descendant``) ``..x`` / ``..[...]`` step.

    ``spaced``: blank space inside its brackets, which the RFC's grammar does not
    allow in the segments of a singular query (``@[ 'a' ]`` cannot be compared).
    """

    __slots__ = ("descendant", "selectors", "spaced")
    _fields = ("selectors", "descendant")

    def __init__(self, selectors: tuple[Selector, ...], descendant: bool = False,
                 pos: int = 0, spaced: bool = False) -> None:
        self.selectors, self.descendant, self.pos = selectors, descendant, pos
        self.spaced = spaced


class Query(_Node):
    """``$...`` (``root == "$"``) or, in a filter, ``@...`` (``root == "@"``)."""

    __slots__ = _fields = ("root", "segments")

    def __init__(self, root: str, segments: tuple[Segment, ...] = (), pos: int = 0) -> None:
        self.root, self.segments, self.pos = root, segments, pos

    @property
    def singular(self) -> bool:
        """At most one node, whatever the document: only one name or index per step
        (the RFC's ``singular-query``)."""
        return all(
            not s.descendant and not s.spaced and len(s.selectors) == 1
            and isinstance(s.selectors[0], Name | Index)
            for s in self.segments
        )


class Literal(_Node):
    """A string, number, ``true``, ``false`` or ``null`` (``None``) in a filter."""

    __slots__ = _fields = ("value",)

    def __init__(self, value: str | int | float | bool | None, pos: int = 0) -> None:
        self.value, self.pos = value, pos

    def __eq__(self, other: object) -> bool:  # as written: true is not 1, 1.0 is not 1
        return (type(other) is Literal and type(self.value) is type(other.value)
                and self.value == other.value)


class Call(_Node):
    """A function: ``length``, ``count``, ``match``, ``search`` or ``value``."""

    __slots__ = _fields = ("name", "args")

    def __init__(self, name: str, args: tuple[Argument, ...], pos: int = 0) -> None:
        self.name, self.args, self.pos = name, args, pos


class Comparison(_Node):
    """``left op right`` with ``op`` one of ``== != < <= > >=``."""

    __slots__ = _fields = ("op", "left", "right")

    def __init__(self, op: str, left: Comparable, right: Comparable, pos: int = 0) -> None:
        self.op, self.left, self.right, self.pos = op, left, right, pos


class Exists(_Node):
    """A query used as a condition: true when it selects at least one node."""

    __slots__ = _fields = ("query",)

    def __init__(self, query: Query, pos: int = 0) -> None:
        self.query, self.pos = query, pos


class Not(_Node):
    __slots__ = _fields = ("operand",)

    def __init__(self, operand: Logical, pos: int = 0) -> None:
        self.operand, self.pos = operand, pos


class And(_Node):
    __slots__ = _fields = ("operands",)

    def __init__(self, operands: tuple[Logical, ...], pos: int = 0) -> None:
        self.operands, self.pos = operands, pos


class Or(_Node):
    __slots__ = _fields = ("operands",)

    def __init__(self, operands: tuple[Logical, ...], pos: int = 0) -> None:
        self.operands, self.pos = operands, pos
