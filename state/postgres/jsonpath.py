"""Which JSONPath expressions the server may evaluate, and in which dialect.

:func:`translate` turns an Orchestra JSONPath (``jsonpath_ng.ext`` dialect) into a
PostgreSQL ``jsonpath`` with the same results, or returns ``None`` when it is
not sure — then the expression runs in Python on the fetched document. The
translation uses ``strict`` mode (no automatic unwrapping of arrays, which
``jsonpath_ng`` does not do either) and the query passes ``silent``, so a
missing key or an index out of range matches nothing instead of failing.

The translator is a seam: :func:`set_translator` installs a better one (the
JSONPath parser of :mod:`state.query` plugs in here once it can translate: it
is picked up automatically if ``state.query`` defines ``to_postgres_jsonpath``).
The built-in one knows the subset both dialects agree on for sure: ``$``, dot
names, quoted bracket names, non-negative indexes and ``[*]``.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["set_translator", "simple_translator", "translate"]

_translator: Callable[[str], str | None] | None = None

_NAME = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")
_QUOTED = re.compile(r"""\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]""")
_INDEX = re.compile(r"\[(\d{1,9})\]")
_WILD = re.compile(r"\[\*\]")


def set_translator(function: Callable[[str], str | None] | None) -> None:
    """Use ``function`` (JSONPath -> PostgreSQL jsonpath or None); None: the default."""
    global _translator
    _translator = function


def translate(expression: str) -> str | None:
    function = _translator
    if function is None:
        from state import query

        function = getattr(query, "to_postgres_jsonpath", None) or simple_translator
    try:
        return function(expression)
    except Exception:  # a translator that fails only costs the server-side speed-up
        return None


def simple_translator(expression: str) -> str | None:
    """``$.a["b c"][0][*]`` -> ``strict $."a"."b c"[0][*]``; None outside that subset."""
    if not expression.startswith("$"):
        return None
    out = ["strict $"]
    i = 1
    while i < len(expression):
        for pattern in (_NAME, _QUOTED, _INDEX, _WILD):
            match = pattern.match(expression, i)
            if match:
                break
        else:
            return None
        if pattern is _NAME:
            out.append(f'."{match.group(1)}"')
        elif pattern is _QUOTED:
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            if "\\" in raw:
                return None  # escapes differ between the dialects: let Python do it
            out.append('."' + raw.replace('"', '\\"') + '"')
        elif pattern is _INDEX:
            out.append(f"[{int(match.group(1))}]")
        else:
            out.append("[*]")
        i = match.end()
    return "".join(out)
