"""One call, one process (state/process.py): the exit code and output are kept, and the
interpreter's shutdown is skipped only when nothing can depend on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# A buffered file never flushed by hand: the interpreter's shutdown flushes it, so its
# content shows whether the shutdown ran.
_PROGRAM = """
import atexit, os, sys
sys.path.insert(0, sys.argv[2])
witness = open(os.path.join(sys.argv[2], "witness.txt"), "w")
witness.write("flushed by the shutdown")

def main():
    print("reply line")
    sys.stderr.write("a warning\\n")
    mode = sys.argv[1]
    if mode == "thirdparty":
        import orchestra_test_buffered  # a plugin that writes through a buffered file
    elif mode == "atexit":
        atexit.register(lambda: os.write(2, b"atexit ran\\n"))
    elif mode.startswith("jsonpath"):  # jsonpath-ng's engine, and logging with it
        from state.jsonpath import evaluate
        assert evaluate("$.a['b','c']", {"a": {"b": 1}}) == [1]
        assert "logging" in sys.modules and "jsonpath_ng.jsonpath" in sys.modules
        if mode == "jsonpath+handler":
            import logging
            logging.getLogger("x").addHandler(logging.StreamHandler(sys.stderr))
        elif mode == "jsonpath+atexit":
            atexit.register(lambda: os.write(2, b"atexit ran\\n"))
    elif mode == "thread":
        import threading, time
        threading.Thread(target=lambda: (time.sleep(0.2), os.write(2, b"thread done\\n"))).start()
    return 3

from state.process import run_process
run_process(main)
"""

_PLUGIN = """
LOG = open(__file__ + ".log", "w")
LOG.write("written at import, never flushed by hand")
"""


def _run(mode: str, tmp_path: Path, python_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "orchestra_test_buffered.py").write_text(_PLUGIN, encoding="utf-8")
    return subprocess.run([sys.executable, "-c", _PROGRAM, mode, str(tmp_path)],
                          env=python_env, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize("mode", ["own", "jsonpath"])
def test_own_code_only_skips_the_shutdown_and_keeps_code_and_output(
        mode: str, tmp_path: Path, python_env: dict[str, str]) -> None:
    """Orchestra's code, and jsonpath-ng with the logging it imports (no handler)."""
    done = _run(mode, tmp_path, python_env)
    assert done.returncode == 3
    assert done.stdout == "reply line\n"
    assert done.stderr == "a warning\n"
    assert (tmp_path / "witness.txt").read_text(encoding="utf-8") == ""  # no shutdown ran


@pytest.mark.parametrize("mode, mark", [("thirdparty", ""), ("atexit", "atexit ran"),
                                         ("thread", "thread done"), ("jsonpath+handler", ""),
                                         ("jsonpath+atexit", "atexit ran")])
def test_the_shutdown_runs_when_something_may_need_it(
        mode: str, mark: str, tmp_path: Path, python_env: dict[str, str]) -> None:
    done = _run(mode, tmp_path, python_env)
    assert done.returncode == 3
    assert done.stdout == "reply line\n"
    assert mark in done.stderr
    witness = (tmp_path / "witness.txt").read_text(encoding="utf-8")
    assert witness == "flushed by the shutdown"
    if mode == "thirdparty":  # its buffered file was flushed by the shutdown
        log = tmp_path / "orchestra_test_buffered.py.log"
        assert log.read_text(encoding="utf-8") == "written at import, never flushed by hand"


def test_the_end_of_the_call_tolerates_a_thread_importing_meanwhile() -> None:
    """A thread still running (a plugin's worker, a store's server thread) may import while
    the end of the call looks at sys.modules: no 'dictionary changed size' traceback."""
    program = """
import sys, threading, time, types
from state.process import _nothing_to_finish
def churn():
    n = 0
    while True:
        name = f"state.orchestra_test_churn_{n % 50}"
        sys.modules[name] = types.ModuleType(name)
        time.sleep(0)  # let the main thread see the larger dict, then the smaller
        sys.modules.pop(name, None)
        time.sleep(0)
        n += 1
before = set(sys.modules)
sys.setswitchinterval(1e-6)
threading.Thread(target=churn, daemon=True).start()
for _ in range(2000):
    _nothing_to_finish(before)
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2], check=False)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "ok", "")
