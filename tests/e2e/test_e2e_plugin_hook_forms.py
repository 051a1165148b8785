"""How the pinned Claude Code CLI runs a plugin's hook commands (issue 27, the plugin
launcher): a toy plugin, ``claude -p --plugin-dir``, offline against the fake API.

Its ``UserPromptSubmit`` has two handlers that run the same probe script, which writes
one line of what it was given to ``$PROBE_LOG``:

* exec form, ``{"command": "${CLAUDE_PLUGIN_ROOT}/bin/probe", "args": [...]}``: Claude Code
  substitutes ``${CLAUDE_PLUGIN_ROOT}`` and ``${CLAUDE_PLUGIN_DATA}`` in ``command`` and in
  each element of ``args``, starts the program with no shell, and sets both variables in
  its environment;
* shell form, the way Orchestra's ``hooks/hooks.json`` runs its launcher
  (:data:`hooks.tooling.registration.PLUGIN_COMMAND`): the shell Claude Code starts
  (``/bin/sh -c`` on POSIX) reads the launcher itself — one shell, no second one started
  through ``#!`` — with the arguments that ``set --`` gave it.

Orchestra ships the shell form: exec form would start ``bin/orchestra`` (a shell script)
without a shell, which Windows cannot do, where Claude Code runs shell-form hooks with Git
Bash. ``claude plugin validate`` accepts both forms without a warning.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hooks.tooling.registration import PLUGIN_COMMAND

from .claude_cli import claude_env, run_claude
from .fake_api import FakeAnthropic, Script

pytestmark = pytest.mark.e2e

PROBE = """#!/bin/sh
# One line: how it was started, its arguments, the plugin variables it was given.
printf '%s|%s|%s|%s|%s|%s\\n' "$0" "$1" "$2" "$3" "$CLAUDE_PLUGIN_ROOT" \\
    "$CLAUDE_PLUGIN_DATA" >> "$PROBE_LOG"
exit 0
"""


def _toy_plugin(root: Path) -> Path:
    (root / ".claude-plugin").mkdir(parents=True)
    (root / ".claude-plugin" / "plugin.json").write_text(json.dumps(
        {"name": "probe", "version": "0.0.1", "description": "hook command probe"}))
    (root / "bin").mkdir()
    probe = root / "bin" / "orchestra"  # the launcher's name, so PLUGIN_COMMAND runs it
    probe.write_text(PROBE)
    probe.chmod(0o755)
    exec_form = {"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/bin/orchestra",
                 "args": ["exec-form", "${CLAUDE_PLUGIN_ROOT}/x", "${CLAUDE_PLUGIN_DATA}/y"],
                 "timeout": 10}
    shell_form = {"type": "command", "command": PLUGIN_COMMAND, "timeout": 10}
    (root / "hooks").mkdir()
    (root / "hooks" / "hooks.json").write_text(json.dumps(
        {"hooks": {"UserPromptSubmit": [{"hooks": [exec_form, shell_form]}]}}))
    return root


def test_plugin_hook_commands_in_exec_form_and_shell_form(claude_bin: Path,
                                                          tmp_path: Path) -> None:
    plugin = _toy_plugin(tmp_path / "probe-plugin")
    home, project, log = tmp_path / "home", tmp_path / "project", tmp_path / "probe.log"
    project.mkdir()

    validated = subprocess.run([str(claude_bin), "plugin", "validate", str(plugin)],
                               env=claude_env(home=home, base_url="http://127.0.0.1:9"),
                               capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
    output = validated.stdout + validated.stderr
    assert validated.returncode == 0 and "Validation passed" in output, output
    # Both handlers are taken; nothing is said about them (a finding about a hook names
    # its path, hooks.<Event>). The toy's own findings (no author, README...) are not ours.
    assert 'UserPromptSubmit command ${CLAUDE_PLUGIN_ROOT}/bin/orchestra ["exec-form"' \
        in output, output
    assert "UserPromptSubmit command \"set -- dispatch; command ." in output, output
    assert "hooks." not in output and "without quotes" not in output, output

    with FakeAnthropic(Script(main=[["ok"]])) as api:
        proc = run_claude(claude_bin, "hello", cwd=project, home=home, base_url=api.base_url,
                          extra_args=("--plugin-dir", str(plugin)),
                          env_extra={"PROBE_LOG": str(log)})
    assert proc.returncode == 0, proc.stderr[-3000:]

    data = home / ".claude" / "plugins" / "data" / "probe-inline"  # --plugin-dir's folder
    lines = sorted(log.read_text().splitlines())
    assert len(lines) == 2, lines
    by_form = {line.split("|")[1]: line.split("|") for line in lines}
    # Exec form: substituted in command and in every argument; both set in the environment.
    assert by_form["exec-form"] == [str(plugin / "bin" / "orchestra"), "exec-form",
                                    f"{plugin}/x", f"{data}/y", str(plugin), str(data)]
    # Shell form as Orchestra registers it: the shell read the launcher itself ($0 is
    # the shell, not the script), with the argument of `set --`.
    zero, first, *_rest, root, data_var = by_form["dispatch"]
    assert Path(zero).name in ("sh", "dash", "bash") and first == "dispatch"
    assert (root, data_var) == (str(plugin), str(data))
