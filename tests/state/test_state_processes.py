"""The store under real processes: parallel writers, parallel appenders, readers
racing a writer, and writers killed with SIGKILL at random moments."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from state.persistence.filestore import FileStorage

pytestmark = pytest.mark.slow

KEY = "sessions/k1/state.json"
BLOB_ITEMS = 300  # ~300 KB per document: a write takes long enough to be interrupted


def _start(python_env: dict[str, str], code: str, *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], env=python_env, text=True, **kw)


def _finish(procs: list[subprocess.Popen[str]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            proc.wait(max(0.1, deadline - time.monotonic()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [p.returncode for p in procs] == [0] * len(procs)


# -- lost updates ----------------------------------------------------------------------------

_INCREMENTER = """
import sys, time
from pathlib import Path
from state.persistence.filestore import FileStorage
root, go, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
store = FileStorage(root, lock_timeout=60)
while not go.exists():      # start together, so that the writers really contend
    time.sleep(0.002)
for _ in range(n):
    with store.transaction("sessions/c1/state.json") as doc:
        doc["n"] = doc.get("n", 0) + 1
        doc.setdefault("writers", []).append(%r)
"""


def test_8_processes_x_100_increments_end_at_800(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    root, go = tmp_path / "root", tmp_path / "go"
    procs = [
        _start(python_env, _INCREMENTER.replace("%r", repr(i)), str(root), str(go), "100")
        for i in range(8)
    ]
    time.sleep(0.3)
    go.touch()
    _finish(procs, timeout=120)
    doc = FileStorage(root).require("sessions/c1/state.json")
    assert doc["n"] == 800
    assert doc["version"] == 800
    assert sorted(doc["writers"]) == [i for i in range(8) for _ in range(100)]
    switches = sum(a != b for a, b in zip(doc["writers"], doc["writers"][1:], strict=False))
    print(f"the lock changed hands {switches} times")
    leftovers = [n for n in os.listdir(root / "sessions/c1") if n.endswith(".tmp")]
    assert leftovers == []


_APPENDER = """
import sys
from pathlib import Path
from state.persistence.filestore import FileStorage
store = FileStorage(Path(sys.argv[1]))
for i in range(200):
    store.append("sessions/c1/events.jsonl", {"w": int(sys.argv[2]), "i": i, "pad": "p" * 200})
"""


def test_parallel_appenders_lose_no_line(tmp_path: Path, python_env: dict[str, str]) -> None:
    root = tmp_path / "root"
    procs = [_start(python_env, _APPENDER, str(root), str(w)) for w in range(4)]
    _finish(procs, timeout=60)
    records = list(FileStorage(root).read_log("sessions/c1/events.jsonl"))
    assert len(records) == 800
    for w in range(4):  # each writer's records complete and in its own order
        assert [r["i"] for r in records if r["w"] == w] == list(range(200))


# -- readers never see a half-written document -------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from state.persistence.filestore import FileStorage
store = FileStorage(Path(sys.argv[1]))
first = True
for _ in range(int(sys.argv[2])):
    with store.transaction(KEY) as doc:
        n = doc.get("counter", 0) + 1
        doc["counter"] = n
        doc["blob"] = [f"{n}:{i}:" + "x" * 1000 for i in range(BLOB_ITEMS)]
    if first:
        print("ready", flush=True)
        first = False
""".replace("KEY", repr(KEY)).replace("BLOB_ITEMS", str(BLOB_ITEMS))


def _consistent(doc: dict[str, Any]) -> int:
    """The counter, after checking that the whole document belongs to one write."""
    n = doc["counter"]
    assert doc["version"] == n
    assert len(doc["blob"]) == BLOB_ITEMS
    assert all(item.startswith(f"{n}:{i}:") for i, item in enumerate(doc["blob"]))
    return int(n)


def test_readers_never_see_a_torn_document(tmp_path: Path, python_env: dict[str, str]) -> None:
    root = tmp_path / "root"
    store = FileStorage(root)
    proc = _start(python_env, _WRITER, str(root), "150", stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    seen: list[int] = []
    path = store.path(KEY)
    while proc.poll() is None:
        doc = store.read(KEY)
        assert doc is not None
        seen.append(_consistent(doc))
        seen.append(_consistent(json.loads(path.read_bytes())))  # the raw file as well
    _finish([proc], timeout=60)
    assert store.problems == []
    assert seen == sorted(seen)  # never older than something already seen
    assert len(set(seen)) > 3, "the reader did not overlap the writer"


# -- SIGKILL at random moments -------------------------------------------------------------------


@pytest.mark.skipif(os.name == "nt" or not hasattr(os, "kill"),
                    reason="SIGKILL is POSIX-only; Windows has no equivalent signal")
def test_sigkill_during_writes_leaves_old_or_new_document(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    import signal

    from filelock import FileLock

    seed = int(os.environ.get("ORCHESTRA_TEST_SEED", random.randrange(2**32)))
    print(f"SIGKILL test seed: {seed} (set ORCHESTRA_TEST_SEED to replay)")
    rng = random.Random(seed)
    root = tmp_path / "root"
    store = FileStorage(root)
    path = store.path(KEY)
    # At least 30 kills, and more (up to 90) until 3 of them have landed mid-write.
    trials, killed_mid_write, last = 0, 0, 0
    while trials < 30 or (killed_mid_write < 3 and trials < 90):
        trial, trials = trials, trials + 1
        proc = _start(python_env, _WRITER, str(root), "100000", stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0, 0.06))
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL, f"trial {trial}: child ended on its own"
        proc.stdout.close()

        # The document parses and is one whole write, old or new: never a mix.
        current = _consistent(json.loads(path.read_bytes()))
        assert current >= last, f"trial {trial} (seed {seed}): went back to {current}"
        last = current
        if any(n.endswith(".tmp") for n in os.listdir(path.parent)):
            killed_mid_write += 1

        # The kernel dropped the dead writer's lock: it can be taken at once.
        lock = FileLock(str(path) + ".lock", timeout=0)
        lock.acquire()
        lock.release()

        # The next writer cleans the orphan temp files up.
        with store.transaction(KEY, timeout=1) as doc:
            n = doc["counter"] + 1
            doc["counter"] = n
            doc["blob"] = [f"{n}:{i}:" + "x" * 1000 for i in range(BLOB_ITEMS)]
        last = _consistent(store.require(KEY))
        assert [n for n in os.listdir(path.parent) if n.endswith(".tmp")] == []
        assert store.problems == [], store.problems
        assert not any(".corrupt-" in n for n in os.listdir(path.parent))
    print(f"{trials} kills, {killed_mid_write} left a temp file behind (killed mid-write)")
    assert killed_mid_write > 0, f"no kill landed inside a write (seed {seed})"
