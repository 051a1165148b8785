"""The access model of `orchestra serve`, request by request, against the real server."""

from __future__ import annotations

import http.client
import json
import re
from typing import Any

import pytest

from tests.web._support import DEMO_SESSION, Served

pytestmark = pytest.mark.slow


def request(served: Served, method: str, path: str, *, headers: dict[str, str] | None = None,
            body: Any = None, host: str | None = None) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Host": host or f"127.0.0.1:{served.port}", **(headers or {})}
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        connection.close()


def bearer(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.token}"}


def signed_in(served: Served) -> dict[str, str]:
    """A browser session: the Cookie header that signing in with the token gives."""
    status, headers, _text = request(served, "GET", f"/?token={served.token}")
    assert status == 303, status
    return {"Cookie": headers["set-cookie"].split(";")[0]}


def csrf(served: Served, cookie: dict[str, str]) -> str:
    _status, _headers, page = request(served, "GET", "/", headers=cookie)
    match = re.search(r'name="csrf-token" content="([0-9a-f]{64})"', page)
    assert match, page[:200]
    return match.group(1)


def writer(served: Served, **changes: str) -> dict[str, str]:
    """What the page sends with a write: its session cookie, Origin and CSRF header."""
    cookie = signed_in(served)
    headers = {**cookie, "Content-Type": "application/json",
               "Origin": f"http://127.0.0.1:{served.port}",
               "X-Orchestra-CSRF": csrf(served, cookie)}
    headers.update(changes)
    return headers


MESSAGE = {"to": "session", "target": DEMO_SESSION, "text": "security test"}


@pytest.mark.parametrize("path", ["/", "/api/sessions", "/api/events", "/api/board",
                                  "/api/messages", "/api/claims", "/api/decisions",
                                  "/api/stream", "/static/app.js"])
def test_no_token_is_401_and_no_data(served: Served, path: str) -> None:
    status, headers, text = request(served, "GET", path)
    assert status == 401
    assert DEMO_SESSION not in text and headers["content-type"].startswith("text/plain")


def test_a_wrong_token_is_403_in_every_place_it_can_be_given(served: Served) -> None:
    for headers, path in (({"Authorization": "Bearer nope"}, "/api/sessions"),
                          ({"Cookie": f"orchestra_{served.port}=nope"}, "/api/sessions"),
                          ({}, "/api/sessions?token=nope")):
        status, _h, text = request(served, "GET", path, headers=headers)
        assert status == 403 and DEMO_SESSION not in text


def test_the_token_in_the_url_becomes_a_strict_cookie(served: Served) -> None:
    status, headers, _text = request(served, "GET", f"/?token={served.token}&x=1")
    assert status == 303
    assert headers["location"] == "/?x=1"  # the token leaves the address bar
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"orchestra_{served.port}=")
    assert served.token not in cookie  # a session value, not the token
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, _h, text = request(served, "GET", "/api/sessions",
                               headers={"Cookie": cookie.split(";")[0]})
    assert status == 200 and DEMO_SESSION in text


def test_a_foreign_host_header_is_refused_even_with_the_token(served: Served) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 must not read the state."""
    status, _h, text = request(served, "GET", "/api/sessions", headers=bearer(served),
                               host=f"evil.example:{served.port}")
    assert status == 403 and DEMO_SESSION not in text
    status, _h, _t = request(served, "GET", "/api/sessions", headers=bearer(served),
                             host=f"localhost:{served.port}")
    assert status == 200


def test_cross_site_requests_are_refused(served: Served) -> None:
    status, _h, _t = request(served, "GET", "/api/sessions",
                             headers={**bearer(served), "Sec-Fetch-Site": "cross-site"})
    assert status == 403


def test_no_cors_headers_anywhere(served: Served) -> None:
    origin = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    for method, path in (("GET", "/api/sessions"), ("OPTIONS", "/api/messages"),
                         ("GET", "/")):
        _status, headers, _text = request(served, method, path,
                                          headers={**bearer(served), **origin})
        assert not any(k.startswith("access-control-") for k in headers), headers


def test_security_headers(served: Served) -> None:
    _status, headers, _text = request(served, "GET", "/", headers=bearer(served))
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_writes_need_the_csrf_token_and_the_same_origin(served: Served,
                                                        demo_home: Any) -> None:
    from state.messages import inbox
    from state.store import open_store

    before = len(inbox(open_store(demo_home), DEMO_SESSION, include_delivered=True))
    refused = [
        writer(served, **{"X-Orchestra-CSRF": "0" * 64}),
        {k: v for k, v in writer(served).items() if k != "X-Orchestra-CSRF"},
        writer(served, Origin="http://evil.example"),
        {k: v for k, v in writer(served).items() if k != "Origin"},
        {k: v for k, v in writer(served).items() if k != "Cookie"},
    ]
    for headers in refused:
        status, _h, _t = request(served, "POST", "/api/messages", headers=headers, body=MESSAGE)
        assert status in (401, 403), headers
    after = inbox(open_store(demo_home), DEMO_SESSION, include_delivered=True)
    assert len(after) == before  # nothing was written

    status, _h, text = request(served, "POST", "/api/messages", headers=writer(served),
                               body=MESSAGE)
    assert status == 201, text
    assert json.loads(text)["message"]["from"] == "web"


def test_bad_writes_change_nothing_and_say_why(served: Served, demo_home: Any) -> None:
    from state.messages import inbox
    from state.store import open_store

    before = len(inbox(open_store(demo_home), DEMO_SESSION, include_delivered=True))
    cases = [({"to": "session", "target": "../../etc", "text": "x"}, 400, "invalid session id"),
             ({"to": "session", "target": "no-such-session", "text": "x"}, 404, "no session"),
             ({"to": "session", "target": DEMO_SESSION, "text": "   "}, 400, "empty"),
             ({"to": "session", "target": DEMO_SESSION, "text": "x" * 16_001}, 400, "limit"),
             ({"to": "mars", "text": "x"}, 400, "'to' must be"),
             ([1, 2], 400, "JSON object")]
    for body, code, words in cases:
        status, _h, text = request(served, "POST", "/api/messages", headers=writer(served),
                                   body=body)
        assert status == code and words in json.loads(text)["error"], (body, text)
    status, _h, _t = request(served, "POST", "/api/messages",
                             headers=writer(served, **{"Content-Type": "text/plain"}),
                             body=MESSAGE)
    assert status == 415
    after = inbox(open_store(demo_home), DEMO_SESSION, include_delivered=True)
    assert len(after) == before


def test_bad_queries_are_400_not_500(served: Served) -> None:
    for path in ("/api/events?before=yesterday", "/api/events?session=../x",
                 "/api/sessions?status=sleepy", "/api/sessions?page=two",
                 "/api/decisions?project=a/b", f"/api/events?tool={'x' * 300}"):
        status, _h, text = request(served, "GET", path, headers=bearer(served))
        assert status == 400, (path, text)
        assert json.loads(text)["error"]
    status, _h, _t = request(served, "GET", "/api/events?session=nobody",
                             headers=bearer(served))
    assert status == 404
