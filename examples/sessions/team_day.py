"""``team-day.jsonl``: a team's day on the project ``shop``, as one replayable scenario.

Three Claude Code sessions of one project, each line of theirs a real payload shape from
``tests/payloads`` (Claude Code 2.1.332) re-addressed to the session:

* **ana** (ended, five hours ago): writes the rounding spec, finishes her task, ends;
* **bo** (idle, last seen 14 minutes ago): fixes rounding in ``src/shop/cart.py`` and
  tells the project to ping him before touching that file;
* **cy** (live, three minutes in): starts wallet payments, gets bo's message at her
  first prompt, has a task blocked and a subagent at work, edits ``cart.py`` too (the
  claim warns her) and messages bo directly.

Before them, the lead sets up the plan with ``orchestra shared``: tools, three sprints,
epics, the team and decisions. Built by ``build_demo.py``; deterministic.
"""

from __future__ import annotations

import copy
from typing import Any

from build_demo import HERE, load_payload

TEAM_DAY = HERE / "team-day.jsonl"

PROJECT = "shop"
CWD = "/home/dev/shop"
CART = f"{CWD}/src/shop/cart.py"
ANA = "0b6f3c1e-7d2a-4e59-9a41-5f0c8e2d7b13"
BO = "5a9d2e47-1c3b-4f86-b0d5-2e7a9c4f1d68"
CY = "c3e81f20-94ab-47d6-8e15-7b2f0a6d9c34"


class Session:
    """Payloads of one session, in the shapes Claude Code 2.1.332 sends."""

    def __init__(self, session_id: str) -> None:
        self.id = session_id
        self.calls = 0

    def _payload(self, name: str, **fields: Any) -> dict[str, Any]:
        out = copy.deepcopy(load_payload(name))
        out["session_id"] = self.id
        out["transcript_path"] = f"/home/dev/.claude/projects/-home-dev-shop/{self.id}.jsonl"
        out["cwd"] = CWD
        if "prompt_id" in out:
            out["prompt_id"] = f"{self.id[:8]}-prompt"
        out.update(copy.deepcopy(fields))
        return out

    def _tool(self, tool: str, tool_input: dict[str, Any], response: Any
              ) -> list[dict[str, Any]]:
        self.calls += 1
        use = f"toolu_{self.id[:8]}_{self.calls:03d}"
        return [self._payload("PreToolUse.Bash", tool_name=tool, tool_input=tool_input,
                              tool_use_id=use),
                self._payload("PostToolUse.Bash", tool_name=tool, tool_input=tool_input,
                              tool_response=response, tool_use_id=use)]

    def start(self) -> list[dict[str, Any]]:
        return [self._payload("SessionStart.startup")]

    def prompt(self, text: str) -> list[dict[str, Any]]:
        return [self._payload("UserPromptSubmit", prompt=text)]

    def edit(self, path: str, old: str, new: str) -> list[dict[str, Any]]:
        return self._tool("Edit", {"file_path": path, "old_string": old, "new_string": new,
                                   "replace_all": False},
                          {"filePath": path, "oldString": old, "newString": new,
                           "structuredPatch": [], "userModified": False, "replaceAll": False})

    def task(self, task_id: str, subject: str, description: str) -> list[dict[str, Any]]:
        tool_input = {"subject": subject, "description": description, "activeForm": subject}
        created = self._payload("TaskCreated", task_id=task_id, task_subject=subject,
                                task_description=description)
        pre, post = self._tool("TaskCreate", tool_input, {"task": {
            "id": task_id, "subject": subject, "description": description}})
        return [pre, created, post]

    def update(self, task_id: str, status: str) -> list[dict[str, Any]]:
        return self._tool("TaskUpdate", {"taskId": task_id, "status": status},
                          {"success": True, "taskId": task_id, "updatedFields": ["status"]})

    def agent(self, agent_type: str, prompt: str) -> list[dict[str, Any]]:
        """An Agent call whose subagent is still at work."""
        self.calls += 1
        tool_input = {"description": prompt[:40], "prompt": prompt,
                      "subagent_type": agent_type}
        return [self._payload("PreToolUse.Bash", tool_name="Agent", tool_input=tool_input,
                              tool_use_id=f"toolu_{self.id[:8]}_{self.calls:03d}"),
                self._payload("SubagentStart", agent_id=f"a{self.id[:8]}{self.calls:03d}",
                              agent_type=agent_type)]

    def stop(self) -> list[dict[str, Any]]:
        return [self._payload("Stop")]

    def end(self) -> list[dict[str, Any]]:
        return [self._payload("SessionEnd.other")]


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


def team_day() -> list[dict[str, Any]]:
    ana, bo, cy = Session(ANA), Session(BO), Session(CY)
    sprint = ("set", "active_work.current_sprint", "s-14")
    return [
        clock("-1d"), *_plan(),
        clock("-5h"),
        *ana.start(), *ana.prompt("Write down how prices are rounded, in docs/pricing.md"),
        orchestra("state", sprint[0], ANA, *sprint[1:]),
        orchestra("state", "set", ANA, "active_work.current_epic", "checkout"),
        *ana.task("1", "Rounding rules for prices", "Cents everywhere; round half to even"),
        *ana.update("1", "in_progress"),
        *ana.edit(f"{CWD}/docs/pricing.md", "TBD", "All prices are integers in cents."),
        *ana.update("1", "completed"),
        *ana.stop(), *ana.end(),
        clock("-14m"),
        *bo.start(), *bo.prompt("Cart totals are off by a cent: fix the rounding"),
        orchestra("state", sprint[0], BO, *sprint[1:]),
        orchestra("state", "set", BO, "active_work.current_epic", "checkout"),
        *bo.task("1", "Fix rounding in cart totals", "Totals must match the invoice"),
        *bo.update("1", "in_progress"),
        *bo.edit(CART, "round(total, 2)", "total_cents // 1"),
        orchestra("send", "--from", BO, "--project", PROJECT, "Heads-up: I am changing cart "
                  "totals in src/shop/cart.py; ping me before you edit it."),
        *bo.stop(),
        clock("-3m"),
        *cy.start(), *cy.prompt("Add Apple Pay and Google Pay to the checkout"),
        orchestra("state", sprint[0], CY, *sprint[1:]),
        orchestra("state", "set", CY, "active_work.current_epic", "payments"),
        *cy.task("1", "Wallet payments", "Apple Pay and Google Pay through Stripe"),
        *cy.update("1", "in_progress"),
        *cy.task("2", "3-D Secure for cards", "Hosted challenge page"),
        *cy.task("3", "Refund webhook", "Needs the Stripe test account"),
        orchestra("state", "set", CY, "active_work.tasks.3.status", "blocked"),
        *cy.agent("general-purpose", "Read Stripe's wallet docs and list what we need"),
        *cy.edit(CART, "def total(", "def total(wallet=None, "),
        orchestra("send", "--from", CY, "--to", BO, "I need one parameter in cart.total for "
                  "wallets; I will rebase on your rounding fix."),
        clock("now"),
    ]
