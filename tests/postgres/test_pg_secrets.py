"""Passwords in the store URL never reach output, logs or the machine's files (issue 23, #4).

libpq reads the credentials of a URI up to the first ``@`` before any ``/``, so a raw
``?`` or a raw space is part of the password; libpq's own error text quotes such a URL
back ("unexpected spaces found in ..."). Every command, hook and file is checked
through the public surface: the ``orchestra`` CLI, the dispatcher, the state root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests._postgres import Cluster
from tests.handlers._support import payload
from tests.postgres.conftest import REPO

SECRET = "Sup3r?S3cret"  # a raw "?" in the password
SPACED = "Sup3r S3cret"  # a raw space in the password
#: What none of the output may hold: the parts after the "?" or space, and both whole.
FRAGMENTS = ("S3cret", "Sup3r")

#: Commands of the front door that touch the store, with what they need.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("migrate",), ("migrate", "--status"), ("doctor",), ("who",), ("show", "s1"),
    ("events", "s1"), ("get", "s1", "project"), ("set", "s1", "notes.x", "1"),
    ("send", "--all", "hello"), ("send", "--to", "s1", "hello"), ("inbox", "s1"),
    ("dashboard",), ("shared", "list-projects"),
)


def _run(argv: list[str], env: dict[str, str], stdin: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120, check=False)


def _env(home: Path, url: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRA_", "CLAUDE_"))}
    env.update({"ORCHESTRA_HOME": str(home), "PYTHONPATH": str(REPO),
                "ORCHESTRA_STORE_URL": url, "ORCHESTRA_SESSION_ID": "s1", **more})
    return env


def _leaks(text: str) -> list[str]:
    return [f for f in FRAGMENTS if f in text]


def _files_holding(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and _leaks(path.read_bytes().decode("utf-8", "replace")):
            found.append(str(path.relative_to(root)))
    return found


@pytest.mark.parametrize("password", [SECRET, SPACED], ids=["raw-question-mark", "raw-space"])
def test_an_unreachable_server_never_shows_the_password(tmp_path: Path, password: str) -> None:
    url = f"postgresql://alice:{password}@127.0.0.1:1/orchestra?sslmode=disable"
    env = _env(tmp_path, url)
    seen: dict[str, Any] = {}
    for argv in COMMANDS:
        done = _run([sys.executable, "-m", "orchestra", *argv], env)
        seen[" ".join(argv)] = (done.returncode, done.stdout, done.stderr)
        assert not _leaks(done.stdout + done.stderr), (argv, done.stdout, done.stderr)
    assert seen["migrate"][0] != 0 and seen["migrate"][2].strip()  # it failed, and said so
    assert "postgresql://alice@127.0.0.1:1/orchestra" in seen["doctor"][1]
    assert "carries a password" in seen["doctor"][1]
    hook = _run([sys.executable, "-m", "hooks.dispatch"], env,
                stdin=json.dumps(payload("SessionStart.startup", "s1")))
    assert hook.returncode == 0 and not _leaks(hook.stdout + hook.stderr)
    log = tmp_path / "logs" / "dispatch.log"
    assert " ERROR " not in (log.read_text() if log.exists() else "")  # queued, not failed
    assert any((tmp_path / "pg" / "outbox").glob("*.json"))
    assert _files_holding(tmp_path) == []  # the breaker, the logs, the outbox


@pytest.mark.parametrize("password", ["Sup3r/S3cret", "Sup3r@S3cret"],
                         ids=["raw-slash", "raw-at"])
def test_a_password_libpq_misreads_is_never_shown_either(tmp_path: Path, password: str) -> None:
    """libpq ends the credentials at the first ``/`` or ``@``, so it takes part of such a
    password for a host, port or database and quotes that part in its error: the whole
    of what was meant as the password stays hidden, and the URL around it stays readable."""
    url = f"postgresql://alice:{password}@127.0.0.1:1/orchestra"
    env = _env(tmp_path, url)
    for argv in COMMANDS:
        done = _run([sys.executable, "-m", "orchestra", *argv], env)
        assert not _leaks(done.stdout + done.stderr), (argv, done.stdout, done.stderr)
    migrated = _run([sys.executable, "-m", "orchestra", "migrate"], env)
    assert migrated.returncode != 0 and "127.0.0.1:1/orchestra" in migrated.stderr
    hook = _run([sys.executable, "-m", "hooks.dispatch"], env,
                stdin=json.dumps(payload("SessionStart.startup", "s1")))
    assert hook.returncode == 0 and not _leaks(hook.stdout + hook.stderr)
    assert _files_holding(tmp_path) == []


def test_a_reachable_server_with_such_a_password_never_shows_it(
        tmp_path: Path, pg_url: str, pg_cluster: Cluster) -> None:
    import psycopg

    role = "r_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{SECRET}'")
    url = f"postgresql://{role}:{SECRET}@127.0.0.1:{pg_cluster.port}/postgres"
    env = _env(tmp_path, url, ORCHESTRA_STORE_SCHEMA="s_" + uuid.uuid4().hex[:8])
    migrated = _run([sys.executable, "-m", "orchestra", "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout)["server"] == (
        f"postgresql://{role}@127.0.0.1:{pg_cluster.port}/postgres")
    hook = _run([sys.executable, "-m", "hooks.dispatch"], env,
                stdin=json.dumps(payload("SessionStart.startup", "s1")))
    assert hook.returncode == 0, hook.stderr
    for argv in COMMANDS:
        done = _run([sys.executable, "-m", "orchestra", *argv], env)
        assert not _leaks(done.stdout + done.stderr), (argv, done.stdout, done.stderr)
    who = _run([sys.executable, "-m", "orchestra", "who", "--compact"], env)
    assert [s["session_id"] for s in json.loads(who.stdout)] == ["s1"]  # it did connect
    doctor = _run([sys.executable, "-m", "orchestra", "doctor"], env)
    assert "reachable" in doctor.stdout and "carries a password" in doctor.stdout
    assert _files_holding(tmp_path) == []
