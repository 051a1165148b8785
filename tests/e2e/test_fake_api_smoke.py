"""Smoke test of the e2e harness: the real CLI, scripted by the fake API, fires real hooks.

The first two tests exercise the fake server alone (fast, no CLI). The last
one installs (or finds) Claude Code 2.1.332 and runs a scripted session of
Bash ``echo hi``, a Write and a final text, with a command hook on five
events that appends its stdin to a JSONL file.
"""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .claude_cli import run_claude
from .fake_api import DONE_TEXT, FakeAnthropic, Script, tool_use

HOOK_EVENTS = ("SessionStart", "PreToolUse", "PostToolUse", "Stop", "SessionEnd")

HOOK_SCRIPT = textwrap.dedent(
    """\
    import json, sys

    raw = sys.stdin.read()
    try:
        line = json.dumps(json.loads(raw))
    except ValueError:
        line = json.dumps({"unparsed": raw})
    with open(sys.argv[1], "a", encoding="utf-8") as fh:
        fh.write(line + "\\n")
    """
)


def _post(url: str, body: dict[str, Any]) -> tuple[str, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get("content-type", ""), response.read().decode()


def _agent_body(messages: list[dict[str, Any]], *, stream: bool) -> dict[str, Any]:
    return {
        "model": "claude-test",
        "max_tokens": 32000,
        "stream": stream,
        "system": [{"type": "text", "text": "You are a Claude agent, built on the Agent SDK."}],
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": messages,
    }


def _sse_message(stream_text: str) -> dict[str, Any]:
    """Rebuild the message from an SSE stream, as a client would."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for chunk in stream_text.strip().split("\n\n"):
        data = json.loads(chunk.split("data: ", 1)[1])
        if data["type"] == "message_start":
            message = data["message"]
        elif data["type"] == "content_block_start":
            message["content"].append(data["content_block"])
        elif data["type"] == "content_block_delta":
            delta, index = data["delta"], data["index"]
            if delta["type"] == "text_delta":
                message["content"][index]["text"] += delta["text"]
            else:
                partial[index] = partial.get(index, "") + delta["partial_json"]
        elif data["type"] == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = json.loads(partial[data["index"]])
        elif data["type"] == "message_delta":
            message.update(data["delta"])
    return message


def test_fake_api_plays_the_script(tmp_path: Path) -> None:
    script = Script(
        main=[["Running.", tool_use("Bash", {"command": "echo hi"})], ["All done."]],
        subagent=[["sub says hi"]],
        subagent_marker="SUBTASK-42",
    )
    log_path = tmp_path / "requests.jsonl"
    user = {"role": "user", "content": "go"}
    with FakeAnthropic(script, log_path=log_path) as api:
        url = api.base_url + "/v1/messages?beta=true"
        ctype, raw = _post(url, _agent_body([user], stream=True))
        assert ctype.startswith("text/event-stream")
        first = _sse_message(raw)
        assert first["stop_reason"] == "tool_use"
        assert first["content"][0] == {"type": "text", "text": "Running."}
        call = first["content"][1]
        assert call["name"] == "Bash" and call["input"] == {"command": "echo hi"}
        assert call["id"].startswith("toolu_e2e_")

        history = [
            user,
            {"role": "assistant", "content": first["content"]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"]}]},
        ]
        _, raw = _post(url, _agent_body(history, stream=False))
        second = json.loads(raw)
        assert second["stop_reason"] == "end_turn"
        assert second["content"] == [{"type": "text", "text": "All done."}]

        history += [{"role": "assistant", "content": second["content"]}, user]
        _, raw = _post(url, _agent_body(history, stream=False))
        assert json.loads(raw)["content"][0]["text"] == DONE_TEXT

        sub = {"role": "user", "content": [{"type": "text", "text": "do SUBTASK-42 now"}]}
        _, raw = _post(url, _agent_body([sub], stream=False))
        assert json.loads(raw)["content"][0]["text"] == "sub says hi"

        # A side request (no tools, JSON schema asked) does not touch the script.
        side = {
            "model": "claude-test",
            "max_tokens": 512,
            "messages": [user],
            "output_config": {
                "format": {
                    "type": "json_schema",
                    "schema": {"type": "object", "properties": {"title": {"type": "string"}}},
                }
            },
        }
        _, raw = _post(url, side)
        assert json.loads(json.loads(raw)["content"][0]["text"]) == {"title": "ok"}

        _, raw = _post(api.base_url + "/v1/messages/count_tokens", {"messages": [user]})
        assert "input_tokens" in json.loads(raw)

    assert [e.kind for e in api.exchanges] == [
        "main",
        "main",
        "main",
        "subagent",
        "side",
        "count_tokens",
    ]
    assert [e.turn for e in api.exchanges[:4]] == [0, 1, 2, 0]
    saved = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert saved == api.requests and len(saved) == 6


def test_fake_api_recognises_a_compaction_fork() -> None:
    fork_prompt = (
        "CRITICAL: Respond with TEXT ONLY. Do NOT call any tools.\n"
        "Your task is to create a detailed summary of the conversation so far... "
        "an <analysis> block followed by a <summary> block."
    )
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
        {"role": "user", "content": [{"type": "text", "text": fork_prompt}]},
    ]
    api = FakeAnthropic([["first"], [tool_use("Bash", {"command": "rm -rf /"})]])
    kind, turn, message = api.answer(_agent_body(messages, stream=False))
    assert (kind, turn) == ("side", None)
    assert message["stop_reason"] == "end_turn"
    assert "<summary>" in message["content"][0]["text"]


@pytest.mark.e2e
def test_real_cli_runs_a_scripted_session_and_fires_hooks(claude_bin: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    home = tmp_path / "home"
    (project / ".claude").mkdir(parents=True)
    home.mkdir()
    events_file = tmp_path / "hook-events.jsonl"
    hook_py = tmp_path / "record_hook.py"
    hook_py.write_text(HOOK_SCRIPT, encoding="utf-8")
    command = shlex.join([sys.executable, str(hook_py), str(events_file)])
    handler = {"type": "command", "command": command, "timeout": 30}
    settings = {"hooks": {event: [{"hooks": [handler]}] for event in HOOK_EVENTS}}
    (project / ".claude" / "settings.json").write_text(json.dumps(settings), encoding="utf-8")

    written = project / "notes" / "out.txt"
    script = Script(
        main=[
            ["Saying hi first.", tool_use("Bash", {"command": "echo hi", "description": "say hi"})],
            [tool_use("Write", {"file_path": str(written), "content": "written by e2e\n"})],
            ["All done."],
        ]
    )
    started = time.monotonic()
    with FakeAnthropic(script, log_path=tmp_path / "requests.jsonl") as api:
        proc = run_claude(
            claude_bin,
            "Say hi, then write the notes file.",
            cwd=project,
            home=home,
            base_url=api.base_url,
            debug_file=tmp_path / "claude-debug.log",
        )
    elapsed = time.monotonic() - started
    debug_log = tmp_path / "claude-debug.log"
    context = (
        f"exit {proc.returncode} after {elapsed:.1f}s\n--- stdout\n{proc.stdout}\n"
        f"--- stderr\n{proc.stderr}\n--- calls\n"
        + "\n".join(f"{e.method} {e.path} {e.kind} {e.turn}" for e in api.exchanges)
        + (f"\n--- debug log tail\n{debug_log.read_text()[-4000:]}" if debug_log.exists() else "")
    )

    assert proc.returncode == 0, context
    result = json.loads(proc.stdout)
    assert result["is_error"] is False, context
    assert result["result"] == "All done.", context
    assert written.read_text() == "written by e2e\n", context

    # The model saw the Bash result.
    main_calls = [e for e in api.exchanges if e.kind == "main"]
    assert [e.turn for e in main_calls] == [0, 1, 2], context
    bash_id = main_calls[0].response["content"][1]["id"]
    results = {r["tool_use_id"]: r for r in api.tool_results("main")}
    assert bash_id in results, context
    bash_result = results[bash_id]
    assert not bash_result.get("is_error"), bash_result
    assert "hi" in json.dumps(bash_result["content"]), bash_result

    # The hooks fired in order, with the real payloads.
    assert events_file.exists(), context
    payloads = [json.loads(line) for line in events_file.read_text().splitlines()]
    seen = [
        (p.get("hook_event_name"), p.get("tool_name"))
        if p.get("tool_name")
        else (p.get("hook_event_name"),)
        for p in payloads
    ]
    expected = [
        ("SessionStart",),
        ("PreToolUse", "Bash"),
        ("PostToolUse", "Bash"),
        ("PreToolUse", "Write"),
        ("PostToolUse", "Write"),
        ("Stop",),
        ("SessionEnd",),
    ]
    assert seen == expected, f"{seen}\n{context}"
    by_event = {(p["hook_event_name"], p.get("tool_name")): p for p in payloads}
    assert by_event[("PreToolUse", "Bash")]["tool_input"]["command"] == "echo hi"
    assert by_event[("PostToolUse", "Bash")]["tool_response"]["stdout"].strip() == "hi"
    assert by_event[("PreToolUse", "Bash")]["tool_use_id"] == bash_id
    assert by_event[("PostToolUse", "Write")]["tool_input"]["file_path"] == str(written)
    assert by_event[("SessionStart", None)]["source"] == "startup"
    assert by_event[("Stop", None)]["stop_hook_active"] is False
    session_ids = {p["session_id"] for p in payloads}
    assert session_ids == {result["session_id"]}, session_ids
