"""The styles' slash commands in the real Claude Code CLI (issue 24, section 7).

Claude Code 2.1.332 runs some slash commands itself, before the model sees them: in
``claude -p`` the styles' old ``/config``, ``/help``, ``/agents``, ``/tasks`` and ``/cost``
never reached the model (its answer: a usage text, "isn't available in this environment"...).
The styles now use names that reach it; this test shows both, with the Orchestra
Dashboard and Config styles selected (``outputStyle``). (Interactively, Claude Code also
answers "Unknown command" to any slash command it does not know and completes ``/team``
to its ``/team-onboarding``: there the plugin's ``/orchestra:<view>`` commands are what a
person types, and the styles accept their commands without the slash too; see
docs/styles.md.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ._scenario import request_texts
from .claude_cli import run_claude
from .fake_api import FakeAnthropic, Script, last_user_text

pytestmark = pytest.mark.e2e

SEEN = "MODEL-SAW-THE-COMMAND"
OLD = ["/config", "/help", "/agents", "/tasks", "/cost"]
RENAMED = [("Orchestra Config", "/show"), ("Orchestra Config", "/subagents"),
           ("Orchestra Dashboard", "/commands"), ("Orchestra Dashboard", "/board"),
           ("Orchestra Dashboard", "/members"), ("Orchestra Dashboard", "/spend")]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("styles-e2e") / "proj"
    folder.mkdir()
    done = subprocess.run([sys.executable, "-m", "styles", "install", "--project", str(folder)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return folder


def _ask(claude_bin: Path, project: Path, style: str, command: str) -> FakeAnthropic:
    # Selected the way a person selects it for a project (docs/styles.md).
    (project / ".claude" / "settings.local.json").write_text(json.dumps({"outputStyle": style}))
    with FakeAnthropic(Script(main=[[SEEN]])) as api:
        proc = run_claude(claude_bin, command, cwd=project, home=project.parent / "home",
                          base_url=api.base_url, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return api


@pytest.mark.parametrize("command", OLD)
def test_the_old_names_never_reach_the_model(claude_bin: Path, project: Path,
                                             command: str) -> None:
    api = _ask(claude_bin, project, "Orchestra Config", command)
    assert api.bodies("main") == [], f"{command} reached the model: Claude Code lets it through"


@pytest.mark.parametrize(("style", "command"), RENAMED)
def test_the_renamed_commands_reach_the_model_with_the_style(claude_bin: Path, project: Path,
                                                             style: str, command: str) -> None:
    api = _ask(claude_bin, project, style, command)
    [body] = api.bodies("main")
    assert last_user_text(body).strip().endswith(command), request_texts(body)[-500:]
    # The style is in the request (2.1.332 puts it with the session's context) ...
    everything = json.dumps(body)
    assert f"# Output Style: {style}" in everything
    program = "OrchestraConfig {" if style == "Orchestra Config" else "OrchestraDashboard {"
    assert program in everything
    assert f'\\"{command}\\" =>' in everything  # ... and its program handles the command
