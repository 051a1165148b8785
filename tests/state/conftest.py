"""Fixtures for the state-layer tests: a private ORCHESTRA_HOME, both storage
backends, and in-process runners for the three CLIs.

Helpers that tests need are handed out as fixtures (this folder has no
``__init__.py``, so test modules cannot import from here).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from state import session_manager, shared_state, state_manager
from state.persistence.filestore import FileStorage
from state.persistence.storage import MemoryStorage, Storage

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: starts real processes (seconds, not minutes); never skipped"
    )


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines()]

    def assert_error(self, code: int) -> str:
        """Exit ``code``, nothing on stdout, exactly one line on stderr; return it."""
        assert self.code == code, (self.code, self.out, self.err)
        assert self.out == ""
        assert "Traceback" not in self.err
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        return lines[0]


Runner = Callable[..., CliResult]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ORCHESTRA_HOME below ``tmp_path`` (not yet created); cwd moved to tmp too."""
    root = tmp_path / "home"
    monkeypatch.setenv("ORCHESTRA_HOME", str(root))
    monkeypatch.delenv("ORCHESTRA_SESSION_ID", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return root


def _runner(main: Callable[..., int]) -> Runner:
    def run(*argv: str, stdout: io.StringIO | None = None) -> CliResult:
        out = stdout if stdout is not None else io.StringIO()
        err = io.StringIO()
        code = main(list(argv), stdout=out, stderr=err)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def sm(home: Path) -> Runner:
    """``state_manager`` in-process."""
    return _runner(state_manager.main)


@pytest.fixture
def sess(home: Path) -> Runner:
    """``session_manager`` in-process."""
    return _runner(session_manager.main)


@pytest.fixture
def shared(home: Path) -> Runner:
    """``shared_state`` in-process."""
    return _runner(shared_state.main)


@pytest.fixture
def session(sess: Runner) -> str:
    """A fresh session ``s1`` of project ``p1``."""
    result = sess("create", "--id", "s1", "--project", "p1")
    assert result.code == 0, result.err
    return "s1"


@pytest.fixture
def fstore(home: Path) -> FileStorage:
    """The file store the CLIs use (root = ORCHESTRA_HOME)."""
    return FileStorage(home)


@pytest.fixture(params=["file", "memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each storage semantics test runs on every backend (PostgreSQL: a throwaway cluster,
    a schema of the test's own, the machine's part under tmp_path)."""
    yield from _open(request, tmp_path)


@pytest.fixture(params=["file", "memory"])
def byte_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Backends that hold raw bytes, so torn lines and corrupt documents can exist
    (PostgreSQL refuses them on the way in: see tests/postgres)."""
    yield from _open(request, tmp_path)


def _open(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "file":
        yield FileStorage(tmp_path / "store")
    elif request.param == "memory":
        yield MemoryStorage()
    else:
        from state.store import open_store

        url = request.getfixturevalue("pg_url")
        request.getfixturevalue("monkeypatch").setenv("ORCHESTRA_STORE_URL", url)
        store = open_store(tmp_path / "machine")
        yield store
        store.close()


@pytest.fixture
def plant() -> Callable[[Storage, str, bytes], None]:
    """Put raw bytes at ``key`` behind the store's back (corrupt or torn data)."""

    def put(store: Storage, key: str, raw: bytes) -> None:
        if isinstance(store, FileStorage):
            path = store.path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
        else:
            store._write_document(key, raw)  # the backend primitive: the only way in

    return put


@pytest.fixture
def tree() -> Callable[[Path], set[str]]:
    """Every entry below a folder (symlinks not followed), as relative paths."""

    def walk(top: Path) -> set[str]:
        found = set()
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                found.add(os.path.relpath(os.path.join(folder, name), top))
        return found

    return walk


@pytest.fixture
def subprocess_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["ORCHESTRA_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.pop("ORCHESTRA_SESSION_ID", None)
    return env


@pytest.fixture
def run_module(subprocess_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``python -m MODULE ARGS...`` with the test's ORCHESTRA_HOME, bounded in time."""

    def run(module: str, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", module, *argv], env=subprocess_env, cwd=REPO,
            capture_output=True, text=True, timeout=60,
        )

    return run


@pytest.fixture
def python_env() -> Iterator[dict[str, str]]:
    """Environment for child Python processes that import ``state`` from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    yield env
