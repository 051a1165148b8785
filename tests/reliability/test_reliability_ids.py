"""Ids used as paths, and state paths replaced by symlinks.

The state root is ``<tmp>/outer/root``; walking ``outer`` after each attack proves that
nothing was written beside the root. Hostile ids (traversal, absolute paths, NUL, ``.``,
``..``, over-long, Windows separators and drive letters, unicode look-alikes of letters,
dots and slashes, a trailing dot, reserved device names...) are refused

* by the dispatcher, as a session id (exit 1, one line, nothing written);
* by every CLI verb that takes an id: session, project, epic, sprint, member, tool, sender,
  recipient (exit 2, one line, nothing written);
* by the configuration (``default_project``, ``projects.<id>``), and a hand-edited config
  holding one does not reach a path either;

and the other values of a payload that name things — agent ids, tool-use ids, task ids,
``cwd``, transcript paths, file paths — are stored as keys and values *inside* documents,
never used as paths (checked by walking the root: every folder below ``sessions/`` and
``projects/`` is a valid id).

A document, a lock file, a session or project folder, a log, a heartbeat, the dispatch log
folder or the registry cache replaced by a symlink to a file outside the root is refused
and the target stays byte for byte unchanged, through the dispatcher and the CLIs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from state.paths import validate_id
from tests._id_verbs import STATE_VERBS
from tests.reliability._reliability_support import (
    POSIX,
    cli,
    dispatch_event,
    dispatch_log_errors,
    dispatch_process,
    payload,
    snapshot,
    walk,
)

HOSTILE_IDS = [
    "../x", "/etc/passwd", "a/../../b", "sessions/../../x", "\0", "a\0b", ".", "..", "...",
    "x" * 129, "y" * 5000, "C:\\x", "a\\b", "..\\..\\x", "C:", "\\\\server\\share",
    "\uff53\uff45\uff53\uff53\uff49\uff4f\uff4e",  # fullwidth "session"
    "a\u2215b", "\u2215etc\u2215passwd",  # division slash
    "\u2024\u2024", "a\u2024\u2024\u2215b",  # one dot leader
    "\uff0e\uff0e\uff0fx",  # fullwidth dots and slash
    "s1.", "sess.", "s1 ", " s1", "s1\n", "s1\t", "~", "~root", "-rf", "--help",
    "CON", "nul.json", "Com1", "%2e%2e%2fx", "$(id)", "a:b", "é",
]
# '' means "the session in $ORCHESTRA_SESSION_ID"; "--help" is an option to every verb.
CLI_IDS = [v for v in HOSTILE_IDS if v and v != "--help"]


def test_every_hostile_id_is_invalid() -> None:
    for value in [*HOSTILE_IDS, ""]:
        with pytest.raises(ValueError):
            validate_id(value, "session id")


# -- the dispatcher ----------------------------------------------------------------------------

EVENTS = ["SessionStart.startup", "UserPromptSubmit", "PostToolUse.Bash", "PreToolUse.Write",
          "SubagentStart", "TaskCreated", "Stop", "SessionEnd.other"]


def test_dispatcher_refuses_hostile_session_ids(outer: Path, root: Path, report: Any) -> None:
    before = snapshot(outer)
    tried = 0
    for sid in HOSTILE_IDS:
        for name in EVENTS:
            outcome = dispatch_event(payload(name, sid))
            line = outcome.assert_one_line_error(1, "orchestra: ")
            assert "invalid session id" in line, line
            tried += 1
    assert snapshot(outer) == before, "something was written"
    # The real command, for a few of them.
    for sid in ["../x", "/etc/passwd", "a\u2215b", "s1."]:
        outcome = dispatch_process(payload("SessionStart.startup", sid), root)
        assert "invalid session id" in outcome.assert_one_line_error(1, "orchestra: ")
        tried += 1
    assert snapshot(outer) == before
    report(inputs_tried=tried)


# -- every CLI verb that takes an id -----------------------------------------------------------

# (program, argv): {} is where the hostile id goes; the foundation's verbs, then later ones.
VERBS: list[tuple[str, list[str]]] = [
    *STATE_VERBS,
    ("session_manager", ["send", "--to", "{}", "hello"]),
    ("session_manager", ["send", "--project", "{}", "hello"]),
    ("session_manager", ["send", "--all", "--from", "{}", "hello"]),
    ("session_manager", ["inbox", "{}"]),
    ("session_manager", ["inbox", "{}", "--mark-read"]),
    ("session_manager", ["claims", "--project", "{}"]),
    ("session_manager", ["release", "{}"]),
    ("shared_state", ["set-config", "default_project", "{}"]),
    ("shared_state", ["set-config", 'projects["{}"].root', "/tmp"]),
    ("shared_state", ["set-member", "p1", "alice", "--tools", "{}"]),
]


def _fill(template: list[str], value: str) -> list[str]:
    return [a.replace("{}", value.replace('"', '\\"')) if "{}" in a else a for a in template]


def test_every_cli_verb_refuses_hostile_ids(outer: Path, root: Path, report: Any) -> None:
    for prog, argv in [("session_manager", ["create", "--id", "s1", "--project", "p1"]),
                       ("shared_state", ["register-tool", "t1"]),
                       ("shared_state", ["update-epic", "p1", "e1"]),
                       ("shared_state", ["update-sprint", "p1", "sp1"]),
                       ("shared_state", ["set-member", "p1", "alice"]),
                       ("shared_state", ["set-config", "claims.policy", "ask"])]:
        assert cli(prog, *argv).code == 0
    before = snapshot(outer)
    tried = 0
    for prog, template in VERBS:
        for value in CLI_IDS:
            if "," in value or (("--epic" in template or "--tools" in template)
                                and value.strip() != value):
                continue  # list options split on ',' and strip their items
            argv = _fill(template, value)
            outcome = cli(prog, *argv)
            outcome.assert_one_line_error(2, f"{prog}: error: ")
            tried += 1
        assert snapshot(outer) == before, (prog, template)
    report(verbs=len(VERBS), inputs_tried=tried)


def test_hand_edited_config_with_hostile_project_ids_reaches_no_path(
        outer: Path, root: Path, report: Any) -> None:
    """``default_project`` and ``projects.<id>`` written into config.json by hand: the
    session falls back to a project derived from its folder; no handler fails."""
    project_dir = outer.parent / "work" / "myapp"
    project_dir.mkdir(parents=True)
    tried = 0
    for value in ["../x", "/etc/passwd", "a\u2215b", "s1."]:
        root.mkdir(exist_ok=True)
        (root / "config.json").write_text(json.dumps(
            {"default_project": value, "projects": {value: {"root": str(project_dir)}}}))
        sid = f"cfg-{tried}"
        for name in ["SessionStart.startup", "PostToolUse.Bash", "UserPromptSubmit"]:
            event = payload(name, sid, cwd=str(project_dir))
            if name == "PostToolUse.Bash":
                event.update(tool_name="Write", tool_input={"file_path": f"{project_dir}/a.py",
                                                            "content": "x"})
            outcome = dispatch_event(event)
            assert outcome.code == 0 and outcome.err == "", outcome
        state = json.loads((root / "sessions" / sid / "state.json").read_text())
        assert state["project"] == "myapp"
        tried += 1
    assert dispatch_log_errors(root) == []
    _check_only_ids_below(root)
    assert sorted(os.listdir(outer)) == ["root"]
    report(inputs_tried=tried)


# -- payload values that name things are data, not paths ---------------------------------------


def _check_only_ids_below(root: Path) -> None:
    """Every folder below sessions/ and projects/ is a valid id; nothing else is there."""
    for rel in walk(root):
        parts = Path(rel).parts
        if parts[0] in ("sessions", "projects") and len(parts) >= 2:
            validate_id(parts[1])
            assert len(parts) <= 3, rel
            if len(parts) == 3:
                name = parts[2]
                stem = name.split(".")[0]
                assert stem in ("state", "tasks", "usage", "inbox", "heartbeat", "events",
                                "identity", "messages", "claims", "epics", "sprints", "team",
                                "decisions"), rel


def test_payload_values_that_name_things_stay_inside_documents(
        outer: Path, root: Path, report: Any) -> None:
    sid = "names-1"
    assert dispatch_event(payload("SessionStart.startup", sid)).code == 0
    tried = 0
    for value in HOSTILE_IDS:
        events = [
            payload("SubagentStart", sid, agent_id=value, agent_type=value),
            payload("SubagentStop", sid, agent_id=value, agent_transcript_path=value + ".jsonl"),
            payload("TaskCreated", sid, task_id=value, teammate_name=value),
            payload("PostToolUse.TaskCreate", sid, tool_use_id=value,
                    tool_response={"task": {"id": value, "subject": value}}),
            payload("PostToolUse.Bash", sid, tool_name="TaskUpdate",
                    tool_input={"taskId": value, "status": "completed", "owner": value}),
            payload("PreToolUse.Bash", sid, tool_name="Agent", tool_use_id=value,
                    tool_input={"subagent_type": value, "description": value}),
            payload("PostToolUse.Bash", sid, tool_name="Write", cwd=value,
                    tool_input={"file_path": value, "content": "x"}),
            payload("Stop", sid, transcript_path=value),
            payload("SessionStart.startup", sid, source="fork", parent_session_id=value),
            payload("FileChanged", sid, file_path=value),
            payload("CwdChanged", sid, old_cwd=value, new_cwd=value),
        ]
        for event in events:
            outcome = dispatch_event(event)
            assert outcome.code == 0 and outcome.err == "", (value, event, outcome)
            tried += 1
    assert dispatch_log_errors(root) == []
    assert sorted(os.listdir(outer)) == ["root"]
    _check_only_ids_below(root)
    # They are there, as keys and values inside the documents.
    folder = root / "sessions" / sid
    tasks = json.loads((folder / "tasks.json").read_text())["tasks"]
    agents = json.loads((folder / "state.json").read_text())["active_work"]["agents"]
    for value in HOSTILE_IDS:
        if 0 < len(value) <= 128:
            assert value in tasks and value in agents, value
    assert "parent_session_id" not in json.loads((folder / "state.json").read_text())
    report(inputs_tried=tried)


# -- symlinks ------------------------------------------------------------------------------------

SID = "link-1"
PROJECT = "linkproj"


def _victims(outer: Path) -> Path:
    victims = outer / "victims"
    victims.mkdir()
    (victims / "file.json").write_text('{"victim": true}\n')
    (victims / "file.jsonl").write_text('{"victim": true}\n')
    (victims / "folder").mkdir()
    (victims / "folder" / "keep.txt").write_text("keep")
    return victims


def _session(root: Path, outer: Path) -> Path:
    """A session with some history, its project folder and a transcript."""
    transcript = outer.parent / "transcript.jsonl"
    transcript.write_text(json.dumps({"message": {"id": "m1", "usage": {"input_tokens": 3}}})
                          + "\n")
    for event in _script(outer)[:4]:
        assert dispatch_event(event).code == 0
    assert cli("session_manager", "send", "--to", SID, "hello").code == 0
    return transcript


def _script(outer: Path) -> list[dict[str, Any]]:
    cwd = f"/work/{PROJECT}"
    transcript = str(outer.parent / "transcript.jsonl")
    return [
        payload("SessionStart.startup", SID, cwd=cwd),
        payload("UserPromptSubmit", SID, cwd=cwd),
        payload("PostToolUse.Bash", SID, cwd=cwd, tool_name="Write",
                tool_input={"file_path": f"{cwd}/a.py", "content": "x"}),
        payload("PostToolUse.TaskCreate", SID, cwd=cwd),
        payload("PreToolUse.Bash", SID, cwd=cwd, tool_name="Agent", tool_use_id="toolu_ag",
                tool_input={"subagent_type": "general-purpose", "description": "d"}),
        payload("Stop", SID, cwd=cwd, transcript_path=transcript),
        payload("SessionEnd.other", SID, cwd=cwd),
    ]


CLI_WRITES = [
    ("state_manager", ["set", SID, "mode", "review"]),
    ("state_manager", ["set", SID, "active_work.tasks.1.status", "completed"]),
    ("session_manager", ["heartbeat", SID]),
    ("session_manager", ["send", "--to", SID, "hi"]),
    ("session_manager", ["send", "--project", PROJECT, "hi"]),
    ("session_manager", ["inbox", SID, "--mark-read"]),
    ("session_manager", ["release", SID]),
    ("session_manager", ["end", SID]),
    ("shared_state", ["update-epic", PROJECT, "e1"]),
    ("shared_state", ["set-config", "claims.policy", "warn"]),
]

# link (relative to the root) -> the victim it points to
LINKS = {
    "document": ("sessions/link-1/state.json", "file.json"),
    "tasks document": ("sessions/link-1/tasks.json", "file.json"),
    "inbox document": ("sessions/link-1/inbox.json", "file.json"),
    "usage document": ("sessions/link-1/usage.json", "file.json"),
    "config document": ("config.json", "file.json"),
    "lock file": ("sessions/link-1/state.json.lock", "missing.lock"),
    "existing lock file": ("sessions/link-1/tasks.json.lock", "file.json"),
    "session folder": ("sessions/link-1", "folder"),
    "sessions folder": ("sessions", "folder"),
    "event log": ("sessions/link-1/events.jsonl", "file.jsonl"),
    "message log": ("sessions/link-1/messages.jsonl", "file.jsonl"),
    "heartbeat": ("sessions/link-1/heartbeat.json", "file.json"),
    "project folder": ("projects/linkproj", "folder"),
    "claims log": ("projects/linkproj/claims.jsonl", "file.jsonl"),
    "dispatch log folder": ("logs", "folder"),
    "dispatch log": ("logs/dispatch.log", "file.jsonl"),
    "registry cache folder": ("cache", "folder"),
}


@pytest.mark.skipif(not POSIX, reason="creating symlinks needs privileges on Windows")
@pytest.mark.parametrize("case", LINKS)
def test_symlinked_state_paths_are_refused_not_followed(
        case: str, outer: Path, root: Path, monkeypatch: pytest.MonkeyPatch,
        report: Any) -> None:
    monkeypatch.setenv("ORCHESTRA_TRACE", "1")  # every dispatch writes to the dispatch log
    victims = _victims(outer)
    _session(root, outer)
    link, target = LINKS[case]
    path = root / link
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(victims / target)
    before = snapshot(victims)
    outside = set(os.listdir(outer))
    dispatched = 0
    for event in _script(outer):
        outcome = dispatch_event(event)
        assert outcome.code == 0 and outcome.err == "", (case, event["hook_event_name"], outcome)
        dispatched += 1
    real = dispatch_process(payload("UserPromptSubmit", SID, cwd=f"/work/{PROJECT}"), root,
                            ORCHESTRA_TRACE="1")
    assert real.code == 0 and real.err == "", real
    refused = 0
    for prog, argv in CLI_WRITES:
        outcome = cli(prog, *argv)
        assert "Traceback" not in outcome.err and len(outcome.err.splitlines()) <= 1, outcome
        refused += outcome.code != 0
    assert snapshot(victims) == before, f"{case}: the symlink was followed"
    assert set(os.listdir(outer)) == outside
    assert path.is_symlink(), f"{case}: the symlink was replaced"
    report(dispatches=dispatched + 1, cli_writes=len(CLI_WRITES), cli_refused=refused)


@pytest.mark.skipif(not POSIX, reason="creating symlinks needs privileges on Windows")
def test_cli_names_the_symlink_in_one_line(outer: Path, root: Path) -> None:
    victims = _victims(outer)
    _session(root, outer)
    state = root / "sessions" / SID / "state.json"
    state.unlink()
    state.symlink_to(victims / "file.json")
    outcome = cli("state_manager", "set", SID, "mode", "x")
    line = outcome.assert_one_line_error(1, "state_manager: error: ")
    assert "symlink" in line, line
    assert (victims / "file.json").read_text() == '{"victim": true}\n'
