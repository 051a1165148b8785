"""Benchmark: the hot events on the file store and on PostgreSQL over loopback, side by side.

For PreToolUse Bash, PostToolUse Bash and UserPromptSubmit, two events that change a
document (PostToolUse TaskCreate, a new task each run, and Stop) and the check-and-claim
(PreToolUse Write), it times ``python -m
hooks.dispatch`` interleaved, event by event, against two state roots in the same run:
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

``--before REV`` adds a third state root on the same server that runs the dispatcher of
git revision ``REV`` (``git archive`` into a temp folder, imported through PYTHONPATH),
interleaved with the other two: the PostgreSQL path before and after a change, in one run.

By default it starts a throwaway cluster of its own (initdb into a temp folder, as the
tests do: the distribution's binaries, an unprivileged user under root) and removes it
afterwards; ``--url`` uses an existing server instead (the password from PGPASSFILE).
Needs ``pip install -e '.[postgres]'``. Usage::

    python bench/pg_dispatch.py [--runs 30] [--sync-seconds 10] [--url postgresql://...]
                                [--before main]
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
    # events that change a document (a task; the end of a turn)
    "PostToolUse TaskCreate": "PostToolUse.TaskCreate.json",
    "Stop": "Stop.json",
    "PreToolUse Write": "PreToolUse.Write.json",  # the check-and-claim (issue 22)
}
CLAIM = "PreToolUse Write"
SESSION = "bench-session"


def _payload(name: str, **changes: str) -> bytes:
    data = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    data.update({"session_id": SESSION, **changes})
    if data.get("tool_name") == "TaskCreate" and "tool_use_id" in changes:
        number = changes["tool_use_id"][-5:]  # a new task every run, so every run writes
        data["tool_input"] = {**data["tool_input"], "subject": f"Task {number}"}
        data["tool_response"] = {"task": {"id": number, "subject": f"Task {number}"}}
    return (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8")


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"ORCHESTRA_HOME": str(home), "PYTHONPYCACHEPREFIX": str(home.parent / "pyc"),
                "PYTHONPATH": str(REPO), **extra})
    return env


def _row(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"{label:<30}{statistics.median(ms):>9.1f}{p90(ms):>9.1f}"
            f"{statistics.mean(ms):>9.1f}{max(ms):>9.1f}")


def _tree(rev: str, into: Path) -> Path:
    """The files of git revision ``rev`` of this checkout, under ``into``."""
    import io
    import subprocess
    import tarfile

    data = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True,
                          check=True).stdout
    into.mkdir()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def run(runs: int, url: str, extra_env: dict[str, str], sync_seconds: float,
        before: str | None = None, claim_seconds: float = 1.0) -> int:
    dispatch = [sys.executable, "-P", "-m", "hooks.dispatch"]
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-pg-") as tmp:
        homes = {"file": Path(tmp) / "file", "postgres": Path(tmp) / "pg"}
        if before:
            homes[f"pg@{before}"] = Path(tmp) / "pg-before"
        envs: dict[str, dict[str, str]] = {}
        for backend, home in homes.items():
            home.mkdir()
            env = _env(home, extra_env)
            if backend != "file":
                schema = "bench_" + uuid.uuid4().hex[:8]
                (home / "config.json").write_text(json.dumps(
                    {"store": {"url": url, "schema": schema, "sync_seconds": sync_seconds,
                               "claim_seconds": claim_seconds}}))
            if backend.startswith("pg@") and before:
                env["PYTHONPATH"] = str(_tree(before, Path(tmp) / "before"))
            envs[backend] = env
        start = _payload("SessionStart.startup.json")
        for env in envs.values():
            time_run(dispatch, env, start)
        stdins = {event: _payload(name) for event, name in HOT.items()}
        for env in envs.values():  # warm the .pyc files and the page cache
            for stdin in stdins.values():
                time_run(dispatch, env, stdin)
        times: dict[tuple[str, str], list[float]] = {
            (e, b): [] for e in HOT for b in envs}
        connected = dict.fromkeys(envs, 0)
        for i in range(runs):
            for event, name in HOT.items():
                stdin = _payload(name, tool_use_id=f"toolu_bench{i:05d}")
                for backend, env in envs.items():
                    times[event, backend].append(time_run(dispatch, env, stdin))
                    outbox = homes[backend] / "pg" / "outbox"
                    if backend != "file" and not any(outbox.glob("*.json")):
                        connected[backend] += 1
        shipped = {b: _count_on_server(env) for b, env in envs.items() if b != "file"}
        log = homes["postgres"] / "logs" / "dispatch.log"
        fell_back = log.read_text().count("claims: PostgreSQL") if log.exists() else 0

    total = runs * len(HOT)
    print(f"python {sys.version.split()[0]}; PostgreSQL over loopback; store.sync_seconds="
          f"{sync_seconds:g}; {runs} runs per event, interleaved; ms")
    print(f"{'event / backend':<30}{'median':>9}{'p90':>9}{'mean':>9}{'max':>9}")
    every: dict[str, list[float]] = {b: [] for b in envs}
    for event in HOT:
        for backend in envs:
            every[backend] += times[event, backend]
            print(_row(f"{event} {backend}", times[event, backend]))
        print(_ratios(times[event, "postgres"], times[event, "file"], "pg/file"))
        if before:
            print(_ratios(times[event, "postgres"], times[event, f"pg@{before}"],
                          f"pg/pg@{before}"))
    print("all hot events:")
    print(_ratios(every["postgres"], every["file"], "pg/file"))
    if before:
        print(_ratios(every["postgres"], every[f"pg@{before}"], f"pg/pg@{before}"))
    expected = total + 1 + len(HOT)
    for backend, count in shipped.items():
        print(f"{backend}: hooks that connected {connected[backend]} of {total}; events on "
              f"the server after a CLI shipped the outbox {count} (expected {expected}: "
              "SessionStart, warm-up, runs)")
    claim = [t * 1000 for t in times[CLAIM, "postgres"]]
    print(f"check-and-claim on the server ({CLAIM}): median {statistics.median(claim):.1f} "
          f"ms, p90 {p90(claim):.1f}, max {max(claim):.1f}; bound store.claim_seconds "
          f"{claim_seconds:g} s (the step's wait); {fell_back} of {runs + 1} fell back to "
          "the local copy")
    return 0 if all(count == expected for count in shipped.values()) else 1


def _ratios(new: list[float], old: list[float], label: str) -> str:
    median = statistics.median(new) / statistics.median(old)
    mean = statistics.mean(new) / statistics.mean(old)
    return f"{'':<30}{label} median {median:.2f}  mean {mean:.2f}"


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
    parser.add_argument("--before", metavar="REV",
                        help="also time the PostgreSQL path of this git revision (main, a "
                             "commit), interleaved, on the same server")
    args = parser.parse_args()
    if args.url:
        return run(args.runs, args.url, {}, args.sync_seconds, args.before,
                   args.claim_seconds)
    sys.path.insert(0, str(REPO))
    from tests._postgres import Cluster

    cluster = Cluster.create()
    try:
        return run(args.runs, cluster.url, cluster.client_env(), args.sync_seconds,
                   args.before, args.claim_seconds)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    raise SystemExit(main())
