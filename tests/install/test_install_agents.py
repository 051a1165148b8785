"""``install|uninstall --agent codex|gemini``: Orchestra's entries only, Codex trust, as it was.

The Codex trust hashes are checked against values the real Codex 0.169.0 reported
(``codex app-server``, ``hooks/list``, field ``currentHash``) for the same handlers; the
end-to-end test (tests/e2e/test_e2e_agents.py) shows the trusted hooks running.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from hooks.tooling import agent_registration as reg

USER_CONFIG = ('# my codex settings\nmodel = "gpt-5.5"  # the one I like\n\n'
               '[projects."/somewhere"]\ntrust_level = "trusted"\n\n'
               '[hooks.state."/elsewhere/hooks.json:stop:0:0"]\ntrusted_hash = "sha256:abc"\n')
USER_HOOKS = ('{\n    "hooks": {"Stop": [{"hooks": [{"type": "command", '
              '"command": "echo mine"}]}],\n'
              '              "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command",'
              ' "command": "echo guard"}]}]}\n}\n')


def codex_files(home: Path) -> tuple[Path, Path]:
    return home / ".codex" / "config.toml", home / ".codex" / "hooks.json"


@pytest.fixture
def codex_user(env: Any) -> tuple[Path, Path]:
    config, hooks = codex_files(env.home)
    config.parent.mkdir(parents=True)
    config.write_text(USER_CONFIG, encoding="utf-8")
    hooks.write_text(USER_HOOKS, encoding="utf-8")
    return config, hooks


def test_codex_hash_matches_what_codex_reports() -> None:
    handler = {"type": "command", "timeout": 10, "statusMessage": "Orchestra",
               "command": '"/usr/bin/python3" -P -m hooks.dispatch --agent codex'}
    assert reg.codex_hash("PreToolUse", handler) == \
        "sha256:25ea1857dad0bc72e0223e1a63fa3e3855423c9ff0d55df95de6207a17955f33"
    assert reg.codex_hash("SessionStart", {"type": "command", "command": "echo hi"},
                          "startup") == \
        "sha256:96fce91e330a75049046e8e6e6ee74528be2d90871e21bafdff0b41859318628"


def test_codex_install_appends_after_the_users_hooks_and_trusts_each(
        cli: Any, env: Any, codex_user: tuple[Path, Path]) -> None:
    config, hooks = codex_user
    result = cli("install", "--agent", "codex")
    assert result.code == 0, result.err
    assert "trusted in" in result.out and "Revoke: orchestra uninstall --agent codex" in \
        result.out
    data = json.loads(hooks.read_text())
    assert data["hooks"]["Stop"][0]["hooks"][0]["command"] == "echo mine"  # not moved
    assert data["hooks"]["PreToolUse"][0]["matcher"] == "Bash"
    ours = reg.positions(data, "codex")
    assert {e for e, *_ in ours} == set(reg.events_for("codex"))
    assert ("Stop", 1, 0) in {(e, g, h) for e, g, h, _ in ours}
    assert ("PreToolUse", 1, 0) in {(e, g, h) for e, g, h, _ in ours}
    command = data["hooks"]["Stop"][1]["hooks"][0]["command"]
    assert command.endswith("-P -m hooks.dispatch --agent codex") and sys.executable in command
    import tomllib

    state = tomllib.loads(config.read_text())["hooks"]["state"]
    for key, value in reg.codex_trust(data, str(hooks)).items():
        assert state[key]["trusted_hash"] == value
    assert state["/elsewhere/hooks.json:stop:0:0"]["trusted_hash"] == "sha256:abc"
    assert config.read_text().startswith(USER_CONFIG)  # comments and layout kept
    assert next(config.parent.glob("config.toml.orchestra-*.bak")).read_text() == USER_CONFIG
    assert next(config.parent.glob("hooks.json.orchestra-*.bak")).read_text() == USER_HOOKS

    before = (config.read_bytes(), hooks.read_bytes())
    again = cli("install", "--agent", "codex")
    assert again.code == 0 and "nothing to change" in again.out
    assert (config.read_bytes(), hooks.read_bytes()) == before


def test_codex_uninstall_puts_both_files_back_byte_for_byte(
        cli: Any, env: Any, codex_user: tuple[Path, Path]) -> None:
    config, hooks = codex_user
    assert cli("install", "--agent", "codex").code == 0
    assert cli("install", "--agent", "codex").code == 0  # idempotent re-install
    result = cli("uninstall", "--agent", "codex")
    assert result.code == 0, result.err
    assert config.read_text() == USER_CONFIG and hooks.read_text() == USER_HOOKS


def test_codex_uninstall_after_the_user_changed_things_removes_only_orchestras(
        cli: Any, env: Any, codex_user: tuple[Path, Path]) -> None:
    config, hooks = codex_user
    assert cli("install", "--agent", "codex").code == 0
    with config.open("a", encoding="utf-8") as fh:
        fh.write('\n[notice]\nhide = true  # added later\n')
    data = json.loads(hooks.read_text())
    data["hooks"]["Stop"].append({"hooks": [{"type": "command", "command": "echo later"}]})
    hooks.write_text(json.dumps(data), encoding="utf-8")
    later_key = f"{hooks}:stop:2:0"
    with config.open("a", encoding="utf-8") as fh:  # the user trusted their new hook
        fh.write(f'\n[hooks.state."{later_key}"]\ntrusted_hash = "sha256:later"\n')
    assert cli("uninstall", "--agent", "codex").code == 0
    text = config.read_text()
    assert text.startswith(USER_CONFIG) and "hide = true  # added later" in text
    import tomllib

    state = tomllib.loads(text)["hooks"]["state"]
    # Orchestra's group went, so the user's later hook is now group 1: its trust moved along
    assert state == {"/elsewhere/hooks.json:stop:0:0": {"trusted_hash": "sha256:abc"},
                     f"{hooks}:stop:1:0": {"trusted_hash": "sha256:later"}}
    left = json.loads(hooks.read_text())["hooks"]
    assert [g["hooks"][0]["command"] for g in left["Stop"]] == ["echo mine", "echo later"]
    assert reg.positions({"hooks": left}, "codex") == []


def test_codex_install_into_a_fresh_home_and_out_again_leaves_nothing(cli: Any,
                                                                      env: Any) -> None:
    config, hooks = codex_files(env.home)
    assert cli("install", "--agent", "codex").code == 0
    assert config.exists() and hooks.exists()
    assert cli("uninstall", "--agent", "codex").code == 0
    assert not config.exists() and not hooks.exists()


def test_codex_dry_run_writes_nothing(cli: Any, env: Any,
                                      codex_user: tuple[Path, Path]) -> None:
    config, hooks = codex_user
    result = cli("install", "--agent", "codex", "--dry-run")
    assert result.code == 0
    assert "+[hooks.state." in result.out and "--agent codex" in result.out
    assert config.read_text() == USER_CONFIG and hooks.read_text() == USER_HOOKS
    assert not list(config.parent.glob("*.bak"))


@pytest.mark.parametrize(("name", "text"), [("config.toml", "model = [unclosed\n"),
                                           ("hooks.json", "{not json"),
                                           ("config.toml", "hooks = 5\n"),
                                           ("config.toml", '[hooks]\nstate = "oops"\n')])
def test_codex_refuses_a_broken_file_and_touches_nothing(
        cli: Any, env: Any, codex_user: tuple[Path, Path], name: str, text: str) -> None:
    config, hooks = codex_user
    (config.parent / name).write_text(text, encoding="utf-8")
    before = (config.read_bytes(), hooks.read_bytes())
    result = cli("install", "--agent", "codex")
    assert result.code == 1 and "left untouched" in result.err
    assert (config.read_bytes(), hooks.read_bytes()) == before


INLINE_CONFIG = ('model = "gpt-5.5"\n'
                 'hooks = { state = { "/elsewhere/hooks.json:stop:0:0" = '
                 '{ trusted_hash = "sha256:abc" } } }\n')


@pytest.mark.parametrize("text", [INLINE_CONFIG, 'hooks = { other = 1 }\n'],
                         ids=["inline-state", "inline-hooks"])
def test_codex_trust_goes_into_inline_tables_too(cli: Any, env: Any, text: str) -> None:
    """``hooks`` or ``hooks.state`` written as an inline table (valid TOML, which Codex
    reads) crashed install with tomlkit's "Inline tables cannot contain a table"."""
    import tomllib

    config, hooks = codex_files(env.home)
    config.parent.mkdir(parents=True)
    config.write_text(text, encoding="utf-8")
    result = cli("install", "--agent", "codex")
    assert result.code == 0, result.err
    state = tomllib.loads(config.read_text())["hooks"]["state"]
    trust = reg.codex_trust(json.loads(hooks.read_text()), str(hooks))
    assert trust and all(state[k]["trusted_hash"] == v for k, v in trust.items())
    assert cli("uninstall", "--agent", "codex").code == 0
    assert config.read_text() == text  # as it was


def test_codex_project_scope_notes_that_codex_trusts_projects(cli: Any, env: Any) -> None:
    result = cli("install", "--agent", "codex", "--scope", "project", "--project-dir",
                 str(env.project))
    assert result.code == 0, result.err
    hooks = env.project / ".codex" / "hooks.json"
    assert reg.positions(json.loads(hooks.read_text()), "codex")
    assert str(hooks) in (env.home / ".codex" / "config.toml").read_text()
    assert "only for a trusted project" in result.err


def test_local_scope_is_not_an_agent_scope(cli: Any, env: Any) -> None:
    result = cli("install", "--agent", "gemini", "--scope", "local")
    assert result.code == 1 and "not a scope of Gemini CLI" in result.err


GEMINI_SETTINGS = ('{\n  "security": {"auth": {"selectedType": "gemini-api-key"}},\n'
                   '  "hooks": {"BeforeTool": [{"matcher": "write_file", "hooks": '
                   '[{"type": "command", "name": "mine", "command": "echo mine"}]}]}\n}\n')


def test_gemini_install_and_uninstall(cli: Any, env: Any) -> None:
    settings = env.home / ".gemini" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(GEMINI_SETTINGS, encoding="utf-8")
    assert cli("install", "--agent", "gemini").code == 0
    data = json.loads(settings.read_text())
    assert data["security"] == {"auth": {"selectedType": "gemini-api-key"}}
    assert data["hooks"]["BeforeTool"][0]["hooks"][0]["name"] == "mine"
    ours = reg.positions(data, "gemini")
    assert {e for e, *_ in ours} == set(reg.events_for("gemini"))
    assert all(entry["timeout"] >= 1000 for *_, entry in ours)  # milliseconds
    assert "PreCompress" not in data["hooks"]  # it is not PreCompact
    before = settings.read_bytes()
    assert cli("install", "--agent", "gemini").code == 0
    assert settings.read_bytes() == before
    assert cli("uninstall", "--agent", "gemini").code == 0
    assert settings.read_text() == GEMINI_SETTINGS
    assert not (env.home / ".codex").exists()


def test_gemini_settings_with_comments_are_refused_with_that_reason(cli: Any,
                                                                    env: Any) -> None:
    """Gemini CLI strips comments from settings.json before parsing it; Orchestra writes
    JSON back and would drop them, so it refuses, says why, and changes nothing."""
    settings = env.home / ".gemini" / "settings.json"
    settings.parent.mkdir()
    text = '{\n  // my theme\n  "theme": "Dracula" /* dark */\n}\n'
    settings.write_text(text, encoding="utf-8")
    result = cli("install", "--agent", "gemini")
    assert result.code == 1 and "holds comments: Gemini CLI allows them" in result.err
    assert "left untouched" in result.err and settings.read_text() == text
    assert not list(settings.parent.glob("*.bak"))


def test_doctor_checks_each_installed_agent(cli: Any, env: Any,
                                            codex_user: tuple[Path, Path]) -> None:
    from hooks.tooling.doctor_agents import check_agents

    assert check_agents(None) == []  # installed for neither: nothing said
    assert cli("install", "--agent", "codex").code == 0
    assert cli("install", "--agent", "gemini").code == 0
    findings = [(f.level, f.message) for f in check_agents(None)]
    assert all(level == "ok" for level, _ in findings), findings
    assert any("all 12 hooks trusted" in message for _, message in findings)
    assert any("Gemini CLI" in message and "7 of 7 events" in message for _, message in findings)
    config, _hooks = codex_user
    text = config.read_text()
    config.write_text(text.replace("trusted_hash = \"sha256:", "trusted_hash = \"sha256:0"),
                      encoding="utf-8")
    failed = [f for f in check_agents(None) if f.level == "fail"]
    assert failed and "not trusted" in failed[0].message
    assert failed[0].fix == "orchestra install --agent codex --scope user"
    result = cli("doctor")
    assert "codex (user): 12 of Orchestra's hooks are not trusted" in result.out
