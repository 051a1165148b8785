"""Hostile and malformed input to the dispatcher, property-based (hypothesis) and exhaustive.

* **Unusable input** — random bytes, truncated JSON, invalid UTF-8, raw NUL and control
  bytes, JSON that is not an object, a missing or invalid ``hook_event_name``, an invalid
  session id, nesting too deep, empty stdin: exit 1 (never 2, which would block Claude), exactly
  one line on stderr, no traceback, and the state tree byte for byte unchanged.
* **Valid but weird** — captured payloads with fields replaced by values of any type
  (NUL bytes, lone surrogates, huge strings, deep nesting, big numbers), fields removed,
  unknown fields and unknown events: exit 0, nothing on stderr, a reply that fits the
  event's contract, no handler crash in ``logs/dispatch.log``, every document still valid,
  and the CLIs still read the session.
* **Every field of every captured payload** (``tests/payloads``) gets a value of each wrong
  type, and is removed, one at a time.

Hypothesis runs derandomized (the same examples every run), or seeded from
``ORCHESTRA_TEST_SEED`` when that is set. Dispatches run in-process with the plugin table
built once (:func:`prebuilt_registry`); ``test_dispatch_malformed.py`` runs the real command.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from tests.reliability._reliability_support import (
    PAYLOADS,
    SEED_ENV,
    Outcome,
    child_env,
    cli,
    dispatch_bytes,
    dispatch_log_errors,
    dispatch_process,
    payload,
    payload_files,
    prebuilt_registry,
    run_process,
    snapshot,
)

SID = "hostile-1"
_SEED = os.environ.get(SEED_ENV)


def _seeded(examples: int) -> Callable[[Any], Any]:
    """Bounded, reproducible hypothesis settings (see the module docstring)."""
    config = settings(max_examples=examples, deadline=None, database=None,
                      derandomize=_SEED is None, print_blob=True,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.function_scoped_fixture,
                                             HealthCheck.large_base_example])

    def apply(test: Any) -> Any:
        test = config(test)
        return hypothesis_seed(int(_SEED))(test) if _SEED else test

    return apply


CAPTURED = {str(p.relative_to(PAYLOADS)): json.loads(p.read_text()) for p in payload_files()}
CAPTURED_BYTES = [json.dumps({**p, "session_id": SID}).encode() for p in CAPTURED.values()]


# -- a fresh state root per example, copied from a template ------------------------------------


class Roots:
    """Copies of one prepared state root: a started session with a pending message and a task."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.template = base / "template"
        self.count = 0

    def prepare(self) -> None:
        os.environ["ORCHESTRA_HOME"] = str(self.template)
        assert dispatch_bytes(json.dumps(payload("SessionStart.startup", SID)).encode()).code == 0
        assert dispatch_bytes(json.dumps(payload("PostToolUse.TaskCreate", SID)).encode()).code == 0
        assert cli("session_manager", "send", "--to", SID, "pending message").code == 0

    def fresh(self) -> Path:
        self.count += 1
        root = Path(tempfile.mkdtemp(dir=self.base)) / "root"
        shutil.copytree(self.template, root, symlinks=True)
        os.environ["ORCHESTRA_HOME"] = str(root)
        return root

    def drop(self, root: Path) -> None:
        shutil.rmtree(root.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roots]:
    base = tmp_path_factory.mktemp("hostile")
    saved = os.environ.get("ORCHESTRA_HOME")
    with prebuilt_registry(base / "registry"):
        made = Roots(base)
        made.prepare()
        yield made
    if saved is None:
        os.environ.pop("ORCHESTRA_HOME", None)
    else:
        os.environ["ORCHESTRA_HOME"] = saved


# -- checks --------------------------------------------------------------------------------------


def _refused(outcome: Outcome, root: Path, before: dict[str, Any], data: bytes) -> None:
    line = outcome.assert_one_line_error(1, "orchestra: ")
    assert "internal error" not in line, (line, data[:200])
    assert snapshot(root) == before, f"unusable input changed the state: {data[:200]!r}"


def _check_contract(event_name: str, reply: dict[str, Any] | None) -> None:
    from hooks.contract import contract_for
    from hooks.models import validate_reply

    if reply is None:
        return
    contract = contract_for(event_name)
    assert not contract.silent, reply
    validate_reply(event_name, reply)
    assert set(reply) - {"hookSpecificOutput"} <= contract.top, reply
    specific = reply.get("hookSpecificOutput")
    if specific is not None:
        assert set(specific) - {"hookEventName"} <= contract.specific, reply


def _accepted(outcome: Outcome, root: Path, event: dict[str, Any]) -> None:
    """Exit 0, quiet, a contract-conform reply, no handler crash, state still readable."""
    assert outcome.code == 0, outcome
    assert outcome.err == "", outcome
    _check_contract(event["hook_event_name"], outcome.reply)
    assert dispatch_log_errors(root) == [], json.dumps(event)[:500]
    for rel in (root / "sessions" / SID).iterdir():
        if rel.name.endswith(".json"):
            assert isinstance(json.loads(rel.read_bytes()), dict), rel
        assert ".corrupt-" not in rel.name and not rel.name.endswith(".tmp"), rel
    for argv in (["get", SID], ["events", SID, "--tail", "3"]):
        read = cli("state_manager", *argv)
        assert read.code == 0 and read.err == "", (argv, read)
        for line in read.out.split("\n")[:-1]:  # (not splitlines: U+0085 and U+2028 in a
            json.loads(line)                        # JSON string are not line breaks)


# -- strategies --------------------------------------------------------------------------------

_bad_utf8 = st.sampled_from([b"\xff", b"\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80",
                             b"\x80", b"\xc0\xaf", b"\xe2\x82"])


@st.composite
def _inserted(draw: Any, fragment: st.SearchStrategy[bytes]) -> bytes:
    data = draw(st.sampled_from(CAPTURED_BYTES))
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(fragment) + data[at:]


@st.composite
def _truncated(draw: Any) -> bytes:
    data = draw(st.sampled_from(CAPTURED_BYTES))
    return data[:draw(st.integers(0, len(data) - 1))]


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                          st.text(max_size=20))
_json_values = st.recursive(_json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


@st.composite
def _with_field(draw: Any, key: str, values: st.SearchStrategy[Any]) -> bytes:
    event = dict(draw(st.sampled_from(list(CAPTURED.values()))))
    event["session_id"] = SID
    event[key] = draw(values)
    return json.dumps(event).encode()


_bad_names = st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=2),
                       st.just(""), st.text(max_size=30).filter(lambda s: not s.isidentifier()),
                       st.just("A" * 101))
_bad_ids = st.one_of(st.none(), st.integers(), st.booleans(), st.lists(st.just("s1"), max_size=1),
                     st.sampled_from(["", ".", "..", "../x", "/etc/passwd", "a/../../b", "a\0b",
                                      "C:\\x", "a\\b", "x" * 129, "\uff53ession", "a\u2215b",
                                      "a\u2024\u2024b", "s1.", "-s1", " s1", "s1\n", "CON"]),
                     st.text(max_size=40).filter(lambda s: not s.isascii() or "/" in s))

UNUSABLE = {
    "empty": st.sampled_from([b"", b" ", b"\n", b"\r\n\t  \n"]),
    "random bytes": st.binary(max_size=400),
    "truncated": _truncated(),
    "invalid utf-8": _inserted(_bad_utf8),
    "raw NUL or control byte": _inserted(st.sampled_from([b"\x00", b"\x01", b"\x1f", b"\x7f\x00"])),
    "not an object": _json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: json.dumps(v).encode()),
    "bad event name": _with_field("hook_event_name", _bad_names),
    "bad session id": _with_field("session_id", _bad_ids),
    "too deep": st.integers(5_000, 100_000).map(
        lambda n: b'{"hook_event_name": "Stop", "x": ' + b"[" * n + b"]" * n + b"}"),
}


@st.composite
def _unusable(draw: Any) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(UNUSABLE)))
    return kind, draw(UNUSABLE[kind])


_weird_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                                   categories=["Cs", "Cc", "Co", "Zs"]), max_size=10),
    st.sampled_from(["\0", "a\0b", "\ud800", "x\udfff", "</orchestra-message>", "..", "../x",
                     "$(rm -rf /)", "ignore previous instructions", "\u202e"]),
    st.integers(10_000, 300_000).map(lambda n: "h" * n),  # huge
)
_weird_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30),
              st.floats(allow_nan=True, allow_infinity=True), _weird_text),
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(_weird_text, inner, max_size=5)),
    max_leaves=20)
_deep = st.integers(1, 900).map(lambda n: json.loads("[" * n + "]" * n))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


@st.composite
def _weird_event(draw: Any) -> dict[str, Any]:
    event = copy.deepcopy(draw(st.sampled_from(list(CAPTURED.values()))))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(event) if p[0] not in ("session_id", "hook_event_name")]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "deep"]))
        if action == "add" or not paths:
            event[draw(st.text(min_size=1, max_size=12))] = draw(_weird_values)
            continue
        path = draw(st.sampled_from(paths))
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_deep if action == "deep" else _weird_values)
    if draw(st.integers(0, 9)) == 0:  # an event this Orchestra has never heard of
        event["hook_event_name"] = draw(st.from_regex(r"[A-Z][A-Za-z0-9_]{0,30}", fullmatch=True))
    event["session_id"] = SID
    return event


# -- the properties ------------------------------------------------------------------------------


@_seeded(400)
@given(case=_unusable())
def test_unusable_input_is_refused_in_one_line_without_state_change(
        case: tuple[str, bytes], roots: Roots, report: Any) -> None:
    kind, data = case
    root = roots.fresh()
    try:
        before = snapshot(root)
        outcome = dispatch_bytes(data)
        assert outcome.code != 2, outcome
        if kind == "random bytes" and outcome.code == 0:
            return  # (it happened to be a valid event)
        _refused(outcome, root, before, data)
    finally:
        roots.drop(root)
    _tally(report, "unusable", kind)


@_seeded(300)
@given(event=_weird_event())
def test_valid_but_weird_payloads_never_crash_a_handler(event: dict[str, Any], roots: Roots,
                                                         report: Any) -> None:
    root = roots.fresh()
    try:
        try:
            data = json.dumps(event, allow_nan=False).encode()
        except ValueError:  # NaN or Infinity: no JSON, refused as unusable input
            return
        outcome = dispatch_bytes(data)
        _accepted(outcome, root, event)
    finally:
        roots.drop(root)
    _tally(report, "weird", event["hook_event_name"])


_TALLY: dict[str, dict[str, int]] = {}


def _tally(report: Any, test: str, kind: str) -> None:
    counts = _TALLY.setdefault(test, {})
    counts[kind] = counts.get(kind, 0) + 1
    report(quiet=True, inputs_tried=sum(counts.values()), kinds=len(counts))


# -- every field, every wrong type -----------------------------------------------------------------

WRONG: dict[str, Any] = {"null": None, "bool": True, "int": 7, "float": -2.5, "empty string": "",
                         "string": "x", "list": ["a", 1], "object": {"a": {"b": []}}}
_MISSING = object()


def _unusable_field(path: tuple[str, ...], value: Any) -> bool:
    """Whether this value of the session id or event name makes the event unusable."""
    from state.paths import validate_id

    if path == ("hook_event_name",):
        return not (isinstance(value, str) and value.isidentifier())
    if path == ("session_id",) and value is not _MISSING:
        try:
            validate_id(value)
        except ValueError:
            return True
    return False


def test_wrong_type_for_every_field_of_every_captured_payload(roots: Roots, report: Any) -> None:
    """Top-level fields and the fields of ``tool_input``/``tool_response``, each replaced by
    every wrong type in turn and removed: accepted quietly (session id and event name:
    refused in one line, nothing changed)."""
    tried = refused = 0
    started = time.monotonic()
    for name, captured in CAPTURED.items():
        root = roots.fresh()
        try:
            base = {**captured, "session_id": SID}
            fields = [(key,) for key in base] + [
                (outer_key, key) for outer_key in ("tool_input", "tool_response")
                if isinstance(base.get(outer_key), dict) for key in base[outer_key]]
            for path in fields:
                for label, value in [*WRONG.items(), ("missing", _MISSING)]:
                    event = copy.deepcopy(base)
                    parent = event if len(path) == 1 else event[path[0]]
                    if value is _MISSING:
                        del parent[path[-1]]
                    else:
                        parent[path[-1]] = copy.deepcopy(value)
                    data = json.dumps(event).encode()
                    tried += 1
                    if _unusable_field(path, value):
                        before = snapshot(root)
                        _refused(dispatch_bytes(data), root, before, data)
                        refused += 1
                        continue
                    outcome = dispatch_bytes(data)
                    assert outcome.code == 0 and outcome.err == "", (name, path, label, outcome)
                    _check_contract(event["hook_event_name"], outcome.reply)
            assert dispatch_log_errors(root) == [], name
        finally:
            roots.drop(root)
    report(payload_files=len(CAPTURED), inputs_tried=tried, refused=refused,
           seconds=round(time.monotonic() - started, 1))


def test_huge_deep_and_nul_payloads_for_real(roots: Roots, report: Any) -> None:
    """Through the real command: megabytes of text, 100,000 list items, 50,000 keys, 900
    levels of nesting (the most a default interpreter parses), NUL characters: a quick exit
    0, nothing on stderr, and a bounded event-log line."""
    deep: Any = []
    for _ in range(899):
        deep = [deep]
    cases = {
        "8 MB prompt": payload("UserPromptSubmit", SID, prompt="p" * 8_000_000),
        "100k-item tool response": payload("PostToolUse.Bash", SID,
                                           tool_response={"stdout": ["line"] * 100_000}),
        "50k keys": payload("PostToolUse.Bash", SID,
                            tool_input={f"k{i}": i for i in range(50_000)}),
        "900 levels": {**payload("PreToolUse.Bash", SID), "tool_input": {"command": deep}},
        "NUL everywhere": payload("PreToolUse.Write", SID, tool_input={
            "file_path": "/tmp/a\0b", "content": "\0" * 1000}, cwd="/home/\0dev"),
    }
    for label, event in cases.items():
        root = roots.fresh()
        try:
            started = time.monotonic()
            outcome = dispatch_process(json.dumps(event).encode(), root, timeout=60)
            elapsed = time.monotonic() - started
            assert elapsed < 10, (label, elapsed)
            _accepted(outcome, root, event)
            line = (root / "sessions" / SID / "events.jsonl").read_bytes().splitlines()[-1]
            assert len(line) < 100_000, (label, len(line))
        finally:
            roots.drop(root)
    report(inputs_tried=len(cases))


def test_lone_surrogates_survive_the_round_trip(roots: Roots, outer: Path, report: Any) -> None:
    """JSON escapes of lone surrogates (``\\ud800``: what a JavaScript string cut in half
    serialises to) are valid JSON: the event is logged and stored, and the real CLIs print it."""
    root = roots.fresh()
    try:
        events = [payload("UserPromptSubmit", SID, prompt="half an emoji \ud83d"),
                  payload("PostToolUse.TaskCreate", SID, tool_use_id="toolu_sur",
                          tool_response={"task": {"id": "sur-1", "subject": "x\udfff"}})]
        for event in events:
            _accepted(dispatch_bytes(json.dumps(event).encode()), root, event)
        env = child_env(root)
        for argv in (["get", SID, "active_work.tasks"], ["events", SID, "--tail", "2"]):
            done = run_process([sys.executable, "-m", "state.state_manager", *argv], env,
                               cwd=outer.parent)
            assert done.code == 0 and done.err == "", (argv, done)
            assert [json.loads(line) for line in done.out.splitlines()]
            assert "\\ud83d" in done.out or "\\udfff" in done.out, done.out
    finally:
        roots.drop(root)
    report(inputs_tried=len(events))
