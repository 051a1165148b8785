"""An RFC 9535 JSONPath parser: the text becomes a :mod:`~state.jsonpath.nodes` tree
or a :class:`~state.jsonpath.errors.JSONPathSyntaxError` naming the position.

Recursive descent straight over the string (no ``re``, no tokenizer), following
the RFC's ABNF, then its well-typedness rules for function calls (section 2.4.3)
while the tree is built. Whitespace is allowed exactly where the RFC allows it.
This module has the queries, segments and selectors; :mod:`.filters` the filter
expressions and :mod:`.scanner` the characters and literals.
"""

from __future__ import annotations

from state.jsonpath import nodes as n
from state.jsonpath.filters import FUNCTIONS, FilterParser
from state.jsonpath.scanner import BLANK, DIGITS, MAX_DEPTH, describe, name_first

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["FUNCTIONS", "MAX_DEPTH", "parse_query"]

_MAX_INT = 2**53 - 1  # I-JSON's exact integers: the RFC's range for indexes and slices


def parse_query(text: str) -> n.Query:
    """The tree of the JSONPath ``text``; :class:`JSONPathSyntaxError` if it is not one."""
    return _Parser(text).parse()


class _Parser(FilterParser):
    # -- queries and segments --------------------------------------------------------------

    def parse(self) -> n.Query:
        if not self.s.startswith("$"):
            self.fail("a JSONPath query starts with '$'", 0)
        query = self.query()
        if self.i < len(self.s):
            self.trailing()
        return query

    def trailing(self) -> NoReturn:
        s, i = self.s, self.i
        if s[i:].strip(BLANK) == "":
            self.fail("whitespace is not allowed at the end of a query")
        j = i
        while j < len(s) and s[j] in BLANK:
            j += 1
        ch = s[j]
        self.dash_in_name(j)
        if ch in "(":
            self.fail("unexpected '(': only filters '[?...]' and functions use "
                      "parentheses", j)
        if ch == "|" or ch == "&":
            self.fail(f"unexpected {ch!r}: '||' and '&&' only combine conditions "
                      "inside a filter '[?...]'", j)
        self.fail(f"unexpected {describe(s, j)} after the query; a segment starts "
                  "with '.', '..' or '['", j)

    def query(self) -> n.Query:
        """``$`` or ``@`` at ``self.i``, then its segments (blank space between them)."""
        start = self.i
        root = self.s[start]
        self.i += 1
        segments: list[n.Segment] = []
        while True:
            before = self.i
            self.blank()
            ch = self.peek()
            if ch == ".":
                segments.append(self.dot_segment())
            elif ch == "[":
                segments.append(self.bracketed(self.i, descendant=False))
            else:
                self.i = before  # the blank space belongs to what follows
                return n.Query(root, tuple(segments), start)

    def dot_segment(self) -> n.Segment:
        start = self.i
        descendant = self.peek(1) == "."
        self.i += 2 if descendant else 1
        ch = self.peek()
        if ch == "*":
            self.i += 1
            return n.Segment((n.Wildcard(self.i - 1),), descendant, start)
        if descendant and ch == "[":
            return self.bracketed(start, descendant=True)
        if ch and name_first(ch):
            return n.Segment((self.member_name(),), descendant, start)
        after = "'..'" if descendant else "'.'"
        if ch and ch in DIGITS:
            word = self.word()
            index = f" or [{word}] for an index" if word.isdigit() else ""
            self.fail(f"a name after {after} cannot start with a digit: write "
                      f"['{word}'] for a member{index}")
        if ch and ch in BLANK:
            self.fail(f"whitespace is not allowed after {after}")
        if ch in ("'", '"'):
            self.fail(f"a quoted name goes in brackets, without {after}: ['name']")
        if ch == ".":
            self.fail("'...' is not a segment: use '..' for descendants")
        if ch == "`":
            self.fail("`...` operators are jsonpath-ng's, not RFC 9535: use the functions "
                      "length(), count(), value(), match() and search() in a filter")
        if ch == "[":
            self.fail("no '.' before '[': write $.a[0] or $['a']")
        self.expected(f"a member name or '*' after {after}"
                      + (" or '['" if descendant else ""))


    def member_name(self) -> n.Name:
        start = self.i
        s = self.s
        j = start + 1
        while j < len(s) and (s[j] in DIGITS or name_first(s[j])):
            j += 1
        self.i = j
        return n.Name(s[start:j], start)

    def bracketed(self, start: int, *, descendant: bool) -> n.Segment:
        open_at = self.i
        self.enter()
        self.i += 1
        selectors: list[n.Selector] = []
        spaced = False
        while True:
            before = self.i
            self.blank()
            if selectors and self.peek() == "]":
                self.fail("expected a selector after ','")
            selectors.append(self.selector())
            self.blank()
            spaced = spaced or self.s[before:self.i].strip(BLANK) != self.s[before:self.i]
            ch = self.peek()
            if ch == ",":
                self.i += 1
            elif ch == "]":
                self.i += 1
                self.depth -= 1
                return n.Segment(tuple(selectors), descendant, start, spaced)
            elif not ch:
                self.fail("unclosed '[': expected ',' or ']'", open_at)
            else:
                self.expected("',' or ']' after a selector")

    # -- selectors --------------------------------------------------------------------------

    def selector(self) -> n.Selector:
        start = self.i
        ch = self.peek()
        if ch in ("'", '"'):
            return n.Name(self.string(), start)
        if ch == "*":
            self.i += 1
            return n.Wildcard(start)
        if ch == "?":
            self.i += 1
            self.blank()
            return n.Filter(self.condition(self.logical_or()), start)
        if ch == ":" or ch == "-" or (ch and ch in DIGITS):
            return self.index_or_slice()
        if ch and (name_first(ch)):
            self.fail(f"a name in brackets must be quoted: ['{self.word()}']")
        if ch == "]":
            self.fail("empty brackets: expected a selector (a quoted name, '*', an index, "
                      "a slice or a filter '?...')")
        if ch == "(":
            self.fail("a filter starts with '?': [?(...)]")
        self.expected("a selector (a quoted name, '*', an index, a slice or a filter "
                      "'?...')")

    def integer(self, what: str) -> int:
        start = self.i
        s = self.s
        if self.peek() == "-":
            self.i += 1
        ch = self.peek()
        if not ch or ch not in DIGITS:
            self.expected(f"digits in the {what}")
        if ch == "0":
            self.i += 1
            if self.i - start == 2:
                self.fail(f"'-0' is not a valid {what}", start)
            if self.peek() and self.peek() in DIGITS:
                self.fail(f"leading zeros are not allowed in the {what}", start)
        else:
            while self.i < len(s) and s[self.i] in DIGITS:
                self.i += 1
        value = int(s[start:self.i])
        if not -_MAX_INT <= value <= _MAX_INT:
            self.fail(f"the {what} is out of range (at most 2^53-1 either way)", start)
        return value

    def index_or_slice(self) -> n.Index | n.Slice:
        start = self.i
        first: int | None = None
        if self.peek() != ":":
            first = self.integer("index")
            before = self.i
            self.blank()
            if self.peek() != ":":
                self.i = before
                return n.Index(first, start)
        self.i += 1  # the first ':'
        self.blank()
        end = step = None
        if self.peek() == "-" or (self.peek() and self.peek() in DIGITS):
            end = self.integer("slice end")
            self.blank()
        if self.peek() == ":":
            self.i += 1
            self.blank()
            if self.peek() == "-" or (self.peek() and self.peek() in DIGITS):
                step = self.integer("slice step")
        return n.Slice(first, end, step, start)
