"""The PostgreSQL store beyond the shared storage suite: queries, waiting, settings, doctor."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from state.errors import CorruptDocumentError, InvalidValueError
from state.persistence.filestore import FileStorage
from state.persistence.storage import Storage
from state.postgres import jsonpath
from state.postgres.doctor import doctor_report
from state.postgres.settings import has_password, redact, store_settings
from state.postgres.storage import PgStorage
from state.query import jsonpath_query
from state.store import RULES, open_store
from tests._postgres import PASSWORD

KEY = "projects/p1/epics.json"
DOC = {
    "epics": {
        "e1": {"title": "Board", "status": "done", "points": 3, "tags": ["ui", "web"]},
        "e2": {"title": "Sync", "status": "open", "points": 5.5, "tags": []},
        "odd key": {"title": "Spaces", "status": "open", "nested": {"deep": [1, {"x": None}]}},
    },
    "order": ["e1", "e2"],
    "count": 2,
}
#: (expression, runs on the server): the same cases on both backends.
CASES = [
    ("$", True),
    ("$.count", True),
    ("$.order[0]", True),
    ("$.order[5]", True),
    ("$.order[*]", True),
    ("$.epics.e1.tags[*]", True),
    ("$.epics.e2.points", True),
    ("$.epics['odd key'].nested.deep[1].x", True),
    ('$.epics["odd key"].title', True),
    ("$.missing.deeper", True),
    ("$.count[0]", True),
    ("$.epics.*.title", True),
    ("$.epics[?(@.status=='open')].title", True),
    ("$.epics[?@.points > 4].title", True),
    ("$..points", True),
    ("$.order[-1]", True),
    ("$.epics[?!@.tags].title", False),  # negation: the dialects differ on missing members
    ("$.order[0:1]", False),
    ("$.epics[?length(@.tags) > 1].title", False),
]


@pytest.fixture
def pg(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PgStorage]:
    monkeypatch.setenv("ORCHESTRA_STORE_URL", pg_url)
    store = open_store(tmp_path / "machine")
    assert isinstance(store, PgStorage)
    yield store
    store.close()


@pytest.mark.parametrize("expression, on_server", CASES)
def test_jsonpath_same_results_on_both_backends(pg: PgStorage, tmp_path: Path,
                                                expression: str, on_server: bool) -> None:
    files = FileStorage(tmp_path / "files", rules=RULES)
    for store in (files, pg):
        with store.transaction(KEY) as doc:
            doc.update(DOC)
    assert (jsonpath.translate(expression, pg.rules.server_query) is not None) == on_server
    expected = jsonpath_query(files.require(KEY), expression)
    assert files.query_jsonpath(KEY, expression) == expected
    assert pg.query_jsonpath(KEY, expression) == expected


def test_jsonpath_translator_seam_takes_a_better_translator(pg: PgStorage) -> None:
    with pg.transaction(KEY) as doc:
        doc.update(DOC)
    calls: list[str] = []

    def translator(expression: str) -> str | None:
        calls.append(expression)
        return "strict $.\"count\"" if expression == "$['count']" else None

    jsonpath.set_translator(translator)
    try:
        assert pg.query_jsonpath(KEY, "$['count']") == [2]
        assert pg.query_jsonpath(KEY, "$.epics[?(@.points > 4)].title") == ["Sync"]
    finally:
        jsonpath.set_translator(None)
    assert calls == ["$['count']", "$.epics[?(@.points > 4)].title"]


@pytest.mark.parametrize("backend", ["file", "postgres"])
def test_wait_for_change_wakes_on_a_write_and_times_out_otherwise(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    store: Storage = (FileStorage(tmp_path / "files") if backend == "file"
                      else request.getfixturevalue("pg"))
    writer = (FileStorage(tmp_path / "files") if backend == "file"
              else open_store(tmp_path / "other-machine"))
    with store.transaction("sessions/s1/state.json") as doc:
        doc["n"] = 0
    assert store.wait_for_change(["sessions/s1/state.json"], 0.3) is False

    def later() -> None:
        time.sleep(0.3)
        writer.append("sessions/s1/messages.jsonl", {"text": "hi"})

    thread = threading.Thread(target=later)
    thread.start()
    try:
        assert store.wait_for_change(["sessions/s2/", "sessions/s1/"], 30) is True
    finally:
        thread.join()
    assert store.size("sessions/s1/messages.jsonl") > 0


def test_server_refuses_bytes_that_are_not_a_json_object(pg: PgStorage) -> None:
    for raw in (b'{"a": 1', b"[1, 2]", b"\xff\xfe"):
        with pytest.raises(CorruptDocumentError):
            pg._write_document("sessions/s1/state.json", raw)
    assert pg.read("sessions/s1/state.json") is None
    assert pg.list_children("sessions") == []


def test_a_value_postgresql_cannot_store_is_a_clear_error_and_changes_nothing(
        pg: PgStorage) -> None:
    with pg.transaction("sessions/s1/state.json") as doc:
        doc["a"] = 1
    with pytest.raises(InvalidValueError, match="PostgreSQL refused"), \
            pg.transaction("sessions/s1/state.json") as doc:
        doc["a"] = "lone surrogate \ud800 inside"
    assert pg.require("sessions/s1/state.json") == {"a": 1, "version": 1, "schema_version": 1}


def test_a_nul_is_stored_as_the_replacement_character(pg: PgStorage) -> None:
    """``jsonb`` cannot hold U+0000; refusing it would refuse every later write of a
    document a hook put it in (test_pg_hardening), so U+FFFD takes its place."""
    with pg.transaction("sessions/s1/state.json") as doc:
        doc["a\x00"] = ["nul \x00 inside", "\\u0000 is text", "\\\x00"]
    assert pg.require("sessions/s1/state.json")["a\ufffd"] == [
        "nul \ufffd inside", "\\u0000 is text", "\\\ufffd"]


def test_passwords_stay_out_of_config_and_messages(pg_url: str) -> None:
    url = pg_url.replace("@", f":{PASSWORD}@")
    assert has_password(url) and not has_password(pg_url)
    assert PASSWORD not in redact(f"failed for {url} and password={PASSWORD} and "
                                  f"?sslmode=require&password={PASSWORD}")
    with pytest.raises(InvalidValueError, match="contains a password"):
        store_settings({"store": {"url": url}})
    with pytest.raises(InvalidValueError, match="sync_seconds"):
        store_settings({"store": {"url": pg_url, "sync_seconds": "soon"}})


def test_doctor_reports_reachable_schema_and_round_trip_without_password(
        pg: PgStorage, pg_url: str, tmp_path: Path) -> None:
    before = doctor_report(pg_url, root=str(tmp_path / "machine"))
    assert any(not ok and "missing" in message for ok, message, _ in before)
    with pg.transaction("sessions/s1/state.json") as doc:  # first use creates the schema
        doc["a"] = 1
    checks = doctor_report(pg_url, root=str(tmp_path / "machine"))
    messages = [message for _, message, _ in checks]
    assert all(ok for ok, _, _ in checks), checks
    assert any(m.startswith("PostgreSQL") and "reachable" in m for m in messages)
    assert any("version 1 (current)" in m for m in messages)
    assert any(m.startswith("round trip") for m in messages)
    with_password = doctor_report(pg_url.replace("@", f":{PASSWORD}@"),
                                  root=str(tmp_path / "machine"))
    assert not with_password[0][0] and "carries a password" in with_password[0][1]
    assert PASSWORD not in repr(with_password)


def test_doctor_on_a_stopped_server_says_so_in_one_check(tmp_path: Path) -> None:
    checks = doctor_report("postgresql://nobody@127.0.0.1:1/none", root=str(tmp_path))
    assert checks[0][0] is False and "cannot reach PostgreSQL" in checks[0][1]
    assert checks[0][2]
    assert doctor_report(None, root=str(tmp_path)) == []  # file store: nothing to check


def test_first_use_without_rights_to_create_the_schema_says_to_run_migrate(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import os
    import uuid

    import psycopg

    from state import session_manager

    role = "limited_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'limited-pw'")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:*:*:{role}:limited-pw\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / "machine"))
    monkeypatch.setenv("ORCHESTRA_STORE_URL", pg_url.replace("orchestra@", f"{role}@"))
    out, err = io.StringIO(), io.StringIO()
    code = session_manager.main(["list"], stdout=out, stderr=err)
    assert code == 1 and out.getvalue() == ""
    assert len(err.getvalue().splitlines()) == 1
    assert "run `orchestra migrate`" in err.getvalue()
    assert os.environ["ORCHESTRA_STORE_SCHEMA"] in err.getvalue()


SESSION_QUERIES = [
    "$.active_work.tasks[?(@.status=='pending')].subject",   # tasks.json, on the server
    "$.active_work.tasks.*.status",
    "$.project",                                              # state.json, on the server
    "$.mode",
    "$.active_work.current_epic",                             # composed view, in Python
    "$.version",
    "$..subject",
    "$.metrics.events",
]


def test_session_queries_through_the_cli_agree_on_both_backends(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``state_manager get SID '<JSONPath>'``: the PostgreSQL store answers the queries it
    can from one stored document on the server, the rest in Python; both backends print
    the same for the same session."""
    import io
    import json
    import uuid

    from state import session_manager, state_manager

    sid = f"s-{uuid.uuid4().hex[:12]}"
    served: list[str] = []
    original = PgStorage.query_jsonpath

    def spy(self: PgStorage, key: str, expression: str) -> list[object]:
        served.append(expression)
        return original(self, key, expression)

    monkeypatch.setattr(PgStorage, "query_jsonpath", spy)
    outputs = {}
    for backend in ("file", "postgres"):
        monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / backend))
        if backend == "postgres":
            monkeypatch.setenv("ORCHESTRA_STORE_URL", pg_url)
        else:
            monkeypatch.delenv("ORCHESTRA_STORE_URL", raising=False)

        def cli(main: object, *argv: str) -> str:
            out, err = io.StringIO(), io.StringIO()
            assert main(list(argv), stdout=out, stderr=err) == 0, err.getvalue()  # type: ignore[operator]
            return out.getvalue()

        cli(session_manager.main, "create", "--id", sid, "--project", "p1")
        for task, status in (("1", "pending"), ("2", "in_progress"), ("3", "pending")):
            cli(state_manager.main, "set", sid, f"active_work.tasks.{task}.status", status)
            cli(state_manager.main, "set", sid, f"active_work.tasks.{task}.subject", f"t{task}")
        outputs[backend] = [json.loads(cli(state_manager.main, "get", sid, q))
                            for q in SESSION_QUERIES]
        # A session without tasks.json: its view still shows an empty task object.
        cli(session_manager.main, "create", "--id", f"{sid}-idle", "--project", "p1")
        outputs[backend] += [json.loads(cli(state_manager.main, "get", f"{sid}-idle", q))
                             for q in ("$.active_work.tasks", "$.active_work.tasks[*]")]
    assert outputs["postgres"] == outputs["file"]
    assert outputs["file"][-2:] == [[{}], []]
    assert outputs["file"][0] == ["t1", "t3"]
    assert served == ["$.tasks[?(@.status=='pending')].subject", "$.tasks.*.status",
                      "$.project", "$.mode", "$.tasks[*]"]


def test_orchestra_doctor_checks_the_configured_server(
        pg: PgStorage, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``orchestra doctor`` reports the PostgreSQL store (and never its password); a server
    it cannot reach is a FAIL with a fix."""
    import io

    from orchestra.cli import main

    with pg.transaction("sessions/s-doctor/state.json") as doc:
        doc["a"] = 1  # the schema exists
    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / "machine"))
    out = io.StringIO()
    main(["doctor"], stdout=out, stderr=io.StringIO())
    assert "ok    store" in out.getvalue() and "round trip" in out.getvalue(), out.getvalue()
    monkeypatch.setenv("ORCHESTRA_STORE_URL", "postgresql://nobody@127.0.0.1:1/none")
    out = io.StringIO()
    assert main(["doctor"], stdout=out, stderr=io.StringIO()) == 1
    report = out.getvalue()
    assert "FAIL  store" in report and "cannot reach PostgreSQL" in report
    assert "fix:" in report.split("FAIL  store", 1)[1].splitlines()[1]


def test_the_web_dashboard_hears_of_changes_made_on_another_machine(
        pg: PgStorage, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``orchestra serve`` on a PostgreSQL store: a change another machine commits reaches
    the live hub through LISTEN/NOTIFY and reloads the open pages."""
    import threading

    from orchestra.web.live import Hub

    with pg.transaction("sessions/s-web/state.json") as doc:
        doc["a"] = 1  # the schema exists
    other = open_store(tmp_path / "other-machine")
    hub = Hub(pg, interval=5.0)
    result: list[set[str]] = []
    watcher = threading.Thread(target=lambda: result.append(hub.check()[0]))
    watcher.start()
    time.sleep(0.5)  # the hub is listening
    with other.transaction("sessions/s-web/state.json") as doc:
        doc["a"] = 2
    watcher.join(timeout=10)
    other.close()
    assert result and {"resync", "sessions"} <= result[0]


@pytest.mark.parametrize("backend", ["file", "memory", "postgres", "postgres-hook"])
def test_update_volatile_loses_no_change_of_parallel_writers(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The activity's read-modify-write (issue 21): threads of one process each add a key,
    none is lost; an unreadable document counts as empty; another machine reads it."""
    from state.persistence.storage import MemoryStorage

    store: Storage
    if backend == "file":
        store = FileStorage(tmp_path / "files")
    elif backend == "memory":
        store = MemoryStorage()
    else:
        monkeypatch.setenv("ORCHESTRA_STORE_URL", request.getfixturevalue("pg_url"))
        store = open_store(tmp_path / "machine", hook=backend == "postgres-hook")
    key = "sessions/s1/heartbeat.json"

    def add(n: int) -> None:
        store.update_volatile(key, lambda doc: doc.__setitem__(f"k{n}", n))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = store.update_volatile(key, lambda doc: None)
    assert {k: v for k, v in done.items()} == {f"k{n}": n for n in range(16)}
    if backend.startswith("postgres"):
        assert isinstance(store, PgStorage)
        store.sync()  # a hook's writes wait in the outbox until something connects
        other = open_store(tmp_path / "other-machine")
        assert other.read(key) == done
    if backend == "file":
        (tmp_path / "files" / key).write_text("{torn")
        assert store.update_volatile(key, lambda doc: doc.__setitem__("x", 1)) == {"x": 1}
