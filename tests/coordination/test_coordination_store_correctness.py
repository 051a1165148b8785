"""Coordination and store correctness (issue 17): one regression test per defect.

Each test drives the public surface only: the CLIs' ``main`` and the dispatcher
(``hooks.dispatch.main``, through ``hooks.testing.run_dispatch``) on a throwaway
``ORCHESTRA_HOME``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from state import session_manager, state_manager
from state.clock import parse_time
from tests.coordination._helpers import context_of
from tests.handlers._support import payload

needs_symlinks = pytest.mark.skipif(os.name == "nt",
                                    reason="creating symlinks needs privileges on Windows")


def cli(main: Callable[..., int], *argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    text = out.getvalue()
    return code, json.loads(text) if text.strip() else None, err.getvalue()


def sm(*argv: str) -> tuple[int, Any, str]:
    return cli(session_manager.main, *argv)


def st(*argv: str) -> tuple[int, Any, str]:
    return cli(state_manager.main, *argv)


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


# -- 1. --if-version checks the version the user reads ---------------------------------------


def test_if_version_is_the_session_version_that_get_prints(
        home: Path, dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    dispatch(payload("PostToolUse.TaskCreate", "alpha"))  # tasks.json: task 1, by the hook
    task = "active_work.tasks.1.status"

    version = st("get", "alpha", "version")[1]
    assert st("set", "alpha", task, "in_progress")[0] == 0  # another writer, on a task
    code, out, err = st("set", "alpha", task, "done", "--if-version", str(version))
    assert code == 4 and out is None and f"since version {version}" in err
    assert st("get", "alpha", task)[1] == "in_progress"  # the other write was kept
    code, _, _ = st("set", "alpha", "mode", "review", "--if-version", str(version))
    assert code == 4  # a change to tasks.json changes the session's version too

    version = st("get", "alpha", "version")[1]  # a version the user read is honoured
    assert st("set", "alpha", task, "done", "--if-version", str(version))[0] == 0
    assert st("get", "alpha", "version")[1] == version + 1
    assert st("get", "alpha")[1]["version"] == version + 1
    assert st("set", "alpha", "mode", "review", "--if-version", str(version))[0] == 4
    assert st("merge", "alpha", "active_work.tasks.1", "--data", '{"owner": "me"}',
              "--if-version", str(version + 1))[0] == 0
    assert st("delete", "alpha", "active_work.current_epic",
              "--if-version", str(version + 2))[0] == 0

    version = st("get", "alpha", "version")[1]
    dispatch(payload("PostToolUse.TaskCreate", "alpha", tool_use_id="toolu_2",
                     tool_response={"task": {"id": "2", "subject": "by the hook"}}))
    assert st("set", "alpha", "active_work.tasks.2.status", "done",
              "--if-version", str(version))[0] == 4  # a hook's write counts as well


def test_parallel_conditional_writes_to_both_documents_one_wins(
        home: Path, dispatch: Callable[..., Any]) -> None:
    """Writers of state.json and of tasks.json holding the same version: exactly one wins."""
    dispatch(payload("SessionStart.startup", "alpha"))
    dispatch(payload("PostToolUse.TaskCreate", "alpha"))
    version = str(st("get", "alpha", "version")[1])
    env = {**os.environ, "ORCHESTRA_HOME": str(home)}
    writes = [["active_work.tasks.1.status", f"writer-{i}"] if i % 2 else ["mode", f"writer-{i}"]
              for i in range(6)]

    def write(argv: list[str]) -> int:
        return subprocess.run([sys.executable, "-m", "state.state_manager", "set", "alpha",
                               *argv, "--if-version", version], env=env, capture_output=True,
                              timeout=120, check=False).returncode

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(write, writes))
    assert sorted(codes) == [0, 4, 4, 4, 4, 4], codes
    assert st("get", "alpha", "version")[1] == int(version) + 1


# -- 2. a corrupt state.json is rebuilt as the same session -----------------------------------


@pytest.mark.parametrize("found_by", ["the next event", "a CLI", "the next event, identity lost"])
def test_rebuilt_session_keeps_its_identity_and_pending_messages(
        home: Path, dispatch: Callable[..., Any], found_by: str) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    dispatch(payload("SessionStart.startup", "beta"))
    assert st("set", "beta", "mode", "review")[0] == 0
    before = sm("show", "beta")[1]
    for argv in (["--project", "project", "for the project"], ["--all", "for everyone"],
                 ["--to", "beta", "for beta"]):
        assert sm("send", "--from", "alpha", *argv)[0] == 0
    folder = home / "sessions" / "beta"
    (folder / "state.json").write_bytes(b'{"session_id": "beta", "proj')  # torn
    if found_by == "a CLI":
        code, _, err = sm("show", "beta")
        assert code == 3 and "moved aside" in err
    if found_by.endswith("identity lost"):
        (folder / "identity.json").write_bytes(b"garbage")

    # The first event after the damage runs with a session document: it records a claim
    # and delivers every pending message.
    first = dispatch(payload("PostToolUse.Bash", "beta", tool_name="Write",
                             tool_input={"file_path": "/home/dev/project/b.py", "content": "x"}))
    text = context_of(first)
    for message in ("for the project", "for everyone", "for beta"):
        assert text.count(message) == 1, (message, text)
    assert len(list(folder.glob("state.json.corrupt-*"))) == 1
    claims = sm("claims", "--project", "project")[1]
    assert [c["session"] for c in claims] == ["beta"]
    after = sm("show", "beta")[1]
    assert after["project"] == "project"
    if found_by.endswith("identity lost"):  # from the first logged event: the same instant,
        # but the log keeps microseconds and created_at milliseconds
        assert abs(parse_time(after["created_at"]) - parse_time(before["created_at"])) < 0.002
    else:
        assert after["created_at"] == before["created_at"] and after["mode"] == "review"
    assert sm("inbox", "beta")[1] == []
    assert len(sm("inbox", "beta", "--all")[1]) == 3
    assert "orchestra-message" not in context_of(dispatch(payload("UserPromptSubmit", "beta")))


# -- 3. project and broadcast messages reach sessions that start before they expire -----------


def test_project_and_broadcast_messages_live_for_their_ttl(
        home: Path, dispatch: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    dispatch(payload("SessionStart.startup", "gamma"))  # live, but quiet until after expiry
    monkeypatch.setenv("ORCHESTRA_SESSION_ID", "alpha")
    code, frozen, _ = sm("send", "--project", "project", "main is frozen for the release")
    assert code == 0 and frozen["expires"] - frozen["ts"] == pytest.approx(24 * 3600)
    code, deploy, _ = sm("send", "--all", "--ttl", "2d", "deploy at five")
    assert code == 0 and deploy["expires"] - deploy["ts"] == pytest.approx(2 * 86400)
    assert deploy["expires_at"] > deploy["at"]
    code, brief, _ = sm("send", "--project", "project", "--ttl", "300ms", "short-lived")
    assert code == 0
    while time.time() <= brief["expires"]:
        time.sleep(0.02)

    # beta starts after "short-lived" expired, before the others do.
    started = context_of(dispatch(payload("SessionStart.startup", "beta")))
    assert started.count("main is frozen for the release") == 1
    assert started.count("deploy at five") == 1 and "short-lived" not in started
    # gamma existed before "short-lived" expired: it gets it at its next event, however late.
    late = context_of(dispatch(payload("UserPromptSubmit", "gamma")))
    for text in ("main is frozen for the release", "deploy at five", "short-lived"):
        assert late.count(text) == 1, text
    for sid in ("beta", "gamma"):
        again = context_of(dispatch(payload("PostToolUse.Bash", sid)))
        assert "orchestra-message" not in again, f"{sid} got a message twice"
    assert "short-lived" not in json.dumps(sm("inbox", "beta", "--all")[1])
    assert "orchestra-message" not in context_of(dispatch(payload("PostToolUse.Bash", "alpha")))

    for argv in (["--project", "project", "--ttl", "0"], ["--all", "--ttl", "soon"],
                 ["--all", "--ttl", "400d"], ["--to", "beta", "--ttl", "1h"]):
        code, out, err = sm("send", *argv, "x")
        assert (code, out) == (2, None) and len(err.splitlines()) == 1 and "--ttl" in err


PARALLEL_HOOK = """
import io, sys
from hooks.dispatch import main
out = io.StringIO()
main([], stdin=io.BytesIO(sys.stdin.read().encode()), stdout=out, stderr=sys.stderr)
print(out.getvalue().strip() or "{}")
"""


def test_a_session_starting_later_gets_each_project_message_once_under_parallel_hooks(
        home: Path, dispatch: Callable[..., Any]) -> None:
    dispatch(payload("SessionStart.startup", "alpha"))
    for i in range(10):
        assert sm("send", "--from", "alpha", "--project", "project", f"news-{i:02d}")[0] == 0
        assert sm("send", "--from", "alpha", "--all", f"all-{i:02d}")[0] == 0
    # The late session is created by an event that delivers nothing (Orchestra installed
    # mid-session), then its next tool results come in parallel.
    assert dispatch(payload("PreToolUse.Bash", "late")).reply is None
    env = {**os.environ, "ORCHESTRA_HOME": str(home)}
    event = json.dumps(payload("PostToolUse.Bash", "late"))

    def hook(_: int) -> str:
        return subprocess.run([sys.executable, "-P", "-c", PARALLEL_HOOK], input=event,
                              capture_output=True, text=True, env=env, timeout=120,
                              check=True).stdout

    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = "".join(pool.map(hook, range(8)))
    for i in range(10):
        assert outputs.count(f"news-{i:02d}") == 1 and outputs.count(f"all-{i:02d}") == 1


# -- 4. claims compare the real file, relative to the project ---------------------------------


def _bash(sid: str, command: str, cwd: Path, phase: str = "Pre") -> dict[str, Any]:
    return payload(f"{phase}ToolUse.Bash", sid, cwd=str(cwd), tool_input={"command": command})


def _edit(sid: str, path: Path, cwd: Path, phase: str = "Pre") -> dict[str, Any]:
    return payload(f"{phase}ToolUse.Bash", sid, cwd=str(cwd), tool_name="Edit",
                   tool_input={"file_path": str(path), "old_string": "a", "new_string": "b"})


def _asks(outcome: Any, holder: str) -> str:
    reply = outcome.reply or {}
    specific = reply.get("hookSpecificOutput") or {}
    assert specific.get("permissionDecision") == "ask", reply
    reason = str(specific["permissionDecisionReason"])
    assert f"session {holder}" in reason, reason
    return reason


@needs_symlinks
def test_claims_see_the_same_file_however_it_is_written(
        home: Path, tmp_path: Path, dispatch: Callable[..., Any]) -> None:
    tmp_path = Path(os.path.realpath(tmp_path))  # the paths claims show are real paths
    project = tmp_path / "machine-1" / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("a\n")
    (project / "link").symlink_to(project / "src", target_is_directory=True)
    for sid in ("alpha", "beta"):
        dispatch(payload("SessionStart.startup", sid, cwd=str(project)))
    dispatch(_edit("alpha", project / "src" / "app.py", project, phase="Post"))

    reason = _asks(dispatch(_edit("beta", project / "link" / "app.py", project)), "alpha")
    assert f"{project}/link/app.py" not in reason and f"{project}/src/app.py" in reason
    for command in ("cd src && echo hi > app.py", "echo hi &> src/app.py",
                    "sed --in-place=.bak 's/a/b/' src/app.py", "cd link; sed -i s/a/b/ app.py",
                    "cp /etc/hostname link/"):
        if command.startswith("cp"):
            dispatch(_edit("alpha", project / "src" / "hostname", project, phase="Post"))
        _asks(dispatch(_bash("beta", command, project)), "alpha")
    assert dispatch(_bash("beta", "cat src/app.py > /dev/null", project)).reply is None

    # A move into a folder claims the file it makes there, not the folder.
    (project / "new.py").write_text("n\n")
    dispatch(_bash("beta", "mv new.py src/", project, phase="Post"))
    files = {(c["file"], c["session"]) for c in sm("claims", "--project", "proj")[1]}
    assert ("src/new.py", "beta") in files and ("src", "beta") not in files
    _asks(dispatch(_edit("alpha", project / "src" / "new.py", project)), "beta")

    # The identity is project-relative: another checkout of the project (another machine,
    # another path) edits the same file; the claim is shown with the holder's real path.
    other = tmp_path / "machine-2" / "proj"
    (other / "src").mkdir(parents=True)
    dispatch(payload("SessionStart.startup", "gamma", cwd=str(other)))
    _asks(dispatch(_edit("gamma", other / "src" / "app.py", other)), "alpha")
    listed = {c["file"]: c for c in sm("claims", "--project", "proj")[1]}
    assert listed["src/app.py"]["path"] == f"{project}/src/app.py"
    # A file outside the project is claimed by its absolute real path.
    outside = tmp_path / "outside.txt"
    dispatch(_bash("alpha", f"echo x > {outside}", project, phase="Post"))
    assert str(outside) in {c["file"] for c in sm("claims", "--project", "proj")[1]}


# -- 6. release --path resolves the path like claims do ---------------------------------------


@needs_symlinks
def test_release_path_resolves_like_claims_and_says_when_nothing_matched(
        home: Path, tmp_path: Path, dispatch: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = Path(os.path.realpath(tmp_path))
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "link").symlink_to(project / "src", target_is_directory=True)
    for sid in ("alpha", "beta"):
        dispatch(payload("SessionStart.startup", sid, cwd=str(project)))
    for name in ("app.py", "util.py"):
        dispatch(_edit("alpha", project / "src" / name, project, phase="Post"))
    monkeypatch.chdir(project / "src")

    code, out, err = sm("release", "alpha", "--path", "../link/app.py")
    assert (code, err) == (0, "")
    assert out == {"released": "alpha", "project": "proj", "path": f"{project}/src/app.py",
                   "files": ["src/app.py"]}
    assert dispatch(_edit("beta", project / "src" / "app.py", project)).reply is None
    _asks(dispatch(_edit("beta", project / "src" / "util.py", project)), "alpha")  # still held

    for missing in ("app.py", "../src/nothing.py", str(project / "link" / "app.py")):
        code, out, err = sm("release", "alpha", "--path", missing)
        assert code == 3 and out is None and len(err.splitlines()) == 1
        assert "holds no live claim" in err and "src/util.py" in err
    code, out, _ = sm("release", "alpha", "--path", "util.py")
    assert code == 0 and out["files"] == ["src/util.py"]
    assert dispatch(_edit("beta", project / "src" / "util.py", project)).reply is None
    assert sm("release", "alpha")[1]["files"] == []
