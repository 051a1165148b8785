"""Benchmark: ``state_manager get`` and ``set`` on a ~1 MB session state vs ``python -c pass``.

Stdlib only. Builds a session whose ``state.json`` is about 1 MB in a temporary
``ORCHESTRA_HOME``, then runs, interleaved, with the interpreter of a regular-install
venv (``_timing.installed_python``; ``--python`` to use another):

* ``python -c pass`` (the floor: interpreter start-up),
* ``get`` of a dot path (``active_work.current_epic``) and of the same as JSONPath (a
  singular query: Orchestra looks it up without jsonpath-ng), of a JSONPath that is
  not singular (``$.active_work['current_epic','current_sprint']``: jsonpath-ng runs it),
  and of a filter over every agent (``$.active_work.agents[?@.status=='busy'].n``: the
  whole megabyte is parsed and filtered; shown, not held to a limit: see bench/README),
* ``set`` of that dot path (a new value each run, so every run writes),
* two references in bare Python, no Orchestra: reading and parsing the same 1 MB file,
  and that plus the least a write can do (change one value, encode compactly with the
  C encoder, write a temp file, fsync, rename, fsync the folder) — the floor of any
  ``get`` and ``set`` of a 1 MB document in a new process,

each as ``python -m state.state_manager ...`` and through the ``state-manager`` console
script (what an installed Orchestra puts on PATH: no ``runpy``), and prints the median
and 90th percentile wall time of each and their ratio to the floor (issue 13: dot path
at most 2.5x, JSONPath at most 3.5x). Usage::

    python bench/state_get.py [--runs 30] [--size-mb 1.0] [--no-bytecode] [--jsonpath QUERY ...]
    python bench/state_get.py --before /path/to/older/checkout

``--jsonpath`` adds a row per extra query, e.g. a descendant segment:
``--jsonpath "$..notes"``. ``--before`` times every
command with another checkout of Orchestra too (its own installed-like venv, same state
root), interleaved in the same run, and adds its ratio to the floor as a column.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable
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

#: The references: bare Python reading (and rewriting, durably) a copy of the state.
READ_1MB = """import gc, json, sys
gc.disable()
with open(sys.argv[1], "rb") as fh:
    doc = json.loads(fh.read())
print(json.dumps(doc["active_work"]["current_epic"]))
"""
REWRITE_1MB = READ_1MB + """import os
doc["active_work"]["current_epic"] = sys.argv[2]
doc["version"] = doc.get("version", 0) + 1
data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
fd = os.open(sys.argv[1] + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, data)
os.fsync(fd)
os.close(fd)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
fd = os.open(os.path.dirname(sys.argv[1]), os.O_RDONLY)
os.fsync(fd)
os.close(fd)
"""
LIMITS = {"get (dot path)": 2.5, "set (dot path)": 2.5, "get (JSONPath)": 3.5,
          "get (JSONPath, not singular)": 3.5}


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
    parser.add_argument("--before", metavar="CHECKOUT", type=Path,
                        help="also time another checkout of Orchestra (a 'before' column)")
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
        commands = _commands(python, args.jsonpath, "")
        copy = tmp / "reference" / "state.json"
        copy.parent.mkdir()
        copy.write_bytes((home / "sessions" / SESSION_ID / "state.json").read_bytes())
        commands["reference: read 1 MB"] = lambda i: [python, "-c", READ_1MB, str(copy)]
        commands["reference: rewrite 1 MB"] = lambda i: [python, "-c", REWRITE_1MB, str(copy),
                                                         f"epic-r{i}"]
        envs = dict.fromkeys(commands, env)
        if args.before is not None:
            # Its own copy of the state root: its writes must not undo this checkout's
            # (a write by another version leaves no stamp for the in-place get and set).
            older = _installed_elsewhere(tmp / "venv-before", args.before.resolve())
            shutil.copytree(home, tmp / "home-before")
            other = child_env(tmp / "home-before", pycache)
            if args.no_bytecode:
                other["PYTHONDONTWRITEBYTECODE"] = "1"
            made = _commands(older, [], "b")  # its own floor too: the same python
            commands.update(made)
            envs.update(dict.fromkeys(made, other))
        for name, make in commands.items():  # warm the page cache and .pyc files
            time_run(make(0), envs[name], cwd=tmp)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(1, args.runs + 1):  # interleaved, so drift hits every command alike
            for name, make in commands.items():
                times[name].append(time_run(make(i), envs[name], cwd=tmp))

    print(python_line(python))
    print(f"state.json: {size / 1e6:.2f} MB, {args.runs} runs each, interleaved, "
          f"bytecode cache {'off' if args.no_bytecode else 'on'}; 'script' = the "
          "state-manager console script, else python -m state.state_manager")
    floor = statistics.median(times["python -c pass"])
    floor90 = p90(times["python -c pass"])
    rows = [name for name in times if not name.startswith("before: ")]
    width = max(26, *(len(name) + 2 for name in rows))
    before = " before: median/p90 ms, x floor" if args.before is not None else ""
    print(f"{'command':<{width}}{'median ms':>11}{'p90 ms':>9}{'x floor':>9}{'(p90)':>7}"
          f"{'limit':>7}      {before}")
    for name in rows:
        values = times[name]
        median = statistics.median(values)
        limit = LIMITS.get(name.removesuffix(" script"))
        verdict = "" if limit is None else f"{limit:>7.1f}" + (
            "  OVER" if median / floor > limit else "      ")
        old = times.get("before: " + name)
        then = "" if not old else (
            f"  {statistics.median(old) * 1000:6.1f} /{p90(old) * 1000:6.1f}"
            f"  {statistics.median(old) / floor:5.2f} ({p90(old) / floor90:.2f})")
        print(f"{name:<{width}}{median * 1000:>11.1f}{p90(values) * 1000:>9.1f}"
              f"{median / floor:>9.2f}{p90(values) / floor90:>7.2f}{verdict:<13}{then}")
    return 0


def _commands(python: str, extra: list[str], tag: str) -> dict[str, Callable[[int], list[str]]]:
    """The timed commands (by row name) for the interpreter ``python``; ``tag`` keeps the
    values that ``set`` writes apart from another interpreter's."""
    module = [python, "-m", "state.state_manager"]
    console = [script(python, "state-manager")]
    get = ["get", SESSION_ID, "active_work.current_epic"]
    jsonpath = ["get", SESSION_ID, "$.active_work.current_epic"]
    several = ["get", SESSION_ID, "$.active_work['current_epic','current_sprint']"]
    everyone = ["get", SESSION_ID, "$.active_work.agents[?@.status=='busy'].n"]
    commands: dict[str, Callable[[int], list[str]]] = {
        "python -c pass": lambda i: [python, "-c", "pass"],
        "get (dot path)": lambda i: [*module, *get],
        "get (dot path) script": lambda i: [*console, *get],
        "get (JSONPath)": lambda i: [*module, *jsonpath],
        "get (JSONPath) script": lambda i: [*console, *jsonpath],
        "get (JSONPath, not singular)": lambda i: [*module, *several],
        "get (JSONPath filter, 5,000 agents)": lambda i: [*module, *everyone],
        "set (dot path)": lambda i: [*module, "set", SESSION_ID, "active_work.current_epic",
                                     f"epic-m{tag}{i}"],
        "set (dot path) script": lambda i: [*console, "set", SESSION_ID,
                                            "active_work.current_epic", f"epic-s{tag}{i}"],
    }
    for query in extra:
        commands[f"get {query}"] = lambda i, q=query: [*module, "get", SESSION_ID, q]
    if tag:
        commands = {f"before: {name}": make for name, make in commands.items()}
    return commands


def _installed_elsewhere(folder: Path, checkout: Path) -> str:
    """An installed-like interpreter (see ``installed_python``) that sees ``checkout``
    instead of this one."""
    if not (checkout / "state" / "state_manager.py").is_file():
        raise SystemExit(f"--before: {checkout} is not a checkout of Orchestra")
    python = installed_python(folder)
    (pth,) = folder.rglob("orchestra-bench.pth")
    lines = pth.read_text(encoding="utf-8").splitlines()
    pth.write_text("\n".join([str(checkout), *lines[1:]]) + "\n", encoding="utf-8")
    return python


if __name__ == "__main__":
    raise SystemExit(main())
