"""Shared setup for the end-to-end tests (real Claude Code CLI, fake API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .claude_cli import find_or_install_claude


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "e2e: runs the real Claude Code CLI headless against a fake Anthropic API "
        "(installs it on first use: about 400 MB from npm; set ORCHESTRA_CLAUDE_BIN to reuse one)",
    )


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The ``claude`` binary; installing it if needed. Fails (never skips) without it."""
    return find_or_install_claude()
