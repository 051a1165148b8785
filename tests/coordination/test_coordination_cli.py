"""Message and claim state through the CLIs (issue 5: visible and changeable)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from state import session_manager, state_manager
from tests.coordination._helpers import context_of
from tests.handlers._support import payload


def cli(main: Callable[..., int], *argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    text = out.getvalue()
    return code, json.loads(text) if text.strip() else None, err.getvalue()


def test_send_inbox_and_delivery(home: Path, dispatch: Callable[..., Any],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for sid in ("alpha", "beta"):
        dispatch(payload("SessionStart.startup", sid))
    monkeypatch.setenv("ORCHESTRA_SESSION_ID", "alpha")
    code, sent, _ = cli(session_manager.main, "send", "--to", "beta", "--urgent", "rebase now")
    assert code == 0 and sent["from"] == "alpha" and sent["urgent"] is True
    code, pending, _ = cli(session_manager.main, "inbox", "beta")
    assert code == 0 and [m["text"] for m in pending] == ["rebase now"]
    assert "rebase now" in dispatch(payload("Stop", "beta")).reply["reason"]
    assert cli(session_manager.main, "inbox", "beta")[1] == []
    code, everything, _ = cli(session_manager.main, "inbox", "beta", "--all")
    assert [m["delivered"] for m in everything] == [True]

    cli(session_manager.main, "send", "--project", "project", "for the team")
    code, marked, _ = cli(session_manager.main, "inbox", "beta", "--mark-read")
    assert [m["text"] for m in marked] == ["for the team"]
    assert "for the team" not in context_of(dispatch(payload("PostToolUse.Bash", "beta")))


@pytest.mark.parametrize(("argv", "code"), [
    (["send", "--to", "nobody", "hi"], 3),
    (["send", "--to", "../etc", "hi"], 2),
    (["send", "--all", ""], 2),
    (["send", "hi"], 2),
    (["send", "--to", "alpha", "--all", "hi"], 2),
    (["inbox", "a/b"], 2),
    (["claims", "--project", "../x"], 2),
])
def test_bad_coordination_input(home: Path, dispatch: Callable[..., Any], argv: list[str],
                                code: int) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    got, out, err = cli(session_manager.main, *argv)
    assert got == code and out is None and len(err.splitlines()) == 1


def test_claims_listed_and_released(home: Path, dispatch: Callable[..., Any],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for sid in ("alpha", "beta"):
        dispatch(payload("SessionStart.startup", sid))
    dispatch(payload("PostToolUse.Bash", "alpha", tool_name="Write",
                     tool_input={"file_path": "/home/dev/project/a.py", "content": "x"}))
    monkeypatch.setenv("ORCHESTRA_SESSION_ID", "beta")
    code, claims, _ = cli(session_manager.main, "claims")
    assert code == 0 and [(c["file"], c["path"], c["session"]) for c in claims] == [
        ("a.py", "/home/dev/project/a.py", "alpha")]
    edit = payload("PreToolUse.Bash", "beta", tool_name="Edit",
                   tool_input={"file_path": "/home/dev/project/a.py"})
    assert dispatch(edit).reply is not None
    assert cli(session_manager.main, "release", "alpha")[0] == 0
    assert cli(session_manager.main, "claims")[1] == []
    assert dispatch(edit).reply is None


def test_state_manager_defaults_to_current_session(home: Path, dispatch: Callable[..., Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    monkeypatch.setenv("ORCHESTRA_SESSION_ID", "alpha")
    assert cli(state_manager.main, "set", "active_work.current_epic", "epic-7")[0] == 0
    assert cli(state_manager.main, "get", "active_work.current_epic")[1] == "epic-7"
    assert cli(state_manager.main, "get", "-", "active_work.current_epic")[1] == "epic-7"
    assert cli(state_manager.main, "get", "$.active_work.current_epic")[1] == ["epic-7"]
    assert cli(state_manager.main, "get", "alpha")[1]["session_id"] == "alpha"
    assert cli(session_manager.main, "show")[1]["session_id"] == "alpha"
    monkeypatch.delenv("ORCHESTRA_SESSION_ID")
    code, _, err = cli(state_manager.main, "set", "active_work.current_epic", "x")
    assert code == 2 and "ORCHESTRA_SESSION_ID" in err
