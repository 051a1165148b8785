"""What independent testers broke in the PostgreSQL backend (issue 23, #1-#3, #5, #6).

Each test goes through the public surface — the dispatcher and the CLIs as processes,
the store as the CLIs open it — and checks a mechanism, never a time: the benchmark
(``bench/pg_dispatch.py``) carries the times.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from state.persistence.storage import Storage
from state.store import open_store
from tests.handlers._support import payload
from tests.postgres._fake_server import fake_server
from tests.postgres.conftest import REPO, Machine

#: Queries with a NUL escape in a name or a string literal, and one without for contrast.
NUL_QUERIES = ['$["\\u0000"]', '$.notes["a\\u0000"]', '$.notes[?@ == "\\u0000"]',
               "$.notes[?@.a == 'x\\u0000']", '$..["\\u0000"]', "$['notes']['a']"]


def _cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestra", *argv, "--compact"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
                          check=False)


def test_a_nul_escape_in_a_query_gets_the_file_backends_answer(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """#5: ``$["\\u0000"]`` is ``[]`` on the file backend; PostgreSQL refused the path
    ("unsupported Unicode escape sequence", exit 2). Now both print the same."""
    from state import session_manager, state_manager

    sid = f"s-{uuid.uuid4().hex[:8]}"
    answers: dict[str, list[tuple[int, str, str]]] = {}
    for backend in ("file", "postgres"):
        monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / backend))
        if backend == "postgres":
            monkeypatch.setenv("ORCHESTRA_STORE_URL", pg_url)
        else:
            monkeypatch.delenv("ORCHESTRA_STORE_URL", raising=False)
        assert session_manager.main(["create", "--id", sid], stdout=io.StringIO(),
                                    stderr=io.StringIO()) == 0
        assert state_manager.main(["set", sid, "notes.a", "x"], stdout=io.StringIO(),
                                  stderr=io.StringIO()) == 0
        answers[backend] = []
        for query in NUL_QUERIES:
            out, err = io.StringIO(), io.StringIO()
            code = state_manager.main(["get", sid, query, "--compact"], stdout=out, stderr=err)
            answers[backend].append((code, out.getvalue(), err.getvalue()))
    assert answers["postgres"] == answers["file"]
    assert [json.loads(out) for _, out, _ in answers["file"]] == [[], [], [], [], [], ["x"]]


def test_a_nul_in_a_document_is_never_refused_by_the_server(
        tmp_path: Path, pg_url: str, make_machine: Callable[..., Machine]) -> None:
    """``jsonb`` holds no U+0000, so the server refused every write of a document that
    held one: ``set`` of such a value exited 2 where the file store took it, ``orchestra
    migrate`` of a file state root holding one failed, and a document a hook had put one
    in (parked in ``pg/outbox/failed``) refused every later write of it. The NUL is
    stored as U+FFFD instead, on every path to the server."""
    from state import migrate

    files = make_machine("files")
    files.configure(url=None)  # a file state root, as before moving to the server
    assert files.dispatch(payload("SessionStart.startup", "s1")).code == 0
    files.cli("state.state_manager", "set", "s1", "notes.old", '"a\\u0000b"')
    out, err = io.StringIO(), io.StringIO()
    code = migrate.main(["--from", str(files.root), "--to", pg_url], stdout=out, stderr=err)
    assert code == 0, err.getvalue()

    a = make_machine("a", sync_seconds=0)
    b = make_machine("b", sync_seconds=0)
    assert b.cli("state.state_manager", "get", "s1", "notes") == {"old": "a\ufffdb"}
    online = _cli(b.env, "set", "s1", "notes.new", '"c\\u0000d"')
    assert online.returncode == 0, online.stderr
    later = payload("PreToolUse.Bash", "s1", tool_use_id="tu-later",
                    tool_input={"command": "ls", "description": "List files"})
    assert a.dispatch(later).code == 0  # the document with the mark takes later writes
    assert not list((a.root / "pg" / "outbox").rglob("*.json"))  # nothing waits or failed
    assert b.cli("state.state_manager", "get", "s1", "notes") == {
        "old": "a\ufffdb", "new": "c\ufffdd"}
    shown = b.cli("state.session_manager", "show", "s1")
    assert [r["tool_use_id"] for r in shown["activity"]["running"]] == ["tu-later"]


@pytest.mark.parametrize("server", ["stopped", "starting"])
def test_a_message_to_a_new_project_is_queued_while_the_server_is_away_or_starting(
        make_machine: Callable[..., Machine], server: str) -> None:
    """#6: ``send --project P --new-project`` exited 1 while the server was away or
    starting up, although a message sent then is queued (``--all`` was). Now it is
    queued, and a session of P that starts once the server is back gets it."""
    a = make_machine("a", sync_seconds=0, retry_seconds=0)
    a.cli("state.session_manager", "list")  # the schema exists
    with fake_server("starting") as port:
        url = (f"postgresql://orchestra@127.0.0.1:{port}/postgres" if server == "starting"
               else "postgresql://orchestra@127.0.0.1:1/postgres")
        away = {**a.env, "ORCHESTRA_STORE_URL": url}
        done = _cli(away, "send", "--project", "Fresh.Ideas", "--new-project", "kick-off")
        assert done.returncode == 0, done.stderr
        sent = json.loads(done.stdout)
        assert sent["to"] == {"project": "fresh.ideas"}
        assert "queued" in done.stderr
        refused = _cli(away, "send", "--project", "elsewhere", "unchecked")
        assert refused.returncode == 1 and "--new-project" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert len(a.outbox()) == 1  # the message, and nothing of the refused one
    start = a.dispatch(payload("SessionStart.startup", "fresh-1", cwd="/work/Fresh.Ideas"))
    assert start.code == 0, start.stderr
    assert "kick-off" in start.context and sent["id"] not in a.outbox()
    assert a.outbox() == []


# -- #1 and #2: what a hook writes never waits for the server --------------------------

#: A turn of a new session: every kind of write a hook makes (session creation, identity,
#: tasks, usage, heartbeats, event log, telemetry).
TURN = ("SessionStart.startup", "UserPromptSubmit", "PreToolUse.Bash", "PostToolUse.Bash",
        "PostToolUse.TaskCreate", "Stop")


def _hide_psycopg(folder: Path) -> str:
    """A PYTHONPATH entry that makes ``import psycopg`` fail, as if it took forever."""
    shim = folder / "psycopg"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text('raise ImportError("psycopg is hidden by the test")\n')
    return str(folder)


def _handler_errors(machine: Machine) -> list[str]:
    log = machine.root / "logs" / "dispatch.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if " ERROR " in line]


@pytest.mark.parametrize("server", ["refused", "stalled", "no-psycopg"])
def test_a_session_started_while_the_server_is_unreachable_is_created(
        make_machine: Callable[..., Machine], tmp_path: Path, server: str) -> None:
    """#1 and #2: SessionStart of a new session while the server cannot answer (it
    refuses, it never answers, or psycopg cannot even be imported) raised
    StoreUnavailableError from identity.json; state.json was never queued and every
    later hook failed. Now every write of the turn is queued, no handler fails, and once
    the server is back the session is listed, shown, has its events and gets messages."""
    a = make_machine("a", sync_seconds=0, retry_seconds=60)
    a.cli("state.session_manager", "list")  # the schema exists; nothing of s1 is known
    with fake_server("stalled") as stalled_port:
        away = {
            "refused": {"ORCHESTRA_STORE_URL": "postgresql://orchestra@127.0.0.1:1/postgres"},
            "stalled": {"ORCHESTRA_STORE_URL":
                        f"postgresql://orchestra@127.0.0.1:{stalled_port}/postgres"},
            "no-psycopg": {"PYTHONPATH": _hide_psycopg(tmp_path / "shim") + ":" + str(REPO)},
        }[server]
        hooks = [a.dispatch(payload(name, "s1", tool_use_id=f"tu-{i}"), **away)
                 for i, name in enumerate(TURN)]
    assert [h.code for h in hooks] == [0] * len(TURN), [h.stderr for h in hooks]
    assert "this is session s1" in hooks[0].context  # presence still answered
    assert _handler_errors(a) == []
    assert a.outbox(), "the turn waits in the outbox"

    b = make_machine("b", sync_seconds=0)  # another machine: it sees only the server
    assert b.cli("state.session_manager", "list") == []
    listed = a.cli("state.session_manager", "list")  # any command ships the outbox
    assert [(s["session_id"], s["status"], s["project"]) for s in listed] == [
        ("s1", "active", "project")]
    assert a.outbox() == []
    assert b.cli("state.session_manager", "show", "s1")["session_id"] == "s1"
    events = b.cli("state.state_manager", "events", "s1")
    assert [e["event"] for e in events] == [name.split(".")[0] for name in TURN]
    tasks = b.cli("state.state_manager", "get", "s1", "active_work.tasks")
    assert [t["subject"] for t in tasks.values()] == ["Write tests"]
    identity = b.cli("state.state_manager", "get", "s1", "created_at")
    assert identity == listed[0]["created_at"]
    sent = b.cli("state.session_manager", "send", "--to", "s1", "--from", "s1", "welcome back")
    delivered = a.dispatch(payload("UserPromptSubmit", "s1"))
    assert delivered.code == 0 and sent["text"] in delivered.context


def test_parallel_sessions_on_a_server_never_reached_in_time_are_all_created(
        make_machine: Callable[..., Machine]) -> None:
    """#2: 4 parallel hook streams on a small machine made the 1 s ``connect_timeout``
    (importing psycopg included) expire; 2 of 4 sessions were never created and every
    ``send --project`` failed. Here no hook can ever connect in time (the timeout is
    shorter than importing psycopg): every session, every event still arrives."""
    a = make_machine("a", sync_seconds=0, connect_timeout=0.001, retry_seconds=0)
    a.cli("state.session_manager", "list")  # the schema exists (a CLI waits longer)
    turn = ("SessionStart.startup", "UserPromptSubmit", "PostToolUse.Bash",
            "PostToolUse.Bash", "Stop")

    def stream(sid: str) -> list[int]:
        return [a.dispatch(payload(name, sid, tool_use_id=f"{sid}-{i}")).code
                for i, name in enumerate(turn)]

    sids = [f"p{n}" for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(stream, sids))
    assert codes == [[0] * len(turn)] * 4
    assert _handler_errors(a) == []
    listed = a.cli("state.session_manager", "list", "--project", "project")
    assert sorted(s["session_id"] for s in listed) == sids
    for sid in sids:
        events = a.cli("state.state_manager", "events", sid)
        assert [(e["event"], e.get("tool_use_id")) for e in events] == [
            (name.split(".")[0], f"{sid}-{i}") for i, name in enumerate(turn)]
    sent = a.cli("state.session_manager", "send", "--project", "project", "standup")
    assert sent["to"] == {"project": "project"}


def test_a_hook_with_a_fresh_cache_writes_without_importing_psycopg(
        make_machine: Callable[..., Machine]) -> None:
    """#2, the mechanism: a hook whose reads its cache answers changes documents (a task)
    without importing psycopg or connecting: the change is journaled in the outbox.
    Before, every transaction connected, so a busy machine that could not import psycopg
    and connect within ``connect_timeout`` lost the write."""
    a = make_machine("a", sync_seconds=3600)
    for name in ("SessionStart.startup", "PostToolUse.TaskCreate"):
        assert a.dispatch(payload(name, "s1")).code == 0
    second = payload("PostToolUse.TaskCreate", "s1", tool_use_id="toolu_fake0002",
                     tool_input={"subject": "Ship it", "description": "x"},
                     tool_response={"task": {"id": "2", "subject": "Ship it"}})
    before = a.outbox()
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "hooks.dispatch"],
                          input=json.dumps(second).encode(), capture_output=True, env=a.env,
                          cwd=REPO, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines()
                if line.startswith("import time:")]
    assert "state.postgres.storage" in imported  # the PostgreSQL store wrote...
    assert not [m for m in imported if m.split(".")[0] == "psycopg"]  # ...without psycopg
    queued = [json.loads((a.root / "pg" / "outbox" / n).read_text())
              for n in a.outbox() if n not in before]
    assert any(op["op"] == "patch" and op["key"] == "sessions/s1/tasks.json" for op in queued)
    tasks = a.cli("state.state_manager", "get", "s1", "active_work.tasks")  # ships them
    assert sorted(t["subject"] for t in tasks.values()) == ["Ship it", "Write tests"]
    assert a.outbox() == []


# -- #3: after a long outage ------------------------------------------------------------

UNREACHABLE = "postgresql://orchestra@127.0.0.1:1/postgres"


def _offline_store(machine: Machine, **store: object) -> Storage:
    """The store a hook of ``machine`` opens while the server is unreachable."""
    config = json.loads((machine.root / "config.json").read_text())
    config["store"].update({"url": UNREACHABLE, **store})
    return open_store(str(machine.root), hook=True, config=config)


def _backlog(machine: Machine, sid: str, count: int) -> None:
    """``count`` event-log lines of ``sid`` queued while the server was away."""
    store = _offline_store(machine)
    for n in range(count):
        store.append(f"sessions/{sid}/events.jsonl",
                     {"ts": 1.0 + n, "event": "Backlog", "n": n})


def _numbers(events: list[dict[str, object]] | dict[str, object] | None) -> list[object]:
    if isinstance(events, dict):
        events = [events]
    return [e.get("n", e.get("tool_use_id")) for e in events or []]


def test_after_a_long_outage_each_hook_ships_a_bounded_part_oldest_first(
        make_machine: Callable[..., Machine]) -> None:
    """#3: the first hook to connect after an outage flushed the whole outbox before its
    handlers ran (14,000 operations: 42 s, past the budget, and its own event never
    arrived). Now a hook ships at most ``store.hook_flush_ops`` operations, the oldest
    first, so the backlog drains over several hooks and every event arrives once, in
    order — the hooks' own ones after it."""
    per_hook = 40
    a = make_machine("a", sync_seconds=0, hook_flush_ops=per_hook)
    b = make_machine("b", sync_seconds=0)  # sees only what reached the server
    assert a.dispatch(payload("SessionStart.startup", "s1")).code == 0
    assert a.outbox() == []
    _backlog(a, "s1", 300)
    waiting = len(a.outbox())
    assert waiting == 300

    hooks = 0
    while a.outbox():
        hooks += 1
        hook = a.dispatch(payload("PostToolUse.Bash", "s1", tool_use_id=f"tu-{hooks:02d}"))
        assert hook.code == 0, hook.stderr
        left = len(a.outbox())
        assert left >= waiting - per_hook, "a hook shipped more than its share"
        shipped = _numbers(b.cli("state.state_manager", "events", "s1"))
        if hooks * per_hook <= 300:  # still the backlog: exactly the oldest ones
            assert shipped == [None, *range(hooks * per_hook)]
        waiting = left
        assert hooks < 20, "the outbox does not drain"
    assert hooks >= 300 // per_hook
    shipped = _numbers(b.cli("state.state_manager", "events", "s1"))
    assert shipped == [None, *range(300), *(f"tu-{i:02d}" for i in range(1, hooks + 1))]


def test_queuing_appends_to_the_cached_log_in_place(make_machine: Callable[..., Machine]
                                                    ) -> None:
    """#3, linear queuing: queuing an event-log line rewrote the whole cached log
    (``Cache.add_line``), so 14,000 operations took 167 s to queue against 16.7 s for
    5,000. Now the line is appended to the cached copy in place: the file is never
    replaced and holds the server's lines, then the queued ones."""
    a = make_machine("a", sync_seconds=0)
    key = "sessions/s1/events.jsonl"
    online = open_store(str(a.root), config=json.loads((a.root / "config.json").read_text()))
    for n in range(3):
        online.append(key, {"event": "Online", "n": n})
    hook = open_store(str(a.root), hook=True,
                      config=json.loads((a.root / "config.json").read_text()))
    assert [r["n"] for r in hook.read_log(key)] == [0, 1, 2]  # now cached on the machine
    cached = a.root / "pg" / "cache" / key
    inode, fetched = cached.stat().st_ino, cached.stat().st_mtime
    away = _offline_store(a)
    for n in range(3, 203):
        away.append(key, {"event": "Queued", "n": n})
        assert cached.stat().st_ino == inode  # appended, never rewritten
    assert cached.stat().st_mtime == fetched  # and it does not look freshly fetched
    assert [json.loads(line)["n"] for line in cached.read_text().splitlines()] == list(
        range(203))
    assert len(a.outbox()) == 200
    later = open_store(str(a.root), config=json.loads((a.root / "config.json").read_text()))
    assert [r["n"] for r in later.read_log(key)] == list(range(203))  # shipped, in order


def test_over_the_outbox_cap_heartbeats_merge_and_nothing_is_dropped_silently(
        make_machine: Callable[..., Machine]) -> None:
    """#3, the cap: the outbox has a documented cap (``store.outbox_cap``). Waiting
    heartbeats are merged (only the newest counts); events and messages are never
    dropped, and being over the cap is said: in the hook's log, by every CLI that queues,
    by doctor."""
    a = make_machine("a", sync_seconds=0, outbox_cap=50)
    assert a.dispatch(payload("SessionStart.startup", "s1")).code == 0
    store = _offline_store(a, outbox_cap=50)
    for n in range(60):
        store.put_volatile("sessions/s1/heartbeat.json", {"ts": 10.0 + n, "n": n})
        store.append("sessions/s1/events.jsonl", {"ts": 10.0 + n, "event": "Backlog", "n": n})
    assert len(a.outbox()) == 61  # 60 lines, 1 heartbeat: the newest

    away = {"ORCHESTRA_STORE_URL": UNREACHABLE}
    hook = a.dispatch(payload("PostToolUse.Bash", "s1", tool_use_id="tu-over"), **away)
    assert hook.code == 0
    log = (a.root / "logs" / "dispatch.log").read_text()
    assert "over its cap of 50" in log and "Nothing is dropped" in log
    sent = _cli({**a.env, **away}, "send", "--all", "still here")
    assert sent.returncode == 0 and "over the cap of 50" in sent.stderr
    doctor = subprocess.run([sys.executable, "-m", "orchestra", "doctor"], capture_output=True,
                            text=True, env={**a.env, **away}, cwd=REPO, timeout=120, check=False)
    assert "over its cap of 50" in doctor.stdout

    events = a.cli("state.state_manager", "events", "s1")  # the server is back: all ship
    assert _numbers(events) == [None, *range(60), "tu-over"]
    assert a.outbox() == []
    shown = a.cli("state.session_manager", "show", "s1")
    assert shown["last_event"] == "PostToolUse"  # the newest heartbeat came through
