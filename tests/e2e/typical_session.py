"""The typical session of issue 27, run by the real Claude Code CLI: how many hook
processes it starts.

The scenario (fixed, like the load test's): one prompt, then 13 tool calls, each in a
turn of its own — Bash, Read, Write, Edit, Bash, Read, Edit, Bash, Write, Read, Edit, Bash
and one Agent call, whose subagent answers with text — and a closing text turn. The CLI
runs headless against :class:`tests.e2e.fake_api.FakeAnthropic`, in a project whose
``.claude/settings.json`` holds one registration of Orchestra:

* ``"current"`` — what ``python -m hooks install --scope project`` writes today (the
  events the enabled handlers need, exec form);
* ``"all-events"`` — what earlier installs wrote: every event Orchestra registers, each as
  the shell command ``"<python>" -P -m hooks.dispatch`` (:func:`all_events_settings`);
* ``"narrow-log"`` — ``"current"`` with the event log's coverage narrowed in the config
  (``event_log.events``: :data:`NARROW_LOG`): events that only the log needed are not
  registered, so they start no process.

Counted (:class:`Count`):

* ``runs`` — Orchestra's hook runs, from the CLI's ``--debug-file`` (one line per hook
  command it ran: ``<Event>[:<matcher>] [<command>] finished with status N``);
* ``processes`` — the processes those runs started, seen by ``strace -f -e trace=execve``
  around the CLI: every process that executed Orchestra's hook command (a shell running
  it, the launcher, Python). A shell that forks Python is two; ``exec`` is one. Processes a
  handler starts itself (git, for the git guard) are not hook processes and are left out;
  none start in this scenario. Without strace (not Linux, or not installed) it is None.

``bench/processes.py`` prints the counts; ``tests/e2e/test_e2e_processes.py`` asserts them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .claude_cli import run_claude
from .fake_api import FakeAnthropic, Script, tool_use

__all__ = ["REGISTRATIONS", "TOOL_CALLS", "Count", "all_events_settings", "count_session",
           "strace"]

SUBAGENT_MARKER = "TYPICAL-SUBAGENT-91c2"
FINAL_TEXT = "Typical session done."
#: The tool of each of the 13 calls, in order.
TOOL_CALLS = ("Bash", "Read", "Write", "Edit", "Bash", "Read", "Edit", "Bash", "Write", "Read",
              "Edit", "Bash", "Agent")
REGISTRATIONS = ("current", "all-events", "narrow-log")
#: ``event_log.events`` of the ``narrow-log`` registration.
NARROW_LOG = ["SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"]
RUN_TIMEOUT = 240.0

#: A command line (or argv joined by spaces) that runs Orchestra's hook.
_HOOK = re.compile(r"hooks\.dispatch|from hooks\.boot import main|/bin/orchestra\"? dispatch"
                   r"|orchestra dispatch")


def script(project: Path) -> Script:
    """The typical session's turns (files inside ``project``)."""
    notes, todo = str(project / "notes.txt"), str(project / "todo.txt")
    calls = {
        0: ("Bash", {"command": "echo start", "description": "Say start"}),
        1: ("Read", {"file_path": str(project / "README.md")}),
        2: ("Write", {"file_path": notes, "content": "alpha\n"}),
        3: ("Edit", {"file_path": notes, "old_string": "alpha", "new_string": "beta"}),
        4: ("Bash", {"command": "ls", "description": "List the files"}),
        5: ("Read", {"file_path": notes}),
        6: ("Edit", {"file_path": notes, "old_string": "beta", "new_string": "gamma"}),
        7: ("Bash", {"command": "wc -l notes.txt", "description": "Count lines"}),
        8: ("Write", {"file_path": todo, "content": "one\n"}),
        9: ("Read", {"file_path": todo}),
        10: ("Edit", {"file_path": todo, "old_string": "one", "new_string": "two"}),
        11: ("Bash", {"command": "cat todo.txt", "description": "Show the list"}),
        12: ("Agent", {"description": "Review the notes",
                       "prompt": f"{SUBAGENT_MARKER}: review notes.txt and report.",
                       "subagent_type": "general-purpose", "run_in_background": False}),
    }
    assert tuple(name for name, _ in calls.values()) == TOOL_CALLS
    return Script(main=[[tool_use(name, args)] for name, args in calls.values()]
                  + [[FINAL_TEXT]],
                  subagent=[["The notes look fine."]], subagent_marker=SUBAGENT_MARKER)


def all_events_settings(python: str) -> dict[str, Any]:
    """The registration earlier installs wrote: every event, a shell command each."""
    from hooks.tooling import registration

    return {"hooks": {event: [{"hooks": [{
        "type": "command", "command": f'"{python}" -P -m hooks.dispatch',
        "timeout": registration.TIMEOUTS.get(event, registration.DEFAULT_TIMEOUT),
        "statusMessage": registration.STATUS_MESSAGE}]}] for event in registration.EVENTS}}


def strace() -> str | None:
    """strace, where it can be used (Linux)."""
    return shutil.which("strace") if sys.platform.startswith("linux") else None


@dataclass
class Count:
    registration: str
    runs: int
    processes: int | None
    execs: int | None
    events: dict[str, int] = field(default_factory=dict)
    ok: bool = True
    detail: str = ""


_RUN = re.compile(r"(?:Hooks: )?(?P<event>[A-Z][A-Za-z]+)(?::[^\s\[]+)? \[(?P<command>[^\]]*)\] "
                  r"(?:finished|completed) with status -?\d+")


def hook_runs(debug_log: str) -> list[str]:
    """The event of each of Orchestra's hook runs in a ``--debug-file`` log."""
    return [m["event"] for m in _RUN.finditer(debug_log) if _HOOK.search(m["command"])]


_EXEC = re.compile(r"^(?P<pid>\d+)\s+execve\((?P<call>.*)$")
_RESUMED = re.compile(r"^(?P<pid>\d+)\s+<\.\.\. execve resumed>.*\) += (?P<result>-?\d+)")


def hook_processes(trace: str) -> tuple[int, int]:
    """(processes, successful execs) that ran Orchestra's hook in an ``strace -f`` log.

    An ``execve`` line ends with its result, or — when another process's call came in
    between — with ``<unfinished ...>``, the result following on a ``resumed`` line."""
    pids: set[str] = set()
    execs = 0
    pending: dict[str, bool] = {}  # pid -> its unfinished execve ran the hook
    for line in trace.splitlines():
        match = _EXEC.match(line)
        if match:
            call, pid = match["call"], match["pid"]
            hook = _HOOK.search(call) is not None
            if call.endswith("<unfinished ...>"):
                pending[pid] = hook
            elif hook and re.search(r"\) += 0$", call):
                pids.add(pid)
                execs += 1
            continue
        resumed = _RESUMED.match(line)
        if resumed and pending.pop(resumed["pid"], False) and resumed["result"] == "0":
            pids.add(resumed["pid"])
            execs += 1
    return len(pids), execs


def _install(which: str, python: str, project: Path, env: dict[str, str]) -> None:
    settings = project / ".claude" / "settings.json"
    if which == "all-events":
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(all_events_settings(python), indent=2), encoding="utf-8")
        return
    done = subprocess.run([python, "-m", "hooks", "install", "--scope", "project",
                           "--project-dir", str(project)], env=env, cwd=project.parent,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"install failed: {done.stdout}{done.stderr}")


def count_session(claude_bin: Path, root: Path, which: str, *, python: str = sys.executable,
                  use_strace: bool = True, env_extra: dict[str, str] | None = None) -> Count:
    """Run the typical session with the registration ``which`` in a fresh folder under
    ``root`` and count its hook processes."""
    if which not in REGISTRATIONS:
        raise ValueError(f"registration {which!r}: expected one of {REGISTRATIONS}")
    folder = root / which
    project, home = folder / "project", folder / "orchestra-home"
    for path in (project, home):
        path.mkdir(parents=True)
    if which == "narrow-log":
        (home / "config.json").write_text(json.dumps({"event_log": {"events": NARROW_LOG}}),
                                          encoding="utf-8")
    (project / "README.md").write_text("# typical project\n", encoding="utf-8")
    extra = {"ORCHESTRA_HOME": str(home), "ORCHESTRA_DISABLED_PLUGINS": "",
             "ORCHESTRA_LOAD_PLUGINS": "", "ORCHESTRA_NO_CACHE": "", **(env_extra or {})}
    install_env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    install_env.update(extra, HOME=str(folder / "home-install"))
    _install(which, python, project, install_env)
    debug = folder / "claude-debug.log"
    trace = folder / "strace.log"
    tracer = strace() if use_strace else None
    prefix = ([tracer, "-f", "-qq", "-s", "4096", "-e", "trace=execve", "-e", "signal=none",
               "-o", str(trace), "--"] if tracer else [])
    with FakeAnthropic(script(project), log_path=folder / "requests.jsonl") as api:
        proc = run_claude(claude_bin, "Work through the notes, then report.", cwd=project,
                          home=folder / "home", base_url=api.base_url, env_extra=extra,
                          debug_file=debug, timeout=RUN_TIMEOUT,
                          wrapper=prefix)
    log = debug.read_text(encoding="utf-8", errors="replace") if debug.exists() else ""
    events = hook_runs(log)
    processes = execs = None
    if tracer:
        processes, execs = hook_processes(trace.read_text(encoding="utf-8", errors="replace"))
    ok = proc.returncode == 0 and FINAL_TEXT in proc.stdout
    tally: dict[str, int] = {}
    for event in events:
        tally[event] = tally.get(event, 0) + 1
    return Count(which, len(events), processes, execs, tally, ok,
                 "" if ok else f"exit {proc.returncode}\n{proc.stdout[-2000:]}"
                               f"\n{proc.stderr[-2000:]}")


def describe(counts: Iterable[Count]) -> str:
    """The counts as a small table."""
    lines = [f"{'registration':<14}{'hook runs':>10}{'processes':>11}{'execs':>7}  runs by event"]
    for c in counts:
        by_event = ", ".join(f"{e} {n}" for e, n in sorted(c.events.items()))
        lines.append(f"{c.registration:<14}{c.runs:>10}"
                     f"{'-' if c.processes is None else c.processes:>11}"
                     f"{'-' if c.execs is None else c.execs:>7}  {by_event}")
    return "\n".join(lines)
