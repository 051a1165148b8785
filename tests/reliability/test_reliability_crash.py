"""SIGKILL at random moments: a dispatcher and a CLI writer, killed mid-run, hundreds of times.

To make hundreds of kills cheap, a long-lived *zygote* process imports Orchestra once and
forks a fresh writer for every trial; the writer loops writing (the dispatcher: events
through ``hooks.dispatch.main``; the CLI writer: ``state_manager set`` and ``shared_state
update-epic`` through their ``main``), acknowledging each finished step in a side file, and
the test kills it with SIGKILL after a random delay. A few more trials kill the real
``python -P -m hooks.dispatch`` command while it starts up or runs. After every kill:

* every document parses and is exactly the state before or after the interrupted step
  (the set of entries written so far and ``version`` tell them apart);
* every lock the killed process held can be taken at once (the kernel dropped it);
* its orphan temp files are removed by the next writer of that document, or by
  ``python -m hooks doctor --fix`` (heartbeats are written without a lock: only doctor).

Delays come from the suite seed (``ORCHESTRA_TEST_SEED`` replays a run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from random import Random
from typing import Any

import pytest

from tests.reliability._reliability_support import (
    POSIX,
    child_env,
    payload,
    run_process,
    suite_seed,
)

pytestmark = pytest.mark.skipif(not POSIX, reason="SIGKILL and fork are POSIX-only; Windows "
                                "has no equivalent of killing a process at an arbitrary point")

TRIALS_PER_WRITER = 110
REAL_COMMAND_TRIALS = 12
SID = "crash-1"
PROJECT = "crashproj"
PAD = "x" * 150_000  # big documents: a write takes long enough to be interrupted

ZYGOTE = r"""
import io, json, os, sys
root, kind, sid, project = sys.argv[1:5]
os.environ["ORCHESTRA_HOME"] = root
from hooks import dispatch, registry
from state import shared_state, state_manager
table = registry.build_table(root)
for calls in table.calls.values():
    for call in calls:
        call.resolve()
registry.load_table = lambda home: table
import hooks.state_triggers, state.documents, filelock  # warm: the writer only writes

def dispatcher_step(i):
    common = {"session_id": sid, "cwd": "/work/" + project, "transcript_path": "/nonexistent.jsonl"}
    if i % 2 == 0:  # the subagents handler adds a call to state.json
        event = {**common, "hook_event_name": "PreToolUse", "tool_name": "Agent",
                 "tool_use_id": f"toolu_{i}", "tool_input": {"description": f"d{i}",
                 "prompt": "p", "subagent_type": "general-purpose"}}
    else:  # the tasks handler adds a task to tasks.json
        event = {**common, "hook_event_name": "PostToolUse", "tool_name": "TaskUpdate",
                 "tool_use_id": f"toolu_{i}", "tool_input": {"taskId": f"t{i}",
                 "status": "in_progress", "subject": f"s{i}"}, "tool_response": {}}
    out, err = io.StringIO(), io.StringIO()
    code = dispatch.main([], stdin=io.BytesIO(json.dumps(event).encode()), stdout=out, stderr=err)
    assert code == 0 and not err.getvalue(), (code, err.getvalue())

def cli_step(i):
    out, err = io.StringIO(), io.StringIO()
    if i % 2 == 0:
        code = state_manager.main(["set", sid, f"notes.n{i}", f"v{i}"], stdout=out, stderr=err)
    else:
        code = shared_state.main(["update-epic", project, f"e{i}", "--title", f"T{i}"],
                                 stdout=out, stderr=err)
    assert code == 0, err.getvalue()

step = dispatcher_step if kind == "dispatcher" else cli_step
for line in sys.stdin:
    command, *args = line.split()
    if command == "fork":
        start, acks = int(args[0]), args[1]
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                i = start
                while True:
                    step(i)
                    os.write(fd, f"{i}\n".encode())
                    i += 1
            finally:
                os._exit(3)
        print(pid, flush=True)
    elif command == "reap":
        _, status = os.waitpid(int(args[0]), 0)
        print(status, flush=True)
"""


class Zygote:
    def __init__(self, root: Path, kind: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, str(root), kind, SID, PROJECT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env(root), text=True)

    def ask(self, line: str) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer, "the zygote died"
        return int(answer)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _documents(root: Path, kind: str) -> dict[str, Path]:
    if kind == "dispatcher":
        return {"state": root / "sessions" / SID / "state.json",
                "tasks": root / "sessions" / SID / "tasks.json"}
    return {"state": root / "sessions" / SID / "state.json",
            "epics": root / "projects" / PROJECT / "epics.json"}


def _entries(kind: str, name: str, doc: dict[str, Any]) -> set[int]:
    """The step numbers a document holds."""
    if name == "state" and kind == "dispatcher":
        return {int(k.removeprefix("call-toolu_")) for k in doc["active_work"]["agents"]}
    if name == "state":
        return {int(k.removeprefix("n")) for k in doc.get("notes", {}) if k != "pad"}
    if name == "tasks":
        return {int(k.removeprefix("t")) for k in doc["tasks"]}
    return {int(k.removeprefix("e")) for k in doc["epics"] if k != "pad"}


def _expected(kind: str, name: str, done: int) -> set[int]:
    """Steps 0..done that write document ``name``."""
    even = name == "state"
    return {i for i in range(done + 1) if (i % 2 == 0) == even}


def _seed_root(root: Path, kind: str) -> None:
    from tests.reliability._reliability_support import cli, dispatch_event

    if kind == "dispatcher":
        start = payload("SessionStart.startup", SID, cwd=f"/work/{PROJECT}")
        assert dispatch_event(start).code == 0
    else:
        assert cli("session_manager", "create", "--id", SID, "--project", PROJECT).code == 0
    # Pad the documents so that each write is big enough to be caught half-way.
    assert cli("state_manager", "set", SID, "notes.pad", PAD).code == 0
    if kind == "dispatcher":
        from state.store import open_store

        with open_store(root).transaction(f"sessions/{SID}/tasks.json") as doc:
            doc["pad"] = PAD
            doc["tasks"] = {}
    else:
        assert cli("shared_state", "update-epic", PROJECT, "pad", "--description", PAD).code == 0


def _check_locks_free(root: Path) -> int:
    from filelock import FileLock

    locks = sorted(root.rglob("*.lock"))
    for path in locks:
        lock = FileLock(str(path), timeout=0)
        lock.acquire()  # raises Timeout if a dead writer's lock were still held
        lock.release()
    return len(locks)


def _trials(root: Path, kind: str, rng: Random, seed: int) -> dict[str, int]:
    from hooks.tooling.doctor_state import check_orphans
    from state.store import open_store

    _seed_root(root, kind)
    docs = _documents(root, kind)
    base_versions = {n: json.loads(p.read_bytes())["version"] for n, p in docs.items()}
    acks = root.parent / f"acks-{kind}"
    done = -1  # every step up to here is in the documents
    stats = {"kills": 0, "mid_write": 0, "doctor_cleaned": 0, "writer_cleaned": 0,
             "steps": 0, "locks_checked": 0}
    zygote = Zygote(root, kind)
    try:
        for trial in range(TRIALS_PER_WRITER):
            where = f"{kind} trial {trial} (seed {seed}; replay with ORCHESTRA_TEST_SEED={seed})"
            acks.write_text("")
            pid = zygote.ask(f"fork {done + 1} {acks}")
            time.sleep(rng.uniform(0.0, 0.04))
            os.kill(pid, signal.SIGKILL)
            status = zygote.ask(f"reap {pid}")
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
                f"{where}: the writer ended on its own (status {status})"
            stats["kills"] += 1
            acked = [int(n) for n in acks.read_text().split()]
            last_ack = acked[-1] if acked else done
            # Each document is the state before or after the step in flight (last_ack + 1).
            reached = set()
            for name, path in docs.items():
                doc = json.loads(path.read_bytes())  # parses, whole
                have = _entries(kind, name, doc)
                before, after = _expected(kind, name, last_ack), _expected(kind, name,
                                                                             last_ack + 1)
                assert have in (before, after), f"{where}: {name} holds {sorted(have)[-3:]}"
                assert doc["version"] == base_versions[name] + len(have), where
                reached.add(last_ack + 1 if have == after and after != before else last_ack)
            done = max(reached)
            stats["steps"] = done + 1
            # The dead writer's locks are free at once.
            stats["locks_checked"] += _check_locks_free(root)
            # Orphan temp files: the next writer, or doctor --fix.
            orphans = sorted(root.rglob("*.tmp"))
            if not orphans:
                continue
            stats["mid_write"] += 1
            # A document's temp file is ".<name>.<pid>.<hex>.tmp"; a cache's (the dispatch
            # table's, the store observers': "<file>.<pid>.<hex>.tmp", written when a CLI
            # first runs) is no document's, and is left to doctor --fix like the rest.
            document_orphans = [p for p in orphans if p.name.startswith(".")
                                and not p.name.startswith(".heartbeat.")]
            if trial % 2 and document_orphans:
                store = open_store(root)
                for path in document_orphans:
                    key = path.parent.relative_to(root).as_posix() + "/" + \
                        path.name[1:].split(".")[0] + ".json"
                    with store.transaction(key):
                        pass  # a writer that changes nothing still cleans up first
                assert not [p for p in document_orphans if p.exists()], where
                stats["writer_cleaned"] += len(document_orphans)
            remaining = sorted(root.rglob("*.tmp"))
            if remaining:
                finding = check_orphans(str(root), fix=True)[0]
                assert finding.level == "ok", (where, finding.message)
                assert sorted(root.rglob("*.tmp")) == [], where
                stats["doctor_cleaned"] += len(remaining)
    finally:
        zygote.close()
    return stats


@pytest.mark.parametrize("kind", ["dispatcher", "cli"])
def test_sigkill_writer_at_random_moments(kind: str, outer: Path, root: Path, rng: Random,
                                          report: Any) -> None:
    seed = suite_seed()
    started = time.monotonic()
    stats = _trials(root, kind, rng, seed)
    assert stats["kills"] == TRIALS_PER_WRITER
    assert stats["mid_write"] > 0, f"no kill landed inside a write (seed {seed})"
    report(trials=stats["kills"], steps_written=stats["steps"],
           killed_mid_write=stats["mid_write"], cleaned_by_next_writer=stats["writer_cleaned"],
           cleaned_by_doctor=stats["doctor_cleaned"], locks_checked=stats["locks_checked"],
           seconds=round(time.monotonic() - started, 1))


def test_sigkill_the_real_dispatch_command(outer: Path, root: Path, rng: Random,
                                           report: Any) -> None:
    """The real command, killed anywhere between interpreter start and exit."""
    from hooks.tooling.doctor_state import find_orphans

    seed = suite_seed()
    _seed_root(root, "dispatcher")
    state = root / "sessions" / SID / "state.json"
    env = child_env(root)
    written = 0
    finished = 0
    for trial in range(REAL_COMMAND_TRIALS):
        before = json.loads(state.read_bytes())
        event = {"session_id": SID, "cwd": f"/work/{PROJECT}", "hook_event_name": "PreToolUse",
                 "tool_name": "Agent", "tool_use_id": f"toolu_real{trial}",
                 "tool_input": {"description": "d", "prompt": "p",
                                "subagent_type": "general-purpose"}}
        proc = subprocess.Popen([sys.executable, "-P", "-m", "hooks.dispatch"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(event).encode())
        proc.stdin.close()
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        code = proc.wait(30)
        finished += code == 0
        after = json.loads(state.read_bytes())
        agents = set(after["active_work"]["agents"])
        old = set(before["active_work"]["agents"])
        assert agents in (old, old | {f"call-toolu_real{trial}"}), f"trial {trial}, seed {seed}"
        assert after["version"] == before["version"] + len(agents - old)
        written += len(agents - old)
        _check_locks_free(root)
    orphans = len(find_orphans(str(root)))
    # What the kills left behind, `python -m hooks doctor --fix` (the real command) removes.
    doctor = run_process([sys.executable, "-m", "hooks", "doctor", "--fix", "--json"], env,
                         cwd=outer.parent, timeout=120)
    findings = {f["check"]: f for f in json.loads(doctor.out)}
    assert findings["temp files"]["level"] == "ok", findings["temp files"]
    assert sorted(root.rglob("*.tmp")) == []
    report(trials=REAL_COMMAND_TRIALS, finished_before_kill=finished, writes_landed=written,
           orphans_for_doctor=orphans)


def test_doctor_fix_removes_the_orphans_of_every_writer(outer: Path, root: Path,
                                                        report: Any) -> None:
    """Temp files named the way each atomic writer names them, left by a dead process, are
    found and removed by ``doctor --fix``; a live writer's temp file is left alone."""
    from hooks.tooling.doctor_state import check_orphans

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    orphans = [f"sessions/{SID}/.state.json.{pid}.0a1b2c3d.tmp",  # a document
               f"sessions/{SID}/.heartbeat.json.{pid}.12345678.tmp",  # a heartbeat
               f"cache/dispatch-00ff00ff00ff00ff.json.{pid}.deadbeef.tmp",  # the registry cache
               f"cache/dispatch-00ff00ff00ff00ff.json.{pid}.tmp"]  # (older naming)
    live = f"sessions/{SID}/.tasks.json.{os.getpid()}.0a1b2c3d.tmp"
    for rel in [*orphans, live]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{")
    finding = check_orphans(str(root), fix=True)[0]
    assert finding.level == "ok" and f"removed {len(orphans)} of {len(orphans)}" in \
        finding.message, finding.message
    assert [rel for rel in orphans if (root / rel).exists()] == []
    assert (root / live).exists()
    report(orphans_removed=len(orphans))
