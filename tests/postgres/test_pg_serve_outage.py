"""``orchestra serve`` and ``orchestra inbox --follow`` on PostgreSQL across a server
restart: a long-running command must not stay offline for the rest of its life.

It did: the store went "offline for the rest of this process" at the first lost
connection, which suits a hook (one attempt each) but left a running ``orchestra serve``
answering 503 to every read, and its live stream silent, long after the server was back.
Now a command tries again ``store.retry_seconds`` after an outage (shipping its outbox
first), and the LISTEN connection the server dropped is replaced.
"""

from __future__ import annotations

import contextlib
import http.client as http_client
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._postgres import Cluster
from tests.handlers._support import payload
from tests.postgres.test_pg_fault import _machine
from tests.web._support import Served, http


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A cluster of this test's own: stopping it must not disturb other tests."""
    own = Cluster.create()
    try:
        yield own
    finally:
        own.destroy()


def _until(check: object, attempts: int = 60) -> bool:
    for _ in range(attempts):
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


def test_serve_reads_and_streams_again_once_the_server_is_back(tmp_path: Path,
                                                               cluster: Cluster) -> None:
    """A page open across the outage: its reads come back, and so does its live stream
    (the hub's LISTEN connection died with the server and is replaced)."""
    a = _machine("a", tmp_path, cluster)  # retry_seconds 1
    assert a.dispatch(payload("SessionStart.startup", "s1")).code == 0
    served = Served(a.root, env=dict(a.env))
    bearer = {"Authorization": f"Bearer {served.token}"}
    lines: list[bytes] = []
    connection = http_client.HTTPConnection("127.0.0.1", served.port, timeout=120)

    def follow() -> None:
        connection.request("GET", "/api/stream", headers={
            **bearer, "Host": served.base.split("//", 1)[1]})
        response = connection.getresponse()
        with contextlib.suppress(OSError, ValueError, AttributeError):
            while line := response.readline():
                lines.append(line)

    try:
        assert http(served, "GET", "/api/sessions", headers=bearer)[0] == 200
        threading.Thread(target=follow, daemon=True).start()
        assert _until(lambda: b"event: hello\n" in lines)
        time.sleep(1.5)  # the hub has primed what exists and listens
        cluster.stop(mode="immediate")
        assert http(served, "GET", "/api/sessions", headers=bearer)[0] == 503
        sent = a.cli("state.session_manager", "send", "--to", "s1", "--from", "cli",
                     "sent while the server was down", check=False)
        assert sent.returncode == 0, sent.stderr
        cluster.start()
        assert _until(lambda: all(
            http(served, "GET", path, headers=bearer)[0] == 200
            for path in ("/api/sessions", "/api/timeline", "/api/timeline/usage"))), \
            "orchestra serve stayed offline after the server came back"
        time.sleep(2)  # the hub is listening again
        seen = len(lines)
        assert a.dispatch(payload("PostToolUse.Bash", "s1", tool_use_id="tu-back")).code == 0
        assert _until(lambda: b"event: change\n" in lines[seen:]), lines  # live again
    finally:
        code, err = served.stop()
    assert code == 0 and "Traceback" not in err, err


def test_inbox_follow_outlives_a_server_restart(tmp_path: Path, cluster: Cluster) -> None:
    """The plugin's monitor, ``orchestra inbox --follow``, crashed at the first lost
    connection, so its session got no more messages by it. Now it waits the outage out
    and delivers what is sent before, during and after it, each once."""
    import subprocess
    import sys

    from tests.postgres.conftest import REPO

    a = _machine("a", tmp_path, cluster)
    assert a.dispatch(payload("SessionStart.startup", "s1")).code == 0
    follower = subprocess.Popen(
        [sys.executable, "-m", "orchestra", "inbox", "s1", "--follow"], cwd=REPO,
        env={**a.env, "ORCHESTRA_SESSION_ID": "s1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()

    def send(text: str) -> None:
        done = a.cli("state.session_manager", "send", "--to", "s1", "--from", "r1", text,
                     check=False)
        assert done.returncode == 0, done.stderr

    try:
        send("before")
        assert _until(lambda: any("before" in line for line in lines))
        cluster.stop(mode="immediate")
        time.sleep(2)  # the follower meets the outage
        send("during")
        assert follower.poll() is None, follower.stderr.read() if follower.stderr else ""
        cluster.start()
        send("after")
        assert _until(lambda: any("after" in line for line in lines)
                      and any("during" in line for line in lines)), lines
        assert follower.poll() is None
    finally:
        follower.terminate()
        follower.wait(30)
    texts = [t for t in ("before", "during", "after") for line in lines if f'"{t}"' in line]
    assert texts == ["before", "during", "after"], lines
