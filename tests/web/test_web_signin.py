"""Signing in to `orchestra serve` (issue 23, #7-#10, #15, and Bearer writes of #16):
one-time links, browser sessions that are useless elsewhere, rotate and expire, a lenient
cookie parser, and redirects that stay on the server. Each against a real server."""

from __future__ import annotations

import http.client as http_lib
import json
import stat
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from tests.web._support import DEMO_SESSION, Served, http, sign_in

pytestmark = pytest.mark.slow

MESSAGE = {"to": "session", "target": DEMO_SESSION, "text": "sign-in test"}


def bearer(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.token}"}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def stop(server: Served) -> None:
    code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


# -- #7: the cookie holds a session value, useless elsewhere -------------------------------

def test_the_cookie_holds_a_session_value_that_works_nowhere_else(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = Served(home)
    try:
        status, headers, _text = http(server, "GET", path_of(server.link))
        assert status == 303
        assert server.token not in headers["set-cookie"]
        cookie = headers["set-cookie"].split(";")[0]
        name, value = cookie.split("=", 1)
        assert name == f"orchestra_{server.port}"
        assert http(server, "GET", "/api/sessions", headers={"Cookie": cookie})[0] == 200
        # Not a key anywhere but in this cookie:
        assert http(server, "GET", "/api/sessions",
                    headers={"Authorization": f"Bearer {value}"})[0] == 403
        assert http(server, "GET", f"/api/sessions?token={value}")[0] == 403
        # ...and the cookie takes only session values, never the token itself.
        assert http(server, "GET", "/api/sessions",
                    headers={"Cookie": f"{name}={server.token}"})[0] == 403
        port = server.port
    finally:
        stop(server)
    again = Served(home, "--port", str(port), port=False)  # the same port, restarted
    try:
        status, _h, text = http(again, "GET", "/api/sessions", headers={"Cookie": cookie})
        assert status == 403 and "sign in again" in text
        assert http(again, "GET", "/api/sessions", headers=bearer(again))[0] == 200
    finally:
        stop(again)


# -- #8: --open puts no reusable secret in argv ---------------------------------------------

def test_open_hands_the_browser_a_code_that_works_once(tmp_path: Path) -> None:
    record = tmp_path / "argv.json"
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\nimport json, sys\n"
                       f"open({str(record)!r}, 'w').write(json.dumps(sys.argv))\n")
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    server = Served(tmp_path / "home", "--open", env={"BROWSER": str(browser)})
    try:
        deadline = time.monotonic() + 30
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        argv = json.loads(record.read_text())
        assert server.token not in " ".join(argv)  # what ps shows holds no token
        url = argv[-1]
        assert url.startswith(f"{server.base}/?code=") and url != server.link
        assert http(server, "HEAD", path_of(url))[0] == 401  # a HEAD does not use it up
        status, headers, _text = http(server, "GET", path_of(url))
        assert status == 303 and "set-cookie" in headers  # exchanged once...
        status, headers, text = http(server, "GET", path_of(url))
        assert status == 403 and "set-cookie" not in headers  # ...then dead
        assert "works once" in text
        assert http(server, "GET", path_of(server.link))[0] == 303  # the printed one is its own
    finally:
        stop(server)


# -- #9: the session rotates and expires; Bearer keeps working ------------------------------

def test_a_browser_session_rotates_then_expires_while_bearer_keeps_working(
        tmp_path: Path) -> None:
    # --session-idle 8s: the value is replaced after 2 s of use, the old one dies 1 s later.
    server = Served(tmp_path / "home", "--session-idle", "8s")
    try:
        first = sign_in(server, path_of(server.link))
        status, headers, _text = http(server, "GET", "/api/sessions", headers={"Cookie": first})
        assert status == 200 and "set-cookie" not in headers
        time.sleep(2.5)
        status, headers, _text = http(server, "GET", "/api/sessions", headers={"Cookie": first})
        assert status == 200
        renewed = headers["set-cookie"]
        assert "HttpOnly" in renewed and "SameSite=Strict" in renewed
        latest = renewed.split(";")[0]
        assert latest != first and latest.split("=")[0] == first.split("=")[0]
        # Until the browser shows it has the new value, the old one gets it again (the
        # answer that carried it may have been lost)...
        status, headers, _text = http(server, "GET", "/api/sessions", headers={"Cookie": first})
        assert status == 200 and headers["set-cookie"].split(";")[0] == latest
        assert http(server, "GET", "/api/sessions", headers={"Cookie": latest})[0] == 200
        # ...and once it has, the old one dies when its grace is over.
        time.sleep(1.5)
        assert http(server, "GET", "/api/sessions", headers={"Cookie": first})[0] == 403
        status, headers, _text = http(server, "GET", "/api/sessions", headers={"Cookie": latest})
        assert status == 200
        latest = headers.get("set-cookie", latest).split(";")[0]
        time.sleep(8.5)  # longer than --session-idle without a request
        status, _h, text = http(server, "GET", "/api/sessions", headers={"Cookie": latest})
        assert status == 403 and "sign in again" in text
        assert http(server, "GET", "/api/sessions", headers=bearer(server))[0] == 200
    finally:
        stop(server)


def test_a_page_with_the_live_stream_open_stays_signed_in(tmp_path: Path) -> None:
    server = Served(tmp_path / "home", "--session-idle", "4s")
    try:
        cookie = sign_in(server, path_of(server.link))
        connection = http_lib.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("GET", "/api/stream?events=0",
                           headers={"Cookie": cookie, "Host": f"127.0.0.1:{server.port}"})
        stream = connection.getresponse()
        assert stream.status == 200 and stream.readline().startswith(b"retry:")
        time.sleep(5)  # longer than --session-idle, with the stream open
        status, headers, _text = http(server, "GET", "/api/sessions", headers={"Cookie": cookie})
        assert status == 200
        cookie = headers.get("set-cookie", cookie).split(";")[0]
        connection.close()  # the page is closed
        time.sleep(5)
        assert http(server, "GET", "/api/sessions", headers={"Cookie": cookie})[0] == 403
    finally:
        stop(server)


def test_session_idle_must_be_a_duration(tmp_path: Path) -> None:
    import io

    from orchestra.web import main

    for bad in ("soon", "0", "-5m"):
        err = io.StringIO()
        assert main(["--session-idle", bad, "--port", "0"], stdout=io.StringIO(),
                    stderr=err) == 2
        assert "--session-idle" in err.getvalue() and err.getvalue().count("\n") == 1


# -- the sign-in form: a second browser, without the token in a URL -------------------------

def test_a_page_without_a_session_is_the_sign_in_form(served: Served) -> None:
    status, headers, text = http(served, "GET", "/", headers={"Accept": "text/html"})
    assert status == 401 and headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login">' in text and DEMO_SESSION not in text
    # An API call or a script still gets a short text.
    status, headers, _text = http(served, "GET", "/api/sessions",
                                  headers={"Accept": "text/html"})
    assert status == 401 and headers["content-type"].startswith("text/plain")


def test_the_sign_in_form_takes_the_token_in_the_body(served: Served) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded",
            "Origin": served.base}
    status, headers, text = http(served, "POST", "/login", headers=form,
                                 data=urlencode({"token": "not-it"}).encode())
    assert status == 403 and "set-cookie" not in headers and "not the access token" in text
    status, headers, _text = http(served, "POST", "/login", headers=form,
                                  data=urlencode({"token": served.token}).encode())
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"].split(";")[0]
    assert served.token not in cookie
    assert http(served, "GET", "/api/sessions", headers={"Cookie": cookie})[0] == 200
    # From another origin, or not as a form: refused.
    status, headers, _text = http(served, "POST", "/login",
                                  headers={**form, "Origin": "http://evil.example"},
                                  data=urlencode({"token": served.token}).encode())
    assert status == 403 and "set-cookie" not in headers
    status, _h, _t = http(served, "POST", "/login",
                          headers={"Content-Type": "application/json"}, body=MESSAGE)
    assert status == 415


# -- #10: one malformed cookie of another app does not lock the user out --------------------

SHAPES = ["foo; {c}", "a=b c; {c}", "{c}; a=b c", 'a="b; {c}', 'a=b"c; {c}', "a=\\; {c}",
          "=x; {c}", "a=b,c; {c}", "a[1]=b; {c}", "a=b;;; {c}", " ; {c}", "a=\x7f; {c}",
          "$Version=1; a=b c; {c}", "{name}=stale; {c}", '{name}="{value}"',
          "a=b c;{c};d=e f", "{name} = {value}"]


@pytest.mark.parametrize("shape", SHAPES)
def test_malformed_cookies_of_other_apps_are_ignored(served: Served, shape: str,
                                                     session_cookie: str) -> None:
    name, value = session_cookie.split("=", 1)
    header = shape.format(c=session_cookie, name=name, value=value)
    status, _h, text = http(served, "GET", "/api/sessions", headers={"Cookie": header})
    assert status == 200 and DEMO_SESSION in text, (header, text)


def test_cookies_in_bytes_beyond_ascii_and_in_several_headers(served: Served,
                                                              session_cookie: str) -> None:
    connection = http_lib.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        connection.putrequest("GET", "/api/sessions", skip_host=True)
        connection.putheader("Host", f"127.0.0.1:{served.port}")
        connection.putheader("Cookie", "caf\u00e9=cr\u00e8me br\u00fbl\u00e9e".encode())
        connection.putheader("Cookie", b"x=\xff\xfe; " + session_cookie.encode())
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 200 and DEMO_SESSION in response.read().decode()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def session_cookie(served: Served) -> str:
    return sign_in(served)


# -- #15: signing in redirects only to a local path ------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example/", "///evil.example/x", "/\\evil.example/",
                                    "/%2F%2Fevil.example/", "//evil.example/%2E%2E/",
                                    "/\\/evil.example"])
def test_signing_in_never_redirects_off_the_server(served: Served, target: str) -> None:
    status, headers, _text = http(served, "GET", f"{target}?token={served.token}&page=2")
    assert status == 303
    location = headers["location"]
    assert location.startswith("/") and location[1:2] not in ("/", "\\"), location
    assert urlsplit(urljoin(served.base + "/", location)).netloc == f"127.0.0.1:{served.port}"
    assert location.endswith("?page=2") and served.token not in location


def test_the_redirect_keeps_the_local_path_and_query(served: Served) -> None:
    status, headers, _text = http(served, "GET",
                                  f"/api/sessions?status=ended&token={served.token}")
    assert status == 303 and headers["location"] == "/api/sessions?status=ended"


# -- #16: Bearer and writes -------------------------------------------------------------------

def test_a_script_with_the_bearer_token_writes_without_origin_or_csrf(
        served: Served, demo_home: Any, session_cookie: str) -> None:
    from state.messages import inbox
    from state.store import open_store

    def count() -> int:
        return len(inbox(open_store(demo_home), DEMO_SESSION, include_delivered=True))

    before = count()
    json_body = {"Content-Type": "application/json"}
    status, _h, text = http(served, "POST", "/api/messages",
                            headers={**json_body, "Authorization": "Bearer wrong"}, body=MESSAGE)
    assert status == 403 and count() == before
    # The cookie is sent by the browser to anyone: a write with it alone is refused...
    status, _h, text = http(served, "POST", "/api/messages",
                            headers={**json_body, "Cookie": session_cookie}, body=MESSAGE)
    assert status == 403 and count() == before
    # ...but no web page can attach the Bearer header, so it is enough.
    status, _h, text = http(served, "POST", "/api/messages",
                            headers={**json_body, **bearer(served)}, body=MESSAGE)
    assert status == 201, text
    assert count() == before + 1
    # The query token is for signing a browser in, not a credential for a write.
    status, _h, text = http(served, "POST", f"/api/messages?token={served.token}",
                            headers=json_body, body=MESSAGE)
    assert status == 401 and count() == before + 1

