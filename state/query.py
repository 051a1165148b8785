"""Addressing values inside documents: dot paths and JSONPath.

Dot paths (``execution.tasks.task-001.status``) are used to get, set, merge and
delete. A key that itself contains a dot is written with a backslash before the
dot (``files.main\\.py``) or in brackets (``files["main.py"].owner``). A segment of
digits indexes a list when the value there is a list.

Anything starting with ``$`` is an RFC 9535 JSONPath query (filters included:
``$.active_work.tasks[?@.status=='pending']``), checked by :mod:`state.jsonpath`
and evaluated with jsonpath-ng. A query that is not RFC 9535 raises
:class:`~state.errors.InvalidQueryError` naming the position, rather than
matching nothing.
"""

from __future__ import annotations

import json

from state.errors import InvalidPathError, InvalidQueryError, InvalidValueError, NotFoundError
from state.persistence.storage import MAX_DEPTH, nesting_depth

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from typing import Any

__all__ = [
    "deep_merge",
    "delete_path",
    "format_path",
    "get_path",
    "is_jsonpath",
    "jsonpath_query",
    "jsonpath_reads",
    "parse_path",
    "parse_value",
    "refuse_too_deep",
    "set_path",
    "to_postgres_jsonpath",
]


def is_jsonpath(path: str) -> bool:
    """A JSONPath starts with ``$``; leading blank space is a JSONPath error, not a key."""
    return path.lstrip(" \t\n\r").startswith("$")


def parse_path(path: str) -> list[str]:
    """Split a dot path into keys. ``""`` and ``"."`` mean the whole document."""
    if path in ("", "."):
        return []
    parts: list[str] = []
    current: list[str] = []
    i = 0
    closed_bracket = False
    while i < len(path):
        ch = path[i]
        if ch == "\\" and i + 1 < len(path):
            current.append(path[i + 1])
            i += 2
            continue
        if ch == "." :
            if not current and not closed_bracket:
                raise InvalidPathError(f"invalid path {path!r}: empty key")
            if current:
                parts.append("".join(current))
            current, closed_bracket = [], False
        elif ch == "[" and path[i + 1 : i + 2] in ('"', "'"):
            quote = path[i + 1]
            end = path.find(quote + "]", i + 2)
            if end < 0:
                raise InvalidPathError(f"invalid path {path!r}: unclosed [{quote}...{quote}]")
            if current:
                parts.append("".join(current))
                current = []
            parts.append(path[i + 2 : end])
            i = end + 2
            closed_bracket = True
            continue
        else:
            if closed_bracket:
                raise InvalidPathError(f"invalid path {path!r}: expected '.' after ']'")
            current.append(ch)
        i += 1
    if current:
        parts.append("".join(current))
    elif not closed_bracket:
        raise InvalidPathError(f"invalid path {path!r}: empty key")
    return parts


def format_path(parts: list[str]) -> str:
    """The dot path that :func:`parse_path` turns back into ``parts``."""
    # '[' is escaped too, else a key such as '["x"]' would read back as 'x';
    # an empty key can only be written in brackets.
    return ".".join(
        '[""]' if not p else p.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[")
        for p in parts
    )


def _step(container: Any, key: str, path: list[str]) -> Any:
    if isinstance(container, dict):
        if key in container:
            return container[key]
    elif isinstance(container, list) and key.isdigit() and int(key) < len(container):
        return container[int(key)]
    raise NotFoundError(f"path not found: {format_path(path)}")


def get_path(doc: Any, parts: list[str]) -> Any:
    current = doc
    for i, key in enumerate(parts):
        current = _step(current, key, parts[: i + 1])
    return current


def set_path(doc: dict[str, Any], parts: list[str], value: Any) -> Any:
    """Set ``value`` at ``parts``, creating missing objects; return the old value or None."""
    if not parts:
        raise InvalidPathError("cannot replace the whole document; name a key")
    current: Any = doc
    for i, key in enumerate(parts[:-1]):
        if isinstance(current, dict):
            nxt = current.get(key)
            if nxt is None:
                nxt = current[key] = {}
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            nxt = current[int(key)]
        else:
            raise InvalidPathError(
                f"cannot set {format_path(parts)}: {format_path(parts[: i + 1])} is not an object"
            )
        current = nxt
    last = parts[-1]
    if isinstance(current, dict):
        old = current.get(last)
        current[last] = value
        return old
    if isinstance(current, list) and last.isdigit() and int(last) < len(current):
        old = current[int(last)]
        current[int(last)] = value
        return old
    raise InvalidPathError(f"cannot set {format_path(parts)}: parent is not an object")


def delete_path(doc: dict[str, Any], parts: list[str]) -> Any:
    """Remove the value at ``parts`` and return it; NotFoundError if absent."""
    if not parts:
        raise InvalidPathError("cannot delete the whole document; name a key")
    parent = get_path(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise NotFoundError(f"path not found: {format_path(parts)}")


def deep_merge(target: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Merge ``data`` into ``target`` recursively (objects merge, other values replace)."""
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            target[key] = value
    return target


def jsonpath_query(doc: Any, expression: str) -> list[Any]:
    """All values matching the RFC 9535 query ``expression``, in the RFC's order.

    Raises :class:`~state.errors.InvalidQueryError` (one line, naming the position)
    for a query that is not RFC 9535, or that Orchestra will not risk answering.
    """
    from state.jsonpath import evaluate  # the JSONPath engine: only for a query

    try:
        return evaluate(expression, doc)
    except RecursionError:  # a document nested deeper than Python's stack
        raise InvalidQueryError(
            f"JSONPath {expression!r} failed: the document is nested too deeply") from None


def jsonpath_reads(expression: str, key: str) -> bool:
    """Could ``expression`` look at the top-level member ``key``? Raises like
    :func:`jsonpath_query` when it is not a valid query."""
    from state.jsonpath import parse, reads_member  # the JSONPath parser: only for a query

    return reads_member(parse(expression), key)


def to_postgres_jsonpath(expression: str) -> str | None:
    """``expression`` as a PostgreSQL SQL/JSON path with the same results, or None outside
    the subset both dialects agree on (the PostgreSQL store then queries in Python)."""
    from state.jsonpath import to_postgres  # only a PostgreSQL store

    return to_postgres(expression)


def parse_value(text: str, *, mode: str = "auto") -> Any:
    """A command-line value: JSON when it parses as JSON (``auto``), or forced."""
    if mode == "string":
        return text
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError:
        if mode == "json":
            raise InvalidValueError(f"not valid JSON: {text[:60]!r}") from None
        return text
    except RecursionError:  # valid JSON, but deeper than the parser goes
        raise InvalidValueError(f"the JSON value {text[:20]!r}... nests objects and arrays "
                                f"too deeply: a stored document nests at most {MAX_DEPTH} "
                                "levels") from None


def _not_json(name: str) -> Any:
    """NaN and Infinity are Python's extensions, not JSON: refused like any other text
    that is not JSON (a stored NaN would make the document unreadable elsewhere)."""
    raise ValueError(f"{name} is not JSON")


def refuse_too_deep(value: Any, what: str) -> None:
    """InvalidValueError if ``value``, stored below at least one key, would nest a
    document deeper than :data:`state.persistence.storage.MAX_DEPTH` whatever the key: said here,
    before the value reaches code that recurses through it. (Where a longer path takes
    it past the bound, the store refuses the write.)"""
    if nesting_depth(value) > MAX_DEPTH - 1:
        raise InvalidValueError(f"{what} nests objects and arrays more than {MAX_DEPTH - 1} "
                                f"levels deep; a stored document nests at most {MAX_DEPTH} "
                                "(nothing written)")
