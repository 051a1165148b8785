"""Two state roots on one server stand in for two machines (issue 14)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.handlers._support import payload
from tests.postgres.conftest import Machine


def _start(machine: Machine, sid: str, cwd: str = "/home/dev/project") -> None:
    hook = machine.dispatch(payload("SessionStart.startup", sid, cwd=cwd))
    assert hook.code == 0, hook.stderr


def test_sessions_and_presence_are_shared_and_carry_the_machine(
        make_machine: Callable[..., Machine]) -> None:
    a, b = make_machine("a", sync_seconds=0), make_machine("b", sync_seconds=0)
    _start(a, "alpha", cwd="/home/alice/project")
    b_start = b.dispatch(payload("SessionStart.startup", "beta", cwd="/srv/bob/project"))
    assert b_start.code == 0, b_start.stderr
    assert "alpha" in b_start.context  # presence: B's new session is told about A's
    listed = {s["session_id"]: s for s in a.cli("state.session_manager", "list")}
    assert set(listed) == {"alpha", "beta"}
    assert listed["alpha"]["status"] == listed["beta"]["status"] == "active"
    machine_a = json.loads((a.root / "machine.json").read_text())["machine_id"]
    machine_b = json.loads((b.root / "machine.json").read_text())["machine_id"]
    assert machine_a != machine_b
    assert listed["alpha"]["machine"] == machine_a
    assert listed["beta"]["machine"] == machine_b

    def seen(machine: Machine) -> list[dict[str, Any]]:
        return [{k: v for k, v in s.items() if k != "idle_seconds"}
                for s in machine.cli("state.session_manager", "list")]

    assert seen(a) == seen(b)  # both machines see the same team


def test_direct_project_and_broadcast_once_across_machines_with_parallel_hooks(
        make_machine: Callable[..., Machine]) -> None:
    a = make_machine("a", sync_seconds=0, retry_seconds=0)
    b = make_machine("b", sync_seconds=0, retry_seconds=0)
    for machine, sids in ((a, ("a1", "a2")), (b, ("b1", "b2"))):
        for sid in sids:
            _start(machine, sid)
    _start(b, "lone", cwd="/home/dev/elsewhere")
    sent = {
        "direct-a-to-b1": a.cli("state.session_manager", "send", "--to", "b1", "--from", "a1",
                                "direct-a-to-b1"),
        "direct-b-to-a2": b.cli("state.session_manager", "send", "--to", "a2", "--from", "b2",
                                "direct-b-to-a2"),
        "project-from-a1": a.cli("state.session_manager", "send", "--project", "project",
                                 "--from", "a1", "project-from-a1"),
        "everyone-from-b": b.cli("state.session_manager", "send", "--all", "everyone-from-b"),
    }
    assert all(m["id"].startswith("msg-") for m in sent.values())

    def hooks_of(machine: Machine, sids: tuple[str, ...]) -> list[tuple[str, str]]:
        def one(i: int) -> tuple[str, str]:
            sid = sids[i % len(sids)]
            hook = machine.dispatch(payload("PostToolUse.Bash", sid))
            assert hook.code == 0, hook.stderr
            return sid, hook.context

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(one, range(8)))

    with ThreadPoolExecutor(max_workers=2) as pool:  # both machines at once: 16 hooks
        got_a = pool.submit(hooks_of, a, ("a1", "a2"))
        got_b = pool.submit(hooks_of, b, ("b1", "b2", "lone"))
        outputs = got_a.result() + got_b.result()
    # A hook that could not reach the server in time (16 processes on a small machine)
    # delivered nothing and left its messages pending: later hooks deliver them.
    for _ in range(5):
        pending = [(m, sid) for m, sids in ((a, ("a1", "a2")), (b, ("b1", "b2", "lone")))
                   for sid in sids if m.cli("state.session_manager", "inbox", sid)]
        if not pending:
            break
        for machine, sid in pending:
            hook = machine.dispatch(payload("UserPromptSubmit", sid))
            assert hook.code == 0, hook.stderr
            outputs.append((sid, hook.context))
    assert not pending

    def count(sid: str, text: str) -> int:
        return sum(context.count(text) for who, context in outputs if who == sid)

    expected = {
        "a1": {"everyone-from-b": 1},  # its own project message is not delivered to itself
        "a2": {"direct-b-to-a2": 1, "project-from-a1": 1, "everyone-from-b": 1},
        "b1": {"direct-a-to-b1": 1, "project-from-a1": 1, "everyone-from-b": 1},
        "b2": {"project-from-a1": 1, "everyone-from-b": 1},
        "lone": {"everyone-from-b": 1},
    }
    for sid, wanted in expected.items():
        for text in sent:
            assert count(sid, text) == wanted.get(text, 0), (sid, text, outputs)


def test_claims_work_across_machines(make_machine: Callable[..., Machine]) -> None:
    a, b = make_machine("a", sync_seconds=0), make_machine("b", sync_seconds=0)
    _start(a, "alpha")
    _start(b, "beta")
    path = "/home/dev/project/src/app.py"
    edit = payload("PostToolUse.Bash", "alpha", tool_name="Write",
                   tool_input={"file_path": path, "content": "x"}, tool_response={})
    assert a.dispatch(edit).code == 0
    before = payload("PreToolUse.Write", "beta", tool_input={"file_path": path, "content": "y"})
    hook = b.dispatch(before)
    assert hook.code == 0, hook.stderr
    decision = hook.reply["hookSpecificOutput"]
    assert decision["permissionDecision"] == "ask"
    assert "alpha" in decision["permissionDecisionReason"]
    claims = b.cli("state.session_manager", "claims", "--project", "project")
    assert [(c["session"], c["path"]) for c in claims] == [("alpha", path)]


PROBE = """
import io, json, sys
from hooks.dispatch import main
out = io.StringIO()
code = main([], stdin=io.BytesIO(sys.stdin.buffer.read()), stdout=out, stderr=sys.stderr)
print(json.dumps({"code": code, "psycopg": "psycopg" in sys.modules,
                  "postgres": "state.postgres" in sys.modules}))
"""


def _probe(machine: Machine, event: dict[str, Any]) -> dict[str, Any]:
    import subprocess

    done = subprocess.run([sys.executable, "-c", PROBE], input=json.dumps(event).encode(),
                          capture_output=True, env=machine.env, timeout=60, check=True)
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


def test_hot_events_do_not_connect_while_the_cache_is_fresh_and_ship_later(
        make_machine: Callable[..., Machine]) -> None:
    a = make_machine("a", sync_seconds=600)
    _start(a, "alpha")
    assert a.dispatch(payload("UserPromptSubmit", "alpha")).code == 0  # fills the cache
    for name in ("PreToolUse.Bash", "PostToolUse.Bash", "UserPromptSubmit"):
        probe = _probe(a, payload(name, "alpha"))
        assert probe == {"code": 0, "psycopg": False, "postgres": True}, name
    assert a.outbox(), "the hot events' heartbeats and event-log lines wait locally"
    a.cli("state.session_manager", "list")  # any CLI connects, so it ships them
    assert a.outbox() == []
    events = a.cli("state.state_manager", "events", "alpha")
    assert [e["event"] for e in events][-3:] == ["PreToolUse", "PostToolUse", "UserPromptSubmit"]


def test_file_backend_never_imports_the_postgres_modules(
        make_machine: Callable[..., Machine]) -> None:
    a = make_machine("a")
    (a.root / "config.json").write_text("{}")  # back to the default file store
    for name in ("SessionStart.startup", "PreToolUse.Bash", "PostToolUse.Bash",
                 "UserPromptSubmit", "Stop"):
        probe = _probe(a, payload(name, "alpha"))
        assert probe == {"code": 0, "psycopg": False, "postgres": False}, name


def test_watch_on_one_machine_sees_a_change_made_on_another(
        make_machine: Callable[..., Machine]) -> None:
    import subprocess

    from tests.postgres.conftest import REPO

    a, b = make_machine("a"), make_machine("b")
    _start(a, "alpha")
    watcher = subprocess.Popen(
        [sys.executable, "-m", "state.state_manager", "watch", "alpha",
         "active_work.current_epic", "--count", "2", "--timeout", "60", "--interval", "30"],
        env=a.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().strip() == "null"
        b.cli("state.state_manager", "set", "alpha", "active_work.current_epic", "epic-7")
        out, err = watcher.communicate(timeout=60)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    assert out.strip() == '"epic-7"'


def test_one_file_checked_out_at_two_paths_is_one_claim(
        make_machine: Callable[..., Machine]) -> None:
    """Alice's laptop has the project at /home/alice/project, Bob's dev box at
    /srv/bob/project: src/app.py is the same file, so Bob's edit after Alice's is asked."""
    a, b = make_machine("a", sync_seconds=0), make_machine("b", sync_seconds=0)
    homes = {"alpha": "/home/alice/project", "beta": "/srv/bob/project"}
    for sid, machine in (("alpha", a), ("beta", b)):
        start = payload("SessionStart.startup", sid, cwd=homes[sid])
        assert machine.dispatch(start, CLAUDE_PROJECT_DIR=homes[sid]).code == 0
    mine = f"{homes['alpha']}/src/app.py"
    edit = payload("PostToolUse.Bash", "alpha", cwd=homes["alpha"], tool_name="Write",
                   tool_input={"file_path": mine, "content": "x"}, tool_response={})
    assert a.dispatch(edit, CLAUDE_PROJECT_DIR=homes["alpha"]).code == 0
    theirs = f"{homes['beta']}/src/app.py"
    before = payload("PreToolUse.Write", "beta", cwd=homes["beta"],
                     tool_input={"file_path": theirs, "content": "y"})
    hook = b.dispatch(before, CLAUDE_PROJECT_DIR=homes["beta"])
    assert hook.code == 0, hook.stderr
    decision = hook.reply["hookSpecificOutput"]
    assert decision["permissionDecision"] == "ask" and "alpha" in decision[
        "permissionDecisionReason"]
    claims = b.cli("state.session_manager", "claims", "--project", "project")
    assert [(c["session"], c["file"]) for c in claims] == [("alpha", "src/app.py")]
