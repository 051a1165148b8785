"""Claude Code's own coordination (issue 21): names, SendMessage, worktrees.

Payloads are the real ones captured from the pinned CLI (tests/payloads/coordination,
tests/data/claude-code; see their README), re-addressed to the test's sessions.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from hooks.testing import run_dispatch
from orchestra.cli import main as orchestra
from tests.handlers._support import payload

REPO = Path(__file__).resolve().parents[2]
COORDINATION = REPO / "tests" / "payloads" / "coordination"
CLAUDE_DATA = REPO / "tests" / "data" / "claude-code"
SENDER, RECIPIENT = "sender-1", "recipient-1"


def captured(name: str, sid: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((COORDINATION / f"{name}.json").read_text())
    data["session_id"] = sid
    data.update(copy.deepcopy(changes))
    return data


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = orchestra(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def dispatch(home: Path, event: dict[str, Any]) -> Any:
    result = run_dispatch(event, home=home)
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "orchestra"
    monkeypatch.setenv("ORCHESTRA_HOME", str(root))
    for key in ("ORCHESTRA_SESSION_ID", "CLAUDE_CODE_SESSION_ID", "CLAUDE_PROJECT_DIR"):
        monkeypatch.delenv(key, raising=False)
    # Claude Code's session registry: the captured entry, as the recipient's.
    registry = tmp_path / "claude" / "sessions"
    registry.mkdir(parents=True)
    entry = json.loads((CLAUDE_DATA / "registry-session.json").read_text())
    entry["sessionId"] = RECIPIENT
    (registry / f"{entry['pid']}.json").write_text(json.dumps(entry))
    (registry / f"{entry['pid']}.deadbeef.key").write_text("{not json: never read}")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    return root


def test_names_come_from_the_registry_and_from_list_agents(home: Path) -> None:
    dispatch(home, payload("SessionStart.startup", RECIPIENT))
    dispatch(home, payload("SessionStart.startup", SENDER))
    _, out, _ = run("who", "--project", "project")
    names = {s["session_id"]: s["claude_name"] for s in json.loads(out)}
    registry_name = json.loads((CLAUDE_DATA / "registry-session.json").read_text())["name"]
    assert names == {RECIPIENT: registry_name, SENDER: None}
    # ListAgents tells the caller its own name, with its reference.
    listing = captured("PostToolUse.ListAgents", SENDER)
    dispatch(home, listing)
    own = listing["tool_response"]["listing"].split("This session is ", 1)[1].split("]")[0] + "]"
    _code, out, _ = run("who", "--project", "project", "--text")
    assert f"{SENDER} ({own})" in out
    from state.names import name_map, session_for_name
    from state.store import open_store

    store = open_store(home)
    assert session_for_name(store, registry_name) == RECIPIENT
    assert session_for_name(store, own) == SENDER
    assert session_for_name(store, own.split(" ")[0]) == SENDER
    assert session_for_name(store, own.split(" ")[0] + " [000000]") is None
    assert name_map(store)[own.split(" ")[0]]["source"] == "ListAgents"
    # The presence context tells a new session the names of its peers.
    start = dispatch(home, payload("SessionStart.startup", "third-1"))
    assert f"Claude Code name {registry_name}" in json.dumps(start.reply)


def test_send_message_is_recorded_shown_and_never_delivered_again(home: Path) -> None:
    dispatch(home, payload("SessionStart.startup", RECIPIENT))
    dispatch(home, payload("SessionStart.startup", SENDER))
    sent = captured("PostToolUse.SendMessage.sent", SENDER)
    registry_name = json.loads((CLAUDE_DATA / "registry-session.json").read_text())["name"]
    sent["tool_input"]["to"] = registry_name
    dispatch(home, captured("PreToolUse.SendMessage", SENDER))
    dispatch(home, sent)
    dispatch(home, captured("PostToolUse.SendMessage.not_sent", SENDER))
    # The recipient's inbox lists it, delivered by Claude Code, never pending.
    code, out, err = run("inbox", RECIPIENT, "--all")
    assert code == 0, err
    (message,) = json.loads(out)
    assert message["via"] == "claude-code" and message["delivered"] is True
    assert message["from"] == SENDER and message["to"]["session"] == RECIPIENT
    assert message["to"]["claude_code"] == registry_name
    assert message["summary"] == "cart fix ready" and message["sent"] is True
    assert message["claude_msg_id"] == sent["tool_response"]["msg_id"]
    assert json.loads(run("inbox", RECIPIENT)[1]) == []  # nothing pending
    # The sender sees both, the one nobody received marked as not sent.
    mine = json.loads(run("inbox", SENDER, "--all")[1])
    assert [(m["to"]["claude_code"], m["sent"]) for m in mine] == [
        (registry_name, True), ("nobody-here", False)]
    # Never injected into a context: not at the recipient's next events, nor by the monitor.
    for name in ("UserPromptSubmit", "PostToolUse.Bash"):
        reply = dispatch(home, payload(name, RECIPIENT)).reply or {}
        assert "cart fix ready" not in json.dumps(reply)
        assert "rounding fix" not in json.dumps(reply)
    from state.messages import take_undelivered
    from state.store import open_store

    assert take_undelivered(open_store(home), RECIPIENT) == []
    # The views show it, marked as sent through Claude Code.
    code, text, _ = run("sessions", "--session", RECIPIENT)
    assert "via Claude Code, received from" in text and "cart fix ready" in text
    from orchestra.web.data import StateReader

    items = StateReader(open_store(home)).messages()["messages"]
    assert {(m["via"], m["sent"]) for m in items} == {("claude-code", True),
                                                    ("claude-code", False)}
    assert any(registry_name in m["to"] and RECIPIENT in m["to"] for m in items)
    # The event log keeps what a timeline needs: recipient, summary, how long it took.
    from state.eventlog import read_events

    record = next(r for r in read_events(open_store(home), SENDER) if r.get("tool") ==
              "SendMessage" and r["event"] == "PostToolUse")
    assert record["summary"]["tool_input"]["to"] == registry_name
    assert record["summary"]["tool_input"]["summary"] == "cart fix ready"
    assert record["duration_ms"] == sent["duration_ms"]


def test_a_message_received_as_a_prompt_says_who_sent_it(home: Path) -> None:
    event = captured("UserPromptSubmit.cross_session_message", RECIPIENT)
    sender = event["prompt"].split('from-name="', 1)[1].split('"', 1)[0]
    dispatch(home, event)
    _code, out, _ = run("show", RECIPIENT)
    activity = json.loads(out)["activity"]
    assert activity["prompt"]["kind"] == "message"
    assert activity["prompt"]["from"] == sender
    assert "<cross-session-message" not in out
    assert activity["prompt"]["text"].startswith("The rounding fix is in cart_totals.py")


def _repo(folder: Path, branch: str) -> Path:
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text(f"ref: refs/heads/{branch}\n")
    return folder


def test_worktrees_and_folders_update_the_checkout_in_presence(home: Path,
                                                             tmp_path: Path) -> None:
    project = _repo(tmp_path / "project", "main")
    worktree = project / ".claude" / "worktrees" / "fix-cart"
    worktree.mkdir(parents=True)
    git_dir = project / ".git" / "worktrees" / "fix-cart"
    git_dir.mkdir(parents=True)
    (git_dir / "HEAD").write_text("ref: refs/heads/worktree-fix-cart\n")
    (worktree / ".git").write_text(f"gitdir: {git_dir}\n")
    sid = SENDER

    def checkout() -> dict[str, Any]:
        data: dict[str, Any] = json.loads(run("show", sid)[1])["checkout"]
        return data

    dispatch(home, payload("SessionStart.startup", sid, cwd=str(project / "src")))
    assert (checkout()["path"], checkout()["branch"]) == (str(project), "main")
    enter = captured("PostToolUse.EnterWorktree", sid)
    enter["tool_response"]["worktreePath"] = str(worktree)
    dispatch(home, enter)
    assert (checkout()["path"], checkout()["branch"], checkout()["via"]) == (
        str(worktree), "worktree-fix-cart", "EnterWorktree")
    assert f"checkout {worktree} on branch worktree-fix-cart" in run("show", sid, "--text")[1]
    leave = captured("PostToolUse.ExitWorktree", sid)
    leave["tool_response"]["restoredCwd"] = str(project)
    dispatch(home, leave)
    assert (checkout()["path"], checkout()["branch"]) == (str(project), "main")
    # CwdChanged into the worktree, then the worktree is removed.
    dispatch(home, payload("CwdChanged", sid, new_cwd=str(worktree), old_cwd=str(project)))
    assert checkout()["branch"] == "worktree-fix-cart"
    dispatch(home, payload("docs.WorktreeRemove", sid, worktree_path=str(worktree),
                           cwd=str(project)))
    assert (checkout()["path"], checkout()["via"]) == (str(project), "WorktreeRemove")
    # A detached HEAD has no branch.
    (project / ".git" / "HEAD").write_text("0123456789abcdef0123456789abcdef01234567\n")
    dispatch(home, payload("CwdChanged", sid, new_cwd=str(project)))
    assert (checkout()["path"], checkout()["branch"]) == (str(project), None)


def test_a_peer_in_another_worktree_is_shown_there_in_presence(home: Path,
                                                               tmp_path: Path) -> None:
    """The SessionStart context tells a session where each peer works when that is
    another working tree (EnterWorktree), and says nothing of peers in its own."""
    project = _repo(tmp_path / "project", "main")
    worktree = project / ".claude" / "worktrees" / "fix-cart"
    worktree.mkdir(parents=True)
    git_dir = project / ".git" / "worktrees" / "fix-cart"
    git_dir.mkdir(parents=True)
    (git_dir / "HEAD").write_text("ref: refs/heads/worktree-fix-cart\n")
    (worktree / ".git").write_text(f"gitdir: {git_dir}\n")
    for sid in (SENDER, RECIPIENT):
        dispatch(home, payload("SessionStart.startup", sid, cwd=str(project)))
    enter = captured("PostToolUse.EnterWorktree", SENDER)
    enter["tool_response"]["worktreePath"] = str(worktree)
    dispatch(home, enter)

    def peer_line(sid: str) -> str:
        reply = dispatch(home, payload("SessionStart.startup", "third-1",
                                       cwd=str(project))).reply
        text = reply["hookSpecificOutput"]["additionalContext"]
        return next(line for line in text.splitlines() if line.startswith(f"- {sid} "))

    assert f"works in {worktree} on branch worktree-fix-cart" in peer_line(SENDER)
    assert "works in" not in peer_line(RECIPIENT)
    leave = captured("PostToolUse.ExitWorktree", SENDER)
    leave["tool_response"]["restoredCwd"] = str(project)
    dispatch(home, leave)
    assert "works in" not in peer_line(SENDER)


def test_a_send_message_to_a_session_of_another_project_reaches_its_views(
        home: Path) -> None:
    """SendMessage reaches any session on the machine: a recipient of another project
    lists it in its inbox and sessions view too — never injected, and once in the web
    view's list of everything sent."""
    dispatch(home, payload("SessionStart.startup", RECIPIENT, cwd="/home/dev/billing"))
    dispatch(home, payload("SessionStart.startup", SENDER))
    registry_name = json.loads((CLAUDE_DATA / "registry-session.json").read_text())["name"]
    sent = captured("PostToolUse.SendMessage.sent", SENDER)
    sent["tool_input"]["to"] = registry_name
    dispatch(home, sent)
    (received,) = json.loads(run("inbox", RECIPIENT, "--all")[1])
    assert received["via"] == "claude-code" and received["from"] == SENDER
    assert received["delivered"] is True and received["summary"] == "cart fix ready"
    assert json.loads(run("inbox", RECIPIENT)[1]) == []  # nothing pending
    (mine,) = json.loads(run("inbox", SENDER, "--all")[1])
    assert mine["id"] == received["id"]
    code, text, _ = run("sessions", "--session", RECIPIENT, "--project", "billing")
    assert code == 0 and "via Claude Code, received from" in text
    for name in ("UserPromptSubmit", "PostToolUse.Bash"):
        reply = dispatch(home, payload(name, RECIPIENT, cwd="/home/dev/billing")).reply or {}
        assert "cart fix ready" not in json.dumps(reply)
    from orchestra.web.data import StateReader
    from state.store import open_store

    items = StateReader(open_store(home)).messages()["messages"]
    assert len(items) == 1 and items[0]["via"] == "claude-code"
    # A sender with no project records it in the root log, which every inbox reads: once.
    dispatch(home, payload("SessionStart.startup", "loner-1", cwd="/"))
    assert json.loads(run("show", "loner-1")[1])["project"] is None
    dispatch(home, captured("PostToolUse.SendMessage.sent", "loner-1", cwd="/",
                            tool_input={**sent["tool_input"], "summary": "from afar"}))
    listed = [m["summary"] for m in json.loads(run("inbox", RECIPIENT, "--all")[1])]
    assert listed == ["cart fix ready", "from afar"]
