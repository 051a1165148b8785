"""Doctor checks of the other agents Orchestra is installed for (Codex CLI, Gemini CLI).

An agent is checked only where Orchestra is registered with it (user scope, and the
project's scope with ``--project-dir`` or the cwd); nothing is said about one it is not.

* every event the adapter acts on is registered, with a command whose interpreter exists and
  imports Orchestra from an unrelated folder;
* Codex: each of Orchestra's hooks has a ``trusted_hash`` in ``config.toml`` equal to its
  current hash (else Codex skips it silently), and a project's hooks are in a project Codex
  trusts;
* Gemini: hooks are not switched off (``hooksConfig.enabled``) and Orchestra's hook is not in
  ``hooksConfig.disabled``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hooks.agents import DISPLAY, OTHER_AGENTS
from hooks.tooling import agent_registration as reg
from hooks.tooling.agent_install import codex_config_path, hooks_path
from hooks.tooling.doctor_state import Finding

__all__ = ["check_agents"]


def check_agents(project_dir: str | None) -> list[Finding]:
    found: list[Finding] = []
    for agent in OTHER_AGENTS:
        for scope in ("user", "project"):
            path = hooks_path(agent, scope, project_dir)
            data = _read_json(path)
            if data is None or not reg.positions(data, agent):
                continue
            found += _check(agent, scope, path, data)
    return found


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _check(agent: str, scope: str, path: Path, data: dict[str, Any]) -> list[Finding]:
    name = f"{agent} ({scope})"
    fix = f"orchestra install --agent {agent} --scope {scope}"
    ours = reg.positions(data, agent)
    events = {event for event, *_ in ours}
    wanted = set(reg.events_for(agent))
    found = [Finding("ok", "agent", f"{DISPLAY[agent]}: {path} registers Orchestra for "
                     f"{len(events & wanted)} of {len(wanted)} events")]
    if wanted - events:
        found.append(Finding("warn", "agent", f"{name}: not registered for "
                             f"{', '.join(sorted(wanted - events))}", fix))
    found += _interpreters(name, {entry["command"] for *_, entry in ours}, fix)
    if agent == "codex":
        found += _codex_trust(name, path, data, scope, fix)
    else:
        found += _gemini_switches(name, path, data)
    return found


def _interpreters(name: str, commands: set[str], fix: str) -> list[Finding]:
    from hooks.tooling.install import check_interpreter
    from hooks.tooling.registration import interpreter_of

    found = []
    for command in sorted(commands):
        python = interpreter_of(command)
        problem = check_interpreter(python) if python else f"cannot read {command!r}"
        if problem:
            found.append(Finding("fail", "agent", f"{name}: {problem}", fix))
    return found


def _codex_trust(name: str, path: Path, data: dict[str, Any], scope: str,
                 fix: str) -> list[Finding]:
    import tomllib

    config = codex_config_path()
    try:
        doc = tomllib.loads(config.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        doc = {}
    except (OSError, ValueError) as exc:
        return [Finding("fail", "agent", f"{name}: {config} cannot be read ({exc})",
                        f"fix {config} by hand")]
    state = doc.get("hooks", {}).get("state", {}) if isinstance(doc.get("hooks"), dict) else {}
    wanted = reg.codex_trust(data, str(path))
    missing = [k for k, v in wanted.items()
               if not isinstance(state.get(k), dict) or state[k].get("trusted_hash") != v]
    disabled = [k for k in wanted if isinstance(state.get(k), dict)
                and state[k].get("enabled") is False]
    found = []
    if missing:
        found.append(Finding("fail", "agent", f"{name}: {len(missing)} of Orchestra's hooks are "
                             f"not trusted in {config} (Codex skips them silently)", fix))
    else:
        found.append(Finding("ok", "agent", f"{name}: all {len(wanted)} hooks trusted in "
                             f"{config}"))
    if disabled:
        found.append(Finding("warn", "agent", f"{name}: {len(disabled)} of Orchestra's hooks "
                             "are disabled in Codex (/hooks)", "enable them in Codex's /hooks"))
    if scope == "project":
        project = str(path.parent.parent)
        projects: dict[str, Any] = doc["projects"] if isinstance(doc.get("projects"),
                                                                  dict) else {}
        entry = projects.get(project)
        level = entry.get("trust_level") if isinstance(entry, dict) else None
        if level != "trusted":
            found.append(Finding("warn", "agent", f"{name}: Codex reads {project}/.codex/ only "
                                 "for a trusted project, and this one is not",
                                 "start Codex there once and trust it, or install with "
                                 "--scope user"))
    return found


def _gemini_switches(name: str, path: Path, data: dict[str, Any]) -> list[Finding]:
    found = []
    user = _read_json(Path(os.path.expanduser("~")) / ".gemini" / "settings.json") or {}
    for source in (user, data):
        switches = source.get("hooksConfig")
        if not isinstance(switches, dict):
            continue
        if switches.get("enabled") is False:
            found.append(Finding("fail", "agent", f"{name}: hooksConfig.enabled is false: "
                                 "Gemini runs no hooks", "set hooksConfig.enabled to true"))
        disabled = switches.get("disabled")
        if isinstance(disabled, list) and any(
                isinstance(d, str) and (d == reg.GEMINI_NAME or "hooks.dispatch" in d)
                for d in disabled):
            found.append(Finding("fail", "agent", f"{name}: Orchestra's hook is in "
                                 "hooksConfig.disabled", "remove it there (or /hooks enable)"))
    return found
