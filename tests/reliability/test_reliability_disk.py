"""Disk faults during writes, and corrupt documents.

Faults are simulated in-process by wrapping ``os.open``/``os.write``/``os.fsync``/
``os.replace``/``os.mkdir`` for paths below the state root (:func:`disk_fault`): a full disk
(ENOSPC, also after half a write), an I/O error on fsync or on the rename (EIO), and a
read-only file system (EROFS). Tests run as root in CI, so a read-only folder made with chmod
would not stop a write; wrapping the system calls does. The real command gets the same
wrapping through a small launcher. Whatever fails:

* the previous document is intact (byte for byte) and no temp file is left;
* a CLI reports exactly one line naming the error (exit 1) and works again once the disk does;
* the dispatcher still replies (exit 0, no traceback, nothing on stderr), never blocks Claude,
  and the session carries on once the disk is back.

A corrupt document — not JSON, truncated, not an object, empty, or with a container of the
wrong type (hand-edited) — is moved aside as ``<name>.corrupt-<time>`` and the session keeps
working: the events that follow are recorded, tasks, subagents, messages and token usage
carry on, and the CLIs read and write the session again. A corrupt ``config.json`` is
ignored by the dispatcher (defaults apply; a value of the wrong type is ignored) and
quarantined by the next CLI that reads it.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from state.persistence.storage import decode_lines
from tests.reliability._reliability_support import (
    child_env,
    cli,
    dispatch_event,
    dispatch_log_errors,
    payload,
    run_process,
)

SID = "disk-1"
PROJECT = "diskproj"
CWD = f"/work/{PROJECT}"
FAULTS = ["ENOSPC", "ENOSPC after half a write", "EIO on fsync", "EIO on rename", "EROFS"]


@contextmanager
def disk_fault(root: Path | str, fault: str) -> Iterator[list[str]]:
    """Make writes below ``root`` fail with ``fault``; yields the calls that failed."""
    prefix = os.fspath(root)
    real_open, real_write, real_close = os.open, os.write, os.close
    real_fsync, real_replace, real_mkdir = os.fsync, os.replace, os.mkdir
    tracked: set[int] = set()
    failed: list[str] = []

    def below(path: Any) -> bool:
        try:
            return os.path.abspath(os.fsdecode(path)).startswith(prefix)
        except TypeError:
            return False

    def error(code: int, what: str, path: Any = None) -> OSError:
        failed.append(what)
        return OSError(code, os.strerror(code), *([os.fsdecode(path)] if path else []))

    def fake_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: Any = None) -> int:
        writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC)
        if fault == "EROFS" and writing and below(path):
            raise error(errno.EROFS, "open", path)
        fd = real_open(path, flags, mode, dir_fd=dir_fd)
        if below(path):
            tracked.add(fd)
        return fd

    def fake_write(fd: int, data: Any) -> int:
        if fd in tracked and fault.startswith("ENOSPC"):
            if fault != "ENOSPC" and len(data) > 1:
                real_write(fd, bytes(data[: len(data) // 2]))
            raise error(errno.ENOSPC, "write")
        return real_write(fd, data)

    def fake_close(fd: int) -> None:
        tracked.discard(fd)
        real_close(fd)

    def fake_fsync(fd: Any) -> None:
        if fault == "EIO on fsync" and fd in tracked:
            raise error(errno.EIO, "fsync")
        real_fsync(fd)

    def fake_replace(src: Any, dst: Any, **kwargs: Any) -> None:
        if fault in ("EIO on rename", "EROFS") and below(dst):
            raise error(errno.EIO if fault != "EROFS" else errno.EROFS, "rename", dst)
        real_replace(src, dst, **kwargs)

    def fake_mkdir(path: Any, mode: int = 0o777, **kwargs: Any) -> None:
        if fault == "EROFS" and below(path) and not os.path.isdir(path):
            raise error(errno.EROFS, "mkdir", path)
        real_mkdir(path, mode, **kwargs)

    patches = {"open": fake_open, "write": fake_write, "close": fake_close,
               "fsync": fake_fsync, "replace": fake_replace, "mkdir": fake_mkdir}
    saved = {name: getattr(os, name) for name in patches}
    for name, function in patches.items():
        setattr(os, name, function)
    try:
        yield failed
    finally:
        for name, function in saved.items():
            setattr(os, name, function)


def _documents(root: Path, *, heartbeat: bool = True) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.json")
            if "cache" not in p.parts and (heartbeat or p.name != "heartbeat.json")}


def _records(root: Path) -> dict[str, list[dict[str, Any]]]:
    return {str(p.relative_to(root)): list(decode_lines(p.read_bytes()))
            for p in root.rglob("*.jsonl")}


def _no_temp_files(root: Path) -> None:
    assert sorted(root.rglob("*.tmp")) == []


def _transcript(outer: Path) -> Path:
    return outer.parent / "transcript.jsonl"


def _add_usage(outer: Path, message_id: str, tokens: int) -> None:
    with open(_transcript(outer), "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"message": {"id": message_id, "model": "m",
                                         "usage": {"input_tokens": tokens}}}) + "\n")


def _history(root: Path, outer: Path) -> None:
    """A session with every kind of document: state, tasks, inbox, usage, config."""
    _add_usage(outer, "u1", 7)
    assert cli("shared_state", "set-config", "claims.policy", "warn").code == 0
    for event in [payload("SessionStart.startup", SID, cwd=CWD),
                  payload("PostToolUse.TaskCreate", SID, cwd=CWD),
                  _agent_call("toolu_first"),
                  payload("Stop", SID, cwd=CWD, transcript_path=str(_transcript(outer)))]:
        outcome = dispatch_event(event)
        assert outcome.code == 0 and outcome.err == "", outcome
    assert cli("session_manager", "send", "--to", SID, "first message").code == 0
    assert "first message" in dispatch_event(payload("UserPromptSubmit", SID, cwd=CWD)).context()
    assert cli("shared_state", "update-epic", PROJECT, "e1", "--title", "Epic").code == 0


def _agent_call(tool_use_id: str) -> dict[str, Any]:
    return payload("PreToolUse.Bash", SID, cwd=CWD, tool_name="Agent", tool_use_id=tool_use_id,
                   tool_input={"subagent_type": "general-purpose", "description": "d"})


# -- disk faults: the CLIs ---------------------------------------------------------------------

CLI_WRITES = {
    "state_manager set": ("state_manager", ["set", SID, "mode", "review"]),
    "state_manager set task": ("state_manager", ["set", SID, "active_work.tasks.1.status",
                                                 "completed"]),
    "shared_state update-epic": ("shared_state", ["update-epic", PROJECT, "e1", "--title", "New"]),
    "shared_state set-config": ("shared_state", ["set-config", "claims.policy", "deny"]),
    "session_manager send": ("session_manager", ["send", "--to", SID, "second message"]),
    "session_manager end": ("session_manager", ["end", SID]),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_cli_write_under_disk_fault_keeps_the_previous_state(
        fault: str, outer: Path, root: Path, report: Any) -> None:
    _history(root, outer)
    tried = 0
    for name, (prog, argv) in CLI_WRITES.items():
        documents, records = _documents(root), _records(root)
        with disk_fault(root, fault) as failed:
            outcome = cli(prog, *argv)
        if not failed:  # e.g. a log append neither fsyncs nor renames
            assert outcome.code == 0, (name, outcome)
            continue
        line = outcome.assert_one_line_error(1, f"{prog}: error: ")
        expected = {"ENOSPC": "No space left", "EIO": "Input/output error",
                    "EROFS": "Read-only file system"}[fault.split()[0]]
        assert expected in line and str(root) in line, line
        assert _documents(root) == documents, f"{name}: a document changed"
        assert _records(root) == records, f"{name}: a log changed"
        _no_temp_files(root)
        again = cli(prog, *argv)  # the disk is back: the same command works
        assert again.code == 0, (name, again)
        tried += 1
    _no_temp_files(root)
    report(writes_tried=tried)


# -- disk faults: the dispatcher ------------------------------------------------------------------

DISPATCHED = ["SessionStart.startup", "UserPromptSubmit", "agent call", "PostToolUse.TaskCreate",
              "Stop", "SessionEnd.other"]


def _event(name: str, outer: Path, n: int) -> dict[str, Any]:
    if name == "agent call":
        return _agent_call(f"toolu_fault{n}")
    event = payload(name, SID, cwd=CWD, transcript_path=str(_transcript(outer)))
    if name == "PostToolUse.TaskCreate":
        event["tool_response"] = {"task": {"id": f"fault-{n}", "subject": "s"}}
    return event


@pytest.mark.parametrize("fault", FAULTS)
def test_dispatch_under_disk_fault_still_replies(fault: str, outer: Path, root: Path,
                                                 report: Any) -> None:
    _history(root, outer)
    assert cli("session_manager", "send", "--to", SID, "during the fault").code == 0
    _add_usage(outer, "u2", 5)
    heartbeat = fault != "EIO on fsync"  # heartbeats are not fsynced: that one works
    for n, name in enumerate(DISPATCHED):
        documents = _documents(root, heartbeat=heartbeat)
        started = time.monotonic()
        with disk_fault(root, fault):
            outcome = dispatch_event(_event(name, outer, n))
        assert time.monotonic() - started < 5
        assert outcome.code == 0 and outcome.err == "", (name, outcome)
        if name == "SessionStart.startup":  # presence only reads: its context still comes
            assert "this is session disk-1" in outcome.context()
        assert _documents(root, heartbeat=heartbeat) == documents, f"{name}: changed"
        _no_temp_files(root)
    # The disk is back: the session carries on where it was.
    after = [dispatch_event(payload("SessionStart.startup", SID, source="resume", cwd=CWD)),
             dispatch_event(payload("UserPromptSubmit", SID, cwd=CWD)),
             dispatch_event(payload("Stop", SID, cwd=CWD, transcript_path=str(_transcript(outer))))]
    assert [o.code for o in after] == [0, 0, 0]
    assert "during the fault" in after[0].context() + after[1].context()
    usage = json.loads((root / "sessions" / SID / "usage.json").read_text())
    assert usage["tokens"]["input_tokens"] == 12
    report(dispatches=len(DISPATCHED))


@pytest.mark.parametrize("fault", ["ENOSPC after half a write", "EROFS"])
def test_real_command_under_disk_fault(fault: str, outer: Path, root: Path) -> None:
    """The real entry point (stdout diverted to stderr while handlers run) under a fault."""
    _history(root, outer)
    launcher = ("import sys\n"
                f"root, fault = {str(root)!r}, {fault!r}\n"
                "from tests.reliability.test_reliability_disk import disk_fault\n"
                "from hooks.dispatch import main\n"
                "with disk_fault(root, fault):\n"
                "    code = main([])\n"
                "raise SystemExit(code)\n")
    documents = _documents(root)
    for name in ["SessionStart.startup", "agent call", "PostToolUse.TaskCreate"]:
        event = _event(name, outer, 0)
        done = run_process([sys.executable, "-c", launcher], child_env(root),
                           stdin=json.dumps(event).encode(), cwd=outer.parent)
        assert done.code == 0 and done.err == "", (name, done)
        if name == "SessionStart.startup":
            assert "this is session disk-1" in done.context()
        else:
            assert done.out == "" or done.reply is not None
    assert _documents(root) == documents
    _no_temp_files(root)


# -- corrupt documents ----------------------------------------------------------------------------

CORRUPTIONS: dict[str, Any] = {
    "garbage": b"\x00\xff\xfe not json at all",
    "truncated": None,  # the first half of the document
    "not an object": b"[1, 2, 3]\n",
    "empty": b"",
    "wrong types": {
        "state.json": {"session_id": 5, "project": PROJECT, "active_work": []},
        "tasks.json": {"tasks": ["1"]},
        "inbox.json": {"offsets": [], "held": {}, "delivered_count": "many"},
        "usage.json": {"transcripts": [], "tokens": "lots", "by_model": 1,
                       "seen_message_ids": {}},
        "config.json": {"claims": "warn", "messages": [], "presence": 5, "projects": [],
                        "event_log": {"max_bytes": "big", "max_field_chars": None},
                        "plugins": {"disabled": 5}, "dispatch": {"budget_seconds": "x"}},
    },
}
DOCUMENTS = ["state.json", "tasks.json", "inbox.json", "usage.json", "config.json"]


@pytest.mark.parametrize("corruption", CORRUPTIONS)
@pytest.mark.parametrize("document", DOCUMENTS)
def test_corrupt_document_is_quarantined_and_the_session_keeps_working(
        document: str, corruption: str, outer: Path, root: Path, report: Any) -> None:
    _history(root, outer)
    path = root / document if document == "config.json" else root / "sessions" / SID / document
    original = path.read_bytes()
    raw = CORRUPTIONS[corruption]
    if raw is None:
        raw = original[: len(original) // 2]
    elif isinstance(raw, dict):
        raw = json.dumps(raw[document]).encode()
    path.write_bytes(raw)

    _add_usage(outer, "u-after", 100)
    script = [_agent_call("toolu_after"),  # the first writer of state.json
              "send a message",
              payload("UserPromptSubmit", SID, cwd=CWD, prompt="still there?"),
              payload("PostToolUse.TaskCreate", SID, cwd=CWD, tool_use_id="toolu_t2",
                      tool_response={"task": {"id": "after-1", "subject": "new task"}}),
              payload("PostToolUse.Bash", SID, cwd=CWD, tool_use_id="toolu_b2"),
              payload("Stop", SID, cwd=CWD, transcript_path=str(_transcript(outer)))]
    contexts = ""
    for event in script:
        if event == "send a message":  # (a CLI that meets a corrupt state.json first moves it
            # aside, and the session exists again from its next event on)
            assert cli("session_manager", "send", "--to", SID, "after the damage").code == 0
            continue
        outcome = dispatch_event(event)
        assert outcome.code == 0 and outcome.err == "", (event["hook_event_name"], outcome)
        contexts += outcome.context()
    assert dispatch_log_errors(root) == [], dispatch_log_errors(root)

    folder = root / "sessions" / SID
    if document == "config.json":  # the dispatcher does not write it; the next CLI moves it
        read = cli("shared_state", "get-config")
        assert read.code == 0
        if corruption != "wrong types":
            assert "moved aside" in read.err and len(read.err.splitlines()) == 1, read.err
    moved = sorted(path.parent.glob(path.name + ".corrupt-*"))
    if corruption != "wrong types" or document != "config.json":
        assert len(moved) == 1 and moved[0].read_bytes() == raw, moved
    # The session keeps working.
    state = json.loads((folder / "state.json").read_text())
    assert state["session_id"] == SID and state["project"] == PROJECT, state
    assert state["status"] == "active"
    assert "call-toolu_after" in state["active_work"]["agents"]
    assert "after-1" in json.loads((folder / "tasks.json").read_text())["tasks"]
    assert "after the damage" in contexts
    usage = json.loads((folder / "usage.json").read_text())
    assert usage["tokens"]["input_tokens"] >= 100
    log = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    events = [e["hook_event_name"] for e in script if isinstance(e, dict)]
    assert [r["event"] for r in log[-len(events):]] == events
    for prog, argv in [("state_manager", ["get", SID]), ("state_manager", ["set", SID, "mode",
                                                                           "review"]),
                       ("session_manager", ["show", SID]), ("session_manager", ["list"])]:
        outcome = cli(prog, *argv)
        assert outcome.code == 0 and outcome.err == "", (argv, outcome)
        json.loads(outcome.out)
    report(events=len(events))
