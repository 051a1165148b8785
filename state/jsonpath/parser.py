"""An RFC 9535 JSONPath parser: the text becomes a :mod:`~state.jsonpath.nodes` tree
or a :class:`~state.jsonpath.errors.JSONPathSyntaxError` naming the position.

Recursive descent straight over the string (no ``re``, no tokenizer), following
the RFC's ABNF, then its well-typedness rules for function calls (section 2.4.3)
while the tree is built. Whitespace is allowed exactly where the RFC allows it.
"""

from __future__ import annotations

from state.jsonpath import nodes as n
from state.jsonpath.errors import JSONPathSyntaxError, UnsupportedJSONPathError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["FUNCTIONS", "MAX_DEPTH", "parse_query"]

#: name: (parameter types, result type); types are "value", "nodes" and "logical".
FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "length": (("value",), "value"),
    "count": (("nodes",), "value"),
    "match": (("value", "value"), "logical"),
    "search": (("value", "value"), "logical"),
    "value": (("nodes",), "value"),
}

#: Nesting of brackets, parentheses and calls; deeper queries are refused, not crashed on.
MAX_DEPTH = 40

_BLANK = " \t\n\r"
_DIGITS = "0123456789"
_ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_MAX_INT = 2**53 - 1  # I-JSON's exact integers: the RFC's range for indexes and slices
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "/": "/", "\\": "\\"}
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_HEX = "0123456789abcdefABCDEF"


def _name_first(ch: str) -> bool:
    return ch in _ALPHA or ch == "_" or (ch >= "\x80" and not "\ud800" <= ch <= "\udfff")


def parse_query(text: str) -> n.Query:
    """The tree of the JSONPath ``text``; :class:`JSONPathSyntaxError` if it is not one."""
    return _Parser(text).parse()


def _describe(text: str, i: int) -> str:
    if i >= len(text):
        return "the end of the query"
    return "whitespace" if text[i] in _BLANK else repr(text[i])


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.depth = 0
        self.sources: dict[int, list[int]] = {}  # string start: offset of each character

    # -- helpers -----------------------------------------------------------------------

    def fail(self, reason: str, at: int | None = None) -> NoReturn:
        raise JSONPathSyntaxError(self.s, self.i if at is None else at, reason)

    def expected(self, what: str) -> NoReturn:
        self.fail(f"expected {what}, found {_describe(self.s, self.i)}")

    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.s[j] if j < len(self.s) else ""

    def blank(self) -> None:
        s, i = self.s, self.i
        while i < len(s) and s[i] in _BLANK:
            i += 1
        self.i = i

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise UnsupportedJSONPathError(
                self.s, self.i, f"nested more than {MAX_DEPTH} levels deep")

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
        if s[i:].strip(_BLANK) == "":
            self.fail("whitespace is not allowed at the end of a query")
        j = i
        while j < len(s) and s[j] in _BLANK:
            j += 1
        ch = s[j]
        self.dash_in_name(j)
        if ch in "(":
            self.fail("unexpected '(': only filters '[?...]' and functions use "
                      "parentheses", j)
        if ch == "|" or ch == "&":
            self.fail(f"unexpected {ch!r}: '||' and '&&' only combine conditions "
                      "inside a filter '[?...]'", j)
        self.fail(f"unexpected {_describe(s, j)} after the query; a segment starts "
                  "with '.', '..' or '['", j)

    def dash_in_name(self, at: int) -> None:
        """``$.task-001``: the most likely slip, given Orchestra's ids."""
        s = self.s
        if s[at:at + 1] == "-" and at > 0 and (_name_first(s[at - 1]) or s[at - 1] in _DIGITS):
            self.fail("'-' cannot appear in a dotted name: quote the name, as in "
                      "['task-001']", at)

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
        if ch and _name_first(ch):
            return n.Segment((self.member_name(),), descendant, start)
        after = "'..'" if descendant else "'.'"
        if ch and ch in _DIGITS:
            word = self.word()
            index = f" or [{word}] for an index" if word.isdigit() else ""
            self.fail(f"a name after {after} cannot start with a digit: write "
                      f"['{word}'] for a member{index}")
        if ch and ch in _BLANK:
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

    def word(self) -> str:
        j = self.i
        while j < len(self.s) and (self.s[j] in _DIGITS or _name_first(self.s[j])):
            j += 1
        return self.s[self.i:j]

    def member_name(self) -> n.Name:
        start = self.i
        s = self.s
        j = start + 1
        while j < len(s) and (s[j] in _DIGITS or _name_first(s[j])):
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
            spaced = spaced or self.s[before:self.i].strip(_BLANK) != self.s[before:self.i]
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
        if ch == ":" or ch == "-" or (ch and ch in _DIGITS):
            return self.index_or_slice()
        if ch and (_name_first(ch)):
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
        if not ch or ch not in _DIGITS:
            self.expected(f"digits in the {what}")
        if ch == "0":
            self.i += 1
            if self.i - start == 2:
                self.fail(f"'-0' is not a valid {what}", start)
            if self.peek() and self.peek() in _DIGITS:
                self.fail(f"leading zeros are not allowed in the {what}", start)
        else:
            while self.i < len(s) and s[self.i] in _DIGITS:
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
        if self.peek() == "-" or (self.peek() and self.peek() in _DIGITS):
            end = self.integer("slice end")
            self.blank()
        if self.peek() == ":":
            self.i += 1
            self.blank()
            if self.peek() == "-" or (self.peek() and self.peek() in _DIGITS):
                step = self.integer("slice step")
        return n.Slice(first, end, step, start)

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
        if not self.peek() or self.peek() not in _DIGITS:
            self.expected("digits after '-'")
        if self.peek() == "0":
            self.i += 1
            if self.peek() and self.peek() in _DIGITS:
                self.fail("leading zeros are not allowed in a number", start)
        while self.i < len(s) and s[self.i] in _DIGITS:
            self.i += 1
        exact = True
        if self.peek() == ".":
            self.i += 1
            exact = False
            if not self.peek() or self.peek() not in _DIGITS:
                self.expected("digits after the decimal point")
            while self.i < len(s) and s[self.i] in _DIGITS:
                self.i += 1
        if self.peek() in ("e", "E") and self.peek():
            self.i += 1
            exact = False
            if self.peek() in ("+", "-") and self.peek():
                self.i += 1
            if not self.peek() or self.peek() not in _DIGITS:
                self.expected("digits in the exponent")
            while self.i < len(s) and s[self.i] in _DIGITS:
                self.i += 1
        text = s[start:self.i]
        return int(text) if exact else float(text)

    # -- filter expressions -------------------------------------------------------------------
    #
    # logical_or/logical_and/basic return a bare Literal, Query or Call when no
    # operator was involved: a function argument may be one. Where a condition is
    # required, condition() checks it and turns a query into Exists.

    def logical_or(self) -> n.Argument:
        start = self.i
        operands = [self.logical_and()]
        while True:
            before = self.i
            self.blank()
            if not self.s.startswith("||", self.i):
                self.i = before
                break
            self.i += 2
            self.blank()
            operands.append(self.logical_and())
        if len(operands) == 1:
            return operands[0]
        return n.Or(tuple(self.condition(o) for o in operands), start)

    def logical_and(self) -> n.Argument:
        start = self.i
        operands = [self.basic()]
        while True:
            before = self.i
            self.blank()
            if not self.s.startswith("&&", self.i):
                self.i = before
                break
            self.i += 2
            self.blank()
            operands.append(self.basic())
        if len(operands) == 1:
            return operands[0]
        return n.And(tuple(self.condition(o) for o in operands), start)

    def basic(self) -> n.Argument:
        start = self.i
        ch = self.peek()
        if ch == "!":
            self.i += 1
            self.blank()
            if self.peek() == "(":
                return n.Not(self.parenthesised(), start)
            operand = self.primary()
            if isinstance(operand, n.Literal):
                self.fail("'!' negates a query, a function or a parenthesised condition, "
                          "not a literal", operand.pos)
            self.no_comparison("'!' cannot negate a comparison without parentheses: "
                               "write !(a == b)")
            return n.Not(self.condition(operand), start)
        if ch == "(":
            inner = self.parenthesised()
            self.no_comparison("a parenthesised condition cannot be compared")
            return inner
        left = self.primary()
        before = self.i
        self.blank()
        if self.peek() and self.peek() in "+-*/":
            self.dash_in_name(self.i)
            self.fail("arithmetic is not part of RFC 9535 JSONPath")
        op = self.operator()
        if op is None:
            self.i = before
            return left
        op_at = self.i
        self.i += len(op)
        self.blank()
        if self.peek() == "!" or self.peek() == "(":
            self.fail(f"a condition cannot be compared; {op!r} compares queries, "
                      "literals and functions")
        right = self.primary()
        self.comparable(left, op)
        self.comparable(right, op)
        after = self.i
        self.blank()
        if self.operator() is not None:
            self.fail("comparisons cannot be chained: combine them with && or ||")
        self.i = after
        return n.Comparison(op, left, right, op_at)

    def operator(self) -> str | None:
        s, i = self.s, self.i
        for op in _OPERATORS:
            if s.startswith(op, i):
                return op
        if s.startswith("=~", i):
            self.fail("'=~' is not RFC 9535 JSONPath: use match(@.x, 'regex') or "
                      "search(@.x, 'regex')")
        if s.startswith("=", i):
            self.fail("'=' is not an operator: compare with '=='")
        return None

    def no_comparison(self, reason: str) -> None:
        before = self.i
        self.blank()
        if self.operator() is not None:
            self.fail(reason)
        self.i = before

    def parenthesised(self) -> n.Logical:
        open_at = self.i
        self.enter()
        self.i += 1
        self.blank()
        inner = self.condition(self.logical_or())
        self.blank()
        if self.peek() != ")":
            if not self.peek():
                self.fail("unclosed '(': expected ')'", open_at)
            self.expected("')', '&&' or '||'")
        self.i += 1
        self.depth -= 1
        return inner

    def primary(self) -> n.Comparable:
        start = self.i
        ch = self.peek()
        if ch == "@" or ch == "$":
            self.enter()
            query = self.query()
            self.depth -= 1
            return query
        if ch == "'" or ch == '"':
            return n.Literal(self.string(), start)
        if ch == "-" or (ch and ch in _DIGITS):
            return n.Literal(self.number(), start)
        if ch and ch in _LOWER:
            word = self.identifier()
            if self.peek() == "(":
                return self.call(word, start)
            after = self.i
            self.blank()
            if self.peek() == "(" and word in FUNCTIONS:
                self.fail(f"no blank space is allowed between {word} and '('", after)
            self.i = after
            if word in ("true", "false", "null"):
                return n.Literal({"true": True, "false": False, "null": None}[word], start)
            self.fail(f"unknown word {word!r}: quote strings ('{word}'), start queries with "
                      "@ or $", start)
        if ch and _name_first(ch):
            word = self.identifier(any_case=True)
            hint = (f"; literals are lowercase: {word.lower()}"
                    if word.lower() in ("true", "false", "null") else
                    f": quote strings ('{word}'), start queries with @ or $")
            self.fail(f"unknown word {word!r}{hint}", start)
        if ch == ".":
            self.fail("a relative query starts with '@': write @.name")
        self.expected("a query (@... or $...), a literal or a function call")

    def identifier(self, *, any_case: bool = False) -> str:
        start = self.i
        s = self.s
        while self.i < len(s) and (s[self.i] in _LOWER or s[self.i] in _DIGITS
                                   or s[self.i] == "_"
                                   or (any_case and _name_first(s[self.i]))):
            self.i += 1
        return s[start:self.i]

    def call(self, name: str, start: int) -> n.Call:
        if name not in FUNCTIONS:
            known = ", ".join(f"{f}()" for f in FUNCTIONS)
            self.fail(f"unknown function {name}(): the functions are {known}", start)
        params, _ = FUNCTIONS[name]
        self.enter()
        self.i += 1  # '('
        self.blank()
        args: list[tuple[n.Argument, int]] = []
        if self.peek() != ")":
            while True:
                arg_at = self.i
                args.append((self.logical_or(), arg_at))
                self.blank()
                if self.peek() == ",":
                    self.i += 1
                    self.blank()
                    continue
                if self.peek() == ")":
                    break
                if not self.peek():
                    self.fail(f"unclosed '(' of {name}(): expected ')'", start + len(name))
                self.expected(f"',' or ')' in {name}()")
        self.i += 1
        self.depth -= 1
        if len(args) != len(params):
            count = f"{len(params)} argument" + ("s" if len(params) > 1 else "")
            self.fail(f"{name}() takes {count}, not {len(args)}", start)
        for number, ((arg, at), kind) in enumerate(zip(args, params, strict=True), 1):
            self.argument(name, number, arg, kind, at)
        if name in ("match", "search"):
            self.pattern(args[1][0])
        return n.Call(name, tuple(self.as_argument(a, k) for (a, _), k in zip(
            args, params, strict=True)), start)

    # -- well-typedness (RFC 9535 section 2.4.3) ------------------------------------------

    def condition(self, expr: n.Argument) -> n.Logical:
        """``expr`` where a condition (LogicalType) is required."""
        if isinstance(expr, n.Query):
            return n.Exists(expr, expr.pos)
        if isinstance(expr, n.Literal):
            self.fail("a literal on its own is not a condition: compare it, as in "
                      "@.x == 1", expr.pos)
        if isinstance(expr, n.Call) and FUNCTIONS[expr.name][1] == "value":
            self.fail(f"{expr.name}() gives a value, not a condition: compare it, as in "
                      f"{expr.name}(...) > 0", expr.pos)
        return expr

    def comparable(self, expr: n.Comparable, op: str) -> None:
        if isinstance(expr, n.Query) and not expr.singular:
            self.fail(f"only a singular query (one name or index per step, no blank space "
                      f"inside its brackets) can be compared with {op!r}; wrap it in value() "
                      "or count()", expr.pos)
        if isinstance(expr, n.Call) and FUNCTIONS[expr.name][1] != "value":
            self.fail(f"{expr.name}() gives a condition, not a value: it cannot be compared",
                      expr.pos)

    def argument(self, name: str, number: int, arg: n.Argument, kind: str, at: int) -> None:
        where = f"argument {number} of {name}()"
        if kind == "value":
            if isinstance(arg, n.Literal):
                return
            if isinstance(arg, n.Query):
                if not arg.singular:
                    self.fail(f"{where} must be a single value: a singular query (one name "
                              "or index per step), a literal or value(...)", at)
                return
            if isinstance(arg, n.Call) and FUNCTIONS[arg.name][1] == "value":
                return
            self.fail(f"{where} must be a value: a literal, a singular query or a "
                      "function giving a value", at)
        if kind == "nodes":
            if isinstance(arg, n.Query) or (
                    isinstance(arg, n.Call) and FUNCTIONS[arg.name][1] == "nodes"):
                return
            self.fail(f"{where} must be a query (@... or $...)", at)
        if isinstance(arg, n.Literal) or (
                isinstance(arg, n.Call) and FUNCTIONS[arg.name][1] == "value"):
            self.fail(f"{where} must be a condition", at)

    def pattern(self, arg: n.Argument) -> None:
        """A literal pattern must be an I-Regexp. (The RFC makes a bad one match
        nothing; a typo in a query deserves an error instead.)"""
        if not isinstance(arg, n.Literal) or not isinstance(arg.value, str):
            return
        from state.jsonpath.iregexp import IRegexpError, translate

        try:
            translate(arg.value)
        except IRegexpError as exc:
            sources = self.sources.get(arg.pos, [])
            at = sources[exc.offset] if exc.offset < len(sources) else arg.pos
            self.fail(f"the pattern is not an I-Regexp (RFC 9485): {exc.reason}", at)

    @staticmethod
    def as_argument(arg: n.Argument, kind: str) -> n.Argument:
        if kind == "logical" and isinstance(arg, n.Query):
            return n.Exists(arg, arg.pos)
        return arg
