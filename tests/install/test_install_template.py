"""settings.template.json: schema-valid, one command for every handled event, and the
command and recognition rule it relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    python = "/home/me/my project/.venv/bin/python"
    root = "/home/me/my project/.venv/lib/python3.11/site-packages"
    filled = registration.fill(raw, python, root)
    _validate(filled)
    assert filled == registration.template(python, root)
    assert registration.PYTHON_PLACEHOLDER not in json.dumps(filled)
    assert registration.ROOT_PLACEHOLDER not in json.dumps(filled)


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
    data = registration.template("/usr/bin/python3", "/usr/lib/python3/dist-packages")
    handlers = _handlers(data)
    events = [e for e, _ in handlers]
    assert events == list(registration.EVENTS)
    assert set(events) == set(EVENT_NAMES) - set(registration.NOT_REGISTERED)
    assert "WorktreeCreate" not in events
    assert set(SCHEMA["properties"]["hooks"]["properties"]) >= set(events)
    assert {(h["command"], tuple(h["args"])) for _, h in handlers} == {
        ("/usr/bin/python3", ("-S", "-P", "-c", registration.BOOT_CODE,
                              "/usr/lib/python3/dist-packages"))}
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
def test_exec_form_passes_paths_as_they_are(path: str) -> None:
    """No shell: the interpreter and Orchestra's folder reach the process unquoted."""
    entry = registration.handler(path, path + "-lib", "Stop")
    assert registration.interpreter_of(entry) == path
    assert registration.root_of(entry) == path + "-lib"
    assert registration.command_for(path, "/x").endswith(' "/x"')
    if os.name != "nt":  # the -c code gets exactly the folder as its last argument
        done = subprocess.run([sys.executable, *entry["args"][:3],
                               "import sys; print(sys.argv[-1])", path + "-lib"],
                              capture_output=True, text=True, check=True)
        assert done.stdout.strip() == path + "-lib"


def test_old_shell_commands_are_still_read() -> None:
    """What earlier installs wrote: recognised (to migrate it), its interpreter read."""
    for path in ("/usr/bin/python3", "/home/me/my project/.venv/bin/python"):
        old = {"type": "command", "command": f"{registration.quote_path(path)} -P -m "
               "hooks.dispatch", "timeout": 10, "statusMessage": "Orchestra"}
        assert registration.is_orchestra(old) and registration.is_old(old)
        assert registration.interpreter_of(old) == path
        assert registration.root_of(old) is None


def test_recognition_rule() -> None:
    mine = registration.handler("/x/python", "/x/lib", "Stop")
    assert registration.is_orchestra(mine) and not registration.is_old(mine)
    assert not registration.is_lookalike(mine)
    custom = {**mine, "statusMessage": "Orchestra (team build)"}
    assert registration.is_orchestra(custom)
    no_mark = {"type": "command", "command": "python3 -m hooks.dispatch"}
    assert not registration.is_orchestra(no_mark) and registration.is_lookalike(no_mark)
    unmarked_exec = {k: v for k, v in mine.items() if k != "statusMessage"}
    assert not registration.is_orchestra(unmarked_exec)
    assert registration.is_lookalike(unmarked_exec)
    other_code = {**mine, "args": ["-S", "-P", "-c", "import hooks.dispatch", "/x/lib"]}
    assert not registration.is_orchestra(other_code) and registration.is_lookalike(other_code)
    other_module = {**mine, "command": '"/x/python" -m hooks.dispatcher'}
    other_module.pop("args")
    assert not registration.is_orchestra(other_module)
    foreign = {"type": "command", "command": "prettier --write", "statusMessage": "Orchestra"}
    assert not registration.is_orchestra(foreign) and not registration.is_lookalike(foreign)
    other_word = {**mine, "statusMessage": "Orchestrate"}
    assert not registration.is_orchestra(other_word) and registration.is_lookalike(other_word)
    script = {"type": "command", "command": "orchestra-dispatch"}
    assert registration.is_lookalike(script)
    assert not registration.is_orchestra({"type": "prompt", "prompt": "-m hooks.dispatch",
                                          "statusMessage": "Orchestra"})
