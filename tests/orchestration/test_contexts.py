"""What each role is told at SessionStart and UserPromptSubmit (issue 24, section 1), and
the one SessionStart line that offers the task verbs (issue 21, item 5)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from handlers.presence import TASKS_LINE
from tests.orchestration._support import context_of, event, orch, start


def _lines(text: str, marker: str) -> list[str]:
    """The lines of the role's block (the merged context attributes each handler)."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if marker in line)
    block = []
    for line in lines[first:]:
        if line.startswith("[") and block:
            break
        block.append(line)
    return block


def test_an_orchestrator_sees_unassigned_tasks_and_idle_workers(
        home: Path, dispatch: Callable[..., Any]) -> None:
    start(dispatch, "lead")
    orch("shared", "register-tool", "qa", "--capabilities", "tests", "--max-instances", "1")
    assert orch("role", "set", "lead", "orchestrator").code == 0
    start(dispatch, "w1", "worker", "qa")
    start(dispatch, "w2", "worker")
    orch("task", "add", "Fix the cart", session="lead")
    orch("task", "add", "Test the cart", "--needs", "qa", session="lead")
    orch("task", "add", "Ship it", session="lead")
    orch("task", "start", "T-3", session="w2")
    text = context_of(dispatch(event("SessionStart.startup", "lead")))
    block = _lines(text, "you are the orchestrator")
    assert block[0].endswith("Orchestra: you are the orchestrator of project shop. Plan: "
                             "2 pending, 1 in progress, 0 blocked, 0 done.")
    assert 'Unassigned: T-1 "Fix the cart"; T-2 "Test the cart" needs qa.' in block[1]
    assert block[2].startswith("Idle workers: w1 (qa).")  # w2 works on T-3
    assert "`orchestra assign --auto`" in block[2]
    orch("task", "done", "T-3", session="w2")
    prompt = context_of(dispatch(event("UserPromptSubmit", "lead")))
    assert 'Done lately: T-3 "Ship it" by w2.' in prompt
    assert "Idle workers: w1 (qa), w2." in prompt


def test_a_worker_sees_its_assignment(home: Path, dispatch: Callable[..., Any]) -> None:
    start(dispatch, "lead", "orchestrator")
    start(dispatch, "w1", "worker")
    none = context_of(dispatch(event("UserPromptSubmit", "w1")))
    assert "you are a worker of project shop" in none
    assert "You have no task: `orchestra task next` takes the next one you can do." in none
    orch("task", "add", "Fix the cart", "-d", "Totals round wrong", session="lead")
    orch("task", "assign", "T-1", "--to", "w1", session="lead")
    text = context_of(dispatch(event("SessionStart.startup", "w1")))
    assert 'Your task: T-1 "Fix the cart" (pending, 0%); description: "Totals round wrong"' \
        in text
    assert "`orchestra task done T-1`" in text
    assert "Unassigned" not in text and "Idle workers" not in text


def test_a_peer_sees_only_what_it_saw_before_roles(home: Path,
                                                   dispatch: Callable[..., Any]) -> None:
    start(dispatch, "lead", "orchestrator")
    start(dispatch, "peer")
    orch("task", "add", "Fix the cart", session="lead")
    text = context_of(dispatch(event("SessionStart.startup", "peer")))
    assert "you are" not in text and "Unassigned" not in text
    assert text.count("orchestra task") == TASKS_LINE.count("orchestra task")
    assert dispatch(event("UserPromptSubmit", "peer")).reply is None


def test_the_task_verbs_take_one_short_line(home: Path, dispatch: Callable[..., Any]) -> None:
    text = context_of(start(dispatch, "someone"))
    assert TASKS_LINE in text.splitlines()
    assert len(TASKS_LINE) <= 220 and "\n" not in TASKS_LINE
    assert sum("orchestra task" in line for line in text.splitlines()) == 1


@pytest.mark.parametrize("role", ["orchestrator", "worker"])
def test_the_role_context_stays_bounded(home: Path, dispatch: Callable[..., Any],
                                        role: str) -> None:
    start(dispatch, "me", role)
    for n in range(40):
        start(dispatch, f"w{n}", "worker")
    for n in range(200):
        orch("task", "add", f"Task number {n} " + "with a long title " * 20, "-d", "x" * 3000,
             session="me")
    for n in range(30):
        orch("task", "assign", f"T-{n + 1}", "--to", "me" if role == "worker" else f"w{n}",
             session="me")
    text = context_of(dispatch(event("UserPromptSubmit", "me")))
    block = _lines(text, f"you are a{'n' if role[0] == 'o' else ''} {role}"
                   if role == "worker" else "you are the orchestrator")
    assert 2 <= len(block) <= 8
    assert all(len(line) <= 620 for line in block)
    assert len("\n".join(block)) <= 2500


def test_a_coordinator_sees_its_epic_only(home: Path, dispatch: Callable[..., Any]) -> None:
    start(dispatch, "coord")
    bad = orch("role", "set", "coord", "coordinator")
    assert bad.code == 2 and "needs a --scope" in bad.err
    assert orch("role", "set", "coord", "coordinator", "--scope", "epic:checkout").code == 0
    orch("task", "add", "In scope", "--epic", "checkout", session="coord")
    orch("task", "add", "Out of scope", "--epic", "search", session="coord")
    text = context_of(dispatch(event("UserPromptSubmit", "coord")))
    assert "you are the coordinator of project shop, epic checkout" in text
    assert "In scope" in text and "Out of scope" not in text
    shown = orch("role", "show", "coord").json()
    assert (shown["role"], shown["scope"]) == ("coordinator", {"epic": "checkout"})


def test_roles_from_config_and_bad_roles(home: Path, dispatch: Callable[..., Any]) -> None:
    start(dispatch, "s1")
    assert orch("shared", "set-config", "projects.shop.roles.default", "worker").code == 0
    shown = orch("role", "show", "s1").json()
    assert (shown["role"], shown["role_source"]) == ("worker", "config")
    assert "you are a worker" in context_of(dispatch(event("UserPromptSubmit", "s1")))
    assert orch("shared", "set-config", "roles.default", "boss").code == 2
    assert orch("role", "set", "s1", "boss").code == 2
    unknown = orch("role", "set", "s1", "worker", "--skills", "nope")
    assert unknown.code == 3 and "no tool nope in the tool registry" in unknown.err
    created = orch("session", "create", "--id", "pre", "--project", "shop", "--role",
                   "worker").json()
    assert created["role"] == "worker"
    # the session's role is not the team members' free-text role
    orch("shared", "set-member", "shop", "ana", "--role", "reviewer")
    assert orch("role", "show", "pre").json()["role"] == "worker"


def test_roles_show_in_who_and_show_for_people_too(home: Path,
                                                   dispatch: Callable[..., Any]) -> None:
    """The text views say each session's role, as the JSON does; a peer's stays unsaid."""
    assert orch("shared", "register-tool", "qa-tester", "--max-instances", "1").code == 0
    for sid in ("lead", "coord", "w1", "p1"):
        start(dispatch, sid)
    assert orch("role", "set", "lead", "orchestrator").code == 0
    assert orch("role", "set", "coord", "coordinator", "--scope", "epic:checkout").code == 0
    assert orch("role", "set", "w1", "worker", "--skills", "qa-tester").code == 0
    who = orch("who", "--text")
    assert who.code == 0, who
    lines = {line.split()[0]: line for line in who.out.splitlines()}
    assert "role orchestrator  [" in lines["lead"]
    assert "role coordinator of epic checkout  [" in lines["coord"]
    assert "role worker (skills qa-tester)  [" in lines["w1"]
    assert " role " not in lines["p1"]
    shown = orch("show", "w1", "--text")
    assert "role:      worker (skills qa-tester)" in shown.out.splitlines()
    assert "role:" not in orch("show", "p1", "--text").out
