"""The syntax tree of an RFC 9535 JSONPath query: plain dataclasses, no behaviour.

``pos`` is the 0-based offset in the query text where a node starts; it is left
out of equality so that trees can be compared by shape. A query in a filter
(``@.a``, ``$.b``) is a :class:`Query` too; where it stands for a condition it is
wrapped in :class:`Exists`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class Name:
    """``.name``, ``['name']``: the member called ``name`` of an object."""

    name: str
    pos: int = field(default=0, compare=False)


@dataclass
class Wildcard:
    """``*``: every member of an object, every element of an array."""

    pos: int = field(default=0, compare=False)


@dataclass
class Index:
    """``[n]``: element ``n`` of an array, counted from the end when negative."""

    index: int
    pos: int = field(default=0, compare=False)


@dataclass
class Slice:
    """``[start:end:step]``, Python's slice semantics (the RFC's are the same)."""

    start: int | None
    end: int | None
    step: int | None
    pos: int = field(default=0, compare=False)


@dataclass
class Filter:
    """``[?expr]``: the members or elements for which ``expr`` holds."""

    expr: Logical
    pos: int = field(default=0, compare=False)


@dataclass
class Segment:
    """One ``.x``, ``[...]`` or (``descendant``) ``..x`` / ``..[...]`` step."""

    selectors: tuple[Selector, ...]
    descendant: bool = False
    pos: int = field(default=0, compare=False)


@dataclass
class Query:
    """``$...`` (``root == "$"``) or, in a filter, ``@...`` (``root == "@"``)."""

    root: str
    segments: tuple[Segment, ...] = ()
    pos: int = field(default=0, compare=False)

    @property
    def singular(self) -> bool:
        """At most one node, whatever the document: only one name or index per step."""
        return all(
            not s.descendant and len(s.selectors) == 1
            and isinstance(s.selectors[0], Name | Index)
            for s in self.segments
        )


@dataclass
class Literal:
    """A string, number, ``true``, ``false`` or ``null`` (``None``) in a filter."""

    value: str | int | float | bool | None
    pos: int = field(default=0, compare=False)


@dataclass
class Call:
    """A function: ``length``, ``count``, ``match``, ``search`` or ``value``."""

    name: str
    args: tuple[Argument, ...]
    pos: int = field(default=0, compare=False)


@dataclass
class Comparison:
    """``left op right`` with ``op`` one of ``== != < <= > >=``."""

    op: str
    left: Comparable
    right: Comparable
    pos: int = field(default=0, compare=False)


@dataclass
class Exists:
    """A query used as a condition: true when it selects at least one node."""

    query: Query
    pos: int = field(default=0, compare=False)


@dataclass
class Not:
    operand: Logical
    pos: int = field(default=0, compare=False)


@dataclass
class And:
    operands: tuple[Logical, ...]
    pos: int = field(default=0, compare=False)


@dataclass
class Or:
    operands: tuple[Logical, ...]
    pos: int = field(default=0, compare=False)
