"""Record the sessions of ``team-day.jsonl`` with the real Claude Code CLI.

    python examples/sessions/record_team_day.py     # rewrites examples/sessions/recorded/

Needs the pinned Claude Code CLI (``bash .ci/install-claude-code.sh``; reused from
``$ORCHESTRA_E2E_CACHE``) and runs offline: every session talks to the scripted fake
Anthropic API of ``tests/e2e/fake_api.py`` (the default model, no Task tools). Orchestra is
installed into a throwaway project ``shop`` (``orchestra install --scope project``) and
``ORCHESTRA_RECORD`` writes what Claude Code sends each session's hooks, one file per
session, redacted as the recorder always does. The project's paths are then written as
``/home/dev/shop`` and the home as ``/home/dev``; nothing else is changed.

Three people's sessions, with the ids ``team_day.py`` uses:

* **ana** (first, on her own): asked to write down how prices are rounded; a described
  Bash call, a new file ``docs/pricing.md``, an answer; she ends the session.
* **bo**: asked to fix a rounding bug in ``src/shop/cart.py``; ``ListAgents`` (which
  tells him his Claude Code name), the tests fail (a described Bash call), he edits
  ``cart.py``, runs the tests again — and that run waits until cy has messaged him.
* **cy**, while bo's tests run: asked for wallet payments; loads ``SendMessage`` with
  ``ToolSearch``, lists the other sessions, starts a background subagent that reads the
  wallet docs (it keeps working), edits ``cart.py`` too, sends bo a message with
  ``SendMessage`` (to the name ListAgents gave him), and asks to install the Stripe SDK —
  a Bash call not allowed in her settings, so Claude Code asks for permission.

``team_day.py`` cuts and orders these recordings into the day (see its docstring).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from team_day import ANA, BO, CWD, CY, RECORDED  # noqa: E402

from tests.e2e.claude_cli import find_or_install_claude, run_claude  # noqa: E402
from tests.e2e.fake_api import FakeAnthropic, Script, tool_use  # noqa: E402

MARKER = "TEAM-DAY-DOCS-3f8a"
WAIT = 120.0
FILES = {
    "src/shop/__init__.py": "",
    "src/shop/cart.py": textwrap.dedent('''\
        """The shopping cart."""


        def total(prices):
            """The cart's total in euros."""
            return round(sum(prices), 2)
        '''),
    "tests/test_cart.py": textwrap.dedent('''\
        import os
        import pathlib
        import sys
        import time
        import unittest

        sys.path.insert(0, "src")
        from shop import cart  # noqa: E402

        GATE = os.environ.get("TEAM_DAY_GATE")
        if GATE and hasattr(cart, "total_cents"):  # the recording waits here for cy
            pathlib.Path(GATE + ".ready").write_text("ready")
            end = time.monotonic() + 120
            while not pathlib.Path(GATE).exists() and time.monotonic() < end:
                time.sleep(0.05)


        class CartTotals(unittest.TestCase):
            def test_totals_are_exact(self):
                self.assertEqual(cart.total_cents([1999, 1]), 2000)


        if __name__ == "__main__":
            unittest.main()
        '''),
    "tools/wallet_docs.py": textwrap.dedent('''\
        import os
        import pathlib
        import time

        GATE = os.environ.get("TEAM_DAY_DOCS_GATE")
        if GATE:  # the recording keeps the subagent reading until the day is recorded
            pathlib.Path(GATE + ".ready").write_text("ready")
            end = time.monotonic() + 120
            while not pathlib.Path(GATE).exists() and time.monotonic() < end:
                time.sleep(0.05)
        print("Apple Pay: domain verification file; Google Pay: merchant id")
        '''),
    "docs/README.md": "# shop docs\n",
    "CLAUDE.md": "# shop\nPrices are integers in cents.\n",
}
_NAME = re.compile(r"([a-z0-9][a-z0-9-]*-[0-9a-z]+) \[[0-9a-f]{6}\]")


def _peer(body: dict[str, Any]) -> str:
    """The first peer that ListAgents listed to cy (bo)."""
    text = json.dumps(body.get("messages"))
    if "Peer sessions" in text:
        found = _NAME.search(text.split("Peer sessions", 1)[1])
        if found:
            return found.group(1)
    raise RuntimeError("ListAgents listed no peer: was bo's session running?")


def scripts() -> dict[str, Script]:
    ana = Script(main=[
        [tool_use("Bash", {"command": "grep -rn round src/shop",
                           "description": "Find where prices are rounded"})],
        [tool_use("Write", {"file_path": "{project}/docs/pricing.md", "content":
                            "# Prices\n\nAll prices are integers in cents. A total is the "
                            "sum of its items' cents; nothing is rounded before the "
                            "invoice.\n"})],
        ["Wrote docs/pricing.md: prices are integers in cents and nothing is rounded "
         "before the invoice."],
    ])
    bo = Script(main=[
        [tool_use("ListAgents", {})],
        [tool_use("Bash", {"command": "python3 -m unittest tests/test_cart.py",
                           "description": "Run the cart tests"})],
        [tool_use("Edit", {"file_path": "{project}/src/shop/cart.py",
                           "old_string": '    return round(sum(prices), 2)\n',
                           "new_string": '    return total_cents(prices) / 100\n\n\n'
                                         'def total_cents(prices):\n'
                                         '    """The total in cents: no rounding."""\n'
                                         '    return sum(prices)\n'})],
        [tool_use("Bash", {"command": "python3 -m unittest tests/test_cart.py",
                           "description": "Run the cart tests again"})],
        ["Fixed the rounding in cart totals: amounts stay in cents and the tests pass."],
    ])
    cy = Script(
        main=[
            [tool_use("ToolSearch", {"query": "select:SendMessage", "max_results": 5})],
            [tool_use("ListAgents", {})],
            [tool_use("Agent", {"description": "Read the wallet docs",
                                "prompt": f"{MARKER}: read what Apple Pay and Google Pay need",
                                "subagent_type": "general-purpose",
                                "run_in_background": True})],
            [tool_use("Edit", {"file_path": "{project}/src/shop/cart.py",
                               "old_string": "def total(prices):",
                               "new_string": "def total(prices, wallet=None):"})],
            lambda body: [tool_use("SendMessage", {
                "to": _peer(body), "summary": "cart.total takes a wallet now",
                "message": "I added an optional wallet parameter to cart.total for Apple Pay "
                           "and Google Pay; I will rebase on your rounding fix."})],
            [tool_use("Bash", {"command": "pip install stripe",
                               "description": "Install the Stripe SDK"})],
            ["I need permission to install the Stripe SDK before going on."],
        ],
        subagent=[[tool_use("Bash", {"command": "python3 tools/wallet_docs.py",
                                     "description": "Read the wallet docs"})],
                  ["Apple Pay needs a domain verification file; Google Pay a merchant id."]],
        subagent_marker=MARKER,
    )
    return {"ana": ana, "bo": bo, "cy": cy}


def _fill(script: Script, project: Path) -> Script:
    """Put the real project folder into the scripted tool inputs."""
    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{project}", str(project))
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    script.main = [t if callable(t) else fill(list(t)) for t in script.main]
    script.subagent = [t if callable(t) else fill(list(t)) for t in script.subagent]
    return script


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _wait_for(path: Path, thread: threading.Thread, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{what} never happened")
        time.sleep(0.05)


def record(out: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="team-day-"))
    project, home, state = root / "shop", root / "home", root / "orchestra"
    for name, text in FILES.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    state.mkdir()
    # claims warn (not ask) while recording: a -p run has nobody to answer "ask"
    (state / "config.json").write_text(json.dumps({"claims": {"policy": "warn"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRA_", "CLAUDE"))}
    env.update(ORCHESTRA_HOME=str(state), HOME=str(root / "home-cli"))
    subprocess.run([sys.executable, "-m", "orchestra", "install", "--scope", "project",
                    "--project-dir", str(project), "--no-styles"], env=env, cwd=REPO,
                   check=True, capture_output=True, timeout=120)
    claude = find_or_install_claude()
    gate, docs_gate = root / "bo-go", root / "docs-go"
    ids = {"ana": ANA, "bo": BO, "cy": CY}
    prompts = {"ana": "Write down how prices are rounded, in docs/pricing.md",
               "bo": "Cart totals are off by a cent: fix the rounding",
               "cy": "Add Apple Pay and Google Pay to the checkout"}
    allowed = ("Read", "Write", "Edit", "Agent", "ListAgents", "ToolSearch", "SendMessage",
               "Bash(grep:*)", "Bash(python3:*)")
    runs: dict[str, Any] = {}

    def start(name: str, api: FakeAnthropic) -> threading.Thread:
        extra = {"ORCHESTRA_HOME": str(state), "ORCHESTRA_RECORD": str(root / f"{name}.jsonl"),
                 "TEAM_DAY_GATE": str(gate), "TEAM_DAY_DOCS_GATE": str(docs_gate)}

        def target() -> None:
            runs[name] = run_claude(claude, prompts[name], cwd=project, home=home,
                                    base_url=api.base_url, env_extra=extra,
                                    allowed_tools=allowed, timeout=300,
                                    extra_args=["--session-id", ids[name]])

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    plays = {name: _fill(script, project) for name, script in scripts().items()}
    with FakeAnthropic(plays["ana"]) as api:
        start("ana", api).join(300)
    with FakeAnthropic(plays["bo"]) as bo_api, FakeAnthropic(plays["cy"]) as cy_api:
        bo = start("bo", bo_api)
        try:
            _wait_for(Path(str(gate) + ".ready"), bo, "bo's second test run")
            cy = start("cy", cy_api)
            _wait_for(Path(str(docs_gate) + ".ready"), cy, "cy's subagent reading")
            deadline = time.monotonic() + WAIT  # cy's turn ends (her subagent reads on)
            while '"hook_event_name":"Stop"' not in _text(root / "cy.jsonl"):
                if time.monotonic() > deadline or not cy.is_alive():
                    raise RuntimeError("cy's turn never ended")
                time.sleep(0.05)
        finally:
            docs_gate.write_text("go")
            time.sleep(1.0)
            gate.write_text("go")
        cy.join(300)
        bo.join(300)
    for name, proc in runs.items():
        if proc.returncode != 0:
            raise RuntimeError(f"{name}: claude exited {proc.returncode}: {proc.stderr[-2000:]}")
    encoded = re.sub(r"[^A-Za-z0-9]", "-", str(project))
    out.mkdir(parents=True, exist_ok=True)
    for name in ids:
        text = (root / f"{name}.jsonl").read_text(encoding="utf-8")
        text = (text.replace(str(project), CWD).replace(encoded, "-home-dev-shop")
                .replace(str(home), "/home/dev").replace(str(root), "/tmp/team-day"))
        (out / f"{name}.jsonl").write_text(text, encoding="utf-8")
        print(f"{out / name}.jsonl: {len(text.splitlines())} payloads")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    record(RECORDED)
