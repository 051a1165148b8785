"""I-Regexp (RFC 9485), the pattern language of ``match()`` and ``search()``,
checked against its grammar and translated to a Python ``re`` pattern.

What the translation takes care of, beyond escaping:

* ``.`` matches any character except ``\\n`` and ``\\r`` (XSD's definition);
* ``\\p{..}``/``\\P{..}`` (Unicode categories, which ``re`` lacks) become explicit
  character ranges, computed from :mod:`unicodedata` on first use;
* ``^`` and ``$`` anchor at the start and end of the whole string, as in the
  ECMAScript mapping the RFC describes (and as the compliance suite expects);
  ``\\^`` or ``[$]`` match the characters themselves.

A pattern that is not an I-Regexp makes ``match()``/``search()`` false (RFC 9535,
section 2.4.6); a literal one is reported when the query is parsed instead.
"""

from __future__ import annotations

import functools

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re  # only match() and search() need it
    from typing import NoReturn

__all__ = ["IRegexpError", "compile_iregexp", "translate"]

_META = "()*+.?[\\]{|}"  # not NormalChars: everything else stands for itself
_SINGLE_ESC = {"n": "\n", "r": "\r", "t": "\t"} | {c: c for c in "()*+-.?[\\]^{|}"}
_CATEGORIES = {
    "L": "ultmo", "M": "nce", "N": "dlo", "P": "cdseifo", "Z": "slp", "S": "mcko", "C": "cfon",
}
_MAX_CODE = 0x10FFFF


class IRegexpError(ValueError):
    """Not an I-Regexp; ``offset`` is the 0-based position in the pattern."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


def translate(pattern: str) -> str:
    """The Python ``re`` equivalent of the I-Regexp ``pattern`` (unanchored)."""
    return _Translator(pattern).run()


@functools.lru_cache(maxsize=128)
def compile_iregexp(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` compiled (use ``fullmatch`` for ``match()``, ``search`` for
    ``search()``); None when it is not an I-Regexp."""
    import re  # only match() and search() need it

    try:
        return re.compile(translate(pattern))
    except IRegexpError:
        return None


def _hex(code: int) -> str:
    return f"\\U{code:08x}"


@functools.lru_cache(maxsize=64)
def _category_ranges(prop: str) -> tuple[tuple[int, int], ...]:
    """Code point ranges of a Unicode general category (``L``) or subcategory (``Lu``)."""
    import unicodedata  # only \p{...} classes

    category = unicodedata.category
    ranges: list[tuple[int, int]] = []
    start = -1
    for code in range(_MAX_CODE + 2):
        inside = code <= _MAX_CODE and category(chr(code)).startswith(prop)
        if inside and start < 0:
            start = code
        elif not inside and start >= 0:
            ranges.append((start, code - 1))
            start = -1
    return tuple(ranges)


def _complement(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    low = 0
    for start, end in ranges:
        if start > low:
            out.append((low, start - 1))
        low = end + 1
    if low <= _MAX_CODE:
        out.append((low, _MAX_CODE))
    return tuple(out)


def _class_body(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(_hex(a) if a == b else f"{_hex(a)}-{_hex(b)}" for a, b in ranges)


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.s = pattern
        self.i = 0
        self.depth = 0

    def fail(self, reason: str, at: int | None = None) -> NoReturn:
        raise IRegexpError(self.i if at is None else at, reason)

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def run(self) -> str:
        out = self.regexp()
        if self.i < len(self.s):
            self.fail(f"unexpected {self.s[self.i]!r}")
        return out

    def regexp(self) -> str:
        branches = [self.branch()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.branch())
        return "|".join(branches)

    def branch(self) -> str:
        out: list[str] = []
        while self.peek() and self.peek() not in "|)":
            atom = self.atom()
            out.append(atom + self.quantifier())
        return "".join(out)

    def quantifier(self) -> str:
        ch = self.peek()
        if ch and ch in "*+?":
            self.i += 1
            return ch
        if ch != "{":
            return ""
        start = self.i
        self.i += 1
        low = self.digits()
        high: str | None = low
        if self.peek() == ",":
            self.i += 1
            high = self.digits() if self.peek() != "}" else None
        if self.peek() != "}":
            self.fail("a quantifier {n}, {n,} or {n,m} must end with '}'", start)
        self.i += 1
        if high is not None and int(high) < int(low):
            self.fail(f"quantifier {{{low},{high}}}: the maximum is below the minimum", start)
        return self.s[start:self.i]

    def digits(self) -> str:
        start = self.i
        while self.peek() and self.peek() in "0123456789":
            self.i += 1
        if start == self.i:
            self.fail("expected digits in a quantifier")
        return self.s[start:self.i]

    def atom(self) -> str:
        ch = self.peek()
        at = self.i
        if ch == "(":
            self.i += 1
            self.depth += 1
            if self.depth > 40:
                self.fail("groups nested too deeply")
            inner = self.regexp()
            if self.peek() != ")":
                self.fail("unclosed '('", at)
            self.i += 1
            self.depth -= 1
            return f"(?:{inner})"
        if ch == ".":
            self.i += 1
            return "[^\\n\\r]"
        if ch == "[":
            return self.char_class()
        if ch == "\\":
            escaped = self.escape()
            if isinstance(escaped, str):
                return _hex(ord(escaped))
            return f"[{_class_body(escaped)}]"
        if ch in "*+?{":
            self.fail(f"{ch!r} has nothing to repeat")
        if ch in "]}":
            self.fail(f"unescaped {ch!r}")
        if "\ud800" <= ch <= "\udfff":
            self.fail("a pattern cannot hold a lone surrogate")
        self.i += 1
        if ch == "^":
            return "(?:^)"
        if ch == "$":
            return "(?:\\Z)"
        return _hex(ord(ch))

    def escape(self) -> str | tuple[tuple[int, int], ...]:
        """``\\x`` at ``self.i``: the character, or the ranges of ``\\p{..}``/``\\P{..}``."""
        at = self.i
        e = self.s[self.i + 1:self.i + 2]
        self.i += 2
        if e in _SINGLE_ESC:
            return _SINGLE_ESC[e]
        if e in ("p", "P"):
            if self.peek() != "{":
                self.fail(f"\\{e} must be followed by {{category}}", at)
            end = self.s.find("}", self.i)
            prop = self.s[self.i + 1:end] if end >= 0 else ""
            if not (1 <= len(prop) <= 2 and prop[0] in _CATEGORIES
                    and (len(prop) == 1 or prop[1] in _CATEGORIES[prop[0]])):
                self.fail(f"\\{e}{{...}} takes a Unicode category such as L, Lu or Nd", at)
            self.i = end + 1
            ranges = _category_ranges(prop)
            return ranges if e == "p" else _complement(ranges)
        shown = repr(e) if e else "the end"
        self.fail(f"invalid escape '\\' followed by {shown}", at)

    def char_class(self) -> str:
        at = self.i
        self.i += 1
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        parts: list[str] = []
        if self.peek() == "-":
            self.i += 1
            parts.append(_hex(ord("-")))
        while True:
            ch = self.peek()
            if not ch:
                self.fail("unclosed '['", at)
            if ch == "]":
                if not parts:
                    self.fail("empty character class", at)
                self.i += 1
                break
            if ch == "-":
                if self.s[self.i + 1:self.i + 2] != "]":
                    self.fail("'-' in a character class must be first, last or in a range")
                self.i += 1
                parts.append(_hex(ord("-")))
                continue
            low_at = self.i
            low = self.class_char()
            if isinstance(low, tuple):
                parts.append(_class_body(low))
                continue
            if self.peek() == "-" and self.s[self.i + 1:self.i + 2] not in ("]", ""):
                self.i += 1
                high = self.class_char()
                if isinstance(high, tuple):
                    self.fail("a range cannot end with a category")
                if ord(high) < ord(low):
                    self.fail(f"range {low!r}-{high!r} is out of order", low_at)
                parts.append(f"{_hex(ord(low))}-{_hex(ord(high))}")
            else:
                parts.append(_hex(ord(low)))
        return "[" + ("^" if negate else "") + "".join(parts) + "]"

    def class_char(self) -> str | tuple[tuple[int, int], ...]:
        ch = self.peek()
        if ch == "\\":
            return self.escape()
        if ch == "[":
            self.fail("'[' must be escaped inside a character class")
        if "\ud800" <= ch <= "\udfff":
            self.fail("a pattern cannot hold a lone surrogate")
        self.i += 1
        return ch
