"""What a dispatch imports: never the heavy libraries, and no more modules than a budget.

Not a timed test: every hook event is a new interpreter, so the modules it imports are
most of what it costs, and counting them is stable where timing is not (bench/dispatch.py
times them). The count is what ``python -X importtime`` lists for a warm dispatch (the
dispatch-table cache built) through the command Orchestra registers — ``python -S -P -c
<hooks.boot.BOOT_CODE> <checkout>``, no ``site`` — minus what it lists for ``python -S -P
-c pass`` (the interpreter's own start). Everything Orchestra makes Python import is
counted, the standard library's modules too: ``json``, ``re``, ``contextlib`` and what
they load are modules like any other.

When a change really needs more modules, raise the budget here and say why in the
commit; bench/README.md shows what each module costs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hooks.boot import BOOT_CODE

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "payloads"

#: Libraries whose import alone costs more than a whole hot event (issue 13).
HEAVY = ("pydantic", "filelock", "jsonpath_ng", "pluggy")
#: What no dispatch of an event Claude Code sends imports (issue 27): ``site`` (and the
#: venv's .pth files), ``runpy`` (``-m``), ``json`` and ``re`` (``state.jsontext`` reads
#: and writes JSON without them), ``enum`` (loaded by ``re``), ``contextlib`` and what it
#: loads (``state.contexts``), ``typing``.
NEVER = ("site", "runpy", "json", "re", "enum", "contextlib", "collections", "functools",
         "typing", "importlib.metadata")
#: Modules a PreToolUse, PostToolUse or UserPromptSubmit dispatch may import beyond
#: ``python -S -P -c pass``. Issue 27 counts from there (before it, from ``python -c
#: "import runpy, json"``, which itself imports 36 modules: budget 31 + 36 = 67); 41 with
#: os and what it loads (6) and gc (the end of the process no longer imports atexit).
HOT_BUDGET = 41
#: The same for every other event kind (they read and write more documents). Before issue
#: 27: 40 + 36 = 76. SessionStart imports the most: presence, coordination, orchestration.
EVENT_BUDGET = 51
#: Modules kept under their old names for plugins and docs (issue 25): a dispatch imports
#: their new homes, never them.
OLD_NAMES = ("state.storage", "state.filestore", "hooks.launcher")

HOT = ("PreToolUse.Bash", "PostToolUse.Bash", "UserPromptSubmit")


def _tool_call(name: str, tool: str, tool_input: dict[str, Any],
               tool_response: Any = None) -> dict[str, Any]:
    event = _load(name)
    event.update(tool_name=tool, tool_input=tool_input)
    if tool_response is not None:
        event["tool_response"] = tool_response
    return event


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _events() -> dict[str, dict[str, Any]]:
    """Every event kind, and the tool calls a built-in handler writes state for."""
    events = {p.stem: _load(p.stem) for p in sorted(PAYLOADS.glob("*.json"))}
    events["PostToolUse.TaskUpdate"] = _tool_call(
        "PostToolUse.TaskCreate", "TaskUpdate", {"taskId": "1", "status": "completed"})
    events["PostToolUse.TodoWrite"] = _tool_call(
        "PostToolUse.TaskCreate", "TodoWrite",
        {"todos": [{"content": "a", "status": "pending", "activeForm": "doing a"}]})
    events["PreToolUse.Agent"] = _tool_call(
        "PreToolUse.Bash", "Agent", {"description": "d", "prompt": "p",
                                     "subagent_type": "general-purpose"})
    events["PostToolUse.Write"] = _tool_call(
        "PostToolUse.Bash", "Write", {"file_path": "/tmp/project/a.py", "content": "x"},
        {"type": "create"})
    # a risky git command: the git guard reads it (no other session is live here)
    events["PreToolUse.Bash.git"] = _tool_call(
        "PreToolUse.Bash", "Bash", {"command": "cd src && git stash && git checkout main"})
    return events


EVENTS = _events()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "PYTHON", "CLAUDE_"))}
    env["ORCHESTRA_HOME"] = str(home)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing written into the checkout
    return env


#: The registered command's arguments (hooks.tooling.registration.boot_args).
DISPATCH = ["-c", BOOT_CODE, str(REPO)]


def _imports(args: list[str], env: dict[str, str], cwd: Path, stdin: bytes = b"") -> list[str]:
    done = subprocess.run([sys.executable, "-S", "-P", "-X", "importtime", *args], input=stdin,
                          env=env, cwd=cwd, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", done.stderr.decode(),
                      re.MULTILINE)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    cwd = tmp_path_factory.mktemp("cwd")
    return set(_imports(["-c", "pass"], _env(cwd), cwd))


@pytest.fixture(scope="module")
def warm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state root whose dispatch-table cache is built and whose sessions exist."""
    home = tmp_path_factory.mktemp("home")
    cwd = tmp_path_factory.mktemp("cwd")
    for event in EVENTS.values():
        _imports(DISPATCH, _env(home), cwd, json.dumps(event).encode())
    return home


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_a_dispatch_imports_no_heavy_library_and_stays_within_its_budget(
        name: str, warm_home: Path, baseline: set[str], tmp_path: Path) -> None:
    stdin = json.dumps(EVENTS[name]).encode()
    imported = [m for m in _imports(DISPATCH, _env(warm_home), tmp_path, stdin)
                if m not in baseline]
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY or m in NEVER)
    assert heavy == [], f"{name} imported {heavy}"
    assert [m for m in imported if m in OLD_NAMES] == []
    budget = HOT_BUDGET if name in HOT else EVENT_BUDGET
    assert len(imported) <= budget, (
        f"{name} imported {len(imported)} modules (budget {budget}): {imported}")


#: The other agents' hot events (issue 26), through ``--agent``: their adapter is one more
#: module and the agents package another; Gemini's pairs BeforeTool/AfterTool in a small
#: locked document (the lock's three modules, which Claude Code's hot events do without).
AGENT_PAYLOADS = REPO / "tests" / "data" / "agent-payloads"
AGENT_HOT = {"codex": ("codex.UserPromptSubmit", "codex.PreToolUse", "codex.PostToolUse"),
             "gemini": ("gemini.BeforeAgent", "gemini.BeforeTool", "gemini.AfterTool")}
AGENT_BUDGET = {"codex": HOT_BUDGET + 2, "gemini": HOT_BUDGET + 5}


@pytest.mark.parametrize(("agent", "name"), [(a, n) for a, names in AGENT_HOT.items()
                                             for n in names])
def test_the_other_agents_hot_events_stay_within_their_budget(
        agent: str, name: str, warm_home: Path, baseline: set[str], tmp_path: Path) -> None:
    stdin = (AGENT_PAYLOADS / f"{name}.json").read_bytes()
    for _ in range(2):  # the first builds the session; the second is a hot event of it
        imported = [m for m in _imports([*DISPATCH, "--agent", agent],
                                        _env(warm_home), tmp_path, stdin) if m not in baseline]
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY or m in NEVER)
    assert heavy == [], f"{name} imported {heavy}"
    assert [m for m in imported if m in OLD_NAMES] == []
    assert len(imported) <= AGENT_BUDGET[agent], (
        f"{name} imported {len(imported)} modules (budget {AGENT_BUDGET[agent]}): {imported}")


@pytest.mark.skipif(not hasattr(os, "lockf"), reason="POSIX record locks (Windows: filelock)")
def test_the_claims_check_of_a_write_loads_no_lock_module(
        warm_home: Path, baseline: set[str], tmp_path: Path) -> None:
    """A Write's check and claim run under the claims log's step lock, a POSIX record lock
    (``os.lockf``): no ``fcntl`` (a dlopen, about 0.3 ms) nor the locks module."""
    project = tmp_path / "project"
    project.mkdir()
    write = _tool_call("PreToolUse.Bash", "Write",
                       {"file_path": str(project / "a.py"), "content": "x"})
    write.update(cwd=str(project), tool_use_id="toolu_hot_write")
    for _ in range(2):  # the first registers the session's project
        imported = _imports(DISPATCH, _env(warm_home), tmp_path, json.dumps(write).encode())
    assert "state.claims" in imported  # the check ran
    assert "fcntl" not in imported and "state.persistence.locks" not in imported
    claims = list((warm_home / "projects").glob("*/claims.jsonl"))
    assert any("toolu_hot_write" in c.read_text() for c in claims)


def test_the_guard_sees_a_heavy_import(warm_home: Path, baseline: set[str],
                                        tmp_path: Path) -> None:
    """The counting is real: a cold cache (the registry built with pluggy) is caught."""
    home = tmp_path / "cold"
    imported = _imports(DISPATCH, _env(home), tmp_path,
                        json.dumps(EVENTS["PreToolUse.Bash"]).encode())
    assert "pluggy" in imported
    assert len([m for m in imported if m not in baseline]) > HOT_BUDGET


# -- shortcuts on the hot path give the answers of the long way --------------------------


def test_a_payload_with_a_byte_order_mark_is_dispatched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The BOM is stripped by hand (the utf-8-sig codec is one more module to import)."""
    import io

    from hooks.dispatch import main

    home = tmp_path / "home"
    monkeypatch.setenv("ORCHESTRA_HOME", str(home))
    event = _load("UserPromptSubmit")
    data = b"\xef\xbb\xbf" + json.dumps(event).encode()
    assert main([], stdin=io.BytesIO(data), stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert (home / "sessions" / event["session_id"] / "state.json").exists()
    err = io.StringIO()
    bad = b"\xef\xbb\xbf" + b'{"hook_event_name": "Stop", "x": "\xff"}'
    assert main([], stdin=io.BytesIO(bad), stdout=io.StringIO(), stderr=err) == 1
    assert "not valid UTF-8" in err.getvalue()


def test_redaction_compiles_only_the_patterns_it_needs_with_the_same_result() -> None:
    """``redact`` runs just the patterns whose trigger words the text holds; the result is
    that of running all of them (``secret_patterns``) in order."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from state import redact as r

    def everything(text: str) -> str:
        if not any(t in text.lower() for t in r._TRIGGERS):
            return text
        secrets, bearer, assignment = r.secret_patterns()
        for pattern in secrets:
            text = pattern.sub(r.REDACTED, text)
        text = bearer.sub(lambda m: f"{m.group(1)} {r.REDACTED}", text)
        return assignment.sub(lambda m: m.group(1) + r.REDACTED, text)

    pieces = st.sampled_from([
        "api", "auth", "token=", "password: ", "Bearer ", "basic ", "sk-ant-", "sk-", "ghp_",
        "github_pat_", "xoxb-", "AKIA", "AIza", "eyJ", "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----", "abcdefghijklmnopqrstuvwxyz0123456789", "ABCDEFGHIJKLMNOP",
        "_-", ".", " ", "\n", "'", '"', "=", ":", "capital", "[REDACTED]", "é"])
    texts = st.lists(pieces, max_size=14).map("".join)

    @settings(max_examples=500, deadline=None)
    @given(texts)
    def check(text: str) -> None:
        assert r.redact(text) == everything(text)

    check()


def test_a_fingerprint_is_the_sha256_prefix() -> None:
    import hashlib

    from state.redact import fingerprint

    text = "output line\n" * 300 + "\udc80"  # a lone surrogate from a payload escape
    assert fingerprint(text) == hashlib.sha256(
        text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# -- handler workers -----------------------------------------------------------------------


def _threads_settle(expected: int) -> int:
    import _thread
    import time

    deadline = time.monotonic() + 10
    while _thread._count() > expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(_thread._count())


def test_no_worker_thread_outlives_a_dispatch(tmp_path: Path, plugin: Any) -> None:
    """All handlers of a dispatch share workers, and the idle ones end with it."""
    import _thread

    from hooks import hookimpl
    from hooks.testing import run_dispatch

    seen: list[int] = []

    @hookimpl
    def on_user_prompt_submit() -> None:
        seen.append(_thread.get_ident())

    before = _thread._count()
    plugins = [plugin(f"p{n}", on_user_prompt_submit=on_user_prompt_submit) for n in range(3)]
    outcome = run_dispatch(_load("UserPromptSubmit"), plugins=plugins, home=tmp_path / "home")
    assert outcome.exit_code == 0
    assert len(seen) == 3 and len(set(seen)) == 1  # one worker ran the three calls
    assert _thread.get_ident() not in seen  # ... and not the dispatcher's own thread
    assert _threads_settle(before) == before


def test_a_handler_that_overran_can_be_waited_for(tmp_path: Path, plugin: Any) -> None:
    import threading

    from hooks import hookimpl
    from hooks.runner import wait_for_handlers
    from hooks.testing import run_dispatch

    release, finished = threading.Event(), threading.Event()

    @hookimpl
    def on_user_prompt_submit() -> None:
        release.wait(30)
        finished.set()

    @hookimpl
    def after() -> dict[str, Any]:
        return {"hookSpecificOutput": {"additionalContext": "second handler ran"}}

    plugins = [plugin("slow", on_user_prompt_submit=hookimpl(tryfirst=True)(
                   on_user_prompt_submit)),
               plugin("next", on_user_prompt_submit=after)]
    outcome = run_dispatch(_load("UserPromptSubmit"), plugins=plugins, home=tmp_path / "home",
                           builtins=False, env={"ORCHESTRA_HANDLER_TIMEOUT": "0.2"})
    assert "second handler ran" in json.dumps(outcome.reply)  # a new worker took over
    assert not finished.is_set()
    assert wait_for_handlers(0.05) is False  # still running
    release.set()
    assert wait_for_handlers(30) is True
    assert finished.is_set()


# -- hookimpl(tools=...) ----------------------------------------------------------------------

WRITE_ONLY = """
    from hooks import hookimpl

    @hookimpl(tools=["Write", "Edit"])
    def on_pre_tool_use(event):
        return {"hookSpecificOutput": {"additionalContext": "writes watched"}}
"""


def test_a_tools_filter_leaves_other_tools_out(tmp_path: Path, plugin: Any) -> None:
    from hooks import hookimpl
    from hooks.testing import run_dispatch

    seen: list[str | None] = []

    @hookimpl(tools=["Write"])
    def on_pre_tool_use(event: Any) -> None:
        seen.append(event.tool_name)

    @hookimpl(tools=["Write"])
    def on_event(event: Any) -> None:
        seen.append(f"every event: {event.name}")

    plugins = [plugin("writes", on_pre_tool_use=on_pre_tool_use, on_event=on_event)]
    for name in ("PreToolUse.Bash", "PreToolUse.Write", "UserPromptSubmit"):
        outcome = run_dispatch(_load(name), plugins=plugins, home=tmp_path / "home",
                               builtins=False)
        assert outcome.exit_code == 0
    assert seen == ["every event: PreToolUse", "Write"]  # Bash and the prompt: not called


def test_the_cached_table_keeps_the_filter_and_skips_the_import(
        dispatch_cli: Any, make_plugin: Any, plugin_path: Path, payload: Any) -> None:
    make_plugin("writes", WRITE_ONLY)
    write, bash = payload("PreToolUse.Write.json"), payload("PreToolUse.Bash.json")
    for event in (write, bash):  # the first run builds the table cache
        dispatch_cli(event, paths=[plugin_path])
    for event, expected in ((write, True), (bash, False)):
        done = dispatch_cli(event, paths=[plugin_path], flags=["-X", "importtime"])
        assert done.code == 0, done.err
        assert "pluggy" not in done.err  # the cached table was used
        context = json.dumps(done.reply or {})
        assert ("writes watched" in context) is expected
        assert ("orchestra_test_writes" in done.err) is expected  # imported only when called
