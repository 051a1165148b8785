"""``/api/timeline`` and ``/api/timeline/usage`` over HTTP, against a real server process:
behind the same guard as every page, bad input refused with 400 and no data."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.web import _timeline as tl
from tests.web._support import Served, http, sign_in

pytestmark = pytest.mark.slow

A = "0b6f3c1e-7d2a-4e59-9a41-5f0c8e2d7b13"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("api") / "orchestra"
    tl.replay(home, tl.working_day(A))
    server = Served(home)
    yield server
    code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def cookie(served: Served) -> str:
    return sign_in(served)


def _get(served: Served, cookie: str, path: str) -> tuple[int, dict]:
    status, _headers, text = http(served, "GET", path, headers={"Cookie": cookie})
    return status, json.loads(text) if text.startswith("{") else {"text": text}


def test_the_timeline_needs_the_sign_in(served: Served) -> None:
    for path in ("/api/timeline", "/api/timeline/usage", "/api/timeline?zoom=day"):
        status, _headers, text = http(served, "GET", path)
        assert status == 401 and A not in text


def test_lanes_and_usage_answer_json(served: Served, cookie: str) -> None:
    status, data = _get(served, cookie, "/api/timeline?zoom=15m&width=800")
    assert status == 200 and data["zoom"] == "15m" and data["total"] == 1
    assert [lane["session"] for lane in data["lanes"]] == [A]
    assert {i["kind"] for i in data["items"][A]} == {"wait"}
    status, data = _get(served, cookie, f"/api/timeline?zoom=1h&sessions={A}")
    assert status == 200 and list(data["items"]) == [A]
    status, usage = _get(served, cookie, "/api/timeline/usage")
    assert status == 200 and usage["project"] == "project"
    # A replay reads no transcript: no tokens, said as unknown, never as zero.
    assert usage["total"]["tokens"] is None and usage["total"]["usd"] is None
    assert [u["session"] for u in usage["unknown_tokens"]] == [A]


@pytest.mark.parametrize("query", [
    "zoom=week", "order=random", "end=soon", "end=nan", "end=inf", "width=wide",
    "offset=-x", "project=..%2Fetc", f"sessions={A},..%2F..%2Fetc", "zoom=" + "x" * 300,
    "sessions=" + ",".join(f"s{n}" for n in range(101)),
])
def test_bad_input_is_a_400(served: Served, cookie: str, query: str) -> None:
    status, data = _get(served, cookie, f"/api/timeline?{query}")
    assert status == 400 and "error" in data and "lanes" not in data


def test_odd_but_valid_input_is_clamped(served: Served, cookie: str) -> None:
    status, data = _get(served, cookie, "/api/timeline?width=99999999&limit=100000&offset=-5")
    assert status == 200 and data["width"] == 8000 and data["limit"] == 100
    assert data["offset"] == 0
    status, data = _get(served, cookie, "/api/timeline?end=1e300")
    assert status == 200 and data["live"] is True
    status, data = _get(served, cookie, "/api/timeline?end=-1e300&zoom=day")
    assert status == 200 and data["items"][A] == []
    status, data = _get(served, cookie, "/api/timeline?project=nobody")
    assert status == 200 and data["total"] == 0 and data["lanes"] == []
