"""The event log never stores recognisable secrets, and stays bounded (issue 4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from state.redact import redact, summarize
from tests.handlers._support import SESSION, payload

SECRETS = [
    ("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv", "sk-ant-api03"),
    ("ghp_AbCdEfGhIjKlMnOpQrStUvWxYz012345", "ghp_AbCd"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijkl", "github_pat_11"),
    ("xoxb-123456789012-abcdefghij", "xoxb-1234"),
    ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7"),
    ("AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "AIzaSyA"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "eyJhbGci"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----",
     "b3BlbnNzaC1rZXk"),
    ("mysql --password=hunter2hunter2", "hunter2"),
    ('{"api_key": "abcdef123456"}', "abcdef123456"),
    ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
    ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG", "wJalrXUtnFEMI"),
]


@pytest.mark.parametrize(("text", "leak"), SECRETS, ids=[s[1][:12] for s in SECRETS])
def test_redact_masks_secrets(text: str, leak: str) -> None:
    masked = redact(f"before {text} after")
    assert leak not in masked and "[REDACTED]" in masked
    assert masked.startswith("before ")


@pytest.mark.parametrize("text", ["echo hello world", "pytest -q tests/", "git log --oneline",
                                  "ls -la /home/dev/project", "Write the notes"])
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text


def test_sensitive_keys_are_masked_and_long_strings_cut() -> None:
    summary = summarize({"clientSecret": "abc", "password": "x", "note": "y" * 5000}, limit=100)
    assert summary["clientSecret"] == summary["password"] == "[REDACTED]"
    assert summary["note"]["length"] == 5000 and len(summary["note"]["text"]) == 100


def test_event_log_holds_no_secret(home: Path, dispatch: Callable[..., Any]) -> None:
    command = ("curl -H 'Authorization: Bearer abcdefghijklmnop' https://x && echo sk-ant-"
               + "a" * 30)
    dispatch(payload("PreToolUse.Bash", tool_input={"command": command}))
    text = (home / "sessions" / SESSION / "events.jsonl").read_text()
    record = json.loads(text)
    assert "abcdefghijklmnop" not in text and "sk-ant-aaaa" not in text
    assert "[REDACTED]" in record["summary"]["tool_input"]["command"]
