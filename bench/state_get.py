"""Benchmark: ``state_manager get`` on a ~1 MB session state vs ``python -c pass``.

Stdlib only. Builds a session whose ``state.json`` is about 1 MB in a temporary
``ORCHESTRA_HOME``, then runs, interleaved, with the same interpreter:

* ``python -c pass`` (the floor: interpreter start-up),
* ``python -m state.state_manager get SID active_work.current_epic`` (a dot path),
* ``python -m state.state_manager get SID '$.active_work.current_epic'`` (JSONPath),

and prints the median and 90th percentile wall time of each and their ratio to
the floor. Usage::

    python bench/state_get.py [--runs 30] [--size-mb 1.0] [--jsonpath QUERY ...]

``--jsonpath`` adds a row per extra query, e.g. a filter over every agent:
``--jsonpath "$.active_work.agents[?@.status=='busy'].n"``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import REPO, p90, time_run  # bench/ is on sys.path when run as a script

SESSION_ID = "bench-session"


def build_state(home: Path, size_mb: float) -> int:
    """Write a valid session with a ~``size_mb`` MB state.json; return its size in bytes."""
    env = _env(home)
    subprocess.run(
        [sys.executable, "-m", "state.session_manager", "create", "--id", SESSION_ID,
         "--project", "bench", "--compact"],
        check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
    )
    path = home / "sessions" / SESSION_ID / "state.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["active_work"]["current_epic"] = "epic-042"
    # Many small agents: a realistic shape that costs the JSON parser real work.
    agents = doc["active_work"]["agents"]
    target = size_mb * 1_000_000
    i = 0
    while True:
        for _ in range(500):
            agents[f"agent-{i:06d}"] = {
                "agent_type": "general-purpose", "status": "idle" if i % 3 else "busy",
                "started_at": "2026-01-01T00:00:00.000Z", "notes": "x" * 40, "n": i,
            }
            i += 1
        data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
        if len(data) >= target:
            break
    path.write_bytes(data)
    return len(data)


def _env(home: Path, *, bytecode: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    env["ORCHESTRA_HOME"] = str(home)
    if bytecode:
        # Measure what an installed Orchestra costs: with cached .pyc files (kept out
        # of the checkout), even if the caller's shell sets PYTHONDONTWRITEBYTECODE.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(home / ".pycache")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env






def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (default 30)")
    parser.add_argument("--size-mb", type=float, default=1.0, help="state.json size (default 1)")
    parser.add_argument("--jsonpath", action="append", default=[], metavar="QUERY",
                        help="also time `get SID QUERY` (repeatable)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE as set (every run compiles sources)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        home = Path(tmp)
        size = build_state(home, args.size_mb)
        env = _env(home, bytecode=not args.no_bytecode)
        py = sys.executable
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "state_manager get (dot path)": [
                py, "-m", "state.state_manager", "get", SESSION_ID, "active_work.current_epic"],
            "state_manager get (JSONPath)": [
                py, "-m", "state.state_manager", "get", SESSION_ID, "$.active_work.current_epic"],
        }
        for query in args.jsonpath:
            commands[f"get {query}"] = [py, "-m", "state.state_manager", "get", SESSION_ID, query]
        for cmd in commands.values():  # warm the page cache and .pyc files
            time_run(cmd, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved, so drift hits every command alike
            for name, cmd in commands.items():
                times[name].append(time_run(cmd, env))

    print(f"python {sys.version.split()[0]} ({py})")
    print(f"state.json: {size / 1e6:.2f} MB, {args.runs} runs each, interleaved, "
          f"bytecode cache {'off' if args.no_bytecode else 'on'}")
    floor = statistics.median(times["python -c pass"])
    width = max(32, *(len(name) + 2 for name in times))
    print(f"{'command':<{width}}{'median ms':>11}{'p90 ms':>9}{'x floor':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<{width}}{median * 1000:>11.1f}{p90(values) * 1000:>9.1f}"
              f"{median / floor:>9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
