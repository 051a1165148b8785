"""Benchmark: ``state_manager get`` and ``set`` on a ~1 MB session state vs ``python -c pass``.

Stdlib only. Builds a session whose ``state.json`` is about 1 MB in a temporary
``ORCHESTRA_HOME``, then runs, interleaved, with the interpreter of a regular-install
venv (``_timing.installed_python``; ``--python`` to use another):

* ``python -c pass`` (the floor: interpreter start-up),
* ``get`` of a dot path (``active_work.current_epic``) and of the same as JSONPath,
* ``set`` of that dot path (a new value each run, so every run writes),

each as ``python -m state.state_manager ...`` and through the ``state-manager`` console
script (what an installed Orchestra puts on PATH: no ``runpy``), and prints the median
and 90th percentile wall time of each and their ratio to the floor (issue 13: dot path
at most 2.5x, JSONPath at most 3.5x). Usage::

    python bench/state_get.py [--runs 30] [--size-mb 1.0] [--no-bytecode] [--jsonpath QUERY ...]

``--jsonpath`` adds a row per extra query, e.g. a filter over every agent:
``--jsonpath "$.active_work.agents[?@.status=='busy'].n"``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from _timing import (  # bench/ is on sys.path when run as a script
    child_env,
    installed_python,
    p90,
    python_line,
    script,
    time_run,
)

SESSION_ID = "bench-session"
LIMITS = {"get (dot path)": 2.5, "set (dot path)": 2.5, "get (JSONPath)": 3.5}


def build_state(python: str, home: Path, pycache: Path, size_mb: float) -> int:
    """Write a valid session with a ~``size_mb`` MB state.json; return its size in bytes."""
    subprocess.run(
        [python, "-m", "state.session_manager", "create", "--id", SESSION_ID,
         "--project", "bench", "--compact"],
        check=True, env=child_env(home, pycache), cwd=home.parent, stdout=subprocess.DEVNULL,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (default 30)")
    parser.add_argument("--size-mb", type=float, default=1.0, help="state.json size (default 1)")
    parser.add_argument("--python", metavar="PYTHON",
                        help="an interpreter Orchestra is installed in, used as it is")
    parser.add_argument("--jsonpath", action="append", default=[], metavar="QUERY",
                        help="also time `get SID QUERY` (repeatable)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="set PYTHONDONTWRITEBYTECODE (every run compiles the sources)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp_name:
        tmp = Path(tmp_name)
        python = args.python or installed_python(tmp / "venv")
        home, pycache = tmp / "home", tmp / "pycache"
        size = build_state(python, home, pycache, args.size_mb)
        env = child_env(home, pycache)
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        module = [python, "-m", "state.state_manager"]
        console = [script(python, "state-manager")]
        get = ["get", SESSION_ID, "active_work.current_epic"]
        jsonpath = ["get", SESSION_ID, "$.active_work.current_epic"]
        commands = {
            "python -c pass": lambda i: [python, "-c", "pass"],
            "get (dot path)": lambda i: [*module, *get],
            "get (dot path) script": lambda i: [*console, *get],
            "get (JSONPath)": lambda i: [*module, *jsonpath],
            "get (JSONPath) script": lambda i: [*console, *jsonpath],
            "set (dot path)": lambda i: [*module, "set", SESSION_ID, "active_work.current_epic",
                                         f"epic-m{i}"],
            "set (dot path) script": lambda i: [*console, "set", SESSION_ID,
                                                "active_work.current_epic", f"epic-s{i}"],
        }
        for query in args.jsonpath:
            commands[f"get {query}"] = lambda i, q=query: [*module, "get", SESSION_ID, q]
        for make in commands.values():  # warm the page cache and .pyc files
            time_run(make(0), env, cwd=tmp)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(1, args.runs + 1):  # interleaved, so drift hits every command alike
            for name, make in commands.items():
                times[name].append(time_run(make(i), env, cwd=tmp))

    print(python_line(python))
    print(f"state.json: {size / 1e6:.2f} MB, {args.runs} runs each, interleaved, "
          f"bytecode cache {'off' if args.no_bytecode else 'on'}; 'script' = the "
          "state-manager console script, else python -m state.state_manager")
    floor = statistics.median(times["python -c pass"])
    floor90 = p90(times["python -c pass"])
    width = max(26, *(len(name) + 2 for name in times))
    print(f"{'command':<{width}}{'median ms':>11}{'p90 ms':>9}{'x floor':>9}{'(p90)':>7}"
          f"{'limit':>7}")
    for name, values in times.items():
        median = statistics.median(values)
        limit = LIMITS.get(name.removesuffix(" script"))
        verdict = "" if limit is None else f"{limit:>7.1f}" + (
            "  OVER" if median / floor > limit else "")
        print(f"{name:<{width}}{median * 1000:>11.1f}{p90(values) * 1000:>9.1f}"
              f"{median / floor:>9.2f}{p90(values) / floor90:>7.2f}{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
