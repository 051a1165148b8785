"""record and replay: the recording is the redacted payload, replay gives the same replies,
golden files pin them, ``--plugins`` adds a plugin, and the shipped demo session is sound."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hooks import dispatch
from hooks.capture import record_payload, record_target, redact_payload
from hooks.tooling.record import read_recording
from hooks.tooling.replay import normalise

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "sessions" / "demo.jsonl"
SECRET = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"


def _demo() -> list[dict[str, Any]]:
    return read_recording(str(DEMO))


def _live(payloads: list[dict[str, Any]], home: Path, record: Path,
          monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Dispatch as Claude Code would (in-process), recording every payload."""
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    monkeypatch.setenv("ORCHESTRA_RECORD", str(record))
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", payloads[0]["cwd"])
    results = []
    for n, payload in enumerate(payloads, start=1):
        out, err = io.StringIO(), io.StringIO()
        code = dispatch.main([], stdin=io.BytesIO(json.dumps(payload).encode()),
                             stdout=out, stderr=err)
        result: dict[str, Any] = {"n": n, "event": payload["hook_event_name"]}
        if "tool_name" in payload:
            result["tool"] = payload["tool_name"]
        result.update(exit_code=code, reply=json.loads(out.getvalue()) if out.getvalue()
                      else None)
        if code:
            result["stderr"] = err.getvalue().strip()
        results.append(result)
    monkeypatch.delenv("ORCHESTRA_RECORD")
    monkeypatch.delenv("CLAUDE_PROJECT_DIR")
    return results


def test_record_then_replay_gives_the_same_replies(cli: Any, env: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    payloads = _demo()
    payloads[3]["tool_input"]["command"] = f"ANTHROPIC_API_KEY={SECRET} claude -p hi"
    record = tmp_path / "recordings" / "session.jsonl"
    live = _live(payloads, tmp_path / "live", record, monkeypatch)
    recorded = read_recording(str(record))
    assert len(recorded) == len(payloads)
    assert [p["hook_event_name"] for p in recorded] == [p["hook_event_name"] for p in payloads]
    assert SECRET not in record.read_text("utf-8")
    assert recorded[3]["tool_input"]["command"] == "ANTHROPIC_API_KEY=[REDACTED] claude -p hi"
    assert recorded[5] == payloads[5]  # nothing secret: the payload exactly
    if os.name != "nt":
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
    replay_home = tmp_path / "replayed"
    result = cli("replay", str(record), "--home", str(replay_home))
    assert result.code == 0, result.err
    replayed = result.lines()
    assert normalise(replayed, str(replay_home)) == normalise(live, str(tmp_path / "live"))
    assert replayed[0]["reply"]["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert all(r["exit_code"] == 0 for r in replayed)
    assert record.read_text("utf-8").count("\n") == len(payloads)  # replay did not record


def test_record_with_the_real_command_and_replay_in_a_subprocess(
        cli: Any, env: Any, tmp_path: Path) -> None:
    """The dispatcher as Claude Code runs it records; ``replay --subprocess`` agrees."""
    payloads = [p for p in _demo() if p["hook_event_name"] in
                ("SessionStart", "UserPromptSubmit", "Stop", "SessionEnd")]
    record = tmp_path / "rec.jsonl"
    run_env = {**os.environ, "ORCHESTRA_HOME": str(tmp_path / "live"),
               "ORCHESTRA_RECORD": str(record), "CLAUDE_PROJECT_DIR": payloads[0]["cwd"]}
    live = []
    for payload in payloads:
        proc = subprocess.run([sys.executable, "-P", "-m", "hooks.dispatch"],
                              input=json.dumps(payload), text=True, capture_output=True,
                              env=run_env, cwd=tmp_path, timeout=60)
        assert proc.returncode == 0, proc.stderr
        live.append(json.loads(proc.stdout) if proc.stdout.strip() else None)
    assert read_recording(str(record)) == payloads
    result = cli("replay", str(record), "--subprocess")
    assert result.code == 0, result.err
    assert normalise([{"r": r["reply"]} for r in result.lines()], "") == normalise(
        [{"r": r} for r in live], "")


def test_golden_files(cli: Any, env: Any, tmp_path: Path) -> None:
    golden = tmp_path / "demo.golden.jsonl"
    assert cli("replay", str(DEMO), "--golden", str(golden)).code == 1  # not there yet
    written = cli("replay", str(DEMO), "--golden", str(golden), "--update-golden")
    assert written.code == 0 and golden.exists()
    text = golden.read_text("utf-8")
    assert "<home>" not in text or str(tmp_path) not in text
    checked = cli("replay", str(DEMO), "--golden", str(golden))
    assert checked.code == 0, checked.err
    assert f"{len(_demo())} events match" in checked.err
    golden.write_text(text.replace('"exit_code": 0', '"exit_code": 2', 1), encoding="utf-8")
    differs = cli("replay", str(DEMO), "--golden", str(golden))
    assert differs.code == 1
    assert "replies differ" in differs.err and '-{"n": 1' in differs.err
    assert cli("replay", str(DEMO), "--update-golden").code == 1  # needs --golden


def test_replay_with_a_plugin(cli: Any, env: Any, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plugins_dir").mkdir()
    (tmp_path / "plugins_dir" / "no_rm_plugin.py").write_text(
        "from hooks import hookimpl\n\n"
        "@hookimpl\n"
        "def on_pre_tool_use(event, ctx):\n"
        "    if 'ls /nonexistent' in (event.tool_input.get('command') or ''):\n"
        "        return {'hookSpecificOutput': {'permissionDecision': 'deny',\n"
        "                'permissionDecisionReason': 'no listing of missing folders'}}\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "plugins_dir"))
    result = cli("replay", str(DEMO), "--plugins", "no_rm_plugin")
    assert result.code == 0, result.err
    denied = [r for r in result.lines() if r["reply"] and r["event"] == "PreToolUse"]
    assert len(denied) == 1 and denied[0]["tool"] == "Bash"
    assert denied[0]["reply"]["hookSpecificOutput"]["permissionDecision"] == "deny"
    bad = cli("replay", str(DEMO), "--plugins", "no_such_plugin_module")
    assert bad.code == 1 and "cannot import 'no_such_plugin_module'" in bad.err
    assert cli("replay", str(DEMO), "--plugins", "x", "--subprocess").code == 1


def test_replay_refuses_a_bad_recording(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hook_event_name": "Stop"}\n\nnot json\n', encoding="utf-8")
    result = cli("replay", str(bad))
    assert result.code == 1 and "line 3: not JSON" in result.err
    bad.write_text('{"no_event": 1}\n', encoding="utf-8")
    assert "line 1: not a hook payload" in cli("replay", str(bad)).err
    assert cli("replay", str(tmp_path / "missing.jsonl")).code == 1


def test_replay_leaves_the_environment_alone(cli: Any, env: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "must-not-exist.jsonl"
    env_file = tmp_path / "claude-env"
    monkeypatch.setenv("ORCHESTRA_RECORD", str(target))
    monkeypatch.setenv("CLAUDE_ENV_FILE", str(env_file))
    before = dict(os.environ)
    assert cli("replay", str(DEMO)).code == 0
    assert dict(os.environ) == before
    assert not target.exists() and not env_file.exists()
    assert not env.state.exists()  # default: a temporary state root


def test_redaction_keeps_shape_and_identity() -> None:
    payload = {
        "session_id": "s-1", "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "cwd": "/p", "tool_use_id": "toolu_1",
        "tool_input": {"command": f"export TOKEN={SECRET}", "timeout": 5, "flags": [True, None],
                       "api_key": "plain-value"},
        "tool_response": {"stdout": "x" * 150_000, "stderr": "", "interrupted": False},
    }
    out = redact_payload(payload)
    assert {k: out[k] for k in ("session_id", "hook_event_name", "tool_name", "cwd",
                                "tool_use_id")} == {k: payload[k] for k in (
        "session_id", "hook_event_name", "tool_name", "cwd", "tool_use_id")}
    assert out["tool_input"]["command"] == "export TOKEN=[REDACTED]"
    assert out["tool_input"]["api_key"] == "[REDACTED]"
    assert out["tool_input"]["timeout"] == 5 and out["tool_input"]["flags"] == [True, None]
    stdout = out["tool_response"]["stdout"]
    assert isinstance(stdout, str) and stdout.endswith("...[50000 more characters]")
    assert list(out["tool_response"]) == ["stdout", "stderr", "interrupted"]


def test_record_payload_never_raises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record_payload({"hook_event_name": "Stop"}, str(tmp_path))  # a folder: cannot append
    assert "not recorded to" in capsys.readouterr().err
    target = tmp_path / "deep" / "er" / "rec.jsonl"
    record_payload({"hook_event_name": "Stop", "x": "\ud800"}, str(target))
    record_payload({"hook_event_name": "Stop", "x": "é"}, str(target))
    assert [p["x"] for p in read_recording(str(target))] == ["\ud800", "é"]


def test_record_target_and_record_command(cli: Any, env: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert record_target(str(env.state)) is None
    result = cli("record", "on", "rec.jsonl")
    assert result.code == 0, result.err
    expected = str(env.project / "rec.jsonl")
    assert record_target(str(env.state)) == expected
    assert f"recording to {expected}" in cli("record", "status").out
    monkeypatch.setenv("ORCHESTRA_RECORD", "/elsewhere.jsonl")
    assert record_target(str(env.state)) == "/elsewhere.jsonl"
    monkeypatch.setenv("ORCHESTRA_RECORD", "")  # set but empty: off
    assert record_target(str(env.state)) is None
    monkeypatch.delenv("ORCHESTRA_RECORD")
    assert cli("record", "off").out.startswith("not recording")
    assert record_target(str(env.state)) is None


def test_demo_session_is_current_and_whole() -> None:
    spec = importlib.util.spec_from_file_location("build_demo", DEMO.parent / "build_demo.py")
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert builder.main(["--check"]) == 0, "run python examples/sessions/build_demo.py"
    payloads = _demo()
    assert {p["session_id"] for p in payloads} == {"f1f3b749-afa5-421c-a7d4-5a07fe433da8"}
    seen = [(p["hook_event_name"], p.get("tool_name")) for p in payloads]
    for step in [("SessionStart", None), ("UserPromptSubmit", None), ("SubagentStart", None),
                 ("SubagentStop", None), ("TaskCreated", None), ("TaskCompleted", None),
                 ("PostToolUseFailure", "Bash"), ("Stop", None), ("SessionEnd", None)] + [
                (e, t) for t in ("Bash", "Write", "Edit", "Read", "Agent", "TaskCreate",
                                 "TaskUpdate") for e in ("PreToolUse", "PostToolUse")]:
        assert step in seen, step
    assert seen[0] == ("SessionStart", None) and seen[-1] == ("SessionEnd", None)
    ids = [p["tool_use_id"] for p in payloads if p["hook_event_name"] == "PreToolUse"]
    assert len(ids) == len(set(ids))


def test_demo_replay_fills_the_state(cli: Any, env: Any) -> None:
    result = cli("replay", str(DEMO), "--home", str(env.state))
    assert result.code == 0, result.err
    assert all(r["exit_code"] == 0 for r in result.lines())
    session = env.state / "sessions" / "f1f3b749-afa5-421c-a7d4-5a07fe433da8"
    state = json.loads((session / "state.json").read_text("utf-8"))
    assert state["status"] == "ended"
    assert state["active_work"]["agents"]["a97237ab0781df962"]["status"] == "done"
    tasks = json.loads((session / "tasks.json").read_text("utf-8"))["tasks"]
    assert tasks["1"]["status"] == "completed"
    events = (session / "events.jsonl").read_text("utf-8").splitlines()
    assert len(events) == len(_demo())


def test_python_m_hooks_smoke(tmp_path: Path) -> None:
    """One real process per entry point: the verbs are reachable with -P from anywhere."""
    proc = subprocess.run([sys.executable, "-P", "-m", "hooks", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "install" in proc.stdout
    proc = subprocess.run([sys.executable, "-P", "-m", "hooks", "replay", str(DEMO)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == len(_demo())


def test_config_record_switch_reaches_the_dispatcher(cli: Any, env: Any, tmp_path: Path,
                                                     payload: Any) -> None:
    target = tmp_path / "by-config.jsonl"
    assert cli("record", "on", str(target)).code == 0
    out, err = io.StringIO(), io.StringIO()
    event = json.dumps(payload("Notification.elicitation_response")).encode()
    assert dispatch.main([], stdin=io.BytesIO(event), stdout=out, stderr=err) == 0
    assert len(read_recording(str(target))) == 1
