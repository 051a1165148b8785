"""Benchmark: one dispatch per event kind, through the command Orchestra registers.

Stdlib only. Every event kind (one row each: the payloads of ``tests/payloads``
plus the tool calls that reach a handler — Read, Edit, Write, Agent, TaskCreate, TaskUpdate,
TodoWrite — and a risky git command, ``git stash``, the only kind of Bash line that starts
git: the project is a git repository in which another live session has an uncommitted
change, so the guard asks git everything it may ask and stops the command for a person),
all for one session in a temporary ``ORCHESTRA_HOME``, is timed
through each *command under test*, interleaved round by round with:

* ``python -c pass`` — interpreter start-up (``bare``), from Orchestra's own virtualenv:
  the baseline of issue 27's targets (PreToolUse, PostToolUse and UserPromptSubmit of an
  ordinary Bash, Read, Edit or Write call at most 1.5x at the median, every other event at
  most 2.0x, the plugin at most 0.2x bare above settings mode);
* ``python -S -c pass`` — the same without ``site`` (``nosite``): the start Orchestra's
  hook command makes;
* ``python -c "import json, pluggy"`` — the floor of issue 13 (``floor``);
* with ``--peer-python``/``--peer-venv``: cchooks parsing the same payload and
  replying success, no state, no plugins.

The interpreter is a virtualenv with Orchestra installed into its site-packages by pip
from a copy of this checkout (non-editable; its dependencies come from this interpreter's
environment), unless ``--python`` names one to use as it is (``_timing.installed_python``).

Commands under test (:func:`commands_under_test`): ``settings`` is what Orchestra's own
installer (``python -m hooks install --scope project``) registers in ``.claude/settings.json``,
run for each row exactly as Claude Code runs it: the handler of the row's event whose
matcher takes the row's tool, exec form as its program and ``args`` (no shell), shell form
through ``/bin/sh -c``; a row whose event or tool is not registered starts no process.
``plugin`` is the command of the plugin's ``hooks/hooks.json`` through ``/bin/sh -c``, with a
plugin data folder whose environment stamp names the same interpreter and its Orchestra
folder (the launcher's fast path). More with ``--command NAME=COMMAND`` (every row).
``--before REV`` adds ``before``: git revision ``REV`` of this checkout installed the same
way in a venv and state root of its own, run through what *its* installer registers, so
that a change is measured against what it changes in one interleaved run; a last table
gives each row's ratio to it. Stop and SubagentStop find a new assistant turn in their
transcripts each time, as in a real session. Usage::

    python bench/dispatch.py [--runs 30] [--peer-venv /tmp/cchooks-venv]
    python bench/dispatch.py --events PreToolUse,Stop --runs 60
    python bench/dispatch.py --command "plugin=bin/orchestra hook"
    python bench/dispatch.py --before main --runs 40
    python bench/dispatch.py --importtime [--event Stop]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _timing import (  # bench/ is on sys.path when run as a script
    PAYLOADS,
    REPO,
    child_env,
    ms,
    non_editable_python,
    p90,
    payload,
    python_line,
    time_run,
)

SESSION = "bench-dispatch-session"
BARE = "bare"
NOSITE = "nosite"
FLOOR = "floor"
PEER = "cchooks"
PEER_SCRIPT = ("from cchooks import create_context\n"  # exit_success where the event has it
               "getattr(create_context().output, 'exit_success', lambda: None)()")
#: Event names cchooks 0.1 knows; other rows have no peer column.
PEER_EVENTS = frozenset({"PreToolUse", "PostToolUse", "Notification", "UserPromptSubmit",
                         "Stop", "SubagentStop", "PreCompact", "SessionStart", "SessionEnd"})
#: Issue 27, target 1: the hot events of an ordinary Bash, Read, Edit or Write call.
HOT = ("PreToolUse Bash", "PostToolUse Bash", "PostToolUse Bash 3 KB", "UserPromptSubmit",
       "PreToolUse Read", "PostToolUse Read", "PreToolUse Edit", "PostToolUse Edit",
       "PreToolUse Write", "PostToolUse Write")
HOT_LIMIT = 1.5  # x bare, at the median
EVENT_LIMIT = 2.0  # every other row
#: Rows no target applies to: target 1 leaves out a risky git command (issue 22 lets the
#: guard start git, two processes of its own), and it is no "other event" of target 2.
UNTARGETED = {"PreToolUse Bash git stash": "starts git"}
PLUGIN_MARGIN = 0.2  # the plugin's ratio to bare may exceed settings mode's by this much,
                     # and its rows may be this far above the targets
#: The session whose uncommitted change the git guard protects in the git row.
OTHER = "bench-dispatch-other"
#: The other agents' hot events (tests/data/agent-payloads), through ``--agent`` (settings
#: command only: their install is settings mode).
AGENT_FILE = "agent:"
AGENT_ROWS = {"codex": {"UserPromptSubmit": "UserPromptSubmit", "PreToolUse Bash": "PreToolUse",
                        "PostToolUse Bash": "PostToolUse", "PreToolUse patch": "PreToolUse.2"},
              "gemini": {"BeforeAgent": "BeforeAgent", "BeforeTool shell": "BeforeTool",
                         "AfterTool shell": "AfterTool", "BeforeTool write": "BeforeTool.2"}}
#: The command under test that --before adds, and how much slower than it a row may be.
BEFORE = "before"
BEFORE_LIMIT = 1.05


#: A command under test: for (event, tool) the argv to run, or None (not registered).
Resolve = Callable[[str, "str | None"], "list[str] | None"]
Command = tuple[Resolve, dict[str, str], str]  # (resolver, extra environment, description)


def commands_under_test(python: str, tmp: Path, home: Path) -> dict[str, Command]:
    """The commands under test, by name (see the module docstring)."""
    commands: dict[str, Command] = {"settings": registered(python, tmp / "install", home)}
    launcher = REPO / "bin" / "orchestra"
    plugin_hooks = json.loads((REPO / "hooks" / "hooks.json").read_text(encoding="utf-8"))
    if launcher.exists() and os.name != "nt":
        data = tmp / "plugin-data"
        (data / "venv").mkdir(parents=True, exist_ok=True)
        version = re.search(r"^ORCHESTRA_VERSION=(\S+)$", launcher.read_text(), re.MULTILINE)
        stamp = (f"{version[1] if version else '?'}\n{python}\n{REPO}\n"
                 f"{orchestra_folder(python)}\n")
        (data / "venv" / "orchestra-ready").write_text(stamp, encoding="utf-8")
        commands["plugin"] = (_from_settings(plugin_hooks),
                              {"CLAUDE_PLUGIN_ROOT": str(REPO), "CLAUDE_PLUGIN_DATA": str(data)},
                              "hooks/hooks.json through /bin/sh -c")
    return commands


def orchestra_folder(python: str) -> str:
    """The folder ``python`` imports Orchestra from."""
    return subprocess.run(
        [python, "-P", "-c", "import os, hooks; "
         "print(os.path.dirname(os.path.dirname(os.path.abspath(hooks.__file__))))"],
        capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    ).stdout.strip().splitlines()[-1]


def registered(python: str, folder: Path, home: Path) -> Command:
    """What ``python -m hooks install --scope project`` registers, for the state root
    ``home`` (whose config says which handlers are enabled)."""
    project = folder / "project"
    project.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "PYTHON", "CLAUDE_"))}
    env.update(HOME=str(folder / "home"), ORCHESTRA_HOME=str(home))
    done = subprocess.run([python, "-m", "hooks", "install", "--scope", "project",
                           "--project-dir", str(project)], env=env, cwd=folder,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"install failed: {done.stdout}{done.stderr}")
    settings = json.loads((project / ".claude" / "settings.json").read_text(encoding="utf-8"))
    return (_from_settings(settings), {}, "registered by python -m hooks install: "
            + done.stdout.strip().splitlines()[0].split(": installed; ", 1)[-1])


def _from_settings(settings: dict[str, Any]) -> Resolve:
    """The resolver of a settings document's Orchestra handlers (statusMessage Orchestra)."""
    def resolve(event: str, tool: str | None) -> list[str] | None:
        for group in settings.get("hooks", {}).get(event, []):
            if not _matches(group.get("matcher"), tool):
                continue
            for handler in group.get("hooks", []):
                if str(handler.get("statusMessage", "")).startswith("Orchestra"):
                    if isinstance(handler.get("args"), list):
                        return [handler["command"], *handler["args"]]
                    return ["/bin/sh", "-c", handler["command"]]
        return None

    return resolve


def _matches(matcher: str | None, tool: str | None) -> bool:
    """Claude Code's matcher rule: empty or ``*`` is every tool; letters, digits, ``_``,
    ``-``, spaces, ``,`` and ``|`` name tools; anything else is a regular expression."""
    if not matcher or matcher.strip() in ("", "*") or tool is None:
        return True
    if re.fullmatch(r"[A-Za-z0-9_\- |,]+", matcher):
        return tool in {t.strip() for t in re.split(r"[|,]", matcher)}
    return re.search(matcher, tool) is not None


def _every_row(argv: list[str]) -> Resolve:
    return lambda event, tool: argv


def _tool(name: str, tool: str, tool_input: dict[str, object],
          tool_response: object = None) -> tuple[str, dict[str, object]]:
    changes: dict[str, object] = {"tool_name": tool, "tool_input": tool_input,
                                  "tool_use_id": f"toolu_bench_{tool}"}
    if tool_response is not None:
        changes["tool_response"] = tool_response
    return name, changes


def events(project: Path) -> dict[str, tuple[str, dict[str, object]]]:
    """Row name -> (payload file, changes): every event kind, then the tool calls."""
    rows: dict[str, tuple[str, dict[str, object]]] = {
        "SessionStart": ("SessionStart.startup", {}),
        "UserPromptSubmit": ("UserPromptSubmit", {}),
        "PreToolUse Bash": ("PreToolUse.Bash", {}),
        "PreToolUse Bash git stash": (  # the git guard: rev-parse, worktree list, status
            "PreToolUse.Bash", {"tool_input": {"command": "git stash",
                                               "description": "Stash the changes"}}),
        "PostToolUse Bash": ("PostToolUse.Bash", {}),
        "PostToolUse Bash 3 KB": _tool(  # what a test run prints: cut, hashed, redacted
            "PostToolUse.Bash", "Bash",
            {"command": "pytest -q tests/api", "description": "Run the API tests"},
            {"stdout": "tests/api/test_auth.py::test_login_with_token PASSED\n" * 60,
             "stderr": "", "interrupted": False, "isImage": False}),
        "PreToolUse Read": _tool("PreToolUse.Bash", "Read",
                                 {"file_path": str(project / "src" / "other.py")}),
        "PostToolUse Read": _tool("PostToolUse.Bash", "Read",
                                  {"file_path": str(project / "src" / "other.py")},
                                  {"type": "text", "file": {
                                      "filePath": str(project / "src" / "other.py"),
                                      "content": "other = 1\n", "numLines": 1,
                                      "startLine": 1, "totalLines": 1}}),
        "PreToolUse Edit": _tool("PreToolUse.Bash", "Edit",
                                 {"file_path": str(project / "src" / "app.py"),
                                  "old_string": "hello", "new_string": "world"}),
        "PostToolUse Edit": _tool("PostToolUse.Bash", "Edit",
                                  {"file_path": str(project / "src" / "app.py"),
                                   "old_string": "hello", "new_string": "world"},
                                  {"filePath": str(project / "src" / "app.py"),
                                   "oldString": "hello", "newString": "world"}),
        "PreToolUse Write": ("PreToolUse.Write",  # the id the PostToolUse row confirms
                             {"tool_input": {"file_path": str(project / "src" / "app.py"),
                                             "content": "print('hello')\n"},
                              "tool_use_id": "toolu_bench_Write"}),
        "PostToolUse Write": _tool("PostToolUse.Bash", "Write",
                                   {"file_path": str(project / "src" / "app.py"),
                                    "content": "print('hello')\n"}, {"type": "update"}),
        "PreToolUse Agent": _tool("PreToolUse.Bash", "Agent",
                                  {"description": "Say ok", "prompt": "Say ok",
                                   "subagent_type": "general-purpose"}),
        "PostToolUse Agent": _tool("PostToolUse.Bash", "Agent",
                                   {"description": "Say ok", "subagent_type": "general-purpose"},
                                   {"status": "completed",
                                    "content": [{"type": "text", "text": "ok"}]}),
        "PostToolUse TaskCreate": ("PostToolUse.TaskCreate", {}),
        "PostToolUse TaskUpdate": _tool("PostToolUse.TaskCreate", "TaskUpdate",
                                        {"taskId": "1", "status": "in_progress"},
                                        {"success": True}),
        "PostToolUse TodoWrite": _tool(
            "PostToolUse.TaskCreate", "TodoWrite",
            {"todos": [{"content": f"step {i}", "status": "pending" if i else "in_progress",
                        "activeForm": f"doing step {i}"} for i in range(5)]},
            {"oldTodos": [], "newTodos": []}),
    }
    taken = {file for file, _ in rows.values()}
    for path in sorted(PAYLOADS.glob("*.json")):
        if path.stem not in taken and path.stem != "SessionEnd.other":
            rows.setdefault(path.stem.removeprefix("docs.").split(".")[0], (path.stem, {}))
    for agent, names in AGENT_ROWS.items():  # issue 26: the other agents' hot events
        for row, name in names.items():
            rows[f"{agent} {row}"] = (f"{AGENT_FILE}{agent}.{name}", {})
    rows["SessionEnd"] = ("SessionEnd.other", {})  # last: the next round starts a new one
    return rows


def _usage_line(turn: int) -> bytes:
    return (json.dumps({"type": "assistant", "uuid": f"bench-{turn}", "message": {
        "id": f"msg_bench_{turn}", "model": "claude-bench", "role": "assistant",
        "content": [{"type": "text", "text": "Done. " * 40}],
        "usage": {"input_tokens": 1200 + turn, "output_tokens": 300,
                  "cache_read_input_tokens": 9000}}}) + "\n").encode()


class Session:
    """One temporary session the events belong to, with growing transcripts; its project
    is a git repository (when git is there) for the git guard's row."""

    def __init__(self, tmp: Path) -> None:
        self.project = tmp / "project"
        (self.project / "src").mkdir(parents=True)
        (self.project / "src" / "other.py").write_text("other = 1\n", encoding="utf-8")
        self.git = _git_repo(self.project)
        self.transcript = tmp / "transcript.jsonl"
        self.agent_transcript = tmp / "agent-transcript.jsonl"
        self.turn = 0
        for _ in range(20):
            self.new_turn()

    def new_turn(self) -> None:
        """What happens between two Stops: Claude wrote another assistant message."""
        self.turn += 1
        for path in (self.transcript, self.agent_transcript):
            with open(path, "ab") as fh:
                fh.write(_usage_line(self.turn))

    def start_other(self, dispatch: Resolve, env: dict[str, str], tmp: Path) -> None:
        """Another live session of the project, with an uncommitted change of src/other.py
        (what the git row's ``git stash`` would take)."""
        path = str(self.project / "src" / "other.py")
        write = {"file_path": path, "content": "other = 2\n"}
        for name, changes in (
                ("SessionStart.startup", {}),
                ("PreToolUse.Write", {"tool_input": write, "tool_use_id": "toolu_other"}),
                ("PostToolUse.Bash", {"tool_name": "Write", "tool_input": write,
                                      "tool_use_id": "toolu_other",
                                      "tool_response": {"type": "update"}})):
            stdin = payload(name, session_id=OTHER, cwd=str(self.project), **changes)
            argv = dispatch(*_event_and_tool(stdin))
            if argv is not None:
                time_run(argv, env, stdin, tmp)
        (self.project / "src" / "other.py").write_text("other = 2\n", encoding="utf-8")

    def stdin(self, file: str, changes: dict[str, object]) -> bytes:
        if file.startswith(AGENT_FILE):
            name = file[len(AGENT_FILE):]
            data = json.loads((REPO / "tests" / "data" / "agent-payloads" / f"{name}.json")
                              .read_text(encoding="utf-8"))
            data.update(session_id=f"{SESSION}-{name.split('.')[0]}", cwd=str(self.project),
                        transcript_path=str(self.transcript))
            return (json.dumps(data) + "\n").encode("utf-8")
        return payload(file, session_id=SESSION, cwd=str(self.project),
                       transcript_path=str(self.transcript),
                       **({"agent_transcript_path": str(self.agent_transcript)}
                          if file.startswith("SubagentStop") else {}), **changes)


def _event_and_tool(stdin: bytes) -> tuple[str, str | None]:
    data = json.loads(stdin)
    tool = data.get("tool_name")
    return str(data["hook_event_name"]), tool if isinstance(tool, str) else None


def per_event(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp_name:
        tmp = Path(tmp_name)
        python = args.python or non_editable_python(tmp / "venv")
        home = tmp / "home"
        home.mkdir()
        env = child_env(home, tmp / "pycache")
        commands = commands_under_test(python, tmp, home)
        commands.update({name: (_every_row(cmd), {}, " ".join(cmd))
                         for name, cmd in args.command.items()})
        if args.before:
            commands[BEFORE] = _before(args.before, tmp)
        baselines: dict[str, Command] = {
            BARE: (_every_row([python, "-c", "pass"]), {}, "python -c pass"),
            NOSITE: (_every_row([python, "-S", "-c", "pass"]), {}, "python -S -c pass"),
            FLOOR: (_every_row([python, "-c", "import json, pluggy"]), {}, "")}
        peer = _peer_python(args, tmp)
        if peer:
            baselines[PEER] = (_every_row([peer, "-c", PEER_SCRIPT]), {}, "cchooks")
        session = Session(tmp)
        rows = events(session.project)
        if args.events:
            wanted = [w.strip() for w in args.events.split(",") if w.strip()]
            rows = {k: v for k, v in rows.items() if any(k.startswith(w) for w in wanted)}
        if not session.git:
            rows.pop("PreToolUse Bash git stash", None)
        elif "PreToolUse Bash git stash" in rows:
            session.start_other(commands["settings"][0], env, tmp)
            if BEFORE in commands:  # the same other session in the state root of REV
                resolve, extra, _ = commands[BEFORE]
                session.start_other(resolve, {**env, **extra}, tmp)
        stdins = {row: session.stdin(file, changes) for row, (file, changes) in rows.items()}
        before: dict[str, Callable[[], None]] = {
            row: session.new_turn for row in rows if row.startswith(("Stop", "SubagentStop"))}
        unregistered: dict[str, set[str]] = {}

        def cmds(row: str) -> dict[str, tuple[list[str], dict[str, str]]]:
            event, tool = _event_and_tool(stdins[row])
            agent = row.split(" ", 1)[0]
            chosen = dict(baselines)
            if agent in AGENT_ROWS:  # settings mode, with the agent named; cchooks has no row
                chosen.pop(PEER, None)
                for name in ("settings", BEFORE):
                    if name in commands:
                        resolve, extra, text = commands[name]
                        argv = resolve("PreToolUse", None)
                        if argv is not None and argv[0] == "/bin/sh":  # a shell command
                            argv = [*argv[:2], f"{argv[2]} --agent {agent}"]
                        elif argv is not None:
                            argv = [*argv, "--agent", agent]
                        if argv is not None:
                            chosen[name] = (_every_row(argv), extra, text)
            else:
                if event not in PEER_EVENTS:
                    chosen.pop(PEER, None)
                chosen.update(commands)
            out = {}
            for name, (resolve, extra, _) in chosen.items():
                argv = resolve(event, tool)
                if argv is None:
                    unregistered.setdefault(name, set()).add(row)
                else:
                    out[name] = (argv, {**env, **extra})
            return out

        for _ in range(2):  # warm .pyc files, the page cache and the dispatch-table cache
            for row, stdin in stdins.items():
                for cmd, cmd_env in cmds(row).values():
                    time_run(cmd, cmd_env, stdin, tmp)
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):  # interleaved, so drift hits every command alike
            for row, stdin in stdins.items():
                for name, (cmd, cmd_env) in cmds(row).items():
                    if name in commands and row in before:
                        before[row]()
                    times.setdefault((row, name), []).append(time_run(cmd, cmd_env, stdin, tmp))

    print(python_line(python))
    print(f"{args.runs} runs of each command per event, interleaved; ms as median / p90; "
          "ratios of medians to bare (python -c pass) in the same row")
    print(_baseline_rows(times))
    code = 0
    for name, (_, extra, text) in commands.items():
        settings = " ".join(f"{k}={v}" for k, v in extra.items() if k.startswith("CLAUDE_"))
        print(f"\ncommand under test '{name}': {text}" + (f"  ({settings})" * bool(settings)))
        if unregistered.get(name):
            print(f"not registered (no process starts): {', '.join(sorted(unregistered[name]))}")
        code |= _table(rows, name, times, peer is not None,
                       "settings" if name == "plugin" else None)
    if BEFORE in commands:
        code |= _against_before(rows, times, args.before)
    return code


def _baseline_rows(times: dict[tuple[str, str], list[float]]) -> str:
    """The baselines over every row of the run (their samples pooled)."""
    lines = []
    pooled = {name: [t for (_, n), ts in times.items() if n == name for t in ts]
              for name in (BARE, NOSITE, FLOOR)}
    bare = statistics.median(pooled[BARE])
    for name, label in ((BARE, "bare: python -c pass"), (NOSITE, "python -S -c pass"),
                        (FLOOR, "python -c 'import json, pluggy'")):
        lines.append(f"{label:<34}{ms(pooled[name]):>15}"
                     f"{statistics.median(pooled[name]) / bare:>8.2f}x bare")
    return "\n".join(lines)


def _limit(row: str, name: str) -> float | None:
    """The row's target for command ``name`` (x bare), or None."""
    if row in UNTARGETED:
        return None
    return (HOT_LIMIT if row in HOT else EVENT_LIMIT) + (PLUGIN_MARGIN if name == "plugin" else 0)


def _before(rev: str, tmp: Path) -> Command:
    """Revision ``rev`` (its files from ``git archive``) installed like this checkout, run
    through what its own installer registers, with a state root and bytecode cache of its
    own."""
    import io
    import tarfile

    tree = tmp / "before-src"
    data = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True,
                          check=True).stdout
    tree.mkdir()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tree, filter="data")
    python = non_editable_python(tmp / "venv-before", repo=tree)
    home = tmp / "home-before"
    home.mkdir()
    resolve, _, text = registered(python, tmp / "install-before", home)
    return (resolve, {"ORCHESTRA_HOME": str(home),
                      "PYTHONPYCACHEPREFIX": str(tmp / "pycache-before")}, text)


def _against_before(rows: dict[str, object], times: dict[tuple[str, str], list[float]],
                    rev: str) -> int:
    """Each row's settings dispatch against ``rev``'s, as ratios of the medians and p90s;
    1 if a row's median is more than BEFORE_LIMIT times ``rev``'s."""
    print(f"\nagainst {rev} ('{BEFORE}'), same run: settings/{BEFORE}, medians (p90s)")
    slower = []
    ratios = []
    for row in rows:
        if (row, BEFORE) not in times:
            continue
        now, then = times[row, "settings"], times[row, BEFORE]
        ratio = statistics.median(now) / statistics.median(then)
        ratios.append(ratio)
        flag = f"  > {BEFORE_LIMIT}" if ratio > BEFORE_LIMIT else ""
        print(f"{row:<28}{ms(now):>15}{ms(then):>15}{ratio:>8.3f}"
              f"{p90(now) / p90(then):>8.3f}{flag}")
        if flag:
            slower.append(row)
    print(f"median of the rows' ratios {statistics.median(ratios):.3f}; rows over "
          f"{BEFORE_LIMIT}: {', '.join(slower) or 'none'}")
    return 1 if slower else 0


def _table(rows: dict[str, object], name: str, times: dict[tuple[str, str], list[float]],
           with_peer: bool, against: str | None) -> int:
    """One command's rows; 1 if a row misses its target (issue 27)."""
    head = (f"{'event':<28}{'dispatch':>15}{'bare':>15}{'nosite':>15}"
            + (f"{'cchooks':>15}" if with_peer else "")
            + f"{'disp/bare':>11}{'target':>8}{'disp/floor':>12}"
            + (f"{'-' + against:>11}" if against else "") + "  ")
    print(head)
    missed = []
    worst_hot = worst_other = 0.0
    for row in rows:
        if (row, name) not in times:
            continue  # not registered, or the other agents' rows: settings mode only
        disp, bare, nosite = times[row, name], times[row, BARE], times[row, NOSITE]
        ratio = statistics.median(disp) / statistics.median(bare)
        floor = statistics.median(disp) / statistics.median(times[row, FLOOR])
        limit = _limit(row, name)
        if row in HOT:
            worst_hot = max(worst_hot, ratio)
        elif limit is not None:
            worst_other = max(worst_other, ratio)
        line = f"{row:<28}{ms(disp):>15}{ms(bare):>15}{ms(nosite):>15}"
        peer = times.get((row, PEER))
        if with_peer:
            line += f"{ms(peer) if peer else '-':>15}"
        line += f"{ratio:>11.2f}" + (f"{limit:>8.1f}" if limit else f"{'-':>8}")
        line += f"{floor:>12.2f}"
        flags = []
        if limit is not None and ratio > limit:
            flags.append(f"> {limit:.1f}x bare")
        if against and (row, against) in times:
            base = statistics.median(times[row, against]) / statistics.median(bare)
            line += f"{ratio - base:>+11.2f}"
            if ratio - base > PLUGIN_MARGIN:
                flags.append(f"> {against} + {PLUGIN_MARGIN}x bare")
        if flags:
            missed.append(row)
        print(line + ("  " + "; ".join(flags) if flags else ""))
    margin = PLUGIN_MARGIN if name == "plugin" else 0
    untargeted = "; ".join(f"{row}: no target ({why})" for row, why in UNTARGETED.items()
                           if (row, name) in times)
    print(f"worst disp/bare: hot rows {worst_hot:.2f} (target {HOT_LIMIT + margin:.1f}), "
          f"other rows {worst_other:.2f} (target {EVENT_LIMIT + margin:.1f}); rows off target: "
          f"{', '.join(missed) or 'none'}" + (f"\n{untargeted}" if untargeted else ""))
    return 1 if missed and name in ("settings", "plugin") else 0


def _peer_python(args: argparse.Namespace, tmp: Path) -> str | None:
    """The interpreter with cchooks: --peer-python, or --peer-venv (created on first use)."""
    python = args.peer_python
    if args.peer_venv:
        folder = Path(args.peer_venv)
        python = str(folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
        if not Path(python).exists():
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
            subprocess.run([python, "-m", "pip", "install", "-q", "cchooks"], check=True)
    if python is None:
        return None
    check = subprocess.run([python, "-c", "import cchooks"], capture_output=True, check=False)
    if check.returncode != 0:
        raise SystemExit(f"cchooks is not installed for {python}: run "
                         f"{python} -m pip install cchooks, or use --peer-venv DIR")
    return str(python)


def importtime(args: argparse.Namespace, top: int = 25) -> int:
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp_name:
        tmp = Path(tmp_name)
        python = args.python or non_editable_python(tmp / "venv")
        home = tmp / "home"
        home.mkdir()
        env = child_env(home, tmp / "pycache")
        resolve = commands_under_test(python, tmp, home)["settings"][0]
        session = Session(tmp)
        rows = events(session.project)
        file, changes = rows[args.event]
        if args.event == "PreToolUse Bash git stash" and session.git:
            session.start_other(resolve, env, tmp)
        stdin = session.stdin(file, changes)
        dispatch = resolve(*_event_and_tool(stdin))
        if dispatch is None:
            raise SystemExit(f"{args.event}: not registered (no process starts)")
        if dispatch[0] == "/bin/sh":  # an earlier install's shell command
            dispatch = shlex.split(dispatch[2])
        for _ in range(2):
            time_run(dispatch, env, stdin, tmp)
        done = subprocess.run([dispatch[0], "-X", "importtime", *dispatch[1:]], input=stdin,
                              env=env, cwd=tmp, capture_output=True, check=True)
    rows_ = []
    for line in done.stderr.decode().splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows_.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4]))
    total = sum(r[0] for r in rows_)
    print(f"warm {args.event} dispatch: {len(rows_)} modules imported, {total / 1000:.1f} ms "
          "of import time in all (self times added up; -X importtime inflates them)")
    print(f"{'self ms':>8}{'cumul ms':>10}  module (top {top} by self time)")
    for self_us, cumulative, _, name in sorted(rows_, reverse=True)[:top]:
        print(f"{self_us / 1000:>8.2f}{cumulative / 1000:>10.2f}  {name}")
    print(f"\n{'cumul ms':>8}  top-level imports (depth 0) by cumulative time")
    for _, cumulative, depth, name in sorted(rows_, key=lambda r: -r[1]):
        if depth == 0 and cumulative >= 300:
            print(f"{cumulative / 1000:>8.2f}  {name}")
    return 0


def _git_repo(folder: Path) -> bool:
    """Make ``folder`` a git repository with one commit; False where git is missing."""
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
                "-c", "commit.gpgsign=false"]
    try:
        for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "bench"]):
            subprocess.run(["git", *identity, *args], cwd=folder, check=True,
                           capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def _command(text: str) -> tuple[str, list[str]]:
    name, sep, command = text.partition("=")
    if not sep or not name.strip() or not command.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=COMMAND, got {text!r}")
    return name.strip(), shlex.split(command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (default 30)")
    parser.add_argument("--events", metavar="A,B",
                        help="only the rows whose name starts with one of these")
    parser.add_argument("--python", metavar="PYTHON",
                        help="an interpreter Orchestra is installed in, used as it is "
                             "(default: a venv with this checkout installed by pip)")
    parser.add_argument("--command", metavar="NAME=COMMAND", type=_command, action="append",
                        default=[], help="another command under test (repeatable), e.g. "
                                         "'plugin=bin/orchestra hook'")
    parser.add_argument("--peer-python", metavar="PYTHON",
                        help="time cchooks too, installed for PYTHON")
    parser.add_argument("--peer-venv", metavar="DIR",
                        help="like --peer-python, with a venv in DIR (made, with cchooks "
                             "installed by pip, if it does not exist)")
    parser.add_argument("--before", metavar="REV",
                        help="time the settings command of git revision REV too, in the "
                             "same interleaved run (e.g. main); exit 1 if a row is more "
                             f"than {BEFORE_LIMIT}x slower than it")
    parser.add_argument("--importtime", action="store_true",
                        help="show where one warm dispatch spends its import time")
    parser.add_argument("--event", default="PreToolUse Bash",
                        help="the row --importtime looks at (default 'PreToolUse Bash')")
    args = parser.parse_args(argv)
    args.command = dict(args.command)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.importtime:
        return importtime(args)
    return per_event(args)


if __name__ == "__main__":
    raise SystemExit(main())
