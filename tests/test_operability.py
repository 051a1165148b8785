"""Operability (issue 15): handler telemetry (``orchestra stats``), the drift report
(``orchestra drift``) and per-session / per-project switches (``orchestra disable|enable``),
each driven through the dispatcher and the ``orchestra`` command."""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hooks import hookimpl
from hooks.testing import run_dispatch
from orchestra.cli import main
from tests.handlers._support import payload

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "sessions" / "demo.jsonl"


def orchestra(*argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    text = out.getvalue()
    try:
        return code, json.loads(text), err.getvalue()
    except ValueError:
        return code, text, err.getvalue()


# -- stats ----------------------------------------------------------------------------------


def test_stats_after_a_replayed_session_match_the_handlers_that_ran(home: Path) -> None:
    code, out, err = orchestra("replay", str(DEMO), "--home", str(home))
    assert code == 0, err
    results = [json.loads(line) for line in out.splitlines()]
    events = [json.loads(line) for line in DEMO.read_text().splitlines()]
    sid = events[0]["session_id"]
    code, rows, err = orchestra("stats", "--session", sid, "--json")
    assert code == 0, err
    by = {(r["handler"], r["event"]): r for r in rows}
    kinds = Counter(e["hook_event_name"] for e in events)
    for kind, count in kinds.items():  # every dispatch has its row
        assert by[("(dispatch)", kind)]["calls"] == count, kind
        assert by[("heartbeat", kind)]["calls"] == count, kind  # heartbeat runs on every event
    assert by[("presence", "SessionStart")]["calls"] == 1
    assert ("presence", "PreToolUse") not in by  # it has no such hook
    start_reply = results[0]["reply"]["hookSpecificOutput"]["additionalContext"]
    assert by[("presence", "SessionStart")]["context_chars"] == len(start_reply) - len(
        "[presence] ")
    assert all(r["errors"] == r["overruns"] == 0 for r in rows)
    code, table, _ = orchestra("stats", "--session", sid)
    assert code == 0 and table.splitlines()[0].split()[:3] == ["HANDLER", "EVENT", "CALLS"]


class _Misbehaving:
    """A plugin whose handlers raise, run past their limit, and inject context."""

    @hookimpl
    def on_pre_tool_use(self, event: Any, ctx: Any) -> None:
        raise RuntimeError("boom")

    @hookimpl
    def on_post_tool_use(self, event: Any, ctx: Any) -> None:
        time.sleep(1.0)

    @hookimpl
    def on_user_prompt_submit(self, event: Any, ctx: Any) -> dict[str, Any]:
        return {"hookSpecificOutput": {"additionalContext": "x" * 25}}


def test_stats_count_errors_overruns_and_context(home: Path) -> None:
    plugin = _Misbehaving()
    env = {"ORCHESTRA_HANDLER_TIMEOUT": "0.2"}
    for name in ("SessionStart.startup", "PreToolUse.Bash", "PostToolUse.Bash",
                 "UserPromptSubmit", "UserPromptSubmit"):
        assert run_dispatch(payload(name, "alpha"), plugins=[plugin], home=home,
                            env=env).exit_code == 0
    code, rows, err = orchestra("stats", "--session", "alpha", "--json")
    assert code == 0, err
    mine = {r["event"]: r for r in rows if r["handler"].startswith("_Misbehaving")}
    assert mine["PreToolUse"]["errors"] == 1 and mine["PreToolUse"]["calls"] == 1
    assert mine["PostToolUse"]["overruns"] == 1
    assert mine["UserPromptSubmit"]["calls"] == 2
    assert mine["UserPromptSubmit"]["context_chars"] == 50


def test_stats_filter_by_project_and_time(home: Path, dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    dispatch(payload("SessionStart.startup", "solo", cwd="/home/dev/other"))
    code, rows, _ = orchestra("stats", "--project", "other", "--json")
    assert code == 0 and {r["handler"] for r in rows} >= {"presence", "(dispatch)"}
    assert sum(r["calls"] for r in rows if r["handler"] == "(dispatch)") == 1
    code, rows, _ = orchestra("stats", "--since", "2099-01-01T00:00:00Z", "--json")
    assert (code, rows) == (0, [])
    code, _rows, err = orchestra("stats", "--since", "soon")
    assert code == 2 and err.count("\n") == 1


# -- drift ----------------------------------------------------------------------------------


def test_unknown_event_field_and_tool_show_up_and_are_never_fatal(home: Path,
                                                                  tmp_path: Path) -> None:
    transcript = tmp_path / "transcript.jsonl"
    transcript.write_text('{"type":"user","version":"2.1.400","message":{}}\n')
    sid = "alpha"
    assert run_dispatch(payload("SessionStart.startup", sid), home=home).exit_code == 0
    new_event = {"session_id": sid, "transcript_path": str(transcript), "cwd": "/home/dev/x",
                 "hook_event_name": "TeamHuddle", "huddle_id": "h1"}
    new_field = payload("PreToolUse.Bash", sid, transcript_path=str(transcript),
                        sandbox_profile="strict")
    new_tool = payload("PreToolUse.Bash", sid, tool_name="Teleport",
                       tool_input={"where": "mars"})
    for event in (new_event, new_field, new_field, new_tool):
        outcome = run_dispatch(event, home=home)
        assert outcome.exit_code == 0, outcome.stderr
    # The unknown event was still logged, and still a heartbeat.
    log = (home / "sessions" / sid / "events.jsonl").read_text()
    assert '"event":"TeamHuddle"' in log
    heartbeat = json.loads((home / "sessions" / sid / "heartbeat.json").read_text())
    assert heartbeat["event"] == "PreToolUse"  # the last event, after TeamHuddle
    code, entries, err = orchestra("drift", "--json")
    assert code == 0, err
    seen = {(e["kind"], e["name"], e["event"]): e for e in entries}
    assert seen[("event", "TeamHuddle", "TeamHuddle")]["versions"] == ["2.1.400"]
    assert seen[("field", "sandbox_profile", "PreToolUse")]["count"] == 2
    assert seen[("tool", "Teleport", "PreToolUse")]["count"] == 1
    first = seen[("field", "sandbox_profile", "PreToolUse")]
    assert first["first_seen"] <= first["last_seen"]
    code, text, _ = orchestra("drift")
    assert code == 0 and "TeamHuddle" in text and "Teleport" in text


class _WrongField:
    @hookimpl
    def on_notification(self, event: Any, ctx: Any) -> dict[str, Any]:
        return {"hookSpecificOutput": {"additionalContext": "not honoured here"},
                "decision": "block"}


def test_reply_fields_an_event_does_not_honour_are_reported_with_the_plugin(home: Path) -> None:
    notification = payload("Notification.elicitation_response", "alpha")
    assert run_dispatch(notification, plugins=[_WrongField()], home=home).exit_code == 0
    code, entries, _ = orchestra("drift", "--json")
    assert code == 0
    fields = {(e["kind"], e["name"]): e for e in entries}
    assert ("reply_field", "decision") in fields
    assert "WrongField" in fields[("reply_field", "decision")]["detail"]


def test_no_drift_for_the_captured_payloads(home: Path) -> None:
    """Every real 2.1.332 capture is known: a report must not cry wolf."""
    for path in sorted((REPO / "tests" / "payloads").glob("*.json")):
        event = json.loads(path.read_text())
        if event["hook_event_name"] == "WorktreeCreate":
            continue  # not registered (it would replace git's worktree creation)
        run_dispatch(event, home=home)
    code, entries, _ = orchestra("drift", "--json")
    assert (code, entries) == (0, [])


# -- switches -------------------------------------------------------------------------------


def _has_presence(outcome: Any) -> bool:
    return "[presence]" in json.dumps(outcome.reply or {})


def test_a_handler_disabled_for_one_session_is_skipped_there_only(
        home: Path, dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    code, switched, err = orchestra("disable", "presence", "--session", "alpha")
    assert code == 0 and switched == {"name": "presence", "enabled": False,
                                      "session": "alpha"}, err
    assert not _has_presence(dispatch(payload("SessionStart.startup", "alpha",
                                              source="resume")))
    assert _has_presence(dispatch(payload("SessionStart.startup", "beta")))
    code, plugins, _ = orchestra("plugins", "--session", "alpha", "--json")
    state = {p["name"]: (p["runs"], p["switched_by"]) for p in plugins}
    assert state["presence"] == (False, "session") and state["claims"] == (True, None)
    assert orchestra("enable", "presence", "--session", "alpha")[0] == 0
    assert _has_presence(dispatch(payload("SessionStart.startup", "alpha", source="resume")))


def test_project_and_global_switches_and_the_narrowest_wins(
        home: Path, dispatch: Callable[..., Any]) -> None:
    assert orchestra("disable", "presence", "--project", "other")[0] == 0
    assert not _has_presence(dispatch(payload("SessionStart.startup", "solo",
                                              cwd="/home/dev/other")))
    assert _has_presence(dispatch(payload("SessionStart.startup", "alpha")))
    assert orchestra("disable", "presence")[0] == 0  # everywhere
    assert orchestra("enable", "presence", "--session", "alpha")[0] == 0
    assert _has_presence(dispatch(payload("SessionStart.startup", "alpha", source="resume")))
    assert not _has_presence(dispatch(payload("SessionStart.startup", "beta")))


@pytest.mark.parametrize("argv", [["disable", "no-such-handler"],
                                  ["disable", "presence", "--session", "../x"],
                                  ["enable", "presence", "--project", "a/b"]])
def test_bad_switches_change_nothing(home: Path, argv: list[str]) -> None:
    code, _out, err = orchestra(*argv)
    assert code in (2, 3) and err.count("\n") == 1
    assert not (home / "switches.json").exists()


def test_the_field_tables_are_generated_from_the_models() -> None:
    """hooks/fields.py (read on every event instead of the pydantic models) is current:
    ``python -m hooks.tooling.fields_table`` rewrites it."""
    from hooks.tooling.fields_table import render

    assert (REPO / "hooks" / "fields.py").read_text(encoding="utf-8") == render()


def test_a_project_switch_follows_the_project_the_session_records(
        home: Path, dispatch: Callable[..., Any]) -> None:
    """A session registered with ``--project elsewhere`` works in another folder: the
    dispatcher and ``orchestra plugins --session`` both go by the recorded project."""
    assert orchestra("session", "create", "--id", "worker", "--project", "elsewhere")[0] == 0
    assert orchestra("disable", "presence", "--project", "elsewhere")[0] == 0
    assert not _has_presence(dispatch(payload("SessionStart.startup", "worker")))
    code, plugins, _ = orchestra("plugins", "--session", "worker", "--json")
    assert code == 0
    assert {p["name"]: p["switched_by"] for p in plugins}["presence"] == "project"
    assert _has_presence(dispatch(payload("SessionStart.startup", "other")))
