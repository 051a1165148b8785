"""JSONPath through ``state_manager``: the seed's forms, functions, errors through the
CLI's error funnel, the help text, and a real process."""

from __future__ import annotations

from typing import Any

import pytest

from state.jsonpath.parser import MAX_DEPTH


@pytest.fixture
def tasks(sm: Any, session: str) -> str:
    for tid, status, subject in (("task-001", "pending", "one"), ("task-002", "completed", "two"),
                                 ("task-003", "pending", "three")):
        assert sm("set", session, f"active_work.tasks.{tid}",
                  f'{{"id": "{tid}", "status": "{status}", "subject": "{subject}"}}').code == 0
    return session


@pytest.mark.parametrize("query", [
    "$.active_work.tasks[?(@.status=='pending')]",  # the seed's spelling
    '$.active_work.tasks[?(@.status=="pending")]',
    "$.active_work.tasks[?@.status=='pending']",  # the RFC's
    "$.active_work.tasks[?@.status == 'pending' && @.id != 'task-002']",
])
def test_the_seeds_filter_forms(sm: Any, tasks: str, query: str) -> None:
    result = sm("get", tasks, query)
    assert result.code == 0, result.err
    assert [t["id"] for t in result.json()] == ["task-001", "task-003"]


@pytest.mark.parametrize(("query", "expected"), [
    ("$.active_work.tasks['task-002'].subject", ["two"]),
    ("$.active_work.tasks[?match(@.subject, 't.*')].id", ["task-002", "task-003"]),
    ("$.active_work.tasks[?length(@.subject) > 3].id", ["task-003"]),
    ("$.active_work.tasks.*.status", ["pending", "completed", "pending"]),
    ("$..subject", ["one", "two", "three"]),
    ("$.active_work.tasks[?@.status=='nope']", []),
    ("$.mode", ["development"]),
])
def test_queries(sm: Any, tasks: str, query: str, expected: list[Any]) -> None:
    assert sm("get", tasks, query).json() == expected


def test_metrics_are_there_whenever_a_query_can_reach_them(sm: Any, session: str) -> None:
    keys = {k for v in sm("get", session, "$[*]").json() if isinstance(v, dict) for k in v}
    assert "tool_calls" in keys  # a member of metrics
    assert sm("get", session, "$.metrics.events").json() == [0]
    assert sm("get", session, "$['metrics']['prompts']").json() == [0]
    assert sm("get", session, "$..prompts").json() == [0]
    assert sm("get", session, "$[?@.events == 0].prompts").json() == [0]


@pytest.mark.parametrize(("query", "start"), [
    ("$.active_work.tasks.task-001", "invalid JSONPath at position 25: '-' cannot appear"),
    ("$.active_work.tasks[?(@.status='pending')]", "invalid JSONPath at position 31: '='"),
    (" $.mode", "invalid JSONPath at position 1: a JSONPath query starts with '$'"),
    ("$[?" + "(" * MAX_DEPTH + "@" + ")" * MAX_DEPTH + "]",
     "unsupported JSONPath at position 43: nested more than"),
])
def test_errors_are_one_line_with_exit_2(sm: Any, tasks: str, query: str, start: str) -> None:
    line = sm("get", tasks, query).assert_error(2)
    assert line.startswith(f"state_manager: error: {start}"), line


def test_watch_checks_the_query_first(sm: Any, session: str) -> None:
    line = sm("watch", session, "$.mode[", "--count", "1", "--timeout", "5").assert_error(2)
    assert "invalid JSONPath at position 8" in line
    assert sm("watch", session, "$.mode", "--count", "1").lines() == [["development"]]


def test_a_query_with_only_the_env_session(sm: Any, session: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_SESSION_ID", session)
    assert sm("get", "$.mode").json() == ["development"]
    sm("get", " $.mode").assert_error(2)  # still a query, and an invalid one


def test_help_documents_the_syntax(sm: Any) -> None:
    for argv in (["--help"], ["get", "--help"]):
        text = sm(*argv).out
        for needle in ("RFC 9535", "[?(@.status==\"pending\")]", "['task-001']",
                       "match(V, 'regex')", "I-Regexp", "exits 2"):
            assert needle in text, (argv, needle)
    assert "see state_manager get --help" in sm("watch", "--help").out


def test_a_real_process_reports_one_line(run_module: Any, sess: Any, session: str) -> None:
    done = run_module("state.state_manager", "get", session, "$.active_work[?@.x=~'a']")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "state_manager: error: invalid JSONPath at position 19: '=~' is not RFC 9535 "
        "JSONPath: use match(@.x, 'regex') or search(@.x, 'regex') "
        "(in \"$.active_work[?@.x=~'a']\")"]
    done = run_module("state.state_manager", "get", session, "$.active_work.current_epic")
    assert (done.returncode, done.stdout.strip()) == (0, "[null]")
