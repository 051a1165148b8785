"""A tool's ``max_instances`` enforced at the Agent call and at assignment (issue 24).

Through the dispatcher: PreToolUse of ``Agent`` with that ``subagent_type`` checks and
counts in one step, per ``capacity.policy``; SubagentStart/SubagentStop, the end of a
foreground call and the session's end release. Through the CLI: ``task assign --tool``.
The team view shows what is enforced.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.orchestration._support import (
    age_heartbeat,
    child_env,
    decision_of,
    event,
    orch,
    start,
)

TOOL = "qa-tester"


def agent_call(session: str, n: int, *, tool: str = TOOL, text: str = "Review the diff",
               background: bool = False) -> dict[str, Any]:
    return event("PreToolUse.Bash", session, tool_name="Agent", tool_use_id=f"toolu_cap_{n}",
                 tool_input={"description": text, "prompt": f"{text} please",
                             "subagent_type": tool, "run_in_background": background})


def agent_done(session: str, n: int, *, background: bool = False) -> dict[str, Any]:
    response = ({"status": "async_launched", "agentId": f"agent-{n}"} if background
                else {"status": "completed", "content": [{"type": "text", "text": "ok"}]})
    return event("PostToolUse.Bash", session, tool_name="Agent", tool_use_id=f"toolu_cap_{n}",
                 tool_input={"description": "d", "prompt": "p", "subagent_type": TOOL},
                 tool_response=response)


def subagent(kind: str, session: str, agent: str, tool: str = TOOL) -> dict[str, Any]:
    return event(kind, session, agent_id=agent, agent_type=tool)


@pytest.fixture
def crew(home: Path, dispatch: Callable[..., Any]) -> Callable[..., Any]:
    assert orch("shared", "register-tool", TOOL, "--capabilities", "tests",
                "--max-instances", "1").code == 0
    start(dispatch, "lead", "orchestrator")
    start(dispatch, "other")
    return dispatch


def busy(tool: str = TOOL) -> tuple[int, int]:
    team = orch("team", "--json", session="lead").json()
    load = next(t for t in team["tools"] if t["name"] == tool)
    return load["busy"], load["free"]


@pytest.mark.parametrize(("policy", "decision"), [("ask", "ask"), ("deny", "deny"),
                                                  ("warn", None), ("off", None)])
def test_a_full_tool_is_refused_asked_or_warned_per_policy(home: Path, crew: Any, policy: str,
                                                          decision: str | None) -> None:
    if policy != "ask":  # ask is the default
        assert orch("shared", "set-config", "capacity.policy", policy).code == 0
    assert decision_of(crew(agent_call("lead", 1))) == (None, "")  # the one instance
    assert busy() == (1, 0)
    second = crew(agent_call("other", 2))
    got, reason = decision_of(second)
    assert got == decision
    if decision:
        assert f"tool {TOOL} is at capacity, 1/1 instances busy" in reason
        assert "a subagent of session lead" in reason
    if policy == "warn":
        assert "at capacity" in json.dumps(second.reply)
    if policy == "off":
        assert second.reply is None or "capacity" not in json.dumps(second.reply)
    assert busy()[0] == (1 if policy == "deny" else 2)  # a refused call holds nothing


def test_instances_are_released_when_the_agent_stops(home: Path, crew: Any) -> None:
    assert orch("shared", "set-config", "capacity.policy", "deny").code == 0
    crew(agent_call("lead", 1, background=True))
    crew(subagent("SubagentStart", "lead", "agent-1"))
    crew(agent_done("lead", 1, background=True))  # a background agent stays busy
    assert busy() == (1, 0)
    assert decision_of(crew(agent_call("other", 2)))[0] == "deny"
    crew(subagent("SubagentStop", "lead", "agent-1"))
    assert busy() == (0, 1)
    assert decision_of(crew(agent_call("other", 3)))[0] is None
    crew(subagent("SubagentStart", "other", "agent-3"))
    crew(agent_done("other", 3))  # a foreground call ends with its agent
    assert busy() == (0, 1)


def test_a_session_that_ends_or_is_gone_releases_its_instances(home: Path, crew: Any) -> None:
    assert orch("shared", "set-config", "capacity.policy", "deny").code == 0
    crew(agent_call("lead", 1))
    crew(subagent("SubagentStart", "lead", "agent-1"))
    crew(event("SessionEnd.other", "lead"))
    assert busy() == (0, 1)
    crew(agent_call("other", 2))
    assert busy() == (1, 0)
    age_heartbeat(home, "other", 7200)  # gone: no heartbeat for 2 h, no SessionEnd
    start(crew, "third")
    assert decision_of(crew(agent_call("third", 3)))[0] is None


def test_a_call_that_never_ran_releases_its_instance(home: Path, crew: Any) -> None:
    """An Agent call refused at Claude Code's own permission prompt sends no result: the
    end of its turn (Stop) releases its reservation, as a PermissionDenied does; a
    background agent that outlives the turn keeps its instance."""
    crew(agent_call("lead", 1))
    assert decision_of(crew(agent_call("other", 2)))[0] == "ask"
    assert busy() == (2, 0)
    crew(event("Stop", "other"))  # the person said no: nothing ran, the turn ended
    assert busy() == (1, 0)
    crew(event("PermissionDenied.auto_mode", "lead", tool_name="Agent",
               tool_use_id="toolu_cap_1",
               tool_input={"description": "d", "prompt": "p", "subagent_type": TOOL}))
    assert busy() == (0, 1)
    crew(agent_call("lead", 3, background=True))
    crew(subagent("SubagentStart", "lead", "agent-3"))
    crew(agent_done("lead", 3, background=True))
    crew(event("Stop", "lead"))  # the background agent still runs
    assert busy() == (1, 0)
    crew(subagent("SubagentStop", "lead", "agent-3"))
    assert busy() == (0, 1)


def test_an_unregistered_type_is_not_counted(home: Path, crew: Any) -> None:
    for n in range(3):
        assert decision_of(crew(agent_call("lead", n, tool="general-purpose")))[0] is None
    assert not (home / "capacity.json").exists() or "general-purpose" not in \
        (home / "capacity.json").read_text()


def test_assignment_to_a_tool_counts_and_is_checked(home: Path, crew: Any) -> None:
    for title in ("One", "Two", "Three"):
        orch("task", "add", title, session="lead")
    first = orch("task", "assign", "T-1", "--tool", TOOL, session="lead")
    assert first.code == 0 and first.json()["capacity"] == {"tool": TOOL, "max_instances": 1,
                                                            "busy": 0}
    assert busy() == (1, 0)
    full = orch("task", "assign", "T-2", "--tool", TOOL, session="lead")
    assert full.code == 4 and "at capacity: 1/1 busy (task T-1" in full.err
    assert "--over-capacity" in full.err
    over = orch("task", "assign", "T-2", "--tool", TOOL, "--over-capacity", session="lead")
    assert over.code == 0 and over.json()["capacity"]["note"].startswith("over capacity (ask)")
    assert busy() == (2, 0)
    assert orch("shared", "set-config", "capacity.policy", "deny").code == 0
    refused = orch("task", "assign", "T-3", "--tool", TOOL, "--over-capacity", session="lead")
    assert refused.code == 4 and "capacity.policy is deny" in refused.err
    # a subagent started for a task that holds the tool uses that task's instance
    orch("task", "done", "T-2", session="lead")
    assert decision_of(crew(agent_call("lead", 7, text="Work on T-1: the tests")))[0] is None
    assert busy() == (1, 0)
    assert decision_of(crew(agent_call("lead", 8, text="Something else")))[0] == "deny"
    orch("task", "done", "T-1", session="lead")
    assert busy() == (1, 0)  # the T-1 subagent still runs: it now counts by itself
    crew(agent_done("lead", 7))
    assert busy() == (0, 1)


def test_a_session_acting_as_a_tool_counts(home: Path, crew: Any) -> None:
    """A worker with the tool as a skill taking a task that needs it occupies an instance;
    ``task next`` skips such a task while the tool is full."""
    start(crew, "w1", "worker", TOOL)
    start(crew, "w2", "worker", TOOL)
    orch("task", "add", "Needs QA", "--needs", TOOL, session="lead")
    orch("task", "add", "Needs QA too", "--needs", TOOL, session="lead")
    assert orch("task", "next", session="w1").json()["id"] == "T-1"
    assert busy() == (1, 0)
    blocked = orch("task", "next", session="w2")
    assert blocked.code == 3 and "T-2 needs qa-tester" in blocked.err
    orch("task", "done", "T-1", session="w1")
    assert orch("task", "next", session="w2").json()["id"] == "T-2"


CALLER = r"""
import io, json, sys
from hooks.testing import run_dispatch
event = json.loads(sys.argv[1])
outcome = run_dispatch(event, home=sys.argv[2])
specific = (outcome.reply or {}).get("hookSpecificOutput") or {}
print(specific.get("permissionDecision") or "allow")
"""


def test_parallel_agent_calls_never_exceed_the_cap(home: Path, crew: Any) -> None:
    """The check and the count are one step: 10 processes, 2 instances, deny."""
    assert orch("shared", "register-tool", "reviewer", "--capabilities", "review",
                "--max-instances", "2").code == 0
    assert orch("shared", "set-config", "capacity.policy", "deny").code == 0
    procs = [subprocess.Popen([sys.executable, "-c", CALLER,
                               json.dumps(agent_call("lead", 100 + n, tool="reviewer")),
                               str(home)], env=child_env(home), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(10)]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        answers.append(out.strip())
    assert sorted(answers) == ["allow"] * 2 + ["deny"] * 8
    assert busy("reviewer") == (2, 0)
