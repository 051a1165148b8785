"""Hostile and odd requests to `orchestra serve` (issue 23, #13, #14, #16): a deeply nested
body, a message to a project nobody knows, the page's raw template, HEAD on the stream."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.web._support import DEMO_SESSION, Served, http, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page_headers(served: Served) -> dict[str, str]:
    """What the page sends with a write: its session cookie, Origin and CSRF header."""
    cookie = sign_in(served)
    _status, _h, page = http(served, "GET", "/", headers={"Cookie": cookie})
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return {"Cookie": cookie, "Origin": served.base, "X-Orchestra-CSRF": csrf,
            "Content-Type": "application/json"}


def all_messages(home: Path) -> list[dict[str, Any]]:
    """Every message written anywhere in the state root (direct, project, broadcast)."""
    return [json.loads(line) for path in home.rglob("messages.jsonl")
            for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_a_deeply_nested_body_is_a_400(served: Served, demo_home: Path,
                                      page_headers: dict[str, str]) -> None:
    before = len(all_messages(demo_home))
    for body in (b"[" * 60_000, b'{"a":' * 20_000, b"[" * 60_000 + b"]" * 60_000):
        status, headers, text = http(served, "POST", "/api/messages", headers=page_headers,
                                     data=body)
        assert status == 400, text[:300]
        assert headers["content-type"].startswith("application/json")
        assert "nested too deeply" in json.loads(text)["error"] or "not valid" in text
        assert "Traceback" not in text and "RecursionError" not in text
    assert len(all_messages(demo_home)) == before
    assert http(served, "GET", "/api/sessions", headers=page_headers)[0] == 200


def test_a_message_to_an_unknown_project_is_refused_as_the_cli_refuses_it(
        served: Served, demo_home: Path, page_headers: dict[str, str]) -> None:
    from state.shared import list_projects
    from state.store import open_store

    before = len(all_messages(demo_home))
    body = {"to": "project", "target": "no-such-project", "text": "hello?"}
    status, _h, text = http(served, "POST", "/api/messages", headers=page_headers, body=body)
    assert status == 404, text
    error = json.loads(text)["error"]
    assert "no project 'no-such-project'" in error and "known projects: project" in error
    assert "new_project" in error
    assert len(all_messages(demo_home)) == before
    assert "no-such-project" not in list_projects(open_store(demo_home))
    # The project the demo's session has is known (and its spelling resolved, as the CLI does).
    status, _h, text = http(served, "POST", "/api/messages", headers=page_headers,
                            body={**body, "target": "Project"})
    assert status == 201 and json.loads(text)["message"]["to"] == "project project", text
    # A new project is asked for explicitly...
    status, _h, text = http(served, "POST", "/api/messages", headers=page_headers,
                            body={**body, "new_project": True})
    assert status == 201 and json.loads(text)["message"]["to"] == "project no-such-project"
    # ...and only goes with a project.
    status, _h, text = http(served, "POST", "/api/messages", headers=page_headers,
                            body={"to": "session", "target": DEMO_SESSION, "text": "x",
                                  "new_project": True})
    assert status == 400 and "new_project" in json.loads(text)["error"]
    assert len(all_messages(demo_home)) == before + 2


@pytest.mark.parametrize("path", ["/static/index.html", "/static//index.html",
                                  "/static/./index.html", "/static/%69ndex.html",
                                  "/static/sub/../index.html"])
def test_the_pages_template_is_not_served_raw(served: Served, path: str,
                                              page_headers: dict[str, str]) -> None:
    status, _h, text = http(served, "GET", path, headers=page_headers)
    assert status == 404 and "{{csrf}}" not in text
    status, _h, text = http(served, "GET", "/static/app.js", headers=page_headers)
    assert status == 200 and "use strict" in text
    status, _h, text = http(served, "GET", "/", headers=page_headers)
    assert status == 200 and "{{csrf}}" not in text


def test_head_on_the_stream_ends(served: Served) -> None:
    """HEAD gets the stream's headers and nothing more: the connection is free again."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=15) as sock:
        auth = f"Host: 127.0.0.1:{served.port}\r\nAuthorization: Bearer {served.token}\r\n"
        sock.sendall(f"HEAD /api/stream HTTP/1.1\r\n{auth}\r\n"
                     f"GET /api/sessions HTTP/1.1\r\n{auth}Connection: close\r\n\r\n".encode())
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    assert rest.startswith(b"HTTP/1.1 200"), received[:400]  # the next answer, not a stream
    assert DEMO_SESSION.encode() in rest


def test_a_shared_server_that_is_away_is_a_503_and_what_can_wait_is_queued(
        tmp_path: Path) -> None:
    """With the PostgreSQL server away (``ORCHESTRA_STORE_URL`` to a closed port), reads
    that need it answer 503 with Retry-After and a reason without the password, not a
    500; a broadcast is queued (201) as ``orchestra send --all`` queues it."""
    home = tmp_path / "orchestra"
    url = "postgresql://alice:pw-never-shown@127.0.0.1:1/orchestra"
    server = Served(home, env={"ORCHESTRA_STORE_URL": url})
    try:
        bearer = {"Authorization": f"Bearer {server.token}"}
        for path in ("/api/sessions", "/api/timeline", "/api/timeline/usage"):
            status, headers, text = http(server, "GET", path, headers=bearer)
            assert status == 503, (path, status, text)
            assert headers["retry-after"] == "5"
            reason = json.loads(text)["error"]
            assert "cannot reach PostgreSQL" in reason and "pw-never-shown" not in reason
        status, _h, text = http(server, "POST", "/api/messages",
                                headers={**bearer, "Content-Type": "application/json"},
                                body={"to": "all", "text": "while away"})
        assert status == 201, text
        assert any((home / "pg" / "outbox").glob("*.json"))
    finally:
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err and "pw-never-shown" not in err, err
