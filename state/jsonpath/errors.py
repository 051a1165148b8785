"""Errors of the JSONPath layer: one line each, naming the position in the query."""

from __future__ import annotations

from state.errors import InvalidQueryError

__all__ = ["JSONPathSyntaxError", "UnsupportedJSONPathError"]

_SHOWN = 60  # characters of a long query shown around the position


def _excerpt(text: str, pos: int) -> str:
    """The query as a one-line literal; a window around ``pos`` when it is long."""
    if len(text) <= _SHOWN:
        return repr(text)
    start = max(0, min(pos - _SHOWN // 2, len(text) - _SHOWN))
    end = start + _SHOWN
    return ("..." if start else "") + repr(text[start:end]) + ("..." if end < len(text) else "")


class JSONPathSyntaxError(InvalidQueryError):
    """Not an RFC 9535 query. ``position`` counts characters from 1 (the ``$``)."""

    kind = "invalid"

    def __init__(self, text: str, offset: int, reason: str) -> None:
        self.text = text
        self.position = offset + 1
        self.reason = reason
        super().__init__(f"{self.kind} JSONPath at position {self.position}: {reason} "
                         f"(in {_excerpt(text, offset)})")


class UnsupportedJSONPathError(JSONPathSyntaxError):
    """A valid RFC 9535 query that Orchestra refuses rather than risk a wrong answer."""

    kind = "unsupported"
