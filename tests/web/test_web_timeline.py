"""The Timeline page in a real browser: headless Chromium from the distribution, via Playwright.

A replayed demo (``examples/sessions/team-day.jsonl``) and a team's last hour (twelve
sessions, replayed with clock lines) are served by ``python -m orchestra.web``; events
are dispatched afterwards, as hooks would.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web import _timeline as tl
from tests.web._support import REPO, Served, dispatch

pytestmark = pytest.mark.slow

TEAM_DAY = REPO / "examples" / "sessions" / "team-day.jsonl"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Served]]:
    """The shipped team demo, replayed as the README's first command does."""
    home = tmp_path_factory.mktemp("team-day") / "orchestra"
    done = tl.cli(home, "replay", str(TEAM_DAY), "--home", str(home))
    assert done.returncode == 0, done.stderr
    server = Served(home)
    yield home, server
    code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Served]]:
    """Twelve sessions of one project over the last hour."""
    root = tmp_path_factory.mktemp("team")
    home = root / "orchestra"
    tl.replay(home, tl.team_hour(12, root / "transcripts"))
    server = Served(home)
    yield home, server
    code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def _open(page: Any, served: Served, hash_: str = "#timeline") -> None:
    from playwright.sync_api import expect

    response = page.goto(served.url)
    assert response is not None and response.status == 200
    page.goto(f"{served.base}/{hash_}")
    expect(page.locator('section[data-page="timeline"]')).to_have_attribute(
        "data-drawn", __import__("re").compile(r"\d"), timeout=20_000)


def _sessions(home: Path) -> set[str]:
    return {p.name for p in (home / "sessions").iterdir() if (p / "state.json").exists()}


def test_a_lane_per_session_of_the_replayed_demo(demo: tuple[Path, Served], page: Any) -> None:
    from playwright.sync_api import expect

    home, served = demo
    _open(page, served)
    sessions = _sessions(home)
    assert len(sessions) >= 3
    lanes = page.locator("[data-lane]")
    expect(lanes).to_have_count(len(sessions))
    assert {lanes.nth(n).get_attribute("data-lane") for n in range(len(sessions))} == sessions
    # Every block says what it is, in its accessible label and its tooltip alike.
    labels = page.locator("[data-block]").evaluate_all(
        "ns => ns.map(n => [n.getAttribute('aria-label'), n.querySelector('title').textContent])")
    assert len(labels) > 5
    for label, title in labels:
        assert label and title == label


def test_a_dispatched_event_appears_as_a_labelled_block(team: tuple[Path, Served], page: Any,
                                                        record_property: Any) -> None:
    from playwright.sync_api import expect

    home, served = team
    _open(page, served)
    expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    page.evaluate("window.__notReloaded = true")
    sid = tl.TEAM[0]
    call = {"command": "pytest -q tests/checkout", "description": "Run the checkout tests"}
    dispatch(home, tl.pre(sid, "Bash", call, 901))
    started = time.monotonic()
    block = page.locator(f'[data-lane="{sid}"] [data-block][aria-label*="Run the checkout tests"]')
    expect(block).to_have_count(1, timeout=10_000)
    record_property("event_to_block_seconds", round(time.monotonic() - started, 3))
    label = block.get_attribute("aria-label")
    assert label.startswith("Tool call Bash: Run the checkout tests — pytest -q tests/checkout")
    assert "running" in label and "since" in label
    dispatch(home, tl.post(sid, "Bash", call, 901, ms=2500))
    expect(block).to_have_attribute("aria-label", __import__("re").compile(r" · ok · "),
                                    timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True


def test_waits_subagents_messages_and_links_are_drawn(team: tuple[Path, Served],
                                                      page: Any) -> None:
    _home, served = team
    _open(page, served)
    labels = page.locator("[data-block]").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('aria-label'))")
    assert any(x.startswith("Waiting for permission: Bash: Clean the build") for x in labels)
    assert any(x.startswith("Subagent general-purpose: Audit cart totals") for x in labels)
    assert any(x.startswith("Tool call Bash: Check the totals") and "in a subagent" in x
               for x in labels)
    assert any(x.startswith("Message sent to session") for x in labels)
    assert any(x.startswith("Message received from") for x in labels)
    assert any(x.startswith("Turn: Fix the rounding bug in cart totals") for x in labels)
    assert page.locator(".tl-link").count() >= 2
    # Claude Code's SendMessage, to a name the name map resolves: a mark and a link.
    assert any(x.startswith("Message sent to runner-0b (SendMessage, via Claude Code): css done")
               for x in labels)
    assert any(x.startswith("Message received from css-0a [a1b2c9] (SendMessage, via Claude "
                            "Code)") for x in labels)
    assert page.locator(".tl-link.tl-cc").count() == 1
    # Lanes are named as Claude Code names the sessions.
    names = page.locator(".tl-name-text").all_text_contents()
    assert "cart-01 [a1b2c0]" in names and "notes-0c [a1b2cb]" in names


def test_keyboard_hover_and_zoom(team: tuple[Path, Served], page: Any) -> None:
    from playwright.sync_api import expect

    _home, served = team
    response = page.goto(served.url)
    assert response is not None
    page.keyboard.press("7")
    expect(page.locator('[data-nav="timeline"]')).to_have_attribute("aria-current", "page")
    expect(page.locator("[data-block]").first).to_be_attached(timeout=20_000)
    first = page.locator('[data-block][tabindex="0"]')
    expect(first).to_have_count(1)
    label = first.get_attribute("aria-label")
    first.focus()
    details = page.locator("[data-details]")
    expect(details).to_have_text(label)
    lane = page.evaluate("document.activeElement.closest('[data-lane]').dataset.lane")
    page.keyboard.press("ArrowRight")
    moved = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert moved and moved != label
    expect(details).to_have_text(moved)
    page.keyboard.press("ArrowDown")
    below = page.evaluate("document.activeElement.closest('[data-lane]').dataset.lane")
    assert below != lane
    block = page.locator("[data-block]").nth(3)
    block.hover()
    expect(details).to_have_text(block.get_attribute("aria-label"))
    page.keyboard.press("-")  # zoom out: the day
    expect(page.locator('[data-zoom="day"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('section[data-page="timeline"] [data-summary]')).to_contain_text(
        "binned")
    page.keyboard.press("[")  # earlier: no longer following now
    expect(page.locator('[data-pan="0"]')).to_have_attribute("aria-pressed", "false")
    assert "end=" in page.url
    page.keyboard.press(".")
    expect(page.locator('[data-pan="0"]')).to_have_attribute("aria-pressed", "true")


def test_twelve_sessions_fit_at_1280_and_both_schemes_read(team: tuple[Path, Served],
                                                           browser: Any,
                                                           tmp_path: Path) -> None:
    """Legible at 1280 x 800: every lane and its name in view, nothing scrolled sideways;
    colours follow the system, light and dark. ORCHESTRA_SCREENSHOT_TIMELINE=PATH keeps
    the light picture (the README's)."""
    _home, served = team
    fills = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 800},
                                      color_scheme=scheme)
        try:
            page = context.new_page()
            _open(page, served)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280
            # One read of the drawing (it is redrawn as time passes).
            boxes = page.evaluate("""() => [...document.querySelectorAll('[data-lane]')]
                .map(g => [g.getBoundingClientRect().bottom,
                           g.querySelector('.tl-name-text').getBoundingClientRect().right])""")
            assert len(boxes) == 12
            for bottom, name_right in boxes:
                assert bottom <= 800 and name_right < 18 + 220  # in view, in its column
            bash = page.locator("[data-block].tl-c0").first
            fills[scheme] = (bash.evaluate("n => getComputedStyle(n).fill"),
                             page.evaluate("getComputedStyle(document.body).backgroundColor"))
            if scheme == "light":  # the README's picture, a block's details shown
                page.locator('[data-block][aria-label^="Waiting for permission: Bash: Push"]'
                             ).first.hover()
                shot = tmp_path / "timeline.png"
                page.screenshot(path=str(shot))
                assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
                keep = os.environ.get("ORCHESTRA_SCREENSHOT_TIMELINE")
                if keep:
                    shutil.copyfile(shot, keep)
        finally:
            context.close()
    assert fills["light"][0] != fills["dark"][0]
    assert fills["light"][1] == "rgb(255, 255, 255)" and fills["dark"][1] == "rgb(13, 17, 23)"


def test_the_page_keeps_the_content_security_policy(team: tuple[Path, Served],
                                                    page: Any) -> None:
    """No inline code, no third-party fetch: the page works under the same strict CSP."""
    _home, served = team
    violations: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("request", lambda r: requests.append(r.url))
    _open(page, served)
    assert violations == []
    assert all(url.startswith(served.base) for url in requests), requests
    csp = page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe" not in csp


@pytest.fixture(scope="module")
def costs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Served]]:
    """Sessions whose Stops read transcripts: priced, unpriced, and without tokens."""
    home = tl.costs(tmp_path_factory.mktemp("costs"))
    server = Served(home)
    yield home, server
    code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


def test_the_cost_chart_total_is_the_project_total(costs: tuple[Path, Served],
                                                   page: Any) -> None:
    """The chart's total is who --json's project total, marked partial (a model without a
    price, a session without tokens), with the unknown sessions listed; the sessions
    table draws a bar for each session whose cost is known, and none for the others."""
    import json

    from playwright.sync_api import expect

    home, served = costs
    done = tl.cli(home, "who", "--json", "--compact")
    assert done.returncode == 0, done.stderr
    sessions = json.loads(done.stdout)
    usd = sum(s["cost"]["usd"] for s in sessions if s["cost"]["usd"] is not None)
    answers = [a for _sid, _ago, listed in tl.STOPS for a in listed]
    assert usd == pytest.approx(sum(tl.by_hand(model, n) for _mid, model, n in answers
                                    if model in tl.PRICES), abs=1e-6)  # priced by hand
    _open(page, served)
    total = page.locator("[data-total]")
    assert float(total.get_attribute("data-total")) == pytest.approx(usd, abs=1e-9)
    assert total.get_attribute("data-partial") == "true"
    expect(total).to_contain_text(f"total ${usd:.4f}+ (partial)")
    expect(total).to_contain_text("unknown for 2 sessions")
    keys = page.locator("[data-chart-legend] li")
    assert keys.filter(has_text="cost-cccc: unknown (no price for mystery-model-1)").count() == 1
    assert keys.filter(has_text="cost-dddd: unknown (no tokens recorded yet)").count() == 1
    assert page.locator("[data-chart] polygon").count() == 2  # A and B: known costs only
    page.locator('[data-measure="tokens"]').click()
    tokens = sum(tl.usage_of(n)[f] for _mid, _model, n in answers for f in tl.FIELDS)
    assert int(total.get_attribute("data-total")) == tokens
    assert page.locator("[data-chart] polygon").count() == 3  # C's tokens are known
    page.goto(f"{served.base}/#sessions")
    rows = page.locator('section[data-page="sessions"] tbody tr')
    expect(rows).to_have_count(4)
    for sid, bar in (("cost-aaaa", 1), ("cost-bbbb", 1), ("cost-cccc", 0), ("cost-dddd", 0)):
        assert page.locator(f'tr[data-session="{sid}"] svg.costbar').count() == bar, sid


def test_the_cost_chart_follows_new_tokens(browser: Any, tmp_path: Path) -> None:
    """A Stop that counts more tokens redraws the chart's total without a reload."""
    from playwright.sync_api import expect

    home = tl.costs(tmp_path)
    server = Served(home)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        _open(page, server)
        expect(page.locator("#live")).to_have_text("live", timeout=15_000)
        page.evaluate("window.__notReloaded = true")
        total = page.locator("[data-total]")
        shown = total.get_attribute("data-total")
        before = float(shown)
        sid = tl.COST_SESSIONS[1]
        transcript = tmp_path / f"{sid}.jsonl"
        with transcript.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in
                                 tl.transcript_message("m6", tl.OTHER, 6)))
        dispatch(home, {**tl.stop(sid, "more"), "transcript_path": str(transcript)})
        after = before + tl.by_hand(tl.OTHER, 6)
        expect(total).not_to_have_attribute("data-total", shown, timeout=10_000)
        assert float(total.get_attribute("data-total")) == pytest.approx(after, abs=1e-6)
        assert page.evaluate("window.__notReloaded") is True
    finally:
        context.close()
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


#: Markup, a bidi override and an ANSI code, in every field the Timeline draws.
HOSTILE = ('<img src=x onerror="window.__pwned=1">\u202eevil\x1b[31mRED'
           '</script><svg onload="window.__pwned=2">')


def test_hostile_text_is_inert_and_its_controls_shown_as_escapes(browser: Any,
                                                                 tmp_path: Path) -> None:
    """Prompts, Bash descriptions and commands, file paths, tool names, waits, answers and
    messages from the state are data: no markup runs or appears, and bidi controls and
    ANSI codes reach no title, label or text unescaped (as on the other pages, issue 23
    #16)."""
    a, b = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
    call = {"command": HOSTILE, "description": HOSTILE}
    write = {"file_path": f"/home/dev/project/{HOSTILE}", "content": "x"}
    home = tmp_path / "orchestra"
    tl.replay(home, [
        tl.clock("-10m"), tl.start(a), tl.start(b), tl.prompt(a, HOSTILE),
        tl.pre(a, "Bash", call, 1), tl.post(a, "Bash", call, 1),
        tl.pre(a, "Write", write, 2), tl.post(a, "Write", write, 2),
        tl.pre(a, "mcp__x__" + HOSTILE, {"a": 1}, 3),
        tl.permission(b, "Bash", call), tl.notification(b, "permission_prompt", HOSTILE),
        tl.subagent_start(a, "agent1"), tl.subagent_stop(a, "agent1", HOSTILE),
        tl.stop(a, HOSTILE), tl.orchestra("send", "--to", b, HOSTILE), tl.clock("now")])
    server = Served(home)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        _open(page, server)
        section = 'section[data-page="timeline"]'
        labels = page.locator(f"{section} [data-block]").evaluate_all(
            "ns => ns.map(n => n.getAttribute('aria-label'))")
        assert len(labels) >= 6
        assert any("\\u202eevil\\x1b[31mRED" in label for label in labels), labels
        page.locator(f"{section} [data-block]").first.focus()
        raw = page.evaluate("""s => {
            const found = [], bad = /[\\u202e\\u001b]/;
            for (const n of document.querySelectorAll(s + ' *')) {
              for (const a of n.attributes)
                if (bad.test(a.value)) found.push(n.tagName + '@' + a.name);
              for (const c of n.childNodes)
                if (c.nodeType === 3 && bad.test(c.data)) found.push(n.tagName + '#text');
            }
            return found; }""", section)
        assert raw == []
        injected = page.locator(f"{section} img, {section} script, {section} foreignObject")
        assert injected.count() == 0
        assert page.evaluate("window.__pwned") is None and dialogs == []
    finally:
        context.close()
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


def test_lanes_of_other_agents_say_their_agent_and_model(browser: Any,
                                                         tmp_path: Path) -> None:
    """Codex and Gemini sessions have lanes like Claude Code's, each marked with its agent
    and model, "unknown" where the agent has not said (issue 26: one picture of the team)."""
    import json

    from hooks.testing import run_dispatch

    home = tmp_path / "orchestra"
    payloads = REPO / "tests" / "data" / "agent-payloads"
    for agent, names in (("codex", ("SessionStart", "UserPromptSubmit", "PreToolUse")),
                         ("gemini", ("SessionStart", "BeforeAgent", "BeforeTool"))):
        for name in names:
            payload = json.loads((payloads / f"{agent}.{name}.json").read_text("utf-8"))
            outcome = run_dispatch(payload, home=home, agent=agent,
                                   env={"ORCHESTRA_RECORD": ""})
            assert outcome.exit_code == 0, outcome.stderr
    server = Served(home)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        _open(page, server)
        labels = page.locator("[data-lane]").evaluate_all(
            "ns => ns.map(n => n.getAttribute('aria-label'))")
        assert len(labels) == 2, labels
        assert any(", Codex gpt-5.5: " in label for label in labels), labels
        assert any(", Gemini (model unknown): " in label for label in labels), labels
        titles = page.locator(".tl-name title").all_text_contents()
        assert any("Codex gpt-5.5" in t for t in titles), titles
    finally:
        context.close()
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


def test_a_chart_with_nothing_known_draws_no_zero_scale(browser: Any, tmp_path: Path) -> None:
    """Unknown is not zero: with no session's cost known (no tokens yet, or no price) the
    chart drew a scale from $0 to "$0.0000"; it says the cost is unknown instead."""
    a, b = "aaaaaaaa-0000-4000-8000-00000000000a", "bbbbbbbb-0000-4000-8000-00000000000b"
    home = tmp_path / "orchestra"
    tl.replay(home, [tl.clock("-10m"), tl.start(a), tl.prompt(a, "go"), tl.start(b),
                     tl.clock("now")])
    server = Served(home)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        _open(page, server)
        total = page.locator("[data-total]")
        assert total.get_attribute("data-total") == ""
        assert "unknown for 2 sessions" in total.text_content()
        drawn = page.locator("[data-chart] text").all_text_contents()
        assert drawn == ["cost unknown"], drawn
        assert not any("$0" in text for text in drawn)
        assert page.locator("[data-chart-legend] li.tl-unknown").count() == 2
        page.locator('[data-measure="tokens"]').click()
        assert page.locator("[data-chart] text").all_text_contents() == ["tokens unknown"]
    finally:
        context.close()
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
