"""Fixtures shared by the handler and coordination tests: a fresh state root, in-process dispatch.

Folders with their own needs (tests/state, tests/dispatch, ...) define their own fixtures,
which take precedence there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _outside_any_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test runs in no Claude Code session unless it says so: the CLIs take the current
    session from these variables, and a surrounding session must not leak into them."""
    for name in ("ORCHESTRA_SESSION_ID", "CLAUDE_CODE_SESSION_ID", "CLAUDE_ENV_FILE",
                 "CLAUDE_PLUGIN_ROOT", "CLAUDE_PLUGIN_DATA", "ORCHESTRA_PLUGIN_DATA",
                 "ORCHESTRA_PLUGIN_ROOT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "orchestra"
    monkeypatch.setenv("ORCHESTRA_HOME", str(root))
    for name in ("ORCHESTRA_SESSION_ID", "CLAUDE_ENV_FILE", "CLAUDE_PROJECT_DIR",
                 "ORCHESTRA_DISABLED_PLUGINS", "ORCHESTRA_LOAD_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    yield root


@pytest.fixture
def dispatch(home: Path) -> Callable[..., Any]:
    """Dispatch a payload in-process through the real registry; return the outcome."""
    from hooks.testing import run_dispatch

    def run(event: dict[str, Any], **kwargs: Any) -> Any:
        outcome = run_dispatch(event, home=home, **kwargs)
        assert outcome.exit_code == 0, outcome.stderr
        return outcome

    return run


# -- PostgreSQL (tests/postgres and the PostgreSQL run of the storage suite) ----------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster for the whole run, started on first use, then removed."""
    from tests._postgres import Cluster

    cluster = Cluster.create()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The cluster's URL (no password: it comes from PGPASSFILE) and a schema of this test's
    own (ORCHESTRA_STORE_SCHEMA), so tests never see each other's state."""
    import uuid

    for name, value in pg_cluster.client_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ORCHESTRA_STORE_SCHEMA", "t_" + uuid.uuid4().hex[:12])
    return str(pg_cluster.url)
