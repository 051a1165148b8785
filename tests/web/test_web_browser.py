"""`orchestra serve` in a real browser: headless Chromium from the distribution, via Playwright.

The server runs as a process (`python -m orchestra.web --port 0`) on a state root
holding the replayed demo; events are dispatched in-process, as hooks would.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web._support import DEMO_SESSION, Served, dispatch, tool_event

pytestmark = pytest.mark.slow


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def _login(page: Any, served: Served, hash_: str = "") -> None:
    """Open the printed URL (token -> cookie), then the page wanted."""
    response = page.goto(served.url)
    assert response is not None and response.status == 200
    if hash_:
        page.goto(f"{served.base}/{hash_}")


def _live(page: Any) -> None:
    """Wait until the page's event stream is connected."""
    from playwright.sync_api import expect

    expect(page.locator("#live")).to_have_text("live", timeout=15_000)


def test_the_page_with_the_token_shows_the_demo_session(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    _login(page, served)
    assert "token=" not in page.url  # swapped for a cookie, out of the history
    row = page.locator(f'section[data-page="sessions"] tr[data-session="{DEMO_SESSION}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("ended")
    expect(row).to_contain_text("project")
    cookie = next(c for c in page.context.cookies() if c["name"] == f"orchestra_{served.port}")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"


def test_a_dispatched_event_appears_without_a_reload(served: Served, page: Any,
                                                     demo_home: Path,
                                                     record_property: Any) -> None:
    from playwright.sync_api import expect

    _login(page, served, "#events")
    rows = page.locator('section[data-page="events"] tbody tr')
    expect(rows.filter(has_text="echo hi").first).to_be_visible(timeout=15_000)  # the demo's events
    _live(page)
    page.evaluate("window.__notReloaded = true")
    dispatch(demo_home, tool_event(DEMO_SESSION, "echo arrives-live-1"))
    started = time.monotonic()
    expect(rows.filter(has_text="echo arrives-live-1")).to_be_visible(timeout=10_000)
    record_property("event_to_screen_seconds", round(time.monotonic() - started, 3))
    assert page.evaluate("window.__notReloaded") is True
    assert rows.first.text_content() is not None
    expect(rows.first).to_contain_text("echo arrives-live-1")  # newest first


def test_live_events_follow_the_filters(served: Served, page: Any, demo_home: Path) -> None:
    from playwright.sync_api import expect

    _login(page, served, "#events?tool=Read")
    rows = page.locator('section[data-page="events"] tbody tr')
    expect(rows.first).to_be_visible(timeout=15_000)
    assert set(rows.locator("td:nth-child(4)").all_text_contents()) == {"Read"}
    _live(page)
    dispatch(demo_home, tool_event(DEMO_SESSION, "echo filtered-out"))  # Bash, not Read
    read = tool_event(DEMO_SESSION, "unused", n=2)
    read.update(tool_name="Read", tool_input={"file_path": "/home/dev/project/shown.txt"})
    dispatch(demo_home, read)
    expect(rows.filter(has_text="/home/dev/project/shown.txt")).to_be_visible(timeout=10_000)
    expect(rows.filter(has_text="echo filtered-out")).to_have_count(0)


def test_a_message_sent_from_the_form_is_in_the_inbox(served: Served, page: Any,
                                                      demo_home: Path) -> None:
    from playwright.sync_api import expect

    from state.messages import inbox
    from state.store import open_store

    _login(page, served, "#messages")
    form = page.locator("form[data-send]")
    form.locator('select[name="to"]').select_option("session")
    form.locator('input[name="target"]').fill(DEMO_SESSION)
    text = "Please rebase on main <b>now</b>"
    form.locator('textarea[name="text"]').fill(text)
    form.locator('input[name="urgent"]').check()
    form.locator('button[type="submit"]').click()
    expect(form.locator("[data-result]")).to_contain_text("sent msg-", timeout=10_000)

    messages = inbox(open_store(demo_home), DEMO_SESSION)
    sent = [m for m in messages if m["text"] == text]
    assert len(sent) == 1
    assert sent[0]["from"] == "web" and sent[0]["urgent"] is True
    assert sent[0]["delivered"] is False  # waiting for the session's next prompt
    # Shown as text, not markup.
    item = page.locator(".messages li").filter(has_text="<b>now</b>")
    expect(item).to_be_visible(timeout=10_000)
    assert item.locator("b").count() == 0


def test_without_the_token_the_page_gets_401_and_no_data(served: Served, browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        for path in ("/", "/api/sessions", "/api/events", "/api/stream", "/static/app.js"):
            response = page.goto(served.base + path)
            assert response is not None and response.status == 401, path
            assert DEMO_SESSION not in page.content()
        response = page.goto(f"{served.base}/?token=not-the-token")
        assert response is not None and response.status == 403
        assert DEMO_SESSION not in page.content()
    finally:
        context.close()


def test_keyboard_navigation(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    _login(page, served)
    expect(page.locator(f'tr[data-session="{DEMO_SESSION}"]')).to_be_visible(timeout=15_000)
    page.keyboard.press("2")
    expect(page.locator('[data-nav="events"]')).to_have_attribute("aria-current", "page")
    expect(page.locator('section[data-page="events"]')).to_be_visible()
    page.keyboard.press("1")
    expect(page.locator('section[data-page="sessions"]')).to_be_visible()
    page.keyboard.press("j")  # first row
    focused = page.evaluate("document.activeElement.dataset.session")
    assert focused  # a session row has the focus
    page.keyboard.press("Enter")  # its events
    expect(page.locator('section[data-page="events"]')).to_be_visible()
    assert f"session={focused}" in page.url
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()


def test_light_and_dark_follow_the_system(served: Served, browser: Any) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        try:
            page = context.new_page()
            _login(page, served)
            colours[scheme] = page.evaluate(
                "[getComputedStyle(document.body).backgroundColor,"
                " getComputedStyle(document.body).color]")
        finally:
            context.close()
    assert colours["light"][0] == "rgb(255, 255, 255)"
    assert colours["dark"][0] == "rgb(13, 17, 23)"
    assert colours["light"][1] != colours["dark"][1]


def test_screenshot_for_the_readme(served: Served, page: Any, demo_home: Path,
                                   tmp_path: Path) -> None:
    """The README's picture: the events page, live. ORCHESTRA_SCREENSHOT=PATH keeps it."""
    from playwright.sync_api import expect

    _login(page, served, "#events")
    _live(page)
    dispatch(demo_home, tool_event(DEMO_SESSION, "pytest -q tests/web", n=3))
    rows = page.locator('section[data-page="events"] tbody tr')
    expect(rows.filter(has_text="pytest -q tests/web")).to_be_visible(timeout=10_000)
    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("ORCHESTRA_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
