"""Fixed-width ASCII layout: boxes, columns, bars and safe, width-aware text.

Every line a view prints is exactly :data:`WIDTH` display cells wide (78, so a
view fits an 80-column terminal with room for a margin). Text from state is
untrusted: control characters (newlines, tabs, ANSI escapes) become spaces, and
East Asian wide characters count as two cells so the borders stay aligned.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

__all__ = [
    "INNER",
    "WIDTH",
    "Box",
    "bar",
    "clean",
    "columns",
    "fit",
    "kv",
    "pad",
    "short_time",
    "width",
    "wrap",
]

WIDTH = 78
INNER = WIDTH - 4  #: text cells between "| " and " |"
ELLIPSIS = ".."


def clean(value: object) -> str:
    """One line of printable text: control characters (newlines, ESC) become spaces."""
    text = "" if value is None else str(value)
    return "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text).rstrip()


def _cells(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def width(text: str) -> int:
    return sum(_cells(ch) for ch in text)


def fit(value: object, cells: int) -> str:
    """``value`` cleaned and cut to at most ``cells`` cells (ending in '..' if cut)."""
    text = clean(value)
    if width(text) <= cells:
        return text
    out, used = [], 0
    limit = max(cells - len(ELLIPSIS), 0)
    for ch in text:
        w = _cells(ch)
        if used + w > limit:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS[: cells - used]


def pad(value: object, cells: int, *, right: bool = False) -> str:
    """``value`` fitted and padded with spaces to exactly ``cells`` cells."""
    text = fit(value, cells)
    space = " " * (cells - width(text))
    return space + text if right else text + space


def wrap(value: object, cells: int, *, lines: int | None = None) -> list[str]:
    """Greedy word wrap to ``cells``; at most ``lines`` lines (the last one cut)."""
    words = clean(value).split()
    out: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if width(candidate) <= cells:
            current = candidate
            continue
        if current:
            out.append(current)
        current = word if width(word) <= cells else fit(word, cells)
    if current:
        out.append(current)
    if lines is not None and len(out) > lines:
        # The dropped lines did not fit on the last one, so fit() marks the cut.
        out = [*out[: lines - 1], fit(" ".join(out[lines - 1:]), cells)]
    return out or [""]


def bar(done: float, total: float, cells: int = 20) -> str:
    """``[#####-----] 50%``; an empty total reads as 0%."""
    ratio = 0.0 if total <= 0 else max(0.0, min(1.0, done / total))
    filled = round(ratio * cells)
    return "[" + "#" * filled + "-" * (cells - filled) + f"] {round(ratio * 100):3d}%"


def kv(pairs: Iterable[tuple[str, object]], sep: str = "  ") -> str:
    """``key value  key value`` for the pairs whose value is not None."""
    return sep.join(f"{k} {clean(v)}" for k, v in pairs if v is not None)


def short_time(iso_time: object) -> str:
    """``2026-11-24T10:00:20.000Z`` -> ``2026-11-24 10:00:20``; '-' when unknown."""
    if not isinstance(iso_time, str) or len(iso_time) < 19:
        return "-"
    return iso_time[:10] + " " + iso_time[11:19]


def columns(cells: Sequence[tuple[object, int]], *, gap: int = 1) -> str:
    """Fixed-width fields separated by ``gap`` spaces; a negative width aligns right."""
    parts = [pad(text, abs(w), right=w < 0) for text, w in cells]
    return (" " * gap).join(parts)


class Box:
    """A stack of bordered sections, each line exactly :data:`WIDTH` cells."""

    RULE = "+" + "-" * (WIDTH - 2) + "+"

    def __init__(self) -> None:
        self.lines: list[str] = [self.RULE]

    def line(self, text: object = "") -> Box:
        self.lines.append("| " + pad(text, INNER) + " |")
        return self

    def split(self, left: object, right: object) -> Box:
        """``left`` at the start, ``right`` flush right, on one line."""
        # The right side may use what the left leaves, but the left keeps at least half.
        r = fit(right, max(INNER - 1 - min(width(clean(left)), INNER // 2), 0))
        return self.line(pad(left, INNER - width(r) - 1) + " " + r)

    def para(self, text: object, *, indent: int = 0, lines: int | None = None) -> Box:
        for chunk in wrap(text, INNER - indent, lines=lines):
            self.line(" " * indent + chunk)
        return self

    def raw(self, row: str) -> Box:
        """A pre-built row that already has its borders (kanban columns)."""
        self.lines.append(row)
        return self

    def rule(self) -> Box:
        if self.lines[-1] != self.RULE:
            self.lines.append(self.RULE)
        return self

    def section(self, title: object, right: object = "") -> Box:
        self.rule()
        return self.split(title, right) if right else self.line(title)

    def text(self) -> str:
        self.rule()
        return "\n".join(self.lines) + "\n"
