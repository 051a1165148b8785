"""Issue 27: the hook processes a typical session starts, counted with the real CLI.

The typical session (:mod:`tests.e2e.typical_session`: 13 tool calls — Bash, Read, Write,
Edit, one Agent) runs once with what ``orchestra install`` registers today and once with the
registration of earlier installs (every event, a shell command each); strace counts the
processes that ran Orchestra's hook. ``bench/processes.py`` prints the same counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import typical_session as ts

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def counts(claude_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ts.Count]:
    if ts.strace() is None:
        pytest.fail("strace is needed to count processes (.ci/run installs it on Linux)")
    root = tmp_path_factory.mktemp("typical")
    return {which: ts.count_session(claude_bin, root, which) for which in ts.REGISTRATIONS}


def test_a_narrower_event_log_registers_and_starts_fewer(counts: dict[str, ts.Count]) -> None:
    """``event_log.events`` narrowed: what only the log needed (here MessageDisplay) starts
    no process; what the heartbeat, claims, subagents and tasks need still runs."""
    current, narrow = counts["current"], counts["narrow-log"]
    table = ts.describe(counts.values())
    assert narrow.ok, narrow.detail
    assert narrow.runs < current.runs and narrow.processes == narrow.runs, table
    assert "MessageDisplay" not in narrow.events, table
    for event in ("PreToolUse", "PostToolUse", "PostToolBatch", "SubagentStart",
                  "SubagentStop", "Stop"):
        assert narrow.events.get(event) == current.events.get(event), (event, table)


def test_the_typical_session_runs_with_both_registrations(counts: dict[str, ts.Count]) -> None:
    for count in (counts["current"], counts["all-events"]):
        assert count.ok, f"{count.registration}: {count.detail}"
        # every tool call reached Orchestra before and after it ran
        assert count.events.get("PreToolUse") == len(ts.TOOL_CALLS), ts.describe([count])
        assert count.events.get("PostToolUse") == len(ts.TOOL_CALLS), ts.describe([count])
        for event in ("SessionStart", "UserPromptSubmit", "SubagentStart", "SubagentStop",
                      "Stop", "SessionEnd"):
            assert count.events.get(event) == 1, (event, ts.describe([count]))


def test_the_current_registration_starts_fewer_processes(counts: dict[str, ts.Count]) -> None:
    current, old = counts["current"], counts["all-events"]
    table = ts.describe(counts.values())
    # the event log covers every event by default: the same hook runs...
    assert current.runs <= old.runs, table
    assert current.events == {e: n for e, n in old.events.items() if e in current.events}, table
    # ... each one process (exec form), where earlier installs started a shell and Python
    assert current.processes == current.runs, table
    assert old.processes is not None and current.processes < old.processes, table
