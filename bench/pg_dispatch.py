"""Benchmark: the hot events on the file store and on PostgreSQL over loopback, side by side.

For PreToolUse Bash, PostToolUse Bash, UserPromptSubmit and PreToolUse Write it times
``python -m hooks.dispatch`` interleaved, event by event, against two state roots in the
same run:
one on the default file store, one whose ``config.json`` points at a PostgreSQL server on
127.0.0.1 (``store.sync_seconds`` as configured, default 10). Both sessions are started
first (SessionStart connects on PostgreSQL). It prints median, p90, mean and max per
event and backend, the ratios PostgreSQL/file, how many PostgreSQL hooks connected (an
empty outbox after a hook means it connected and shipped), and checks at the end that the
server holds every event exactly once.

PreToolUse Write is the check-and-claim (issue 22): on PostgreSQL it always goes to the
server — one transaction under an advisory lock, psycopg imported and a connection opened
by every such hook — and has its own bound, ``store.claim_seconds`` (default 1 s): past
it the hook decides on the local copy and says so. The script prints that path's times
against the bound and how many hooks fell back (their note in ``logs/dispatch.log``).

By default it starts a throwaway cluster of its own (initdb into a temp folder, as the
tests do: the distribution's binaries, an unprivileged user under root) and removes it
afterwards; ``--url`` uses an existing server instead (the password from PGPASSFILE).
Needs ``pip install -e '.[postgres]'``. Usage::

    python bench/pg_dispatch.py [--runs 30] [--sync-seconds 10] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from _timing import REPO, p90, time_run  # bench/ is on sys.path when run as a script

PAYLOADS = REPO / "tests" / "payloads"
HOT = {
    "PreToolUse Bash": "PreToolUse.Bash.json",
    "PostToolUse Bash": "PostToolUse.Bash.json",
    "UserPromptSubmit": "UserPromptSubmit.json",
    "PreToolUse Write": "PreToolUse.Write.json",  # the check-and-claim
}
CLAIM = "PreToolUse Write"
SESSION = "bench-session"


def _payload(name: str, **changes: str) -> bytes:
    data = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    data.update({"session_id": SESSION, **changes})
    return (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8")


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"ORCHESTRA_HOME": str(home), "PYTHONPYCACHEPREFIX": str(home.parent / "pyc"),
                "PYTHONPATH": str(REPO), **extra})
    return env


def _row(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"{label:<26}{statistics.median(ms):>9.1f}{p90(ms):>9.1f}"
            f"{statistics.mean(ms):>9.1f}{max(ms):>9.1f}")


def run(runs: int, url: str, extra_env: dict[str, str], sync_seconds: float,
        claim_seconds: float) -> int:
    dispatch = [sys.executable, "-P", "-m", "hooks.dispatch"]
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-pg-") as tmp:
        file_home, pg_home = Path(tmp) / "file", Path(tmp) / "pg"
        file_home.mkdir()
        pg_home.mkdir()
        schema = "bench_" + uuid.uuid4().hex[:8]
        (pg_home / "config.json").write_text(json.dumps(
            {"store": {"url": url, "schema": schema, "sync_seconds": sync_seconds,
                       "claim_seconds": claim_seconds}}))
        envs = {"file": _env(file_home, extra_env), "postgres": _env(pg_home, extra_env)}
        start = _payload("SessionStart.startup.json")
        for env in envs.values():
            time_run(dispatch, env, start)
        stdins = {event: _payload(name) for event, name in HOT.items()}
        for env in envs.values():  # warm the .pyc files and the page cache
            for stdin in stdins.values():
                time_run(dispatch, env, stdin)
        times: dict[tuple[str, str], list[float]] = {
            (e, b): [] for e in HOT for b in envs}
        connected = 0
        outbox = pg_home / "pg" / "outbox"
        for i in range(runs):
            for event, name in HOT.items():
                stdin = _payload(name, tool_use_id=f"toolu_bench{i:05d}")
                for backend, env in envs.items():
                    times[event, backend].append(time_run(dispatch, env, stdin))
                    if backend == "postgres" and not any(outbox.glob("*.json")):
                        connected += 1
        shipped = _count_on_server(envs["postgres"])
        log = pg_home / "logs" / "dispatch.log"
        fell_back = log.read_text().count("claims: PostgreSQL") if log.exists() else 0

    total = runs * len(HOT)
    print(f"python {sys.version.split()[0]}; PostgreSQL over loopback; store.sync_seconds="
          f"{sync_seconds:g}; {runs} runs per event, interleaved; ms")
    print(f"{'event / backend':<26}{'median':>9}{'p90':>9}{'mean':>9}{'max':>9}")
    all_file: list[float] = []
    all_pg: list[float] = []
    for event in HOT:
        file_times, pg_times = times[event, "file"], times[event, "postgres"]
        all_file += file_times
        all_pg += pg_times
        print(_row(f"{event} file", file_times))
        print(_row(f"{event} postgres", pg_times))
        median = statistics.median(pg_times) / statistics.median(file_times)
        mean = statistics.mean(pg_times) / statistics.mean(file_times)
        print(f"{'':<26}pg/file median {median:.2f}  mean {mean:.2f}")
    print(f"all hot events: pg/file median "
          f"{statistics.median(all_pg) / statistics.median(all_file):.2f}, mean "
          f"{statistics.mean(all_pg) / statistics.mean(all_file):.2f}")
    print(f"PostgreSQL hooks that connected: {connected} of {total}")
    claim = [t * 1000 for t in times[CLAIM, "postgres"]]
    print(f"check-and-claim on the server ({CLAIM}): median {statistics.median(claim):.1f} "
          f"ms, p90 {p90(claim):.1f}, max {max(claim):.1f}; bound store.claim_seconds "
          f"{claim_seconds:g} s (the step's wait); {fell_back} of {runs + 1} fell back to "
          "the local copy")
    print(f"events on the server after a CLI shipped the outbox: {shipped} "
          f"(expected {total + 1 + len(HOT)}: SessionStart, warm-up, runs)")
    return 0 if shipped == total + 1 + len(HOT) else 1


def _count_on_server(env: dict[str, str]) -> int:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "state.state_manager", "events", SESSION],
                          env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return len(done.stdout.splitlines())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sync-seconds", type=float, default=10.0,
                        help="store.sync_seconds of the PostgreSQL machine (0: hooks that "
                             "read always connect)")
    parser.add_argument("--claim-seconds", type=float, default=1.0,
                        help="store.claim_seconds: the check-and-claim's bound (default 1)")
    parser.add_argument("--url", help="an existing server (default: a throwaway cluster)")
    args = parser.parse_args()
    if args.url:
        return run(args.runs, args.url, {}, args.sync_seconds, args.claim_seconds)
    sys.path.insert(0, str(REPO))
    from tests._postgres import Cluster

    cluster = Cluster.create()
    try:
        return run(args.runs, cluster.url, cluster.client_env(), args.sync_seconds,
                   args.claim_seconds)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    raise SystemExit(main())
