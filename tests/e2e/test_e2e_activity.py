"""Issue 21's "Done when", in the real Claude Code CLI (2.1.332, default model, no Task tools).

A session installed with ``orchestra install --scope project`` is asked "Fix the rounding
bug in cart totals". Its (fake) model runs ``Bash`` described "Run the cart tests", writes
``cart_totals.py``, runs a subagent "Audit cart totals" (whose own Bash call is described
"Check the totals") and answers "Fixed the rounding bug: ...". Each Bash call waits for the
test, so that what ``orchestra show`` and ``orchestra dashboard`` say *while* the session
works is checked too, not only what they say after it ended. The fake API reports a
different usage for every answer (input, output, cache read, cache write with a 1-hour
part): the session's tokens must be exactly the sum of what it returned for the
conversation (main thread and subagent; Claude Code's side requests, such as a title,
never reach the transcript), and its cost what the configured price makes of them.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from .claude_cli import run_claude
from .fake_api import FakeAnthropic, Script, tool_use

pytestmark = pytest.mark.e2e

PROMPT = "Fix the rounding bug in cart totals"
ANSWER = "Fixed the rounding bug: totals are rounded once, at the end."
MARKER = "E2E-AUDIT-5c1d"
MODEL_PRICE = {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75,
               "cache_write_1h": 6.0}
WAIT = 90.0

SYNC = textwrap.dedent(
    """\
    import pathlib, sys, time

    folder, name, limit = pathlib.Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    (folder / f"{name}.ready").write_text("ready")
    end = time.monotonic() + limit
    while not (folder / f"{name}.go").exists() and time.monotonic() < end:
        time.sleep(0.05)
    print("tests pass" if (folder / f"{name}.go").exists() else "gave up waiting")
    """
)


def usage_for(kind: str, turn: int | None, content: list[dict[str, Any]]) -> dict[str, Any]:
    """A usage block unlike any other answer's, so that a message counted twice (or not
    at all) changes the sums."""
    n = (turn or 0) + 1
    base = {"main": 1000, "subagent": 500}.get(kind, 7)
    return {"input_tokens": base + n, "output_tokens": 20 * n + len(content),
            "cache_read_input_tokens": 100 * n + base, "cache_creation_input_tokens": 40 + n,
            "cache_creation": {"ephemeral_5m_input_tokens": 10 + n,
                               "ephemeral_1h_input_tokens": 30}}


def test_a_session_is_seen_asked_working_writing_delegating_and_answering(
        claude_bin: Path, tmp_path: Path) -> None:
    project, home, sync = tmp_path / "shop", tmp_path / "orchestra", tmp_path / "sync"
    for folder in (project, home, sync):
        folder.mkdir()
    (project / "CLAUDE.md").write_text("# shop\n", encoding="utf-8")
    sync_py = tmp_path / "sync_wait.py"
    sync_py.write_text(SYNC, encoding="utf-8")

    def waits(name: str) -> str:
        return shlex.join([sys.executable, str(sync_py), str(sync), name, str(WAIT)])

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "CLAUDE"))}
    env.update(ORCHESTRA_HOME=str(home), HOME=str(tmp_path / "home-cli"),
               ORCHESTRA_LOAD_PLUGINS="")

    def orchestra(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "orchestra", *argv], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0, (argv, done.stderr)
        return done.stdout

    orchestra("install", "--scope", "project", "--project-dir", str(project), "--no-styles")
    # The default price table knows claude-opus-5-5; the test's own price says the
    # configured one is used (and makes the expected cost easy to check).
    for field, value in MODEL_PRICE.items():
        orchestra("shared", "set-config", f"pricing.models.claude-opus-5-5.{field}", str(value))

    script = Script(
        main=[
            [tool_use("Bash", {"command": waits("cart-tests"),
                               "description": "Run the cart tests"})],
            [tool_use("Write", {"file_path": str(project / "cart_totals.py"),
                                "content": "def total(xs):\n    return round(sum(xs), 2)\n"})],
            [tool_use("Agent", {"description": "Audit cart totals",
                                "prompt": f"{MARKER}: audit cart_totals.py",
                                "subagent_type": "general-purpose",
                                "run_in_background": False})],
            [ANSWER],
        ],
        subagent=[[tool_use("Bash", {"command": waits("audit"),
                                     "description": "Check the totals"})],
                  ["Audit: the totals are right."]],
        subagent_marker=MARKER,
    )
    sid = str(uuid.uuid4())
    run: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    with FakeAnthropic(script, usage=usage_for) as api:
        def target() -> None:
            try:
                run["proc"] = run_claude(
                    claude_bin, PROMPT, cwd=project, home=tmp_path / "home-claude",
                    base_url=api.base_url, env_extra={k: env[k] for k in (
                        "ORCHESTRA_HOME", "ORCHESTRA_LOAD_PLUGINS")},
                    allowed_tools=("Bash", "Write", "Read", "Agent"),
                    extra_args=["--session-id", sid], timeout=240)
            except BaseException as exc:  # reported below
                run["error"] = exc

        thread = threading.Thread(target=target)
        thread.start()
        try:
            for name in ("cart-tests", "audit"):
                deadline = time.monotonic() + WAIT
                while not (sync / f"{name}.ready").exists() and thread.is_alive() \
                        and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert (sync / f"{name}.ready").exists(), run
                time.sleep(0.3)  # the PreToolUse hook has returned before the tool runs
                seen[name] = (json.loads(orchestra("show", sid, "--json")),
                              orchestra("dashboard"), orchestra("show", sid, "--text"))
                (sync / f"{name}.go").write_text("go")
        finally:
            for name in ("cart-tests", "audit"):
                (sync / f"{name}.go").write_text("go")
            thread.join(300)
    assert "error" not in run, run
    proc = run["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    calls = ", ".join(f"{e.kind}{'' if e.turn is None else e.turn}" for e in api.exchanges)
    assert json.loads(proc.stdout)["result"] == ANSWER, (calls, proc.stdout[-2000:])

    # While the described Bash call ran: asked, working on it.
    summary, dashboard, text = seen["cart-tests"]
    assert summary["activity"]["state"] == "working"
    assert summary["activity"]["prompt"]["text"] == PROMPT
    assert summary["doing"] == "Bash: Run the cart tests"
    assert "Bash: Run the cart tests" in dashboard
    assert "no task in progress" not in dashboard
    assert "running:   Bash: Run the cart tests" in text and f"asked:     {PROMPT}" in text
    # While the subagent ran: its task, and its own described call.
    summary, dashboard, text = seen["audit"]
    assert [(a["type"], a["task"]) for a in summary["activity"]["subagents"]] == [
        ("general-purpose", "Audit cart totals")]
    running = {c["description"]: c for c in summary["activity"]["running"]}
    assert running["Check the totals"].get("agent_id"), summary["activity"]
    assert "Audit cart" in dashboard  # the AGENTS section: busy, with its task
    assert "subagent:  general-purpose: Audit cart totals" in text
    assert summary["activity"]["files"]["paths"] == ["cart_totals.py"]

    # After it ended: what it was asked, changed and answered, and its tokens.
    final = json.loads(orchestra("show", sid, "--json"))
    activity = final["activity"]
    assert final["status"] == "ended" and activity["state"] == "ended"
    assert activity["prompt"]["text"] == PROMPT
    assert activity["files"]["paths"] == ["cart_totals.py"]
    assert activity["answer"]["text"] == ANSWER
    assert ("Bash", "Run the cart tests") in [(c["tool"], c.get("description"))
                                              for c in activity["recent"]]
    assert [(a["task"], a["status"]) for a in activity["agents"]] == [
        ("Audit cart totals", "done")]
    assert final["doing"] == (f"asked: {PROMPT}; changed cart_totals.py; answered: {ANSWER}")
    dashboard = orchestra("dashboard")
    assert f"asked: {PROMPT}"[:30] in dashboard, dashboard
    text = orchestra("show", sid, "--text")
    for needle in (f"asked:     {PROMPT}", "changed:   cart_totals.py",
                   f"answered:  {ANSWER}", "Bash: Run the cart tests",
                   "subagent:  general-purpose: Audit cart totals (done"):
        assert needle in text, text

    fields = ("input_tokens", "output_tokens", "cache_read_input_tokens",
              "cache_creation_input_tokens")

    def returned(kind: str) -> dict[str, int]:
        sums = dict.fromkeys(fields, 0)
        sums["cache_creation_1h_input_tokens"] = 0
        for exchange in api.exchanges:
            if exchange.kind == kind and exchange.response:
                used = exchange.response["usage"]
                for field in fields:
                    sums[field] += used[field]
                sums["cache_creation_1h_input_tokens"] += used["cache_creation"][
                    "ephemeral_1h_input_tokens"]
        return sums

    main, sub = returned("main"), returned("subagent")
    assert main["input_tokens"] > 0 and sub["input_tokens"] > 0
    tokens = final["tokens"]
    context = json.dumps({"tokens": tokens, "main": main, "subagent": sub}, indent=1)
    assert tokens["main"] == main, context
    assert tokens["subagents"] == sub, context
    assert tokens["total"] == {k: main[k] + sub[k] for k in main}, context
    total = tokens["total"]
    hour = total["cache_creation_1h_input_tokens"]
    expected = (total["input_tokens"] * 3.0 + total["output_tokens"] * 15.0
                + total["cache_read_input_tokens"] * 0.3
                + (total["cache_creation_input_tokens"] - hour) * 3.75 + hour * 6.0) / 1e6
    assert final["cost"]["usd"] == pytest.approx(expected, abs=1e-6), final["cost"]
    assert final["cost"]["partial"] is False
    stats = orchestra("stats", "--tokens")
    assert f"{sum(total[f] for f in fields):,}" in stats, stats
