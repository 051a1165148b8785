"""Issue 28 in the real Claude Code CLI (2.1.332, default model) against the fake API of
issue 21's end-to-end test: two sessions of one project work (a described Bash call, a
subagent, answers); ``orchestra serve`` then draws a lane for each, with their blocks,
and the cost chart's total is the sum of the usage the fake API returned — every answer
of the main threads and the subagent, priced here by hand — and equals what
``orchestra who --json`` adds up for the project.
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

from .claude_cli import run_claude
from .fake_api import Exchange, FakeAnthropic, Script, tool_use

pytestmark = pytest.mark.e2e

PRICE = {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75,
         "cache_write_1h": 6.0}
MARKER = "E2E-TIMELINE-AUDIT"
FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens",
          "cache_creation_input_tokens")


def usage_for(kind: str, turn: int | None, content: list[dict[str, Any]]) -> dict[str, Any]:
    """A usage block unlike any other answer's (a message counted twice, or not at all,
    changes the sums)."""
    n = (turn or 0) + 1
    base = {"main": 2000, "subagent": 700}.get(kind, 9)
    return {"input_tokens": base + 3 * n, "output_tokens": 30 * n + len(content),
            "cache_read_input_tokens": 150 * n + base, "cache_creation_input_tokens": 60 + n,
            "cache_creation": {"ephemeral_5m_input_tokens": 20 + n,
                               "ephemeral_1h_input_tokens": 40}}


def _returned(exchanges: list[Exchange]) -> dict[str, int]:
    """What the fake API returned for the conversations (main threads and subagents)."""
    sums = dict.fromkeys(FIELDS, 0)
    sums["1h"] = 0
    for exchange in exchanges:
        if exchange.kind in ("main", "subagent") and exchange.response:
            used = exchange.response["usage"]
            for field in FIELDS:
                sums[field] += used[field]
            sums["1h"] += used["cache_creation"]["ephemeral_1h_input_tokens"]
    return sums


def test_lanes_and_the_cost_total_from_real_sessions(claude_bin: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.web._support import CHROMIUM, CHROMIUM_ARGS, Served, http, sign_in

    project, home = tmp_path / "shop", tmp_path / "orchestra"
    project.mkdir()
    (project / "CLAUDE.md").write_text("# shop\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRA_", "CLAUDE"))}
    env.update(ORCHESTRA_HOME=str(home), HOME=str(tmp_path / "home-cli"),
               ORCHESTRA_LOAD_PLUGINS="")

    def orchestra(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "orchestra", *argv], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0, (argv, done.stderr)
        return done.stdout

    orchestra("install", "--scope", "project", "--project-dir", str(project), "--no-styles")
    for field, value in PRICE.items():
        orchestra("shared", "set-config", f"pricing.models.claude-opus-5-5.{field}", str(value))

    runs = [
        ("Fix the rounding bug in cart totals", Script(
            main=[[tool_use("Bash", {"command": "echo cart tests pass",
                                     "description": "Run the cart tests"})],
                  [tool_use("Agent", {"description": "Audit cart totals",
                                      "prompt": f"{MARKER}: audit the totals",
                                      "subagent_type": "general-purpose",
                                      "run_in_background": False})],
                  ["Fixed the rounding bug."]],
            subagent=[["Audit: the totals are right."]], subagent_marker=MARKER)),
        ("Add wallets to the checkout", Script(main=[["Wallets are in."]])),
    ]
    exchanges: list[Exchange] = []
    sessions = []
    for prompt, script in runs:
        sid = str(uuid.uuid4())
        sessions.append(sid)
        with FakeAnthropic(script, usage=usage_for) as api:
            proc = run_claude(claude_bin, prompt, cwd=project, home=tmp_path / "home-claude",
                              base_url=api.base_url,
                              env_extra={k: env[k] for k in ("ORCHESTRA_HOME",
                                                             "ORCHESTRA_LOAD_PLUGINS")},
                              allowed_tools=("Bash", "Read", "Agent"),
                              extra_args=["--session-id", sid], timeout=240)
            assert proc.returncode == 0, proc.stderr[-3000:]
            exchanges += api.exchanges

    returned = _returned(exchanges)
    assert returned["input_tokens"] > 0
    tokens = sum(returned[f] for f in FIELDS)
    hour = returned["1h"]
    usd = (returned["input_tokens"] * PRICE["input"]
           + returned["output_tokens"] * PRICE["output"]
           + returned["cache_read_input_tokens"] * PRICE["cache_read"]
           + (returned["cache_creation_input_tokens"] - hour) * PRICE["cache_write"]
           + hour * PRICE["cache_write_1h"]) / 1e6
    who = json.loads(orchestra("who", "--json", "--project", "shop"))
    assert sorted(s["session_id"] for s in who) == sorted(sessions)
    assert sum(s["cost"]["usd"] for s in who) == pytest.approx(usd, abs=1e-6)

    served = Served(home)
    try:
        cookie = sign_in(served)
        status, _headers, text = http(served, "GET", "/api/timeline/usage?project=shop",
                                      headers={"Cookie": cookie})
        assert status == 200, text
        chart = json.loads(text)
        assert chart["total"]["tokens"] == tokens, (chart["total"], returned)
        assert chart["total"]["usd"] == pytest.approx(usd, abs=1e-6)
        assert chart["total"]["partial"] is False and chart["unknown_cost"] == []
        assert sorted(s["session"] for s in chart["series"]) == sorted(sessions)
        assert sum(s["tokens"][-1] for s in chart["series"]) == tokens
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.goto(served.url)
                page.goto(f"{served.base}/#timeline?project=shop")
                page.locator('section[data-page="timeline"][data-drawn]').wait_for(
                    state="attached", timeout=30_000)
                lanes = page.locator("[data-lane]").evaluate_all(
                    "ns => ns.map(n => n.dataset.lane)")
                assert sorted(lanes) == sorted(sessions)
                labels = page.locator("[data-block]").evaluate_all(
                    "ns => ns.map(n => n.getAttribute('aria-label'))")
                assert any(x.startswith("Tool call Bash: Run the cart tests — echo cart tests")
                           for x in labels), labels
                assert any(x.startswith("Subagent general-purpose: Audit cart totals")
                           for x in labels), labels
                assert any(x.startswith("Turn: Add wallets to the checkout") and
                           "answered: Wallets are in." in x for x in labels), labels
                total = page.locator("[data-total]")
                assert float(total.get_attribute("data-total")) == pytest.approx(usd, abs=1e-9)
                assert total.get_attribute("data-partial") == "false"
            finally:
                browser.close()
    finally:
        code, err = served.stop()
    assert code == 0 and "Traceback" not in err, err
