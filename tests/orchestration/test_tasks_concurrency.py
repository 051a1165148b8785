"""``orchestra task next`` and ``task add`` from many processes at once: every task is
taken exactly once, every id is given exactly once (issue 24: "two workers never get the
same task")."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.orchestration._support import PROJECT, child_env, orch, plan

WORKERS = 12
TASKS = 60

#: One worker: take tasks until there are none (exit 3), print each id taken.
WORKER = r"""
import io, json, sys
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

ADDER = r"""
import io, json, sys
from orchestra.cli import main
ids = []
for n in range(int(sys.argv[1])):
    out, err = io.StringIO(), io.StringIO()
    assert main(["task", "add", f"{sys.argv[2]} {n}"], stdout=out, stderr=err) == 0, err.getvalue()
    ids.append(json.loads(out.getvalue())["id"])
print(json.dumps(ids))
"""


def _workers(home: Path, count: int) -> list[str]:
    names = [f"worker-{n:02d}" for n in range(count)]
    for name in names:
        assert orch("session", "create", "--id", name, "--project", PROJECT, "--role",
                    "worker").code == 0
    return names


def test_many_workers_calling_task_next_take_every_task_once(home: Path) -> None:
    workers = _workers(home, WORKERS)
    assert orch("session", "create", "--id", "lead", "--project", PROJECT).code == 0
    for n in range(TASKS):
        assert orch("task", "add", f"Job {n}", session="lead").code == 0
    procs = [subprocess.Popen([sys.executable, "-c", WORKER], env=child_env(home, name),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in workers]
    taken: dict[str, list[str]] = {}
    for name, proc in zip(workers, procs, strict=True):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        taken[name] = json.loads(out)
    everything = [tid for ids in taken.values() for tid in ids]
    counts = Counter(everything)
    assert sorted(counts) == sorted(f"T-{n}" for n in range(1, TASKS + 1))
    assert set(counts.values()) == {1}, [t for t, c in counts.items() if c > 1]
    tasks = plan(home)
    for name, ids in taken.items():
        for tid in ids:  # the plan agrees with what each process was told
            assert (tasks[tid]["assignee"], tasks[tid]["status"]) == (name, "in_progress")
            assert [h["action"] for h in tasks[tid]["history"]] == ["added", "taken"]
    assert sum(1 for ids in taken.values() if ids) > 1, "the work was not shared at all"


def test_concurrent_adds_never_give_an_id_twice(home: Path) -> None:
    adders = [f"adder-{n}" for n in range(8)]
    for name in adders:
        assert orch("session", "create", "--id", name, "--project", PROJECT).code == 0
    procs = [subprocess.Popen([sys.executable, "-c", ADDER, "10", name],
                              env=child_env(home, name), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in adders]
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        ids.extend(json.loads(out))
    assert sorted(ids, key=lambda t: int(t[2:])) == [f"T-{n}" for n in range(1, 81)]
    doc = json.loads((home / "projects" / PROJECT / "plan.json").read_text())
    assert doc["next_id"] == 81 and len(doc["tasks"]) == 80


def test_workers_killed_mid_take_leave_a_whole_plan(home: Path) -> None:
    """SIGKILL at random moments while workers take tasks: the plan always parses, and each
    task is pending and free or in progress with exactly one holder, as its history says."""
    import random
    import signal
    import time

    if sys.platform == "win32":
        return  # no SIGKILL at an arbitrary point on Windows
    workers = _workers(home, 6)
    assert orch("session", "create", "--id", "lead", "--project", PROJECT).code == 0
    for n in range(40):
        assert orch("task", "add", f"Job {n}", session="lead").code == 0
    rng = random.Random(7)
    for _round in range(4):
        procs = [subprocess.Popen([sys.executable, "-c", WORKER], env=child_env(home, name),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name in workers]
        time.sleep(rng.uniform(0.3, 1.2))
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(60)
        tasks = plan(home)  # parses: never a torn document
        for tid, task in tasks.items():
            taken = [h for h in task["history"] if h["action"] == "taken"]
            if task["status"] == "pending":
                assert task["assignee"] is None and not taken, tid
            else:
                assert task["status"] == "in_progress" and task["assignee"] in workers, tid
                assert len(taken) == 1 and taken[0]["by"] == task["assignee"], tid
    left = [t for t in plan(home).values() if t["status"] == "pending"]
    for name in workers[:1]:  # whatever is left can still be taken
        while orch("task", "next", session=name).code == 0:
            pass
    assert all(t["status"] == "in_progress" for t in plan(home).values()), len(left)
