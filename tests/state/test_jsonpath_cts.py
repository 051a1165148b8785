"""The RFC 9535 JSONPath Compliance Test Suite against ``state_manager get``.

Every case of ``tests/data/jsonpath-cts/cts.json`` (see SOURCE.txt there) runs
through :func:`state.query.jsonpath_query`, the function ``state_manager get``
evaluates a JSONPath with, on the case's own document; every invalid selector
also runs through the CLI itself. The figures are printed, and issue 15's
targets asserted:

* every invalid selector is rejected: exit 2, one line naming the position;
* at least 95% of the valid ones give the RFC's result (``result``, or one of
  ``results`` where the order is not fixed);
* the others are rejected as unsupported, never answered wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from state.errors import InvalidQueryError
from state.jsonpath import UnsupportedJSONPathError
from state.query import jsonpath_query

SUITE = Path(__file__).resolve().parents[1] / "data" / "jsonpath-cts" / "cts.json"
CASES: list[dict[str, Any]] = json.loads(SUITE.read_text(encoding="utf-8"))["tests"]
VALID = [c for c in CASES if not c.get("invalid_selector")]
INVALID = [c for c in CASES if c.get("invalid_selector")]
POSITION = re.compile(r"^(invalid|unsupported) JSONPath at position (\d+): \S")


def _json_equal(a: Any, b: Any) -> bool:
    """Equal as JSON values: true is not 1, object members in any order."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_json_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _outcome(case: dict[str, Any]) -> tuple[str, str]:
    """("right" | "wrong" | "unsupported" | "rejected" | "accepted", detail)."""
    try:
        got = jsonpath_query(case.get("document"), case["selector"])
    except UnsupportedJSONPathError as exc:
        return ("rejected" if case.get("invalid_selector") else "unsupported"), str(exc)
    except InvalidQueryError as exc:
        return ("rejected" if case.get("invalid_selector") else "wrong"), str(exc)
    if case.get("invalid_selector"):
        return "accepted", json.dumps(got)
    allowed = [case["result"]] if "result" in case else case["results"]
    if any(_json_equal(got, expected) for expected in allowed):
        return "right", ""
    return "wrong", json.dumps(got)


def test_the_suite_is_the_recorded_version() -> None:
    assert (len(CASES), len(VALID), len(INVALID)) == (703, 456, 247)


def test_compliance_suite_meets_the_targets(capsys: pytest.CaptureFixture[str]) -> None:
    tally: dict[str, list[tuple[str, str]]] = {}
    for case in CASES:
        kind, detail = _outcome(case)
        tally.setdefault(kind, []).append((case["name"], detail))
    count = {kind: len(items) for kind, items in tally.items()}
    right = count.get("right", 0)
    with capsys.disabled():
        print(f"\nRFC 9535 compliance suite ({SUITE.parent.name}): "
              f"valid {len(VALID)}: right {right} ({100 * right / len(VALID):.1f}%), "
              f"unsupported {count.get('unsupported', 0)}, wrong {count.get('wrong', 0)}; "
              f"invalid {len(INVALID)}: rejected {count.get('rejected', 0)}, "
              f"accepted {count.get('accepted', 0)}")
    assert tally.get("wrong", []) == [], "answered wrong (or rejected as invalid)"
    assert tally.get("accepted", []) == [], "invalid selectors accepted"
    assert right >= 0.95 * len(VALID)


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c["name"])
def test_invalid_selector_names_the_position(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidQueryError) as info:
        jsonpath_query(case.get("document"), case["selector"])
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    found = POSITION.match(message)
    assert found, message
    assert 1 <= int(found.group(2)) <= len(case["selector"]) + 1


def test_cli_rejects_every_invalid_selector(sm: Any, session: str) -> None:
    """Through ``state_manager get`` itself: exit 2, one line on stderr, no output."""
    for case in INVALID:
        line = sm("get", session, case["selector"]).assert_error(2)
        assert line.startswith("state_manager: error: "), line
        assert POSITION.match(line.removeprefix("state_manager: error: ")), line
