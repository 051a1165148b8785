"""Unusable input never blocks Claude: exit 1, one line on stderr, no traceback, no state.

Each case runs the real ``python -m hooks.dispatch`` (and the in-process ``main``) with an
empty ORCHESTRA_HOME, and checks afterwards that nothing at all was created under it.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hooks import dispatch

_GOOD = {"session_id": "abc-123", "hook_event_name": "PreToolUse", "tool_name": "Bash",
         "tool_input": {"command": "ls"}}


def _with(**fields: Any) -> bytes:
    return json.dumps({**_GOOD, **fields}).encode()


def _without(key: str) -> bytes:
    return json.dumps({k: v for k, v in _GOOD.items() if k != key}).encode()


CASES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "no event on stdin"),
    "whitespace": (b"  \n\t \r\n", "no event on stdin"),
    "invalid json": (b"{not json}", "not valid JSON"),
    "truncated json": (json.dumps(_GOOD).encode()[:-7], "not valid JSON"),
    "trailing garbage": (json.dumps(_GOOD).encode() + b" {}", "not valid JSON"),
    "json array": (b'[{"hook_event_name": "Stop"}]', "must be a JSON object, got list"),
    "json number": (b"42", "must be a JSON object, got int"),
    "json string": (b'"PreToolUse"', "must be a JSON object, got str"),
    "json null": (b"null", "must be a JSON object, got NoneType"),
    "missing event name": (_without("hook_event_name"), "no valid 'hook_event_name'"),
    "empty event name": (_with(hook_event_name=""), "no valid 'hook_event_name'"),
    "numeric event name": (_with(hook_event_name=7), "no valid 'hook_event_name'"),
    "null event name": (_with(hook_event_name=None), "no valid 'hook_event_name'"),
    "list event name": (_with(hook_event_name=["Stop"]), "no valid 'hook_event_name'"),
    "path as event name": (_with(hook_event_name="../Stop"), "no valid 'hook_event_name'"),
    "session id traversal": (_with(session_id="../x"), "invalid session id"),
    "session id absolute": (_with(session_id="/etc/passwd"), "invalid session id"),
    "session id NUL": (_with(session_id="abc\x00def"), "invalid session id"),
    "session id too long": (_with(session_id="a" * 200), "invalid session id"),
    "session id dot-dot": (_with(session_id=".."), "invalid session id"),
    "session id number": (_with(session_id=12), "invalid session id"),
    "session id newline": (_with(session_id="abc\nrm"), "invalid session id"),
    "invalid utf-8": (b'{"hook_event_name": "Stop", "session_id": "s\xff\xfe"}',
                      "not valid UTF-8"),
    "lone surrogate bytes": (b'{"hook_event_name": "Stop", "x": "\xed\xa0\x80"}',
                             "not valid UTF-8"),
    "bare NaN": (b'{"hook_event_name": "Stop", "session_id": "s1", "x": NaN}',
                 "NaN is not a JSON number"),
    "bare Infinity": (b'{"hook_event_name": "Stop", "session_id": "s1", "d": [-Infinity]}',
                      "-Infinity is not a JSON number"),
    "deeply nested": (b'{"hook_event_name": "Stop", "x": ' + b"[" * 100_000 + b"]" * 100_000
                      + b"}", "nested too deeply"),
}


def _check_one_line(stderr: str, expected: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert stderr.endswith("\n")
    assert lines[0].startswith("orchestra: "), stderr
    assert expected in lines[0], stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("case", CASES)
def test_malformed_input_for_real(case: str, home: Path, dispatch_cli: Callable[..., Any],
                                  tree: Callable[[Path], list[str]]) -> None:
    data, expected = CASES[case]
    result = dispatch_cli(data)
    assert result.code == 1, (result.out, result.err)
    assert result.out == ""
    _check_one_line(result.err, expected)
    assert tree(home) == []


@pytest.mark.parametrize("case", CASES)
def test_malformed_input_in_process(case: str, home: Path, tree: Callable[[Path], list[str]],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data, expected = CASES[case]
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    out, err = io.StringIO(), io.StringIO()
    assert dispatch.main([], stdin=io.BytesIO(data), stdout=out, stderr=err) == 1
    assert out.getvalue() == ""
    _check_one_line(err.getvalue(), expected)
    assert tree(home) == []


def test_text_stdin_with_invalid_utf8_in_process(home: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    """A text stream (as tests pass it) carrying undecodable bytes is refused the same way."""
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    text = b'{"hook_event_name": "Stop", "x": "\xff"}'.decode("utf-8", "surrogateescape")
    err = io.StringIO()
    assert dispatch.main([], stdin=io.StringIO(text), stdout=io.StringIO(), stderr=err) == 1
    _check_one_line(err.getvalue(), "not valid UTF-8")


def test_a_valid_session_id_and_event_still_dispatch(dispatch_cli: Callable[..., Any],
                                                     home: Path) -> None:
    """The control case: the same payload with nothing wrong works and writes state."""
    result = dispatch_cli(json.dumps(_GOOD).encode())
    assert (result.code, result.out, result.err) == (0, "", "")
    assert (home / "sessions" / "abc-123").is_dir()


def test_nan_and_infinity_inside_strings_still_dispatch(dispatch_cli: Callable[..., Any],
                                                        home: Path) -> None:
    payload = _with(prompt="NaN Infinity -Infinity", hook_event_name="UserPromptSubmit")
    result = dispatch_cli(payload)
    assert (result.code, result.out, result.err) == (0, "", "")
    assert "NaN Infinity" in (home / "sessions" / "abc-123" / "events.jsonl").read_text("utf-8")


def test_no_session_id_is_fine(dispatch_cli: Callable[..., Any], home: Path,
                               tree: Callable[[Path], list[str]]) -> None:
    result = dispatch_cli(_without("session_id"))
    assert (result.code, result.out, result.err) == (0, "", "")
    assert "sessions" not in tree(home)


def test_internal_error_is_one_line_and_logged(home: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """A failure of Orchestra itself (not of a handler): exit 1, one line, traceback in the log."""
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("registry exploded")

    monkeypatch.setattr("hooks.registry.load_table", broken)
    err = io.StringIO()
    code = dispatch.main([], stdin=io.BytesIO(json.dumps(_GOOD).encode()), stdout=io.StringIO(),
                         stderr=err)
    assert code == 1
    _check_one_line(err.getvalue(), "internal error: RuntimeError: registry exploded")
    log = (home / "logs" / "dispatch.log").read_text()
    assert "Traceback" in log and "registry exploded" in log


def test_help_exits_0() -> None:
    out = io.StringIO()
    assert dispatch.main(["--help"], stdin=io.BytesIO(b""), stdout=out, stderr=io.StringIO()) == 0
    assert "python -m hooks.dispatch" in out.getvalue()


def test_stdin_closed_is_empty_input(home: Path, dispatch_cli: Callable[..., Any]) -> None:
    """Claude Code always sends a line; a hook started without stdin gets the empty-input error."""
    devnull = Path(os.devnull).read_bytes()
    result = dispatch_cli(devnull)
    assert result.code == 1
    _check_one_line(result.err, "no event on stdin")
