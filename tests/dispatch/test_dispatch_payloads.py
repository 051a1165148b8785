"""Every captured payload dispatches (exit 0) with a reply that matches the contract.

Three passes over every file in tests/payloads (recursive): the real ``python -m
hooks.dispatch`` with the built-in handlers; in-process with a plugin that answers
every event with every field it can think of (honoured or not); and in-process with a
plugin that blocks and stops everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hooks.contract import BLOCK_BY_EXIT_2, DECISION_EVENTS, contract_for
from hooks.events import EVENT_NAMES, spec_name
from hooks.testing import run_dispatch


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One state root for the subprocess pass, so the dispatch-table cache stays warm."""
    yield tmp_path_factory.mktemp("payload-home")


def test_payloads_cover_every_event(payload_dir: Path) -> None:
    names = {_load(p)["hook_event_name"] for p in payload_dir.glob("*.json")}
    assert names == set(EVENT_NAMES)


def test_payload_through_the_real_dispatcher(
    payload_file: Path, shared_home: Path, dispatch_cli: Callable[..., Any],
    contract_ok: Callable[..., None],
) -> None:
    data = payload_file.read_bytes()
    event = json.loads(data)["hook_event_name"]
    result = dispatch_cli(data, home_dir=shared_home)
    assert result.code == 0, result.err
    assert result.err == ""
    contract_ok(event, result.reply)
    if contract_for(event).silent:
        assert result.out == ""


def _kitchen_sink(spec: str, event: Any) -> dict[str, Any]:
    """Every field any event honours, a few that none does, never a block or a stop."""
    return {
        "continue": True,
        "suppressOutput": True,
        "terminalSequence": "\x1b]0;title\x07",
        "systemMessage": f"note from {spec}",
        "bogusTopLevel": 1,
        "hookSpecificOutput": {
            "hookEventName": "SomethingElse",  # the dispatcher sets the right one
            "additionalContext": "context",
            "initialUserMessage": "hello",
            "sessionTitle": "title",
            "watchPaths": ["/tmp/a", "/tmp/a", "/tmp/b"],
            "reloadSkills": False,
            "suppressOriginalPrompt": False,
            "permissionDecision": "allow",
            "permissionDecisionReason": "fine",
            "decision": {"behavior": "allow"},
            "retry": False,
            "updatedToolOutput": {"stdout": "rewritten"},
            "displayContent": "shown",
            "action": "accept",
            "content": {"answer": 42},
            "bogusSpecific": True,
        },
    }


def test_payload_with_every_reply_field(
    payload_file: Path, home: Path, recorder: Callable[..., Any],
    contract_ok: Callable[..., None],
) -> None:
    calls: list[tuple[str, Any]] = []
    payload = _load(payload_file)
    event = payload["hook_event_name"]
    result = run_dispatch(payload, plugins=[recorder(calls, _kitchen_sink)], home=home)
    assert result.exit_code == 0, result.stderr
    contract_ok(event, result.reply)
    contract = contract_for(event)
    if contract.silent:
        assert result.stdout == ""
    else:
        assert result.reply is not None
        lines = result.reply["systemMessage"].splitlines()
        assert lines.index("[recorder] note from on_event") < lines.index(
            f"[recorder] note from {spec_name(event)}")
        assert "bogusTopLevel" not in result.reply
    # the every-event spec first, then the event's own, then (when the event starts a wait
    # for a person) on_needs_attention, then after_dispatch (once)
    names = [name for name, _ in calls if name != "on_state_change"]
    waits = event in ("PermissionRequest", "Elicitation") or payload.get(
        "notification_type") in ("permission_prompt", "idle_prompt", "elicitation_dialog",
                                 "elicitation_url_dialog", "agent_needs_input")
    assert names == ["on_event", spec_name(event), *(["on_needs_attention"] if waits else []),
                     "after_dispatch"]


def _block_everything(spec: str, event: Any) -> dict[str, Any] | None:
    if spec == "on_event":
        return None
    return {"decision": "block", "reason": "no", "continue": False, "stopReason": "halt",
            "hookSpecificOutput": {"permissionDecision": "deny", "permissionDecisionReason": "no",
                                   "decision": {"behavior": "deny", "message": "no"},
                                   "action": "cancel"}}


def test_payload_with_blocking_replies(
    payload_file: Path, home: Path, recorder: Callable[..., Any],
    contract_ok: Callable[..., None],
) -> None:
    payload = _load(payload_file)
    event = payload["hook_event_name"]
    result = run_dispatch(payload, plugins=[recorder([], _block_everything)], home=home,
                          builtins=False)
    contract = contract_for(event)
    if event in BLOCK_BY_EXIT_2:
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == "[recorder] no\n"
        return
    assert result.exit_code == 0, result.stderr
    contract_ok(event, result.reply)
    if contract.silent:
        assert result.stdout == ""
        return
    assert result.reply is not None
    assert result.reply["continue"] is False
    assert result.reply["stopReason"] == "[recorder] halt"
    if "decision" in contract.top:
        assert result.reply["decision"] == "block"
        assert result.reply["reason"] == "[recorder] no"
    specific = result.reply.get("hookSpecificOutput", {})
    if "permissionDecision" in contract.specific:
        assert specific["permissionDecision"] == "deny"
    if event in DECISION_EVENTS:
        assert result.reply.get("decision") == "block" or specific, result.reply
