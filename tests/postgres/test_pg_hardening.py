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
from pathlib import Path

import pytest

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
