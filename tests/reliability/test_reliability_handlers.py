"""Misbehaving handlers next to the built-in ones: one that hangs, one that sleeps past the
whole dispatch budget, one that raises, one that calls ``sys.exit``.

Each runs on every event (``on_event``) and on the event's own hook, in-process through
``hooks.testing.run_dispatch`` and for real (``python -P -m hooks.dispatch`` with the plugin
installed as a distribution with an ``orchestra`` entry point). Whatever it does:

* the dispatcher replies within its budget (plus a small margin), exit 0, nothing on stderr;
* the built-in handlers' effects persist: the event-log line, the heartbeat, the session
  ended at SessionEnd, messages delivered, another plugin's context in the reply;
* the failure is in ``logs/dispatch.log`` and names the misbehaving plugin only.

Two budgets: a per-handler limit well inside the budget (``ORCHESTRA_HANDLER_TIMEOUT=0.5``):
every other handler, a second plugin too, still runs; and a budget of 1 second (the SessionEnd
budget, or ``ORCHESTRA_BUDGET=1``) with the default per-handler limit of 2 seconds, so that
a handler that overruns could use up the whole budget by itself: the dispatcher keeps a share
of it for the built-in handlers, which still record the event (the second plugin may then
find the plugins' share used up).
"""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hooks import hookimpl
from hooks.events import spec_name
from hooks.testing import run_dispatch
from tests.reliability._reliability_support import (
    cli,
    dispatch_log_errors,
    dispatch_process,
    payload,
)

BUDGET = 1.0
MARGIN = 0.6  # in-process; thread start-up and fsyncs on a loaded CI machine
PROCESS_MARGIN = 4.0  # a whole interpreter start on top
SID = "misbehave-1"
EVENTS = {"UserPromptSubmit": "UserPromptSubmit", "PreToolUse": "PreToolUse.Bash",
          "SessionEnd": "SessionEnd.other", "TaskCompleted": "TaskCompleted"}
KINDS = ("hang", "sleep", "raise", "exit")

_release = threading.Event()


@pytest.fixture(autouse=True)
def _release_hung_threads() -> Iterator[None]:
    _release.clear()
    yield
    _release.set()  # let the abandoned handler threads of this test finish


def _misbehave(kind: str) -> Callable[..., Any]:
    def handler(event: Any) -> None:
        if kind == "hang":
            _release.wait(120)
        elif kind == "sleep":
            time.sleep(BUDGET * 4)  # past the whole budget
        elif kind == "raise":
            raise RuntimeError("broken plugin")
        else:
            sys.exit(4)

    return handler


def _plugin(kind: str, event_name: str) -> types.ModuleType:
    module = types.ModuleType(f"bad_{kind}")
    for spec in ("on_event", spec_name(event_name)):
        function = _misbehave(kind)
        function.__name__ = spec
        setattr(module, spec, hookimpl(function))
    return module


def _good_plugin() -> types.ModuleType:
    module = types.ModuleType("good")

    @hookimpl
    def on_user_prompt_submit(event: Any) -> dict[str, Any]:
        return {"hookSpecificOutput": {"additionalContext": "good plugin was here"}}

    module.on_user_prompt_submit = on_user_prompt_submit  # type: ignore[attr-defined]
    return module


def _start_session(root: Path) -> None:
    result = run_dispatch(payload("SessionStart.startup", SID), home=root)
    assert result.exit_code == 0, result.stderr
    sent = cli("session_manager", "send", "--to", SID, "note from a teammate")
    assert sent.code == 0, sent


def _check_effects(root: Path, event_name: str, reply: dict[str, Any] | None,
                   good_plugin_ran: bool = True) -> None:
    folder = root / "sessions" / SID
    records = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert records[-1]["event"] == event_name, records[-1]  # the event log (after_dispatch)
    state = json.loads((folder / "state.json").read_text())
    if event_name == "SessionEnd":
        assert state["status"] == "ended"
    else:
        assert json.loads((folder / "heartbeat.json").read_text())["event"] == event_name
        assert state["status"] == "active"
    if event_name == "UserPromptSubmit":
        context = (reply or {}).get("hookSpecificOutput", {}).get("additionalContext", "")
        assert "note from a teammate" in context  # messages handler
        assert ("[good] good plugin was here" in context) is good_plugin_ran


def _check_log(root: Path, kind: str) -> None:
    """The failure is logged; no built-in handler failed or was skipped."""
    from handlers import BUILTIN_HANDLERS

    errors = dispatch_log_errors(root)
    assert any(f"handler bad_{kind}." in line or f"handler bad-{kind}." in line
               for line in errors), errors
    builtins = [name.rsplit(".", 1)[-1] for name in BUILTIN_HANDLERS]
    assert not [line for line in errors for name in builtins if f"handler {name}." in line]


@pytest.mark.parametrize("event_name", EVENTS)
@pytest.mark.parametrize("kind", KINDS)
def test_misbehaving_handler_in_process(kind: str, event_name: str, root: Path,
                                        report: Any) -> None:
    _start_session(root)
    event = payload(EVENTS[event_name], SID)
    budget = 2.5 if event_name != "SessionEnd" else BUDGET
    started = time.monotonic()
    result = run_dispatch(event, plugins=[_plugin(kind, event_name), _good_plugin()], home=root,
                          env={"ORCHESTRA_BUDGET": str(budget),
                               "ORCHESTRA_HANDLER_TIMEOUT": "0.5"})
    elapsed = time.monotonic() - started
    assert result.exit_code == 0 and result.stderr == "", result
    assert elapsed < budget + MARGIN, f"replied after {elapsed:.2f}s"
    _check_effects(root, event_name, result.reply)
    _check_log(root, kind)
    report(seconds=round(elapsed, 2))


@pytest.mark.parametrize("event_name", EVENTS)
@pytest.mark.parametrize("kind", ["hang", "sleep"])
def test_overrunning_handler_cannot_use_up_the_builtins_budget(
        kind: str, event_name: str, root: Path, report: Any) -> None:
    _start_session(root)
    event = payload(EVENTS[event_name], SID)
    started = time.monotonic()
    result = run_dispatch(event, plugins=[_plugin(kind, event_name), _good_plugin()], home=root,
                          env={"ORCHESTRA_BUDGET": str(BUDGET)})
    elapsed = time.monotonic() - started
    assert result.exit_code == 0 and result.stderr == "", result
    assert elapsed < BUDGET + MARGIN, f"replied after {elapsed:.2f}s"
    _check_effects(root, event_name, result.reply, good_plugin_ran=False)
    _check_log(root, kind)
    report(seconds=round(elapsed, 2))


PLUGIN_SOURCE = """
import os, sys, time
from hooks import hookimpl

def _misbehave():
    kind = {kind!r}
    if not os.environ.get("BAD_PLUGIN_ON"):  # installed quietly while the cache is built
        return
    if kind == "hang":
        while True:
            time.sleep(60)
    elif kind == "sleep":
        time.sleep({sleep})
    elif kind == "raise":
        raise RuntimeError("broken plugin")
    else:
        sys.exit(4)

@hookimpl
def on_event(event):
    _misbehave()

@hookimpl
def {spec}(event):
    _misbehave()
"""


def _install(site: Path, kind: str, event_name: str) -> Path:
    """Install plugin ``bad-<kind>`` the way pip would: a package and its dist-info."""
    package = f"orchestra_bad_{kind}"
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(textwrap.dedent(PLUGIN_SOURCE.format(
        kind=kind, sleep=BUDGET * 4, spec=spec_name(event_name))))
    info = site / f"orchestra_bad_{kind}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: orchestra-bad-{kind}\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(f"[orchestra]\nbad-{kind} = {package}\n")
    return site


@pytest.mark.parametrize("event_name", ["UserPromptSubmit", "SessionEnd"])
@pytest.mark.parametrize("kind", KINDS)
def test_misbehaving_plugin_for_real(kind: str, event_name: str, root: Path, outer: Path,
                                     report: Any) -> None:
    site = _install(outer.parent / "site", kind, event_name)
    start = dispatch_process(payload("SessionStart.startup", SID), root, paths=[site])
    assert start.code == 0, start  # also builds and caches the plugin table
    assert cli("session_manager", "send", "--to", SID, "note from a teammate").code == 0
    started = time.monotonic()
    result = dispatch_process(payload(EVENTS[event_name], SID), root, paths=[site],
                              ORCHESTRA_BUDGET=str(BUDGET), BAD_PLUGIN_ON="1")
    elapsed = time.monotonic() - started
    assert result.code == 0 and result.err == "", result
    assert elapsed < BUDGET + PROCESS_MARGIN, f"replied after {elapsed:.2f}s"
    reply = result.reply
    if event_name == "UserPromptSubmit":  # no inline "good" plugin here
        assert "note from a teammate" in reply["hookSpecificOutput"]["additionalContext"]
    folder = root / "sessions" / SID
    records = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert records[-1]["event"] == event_name
    state = json.loads((folder / "state.json").read_text())
    assert state["status"] == ("ended" if event_name == "SessionEnd" else "active")
    _check_log(root, kind)
    report(seconds=round(elapsed, 2))
