"""Parallel hooks of one session lose no event and no count (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from state.metrics import session_metrics
from state.store import open_store
from tests.handlers._support import SESSION, payload

WORKER = """
import io, json, sys
from hooks.dispatch import main
events = json.loads(sys.stdin.read())
failures = 0
for event in events:
    out = io.StringIO()
    code = main([], stdin=io.BytesIO(json.dumps(event).encode()), stdout=out, stderr=sys.stderr)
    failures += code != 0
print(failures)
"""


def test_sixteen_processes_fifty_events_each(tmp_path: Path) -> None:
    home = tmp_path / "orchestra"
    env = {**os.environ, "ORCHESTRA_HOME": str(home)}
    start = payload("SessionStart.startup")
    subprocess.run([sys.executable, "-P", "-m", "hooks.dispatch"], input=json.dumps(start).encode(),
                   env=env, check=True, timeout=60, capture_output=True)

    def worker(n: int) -> int:
        events = [payload("PostToolUse.Bash", tool_use_id=f"toolu_{n}_{i}") for i in range(50)]
        done = subprocess.run([sys.executable, "-P", "-c", WORKER], input=json.dumps(events),
                              capture_output=True, text=True, env=env, timeout=300, check=True)
        return int(done.stdout.strip())

    with ThreadPoolExecutor(max_workers=16) as pool:
        failures = sum(pool.map(worker, range(16)))
    assert failures == 0

    store = open_store(home)
    log = list(store.read_log(f"sessions/{SESSION}/events.jsonl"))
    ids = [r["tool_use_id"] for r in log if r["event"] == "PostToolUse"]
    assert len(ids) == 800 and len(set(ids)) == 800
    metrics = session_metrics(store, SESSION)
    assert metrics["tool_calls"] == 800
    assert metrics["tools"]["Bash"]["calls"] == 800
    assert metrics["events"] == 801
    print(f"16 processes x 50 PostToolUse: {len(ids)} events logged, {failures} failures")
