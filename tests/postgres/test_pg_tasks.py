"""Project tasks on PostgreSQL: taking work is atomic across machines (issue 24).

Two state roots on one server stand in for two machines; workers on both call
``orchestra task next`` as processes at once. Every task is taken exactly once, and the
plan (on the server) agrees with what each worker was told. Assignment to a tool checks
its capacity across machines too; a machine whose server is away takes no work (it must
not decide alone), while reading its tasks still works.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.postgres.conftest import REPO, Machine

PROJECT = "shop"
TASKS = 30

WORKER = r"""
import io, json
from orchestra.cli import main
taken = []
while True:
    out, err = io.StringIO(), io.StringIO()
    code = main(["task", "next"], stdout=out, stderr=err)
    if code == 3:
        break
    assert code == 0, (code, err.getvalue())
    taken.append(json.loads(out.getvalue())["id"])
print(json.dumps(taken))
"""


def orchestra(machine: Machine, *argv: str, session: str | None = None,
              check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(machine.env)
    if session:
        env["ORCHESTRA_SESSION_ID"] = session
    done = subprocess.run([sys.executable, "-m", "orchestra", *argv], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert done.returncode == 0, (argv, done.stderr)
    return done


def test_task_next_on_two_machines_takes_every_task_once(
        make_machine: Callable[..., Machine]) -> None:
    # 8 processes connect at once on a small test machine: give them time to connect.
    a = make_machine("a", sync_seconds=0, connect_timeout=20)
    b = make_machine("b", sync_seconds=0, connect_timeout=20)
    workers = [(a, [f"a-w{n}" for n in range(4)]), (b, [f"b-w{n}" for n in range(4)])]
    for machine, names in workers:
        for name in names:
            orchestra(machine, "session", "create", "--id", name, "--project", PROJECT,
                      "--role", "worker")
    orchestra(a, "session", "create", "--id", "lead", "--project", PROJECT)
    for n in range(TASKS):
        orchestra(a if n % 2 else b, "task", "add", f"Job {n}", session="lead")
    procs = []
    for machine, names in workers:
        for name in names:
            env = {**machine.env, "ORCHESTRA_SESSION_ID": name}
            procs.append((name, subprocess.Popen([sys.executable, "-c", WORKER], env=env,
                                                 cwd=REPO, stdout=subprocess.PIPE,
                                                 stderr=subprocess.PIPE, text=True)))
    taken: dict[str, list[str]] = {}
    for name, proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        taken[name] = json.loads(out)
    counts = Counter(tid for ids in taken.values() for tid in ids)
    assert sorted(counts, key=lambda t: int(t[2:])) == [f"T-{n}" for n in range(1, TASKS + 1)]
    assert set(counts.values()) == {1}
    assert all(any(taken[n] for n in names) for _machine, names in workers)
    listed = json.loads(orchestra(b, "task", "list", "--json", "--project", PROJECT).stdout)
    for task in listed:  # the server's plan agrees with both machines' workers
        holder = next(name for name, ids in taken.items() if task["id"] in ids)
        assert (task["assignee"], task["status"]) == (holder, "in_progress")


def test_capacity_holds_across_machines_and_no_server_means_no_taking(
        make_machine: Callable[..., Machine], tmp_path: Path) -> None:
    a, b = make_machine("a", sync_seconds=0), make_machine("b", sync_seconds=0)
    orchestra(a, "shared", "register-tool", "qa", "--capabilities", "tests",
              "--max-instances", "1")
    for machine, sid in ((a, "lead-a"), (b, "lead-b")):
        orchestra(machine, "session", "create", "--id", sid, "--project", PROJECT)
    orchestra(a, "task", "add", "One", session="lead-a")
    orchestra(a, "task", "add", "Two", session="lead-a")
    assert orchestra(a, "task", "assign", "T-1", "--tool", "qa", session="lead-a").returncode == 0
    full = orchestra(b, "task", "assign", "T-2", "--tool", "qa", session="lead-b", check=False)
    assert full.returncode == 4 and "at capacity: 1/1 busy (task T-1" in full.stderr
    # a machine that cannot reach the server does not take work on its own
    away = make_machine("away", url="postgresql://nobody@127.0.0.1:1/none", sync_seconds=0,
                        connect_timeout=1)
    away.root.joinpath("config.json").write_text(json.dumps(
        {"store": {"url": "postgresql://nobody@127.0.0.1:1/none", "connect_timeout": 1}}))
    refused = orchestra(away, "task", "next", "--project", PROJECT, session="lead-a",
                        check=False)
    assert refused.returncode != 0
    listed: list[dict[str, Any]] = json.loads(orchestra(a, "task", "list", "--json",
                                                        "--project", PROJECT).stdout)
    assert [t["assignee"] for t in listed] == ["qa", None]
