"""Benchmark: the cost of a call stays flat as the state grows.

Stdlib only. Two comparisons, each a small and a large state root timed interleaved,
with the interpreter of ``_timing.installed_python`` (a regular-install venv):

* ``--events``: PostToolUse (which appends to the event log) on a session whose
  ``events.jsonl`` holds 0 records and on one holding 100,000 (one file, rotation off:
  the hardest case). Appending is O(1), so the ratio should stay near 1.
* ``--sessions``: 1 session against 500 in the state root (all of one project, half of
  them live, with claims, tasks and messages), for the three commands that look at all
  sessions: the SessionStart dispatch (its presence summary lists the project's live
  sessions), ``session_manager list`` (the coming ``orchestra who``) and
  ``styles.render dashboard``. Each must take at most 250 ms at 500 sessions.

Usage::

    python bench/scale.py [--runs 20] [--events 100000] [--sessions 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _timing import (  # bench/ is on sys.path when run as a script
    child_env,
    installed_python,
    ms,
    p90,
    payload,
    python_line,
    time_run,
)

LIMIT_MS = 250.0
PROJECT = "bench"
SID = "bench-scale-me"


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


def events(args: argparse.Namespace, python: str, tmp: Path) -> None:
    dispatch = [python, "-P", "-m", "hooks.dispatch"]
    home = tmp / "events-home"
    home.mkdir()
    # Keep the whole history in one file (no rotation), the hardest case for a reader.
    (home / "config.json").write_text(json.dumps({"event_log": {"max_bytes": 1 << 40}}))
    env = child_env(home, tmp / "pycache")
    sessions = {"0 events": "bench-fresh-session", f"{args.events} events": "bench-full-session"}
    stdins = {label: payload("PostToolUse.Bash", session_id=sid)
              for label, sid in sessions.items()}
    for stdin in stdins.values():  # create both sessions, warm every cache
        time_run(dispatch, env, stdin, tmp)
    full = home / "sessions" / sessions[f"{args.events} events"] / "events.jsonl"
    size = _fill_event_log(full, args.events, sessions[f"{args.events} events"])
    fresh = home / "sessions" / sessions["0 events"] / "events.jsonl"
    times: dict[str, list[float]] = {label: [] for label in sessions}
    for _ in range(args.runs):
        for label, stdin in stdins.items():
            fresh.write_bytes(b"")  # the small one stays empty
            time_run(dispatch, env, stdin, tmp)  # untimed: the append before the timed one
            times[label].append(time_run(dispatch, env, stdin, tmp))
    small, large = times["0 events"], times[f"{args.events} events"]
    print(f"\nPostToolUse Bash through the registered command; the large log: "
          f"{args.events} records, {size / 1e6:.1f} MB in one file")
    print(f"{'session':<22}{'ms (median / p90)':>20}")
    for label, values in times.items():
        print(f"{label:<22}{ms(values):>20}")
    print(f"large/small: {statistics.median(large) / statistics.median(small):.2f} (median), "
          f"{p90(large) / p90(small):.2f} (p90)")


def _populate(python: str, home: Path, count: int) -> None:
    """``count`` sessions of one project, half live; tasks, agents, claims, messages."""
    code = r"""
import json, sys, time
from state.store import open_store
from state.sessions import create_session, heartbeat
from state.paths import session_key
from state.claims import record_claim
from state.messages import send_message
store = open_store(sys.argv[1])
count, project, me = int(sys.argv[2]), sys.argv[3], sys.argv[4]
now = time.time()
for n in range(count):
    sid = me if n == 0 else f"bench-peer-{n:04d}"
    create_session(store, project=project, session_id=sid)
    heartbeat(store, sid, event="PostToolUse", tool="Bash",
              at=now - (30 if n % 2 == 0 else 7200))  # half live, half stale
    with store.transaction(session_key(sid, "tasks.json")) as doc:
        doc["tasks"] = {str(k): {"id": str(k), "subject": f"task {k} of {sid}",
                                 "status": "in_progress" if k == 1 else "pending",
                                 "history": []} for k in range(4)}
    with store.transaction(session_key(sid, "state.json")) as doc:
        doc["active_work"]["agents"]["a1"] = {"agent_type": "general-purpose",
                                              "status": "busy", "task": "review"}
    if n % 5 == 0:
        record_claim(store, project, sid, f"/work/{project}/src/file{n}.py", tool="Edit")
    if n % 10 == 0:
        send_message(store, text=f"hello from {sid}", sender=sid, to_project=project)
"""
    subprocess.run([python, "-c", code, str(home), str(count), PROJECT, SID], check=True,
                   cwd=home.parent, env=child_env(home, home.parent / "pycache"))


def sessions(args: argparse.Namespace, python: str, tmp: Path) -> None:
    homes = {}
    for count in (1, args.sessions):
        home = tmp / f"home-{count}"
        _populate(python, home, count)
        homes[count] = home
    commands = {
        "SessionStart (presence)": ([python, "-P", "-m", "hooks.dispatch"],
                                    payload("SessionStart.startup", session_id=SID,
                                            cwd=f"/work/{PROJECT}")),
        "session_manager list": ([python, "-m", "state.session_manager", "list"], b""),
        "dashboard": ([python, "-m", "styles.render", "dashboard", "--project", PROJECT], b""),
    }
    envs = {count: child_env(home, tmp / "pycache") for count, home in homes.items()}
    for env in envs.values():
        for cmd, stdin in commands.values():
            time_run(cmd, env, stdin, tmp)
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.runs):
        for name, (cmd, stdin) in commands.items():
            for count, env in envs.items():
                times.setdefault((name, count), []).append(time_run(cmd, env, stdin, tmp))
    print(f"\n1 vs {args.sessions} sessions in the state root (one project, half live); "
          f"limit {LIMIT_MS:g} ms at {args.sessions}")
    print(f"{'command':<26}{'1 session':>18}{f'{args.sessions} sessions':>18}{'ratio':>8}")
    for name in commands:
        one, many = times[name, 1], times[name, args.sessions]
        verdict = "ok" if max(statistics.median(many), p90(many)) * 1000 <= LIMIT_MS else "OVER"
        print(f"{name:<26}{ms(one):>18}{ms(many):>18}"
              f"{statistics.median(many) / statistics.median(one):>8.2f}  {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command")
    parser.add_argument("--events", type=int, default=100_000,
                        help="records in the large event log (0: skip this comparison)")
    parser.add_argument("--sessions", type=int, default=500,
                        help="sessions in the large state root (0: skip this comparison)")
    parser.add_argument("--python", metavar="PYTHON",
                        help="an interpreter Orchestra is installed in, used as it is")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp_name:
        tmp = Path(tmp_name)
        python = args.python or installed_python(tmp / "venv")
        print(python_line(python))
        print(f"{args.runs} runs of each command, interleaved; ms as median / p90")
        if args.events:
            events(args, python, tmp)
        if args.sessions > 1:
            sessions(args, python, tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
