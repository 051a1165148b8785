"""Document locks: filelock's lock, taken without importing filelock (see state/locks.py).

The store's lock and a ``filelock.FileLock`` on the same sidecar file exclude each other —
across processes and between threads of one process — so anything that locks Orchestra's
documents with filelock is serialised with Orchestra. ``ORCHESTRA_LOCKS=filelock`` (and
every platform without flock) takes the lock through filelock itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from state.errors import LockTimeoutError
from state.persistence import locks
from state.persistence.filestore import FileStorage

KEY = "sessions/s1/state.json"

pytestmark = pytest.mark.skipif(locks.flock is None, reason="flock is POSIX-only; Windows "
                                "takes every lock through filelock (covered by the suite)")

_HOLD_WITH_FILELOCK = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1], timeout=5)
lock.acquire()
print("held", flush=True)
sys.stdin.readline()
lock.release()
"""

_HOLD_WITH_STORE = """
import sys
from state.persistence.filestore import FileStorage
with FileStorage(sys.argv[1]).transaction(sys.argv[2]) as doc:
    doc["holder"] = "child"
    print("held", flush=True)
    sys.stdin.readline()
"""


def _hold(python_env: dict[str, str], code: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=python_env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _let_go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.close()
    assert proc.wait(30) == 0


def test_a_filelock_holder_in_another_process_keeps_writers_out(
        tmp_path: Path, python_env: dict[str, str]) -> None:
    store = FileStorage(tmp_path)
    with store.transaction(KEY) as doc:
        doc["n"] = 1
    holder = _hold(python_env, _HOLD_WITH_FILELOCK, str(store.path(KEY)) + ".lock")
    try:
        with pytest.raises(LockTimeoutError), store.transaction(KEY, timeout=0.3) as doc:
            doc["n"] = 2
    finally:
        _let_go(holder)
    with store.transaction(KEY, timeout=5) as doc:  # released: taken at once
        doc["n"] = 3
    assert store.require(KEY)["n"] == 3


def test_a_store_writer_in_another_process_keeps_filelock_out(
        tmp_path: Path, python_env: dict[str, str]) -> None:
    from filelock import FileLock, Timeout

    store = FileStorage(tmp_path)
    holder = _hold(python_env, _HOLD_WITH_STORE, str(tmp_path), KEY)
    lock = FileLock(str(store.path(KEY)) + ".lock", timeout=0.3)
    try:
        with pytest.raises(Timeout):
            lock.acquire()
    finally:
        _let_go(holder)
    lock.acquire(timeout=5)
    lock.release()
    assert store.require(KEY)["holder"] == "child"


def test_filelock_and_the_store_exclude_each_other_between_threads(tmp_path: Path) -> None:
    """flock belongs to the open file, not the process: threads are serialised too."""
    from filelock import FileLock

    store = FileStorage(tmp_path)
    with store.transaction(KEY) as doc:
        doc["n"] = 0
    lock = FileLock(str(store.path(KEY)) + ".lock", timeout=5)
    errors: list[BaseException] = []

    def with_filelock() -> None:
        try:
            for _ in range(100):
                with lock:
                    doc = store.require(KEY)
                    time.sleep(0)  # invite a race
                    n, version = doc["n"] + 1, doc["version"] + 1
                    # a raw read-modify-write under filelock
                    store._write_document(KEY, f'{{"n": {n}, "version": {version}}}\n'.encode())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=with_filelock)
    thread.start()
    for _ in range(100):
        with store.transaction(KEY, timeout=10) as doc:
            doc["n"] += 1
    thread.join(60)
    assert errors == []
    assert store.require(KEY)["n"] == 200  # no update lost on either side


def test_a_lock_file_replaced_while_waiting_is_locked_anew(tmp_path: Path) -> None:
    path = str(tmp_path / "doc.json.lock")
    first = locks.acquire(path, 5)
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(locks.acquire(path, 10)))
    waiter.start()
    time.sleep(0.05)  # the waiter holds a descriptor of the old file
    os.unlink(path)  # someone deleted the lock file (Orchestra never does)
    first.release()
    waiter.join(30)
    [held] = got
    try:
        assert os.path.samestat(os.fstat(held.fd), os.stat(path))  # the file now at path
    finally:
        held.release()


def test_a_busy_lock_times_out_with_a_clear_error(tmp_path: Path) -> None:
    store = FileStorage(tmp_path)
    store.path(KEY).parent.mkdir(parents=True)
    held = locks.acquire(str(store.path(KEY)) + ".lock", 5)
    try:
        start = time.monotonic()
        with pytest.raises(LockTimeoutError, match=r"state\.json.*0\.2s"), \
                store.transaction(KEY, timeout=0.2):
            pass
        assert time.monotonic() - start < 5  # finite
    finally:
        held.release()


def test_a_transaction_does_not_import_filelock(
        tmp_path: Path, python_env: dict[str, str]) -> None:
    code = ("import sys\nfrom state.persistence.filestore import FileStorage\n"
            "with FileStorage(sys.argv[1]).transaction('a/b.json') as doc:\n"
            "    doc['x'] = doc.get('x', 0) + 1\n"
            "print('filelock' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=python_env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    forced = subprocess.run([sys.executable, "-c", code, str(tmp_path)],
                            env={**python_env, "ORCHESTRA_LOCKS": "filelock"},
                            capture_output=True, text=True, check=True)
    assert forced.stdout.strip() == "True"  # the fallback every platform without flock takes
    assert FileStorage(tmp_path).require("a/b.json")["version"] == 2


def test_the_filelock_fallback_excludes_the_native_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStorage(tmp_path)
    store.path(KEY).parent.mkdir(parents=True)
    native = locks.acquire(str(store.path(KEY)) + ".lock", 5)
    monkeypatch.setenv("ORCHESTRA_LOCKS", "filelock")
    try:
        with pytest.raises(LockTimeoutError), store.transaction(KEY, timeout=0.2):
            pass
    finally:
        native.release()
    with store.transaction(KEY, timeout=5) as doc:
        doc["ok"] = True
    assert store.require(KEY)["ok"] is True
