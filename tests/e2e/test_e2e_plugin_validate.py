"""``claude plugin validate .`` with the pinned CLI: the repository is a clean plugin and
marketplace (no error, no warning)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .claude_cli import REPO_ROOT, claude_env

pytestmark = pytest.mark.e2e


def test_plugin_validate_reports_no_error_and_no_warning(claude_bin: Path,
                                                         tmp_path: Path) -> None:
    env = claude_env(home=tmp_path, base_url="http://127.0.0.1:9")
    proc = subprocess.run([str(claude_bin), "plugin", "validate", "."], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Validation passed" in output, output
    assert "⚠" not in output and "✘" not in output, output
    assert "warning" not in output.lower() and "error" not in output.lower(), output
    for part in ("hooks: SessionStart", "monitors: orchestra-inbox", "bin: orchestra",
                 "outputStyles: \"orchestra:Orchestra Dashboard\""):
        assert part in output, part
