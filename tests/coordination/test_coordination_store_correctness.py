"""Coordination and store correctness (issue 17): one regression test per defect.

Each test drives the public surface only: the CLIs' ``main`` and the dispatcher
(``hooks.dispatch.main``, through ``hooks.testing.run_dispatch``) on a throwaway
``ORCHESTRA_HOME``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from state import session_manager
from tests.coordination._helpers import context_of
from tests.handlers._support import payload


def cli(main: Callable[..., int], *argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    text = out.getvalue()
    return code, json.loads(text) if text.strip() else None, err.getvalue()


def sm(*argv: str) -> tuple[int, Any, str]:
    return cli(session_manager.main, *argv)


# -- 7. messages to oneself ------------------------------------------------------------------


def test_direct_message_to_oneself_is_delivered_but_not_own_project_or_broadcast(
        home: Path, dispatch: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for sid in ("alpha", "beta"):
        dispatch(payload("SessionStart.startup", sid))
    monkeypatch.setenv("ORCHESTRA_SESSION_ID", "alpha")
    assert sm("send", "--to", "alpha", "note to self: rerun the benchmarks")[0] == 0
    assert sm("send", "--project", "project", "for the team")[0] == 0
    assert sm("send", "--all", "for everyone")[0] == 0
    assert [m["text"] for m in sm("inbox", "alpha")[1]] == ["note to self: rerun the benchmarks"]

    own = context_of(dispatch(payload("PostToolUse.Bash", "alpha")))
    assert own.count("note to self: rerun the benchmarks") == 1
    assert "for the team" not in own and "for everyone" not in own
    assert "orchestra-message" not in context_of(dispatch(payload("UserPromptSubmit", "alpha")))
    other = context_of(dispatch(payload("PostToolUse.Bash", "beta")))
    assert "for the team" in other and "for everyone" in other and "note to self" not in other


# -- 5. send --project: the sessions' spelling, unknown projects refused ----------------------


def test_send_project_uses_the_sessions_spelling_and_refuses_unknown_projects(
        home: Path, dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "alpha", cwd="/home/dev/ProjA"))
    assert sm("show", "alpha")[1]["project"] == "proja"
    code, sent, _ = sm("send", "--project", "ProjA", "spelled like the folder")
    assert code == 0 and sent["to"] == {"project": "proja"}
    assert "spelled like the folder" in context_of(dispatch(payload("PostToolUse.Bash", "alpha")))

    code, out, err = sm("send", "--project", "proj-a-typo", "lost?")
    assert code == 3 and out is None and len(err.splitlines()) == 1
    assert "'proj-a-typo'" in err and "known projects: proja" in err and "--new-project" in err
    assert not (home / "projects" / "proj-a-typo").exists()

    # A configured project keeps its spelling; any spelling with the same slug reaches it.
    assert sm("create", "--id", "gamma", "--project", "MyApp")[0] == 0
    code, sent, _ = sm("send", "--project", "myapp", "configured spelling")
    assert code == 0 and sent["to"] == {"project": "MyApp"}

    # A new project on purpose: normalised as a session in that folder would spell it.
    code, sent, _ = sm("send", "--project", "Next Big", "--new-project", "welcome")
    assert (code, sent) == (2, None)  # not a valid id: spaces are refused before normalising
    code, sent, _ = sm("send", "--project", "Next_Big", "--new-project", "welcome")
    assert code == 0 and sent["to"] == {"project": "next_big"}
    assert sm("send", "--project", "Next_Big", "again")[0] == 3  # still no session has had it
    dispatch(payload("SessionStart.startup", "delta", cwd="/home/dev/Next_Big"))
    assert sm("send", "--project", "Next_Big", "again")[0] == 0
    assert sm("send", "--to", "alpha", "--new-project", "x")[0] == 2
