"""Fixtures for the watch/serve tests: a replayed demo state, a running server, Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web._support import CHROMIUM, CHROMIUM_ARGS, Served, replay_demo


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state root holding the replayed demo session (shared by a module's tests)."""
    home = tmp_path_factory.mktemp("demo") / "orchestra"
    replay_demo(home)
    return home


@pytest.fixture(scope="module")
def served(demo_home: Path) -> Iterator[Served]:
    """`python -m orchestra.web --port 0` on the demo; stopped with Ctrl-C afterwards."""
    server = Served(demo_home)
    yield server
    code, err = server.stop()
    assert code == 0, err
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the distribution, driven by Playwright (nothing downloaded)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: install the distribution's package "
                    "(apt-get install chromium; .ci/run does) or set ORCHESTRA_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives every run a fresh temporary profile (user data dir).
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: starts real processes (seconds, not minutes); never skipped"
    )
