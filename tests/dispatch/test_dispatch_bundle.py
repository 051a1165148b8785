"""The module bundle (issue 27, :mod:`hooks.boot` and :mod:`hooks.bundle`): the registered
command serves Orchestra's modules from one file beside their ``.pyc`` files, never a
module whose source changed since it was bundled, and a bundle it cannot read or write
changes nothing but speed.

Each test works on its own copy of Orchestra's packages, so the bundle is written there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hooks.boot import BOOT_CODE, bundle_path

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "payloads"
PACKAGES = ("hooks", "handlers", "state", "plugins", "orchestra", "styles")

#: Imports hooks.dispatch as the registered command would (the bundle's finder first) and
#: says where each of Orchestra's modules came from.
PROBE = """
import sys
sys.path.append(sys.argv.pop(1))
from hooks.boot import ModuleBundle, _root
bundle = ModuleBundle.load(_root())
sys.meta_path.insert(0, bundle)
import hooks.dispatch, hooks.registry, handlers.heartbeat, state.persistence.storage, state.clock
print(__import__("json").dumps({
    "bundled": sorted(n for n, m in sys.modules.items()
                      if type(getattr(m.__spec__, "loader", None)).__name__ == "_BundledLoader"),
    "missed": sorted(bundle.missed),
    "clock_file": state.clock.__file__,
    "probe": getattr(state.clock, "BUNDLE_PROBE", None)}))
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of Orchestra's packages (no caches)."""
    folder = tmp_path / "install"
    for name in PACKAGES:
        shutil.copytree(REPO / name, folder / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.bundle"))
    return folder


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "PYTHON", "CLAUDE_"))}
    env["ORCHESTRA_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def _dispatch(root: Path, tmp_path: Path, name: str = "PreToolUse.Bash",
              **extra: str) -> subprocess.CompletedProcess[bytes]:
    """One event through the registered command (``python -S -P -c BOOT_CODE ROOT``)."""
    done = subprocess.run([sys.executable, "-S", "-P", "-c", BOOT_CODE, str(root)],
                          input=(PAYLOADS / f"{name}.json").read_bytes(),
                          env=_env(tmp_path, **extra), cwd=tmp_path, capture_output=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done


def _probe(root: Path, tmp_path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-S", "-P", "-c", PROBE, str(root)],
                          env=_env(tmp_path), cwd=tmp_path, capture_output=True,
                          timeout=120, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _bundle(root: Path) -> Path:
    return Path(bundle_path(str(root)))


def test_a_dispatch_bundles_its_modules_and_the_next_one_reads_them(
        root: Path, tmp_path: Path) -> None:
    assert not _bundle(root).exists()
    _dispatch(root, tmp_path)
    assert _bundle(root).exists()
    found = _probe(root, tmp_path)
    assert {"hooks.dispatch", "hooks.registry", "state.persistence.storage", "handlers",
            "handlers.heartbeat", "state.clock"} <= set(found["bundled"])
    assert found["missed"] == []
    assert found["clock_file"] == str(root / "state" / "clock.py")  # __file__ as ever
    before = _bundle(root).stat().st_mtime_ns
    _dispatch(root, tmp_path)  # nothing missed: nothing rewritten
    assert _bundle(root).stat().st_mtime_ns == before


def test_an_edited_module_is_imported_from_its_source_and_bundled_again(
        root: Path, tmp_path: Path) -> None:
    _dispatch(root, tmp_path)
    assert "state.clock" in _probe(root, tmp_path)["bundled"]
    clock = root / "state" / "clock.py"
    clock.write_text(clock.read_text(encoding="utf-8") + "\nBUNDLE_PROBE = 1\n",
                     encoding="utf-8")
    found = _probe(root, tmp_path)
    assert found["probe"] == 1  # the new source, not the bundled code
    assert "state.clock" in found["missed"] and "state.clock" not in found["bundled"]
    _dispatch(root, tmp_path)  # bundles the new code
    found = _probe(root, tmp_path)
    assert found["probe"] == 1 and "state.clock" in found["bundled"]


def test_a_torn_bundle_is_ignored_and_replaced(root: Path, tmp_path: Path) -> None:
    _dispatch(root, tmp_path)
    data = _bundle(root).read_bytes()
    _bundle(root).write_bytes(data[: len(data) // 2])  # the index is whole, code is not
    done = _dispatch(root, tmp_path, "PreToolUse.Write")
    assert done.stderr == b""
    _bundle(root).write_bytes(b"not a bundle")
    _dispatch(root, tmp_path)
    assert _probe(root, tmp_path)["missed"] == []  # a whole one again


def test_nothing_is_written_where_python_writes_no_bytecode(
        root: Path, tmp_path: Path) -> None:
    _dispatch(root, tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert not _bundle(root).exists()
    (root / "hooks" / "__pycache__").mkdir(exist_ok=True)
    shutil.rmtree(root / "hooks" / "__pycache__")
    (root / "hooks" / "__pycache__").write_text("a file where the folder would be")
    done = _dispatch(root, tmp_path)  # neither .pyc nor bundle can be written: no matter
    assert done.stderr == b""


def test_the_bundle_follows_the_pycache_prefix(root: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "pycache"
    _dispatch(root, tmp_path, PYTHONPYCACHEPREFIX=str(prefix))
    assert not _bundle(root).exists()
    assert list(prefix.rglob("bundle.*.bundle"))


def _missed_module(root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A ModuleBundle of ``root`` that missed one module, imported from its source."""
    import importlib.util

    from hooks.boot import ModuleBundle

    source = root / "state" / "bundle_probe.py"
    source.write_text("VALUE = 41\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("state.bundle_probe", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "state.bundle_probe", module)
    bundle = ModuleBundle(str(root), {})
    bundle.missed.add("state.bundle_probe")
    return bundle


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="symlinks: POSIX")
def test_the_bundle_is_never_written_through_a_planted_link(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hooks.bundle import save_bundle

    bundle = _missed_module(root, monkeypatch)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    target = _bundle(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{target}.{os.getpid()}.tmp").symlink_to(victim)
    assert save_bundle(bundle) is False
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not target.exists()
    Path(f"{target}.{os.getpid()}.tmp").unlink()
    assert save_bundle(bundle) is True  # and with the way clear, it is written
    from hooks.boot import ModuleBundle

    assert "state.bundle_probe" in ModuleBundle.load(str(root)).index


def test_where_no_bundle_can_be_written_no_module_is_read_for_one(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only install (no ``.pyc`` either: installed without compiling) would otherwise
    compile every module a second time after each reply, only to fail at the write."""
    from hooks.bundle import save_bundle

    bundle = _missed_module(root, monkeypatch)
    _bundle(root).parent.write_text("a file where the folder would be")
    loader = sys.modules["state.bundle_probe"].__spec__.loader
    read: list[str] = []
    original = type(loader).get_code

    def get_code(self: Any, fullname: str) -> Any:
        read.append(fullname)
        return original(self, fullname)

    monkeypatch.setattr(type(loader), "get_code", get_code)
    assert save_bundle(bundle) is False
    assert read == []


def test_a_probe_for_a_module_that_does_not_exist_reads_and_writes_nothing(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hooks.boot import ModuleBundle
    from hooks.bundle import save_bundle

    _dispatch(root, tmp_path)
    bundle = ModuleBundle.load(str(root))
    assert bundle.index
    before = _bundle(root).stat().st_mtime_ns
    read: list[str] = []
    monkeypatch.setattr(bundle, "code", lambda name: read.append(name) or b"")
    bundle.missed.add("state.no_such_module")
    assert save_bundle(bundle) is False
    assert read == []  # not one module's code read for it
    assert _bundle(root).stat().st_mtime_ns == before
