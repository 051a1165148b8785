"""What the benchmark scripts share: timing one subprocess run, and percentiles."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def time_run(cmd: list[str], env: dict[str, str], stdin: bytes = b"") -> float:
    """Wall-clock seconds of one run of ``cmd``; stop the benchmark if it fails."""
    start = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, env=env, cwd=REPO, capture_output=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.decode()}")
    return elapsed


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
