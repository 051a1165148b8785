"""``team-day.jsonl``: a team's day on the project ``shop``, as one replayable scenario.

Three Claude Code sessions of one project, recorded with the real Claude Code CLI
(2.1.332, its default model: no Task tools) by ``record_team_day.py`` into
``recorded/`` (real payloads, redacted by ``ORCHESTRA_RECORD``, paths made
``/home/dev/...``), and cut into the day:

* **ana** (ended, five hours ago): asked to write down how prices are rounded; greps the
  code (a described Bash call), writes ``docs/pricing.md``, answers, ends;
* **bo** (14 minutes ago): asked to fix a rounding bug; ListAgents gives him his Claude
  Code name, the cart tests fail, he edits ``src/shop/cart.py``, they pass; a minute ago
  he got cy's message (delivered by Claude Code as a prompt) and answered: between turns;
* **cy** (live, three minutes in): asked for wallet payments; a background subagent reads
  the wallet docs (still at work), she edits ``cart.py`` after bo (a file claim), sends
  bo a message with SendMessage, and now waits for permission to install the Stripe SDK.

Around them, *scenario lines* (``{"orchestra": [...]}``, ``{"clock": ...}``) do what a
person does with ``orchestra`` by hand: the lead's plan (tools, sprints, epics, team,
decisions), each session's sprint and epic, the project's tasks (``orchestra task add|start|done|
block``, run as the session: Claude Code's default model has no Task tools), and bo's
heads-up to the project.
Built by ``build_demo.py`` from the recordings; deterministic. Replayed, the sessions have
no transcripts, so the views say that no tokens were recorded.
"""

from __future__ import annotations

import json
from typing import Any

from build_demo import HERE

TEAM_DAY = HERE / "team-day.jsonl"
RECORDED = HERE / "recorded"

PROJECT = "shop"
CWD = "/home/dev/shop"
ANA = "0b6f3c1e-7d2a-4e59-9a41-5f0c8e2d7b13"
BO = "5a9d2e47-1c3b-4f86-b0d5-2e7a9c4f1d68"
CY = "c3e81f20-94ab-47d6-8e15-7b2f0a6d9c34"


def orchestra(*argv: str) -> dict[str, Any]:
    return {"orchestra": list(argv)}


def clock(value: str) -> dict[str, Any]:
    return {"clock": value}


def _plan() -> list[dict[str, Any]]:
    shared = ("shared",)
    return [orchestra(*shared, *argv) for argv in [
        ("register-tool", "engineering-fullstack", "--capabilities", "frontend,backend,tests",
         "--max-instances", "2", "--description", "Full-stack engineer"),
        ("register-tool", "general-purpose", "--capabilities", "research,docs",
         "--max-instances", "2", "--description", "Research and writing"),
        ("register-tool", "qa-tester", "--capabilities", "tests,review", "--max-instances",
         "1", "--description", "Test and review"),
        ("update-sprint", PROJECT, "s-12", "--title", "Search", "--status", "completed",
         "--start", "2026-10-26", "--end", "2026-11-06", "--points-planned", "10",
         "--points-completed", "9"),
        ("update-sprint", PROJECT, "s-13", "--title", "Catalogue", "--status", "completed",
         "--start", "2026-11-09", "--end", "2026-11-20", "--points-planned", "12",
         "--points-completed", "11"),
        ("update-sprint", PROJECT, "s-14", "--title", "Checkout", "--status", "active",
         "--start", "2026-11-23", "--end", "2026-12-04", "--goal",
         "Pay with a card or a wallet in one page", "--epic", "checkout,payments",
         "--points-planned", "15", "--points-completed", "6"),
        ("update-sprint", PROJECT, "s-15", "--title", "Accounts", "--status", "planned",
         "--start", "2026-12-07", "--end", "2026-12-18"),
        ("update-epic", PROJECT, "catalogue", "--title", "Product catalogue", "--status",
         "completed", "--sprint", "s-13", "--points", "11"),
        ("update-epic", PROJECT, "checkout", "--title", "One-page checkout", "--status",
         "in_progress", "--sprint", "s-14", "--points", "8"),
        ("update-epic", PROJECT, "payments", "--title", "Card and wallet payments",
         "--status", "in_progress", "--sprint", "s-14", "--points", "7"),
        ("set-member", PROJECT, "ana", "--role", "lead", "--tools", "engineering-fullstack",
         "--capabilities", "backend,frontend"),
        ("set-member", PROJECT, "bo", "--role", "developer", "--tools",
         "engineering-fullstack,qa-tester", "--capabilities", "backend,tests"),
        ("set-member", PROJECT, "cy", "--role", "developer", "--tools",
         "engineering-fullstack,general-purpose", "--capabilities", "frontend,payments"),
        ("decide", PROJECT, "--title", "Prices are integers in cents", "--rationale",
         "No rounding drift between cart, invoice and refunds", "--by", "ana,bo"),
        ("decide", PROJECT, "--title", "Stripe for cards and wallets", "--rationale",
         "One integration for both; hosted 3-D Secure", "--by", "ana,cy"),
        ("decide", PROJECT, "--title", "Split checkout into its own service", "--status",
         "proposed", "--rationale", "Only if the monolith slows the release train",
         "--by", "bo"),
    ]]


def recorded(name: str) -> list[dict[str, Any]]:
    """The payloads ``record_team_day.py`` recorded for one session, in order."""
    path = RECORDED / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _until(events: list[dict[str, Any]], test: Any, *, after: bool = True
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``events`` cut at the first one ``test`` accepts (kept in the first part, or
    starting the second when ``after`` is False)."""
    for i, event in enumerate(events):
        if test(event):
            cut = i + 1 if after else i
            return events[:cut], events[cut:]
    raise ValueError("the recording lacks the event the day is cut at")


def _prompted(events: list[dict[str, Any]], *lines: dict[str, Any]) -> list[dict[str, Any]]:
    """``lines`` (what the person does by hand) right after the session's first prompt."""
    head, tail = _until(events, lambda e: e["hook_event_name"] == "UserPromptSubmit")
    return [*head, *lines, *tail]


def task(session: str, *argv: str) -> dict[str, Any]:
    """A task verb the session's model (or its person) runs from the session's Bash:
    the project plan's tasks, with project-wide ids (``T-1``...), in the order added."""
    return {"orchestra": ["task", *argv], "session": session}


def team_day() -> list[dict[str, Any]]:
    def plan_of(session: str, epic: str) -> list[dict[str, Any]]:
        return [orchestra("state", "set", session, "active_work.current_sprint", "s-14"),
                orchestra("state", "set", session, "active_work.current_epic", epic)]

    ana = _prompted(recorded("ana"), *plan_of(ANA, "checkout"),
                    task(ANA, "add", "Rounding rules for prices", "--start", "--epic",
                         "checkout", "--sprint", "s-14", "--points", "2", "-d",
                         "Cents everywhere; round once, on the invoice"),
                    task(ANA, "done", "T-1"))
    bo_fix, bo_later = _until(recorded("bo"), lambda e: (
        e["hook_event_name"] == "UserPromptSubmit"
        and "cross-session-message" in str(e.get("prompt"))), after=False)
    bo_later = [e for e in bo_later if e["hook_event_name"] != "SessionEnd"]  # bo goes on
    bo_fix = _prompted(bo_fix, *plan_of(BO, "checkout"),
                       task(BO, "add", "Fix rounding in cart totals", "--start", "--epic",
                            "checkout", "--sprint", "s-14", "--points", "3",
                            "--needs", "engineering-fullstack", "-d",
                            "Totals must match the invoice"),
                       task(BO, "progress", "T-2", "40"))
    cy, _rest = _until(recorded("cy"), lambda e: e["hook_event_name"] == "PermissionRequest")
    cy = _prompted(cy, *plan_of(CY, "payments"),
                   task(CY, "add", "Wallet payments", "--start", "--epic", "payments",
                        "--sprint", "s-14", "--points", "5", "-d",
                        "Apple Pay and Google Pay through Stripe"),
                   task(CY, "add", "3-D Secure for cards", "--epic", "payments", "--sprint",
                        "s-14", "--points", "3", "--needs", "engineering-fullstack", "-d",
                        "Hosted challenge page"),
                   task(CY, "add", "Refund webhook", "--start", "--epic", "payments",
                        "--sprint", "s-14", "--points", "2", "-d",
                        "Stripe webhook for refunds"),
                   task(CY, "block", "T-5", "--note", "Needs the Stripe test account"))
    return [
        clock("-1d"), *_plan(),
        clock("-5h"), *ana,
        clock("-14m"), *bo_fix,
        orchestra("send", "--from", BO, "--project", PROJECT, "Heads-up: I am changing cart "
                  "totals in src/shop/cart.py; ping me before you edit it."),
        clock("-3m"), *cy,
        clock("-1m"), *bo_later,
        clock("now"),
    ]
