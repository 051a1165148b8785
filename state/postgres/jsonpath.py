"""Which JSONPath expressions the server may evaluate, and in which dialect.

:func:`translate` turns a JSONPath into a PostgreSQL ``jsonpath`` with the same
results, or returns ``None`` when it is not sure — then the expression runs in Python
on the fetched document. The translator is the store's rules' (``server_query``: the
domain's JSONPath engine knows the subset both dialects agree on, see
:func:`state.jsonpath.to_postgres`), handed to the store where it is opened; this
module imports no query language of its own.

:func:`set_translator` installs another one, which wins (a seam for tests and
experiments). :func:`simple_translator` is a conservative one that needs no parser:
``$``, dot names, quoted bracket names, non-negative indexes and ``[*]``, in ``strict``
mode (no automatic unwrapping of arrays).
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


def translate(expression: str,
              translator: Callable[[str], str | None] | None = None) -> str | None:
    """``expression`` for the server by the installed translator, else ``translator``
    (the store's rules'), else None: evaluate it in Python."""
    function = _translator or translator
    if function is None:
        return None
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
