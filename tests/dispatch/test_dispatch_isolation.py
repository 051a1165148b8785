"""Handler isolation: a handler that raises, exits, hangs or prints harms only itself.

Guards (``@hookimpl(guard=True)``) fail closed on decision events and open elsewhere.
Timing assertions are deliberately loose: a dispatch must return within its budget
plus a generous margin, never "in N milliseconds".
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hooks import hookimpl
from hooks.testing import run_dispatch

Payload = Callable[[str], dict[str, Any]]

# A hang is a sleep far longer than any bound used below: if isolation fails, the test fails
# (or times out) instead of passing by luck.
HANG_SECONDS = 60
MARGIN = 8.0  # seconds on top of the budget: process start-up on a loaded CI machine


def _log(home: Path) -> str:
    path = home / "logs" / "dispatch.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _context(text: str) -> dict[str, Any]:
    return {"hookSpecificOutput": {"additionalContext": text}}


# -- raising handlers -----------------------------------------------------------------------


def test_raising_handler_is_skipped_and_the_others_run(
    home: Path, plugin: Callable[..., Any], payload: Payload,
) -> None:
    marker = home.parent / "effect.txt"

    def boom(event: Any) -> None:
        raise ValueError("kaboom")

    def effect(event: Any) -> dict[str, Any]:
        marker.write_text(event.tool_name or "")
        return _context("still here")

    plugins = [plugin("broken", on_pre_tool_use=boom), plugin("fine", on_pre_tool_use=effect),
               plugin("early", on_event=boom)]
    result = run_dispatch(payload("PreToolUse.Bash.json"), plugins=plugins, home=home)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.reply is not None
    assert "[fine] still here" in result.reply["hookSpecificOutput"]["additionalContext"]
    assert marker.read_text() == "Bash"  # the other handler's effect persists
    sid = payload("PreToolUse.Bash.json")["session_id"]
    assert (home / "sessions" / sid / "heartbeat.json").exists()  # so do the built-ins'
    assert (home / "sessions" / sid / "events.jsonl").exists()
    log = _log(home)
    assert "handler broken.on_pre_tool_use on PreToolUse raised ValueError: kaboom" in log
    assert "handler early.on_event on PreToolUse raised ValueError" in log
    assert "Traceback" in log


def test_handler_calling_sys_exit_cannot_end_the_dispatch(
    home: Path, plugin: Callable[..., Any], payload: Payload,
) -> None:
    plugins = [plugin("quitter", on_stop=lambda: sys.exit(3)),
               plugin("keyboard", on_stop=lambda: (_ for _ in ()).throw(KeyboardInterrupt())),
               plugin("fine", on_stop=lambda: {"systemMessage": "ok"})]
    result = run_dispatch(payload("Stop.json"), plugins=plugins, home=home, builtins=False)
    assert result.exit_code == 0
    assert result.reply == {"systemMessage": "[fine] ok"}
    assert "quitter.on_stop on Stop raised SystemExit: 3" in _log(home)
    assert "keyboard.on_stop on Stop raised KeyboardInterrupt" in _log(home)


def test_raising_and_exiting_handlers_for_real(
    make_plugin: Callable[..., Path], dispatch_cli: Callable[..., Any], home: Path,
    payload: Payload, no_builtins: dict[str, str],
) -> None:
    folder = make_plugin("bad", """
        import os, sys
        from hooks import hookimpl

        @hookimpl
        def on_pre_tool_use(event):
            raise RuntimeError("bad plugin")

        @hookimpl
        def on_event(event):
            sys.exit(0)
    """)
    make_plugin("good", """
        from hooks import hookimpl

        @hookimpl
        def on_pre_tool_use(event):
            return {"hookSpecificOutput": {"permissionDecision": "ask",
                                           "permissionDecisionReason": "check"}}
    """)
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[folder], **no_builtins)
    assert result.code == 0 and result.err == ""
    assert result.reply == {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                                   "permissionDecision": "ask",
                                                   "permissionDecisionReason": "[good] check"}}
    assert "bad.on_pre_tool_use on PreToolUse raised RuntimeError: bad plugin" in _log(home)


# -- hanging handlers and the budget ------------------------------------------------------------


HANGING = f"""
    import time
    from hooks import hookimpl

    @hookimpl
    def on_pre_tool_use(event):
        time.sleep({HANG_SECONDS})

    @hookimpl
    def on_session_end(event):
        time.sleep({HANG_SECONDS})
"""

def _warm(dispatch_cli: Callable[..., Any], folder: Path, payload: Payload, **env: str) -> None:
    """Build and cache the dispatch table first: building it counts against the budget,
    and on a loaded machine it could use up a small one before the handler under test runs."""
    assert dispatch_cli(payload("Stop.json"), paths=[folder], **env).code == 0


HELPER = """
    from hooks import hookimpl

    @hookimpl(trylast=True)
    def on_pre_tool_use(event):
        return {"hookSpecificOutput": {"additionalContext": "helper ran"}}
"""


def test_hanging_handler_is_abandoned_within_the_budget(
    make_plugin: Callable[..., Path], dispatch_cli: Callable[..., Any], home: Path,
    payload: Payload,
) -> None:
    folder = make_plugin("sleepy", HANGING)
    make_plugin("helper", HELPER)
    _warm(dispatch_cli, folder, payload)
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[folder],
                          ORCHESTRA_BUDGET="3", ORCHESTRA_HANDLER_TIMEOUT="0.5",
                          timeout=HANG_SECONDS - 10)
    assert result.seconds < 3 + MARGIN, result.seconds
    assert result.code == 0, result.err
    assert result.reply is not None
    assert "[helper] helper ran" in result.reply["hookSpecificOutput"]["additionalContext"]
    assert "handler sleepy.on_pre_tool_use on PreToolUse overran its time limit of 0.50s" in (
        _log(home))
    sid = payload("PreToolUse.Bash.json")["session_id"]
    events = (home / "sessions" / sid / "events.jsonl").read_text().splitlines()
    assert json.loads(events[-1])["event"] == "PreToolUse"  # after_dispatch still ran


def test_session_end_budget_is_one_second(
    make_plugin: Callable[..., Path], dispatch_cli: Callable[..., Any], home: Path,
    payload: Payload,
) -> None:
    folder = make_plugin("sleepy", HANGING)
    _warm(dispatch_cli, folder, payload)
    # even with a large configured budget and handler timeout, SessionEnd gets 1 s
    result = dispatch_cli(payload("SessionEnd.other.json"), paths=[folder],
                          ORCHESTRA_BUDGET="30", ORCHESTRA_HANDLER_TIMEOUT="30",
                          timeout=HANG_SECONDS - 10)
    assert result.seconds < 1 + MARGIN, result.seconds
    assert (result.code, result.out) == (0, "")
    # the time limit is what was left of the 1 s budget (start-up already used some)
    assert "sleepy.on_session_end on SessionEnd overran its time limit of" in _log(home)


def test_budget_configured_in_config_file(
    make_plugin: Callable[..., Path], dispatch_cli: Callable[..., Any], home: Path,
    payload: Payload,
) -> None:
    folder = make_plugin("sleepy", HANGING)
    (home / "config.json").write_text(json.dumps({"dispatch": {"budget_seconds": 1.5}}))
    _warm(dispatch_cli, folder, payload)
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[folder],
                          ORCHESTRA_HANDLER_TIMEOUT="30", timeout=HANG_SECONDS - 10)
    assert result.seconds < 1.5 + MARGIN
    assert result.code == 0
    assert "sleepy.on_pre_tool_use on PreToolUse overran its time limit of 1." in _log(home)


def test_used_up_budget_skips_the_rest_and_a_skipped_guard_denies(
    home: Path, plugin: Callable[..., Any], payload: Payload,
) -> None:
    release = threading.Event()

    def slow() -> None:
        release.wait(HANG_SECONDS)

    @hookimpl(guard=True, trylast=True)
    def guarded() -> None:
        return None

    plugins = [plugin("slow", on_pre_tool_use=hookimpl(tryfirst=True)(lambda: slow())),
               plugin("policy", on_pre_tool_use=guarded)]
    try:
        result = run_dispatch(payload("PreToolUse.Bash.json"), plugins=plugins, home=home,
                              builtins=False, env={"ORCHESTRA_BUDGET": "0.4",
                                                   "ORCHESTRA_HANDLER_TIMEOUT": "5"})
    finally:
        release.set()
    assert result.reply is not None
    out = result.reply["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "guard policy failed (was not run: the dispatch budget was used up)" in (
        out["permissionDecisionReason"])


# -- guards ---------------------------------------------------------------------------------


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A guard calling ``fn`` (a new function: marking ``fn`` itself would make it a guard)."""

    def guard() -> Any:
        return fn()

    return hookimpl(guard=True)(guard)


def _raise(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("policy store unavailable")


@pytest.mark.parametrize(("name", "check"), [
    ("PreToolUse.Bash.json",
     lambda r: r["hookSpecificOutput"]["permissionDecision"] == "deny"
     and "guard policy failed (raised RuntimeError: policy store unavailable)"
     in r["hookSpecificOutput"]["permissionDecisionReason"]),
    ("PreSkillShellCommand.json",
     lambda r: r["hookSpecificOutput"]["permissionDecision"] == "deny"),
    ("PreModelSwitch.json", lambda r: r["hookSpecificOutput"]["permissionDecision"] == "deny"),
    ("PermissionRequest.Bash.json",
     lambda r: r["hookSpecificOutput"]["decision"]["behavior"] == "deny"
     and "guard policy failed" in r["hookSpecificOutput"]["decision"]["message"]),
    ("Elicitation.form.json", lambda r: r["hookSpecificOutput"]["action"] == "decline"),
    ("UserPromptSubmit.json",
     lambda r: r["decision"] == "block" and "guard policy failed" in r["reason"]),
    ("Stop.json", lambda r: r["decision"] == "block"),
    ("ConfigChange.local_settings.json", lambda r: r["decision"] == "block"),
])
def test_guard_that_raises_on_a_decision_event_fails_closed(
    name: str, check: Callable[[dict[str, Any]], bool], home: Path,
    plugin: Callable[..., Any], payload: Payload, contract_ok: Callable[..., None],
) -> None:
    event = payload(name)
    result = run_dispatch(event, plugins=[plugin("policy", on_event=_guard(_raise))], home=home)
    assert result.exit_code == 0, result.stderr
    assert result.reply is not None and check(result.reply), result.reply
    contract_ok(event["hook_event_name"], result.reply)


def test_guard_failing_on_task_completed_exits_2(
    home: Path, plugin: Callable[..., Any], payload: Payload,
) -> None:
    result = run_dispatch(payload("TaskCompleted.json"),
                          plugins=[plugin("policy", on_task_completed=_guard(_raise))], home=home)
    assert result.exit_code == 2
    assert "guard policy failed" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("name", ["SessionStart.startup.json", "PostModelSwitch.json",
                                  "SubagentStart.json", "CwdChanged.json", "Notification."
                                  "elicitation_response.json", "SessionEnd.other.json"])
def test_guard_that_raises_on_a_non_decision_event_fails_open(
    name: str, home: Path, plugin: Callable[..., Any], payload: Payload,
) -> None:
    result = run_dispatch(payload(name), plugins=[plugin("policy", on_event=_guard(_raise))],
                          home=home, builtins=False)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert "policy.on_event" in _log(home)


def test_guard_does_not_block_a_stop_that_already_continued(
    home: Path, plugin: Callable[..., Any], payload: Payload,
) -> None:
    event = {**payload("Stop.json"), "stop_hook_active": True}
    result = run_dispatch(event, plugins=[plugin("policy", on_stop=_guard(_raise))], home=home,
                          builtins=False)
    assert (result.exit_code, result.stdout) == (0, "")


def test_advisory_handler_fails_open_on_a_decision_event(
    home: Path, plugin: Callable[..., Any], payload: Payload,
) -> None:
    result = run_dispatch(payload("PreToolUse.Bash.json"),
                          plugins=[plugin("advice", on_pre_tool_use=_raise)], home=home,
                          builtins=False)
    assert (result.exit_code, result.stdout) == (0, "")


def test_hanging_guard_denies_for_real(
    make_plugin: Callable[..., Path], dispatch_cli: Callable[..., Any], payload: Payload,
    no_builtins: dict[str, str],
) -> None:
    folder = make_plugin("policy", f"""
        import time
        from hooks import hookimpl

        @hookimpl(guard=True)
        def on_pre_tool_use(event):
            time.sleep({HANG_SECONDS})
    """)
    _warm(dispatch_cli, folder, payload, **no_builtins)
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[folder],
                          ORCHESTRA_BUDGET="2", ORCHESTRA_HANDLER_TIMEOUT="0.5",
                          timeout=HANG_SECONDS - 10, **no_builtins)
    assert result.seconds < 2 + MARGIN
    assert result.code == 0
    out = result.reply["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert out["permissionDecisionReason"] == (
        "[policy] Orchestra: guard policy failed (overran its time limit of 0.50s)")


# -- stdout belongs to the reply ----------------------------------------------------------------


def test_printing_handler_does_not_corrupt_the_reply(
    make_plugin: Callable[..., Path], dispatch_cli: Callable[..., Any], payload: Payload,
    no_builtins: dict[str, str],
) -> None:
    folder = make_plugin("noisy", """
        import os, subprocess, sys
        from hooks import hookimpl

        @hookimpl
        def on_event(event):
            print("debug: got", event.name)
            sys.stdout.write("{not json\\n")
            sys.stdout.flush()
            os.write(1, b"raw bytes on fd 1\\n")
            subprocess.run([sys.executable, "-c", "print('child process output')"], check=True)

        @hookimpl
        def on_pre_tool_use(event):
            print('{"hookSpecificOutput": {"permissionDecision": "allow"}}')
            return {"hookSpecificOutput": {"permissionDecision": "deny",
                                           "permissionDecisionReason": "no"}}
    """)
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[folder], **no_builtins)
    assert result.code == 0
    assert result.out.count("\n") == 1  # exactly one JSON object on one line
    assert result.reply == {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                                   "permissionDecision": "deny",
                                                   "permissionDecisionReason": "[noisy] no"}}
    # everything handlers print goes to stderr (Claude Code's debug log)
    for text in ("debug: got PreToolUse", "{not json", "raw bytes on fd 1",
                 "child process output"):
        assert text in result.err

    quiet = dispatch_cli(payload("PostToolUse.Bash.json"), paths=[folder], **no_builtins)
    assert (quiet.code, quiet.out) == (0, "")


def test_printing_handler_in_process_restores_stdout(
    home: Path, plugin: Callable[..., Any], payload: Payload,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = sys.stdout
    result = run_dispatch(payload("Stop.json"),
                          plugins=[plugin("noisy", on_stop=lambda: print("chatter"))], home=home,
                          builtins=False)
    assert sys.stdout is before
    assert (result.exit_code, result.stdout) == (0, "")
    assert "chatter" in capsys.readouterr().err


def test_dispatch_log_is_private(home: Path, plugin: Callable[..., Any], payload: Payload) -> None:
    run_dispatch(payload("Stop.json"), plugins=[plugin("x", on_stop=_raise)], home=home)
    mode = os.stat(home / "logs" / "dispatch.log").st_mode & 0o777
    assert mode == 0o600
