"""Fixtures for the dispatcher tests: a private ORCHESTRA_HOME, the real ``python -m
hooks.dispatch`` and ``python -m plugins`` in a subprocess, and throwaway installed plugins.

This folder has no ``__init__.py``, so test modules cannot import from here: helpers are
handed out as fixtures, and the few constants tests need are re-exported as fixtures too.

Third-party plugins are *installed distributions*: a package folder plus a
``<name>-<version>.dist-info`` folder with ``METADATA`` and ``entry_points.txt`` — exactly
what ``importlib.metadata`` reads after ``pip install`` — on a temporary folder that the
subprocess gets on ``PYTHONPATH`` (the registry scans ``sys.path`` minus the working
directory). Plugins are packages, not single modules, so that the ``__pycache__`` written
when they are first imported lands inside them and does not change the mtime of the folder
on ``sys.path`` (which is part of the dispatch-table cache's fingerprint).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "payloads"
EXAMPLE = REPO / "examples" / "orchestra-plugin-example"


def _orchestra_installed() -> bool:
    try:
        metadata.distribution("orchestra")
    except metadata.PackageNotFoundError:
        return False
    return True


# The subprocesses run outside the repository (Claude Code runs hooks in Claude's cwd). When
# Orchestra is installed (CI: `pip install -e .`), that is enough; otherwise the repository goes
# on PYTHONPATH, last.
_BASE_PATH: list[str] = [] if _orchestra_installed() else [str(REPO)]


def payload_files() -> list[Path]:
    """Every captured payload, recursively (top level: one per event; public/: older shapes)."""
    return sorted(PAYLOADS.rglob("*.json"))


def load_payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return data


@dataclass
class Proc:
    """One finished process: exit code, stdout, stderr (text), and how long it took."""

    code: int
    out: str
    err: str
    seconds: float = 0.0
    args: list[str] = field(default_factory=list)

    @property
    def reply(self) -> dict[str, Any] | None:
        """stdout parsed as the one JSON object it must be (None when empty)."""
        if not self.out:
            return None
        assert self.out.endswith("\n") and self.out.count("\n") == 1, self.out
        value = json.loads(self.out)
        assert isinstance(value, dict), self.out
        return value

    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def clean_env(home: Path, paths: Sequence[Path | str] = (), **extra: str) -> dict[str, str]:
    """The environment of a dispatcher subprocess: no inherited ORCHESTRA_* variable."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ORCHESTRA_") and k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["ORCHESTRA_HOME"] = str(home)
    search = [str(p) for p in paths] + _BASE_PATH
    if search:
        env["PYTHONPATH"] = os.pathsep.join(search)
    env.update(extra)
    return env


def run_module(module: str, args: Sequence[str], stdin: bytes, env: dict[str, str],
               cwd: Path, timeout: float = 60.0, python_flags: Sequence[str] = ()) -> Proc:
    import time

    argv = [sys.executable, *python_flags, "-m", module, *args]
    started = time.monotonic()
    done = subprocess.run(argv, input=stdin, capture_output=True, env=env, cwd=cwd,
                          timeout=timeout, check=False)
    return Proc(done.returncode, done.stdout.decode("utf-8", "replace"),
                done.stderr.decode("utf-8", "replace"), time.monotonic() - started, argv)


def to_bytes(payload: dict[str, Any] | str | bytes) -> bytes:
    if isinstance(payload, dict):
        return (json.dumps(payload, separators=(",", ":")) + "\n").encode("utf-8")
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return payload


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty ORCHESTRA_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The subprocesses' working directory (stands for Claude's cwd)."""
    path = tmp_path / "cwd"
    path.mkdir()
    return path


DispatchCli = Callable[..., Proc]


@pytest.fixture
def dispatch_cli(home: Path, workdir: Path) -> DispatchCli:
    """``dispatch_cli(payload, paths=(), home=None, timeout=60, flags=(), **env) -> Proc``:
    ``python -m hooks.dispatch`` in a subprocess with a clean environment."""

    def run(payload: dict[str, Any] | str | bytes, *, paths: Sequence[Path | str] = (),
            home_dir: Path | None = None, timeout: float = 60.0, flags: Sequence[str] = (),
            **env: str) -> Proc:
        return run_module("hooks.dispatch", [], to_bytes(payload),
                          clean_env(home_dir or home, paths, **env), workdir, timeout, flags)

    return run


@pytest.fixture
def plugins_cli(home: Path, workdir: Path) -> Callable[..., Proc]:
    """``plugins_cli(*args, paths=(), **env) -> Proc``: ``python -m plugins ARGS``."""

    def run(*args: str, paths: Sequence[Path | str] = (), **env: str) -> Proc:
        return run_module("plugins", list(args), b"", clean_env(home, paths, **env), workdir)

    return run


def write_plugin(root: Path, name: str, source: str, *, dist: str | None = None,
                 version: str = "1.0", package: str | None = None,
                 entry: str | None = None) -> Path:
    """Install plugin ``name`` (entry point ``name = package``) as a distribution under ``root``.

    ``source`` is the package's ``__init__.py`` (dedented). Returns ``root``.
    """
    package = package or "orchestra_test_" + name.replace("-", "_")
    dist = dist or "orchestra-test-" + name
    root.mkdir(parents=True, exist_ok=True)
    pkg = root / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[orchestra]\n{name} = {entry or package}\n", encoding="utf-8")
    (info / "top_level.txt").write_text(package + "\n", encoding="utf-8")
    return root


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A folder for installed test plugins (pass it as ``paths=[plugin_path]``)."""
    path = tmp_path / "site"
    path.mkdir()
    return path


@pytest.fixture
def make_plugin(plugin_path: Path) -> Callable[..., Path]:
    """``make_plugin(name, source, **kw) -> folder``: see :func:`write_plugin`."""

    def make(name: str, source: str, **kwargs: Any) -> Path:
        return write_plugin(kwargs.pop("root", plugin_path), name, source, **kwargs)

    return make


def walk(root: Path) -> list[str]:
    """Every file and folder under ``root``, relative, sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        for entry in dirs + files:
            found.append(os.path.relpath(os.path.join(folder, entry), root))
    return sorted(found)


@pytest.fixture
def tree() -> Callable[[Path], list[str]]:
    """``tree(path)``: every file and folder under ``path`` (relative, sorted)."""
    return walk


@pytest.fixture(scope="session")
def payload_dir() -> Path:
    return PAYLOADS


@pytest.fixture(scope="session")
def example_dir() -> Path:
    return EXAMPLE


@pytest.fixture
def payload() -> Callable[[str], dict[str, Any]]:
    """``payload("PreToolUse.Bash.json")``: a fresh copy of a captured payload."""
    return load_payload


@pytest.fixture
def clear_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ORCHESTRA_* variable from the caller's environment leaks into in-process tests."""
    for key in [k for k in os.environ if k.startswith("ORCHESTRA_")]:
        monkeypatch.delenv(key)
    yield


@pytest.fixture(autouse=True)
def _hermetic(clear_env: None) -> None:
    """Every test here starts without the caller's ORCHESTRA_* settings."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``payload_file``: every captured payload (parametrized, id = path under tests/payloads)."""
    if "payload_file" in metafunc.fixturenames:
        files = payload_files()
        metafunc.parametrize("payload_file", files,
                             ids=[str(p.relative_to(PAYLOADS)) for p in files])


def spec_names() -> list[str]:
    """Every hookspec in :mod:`hooks.specs`, by pluggy's own reading of the module."""
    from hooks import NAME, specs

    marker = NAME + "_spec"
    return sorted(name for name in dir(specs)
                  if callable(getattr(specs, name)) and hasattr(getattr(specs, name), marker))


Reply = dict[str, Any] | None


def make_recorder(calls: list[tuple[str, Any]],
                  reply_for: Callable[[str, Any], Reply] | None = None,
                  name: str = "recorder") -> Any:
    """An inline plugin (a module) implementing *every* hookspec.

    Each call appends ``(spec name, detail)`` to ``calls`` — the event name for event specs,
    ``(document, path, old, new, session_id)`` for ``on_state_change``. Event specs return
    ``reply_for(spec, event)`` when given.
    """
    import types

    from hooks import hookimpl

    module = types.ModuleType(name)

    def event_impl(spec: str) -> Any:
        def impl(event: Any, ctx: Any) -> Reply:
            calls.append((spec, event.name))
            return reply_for(spec, event) if reply_for is not None else None

        return impl

    def after_dispatch(event: Any, reply: Any, ctx: Any) -> None:
        calls.append(("after_dispatch", (event.name, reply)))

    def on_state_change(document: str, path: str, old: Any, new: Any, session_id: str | None,
                        ctx: Any) -> None:
        calls.append(("on_state_change", (document, path, old, new, session_id)))

    for spec in spec_names():
        if spec == "after_dispatch":
            function: Any = after_dispatch
        elif spec == "on_state_change":
            function = on_state_change
        else:
            function = event_impl(spec)
        function.__name__ = spec
        setattr(module, spec, hookimpl(function))
    return module


@pytest.fixture
def recorder() -> Callable[..., Any]:
    """``recorder(calls, reply_for=None, name="recorder")``: see :func:`make_recorder`."""
    return make_recorder


def check_contract(event_name: str, reply: dict[str, Any] | None) -> None:
    """``reply`` validates for ``event_name`` and carries only fields the event honours."""
    from hooks.contract import contract_for
    from hooks.models import validate_reply

    contract = contract_for(event_name)
    if reply is None:
        return
    assert not contract.silent, f"{event_name} is silent but got {reply}"
    validate_reply(event_name, reply)
    assert set(reply) - {"hookSpecificOutput"} <= contract.top, reply
    specific = reply.get("hookSpecificOutput")
    if specific is not None:
        assert specific.get("hookEventName") == event_name, reply
        assert set(specific) - {"hookEventName"} <= contract.specific, reply
        assert len(specific) > 1, f"empty hookSpecificOutput: {reply}"


@pytest.fixture
def contract_ok() -> Callable[[str, dict[str, Any] | None], None]:
    """``contract_ok(event_name, reply)``: assert the reply matches the contract."""
    return check_contract


def inline_plugin(plugin_name: str, **impls: Callable[..., Any]) -> Any:
    """A plugin module named ``plugin_name`` whose attribute ``<spec>`` is ``impls[spec]``.

    Functions not yet marked get a plain ``@hookimpl``; mark them yourself for options
    (``hookimpl(guard=True)(fn)``).
    """
    import types

    from hooks import NAME, hookimpl

    module = types.ModuleType(plugin_name)
    for spec, function in impls.items():
        if not hasattr(function, NAME + "_impl"):
            function = hookimpl(function)
        setattr(module, spec, function)
    return module


@pytest.fixture
def plugin() -> Callable[..., Any]:
    """``plugin(name, on_pre_tool_use=fn, ...)``: see :func:`inline_plugin`."""
    return inline_plugin


def builtin_names() -> list[str]:
    """Short names of the built-in handlers (what the block-list takes)."""
    from handlers import BUILTIN_HANDLERS

    return [module.rsplit(".", 1)[-1] for module in BUILTIN_HANDLERS]


@pytest.fixture
def no_builtins() -> dict[str, str]:
    """Environment that disables every built-in handler (``**no_builtins`` into dispatch_cli):
    for tests asserting an exact reply, which built-ins added later must not change."""
    return {"ORCHESTRA_DISABLED_PLUGINS": ",".join(builtin_names())}


@pytest.fixture
def env_for(home: Path) -> Callable[..., dict[str, str]]:
    """``env_for(paths=(), **extra)``: the clean environment the CLI fixtures use, for other
    commands run in a subprocess."""

    def make(paths: Sequence[Path | str] = (), **extra: str) -> dict[str, str]:
        return clean_env(home, paths, **extra)

    return make
