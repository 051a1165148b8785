"""Issue 27: only the events and matchers some enabled handler needs are registered; the
event log's coverage is a setting whose default is every event; doctor reports a
registration that no longer matches the enabled handlers, and one an earlier install wrote.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from hooks.tooling import registration
from hooks.tooling.doctor import diagnose

REPO = Path(__file__).resolve().parents[2]
PYTHON = os.path.abspath(sys.executable)


def _config(env: Any, **sections: Any) -> None:
    env.state.mkdir(parents=True, exist_ok=True)
    (env.state / "config.json").write_text(json.dumps(sections), encoding="utf-8")


def _settings(env: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(env.user_settings.read_text("utf-8"))
    return data


def _findings(env: Any) -> list[tuple[str, str, str]]:
    return [(f.level, f.check, f.message) for f in diagnose(None, str(env.state), probe=False)]


def test_by_default_every_event_is_registered_without_a_matcher(cli: Any, env: Any) -> None:
    """The event log records every event by default (its coverage is not narrowed), so
    every event Orchestra registers is needed."""
    assert cli("install").code == 0
    data = _settings(env)
    assert list(data["hooks"]) == list(registration.EVENTS)
    assert registration.registered(data) == dict.fromkeys(registration.EVENTS)
    assert ("ok", "registration", "user: the events and matchers are those the enabled "
            f"handlers need ({len(registration.EVENTS)} event(s))") in _findings(env)


def test_a_narrower_event_log_registers_fewer_events(cli: Any, env: Any) -> None:
    _config(env, event_log={"events": ["UserPromptSubmit", "Stop"]})
    result = cli("install")
    assert result.code == 0, result.err
    hooks = _settings(env)["hooks"]
    # nobody else needs these: no process starts for them any more
    for event in ("InstructionsLoaded", "MessageDisplay", "Setup", "ConfigChange",
                  "FileChanged", "PostCompact", "UserPromptExpansion"):
        assert event not in hooks, event
        assert event in result.out  # "not for ...: no enabled handler needs them"
    # what the heartbeat, claims, tasks... need stays
    for event in ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
                  "PostToolBatch", "Stop", "SubagentStop", "SessionEnd", "TaskCreated"):
        assert event in hooks, event


def test_matchers_name_the_tools_when_every_handler_of_an_event_is_limited(cli: Any,
                                                                          env: Any) -> None:
    """Without the heartbeat (every tool) and with a narrow log, PreToolUse is needed only
    by handlers limited to some tools (claims, subagents, capacity): its group's matcher
    names them, so a Read starts no process."""
    _config(env, plugins={"disabled": ["heartbeat"]}, event_log={"events": ["Stop"]})
    assert cli("install").code == 0
    groups = _settings(env)["hooks"]["PreToolUse"]
    [group] = groups
    tools = group["matcher"].split("|")
    assert {"Bash", "Write", "Edit", "Agent"} <= set(tools) and "Read" not in tools
    assert group["hooks"] == [registration.handler(PYTHON, str(REPO), "PreToolUse")]
    assert cli("install").code == 0 and "nothing to change" in cli("install").out


def test_doctor_reports_a_registration_that_no_longer_matches(cli: Any, env: Any) -> None:
    _config(env, event_log={"events": ["Stop"]})
    assert cli("install").code == 0
    _config(env)  # the log's coverage back to every event: InstructionsLoaded is needed
    fails = [m for level, check, m in _findings(env) if level == "fail"]
    assert any("enabled handlers need" in m and "InstructionsLoaded" in m for m in fails)
    assert cli("doctor").code == 1
    assert cli("install").code == 0 and cli("doctor").code == 0
    _config(env, event_log={"events": ["Stop"]})  # narrower again: more registered than needed
    warned = [m for level, check, m in _findings(env) if level == "warn"]
    assert any("no enabled handler needs" in m and "MessageDisplay" in m for m in warned)
    assert cli("doctor").code == 0  # a warning: processes for nothing, nothing lost


def test_doctor_reports_an_earlier_install_and_install_migrates_it(cli: Any, env: Any) -> None:
    old = {"type": "command", "command": f'"{PYTHON}" -P -m hooks.dispatch', "timeout": 10,
           "statusMessage": "Orchestra"}
    env.user_settings.parent.mkdir(parents=True)
    env.user_settings.write_text(json.dumps({"hooks": {
        e: [{"hooks": [dict(old, timeout=registration.TIMEOUTS.get(e, 10))]}]
        for e in registration.EVENTS}}), encoding="utf-8")
    warned = [m for level, check, m in _findings(env) if level == "warn"]
    assert any("form of an earlier install" in m for m in warned)
    result = cli("install")
    assert result.code == 0 and f"{len(registration.EVENTS)} handler(s) of an earlier " \
        "install migrated" in result.out
    data = _settings(env)
    assert [entry for _, entry in registration.orchestra_handlers(data)] == [
        registration.handler(PYTHON, str(REPO), e) for e in registration.EVENTS]
    assert not any("earlier install" in m for _, _, m in _findings(env))


def test_doctor_names_an_event_log_entry_no_event_has(env: Any) -> None:
    _config(env, event_log={"events": ["Stop", "Stopp"]})
    found = [(level, m) for level, check, m in _findings(env) if check == "event log"]
    assert len(found) == 1 and found[0][0] == "warn" and "Stopp" in found[0][1]
    _config(env, event_log={"events": ["Stop"]})
    assert [level for level, check, _ in _findings(env) if check == "event log"] == ["ok"]
    _config(env)  # the default: every event, nothing to say
    assert [m for _, check, m in _findings(env) if check == "event log"] == []
