"""The character-level half of the JSONPath parser: position, blank space, errors
and literals (strings with their escapes, numbers, integers, words)."""

from __future__ import annotations

from state.jsonpath.errors import JSONPathSyntaxError, UnsupportedJSONPathError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["BLANK", "DIGITS", "MAX_DEPTH", "Scanner", "describe", "name_first"]

#: Nesting of brackets, parentheses and calls; deeper queries are refused, not crashed on.
MAX_DEPTH = 40

BLANK = " \t\n\r"
DIGITS = "0123456789"
_ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "/": "/", "\\": "\\"}
_HEX = "0123456789abcdefABCDEF"


def name_first(ch: str) -> bool:
    """May ``ch`` start a dotted member name (``name-first`` in the RFC)?"""
    return ch in _ALPHA or ch == "_" or (ch >= "\x80" and not "\ud800" <= ch <= "\udfff")


def describe(text: str, i: int) -> str:
    """What is at ``i``, for "expected X, found Y" messages."""
    if i >= len(text):
        return "the end of the query"
    return "whitespace" if text[i] in BLANK else repr(text[i])


class Scanner:
    """A position in the query text, and the pieces every part of the grammar reads."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.depth = 0
        self.sources: dict[int, list[int]] = {}  # string start: offset of each character

    # -- helpers -----------------------------------------------------------------------

    def fail(self, reason: str, at: int | None = None) -> NoReturn:
        raise JSONPathSyntaxError(self.s, self.i if at is None else at, reason)

    def expected(self, what: str) -> NoReturn:
        self.fail(f"expected {what}, found {describe(self.s, self.i)}")

    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.s[j] if j < len(self.s) else ""

    def blank(self) -> None:
        s, i = self.s, self.i
        while i < len(s) and s[i] in BLANK:
            i += 1
        self.i = i

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise UnsupportedJSONPathError(
                self.s, self.i, f"nested more than {MAX_DEPTH} levels deep")

    def dash_in_name(self, at: int) -> None:
        """``$.task-001``: the most likely slip, given Orchestra's ids."""
        s = self.s
        if s[at:at + 1] == "-" and at > 0 and (name_first(s[at - 1]) or s[at - 1] in DIGITS):
            self.fail("'-' cannot appear in a dotted name: quote the name, as in "
                      "['task-001']", at)

    def word(self) -> str:
        j = self.i
        while j < len(self.s) and (self.s[j] in DIGITS or name_first(self.s[j])):
            j += 1
        return self.s[self.i:j]

    def identifier(self, *, any_case: bool = False) -> str:
        start = self.i
        s = self.s
        while self.i < len(s) and (s[self.i] in _LOWER or s[self.i] in DIGITS
                                   or s[self.i] == "_"
                                   or (any_case and name_first(s[self.i]))):
            self.i += 1
        return s[start:self.i]

    # -- literals ---------------------------------------------------------------------------

    def string(self) -> str:
        s = self.s
        quote = s[self.i]
        start = self.i
        self.i += 1
        out: list[str] = []
        sources = self.sources[start] = []
        while True:
            if self.i >= len(s):
                self.fail("unclosed string: expected " + quote, start)
            ch = s[self.i]
            sources.append(self.i)
            if ch == quote:
                self.i += 1
                return "".join(out)
            if ch == "\\":
                out.append(self.escape(quote))
            elif ch < " ":
                self.fail(f"control character U+{ord(ch):04X} must be escaped in a string "
                          f"(\\n, \\t, \\u{ord(ch):04x}...)")
            elif "\ud800" <= ch <= "\udfff":
                self.fail("a string cannot hold a lone surrogate (invalid UTF-8 in the "
                          "argument?)")
            else:
                out.append(ch)
                self.i += 1

    def escape(self, quote: str) -> str:
        at = self.i
        e = self.peek(1)
        self.i += 2
        if e == quote:
            return quote
        if e in _ESCAPES and e:
            return _ESCAPES[e]
        if e == "u":
            code = self.hex4(at)
            if 0xDC00 <= code <= 0xDFFF:
                self.fail("\\u escape of a low surrogate without a high one before it", at)
            if 0xD800 <= code <= 0xDBFF:
                if self.s[self.i:self.i + 2] != "\\u":
                    self.fail("\\u escape of a high surrogate must be followed by "
                              "\\u and a low surrogate", at)
                self.i += 2
                low = self.hex4(self.i - 2)
                if not 0xDC00 <= low <= 0xDFFF:
                    self.fail("\\u escape of a high surrogate must be followed by "
                              "a low surrogate", at)
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            return chr(code)
        other = "'" if quote == '"' else '"'
        if e == other:
            self.fail(f"{other} needs no escape inside {quote}...{quote} strings", at)
        shown = repr(e) if e else "the end of the query"
        self.fail(f"invalid escape '\\' followed by {shown}: use \\b \\f \\n \\r \\t \\/ "
                  f"\\\\ \\{quote} or \\uXXXX", at)

    def hex4(self, at: int) -> int:
        digits = self.s[self.i:self.i + 4]
        if len(digits) != 4 or any(c not in _HEX for c in digits):
            self.fail("\\u must be followed by four hex digits", at)
        self.i += 4
        return int(digits, 16)

    def number(self) -> int | float:
        start = self.i
        s = self.s
        if self.peek() == "-":
            self.i += 1
        if not self.peek() or self.peek() not in DIGITS:
            self.expected("digits after '-'")
        if self.peek() == "0":
            self.i += 1
            if self.peek() and self.peek() in DIGITS:
                self.fail("leading zeros are not allowed in a number", start)
        while self.i < len(s) and s[self.i] in DIGITS:
            self.i += 1
        exact = True
        if self.peek() == ".":
            self.i += 1
            exact = False
            if not self.peek() or self.peek() not in DIGITS:
                self.expected("digits after the decimal point")
            while self.i < len(s) and s[self.i] in DIGITS:
                self.i += 1
        if self.peek() in ("e", "E") and self.peek():
            self.i += 1
            exact = False
            if self.peek() in ("+", "-") and self.peek():
                self.i += 1
            if not self.peek() or self.peek() not in DIGITS:
                self.expected("digits in the exponent")
            while self.i < len(s) and s[self.i] in DIGITS:
                self.i += 1
        text = s[start:self.i]
        return int(text) if exact else float(text)
