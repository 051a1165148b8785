"""Orchestra as a Claude Code plugin and marketplace: the files at the repository root agree
with each other and with the settings-mode registration."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hooks.tooling import registration
from hooks.tooling.settings_file import render
from styles import STYLES

REPO = Path(__file__).resolve().parents[2]


def _json(relative: str) -> Any:
    return json.loads((REPO / relative).read_text("utf-8"))


def _version() -> str:
    return str(tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["version"])


def test_plugin_manifest_names_orchestra_at_the_package_version() -> None:
    manifest = _json(".claude-plugin/plugin.json")
    assert manifest["name"] == "orchestra"
    assert manifest["version"] == _version()
    for key in ("description", "author", "homepage", "license"):
        assert manifest[key], key
    assert (REPO / manifest["outputStyles"]).is_dir()


def test_launcher_version_is_the_package_version() -> None:
    text = (REPO / "bin" / "orchestra").read_text("utf-8")
    found = re.findall(r"^ORCHESTRA_VERSION=(\S+)$", text, re.M)
    assert found == [_version()]


def test_marketplace_offers_this_plugin() -> None:
    market = _json(".claude-plugin/marketplace.json")
    assert market["name"] and market["owner"]["name"]
    [entry] = market["plugins"]
    assert entry["name"] == "orchestra" and entry["source"] == "./"


def test_generated_files_are_up_to_date() -> None:
    """settings.template.json and hooks/hooks.json come from hooks.tooling.registration
    (``python -m hooks.tooling.registration`` rewrites them)."""
    for relative, data in registration.generated_files().items():
        assert (REPO / relative).read_text("utf-8") == render(data), relative


def _registrations(data: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """event -> [(matcher, timeout, statusMessage)] of a hooks table."""
    return {event: [(group.get("matcher"), h.get("timeout"), h.get("statusMessage"))
                    for group in groups for h in group["hooks"]]
            for event, groups in data["hooks"].items()}


def test_plugin_hooks_register_what_settings_mode_registers() -> None:
    plugin = _json("hooks/hooks.json")
    template = _json("settings.template.json")
    assert _registrations(plugin) == _registrations(template)
    commands = {h["command"] for groups in plugin["hooks"].values() for g in groups
                for h in g["hooks"]}
    # Shell form, read by the hook's own shell (Windows runs it with Git Bash; exec form
    # would need the launcher to be a program Windows can start).
    assert commands == {'set -- dispatch; command . "${CLAUDE_PLUGIN_ROOT}/bin/orchestra" '
                        '|| exit 1'}


@pytest.mark.parametrize("name", ["dashboard", "inbox", "send", "who", "board", "team", "sessions",
                                  "sprint", "config", "decisions", "task", "timeline"])
def test_slash_commands_run_orchestra(name: str) -> None:
    from orchestra.verbs import VERBS

    text = (REPO / "commands" / f"{name}.md").read_text("utf-8")
    head, _sep, body = text[4:].partition("\n---\n")
    assert text.startswith("---\n") and body
    meta = dict(line.split(": ", 1) for line in head.splitlines())
    assert meta["allowed-tools"] == "Bash(orchestra:*)" and meta["description"]
    runs = re.findall(r"`(orchestra [^`]+)`", body)
    assert runs and runs[0].split()[1] == name and name in VERBS


def test_every_view_has_a_plugin_command() -> None:
    """/orchestra:<view> for each view (issue 24): a command Claude Code knows reaches the
    model in an interactive session, where an unknown /word never does."""
    from styles.views import VIEWS

    assert set(VIEWS) <= {p.stem for p in (REPO / "commands").glob("*.md")}


def test_monitor_follows_the_inbox_through_the_launcher() -> None:
    [monitor] = _json("monitors/monitors.json")
    # Claude Code fills in ${CLAUDE_PLUGIN_DATA} in a monitor's command but does not export
    # it (nor CLAUDE_PLUGIN_ROOT): the launcher takes the data folder from the command.
    assert monitor["command"] == ('"${CLAUDE_PLUGIN_ROOT}/bin/orchestra" --plugin-data '
                                  '"${CLAUDE_PLUGIN_DATA}" inbox --follow')
    assert monitor["when"] == "always" and monitor["name"] and monitor["description"]


def test_the_four_styles_ship_in_the_plugin() -> None:
    folder = REPO / _json(".claude-plugin/plugin.json")["outputStyles"]
    assert sorted(p.stem for p in folder.glob("*.md")) == sorted(STYLES)
