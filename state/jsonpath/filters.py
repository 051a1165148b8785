"""The filter half of the JSONPath parser: conditions, comparisons, function calls,
and the RFC's well-typedness rules for them (section 2.4.3)."""

from __future__ import annotations

from state.jsonpath import nodes as n
from state.jsonpath.scanner import DIGITS, Scanner, name_first

__all__ = ["FUNCTIONS", "FilterParser"]

#: name: (parameter types, result type); types are "value", "nodes" and "logical".
FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "length": (("value",), "value"),
    "count": (("nodes",), "value"),
    "match": (("value", "value"), "logical"),
    "search": (("value", "value"), "logical"),
    "value": (("nodes",), "value"),
}

_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_LOWER = "abcdefghijklmnopqrstuvwxyz"


class FilterParser(Scanner):
    """Parses what follows ``?`` in a filter selector (queries come from the subclass)."""

    def query(self) -> n.Query:
        """``$...`` or ``@...`` at the position (defined by the parser proper)."""
        raise NotImplementedError

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
        if ch == "-" or (ch and ch in DIGITS):
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
        if ch and name_first(ch):
            word = self.identifier(any_case=True)
            hint = (f"; literals are lowercase: {word.lower()}"
                    if word.lower() in ("true", "false", "null") else
                    f": quote strings ('{word}'), start queries with @ or $")
            self.fail(f"unknown word {word!r}{hint}", start)
        if ch == ".":
            self.fail("a relative query starts with '@': write @.name")
        self.expected("a query (@... or $...), a literal or a function call")


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
        from state.jsonpath.iregexp import IRegexpError, translate  # only a literal pattern

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
