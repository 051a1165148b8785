"""I-Regexp (RFC 9485): what is a pattern, and what it matches once translated."""

from __future__ import annotations

import pytest

from state.jsonpath import evaluate
from state.jsonpath.iregexp import IRegexpError, compile_iregexp, translate


@pytest.mark.parametrize("pattern", [
    "", "a", "a.*", "a|b|", "(ab)+c?", "a{2}", "a{2,}", "a{2,3}", "[a-z]", "[^a-z]", "[-a]",
    "[a-]", "[\\]\\[\\-]", "\\.\\\\\\n\\r\\t\\(\\)\\*\\+\\?\\{\\}\\|\\^", "\\p{L}", "\\p{Lu}",
    "\\P{Nd}", "[\\p{Lu}\\d-]".replace("\\d", "0-9"), "^ab$", "\u00e9+", "[\U0001f600-\U0001f64f]",
])
def test_valid_patterns(pattern: str) -> None:
    assert compile_iregexp(pattern) is not None


@pytest.mark.parametrize(("pattern", "offset", "reason"), [
    ("(", 0, "unclosed '('"),
    ("a)", 1, "unexpected ')'"),
    ("*a", 0, "nothing to repeat"),
    ("a**", 2, "nothing to repeat"),
    ("a*?", 2, "nothing to repeat"),  # no lazy quantifiers
    ("a{2", 1, "must end with '}'"),
    ("a{3,2}", 1, "maximum is below the minimum"),
    ("a{,2}", 2, "expected digits"),
    ("[]", 0, "empty character class"),
    ("[^]", 0, "empty character class"),
    ("[a", 0, "unclosed '['"),
    ("[a-b-c]", 4, "'-' in a character class"),
    ("[z-a]", 1, "out of order"),
    ("\\$", 0, "invalid escape"),  # $ is a plain character to RFC 9485: [$]
    ("[[]", 1, "'[' must be escaped"),
    ("\\d", 0, "invalid escape"),
    ("\\w+", 0, "invalid escape"),
    ("\\", 0, "invalid escape"),
    ("\\p{Latin}", 0, "Unicode category"),
    ("\\p{Lx}", 0, "Unicode category"),
    ("\\pL", 0, "must be followed by {category}"),
    ("a}", 1, "unescaped '}'"),
    ("(?:a)", 1, "nothing to repeat"),
])
def test_invalid_patterns(pattern: str, offset: int, reason: str) -> None:
    with pytest.raises(IRegexpError) as info:
        translate(pattern)
    assert (info.value.offset, reason in info.value.reason) == (offset, True), info.value.reason
    assert compile_iregexp(pattern) is None


@pytest.mark.parametrize(("pattern", "text", "full", "partial"), [
    (".", "\u2028", True, True),
    (".", "\n", False, False),
    (".", "\r", False, False),
    ("a.b", "a\U00010101b", True, True),  # one character, not two surrogates
    ("\\p{Lu}", "\u0416", True, True),
    ("\\p{Lu}", "\u0436", False, False),
    ("\\P{Lu}", "\u0436", True, True),
    ("[\\p{Lu}0-9]+", "A1\u0416", True, True),
    ("[^\\P{Nd}]", "7", True, True),  # double negation: a digit
    ("^ab.*", "abc", True, True),
    ("^ab", "cab", False, False),  # ^ anchors at the start of the string
    ("ab$", "ab\n", False, False),  # $ at the very end, not before a newline
    ("b", "abc", False, True),
    ("a|bc", "bc", True, True),
    ("a{2,3}", "aaaa", False, True),
    ("\\^[$]", "^$", True, True),
])
def test_matching(pattern: str, text: str, full: bool, partial: bool) -> None:
    regex = compile_iregexp(pattern)
    assert regex is not None
    assert (regex.fullmatch(text) is not None, regex.search(text) is not None) == (full, partial)


def test_a_pattern_from_the_document_that_is_no_i_regexp_matches_nothing() -> None:
    """RFC 9535 section 2.4.6: match()/search() are false, not an error."""
    doc = {"re": "a\\d", "values": ["a1", "ad", "a\\d"]}
    assert evaluate("$.values[?match(@, $.re)]", doc) == []
    assert evaluate("$.values[?!search(@, $.re)]", doc) == ["a1", "ad", "a\\d"]
    doc["re"] = "a[0-9]"
    assert evaluate("$.values[?match(@, $.re)]", doc) == ["a1"]
