"""install compiles Orchestra's modules for the registered interpreter."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from hooks.tooling.install import compile_bytecode


def test_compile_bytecode_writes_pyc_for_the_dispatcher(tmp_path: Path) -> None:
    import hooks.dispatch

    cached = Path(importlib.util.cache_from_source(hooks.dispatch.__file__))
    if cached.exists():
        os.utime(cached, (0, 0))  # stale on purpose: compile must refresh it
        cached.unlink()
    assert compile_bytecode(sys.executable)
    assert cached.exists()


def test_compile_bytecode_reports_a_broken_interpreter(tmp_path: Path) -> None:
    assert not compile_bytecode(str(tmp_path / "no-such-python"))
