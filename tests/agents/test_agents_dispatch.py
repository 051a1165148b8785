"""The dispatcher with ``--agent codex|gemini``: the adapters' events, fields, tools and replies.

Every test feeds real payloads of Codex CLI 0.169.0 and Gemini CLI 0.61.0
(``tests/data/agent-payloads``) through :func:`hooks.testing.run_dispatch` and checks the reply
the agent gets and what Orchestra recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hooks import hookimpl
from hooks.testing import run_dispatch

PAYLOADS = Path(__file__).resolve().parents[1] / "data" / "agent-payloads"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture(autouse=True)
def _fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The masked values are read once per process: each test starts from its own env."""
    import state.redact

    monkeypatch.setattr(state.redact, "_env_values", None)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)


def load(name: str, project: Path, **changes: Any) -> dict[str, Any]:
    text = (PAYLOADS / f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text.replace("/home/dev/project", str(project)))
    data.update(changes)
    return data


def run(payload: dict[str, Any], home: Path, agent: str | None, **kwargs: Any) -> Any:
    outcome = run_dispatch(payload, home=home, agent=agent, **kwargs)
    assert outcome.exit_code == 0, outcome.stderr
    return outcome


def state_of(home: Path, sid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "sessions" / sid / "state.json").read_text())
    return data


def events_of(home: Path, sid: str) -> list[dict[str, Any]]:
    path = home / "sessions" / sid / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- Codex ---------------------------------------------------------------------------------

CODEX_SID = "01a24e8a-a32c-7e31-a580-db5b1231ea7a"


def test_every_codex_payload_dispatches_and_the_session_says_codex(home: Path,
                                                                  project: Path) -> None:
    names = sorted(p.stem for p in PAYLOADS.glob("codex.*.json") if p.stem != "codex.env")
    for name in names:
        outcome = run(load(name, project), home, "codex")
        reply = outcome.reply
        if reply is not None:  # only fields Codex takes, under the event's own name
            specific = reply.get("hookSpecificOutput") or {}
            assert specific.get("hookEventName", load(name, project)["hook_event_name"]) \
                == load(name, project)["hook_event_name"]
    state = state_of(home, CODEX_SID)
    assert state["agent"] == "codex" and state["mode"] == "codex"
    assert state["model"] == "gpt-5.5"
    assert not (home / "drift.jsonl").exists(), (home / "drift.jsonl").read_text()
    assert any(e["event"] == "Interrupt" for e in events_of(home, "01a24e8a-ff41-7300-a662-"
                                                             "9b3789b7f198"))


def test_codex_session_start_tells_the_model_how_to_run_orchestra(home: Path,
                                                                 project: Path) -> None:
    reply = run(load("codex.SessionStart", project), home, "codex").reply
    context = reply["hookSpecificOutput"]["additionalContext"]
    assert "Orchestra commands for your shell" in context
    launcher = home / "bin" / "orchestra"
    assert launcher.is_file() and os.access(launcher, os.X_OK)
    assert f"ORCHESTRA_SESSION_ID={CODEX_SID} ORCHESTRA_HOME={home} {launcher} who" in context


def _claude(home: Path, project: Path, sid: str, tool: str, tool_input: dict[str, Any]) -> None:
    base = {"session_id": sid, "transcript_path": str(project / "t.jsonl"), "cwd": str(project),
            "permission_mode": "default"}
    run({**base, "hook_event_name": "SessionStart", "source": "startup"}, home, None)
    run({**base, "hook_event_name": "PostToolUse", "tool_name": tool, "tool_input": tool_input,
         "tool_response": {}, "tool_use_id": "toolu_1"}, home, None)


def test_codex_apply_patch_on_a_file_claude_changed_is_refused_with_the_reason(
        home: Path, project: Path) -> None:
    _claude(home, project, "claude-one", "Write",
            {"file_path": str(project / "hello.txt"), "content": "x"})
    run(load("codex.SessionStart", project), home, "codex")
    reply = run(load("codex.PreToolUse.2", project), home, "codex").reply
    specific = reply["hookSpecificOutput"]
    # claims.policy is ask by default: Codex cannot ask from a hook, so it is a deny
    assert specific["permissionDecision"] == "deny"
    reason = specific["permissionDecisionReason"]
    assert "hello.txt" in reason and "claude-one (Claude Code)" in reason
    assert "Codex cannot ask you from a hook" in reason
    assert set(reply) == {"hookSpecificOutput"}
    assert set(specific) == {"hookEventName", "permissionDecision", "permissionDecisionReason"}


def test_a_claude_write_on_a_file_codex_patched_is_stopped_for_a_decision(
        home: Path, project: Path) -> None:
    run(load("codex.SessionStart", project), home, "codex")
    run(load("codex.PostToolUse.2", project), home, "codex")  # Add File: hello.txt
    base = {"session_id": "claude-two", "transcript_path": "/t.jsonl", "cwd": str(project)}
    run({**base, "hook_event_name": "SessionStart", "source": "startup"}, home, None)
    reply = run({**base, "hook_event_name": "PreToolUse", "tool_name": "Edit",
                 "tool_use_id": "toolu_2",
                 "tool_input": {"file_path": str(project / "hello.txt"), "old_string": "a",
                                "new_string": "b"}}, home, None).reply
    specific = reply["hookSpecificOutput"]
    assert specific["permissionDecision"] == "ask"
    assert f"{CODEX_SID} (Codex CLI)" in specific["permissionDecisionReason"]
    assert "(apply_patch)" in specific["permissionDecisionReason"]


def test_apply_patch_targets_every_file_the_patch_names(tmp_path: Path) -> None:
    from handlers.patch_files import patch_targets

    patch = ("*** Begin Patch\n*** Add File: a.txt\n+x\n*** Update File: src/b.py\n"
             "*** Move to: src/c.py\n@@\n-x\n+y\n*** Delete File: /abs/d.txt\n"
             "*** Update File: a.txt\n*** End Patch\n")
    assert patch_targets(patch, str(tmp_path)) == [
        str(tmp_path / "a.txt"), str(tmp_path / "src" / "b.py"), str(tmp_path / "src" / "c.py"),
        "/abs/d.txt"]


class Voter:
    """A plugin answering every PreToolUse/UserPromptSubmit/PostToolUse with ``reply``."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply

    @hookimpl
    def on_pre_tool_use(self) -> dict[str, Any]:
        return self.reply

    @hookimpl
    def on_user_prompt_submit(self) -> dict[str, Any]:
        return self.reply

    @hookimpl
    def on_post_tool_use(self) -> dict[str, Any]:
        return self.reply


@pytest.mark.parametrize(("vote", "expected"), [
    ({"hookSpecificOutput": {"permissionDecision": "allow"}}, None),
    ({"hookSpecificOutput": {"permissionDecision": "allow",
                             "updatedInput": {"command": "echo safe"}}},
     {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow",
                             "updatedInput": {"command": "echo safe"}}}),
    ({"continue": False, "stopReason": "stop", "systemMessage": "note"},
     {"systemMessage": "[Voter-0] note"}),
    ({"hookSpecificOutput": {"additionalContext": "ctx"}},
     {"hookSpecificOutput": {"hookEventName": "PreToolUse", "additionalContext": "[Voter-0] ctx"}}),
])
def test_codex_pre_tool_use_replies_carry_only_what_codex_takes(
        home: Path, project: Path, vote: dict[str, Any], expected: Any) -> None:
    reply = run(load("codex.PreToolUse", project), home, "codex",
                plugins=[Voter(vote)]).reply
    assert reply == expected


def test_codex_prompt_reply_drops_what_codex_would_reject(home: Path, project: Path) -> None:
    vote = {"hookSpecificOutput": {"sessionTitle": "x", "additionalContext": "ctx"},
            "decision": "block", "reason": "no"}
    reply = run(load("codex.UserPromptSubmit", project), home, "codex",
                plugins=[Voter(vote)]).reply
    assert reply == {"decision": "block", "reason": "[Voter-0] no", "hookSpecificOutput": {
        "hookEventName": "UserPromptSubmit", "additionalContext": "[Voter-0] ctx"}}


def test_codex_drift_names_the_agent(home: Path, project: Path) -> None:
    run(load("codex.PreToolUse", project, brand_new_field=1, tool_name="view_image"), home,
        "codex")
    lines = [json.loads(x) for x in (home / "drift.jsonl").read_text().splitlines()]
    assert {(x["kind"], x["name"], x["agent"]) for x in lines} == {
        ("field", "brand_new_field", "codex"), ("tool", "view_image", "codex")}


# -- Gemini --------------------------------------------------------------------------------

GEMINI_SID = "42de683d-0b79-4519-8cd6-9868472f7e1d"


def test_gemini_events_map_onto_orchestras(home: Path, project: Path) -> None:
    prompt = "<hook_context>Orchestra: this is session x.</hook_context>\n\nRun echo hi."
    for name, changes in [("gemini.SessionStart", {}), ("gemini.BeforeAgent", {"prompt": prompt}),
                          ("gemini.PreCompress", {}), ("gemini.BeforeModel", {}),
                          ("gemini.BeforeTool", {}), ("gemini.AfterTool", {}),
                          ("gemini.BeforeTool.2", {}), ("gemini.AfterTool.2", {}),
                          ("gemini.AfterModel", {}), ("gemini.AfterAgent", {}),
                          ("gemini.SessionEnd", {})]:
        outcome = run(load(name, project, **changes), home, "gemini")
        if name.split(".")[1] in ("PreCompress", "BeforeModel", "AfterModel"):
            assert outcome.stdout == "" and outcome.stderr == ""  # not acted on
        else:
            assert outcome.reply is not None  # always an object: {} at least
    events = events_of(home, GEMINI_SID)
    assert [(e["event"], e.get("tool")) for e in events] == [
        ("SessionStart", None), ("UserPromptSubmit", None), ("PreToolUse", "Bash"),
        ("PostToolUse", "Bash"), ("PreToolUse", "Write"), ("PostToolUse", "Write"),
        ("Stop", None), ("SessionEnd", None)]
    assert events[1]["summary"]["prompt"] == "Run echo hi."  # Orchestra's own context cut
    assert events[2]["tool_use_id"] == events[3]["tool_use_id"]
    assert events[4]["tool_use_id"] == events[5]["tool_use_id"] != events[2]["tool_use_id"]
    assert events[2]["summary"]["agent_tool_name"] == "run_shell_command"
    assert events[6]["summary"]["last_assistant_message"].endswith("wrote hello.txt.")
    state = state_of(home, GEMINI_SID)
    assert state["agent"] == "gemini" and state["status"] == "ended"
    assert not (home / "drift.jsonl").exists()


def test_strip_hook_context_only_removes_the_leading_blocks() -> None:
    from hooks.agents.gemini import strip_hook_context

    assert strip_hook_context("<hook_context>a</hook_context><hook_context>b</hook_context>"
                              "\nhi <hook_context>keep</hook_context>") == \
        "hi <hook_context>keep</hook_context>"
    assert strip_hook_context("plain prompt") == "plain prompt"
    assert strip_hook_context("<hook_context>never closed") == "<hook_context>never closed"


def test_gemini_tool_calls_pair_by_order_and_a_denied_one_is_forgotten(
        home: Path, project: Path) -> None:
    run(load("gemini.SessionStart", project), home, "gemini")
    run(load("gemini.BeforeAgent", project), home, "gemini")
    first = load("gemini.BeforeTool", project)
    second = load("gemini.BeforeTool", project, tool_input={"command": "ls", "description": "x"})
    run(first, home, "gemini")
    run(second, home, "gemini")
    denied = load("gemini.BeforeTool", project, tool_input={"command": "rm -rf x"})
    reply = run(denied, home, "gemini", plugins=[Voter(
        {"hookSpecificOutput": {"permissionDecision": "deny",
                                "permissionDecisionReason": "no"}})]).reply
    assert reply == {"decision": "deny", "reason": "[Voter-0] no"}
    run(load("gemini.AfterTool", project, tool_input=second["tool_input"]), home, "gemini")
    run(load("gemini.AfterTool", project), home, "gemini")
    events = [e for e in events_of(home, GEMINI_SID) if e.get("tool") == "Bash"]
    ids = {e["summary"]["tool_input"]["command"]: [] for e in events}
    for e in events:
        ids[e["summary"]["tool_input"]["command"]].append(e["tool_use_id"])
    assert len(set(ids["echo hi"])) == 1 and len(set(ids["ls"])) == 1
    assert ids["echo hi"] != ids["ls"]
    queue = json.loads((home / "sessions" / GEMINI_SID / "tool-queue.json").read_text())
    assert queue["pending"] == []  # the denied call left no entry behind


def test_gemini_tool_error_is_a_failure(home: Path, project: Path) -> None:
    run(load("gemini.AfterTool", project, tool_response={
        "llmContent": "boom", "error": {"message": "command failed", "type": "x"}}), home,
        "gemini")
    [event] = events_of(home, GEMINI_SID)
    assert event["event"] == "PostToolUseFailure" and event["summary"]["error"] == \
        "command failed"


@pytest.mark.parametrize(("event", "vote", "expected"), [
    ("gemini.BeforeTool", {"hookSpecificOutput": {"permissionDecision": "ask",
                                                  "permissionDecisionReason": "why"}},
     {"decision": "deny", "reason": "[Voter-0] why (Gemini CLI cannot ask you from a hook "
      "without hanging, so Orchestra refused the call; retry it if you decide it is fine)"}),
    ("gemini.BeforeTool", {"hookSpecificOutput": {"additionalContext": "careful"}},
     {"systemMessage": "[Voter-0] careful"}),
    ("gemini.BeforeTool", {"hookSpecificOutput": {"permissionDecision": "allow",
                                                  "updatedInput": {"command": "echo hey"}}},
     {"hookSpecificOutput": {"hookEventName": "BeforeTool",
                             "tool_input": {"command": "echo hey"}}}),
    ("gemini.AfterTool", {"hookSpecificOutput": {"additionalContext": "note"}},
     {"hookSpecificOutput": {"hookEventName": "AfterTool", "additionalContext": "[Voter-0] note"}}),
    ("gemini.BeforeAgent", {"decision": "block", "reason": "not now"},
     {"decision": "block", "reason": "[Voter-0] not now"}),
    ("gemini.AfterTool", None, {}),
])
def test_gemini_replies(home: Path, project: Path, event: str, vote: Any, expected: Any) -> None:
    plugins = [Voter(vote)] if vote else []
    assert run(load(event, project), home, "gemini", plugins=plugins).reply == expected


def test_gemini_api_key_never_reaches_orchestras_files(home: Path, project: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "AIzaFAKE-not-a-real-key-but-secret-9876"
    monkeypatch.setenv("GEMINI_API_KEY", secret)

    class Leaky:
        @hookimpl
        def on_post_tool_use(self) -> None:
            raise RuntimeError(f"the key is {os.environ.get('GEMINI_API_KEY')} or {secret}")

    run(load("gemini.SessionStart", project), home, "gemini")
    payload = load("gemini.AfterTool", project,
                   tool_response={"llmContent": f"echo {secret}", "returnDisplay": secret})
    run(payload, home, "gemini", plugins=[Leaky()], env={"ORCHESTRA_RECORD": str(home / "r")})
    assert "GEMINI_API_KEY" not in os.environ  # handlers and their commands never see it
    found = [p for p in home.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert found == []
    assert "[REDACTED]" in (home / "logs" / "dispatch.log").read_text()


def test_unknown_agent_is_refused(home: Path) -> None:
    outcome = run_dispatch({"hook_event_name": "Stop"}, home=home, agent="cursor")
    assert outcome.exit_code == 1 and "unknown agent 'cursor'" in outcome.stderr
    assert not home.exists() or not (home / "sessions").exists()


# -- tokens -----------------------------------------------------------------------------------


def test_codex_tokens_come_from_the_last_token_count(home: Path, project: Path) -> None:
    rollout = project / "rollout.jsonl"

    def count(total: int, cached: int, out: int) -> str:
        return json.dumps({"type": "event_msg", "payload": {"type": "token_count", "info": {
            "total_token_usage": {"input_tokens": total, "cached_input_tokens": cached,
                                  "output_tokens": out, "total_tokens": total + out}}}})

    rollout.write_text("\n".join([count(100, 20, 10), count(300, 60, 30)]) + "\n")
    stop = load("codex.Stop", project, transcript_path=str(rollout))
    run(stop, home, "codex")
    run(stop, home, "codex")  # a second Stop does not count the same figures again
    usage = json.loads((home / "sessions" / CODEX_SID / "usage.json").read_text())
    assert usage["tokens"] == {"input_tokens": 240, "cache_read_input_tokens": 60,
                               "output_tokens": 30}
    assert usage["by_model"] == {"gpt-5.5": usage["tokens"]}


def test_gemini_tokens_count_each_model_message_once(home: Path, project: Path) -> None:
    chat = project / "session.jsonl"
    message = {"id": "m1", "type": "gemini", "content": "", "model": "gemini-9-pro",
               "tokens": {"input": 50, "output": 10, "cached": 5, "thoughts": 2, "total": 62}}
    lines = [{"sessionId": GEMINI_SID}, message, {**message, "toolCalls": []},
             {"id": "u1", "type": "user", "content": []}]
    chat.write_text("".join(json.dumps(x) + "\n" for x in lines))
    stop = load("gemini.AfterAgent", project, transcript_path=str(chat))
    run(stop, home, "gemini")
    with chat.open("a") as fh:
        fh.write(json.dumps({**message, "id": "m2"}) + "\n")
    run(stop, home, "gemini")
    usage = json.loads((home / "sessions" / GEMINI_SID / "usage.json").read_text())
    assert usage["tokens"] == {"input_tokens": 90, "cache_read_input_tokens": 10,
                               "output_tokens": 24}
    assert state_of(home, GEMINI_SID)["model"] == "gemini-9-pro"


def test_orchestra_drift_per_agent(home: Path, project: Path) -> None:
    import io

    from orchestra.drift import main as drift

    run(load("codex.PreToolUse", project, brand_new_field=1), home, "codex")
    run(load("gemini.BeforeAgent", project, mood="sunny"), home, "gemini")
    run({"session_id": "claude-x", "hook_event_name": "Stop", "odd": 1}, home, None)

    def report(*argv: str) -> list[dict[str, Any]]:
        out = io.StringIO()
        assert drift(["--json", *argv], stdout=out, stderr=io.StringIO()) == 0
        entries: list[dict[str, Any]] = json.loads(out.getvalue())
        return entries

    every = {(e["agent"], e["name"]) for e in report()}
    assert every == {("codex", "brand_new_field"), ("gemini", "mood"), ("claude-code", "odd")}
    assert [(e["agent"], e["name"], e["event"]) for e in report("--agent", "gemini")] == [
        ("gemini", "mood", "BeforeAgent")]  # the agent's own event name
    text = io.StringIO()
    drift(["--agent", "codex"], stdout=text, stderr=io.StringIO())
    assert "AGENT" in text.getvalue() and "brand_new_field" in text.getvalue()


def test_direct_and_broadcast_messages_reach_codex_and_gemini_once(home: Path,
                                                                  project: Path) -> None:
    from state.messages import send_message
    from state.store import open_store

    run(load("codex.SessionStart", project), home, "codex")
    run(load("gemini.SessionStart", project), home, "gemini")
    store = open_store(home)
    send_message(store, text="to codex alone", sender="lead", to_session=CODEX_SID)
    send_message(store, text="to everyone", sender="lead", to_all=True)
    codex = run(load("codex.UserPromptSubmit", project), home, "codex").reply
    context = codex["hookSpecificOutput"]["additionalContext"]
    assert "to codex alone" in context and "to everyone" in context
    assert "DATA written by another session" in context
    assert run(load("codex.PostToolUse", project), home, "codex").reply is None  # once
    gemini = run(load("gemini.AfterTool", project), home, "gemini").reply
    text = gemini["hookSpecificOutput"]["additionalContext"]
    assert gemini["hookSpecificOutput"]["hookEventName"] == "AfterTool"
    assert "to everyone" in text and "to codex alone" not in text
    assert run(load("gemini.BeforeAgent", project), home, "gemini").reply == {}  # once


@pytest.mark.parametrize("changes", [
    {"tool_name": None}, {"tool_name": 7}, {"tool_input": "not an object"},
    {"tool_input": {"file_path": "../../etc/passwd\u0000x", "content": 1}},
    {"tool_response": ["odd"]}, {"prompt": {"nested": True}}, {"prompt_response": 3},
    {"tool_input": {"command": "x" * 200_000}}, {"mcp_context": "not an object"},
])
def test_hostile_gemini_payloads_never_break_the_dispatch(home: Path, project: Path,
                                                          changes: dict[str, Any]) -> None:
    for name in ("gemini.BeforeAgent", "gemini.BeforeTool", "gemini.AfterTool",
                 "gemini.AfterAgent"):
        outcome = run_dispatch(load(name, project, **changes), home=home, agent="gemini")
        assert outcome.exit_code == 0, outcome.stderr
        assert isinstance(outcome.reply, dict)
    assert not (home / "logs" / "dispatch.log").exists() or "Traceback" not in \
        (home / "logs" / "dispatch.log").read_text()


@pytest.mark.parametrize("patch", [
    "*** Begin Patch\n*** Add File: \u0000evil\n*** End Patch\n",
    "*** Begin Patch\n" + "".join(f"*** Add File: f{i}.txt\n" for i in range(1000)),
    "no patch at all", "",
])
def test_hostile_patches_never_break_the_dispatch(home: Path, project: Path, patch: str) -> None:
    for name in ("codex.PreToolUse.2", "codex.PostToolUse.2"):
        payload = load(name, project, tool_input={"command": patch})
        assert run_dispatch(payload, home=home, agent="codex").exit_code == 0


def test_a_corrupt_tool_queue_is_rebuilt(home: Path, project: Path) -> None:
    run(load("gemini.SessionStart", project), home, "gemini")
    queue = home / "sessions" / GEMINI_SID / "tool-queue.json"
    queue.write_text("{not json")
    run(load("gemini.BeforeTool", project), home, "gemini")
    run(load("gemini.AfterTool", project), home, "gemini")
    events = [e for e in events_of(home, GEMINI_SID) if e.get("tool") == "Bash"]
    assert len(events) == 2 and events[0]["tool_use_id"] == events[1]["tool_use_id"]
