"""Fixtures of the reliability and security suite (issue 9).

Every test here is bounded in time and reports what it tried (trials, events, inputs) with
the ``report`` fixture; :func:`pytest_terminal_summary` prints those counts, and the seed,
at the end of every run, also with ``pytest -q``.

Randomised tests draw from ``random.Random`` seeded with the suite seed: the value of
``ORCHESTRA_TEST_SEED`` when set (to replay a run), else a fresh one, printed in the summary
and in every failure message. Property-based tests run hypothesis derandomized (the same
examples every run) unless ``ORCHESTRA_TEST_SEED`` is set, which seeds them too.

Helpers the tests import live in ``_reliability_support.py`` (``tests.reliability.*``);
this folder has no ``__init__.py``, like the other test folders.
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability._reliability_support import SEED_ENV, suite_seed

#: test name -> counts it reported, in the order the tests ran.
COUNTS: dict[str, dict[str, Any]] = {}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config
                            ) -> None:
    if not COUNTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("Orchestra reliability suite", sep="-")
    write(f"seed {suite_seed()} (replay: {SEED_ENV}={suite_seed()} python -m pytest "
          "tests/reliability)")
    for name, counts in COUNTS.items():
        write(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``report(trials=200, kills=..)``: counts shown in the run's summary (and printed,
    unless ``quiet=True``: property tests report after every example)."""
    name = request.node.nodeid.split("::", 1)[-1]
    module = request.node.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")

    def add(*, quiet: bool = False, **counts: Any) -> None:
        entry = COUNTS.setdefault(f"{module.removeprefix('test_reliability_')}::{name}", {})
        entry.update(counts)
        if not quiet:
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    return add


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A generator seeded with the suite seed and the test's name (replayable)."""
    return random.Random(suite_seed() ^ zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ORCHESTRA_* or Claude session variable of the caller leaks into a test."""
    for key in list(os.environ):
        if key.startswith("ORCHESTRA_") and key != SEED_ENV:
            monkeypatch.delenv(key)
    for key in ("CLAUDE_ENV_FILE", "CLAUDE_PROJECT_DIR", "CLAUDE_SESSION_ID"):
        monkeypatch.delenv(key, raising=False)
    yield


@pytest.fixture
def outer(tmp_path: Path) -> Path:
    """A folder that holds the state root and nothing else: walking it proves that nothing
    was written beside the root."""
    path = tmp_path / "outer"
    path.mkdir()
    return path


@pytest.fixture
def root(outer: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The state root (``ORCHESTRA_HOME``), inside :func:`outer`; not created yet."""
    path = outer / "root"
    monkeypatch.setenv("ORCHESTRA_HOME", str(path))
    cwd = outer.parent / "cwd"
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    return path
