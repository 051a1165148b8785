"""settings.template.json: schema-valid, one command for every handled event, and the
command and recognition rule it relies on."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hooks.events import EVENT_NAMES
from hooks.tooling import registration
from hooks.tooling.settings_file import render

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "settings.template.json"
SCHEMA = json.loads((REPO / "tests" / "schemas" / "claude-code-settings.schema.json")
                    .read_text("utf-8"))


def _validate(data: dict[str, Any]) -> None:
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft7Validator)


def _handlers(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(event, h) for event, groups in data["hooks"].items()
            for g in groups for h in g["hooks"]]


def test_template_file_is_the_code_template() -> None:
    assert TEMPLATE.read_text("utf-8") == render(registration.template())


def test_filled_template_validates_against_the_settings_schema() -> None:
    raw = json.loads(TEMPLATE.read_text("utf-8"))
    filled = registration.fill(raw, "/home/me/my project/.venv/bin/python")
    _validate(filled)
    assert filled == registration.template("/home/me/my project/.venv/bin/python")
    assert registration.PYTHON_PLACEHOLDER not in json.dumps(filled)


def test_schema_rejects_what_it_should() -> None:
    """The copy is the real, strict schema: an unknown event or field is refused."""
    data = registration.template("/usr/bin/python3")
    data["hooks"]["NoSuchEvent"] = []
    with pytest.raises(jsonschema.ValidationError):
        _validate(data)
    data = registration.template("/usr/bin/python3")
    data["hooks"]["Stop"][0]["hooks"][0]["timeout"] = 0
    with pytest.raises(jsonschema.ValidationError):
        _validate(data)


def test_every_handled_event_once_with_one_command() -> None:
    data = registration.template("/usr/bin/python3")
    handlers = _handlers(data)
    events = [e for e, _ in handlers]
    assert events == list(registration.EVENTS)
    assert set(events) == set(EVENT_NAMES) - set(registration.NOT_REGISTERED)
    assert "WorktreeCreate" not in events
    assert set(SCHEMA["properties"]["hooks"]["properties"]) >= set(events)
    assert {h["command"] for _, h in handlers} == {'"/usr/bin/python3" -P -m hooks.dispatch'}
    assert all(h["statusMessage"] == "Orchestra" and h["type"] == "command"
               for _, h in handlers)
    assert all("matcher" not in g for groups in data["hooks"].values() for g in groups)


def test_timeouts_are_short_and_session_end_shortest() -> None:
    timeouts = {e: h["timeout"] for e, h in _handlers(registration.template("/p"))}
    assert timeouts["SessionEnd"] <= 2
    assert all(2 <= t <= 30 for t in timeouts.values())
    assert min(timeouts, key=lambda e: timeouts[e]) == "SessionEnd"


@pytest.mark.parametrize("path", [
    "/usr/bin/python3",
    "/home/me/my project/.venv/bin/python",
    "/opt/we'ird/py\"th$on`x`/bin/python",
    "/tmp/back\\slash/python",
])
def test_command_quotes_the_interpreter_for_the_shell(path: str) -> None:
    command = registration.command_for(path)
    assert registration.interpreter_of(command) == path
    assert command.endswith(" -P -m hooks.dispatch")
    if os.name != "nt":  # what sh (and bash) make of it
        shown = subprocess.run(["sh", "-c", "printf '%s' " + command.rsplit(" -P", 1)[0]],
                               capture_output=True, text=True, check=True).stdout
        assert shown == path


def test_recognition_rule() -> None:
    mine = registration.handler(registration.command_for("/x/python"), "Stop")
    assert registration.is_orchestra(mine)
    assert not registration.is_lookalike(mine)
    custom = {**mine, "statusMessage": "Orchestra (team build)"}
    assert registration.is_orchestra(custom)
    no_mark = {"type": "command", "command": "python3 -m hooks.dispatch"}
    assert not registration.is_orchestra(no_mark) and registration.is_lookalike(no_mark)
    other_module = {**mine, "command": '"/x/python" -m hooks.dispatcher'}
    assert not registration.is_orchestra(other_module)
    foreign = {"type": "command", "command": "prettier --write", "statusMessage": "Orchestra"}
    assert not registration.is_orchestra(foreign) and not registration.is_lookalike(foreign)
    other_word = {**mine, "statusMessage": "Orchestrate"}
    assert not registration.is_orchestra(other_word) and registration.is_lookalike(other_word)
    script = {"type": "command", "command": "orchestra-dispatch"}
    assert registration.is_lookalike(script)
    assert not registration.is_orchestra({"type": "prompt", "prompt": "-m hooks.dispatch",
                                          "statusMessage": "Orchestra"})
