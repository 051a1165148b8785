"""The RFC's comparison rules (section 2.3.5.2.2) and its five functions (sections
2.4.4 to 2.4.8), on plain JSON values; ``NOTHING`` stands for the RFC's Nothing."""

from __future__ import annotations

from state.jsonpath.iregexp import compile_iregexp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["COMPARE", "IMPLEMENTATIONS", "NOTHING"]

NOTHING: Any = object()  # an empty node list where a value was wanted


# -- the RFC's comparison rules (section 2.3.5.2.2) -----------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _equal(a: Any, b: Any) -> bool:
    if a is NOTHING or b is NOTHING:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(v, b[k]) for k, v in a.items())
    return False


def _less(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a < b)
    if isinstance(a, str) and isinstance(b, str):
        return a < b  # code point order, as the RFC asks
    return False


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _less,
    "<=": lambda a, b: _less(a, b) or _equal(a, b),
    ">": lambda a, b: _less(b, a),
    ">=": lambda a, b: _less(b, a) or _equal(a, b),
}


# -- the functions (RFC 9535 sections 2.4.4 to 2.4.8) ----------------------------------------


def _length(value: Any) -> Any:
    if isinstance(value, str | list | dict):
        return len(value)  # a string's length counts Unicode scalar values, like len()
    return NOTHING


def _count(nodes: list[Any]) -> int:
    return len(nodes)


def _match(value: Any, pattern: Any) -> bool:
    if not isinstance(value, str) or not isinstance(pattern, str):
        return False
    regex = compile_iregexp(pattern)
    return regex is not None and regex.fullmatch(value) is not None


def _search(value: Any, pattern: Any) -> bool:
    if not isinstance(value, str) or not isinstance(pattern, str):
        return False
    regex = compile_iregexp(pattern)
    return regex is not None and regex.search(value) is not None


def _value(nodes: list[Any]) -> Any:
    return nodes[0] if len(nodes) == 1 else NOTHING


IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {
    "length": _length,
    "count": _count,
    "match": _match,
    "search": _search,
    "value": _value,
}
