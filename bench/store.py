"""Benchmark: the state library used in-process, each operation against the seed's 10 ms.

Stdlib only (plus Orchestra). In a temporary state root it builds a session whose
``state.json`` is about 100 KB, a session whose event log holds 100,000 records, and
200 more sessions (state, heartbeat and a task list each), then times each operation
``--runs`` times through the library API — :func:`state.store.open_store` and the
functions the CLIs and handlers call — and prints p50, p90, p99 and the worst run in
milliseconds, each p99 against 10 ms:

* ``get``: a dot path read from the session view (state.json with tasks.json folded in);
* ``set``: a dot path set in one transaction (lock, read, write, fsync, rename);
* ``merge``: a deep merge of a small object into the 100 KB document, one transaction;
* ``transaction``: the read-modify-write a handler makes on a small document (a task);
* ``append``: one record appended to the 100,000-line event log;
* ``list``: the summaries of all 200 sessions (what ``session_manager list`` prints);
* ``fsync`` (a reference, not a target): one ``os.fsync`` of a 4 KB file in the same
  folder. Every committed transaction waits for two (the file and its folder), so on
  a disk shared with busy neighbours this row explains the times of the three above.

Usage::

    python bench/store.py [--runs 300] [--doc-kb 100] [--log-lines 100000] [--sessions 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Orchestra from this checkout

from _timing import percentile  # bench/ is on sys.path when run as a script

from state.eventlog import append_event
from state.paths import session_key
from state.query import deep_merge, get_path, parse_path, set_path
from state.sessions import create_session, list_sessions
from state.store import open_store
from state.view import session_view

LIMIT_MS = 10.0
DOC = "bench-doc"
LOG = "bench-log"


def _pad_state(store: Any, size: int) -> int:
    """Grow the DOC session's state.json to about ``size`` bytes with realistic agents."""
    key = session_key(DOC, "state.json")
    with store.transaction(key) as doc:
        agents = doc["active_work"]["agents"]
        i = 0
        while len(json.dumps(doc, indent=2)) < size:
            for _ in range(20):
                agents[f"agent-{i:05d}"] = {
                    "agent_id": f"agent-{i:05d}", "agent_type": "general-purpose",
                    "status": "done" if i % 3 else "busy", "task": f"review module {i}",
                    "started_at": "2026-01-01T00:00:00.000Z", "n": i}
                i += 1
    return store.size(key)


def _fill_log(path: Path, lines: int) -> int:
    base = 1_764_300_000.0
    with open(path, "ab") as fh:
        chunk = []
        for i in range(lines):
            chunk.append(json.dumps({
                "ts": base + i, "t": "2026-11-28T09:00:00.000Z",
                "event": "PreToolUse" if i % 2 else "PostToolUse", "tool": "Bash",
                "tool_use_id": f"toolu_{i:08d}",
                "summary": {"tool_input": {"command": f"pytest -q tests/test_{i % 97}.py"}},
            }, separators=(",", ":")))
            if len(chunk) == 5000:
                fh.write(("\n".join(chunk) + "\n").encode())
                chunk = []
        if chunk:
            fh.write(("\n".join(chunk) + "\n").encode())
    return path.stat().st_size


def build(root: Path, doc_kb: int, log_lines: int, sessions: int) -> dict[str, str]:
    store = open_store(root)
    # One file per log, however long (no rotation): the hardest case for appends.
    with store.transaction("config.json") as config:
        config["event_log"] = {"max_bytes": 1 << 40}
    create_session(store, project="bench", session_id=DOC)
    size = _pad_state(store, doc_kb * 1000)
    with store.transaction(session_key(DOC, "tasks.json")) as doc:
        doc["tasks"] = {str(k): {"id": str(k), "subject": f"task {k}", "status": "pending",
                                 "history": []} for k in range(20)}
    create_session(store, project="bench", session_id=LOG)
    log_size = _fill_log(store.path(session_key(LOG, "events.jsonl")), log_lines)
    for n in range(sessions - 2):
        sid = f"bench-{n:04d}"
        create_session(store, project=f"project-{n % 7}", session_id=sid)
        with store.transaction(session_key(sid, "tasks.json")) as doc:
            doc["tasks"] = {str(k): {"id": str(k), "subject": f"task {k} of {sid}",
                                     "status": "in_progress" if k == 2 else "pending",
                                     "history": []} for k in range(5)}
    return {"state.json": f"{size / 1000:.0f} KB",
            "events.jsonl": f"{log_lines} lines, {log_size / 1e6:.1f} MB",
            "sessions": str(len(store.list_children("sessions")))}


def operations(root: Path) -> dict[str, Callable[[int], Any]]:
    store = open_store(root)
    state_key = session_key(DOC, "state.json")
    epic = parse_path("active_work.current_epic")
    notes = parse_path("active_work.notes")
    record = {"ts": time.time(), "t": "2026-11-28T09:00:00.000Z", "event": "PostToolUse",
              "tool": "Bash", "tool_use_id": "toolu_bench", "duration_ms": 120,
              "summary": {"tool_input": {"command": "pytest -q", "description": "Run tests"},
                          "tool_response": {"stdout": "." * 400, "exit_code": 0}}}

    def get(i: int) -> Any:
        return get_path(session_view(store, DOC, with_metrics=False), epic)

    def set_(i: int) -> None:
        with store.transaction(state_key) as doc:
            set_path(doc, epic, f"epic-{i}")

    def merge(i: int) -> None:
        with store.transaction(state_key) as doc:
            target = doc["active_work"].setdefault("notes", {})
            deep_merge(target, {"last": i, "by": {"session": DOC, "round": i % 7}})
        assert get_path(store.read(state_key), notes)["last"] == i

    def transaction(i: int) -> None:
        with store.transaction(session_key(DOC, "tasks.json")) as doc:
            task = doc["tasks"][str(i % 20)]
            task["status"] = "in_progress" if task["status"] != "in_progress" else "completed"
            task["history"] = [*task["history"][-5:], {"status": task["status"], "at": i}]

    def append(i: int) -> None:
        append_event(store, LOG, {**record, "ts": record["ts"] + i}, max_bytes=1 << 40)

    def list_(i: int) -> int:
        return len(list_sessions(store))

    probe = root / "fsync-probe"

    def fsync(i: int) -> None:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)

    return {"get": get, "set": set_, "merge": merge, "transaction": transaction,
            "append": append, "list": list_, "fsync": fsync}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="runs of each operation")
    parser.add_argument("--doc-kb", type=int, default=100, help="state.json size (KB)")
    parser.add_argument("--log-lines", type=int, default=100_000, help="event log lines")
    parser.add_argument("--sessions", type=int, default=200, help="sessions in the root")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.sessions < 2:
        parser.error("--runs must be at least 1 and --sessions at least 2")
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        root = Path(tmp) / "home"
        os.environ["ORCHESTRA_HOME"] = str(root)  # nothing may touch the real state root
        built = build(root, args.doc_kb, args.log_lines, args.sessions)
        ops = operations(root)
        for op in ops.values():  # warm: imports, page cache
            op(0)
        times: dict[str, list[float]] = {name: [] for name in ops}
        cpu: dict[str, list[float]] = {name: [] for name in ops}
        for i in range(1, args.runs + 1):  # interleaved, so drift hits every operation alike
            for name, op in ops.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                op(i)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)

    print(f"python {sys.version.split()[0]} ({sys.executable}); "
          + ", ".join(f"{k}: {v}" for k, v in built.items()))
    print(f"{args.runs} runs of each operation, interleaved; wall-clock ms, and the CPU time "
          "of this process (the rest is waiting: disk, other processes)")
    print(f"{'operation':<13}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'cpu p50':>9}"
          f"   p99 vs {LIMIT_MS:g} ms")
    worst = 0.0
    for name, values in times.items():
        p99 = percentile(values, 0.99) * 1000
        verdict = ("(reference)" if name == "fsync"
                   else "ok" if p99 < LIMIT_MS else "OVER")
        if name != "fsync":
            worst = max(worst, p99)
        print(f"{name:<13}{percentile(values, 0.5) * 1000:>8.2f}"
              f"{percentile(values, 0.9) * 1000:>8.2f}{p99:>8.2f}{max(values) * 1000:>8.2f}"
              f"{percentile(cpu[name], 0.5) * 1000:>9.2f}   {verdict}")
    print(f"worst p99: {worst:.2f} ms (limit {LIMIT_MS:g} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
