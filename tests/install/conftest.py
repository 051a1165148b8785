"""Fixtures for install, uninstall, doctor, record and replay.

Every test gets a private ``$HOME`` (so ``--scope user`` writes below ``tmp_path``), a
private ``ORCHESTRA_HOME``, a project folder as the cwd, and no variables of a surrounding
Claude Code session. ``cli`` runs ``python -m hooks ...`` in-process.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hooks.__main__ import main as hooks_main

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "payloads"

_SESSION_ENV = ("CLAUDE_PROJECT_DIR", "CLAUDE_ENV_FILE", "CLAUDE_CODE_SESSION_ID",
                "ORCHESTRA_SESSION_ID", "ORCHESTRA_RECORD", "ORCHESTRA_LOAD_PLUGINS",
                "ORCHESTRA_DISABLED_PLUGINS", "ORCHESTRA_DEBUG")


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


Cli = Callable[..., CliResult]


@dataclass
class Env:
    home: Path  # $HOME
    state: Path  # ORCHESTRA_HOME
    project: Path  # the cwd

    @property
    def user_settings(self) -> Path:
        return self.home / ".claude" / "settings.json"

    @property
    def project_settings(self) -> Path:
        return self.project / ".claude" / "settings.json"

    @property
    def local_settings(self) -> Path:
        return self.project / ".claude" / "settings.local.json"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    home, state, project = tmp_path / "home", tmp_path / "state", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("ORCHESTRA_HOME", str(state))
    for name in _SESSION_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(project)
    return Env(home, state, project)


@pytest.fixture
def cli(env: Env) -> Cli:
    def run(*argv: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        code = hooks_main(list(argv), stdout=out, stderr=err)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def payload() -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text("utf-8"))
        return data

    return load


@pytest.fixture
def other_python(tmp_path: Path) -> str:
    """A second, working interpreter at another path (with a space): a wrapper of this one."""
    if os.name == "nt":
        pytest.skip("shell-script interpreters are POSIX only")
    script = tmp_path / "other bin" / "python"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def broken_python(tmp_path: Path) -> str:
    """An executable that runs but cannot import Orchestra."""
    if os.name == "nt":
        pytest.skip("shell-script interpreters are POSIX only")
    script = tmp_path / "broken" / "python"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named hooks' >&2\n"
                      "exit 1\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)
