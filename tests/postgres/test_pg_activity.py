"""Issue 21 on PostgreSQL: what a session is doing, its name, its SendMessage and its
tokens, seen from another machine (hooks and CLIs as real processes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.handlers._support import payload
from tests.postgres.conftest import Machine

REPO = Path(__file__).resolve().parents[2]
COORDINATION = REPO / "tests" / "payloads" / "coordination"


def _hook(machine: Machine, name: str, sid: str, **changes: Any) -> None:
    hook = machine.dispatch(payload(name, sid, **changes))
    assert hook.code == 0, hook.stderr


def _captured(name: str, sid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((COORDINATION / f"{name}.json").read_text())
    data["session_id"] = sid
    return data


def test_activity_waits_names_messages_and_tokens_cross_machines(
        make_machine: Callable[..., Machine], tmp_path: Path) -> None:
    a, b = make_machine("a", sync_seconds=0), make_machine("b", sync_seconds=0)
    _hook(a, "SessionStart.startup", "alpha")
    _hook(b, "SessionStart.startup", "beta")
    _hook(a, "UserPromptSubmit", "alpha", prompt="Fix the rounding bug in cart totals")
    bash = {"tool_name": "Bash", "tool_use_id": "t1",
            "tool_input": {"command": "touch x", "description": "Touch the marker"}}
    _hook(a, "PreToolUse.Bash", "alpha", **bash)
    _hook(a, "PermissionRequest.Bash", "alpha", tool_input=bash["tool_input"])
    a.cli("state.session_manager", "show", "alpha")  # a process of machine a connects: sync
    waiting = b.cli("state.session_manager", "list", "--waiting")
    assert [s["session_id"] for s in waiting] == ["alpha"], waiting
    assert waiting[0]["doing"] == "waiting for permission: Bash: Touch the marker"
    assert waiting[0]["activity"]["prompt"]["text"] == "Fix the rounding bug in cart totals"
    _hook(a, "PostToolUse.Bash", "alpha", **bash)
    a.cli("state.session_manager", "show", "alpha")
    assert b.cli("state.session_manager", "list", "--waiting") == []

    # alpha's Claude Code name, from its ListAgents; beta sends it a message by that name.
    listing = _captured("PostToolUse.ListAgents", "alpha")
    assert a.dispatch(listing).code == 0
    name = listing["tool_response"]["listing"].split("This session is ", 1)[1].split(" ")[0]
    sent = _captured("PostToolUse.SendMessage.sent", "beta")
    sent["tool_input"]["to"] = name
    hook = b.dispatch(sent)
    assert hook.code == 0, hook.stderr
    b.cli("state.session_manager", "show", "beta")
    inbox = a.cli("state.session_manager", "inbox", "alpha", "--all")
    assert [(m["via"], m["from"], m["to"]["session"], m["delivered"]) for m in inbox] == [
        ("claude-code", "beta", "alpha", True)]
    reply = a.dispatch(payload("UserPromptSubmit", "alpha"))
    assert "cart fix ready" not in json.dumps(reply.reply)  # never delivered again

    # Tokens read on machine a are seen on machine b.
    transcript = tmp_path / "alpha.jsonl"
    line = {"type": "assistant", "message": {"id": "m1", "model": "claude-opus-5-5",
                                             "usage": {"input_tokens": 1_000_000,
                                                       "output_tokens": 10}}}
    transcript.write_text(json.dumps(line) + "\n" + json.dumps(line) + "\n")
    _hook(a, "Stop", "alpha", transcript_path=str(transcript))
    a.cli("state.session_manager", "show", "alpha")
    shown = b.cli("state.session_manager", "show", "alpha")
    assert shown["tokens"]["total"] == {"input_tokens": 1_000_000, "output_tokens": 10}
    assert shown["cost"]["usd"] == 4.0002  # the default price of claude-opus-5-5
    assert shown["claude_name"].startswith(name)
    assert shown["activity"]["state"] == "idle"
