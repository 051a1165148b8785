"""Benchmark: ``python -m hooks.dispatch`` per event type vs bare Python and the floor.

Stdlib only. For each event type (PreToolUse Bash, PostToolUse Bash, UserPromptSubmit,
SessionStart, Stop; payloads from ``tests/payloads``) it times, interleaved round by round
and with the same interpreter (``sys.executable``):

* ``python -c pass`` — interpreter start-up;
* ``python -c "import json, pluggy"`` — the floor the dispatcher is held to;
* ``python -m hooks.dispatch < payload`` — all built-in handlers on, in a fresh temporary
  ``ORCHESTRA_HOME`` whose dispatch-table cache is warmed first;

and prints the median and 90th percentile of each and the ratios dispatcher/floor and
dispatcher/bare. ``--events-preloaded N`` instead fills one session's event log with N
records (written directly as JSONL) and compares PostToolUse on that session with
PostToolUse on a fresh one: the event log is append-only, so the ratio should stay
near 1. ``--importtime`` prints where one warm PreToolUse dispatch spends its import
time. Usage::

    python bench/dispatch.py [--runs 30]
    python bench/dispatch.py --events-preloaded 100000 [--runs 30]
    python bench/dispatch.py --importtime
    python bench/dispatch.py --peer-python /path/to/venv-with-cchooks/bin/python

``--peer-python`` adds a column for a peer measured in the same run: cchooks (``pip install
cchooks`` into that interpreter's environment) parsing the same payload and replying
success — no state, no plugins — with ratios dispatcher/peer.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import REPO, p90, time_run  # bench/ is on sys.path when run as a script

PAYLOADS = REPO / "tests" / "payloads"
EVENTS = {
    "PreToolUse Bash": "PreToolUse.Bash.json",
    "PostToolUse Bash": "PostToolUse.Bash.json",
    "UserPromptSubmit": "UserPromptSubmit.json",
    "SessionStart": "SessionStart.startup.json",
    "Stop": "Stop.json",
}
BARE = "python -c pass"
FLOOR = 'python -c "import json, pluggy"'
DISPATCH = "python -P -m hooks.dispatch"
PEER = "cchooks (peer)"
PEER_SCRIPT = "from cchooks import create_context; create_context().output.exit_success()"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    env["ORCHESTRA_HOME"] = str(home)
    # Measure an installed Orchestra: compiled bytecode (kept out of the checkout), even if
    # the caller's shell sets PYTHONDONTWRITEBYTECODE.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home.parent / "pycache")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env






def _payload(name: str, **changes: str) -> bytes:
    data = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    data.update(changes)
    return (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8")


def _commands(peer_python: str | None = None) -> dict[str, list[str]]:
    py = sys.executable
    commands = {BARE: [py, "-c", "pass"], FLOOR: [py, "-c", "import json, pluggy"],
                DISPATCH: [py, "-P", "-m", "hooks.dispatch"]}
    if peer_python:
        commands[PEER] = [peer_python, "-c", PEER_SCRIPT]
    return commands


def per_event(runs: int, peer_python: str | None = None) -> int:
    commands = _commands(peer_python)
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = _env(home)
        stdins = {event: _payload(name) for event, name in EVENTS.items()}
        for stdin in stdins.values():  # warm .pyc files, the page cache and the dispatch cache
            for cmd in commands.values():
                time_run(cmd, env, stdin)
        times: dict[tuple[str, str], list[float]] = {(e, c): [] for e in EVENTS for c in commands}
        for _ in range(runs):  # interleaved, so drift hits every command alike
            for event, stdin in stdins.items():
                for name, cmd in commands.items():
                    times[event, name].append(time_run(cmd, env, stdin))

    print(f"python {sys.version.split()[0]} ({sys.executable})")
    print(f"{runs} runs of each command per event, interleaved; ms (median / p90)")
    header = (f"{'event':<18}{BARE:>17}{FLOOR:>34}{DISPATCH:>26}"
              f"{'disp/floor':>12}{'disp/bare':>11}")
    print(header)
    for event in EVENTS:
        cells = []
        for name in commands:
            values = times[event, name]
            cells.append(f"{statistics.median(values) * 1000:6.1f} / {p90(values) * 1000:6.1f}")
        floor = statistics.median(times[event, FLOOR])
        bare = statistics.median(times[event, BARE])
        dispatch = statistics.median(times[event, DISPATCH])
        line = (f"{event:<18}{cells[0]:>17}{cells[1]:>34}{cells[2]:>26}"
                f"{dispatch / floor:>12.2f}{dispatch / bare:>11.2f}")
        if peer_python:
            peer = statistics.median(times[event, PEER])
            line += f"   peer {cells[3]}  disp/peer {dispatch / peer:.2f}"
        print(line)
    return 0


def _fill_event_log(path: Path, count: int, session: str) -> int:
    """Append ``count`` realistic event-log records to ``path``; return the file size."""
    base = 1_764_300_000.0
    tools = ("Bash", "Read", "Edit", "Write", "Grep")
    with open(path, "ab") as fh:
        chunk = []
        for i in range(count):
            ts = base + i * 0.5
            event = "PreToolUse" if i % 2 == 0 else "PostToolUse"
            record = {
                "ts": round(ts, 6),
                "t": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".000Z",
                "event": event, "tool": tools[i % len(tools)],
                "tool_use_id": f"toolu_{session[:8]}{i:08d}",
                "summary": {"tool_input": {"command": f"pytest -q tests/test_{i % 97}.py",
                                           "description": "Run the tests"}},
            }
            if event == "PostToolUse":
                record["duration_ms"] = 40 + i % 300
            chunk.append(json.dumps(record, separators=(",", ":")))
            if len(chunk) == 5000:
                fh.write(("\n".join(chunk) + "\n").encode("utf-8"))
                chunk = []
        if chunk:
            fh.write(("\n".join(chunk) + "\n").encode("utf-8"))
    return path.stat().st_size


def events_preloaded(runs: int, count: int) -> int:
    dispatch = _commands()[DISPATCH]
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        # Keep the whole history in one file (no rotation), the hardest case for a reader.
        (home / "config.json").write_text(json.dumps({"event_log": {"max_bytes": 1 << 40}}))
        env = _env(home)
        sessions = {"preloaded": "bench-preloaded-session", "fresh": "bench-fresh-session"}
        stdins = {label: _payload("PostToolUse.Bash.json", session_id=sid)
                  for label, sid in sessions.items()}
        for stdin in stdins.values():  # create both sessions, warm every cache
            time_run(dispatch, env, stdin)
        log = home / "sessions" / sessions["preloaded"] / "events.jsonl"
        size = _fill_event_log(log, count, sessions["preloaded"])
        for stdin in stdins.values():
            time_run(dispatch, env, stdin)
        times: dict[str, list[float]] = {label: [] for label in sessions}
        for _ in range(runs):
            for label, stdin in stdins.items():
                times[label].append(time_run(dispatch, env, stdin))
        with open(log, "rb") as fh:
            lines = sum(1 for _ in fh)

    print(f"python {sys.version.split()[0]} ({sys.executable})")
    print(f"PostToolUse Bash, {runs} runs each, interleaved; the preloaded session's "
          f"events.jsonl: {lines} lines, {size / 1e6:.1f} MB (one file, no rotation)")
    print(f"{'session':<12}{'median ms':>11}{'p90 ms':>9}")
    for label, values in times.items():
        print(f"{label:<12}{statistics.median(values) * 1000:>11.1f}{p90(values) * 1000:>9.1f}")
    ratio = statistics.median(times["preloaded"]) / statistics.median(times["fresh"])
    print(f"preloaded/fresh: {ratio:.2f}")
    return 0


def importtime(top: int = 25) -> int:
    dispatch = _commands()[DISPATCH]
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = _env(home)
        stdin = _payload(EVENTS["PreToolUse Bash"])
        for _ in range(2):
            time_run(dispatch, env, stdin)
        done = subprocess.run([sys.executable, "-X", "importtime", *dispatch[1:]], input=stdin,
                              env=env, cwd=REPO, capture_output=True, check=True)
    rows = []
    for line in done.stderr.decode().splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4]))
    total = sum(r[0] for r in rows)
    print(f"warm PreToolUse dispatch: {len(rows)} modules imported, {total / 1000:.1f} ms of "
          "import time in all (self times added up)")
    print(f"{'self ms':>8}{'cumul ms':>10}  module (top {top} by self time)")
    for self_us, cumulative, _, name in sorted(rows, reverse=True)[:top]:
        print(f"{self_us / 1000:>8.2f}{cumulative / 1000:>10.2f}  {name}")
    print(f"\n{'cumul ms':>8}  top-level imports (depth 0) by cumulative time")
    for _, cumulative, depth, name in sorted(rows, key=lambda r: -r[1]):
        if depth == 0 and cumulative >= 500:
            print(f"{cumulative / 1000:>8.2f}  {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (default 30)")
    parser.add_argument("--events-preloaded", type=int, metavar="N",
                        help="compare PostToolUse on a session with N logged events vs a fresh "
                             "one")
    parser.add_argument("--importtime", action="store_true",
                        help="show the import cost of one warm PreToolUse dispatch")
    parser.add_argument("--peer-python", metavar="PYTHON",
                        help="also time cchooks (installed for PYTHON) on the same payloads")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.importtime:
        return importtime()
    if args.events_preloaded is not None:
        return events_preloaded(args.runs, args.events_preloaded)
    return per_event(args.runs, args.peer_python)


if __name__ == "__main__":
    raise SystemExit(main())
