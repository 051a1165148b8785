"""install / uninstall: absent, empty, existing and unparseable settings; idempotence,
backups, dry runs, scopes, and foreign hooks left exactly as they were."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hooks.tooling import registration
from hooks.tooling.cli import CliError
from hooks.tooling.settings_file import load, render, save

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "tests" / "schemas" / "claude-code-settings.schema.json")
                    .read_text("utf-8"))
PYTHON = os.path.abspath(sys.executable)
#: The folder this interpreter imports Orchestra from (the checkout: an editable install).
ROOT = str(REPO)


def _handler(event: str, python: str = PYTHON) -> dict[str, Any]:
    return registration.handler(python, ROOT, event)

FOREIGN: dict[str, Any] = {
    "model": "sonnet",
    "permissions": {"allow": ["Bash(git status)"]},
    "env": {"FOO": "bar"},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "command", "command": "~/bin/guard.sh", "timeout": 5}]}],
        "Notification": [{"hooks": [{"type": "command", "command": "notify-send hi"}]}],
    },
}


def _backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".orchestra-*.bak"))


def _orchestra(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return registration.orchestra_handlers(data)


def test_install_into_absent_settings(cli: Any, env: Any) -> None:
    result = cli("install")
    assert result.code == 0, result.err
    data = json.loads(env.user_settings.read_text("utf-8"))
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft7Validator)
    found = _orchestra(data)
    assert [e for e, _ in found] == list(registration.EVENTS)
    assert [h for _, h in found] == [_handler(e) for e in registration.EVENTS]
    assert _backups(env.user_settings) == []
    assert "backup: none needed" in result.out


@pytest.mark.parametrize("content", ["", "  \n", "{}", "{}\n"])
def test_install_into_empty_settings(cli: Any, env: Any, content: str) -> None:
    env.user_settings.parent.mkdir()
    env.user_settings.write_text(content, encoding="utf-8")
    assert cli("install").code == 0
    data = json.loads(env.user_settings.read_text("utf-8"))
    assert list(data) == ["hooks"]
    assert len(_orchestra(data)) == len(registration.EVENTS)
    (backup,) = _backups(env.user_settings)
    assert backup.read_text("utf-8") == content


def test_install_keeps_every_other_setting_and_hook(cli: Any, env: Any) -> None:
    env.user_settings.parent.mkdir()
    original = json.dumps(FOREIGN, indent=4)  # not our formatting: the backup keeps it
    env.user_settings.write_text(original, encoding="utf-8")
    assert cli("install").code == 0
    data = json.loads(env.user_settings.read_text("utf-8"))
    assert {k: v for k, v in data.items() if k != "hooks"} == {
        k: v for k, v in FOREIGN.items() if k != "hooks"}
    assert data["hooks"]["PreToolUse"][0] == FOREIGN["hooks"]["PreToolUse"][0]
    assert data["hooks"]["PreToolUse"][1]["hooks"][0] == _handler("PreToolUse")
    assert data["hooks"]["Notification"][0] == FOREIGN["hooks"]["Notification"][0]
    (backup,) = _backups(env.user_settings)
    assert backup.read_text("utf-8") == original
    assert registration.remove(data) == FOREIGN  # uninstalling gives the original back


@pytest.mark.parametrize("content", ['{"hooks": {', "not json", "[1, 2]",
                                     '{"hooks": []}', '{"hooks": {"Stop": {}}}',
                                     '{"a": 1} // comment'])
def test_install_refuses_unparseable_settings(cli: Any, env: Any, content: str) -> None:
    env.user_settings.parent.mkdir()
    env.user_settings.write_text(content, encoding="utf-8")
    before = env.user_settings.stat()
    result = cli("install")
    assert result.code == 1
    assert "left untouched" in result.err and "Traceback" not in result.err
    assert env.user_settings.read_text("utf-8") == content
    assert env.user_settings.stat().st_mtime_ns == before.st_mtime_ns
    assert _backups(env.user_settings) == []
    assert cli("uninstall").code == 1
    assert env.user_settings.read_text("utf-8") == content


def test_install_is_idempotent(cli: Any, env: Any) -> None:
    env.user_settings.parent.mkdir()
    env.user_settings.write_text(json.dumps(FOREIGN), encoding="utf-8")
    assert cli("install").code == 0
    first = env.user_settings.read_bytes()
    mtime = env.user_settings.stat().st_mtime_ns
    result = cli("install")
    assert result.code == 0
    assert "nothing to change" in result.out
    assert env.user_settings.read_bytes() == first
    assert env.user_settings.stat().st_mtime_ns == mtime
    assert len(_backups(env.user_settings)) == 1
    assert cli("install", "--dry-run").out.strip().endswith("(already installed)")


def test_dry_run_shows_a_diff_and_writes_nothing(cli: Any, env: Any) -> None:
    result = cli("install", "--dry-run")
    assert result.code == 0
    assert result.out.startswith("--- /dev/null\n+++ ")
    assert f'+            "command": {json.dumps(PYTHON)},' in result.out
    assert f'+              {json.dumps(ROOT)}' in result.out
    assert not env.user_settings.parent.exists()
    env.user_settings.parent.mkdir()
    env.user_settings.write_text(json.dumps(FOREIGN), encoding="utf-8")
    result = cli("install", "--dry-run")
    assert result.code == 0 and "@@" in result.out
    assert json.loads(env.user_settings.read_text("utf-8")) == FOREIGN
    assert _backups(env.user_settings) == []


def test_uninstall_leaves_a_foreign_hook_intact(cli: Any, env: Any) -> None:
    env.user_settings.parent.mkdir()
    mixed = json.loads(json.dumps(FOREIGN))
    env.user_settings.write_text(json.dumps(mixed), encoding="utf-8")
    assert cli("install").code == 0
    # a foreign handler sharing Orchestra's group, and a look-alike install must not touch
    data = json.loads(env.user_settings.read_text("utf-8"))
    data["hooks"]["Stop"][0]["hooks"].append({"type": "command", "command": "say done"})
    data["hooks"]["Stop"].append({"hooks": [{"type": "command",
                                             "command": "python3 -m hooks.dispatch"}]})
    env.user_settings.write_text(render(data), encoding="utf-8")
    dry = cli("uninstall", "--dry-run")
    assert dry.code == 0 and "-            \"statusMessage\": \"Orchestra\"" in dry.out
    assert not [line for line in dry.out.splitlines() if line.startswith("+ ")]
    assert json.loads(env.user_settings.read_text("utf-8")) == data
    result = cli("uninstall")
    assert result.code == 0, result.err
    assert f"removed {len(registration.EVENTS)} Orchestra handler(s)" in result.out
    after = json.loads(env.user_settings.read_text("utf-8"))
    assert _orchestra(after) == []
    assert after["hooks"]["PreToolUse"] == FOREIGN["hooks"]["PreToolUse"]
    assert after["hooks"]["Notification"] == FOREIGN["hooks"]["Notification"]
    assert after["hooks"]["Stop"] == [
        {"hooks": [{"type": "command", "command": "say done"}]},
        {"hooks": [{"type": "command", "command": "python3 -m hooks.dispatch"}]}]
    assert set(after["hooks"]) == {"PreToolUse", "Notification", "Stop"}
    assert {k: v for k, v in after.items() if k != "hooks"} == {
        k: v for k, v in FOREIGN.items() if k != "hooks"}
    assert cli("uninstall").out.endswith("nothing to change (already uninstalled)\n")


def test_uninstall_of_a_fresh_install_removes_the_hooks_table(cli: Any, env: Any) -> None:
    env.user_settings.parent.mkdir()
    env.user_settings.write_text('{"model": "opus"}', encoding="utf-8")
    assert cli("install").code == 0
    assert cli("uninstall").code == 0
    assert json.loads(env.user_settings.read_text("utf-8")) == {"model": "opus"}
    assert len(_backups(env.user_settings)) == 2
    assert cli("uninstall").code == 0  # absent registration: nothing to do


def test_uninstall_without_a_settings_file(cli: Any, env: Any) -> None:
    result = cli("uninstall")
    assert result.code == 0 and "nothing to change" in result.out
    assert not env.user_settings.exists()


@pytest.mark.parametrize("scope,attr", [("project", "project_settings"),
                                        ("local", "local_settings")])
def test_project_and_local_scopes(cli: Any, env: Any, tmp_path: Path, scope: str,
                                  attr: str) -> None:
    assert cli("install", "--scope", scope).code == 0  # --project-dir defaults to the cwd
    assert getattr(env, attr).exists()
    assert not env.user_settings.exists()
    other = tmp_path / "other project"
    other.mkdir()
    assert cli("install", "--scope", scope, "--project-dir", str(other)).code == 0
    assert (other / ".claude" / getattr(env, attr).name).exists()
    assert cli("uninstall", "--scope", scope, "--project-dir", str(other)).code == 0
    assert cli("install", "--scope", scope, "--project-dir", str(tmp_path / "nope")).code == 1


def test_reinstall_with_another_interpreter_replaces_in_place(cli: Any, env: Any,
                                                              other_python: str) -> None:
    env.user_settings.parent.mkdir()
    env.user_settings.write_text(json.dumps(FOREIGN), encoding="utf-8")
    assert cli("install").code == 0
    before = json.loads(env.user_settings.read_text("utf-8"))
    assert cli("install", "--python", other_python).code == 0
    after = json.loads(env.user_settings.read_text("utf-8"))
    assert {h["command"] for _, h in _orchestra(after)} == {other_python}
    assert list(after["hooks"]) == list(before["hooks"])  # same places
    assert after["hooks"]["PreToolUse"][0] == FOREIGN["hooks"]["PreToolUse"][0]


def test_install_collapses_duplicates_and_refreshes_hand_added_events(cli: Any,
                                                                       env: Any) -> None:
    stale = {"type": "command", "command": '"/old/python" -P -m hooks.dispatch',
             "timeout": 10, "statusMessage": "Orchestra"}
    env.user_settings.parent.mkdir()
    env.user_settings.write_text(json.dumps({"hooks": {
        "PreToolUse": [{"hooks": [stale]}, {"matcher": "Bash", "hooks": [dict(stale)]}],
        "PreModelSwitch": [{"hooks": [dict(stale, timeout=3)]}],
    }}), encoding="utf-8")
    result = cli("install")
    assert result.code == 0
    assert "migrated" in result.out  # the old form, replaced where it was
    data = json.loads(env.user_settings.read_text("utf-8"))
    assert data["hooks"]["PreToolUse"] == [{"hooks": [_handler("PreToolUse")]}]
    assert data["hooks"]["PreModelSwitch"] == [{"hooks": [dict(
        stale, timeout=3, command=PYTHON, args=registration.boot_args(ROOT))]}]
    assert cli("install").code == 0 and "nothing to change" in cli("install").out
    assert cli("uninstall").code == 0
    assert "hooks" not in json.loads(env.user_settings.read_text("utf-8"))


def test_an_old_handler_sharing_a_group_gets_a_group_of_its_own_there(cli: Any,
                                                                     env: Any) -> None:
    """An earlier install's handler next to a foreign one: the foreign one keeps its group
    and place, Orchestra's new handler comes right after it."""
    stale = {"type": "command", "command": '"/old/python" -P -m hooks.dispatch',
             "timeout": 10, "statusMessage": "Orchestra"}
    mine = {"type": "command", "command": "~/bin/mine.sh"}
    env.user_settings.parent.mkdir()
    env.user_settings.write_text(json.dumps({"hooks": {"Stop": [
        {"hooks": [mine, stale]}, {"hooks": [{"type": "command", "command": "say"}]}]}}),
        encoding="utf-8")
    assert cli("install").code == 0
    data = json.loads(env.user_settings.read_text("utf-8"))
    assert data["hooks"]["Stop"] == [{"hooks": [mine]}, {"hooks": [_handler("Stop")]},
                                     {"hooks": [{"type": "command", "command": "say"}]}]


def test_install_refuses_an_interpreter_without_orchestra(cli: Any, env: Any,
                                                          broken_python: str) -> None:
    for python in (broken_python, "/nonexistent/bin/python"):
        result = cli("install", "--python", python)
        assert result.code == 1
        assert "refusing to install" in result.err
        assert not env.user_settings.exists()


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes and symlinks")
def test_mode_and_symlink_are_kept(cli: Any, env: Any, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "claude-settings.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text('{"model": "opus"}', encoding="utf-8")
    dotfiles.chmod(0o600)
    env.user_settings.parent.mkdir()
    env.user_settings.symlink_to(dotfiles)
    assert cli("install").code == 0
    assert env.user_settings.is_symlink()
    assert len(_orchestra(json.loads(dotfiles.read_text("utf-8")))) == len(registration.EVENTS)
    assert stat.S_IMODE(dotfiles.stat().st_mode) == 0o600
    (backup,) = _backups(dotfiles)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert [p.name for p in dotfiles.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_file_changed_meanwhile_is_not_overwritten(env: Any) -> None:
    env.user_settings.parent.mkdir()
    env.user_settings.write_text("{}", encoding="utf-8")
    settings = load(env.user_settings)
    env.user_settings.write_text('{"model": "opus"}', encoding="utf-8")  # Claude's /config
    with pytest.raises(CliError, match="changed while"):
        save(settings, '{"hooks": {}}\n')
    assert env.user_settings.read_text("utf-8") == '{"model": "opus"}'
    assert [p for p in env.user_settings.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_usage_errors(cli: Any) -> None:
    assert cli("install", "--scope", "galaxy").code == 2
    assert cli("frobnicate").code == 2
    assert cli("--help").code == 0
    help_text = cli("install", "--help")
    assert help_text.code == 0 and "--dry-run" in help_text.out
