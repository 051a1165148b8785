"""The scripted end-to-end scenario: Orchestra installed in a temp project, run by the real CLI.

:func:`run_scenario` builds everything in a temporary folder and runs two
sessions of the real Claude Code CLI against two :class:`FakeAnthropic` servers:

* a project ``e2e-project`` (with a ``CLAUDE.md``) whose ``.claude/settings.json``
  comes from ``python -m hooks install --scope project`` (``sys.executable``);
* a private ``HOME`` per session and one shared temporary ``ORCHESTRA_HOME``;
* a test plugin, found through the ``orchestra`` entry-point group: a folder with
  ``e2e_deny_plugin-1.0.dist-info/{METADATA,entry_points.txt}`` and the module,
  put on the CLI's ``PYTHONPATH`` (the dispatcher inherits it; ``-P`` drops only
  the cwd). It denies the one Bash command that mentions :data:`FORBIDDEN_MARKER`;
* session A, whose id is chosen in advance (``claude --session-id``) so that it
  can be created (``python -m state.session_manager create --id``) and sent a
  message (:func:`state.messages.send_message`) before it starts;
* session A's script (:func:`main_script`): Bash, Write, Edit, Read, a failing
  Bash, the denied Bash, a foreground Agent call (the subagent answers text),
  TaskCreate, TaskUpdate (in_progress), a Bash call that waits for a signal,
  TaskUpdate (completed), parallel Glob + Grep, then text;
* session B, started while A is blocked inside its waiting Bash call (A has
  started, has not ended, and its heartbeat is fresh): B's script is one text
  turn. When B has finished, the test releases A.

Which hook events the CLI fired is read from each run's ``--debug-file``: every
command hook is logged there as ``<Event>[:<matcher>] [<command>] finished with
status N`` (``completed`` for SessionEnd).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .claude_cli import run_claude
from .fake_api import FakeAnthropic, Script, tool_use

__all__ = [
    "DENY_REASON",
    "FORBIDDEN_MARKER",
    "MESSAGE_TEXT",
    "PROJECT",
    "Fired",
    "Run",
    "Scenario",
    "canonical",
    "fired_hooks",
    "request_texts",
    "run_scenario",
]

PROJECT = "e2e-project"
SUBAGENT_MARKER = "E2E-SUBAGENT-7f3a"
SUBAGENT_ANSWER = "Subagent report: the notes file looks fine."
FINAL_TEXT = "All done: notes written, task completed."
FORBIDDEN_MARKER = "forbidden-marker-e2e"
PLUGIN_NAME = "e2e-deny"
PLUGIN_MODULE = "e2e_deny_plugin"
DENY_REASON = f"{PLUGIN_NAME}: commands mentioning {FORBIDDEN_MARKER} are not allowed here"
MESSAGE_TEXT = "Heads-up from the e2e test: please keep notes.txt short (msg-e2e-1234)."
MESSAGE_SENDER = "e2e-tester"
TASK_SUBJECT = "Write the notes"
#: Seconds: a whole CLI run, and how long A waits in its Bash call for B.
RUN_TIMEOUT = 150.0
WAIT_FOR_B = 90.0

#: Events whose debug-log matcher is the tool name (the event log's ``tool``).
TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure",
                         "PermissionRequest", "PermissionDenied"})

PLUGIN_SOURCE = textwrap.dedent(
    f'''\
    """Test plugin of the e2e suite: deny one Bash command."""

    from hooks import hookimpl

    MARKER = {FORBIDDEN_MARKER!r}
    REASON = {DENY_REASON!r}


    @hookimpl
    def on_pre_tool_use(event):
        command = event.tool_input.get("command") if event.tool_name == "Bash" else None
        if isinstance(command, str) and MARKER in command:
            return {{"hookSpecificOutput": {{"permissionDecision": "deny",
                                            "permissionDecisionReason": REASON}}}}
        return None
    '''
)

#: Run by session A's Bash call: say "ready", then wait for "go" (or give up).
SYNC_SOURCE = textwrap.dedent(
    """\
    import pathlib, sys, time

    folder = pathlib.Path(sys.argv[1])
    limit = float(sys.argv[2])
    (folder / "ready").write_text("ready")
    end = time.monotonic() + limit
    while not (folder / "go").exists() and time.monotonic() < end:
        time.sleep(0.05)
    print("released" if (folder / "go").exists() else "gave up waiting")
    """
)


# ------------------------------------------------------------------ fired events


@dataclass(frozen=True)
class Fired:
    """One command hook run, as the CLI's debug log reports it."""

    event: str
    matcher: str | None
    status: int

    @property
    def key(self) -> tuple[str, ...]:
        """(event,) or (event, tool): comparable with :func:`log_keys`."""
        if self.event in TOOL_EVENTS and self.matcher:
            return (self.event, self.matcher)
        return (self.event,)


#: The CLI logs a hook as ``<Event>[:<matcher>] [<command>] finished with status N``; an
#: exec-form hook's command is its program and ``args`` joined by spaces. Orchestra's:
#: the registered boot command (``... -c <hooks.boot.BOOT_CODE> <root>``), or the shell
#: form of earlier installs and of the plugin (``... -m hooks.dispatch``, ``... dispatch``).
_FIRED = re.compile(
    r"(?:Hooks: )?(?P<event>[A-Z][A-Za-z]+)(?::(?P<matcher>[^\s\[]+))? "
    r"\[(?P<command>[^\]]*(?:hooks\.dispatch|from hooks\.boot import main;main\(\) [^\]]*))\] "
    r"(?:finished|completed) with status (?P<status>-?\d+)"
)


def fired_hooks(debug_log: str) -> list[Fired]:
    """Orchestra's hook runs in the order the CLI logged them."""
    return [Fired(m["event"], m["matcher"], int(m["status"])) for m in _FIRED.finditer(debug_log)]


def log_keys(records: Iterable[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Event-log records as (event,) or (event, tool)."""
    keys: list[tuple[str, ...]] = []
    for record in records:
        event = str(record.get("event"))
        tool = record.get("tool")
        keys.append((event, str(tool)) if event in TOOL_EVENTS and tool else (event,))
    return keys


def canonical(keys: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """``keys`` with each parallel tool batch sorted.

    Two places run hooks concurrently, so the relative order of their events is
    not fixed: a batch of several tool calls (between two ``PostToolBatch``) runs
    its calls and their PreToolUse/PostToolUse hooks in parallel, and at startup
    InstructionsLoaded (CLAUDE.md) overlaps SessionStart. Such segments are sorted;
    everything else keeps its order.
    """
    out: list[tuple[str, ...]] = []
    batch: list[tuple[str, ...]] = []

    def flush() -> None:
        parallel = (sum(1 for k in batch if k[0] == "PreToolUse") > 1
                    or ("InstructionsLoaded",) in batch)
        out.extend(sorted(batch) if parallel else batch)
        batch.clear()

    for key in keys:
        if key[0] in ("PostToolBatch", "UserPromptSubmit"):
            flush()
            out.append(key)
        else:
            batch.append(key)
    flush()
    return out


# ------------------------------------------------------------------ requests


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def request_texts(body: dict[str, Any]) -> str:
    """Every string inside a request's ``messages`` (text, tool results, reminders)."""
    return "\n".join(_strings(body.get("messages") or []))


def tool_result_text(block: dict[str, Any]) -> str:
    return "\n".join(_strings(block.get("content")))


# ------------------------------------------------------------------ the scenario


def main_script(paths: dict[str, Path]) -> Script:
    notes = str(paths["notes"])
    sync = shlex.join([sys.executable, str(paths["sync_py"]), str(paths["sync_dir"]),
                       str(WAIT_FOR_B)])
    return Script(
        main=[
            [tool_use("Bash", {"command": 'echo "hello-from-e2e session=$ORCHESTRA_SESSION_ID"',
                               "description": "Say hello"})],
            [tool_use("Write", {"file_path": notes, "content": "alpha notes\n"})],
            [tool_use("Edit", {"file_path": notes, "old_string": "alpha", "new_string": "beta"})],
            [tool_use("Read", {"file_path": notes})],
            [tool_use("Bash", {"command": "exit 3", "description": "A command that fails"})],
            [tool_use("Bash", {"command": f"echo {FORBIDDEN_MARKER} > "
                                          f"{shlex.quote(str(paths['forbidden']))}",
                               "description": "A command the plugin denies"})],
            [tool_use("Agent", {"description": "Review the notes",
                                "prompt": f"{SUBAGENT_MARKER}: review notes.txt and report.",
                                "subagent_type": "general-purpose",
                                "run_in_background": False})],
            [tool_use("TaskCreate", {"subject": TASK_SUBJECT,
                                     "description": "Write and check notes.txt",
                                     "activeForm": "Writing the notes"})],
            [tool_use("TaskUpdate", {"taskId": "1", "status": "in_progress"})],
            [tool_use("Bash", {"command": sync, "description": "Wait for the other session"})],
            [tool_use("TaskUpdate", {"taskId": "1", "status": "completed"})],
            [tool_use("Glob", {"pattern": "*.txt"}),
             tool_use("Grep", {"pattern": "beta", "output_mode": "files_with_matches"})],
            [FINAL_TEXT],
        ],
        subagent=[[SUBAGENT_ANSWER]],
        subagent_marker=SUBAGENT_MARKER,
    )


def second_script() -> Script:
    return Script(main=[["Session B here; nothing to do."]])


@dataclass
class Run:
    """One finished (or failed) CLI run."""

    name: str
    session_id: str
    api: FakeAnthropic
    debug_log: Path
    proc: subprocess.CompletedProcess[str] | None = None
    error: BaseException | None = None
    started: float = 0.0
    elapsed: float = 0.0

    @property
    def debug_text(self) -> str:
        try:
            return self.debug_log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def fired(self) -> list[Fired]:
        return fired_hooks(self.debug_text)

    def result(self) -> dict[str, Any]:
        """The ``--output-format json`` result object."""
        assert self.proc is not None, self.context()
        return dict(json.loads(self.proc.stdout))

    def context(self, limit: int = 6000) -> str:
        lines = [f"=== run {self.name} (session {self.session_id}): "
                 f"{'error ' + repr(self.error) if self.error else ''}"
                 f"exit {self.proc.returncode if self.proc else '?'} after {self.elapsed:.1f}s"]
        if self.proc is not None:
            lines += ["--- stdout", self.proc.stdout[-limit:], "--- stderr",
                      self.proc.stderr[-limit:]]
        lines.append("--- API calls: " + ", ".join(
            f"{e.kind}{'' if e.turn is None else e.turn}" for e in self.api.exchanges))
        lines.append("--- hooks fired: " + ", ".join(
            f"{f.event}{':' + f.matcher if f.matcher else ''}={f.status}" for f in self.fired()))
        hook_lines = [ln for ln in self.debug_text.splitlines()
                      if "hook" in ln.lower() and ("error" in ln.lower() or "status" in ln)]
        lines += ["--- debug log, hook lines (tail)", "\n".join(hook_lines[-60:])[-limit:]]
        return "\n".join(lines)


@dataclass
class Scenario:
    root: Path
    project: Path
    orchestra_home: Path
    paths: dict[str, Path]
    a: Run
    b: Run
    b_started_while_a_waited: bool = False
    install_output: str = ""
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)

    def store(self) -> Any:
        from state.store import open_store

        return open_store(self.orchestra_home)

    def events(self, session_id: str) -> list[dict[str, Any]]:
        from state.eventlog import read_events

        return list(read_events(self.store(), session_id))

    def dispatch_log(self) -> str:
        path = self.orchestra_home / "logs" / "dispatch.log"
        try:
            return path.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return "(no dispatch log)"

    def context(self) -> str:
        """Everything useful when an assertion fails."""
        parts = [self.a.context(), self.b.context(),
                 f"=== B started while A waited: {self.b_started_while_a_waited}",
                 "=== Orchestra dispatch log (tail)", self.dispatch_log()]
        for run in (self.a, self.b):
            try:
                keys = log_keys(self.events(run.session_id))
            except Exception as exc:  # the session may not exist at all
                keys = [(f"<cannot read: {exc}>",)]
            parts.append(f"=== event log of {run.name}: " + ", ".join(":".join(k) for k in keys))
        return "\n".join(parts)


def write_plugin(folder: Path) -> Path:
    """A plugin found through the ``orchestra`` entry-point group when ``folder`` is on sys.path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{PLUGIN_MODULE}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    dist = folder / f"{PLUGIN_MODULE}-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {PLUGIN_MODULE.replace('_', '-')}\nVersion: 1.0\n",
        encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[orchestra]\n{PLUGIN_NAME} = {PLUGIN_MODULE}\n",
                                           encoding="utf-8")
    return folder


def orchestra_env(orchestra_home: Path, plugin_dir: Path) -> dict[str, str]:
    """Variables every run gets: our state root and plugin, nothing from the caller's setup."""
    return {
        "ORCHESTRA_HOME": str(orchestra_home),
        "PYTHONPATH": str(plugin_dir),
        "ORCHESTRA_LOAD_PLUGINS": PLUGIN_NAME,  # third-party plugins: only ours
        "ORCHESTRA_DISABLED_PLUGINS": "",
        "ORCHESTRA_RECORD": "",
        "ORCHESTRA_NO_CACHE": "",
        "ORCHESTRA_TRACE": "",
        "ORCHESTRA_BUDGET": "",
        "ORCHESTRA_HANDLER_TIMEOUT": "",
        "ORCHESTRA_DEBUG": "",
        "ORCHESTRA_SESSION_ID": "",  # Bash gets it from the presence handler's CLAUDE_ENV_FILE
        # TaskCreate/TaskUpdate/TaskGet/TaskList are off in -p runs of 2.1.332 unless this is
        # set; they then come as deferred tools (called directly here, as the fake model can).
        "CLAUDE_CODE_ENABLE_TODO_TOOLS": "1",
    }


def _python(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} exited {proc.returncode}\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return proc


def _run_in_thread(run: Run, claude_bin: Path, prompt: str, cwd: Path, home: Path,
                   env: dict[str, str]) -> threading.Thread:
    def target() -> None:
        run.started = time.monotonic()
        try:
            run.proc = run_claude(claude_bin, prompt, cwd=cwd, home=home,
                                  base_url=run.api.base_url, env_extra=env,
                                  debug_file=run.debug_log, timeout=RUN_TIMEOUT,
                                  extra_args=["--session-id", run.session_id])
        except BaseException as exc:  # reported by the test with the context
            run.error = exc
        finally:
            run.elapsed = time.monotonic() - run.started

    thread = threading.Thread(target=target, name=f"claude-{run.name}", daemon=True)
    thread.start()
    return thread


def run_scenario(claude_bin: Path, root: Path) -> Scenario:
    """Set everything up, run A with B in the middle, and return what happened."""
    started = time.monotonic()
    project = root / PROJECT
    orchestra_home = root / "orchestra-home"
    sync_dir = root / "sync"
    for folder in (project, orchestra_home, sync_dir):
        folder.mkdir(parents=True)
    (project / "CLAUDE.md").write_text("# e2e project\nKeep notes short.\n", encoding="utf-8")
    paths = {
        "notes": project / "notes.txt",
        "forbidden": root / "forbidden-output.txt",
        "sync_dir": sync_dir,
        "sync_py": root / "sync_wait.py",
    }
    paths["sync_py"].write_text(SYNC_SOURCE, encoding="utf-8")
    plugin_dir = write_plugin(root / "plugin-path")
    extra = orchestra_env(orchestra_home, plugin_dir)
    # The CLIs below run like the dispatcher will: same interpreter, state root, plugins.
    cli_env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    cli_env.update(extra, HOME=str(root / "home-cli"))

    install = _python(["-m", "hooks", "install", "--scope", "project", "--project-dir",
                       str(project)], cli_env, root)

    a = Run("A", str(uuid.uuid4()), FakeAnthropic(main_script(paths),
                                                  log_path=root / "requests-A.jsonl"),
            root / "claude-debug-A.log")
    b = Run("B", str(uuid.uuid4()), FakeAnthropic(second_script(),
                                                  log_path=root / "requests-B.jsonl"),
            root / "claude-debug-B.log")
    scenario = Scenario(root, project, orchestra_home, paths, a, b,
                        install_output=install.stdout + install.stderr)

    # Session A exists before it starts, so it can be sent a message.
    _python(["-m", "state.session_manager", "create", "--id", a.session_id, "--project",
             PROJECT, "--mode", "claude-code"], cli_env, root)
    from state.messages import send_message
    from state.store import open_store

    send_message(open_store(orchestra_home), text=MESSAGE_TEXT, sender=MESSAGE_SENDER,
                 to_session=a.session_id)

    with a.api, b.api:
        thread_a = _run_in_thread(a, claude_bin, "Work on the notes file, then report.",
                                  project, root / "home-A", extra)
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            ready = sync_dir / "ready"
            while not ready.exists() and thread_a.is_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            scenario.b_started_while_a_waited = ready.exists() and thread_a.is_alive()
            if scenario.b_started_while_a_waited:
                thread_b = _run_in_thread(b, claude_bin, "Anything to do?", project,
                                          root / "home-B", extra)
                thread_b.join(RUN_TIMEOUT + 10)
        finally:
            (sync_dir / "go").write_text("go")  # never leave A waiting
            thread_a.join(RUN_TIMEOUT + 10)
    scenario.elapsed = time.monotonic() - started
    return scenario


# ------------------------------------------------------------------ the summary


def summary(scenario: Scenario) -> str:
    """A short, quotable account of what fired and what Orchestra recorded."""
    from state.view import session_view

    store = scenario.store()
    out = [f"e2e scenario: total {scenario.elapsed:.1f}s; run A {scenario.a.elapsed:.1f}s, "
           f"run B {scenario.b.elapsed:.1f}s (B ran while A waited in Bash: "
           f"{scenario.b_started_while_a_waited})"]
    for run in (scenario.a, scenario.b):
        fired = [":".join(k) for k in (f.key for f in run.fired())]
        out.append(f"[{run.name}] {run.session_id}: {len(fired)} hook events fired:")
        out.append("    " + " > ".join(fired))
        try:
            view = session_view(store, run.session_id)
        except Exception as exc:
            out.append(f"    state: <unreadable: {exc}>")
            continue
        metrics = view.get("metrics", {})
        tools = ", ".join(f"{name} {t['calls']}" + (f" ({t['failures']} failed)"
                                                     if t["failures"] else "")
                          for name, t in metrics.get("tools", {}).items())
        out.append(f"    status {view.get('status')}, started {view.get('started_at')}, "
                   f"ended {view.get('ended_at')} ({view.get('end_reason')})")
        tasks = view.get("active_work", {}).get("tasks", {})
        out.append("    tasks: " + ("; ".join(
            f"#{t['id']} {t.get('subject')!r} {t.get('status')} "
            f"({' > '.join(h['status'] for h in t.get('history', []))})"
            for t in tasks.values()) or "none"))
        agents = view.get("active_work", {}).get("agents", {})
        out.append("    agents: " + ("; ".join(
            f"{a_id} {a.get('agent_type')} {a.get('status')} task={a.get('task')!r}"
            for a_id, a in agents.items()) or "none"))
        out.append(f"    metrics: events {metrics.get('events')}, prompts "
                   f"{metrics.get('prompts')}, tool calls {metrics.get('tool_calls')} "
                   f"[{tools}], failures {metrics.get('failures')}, denials "
                   f"{metrics.get('denials')}, subagents {metrics.get('subagents')}, stops "
                   f"{metrics.get('stops')}, tokens {metrics.get('tokens')}")
    return "\n".join(out)
