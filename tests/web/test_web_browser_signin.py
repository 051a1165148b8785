"""Signing in and hostile text in a real browser (issue 23, #9 and #16): headless Chromium
from the distribution, driven by Playwright, with a profile on disk so that its history
can be read back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.web._support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_SESSION,
    Served,
    dispatch,
    http,
    tool_event,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh(demo_home: Path) -> Iterator[Served]:
    """A server of its own: its printed one-time link is still unused."""
    server = Served(demo_home)
    yield server
    code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


def history(profile: Path) -> list[str]:
    """Every URL the browser recorded (redirect sources included)."""
    with sqlite3.connect(profile / "Default" / "History") as db:
        return [row[0] for row in db.execute("SELECT url FROM urls")]


def persistent(browser: Any, profile: Path) -> Any:
    return browser.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def test_no_key_stays_in_the_browsers_history(fresh: Served, browser: Any,
                                              tmp_path: Path) -> None:
    """The printed link signs one browser in; a second signs in on the form with the token.
    Neither history holds the token, nor any URL that signs in again."""
    from playwright.sync_api import expect

    row = f'section[data-page="sessions"] tr[data-session="{DEMO_SESSION}"]'
    profiles = [tmp_path / "first", tmp_path / "second"]
    context = persistent(browser, profiles[0])
    try:
        page = context.new_page()
        page.goto(fresh.link)
        expect(page.locator(row)).to_be_visible(timeout=15_000)
        assert "code=" not in page.url
    finally:
        context.close()
    context = persistent(browser, profiles[1])
    try:
        page = context.new_page()
        response = page.goto(fresh.link)  # already used
        assert response is not None and response.status == 403
        page.fill('input[name="token"]', fresh.token)
        page.click('button[type="submit"]')
        expect(page.locator(row)).to_be_visible(timeout=15_000)
        cookie = next(c for c in context.cookies() if c["name"] == f"orchestra_{fresh.port}")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["value"] != fresh.token
    finally:
        context.close()
    for profile in profiles:
        urls = history(profile)
        assert urls, profile
        for url in urls:
            assert fresh.token not in url, url
            parts = urlsplit(url)
            status, headers, _text = http(fresh, "GET", parts.path + (
                f"?{parts.query}" if parts.query else ""))
            assert "set-cookie" not in headers and status in (401, 403), (url, status)


HOSTILE = "abc\u202eevil.exe\u202c \x1b[31mred\x1b[0m \u2066iso\u2069 \u200fRLM"


def test_bidi_controls_and_ansi_codes_are_shown_as_escapes(served: Served, page: Any,
                                                           demo_home: Path) -> None:
    from playwright.sync_api import expect

    from state.messages import send_message
    from state.store import open_store

    send_message(open_store(demo_home), text=HOSTILE, sender="cli", to_session=DEMO_SESSION)
    dispatch(demo_home, tool_event(DEMO_SESSION, f"echo {HOSTILE}", n=7))
    page.goto(served.url)
    page.goto(f"{served.base}/#messages")
    item = page.locator(".messages li").filter(has_text="evil.exe")
    expect(item).to_be_visible(timeout=15_000)
    text = item.text_content() or ""
    page.goto(f"{served.base}/#events")
    row = page.locator('section[data-page="events"] tbody tr').filter(has_text="evil.exe")
    expect(row.first).to_be_visible(timeout=15_000)
    text += row.first.text_content() or ""
    summary = row.first.locator("pre")
    text += summary.text_content() or ""
    for hidden in ("\u202e", "\u202c", "\x1b", "\u2066", "\u2069", "\u200f"):
        assert hidden not in text, repr(hidden)
    for shown in ("\\u202e", "\\x1b[31m", "\\u2066", "\\u200f"):
        assert shown in text, shown
    # Nowhere in the page, titles and attributes a person reads included.
    body = page.evaluate("document.body.innerText + [...document.querySelectorAll('[title]')]"
                         ".map(n => n.title).join(' ')")
    assert "\u202e" not in body and "\x1b" not in body


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()
