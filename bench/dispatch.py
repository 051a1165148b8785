"""Benchmark: one dispatch per event kind, through the command Orchestra registers.

Stdlib only. Every event kind (one row each: the payloads of ``tests/payloads``
plus the tool calls that reach a handler — Write, Agent, TaskCreate, TaskUpdate,
TodoWrite — and a risky git command, ``git stash``, the only kind of Bash line that starts
git: the project is a git repository in which another live session has an uncommitted
change, so the guard asks git everything it may ask and stops the command for a person),
all for one session in a temporary ``ORCHESTRA_HOME``, is timed
through each *command under test*, interleaved round by round with:

* ``python -c pass`` — interpreter start-up (``bare``);
* ``python -c "import json, pluggy"`` — the floor Orchestra is held to (issue 13:
  every event at most 1.5x, at the median and at p90);
* with ``--peer-python``/``--peer-venv``: cchooks parsing the same payload and
  replying success, no state, no plugins — the peer the hot events
  (PreToolUse, PostToolUse, UserPromptSubmit) must not be slower than.

Commands under test (:func:`commands_under_test`): ``settings`` is what ``orchestra install``
writes into settings.json, ``"<python>" -P -m hooks.dispatch``; ``plugin`` is what the
plugin's ``hooks/hooks.json`` runs, ``"${CLAUDE_PLUGIN_ROOT}/bin/orchestra" dispatch``, with a
plugin data folder whose environment stamp names the same interpreter (the launcher's fast
path: ``/bin/sh`` reads the stamp, then execs Python). More with ``--command NAME=COMMAND``.
``--before REV`` adds ``before``: the settings command of git revision ``REV`` of this
checkout (its files, its own venv and state root), so that a change is measured against
what it changes in one interleaved run; a last table gives each row's ratio to it.
The interpreter is a venv that sees Orchestra like a regular install (see
``_timing.installed_python``), unless ``--python`` names one to use as it is.
Stop and SubagentStop find a new assistant turn in their transcripts each time,
as in a real session. Usage::

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

from _timing import (  # bench/ is on sys.path when run as a script
    PAYLOADS,
    REPO,
    child_env,
    installed_python,
    ms,
    p90,
    payload,
    python_line,
    time_run,
)

SESSION = "bench-dispatch-session"
BARE = "bare"
FLOOR = "floor"
PEER = "cchooks"
PEER_SCRIPT = ("from cchooks import create_context\n"  # exit_success where the event has it
               "getattr(create_context().output, 'exit_success', lambda: None)()")
#: Event names cchooks 0.1 knows; other rows have no peer column.
PEER_EVENTS = frozenset({"PreToolUse", "PostToolUse", "Notification", "UserPromptSubmit",
                         "Stop", "SubagentStop", "PreCompact", "SessionStart", "SessionEnd"})
HOT = ("PreToolUse Bash", "PostToolUse Bash", "PostToolUse Bash 3 KB", "UserPromptSubmit")
#: The session whose uncommitted change the git guard protects in the git row.
OTHER = "bench-dispatch-other"
#: The other agents' hot events (tests/data/agent-payloads), through ``--agent`` (settings
#: command only: their install is settings mode).
AGENT_FILE = "agent:"
AGENT_ROWS = {"codex": {"UserPromptSubmit": "UserPromptSubmit", "PreToolUse Bash": "PreToolUse",
                        "PostToolUse Bash": "PostToolUse", "PreToolUse patch": "PreToolUse.2"},
              "gemini": {"BeforeAgent": "BeforeAgent", "BeforeTool shell": "BeforeTool",
                         "AfterTool shell": "AfterTool", "BeforeTool write": "BeforeTool.2"}}
FLOOR_LIMIT = 1.5
#: The command under test that --before adds, and how much slower than it a row may be.
BEFORE = "before"
BEFORE_LIMIT = 1.05


def commands_under_test(python: str, tmp: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The commands under test, by name: (argv, extra environment)."""
    commands = {"settings": ([python, "-P", "-m", "hooks.dispatch"], {})}
    launcher = REPO / "bin" / "orchestra"
    if launcher.exists() and os.name != "nt":
        data = tmp / "plugin-data"
        (data / "venv").mkdir(parents=True, exist_ok=True)
        version = re.search(r"^ORCHESTRA_VERSION=(\S+)$", launcher.read_text(), re.MULTILINE)
        stamp = f"{version[1] if version else '?'}\n{python}\n{REPO}\n"
        (data / "venv" / "orchestra-ready").write_text(stamp, encoding="utf-8")
        commands["plugin"] = ([str(launcher), "dispatch"],
                              {"CLAUDE_PLUGIN_ROOT": str(REPO), "CLAUDE_PLUGIN_DATA": str(data)})
    return commands


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
        "PreToolUse Write": ("PreToolUse.Write",
                             {"tool_input": {"file_path": str(project / "src" / "app.py"),
                                             "content": "print('hello')\n"}}),
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

    def start_other(self, dispatch: list[str], env: dict[str, str], tmp: Path) -> None:
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
            time_run(dispatch, env, payload(name, session_id=OTHER, cwd=str(self.project),
                                            **changes), tmp)
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


def per_event(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp_name:
        tmp = Path(tmp_name)
        python = args.python or installed_python(tmp / "venv")
        commands = commands_under_test(python, tmp)
        commands.update({name: (cmd, {}) for name, cmd in args.command.items()})
        if args.before:
            commands[BEFORE] = _before(args.before, tmp)
        baselines: dict[str, tuple[list[str], dict[str, str]]] = {
            BARE: ([python, "-c", "pass"], {}), FLOOR: ([python, "-c", "import json, pluggy"], {})}
        peer = _peer_python(args, tmp)
        if peer:
            baselines[PEER] = ([peer, "-c", PEER_SCRIPT], {})
        home = tmp / "home"
        home.mkdir()
        env = child_env(home, tmp / "pycache")
        session = Session(tmp)
        rows = events(session.project)
        if args.events:
            wanted = [w.strip() for w in args.events.split(",") if w.strip()]
            rows = {k: v for k, v in rows.items() if any(k.startswith(w) for w in wanted)}
        if not session.git:
            rows.pop("PreToolUse Bash git stash", None)
        elif "PreToolUse Bash git stash" in rows:
            session.start_other(commands_under_test(python, tmp)["settings"][0], env, tmp)
            if BEFORE in commands:  # the same other session in the state root of REV
                cmd, extra = commands[BEFORE]
                session.start_other(cmd, {**env, **extra}, tmp)
        stdins = {row: session.stdin(file, changes) for row, (file, changes) in rows.items()}
        before: dict[str, Callable[[], None]] = {
            row: session.new_turn for row in rows if row.startswith(("Stop", "SubagentStop"))}

        def cmds(row: str) -> dict[str, tuple[list[str], dict[str, str]]]:
            event = json.loads(stdins[row])["hook_event_name"]
            agent = row.split(" ", 1)[0]
            if agent in AGENT_ROWS:  # settings mode, with the agent named; cchooks has no row
                tested = {name: (commands[name][0] + ["--agent", agent], commands[name][1])
                          for name in ("settings", BEFORE) if name in commands}
                return {name: (cmd, {**env, **extra})
                        for name, (cmd, extra) in {**baselines, **tested}.items()
                        if name != PEER}
            return {name: (cmd, {**env, **extra})
                    for name, (cmd, extra) in {**baselines, **commands}.items()
                    if name != PEER or event in PEER_EVENTS}

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
          f"ratios of medians (and of p90s)")
    for name, (cmd, extra) in commands.items():
        settings = " ".join(f"{k}={v}" for k, v in extra.items())
        print(f"\ncommand under test '{name}': {' '.join(cmd)}" + (f"  ({settings})" * bool(extra)))
        _table(rows, name, times, peer is not None)
    if BEFORE in commands:
        return _against_before(rows, times, args.before)
    return 0


def _before(rev: str, tmp: Path) -> tuple[list[str], dict[str, str]]:
    """The settings command of revision ``rev`` (its files from ``git archive``, in a venv
    made like this checkout's), with a state root and bytecode cache of its own."""
    import io
    import tarfile

    tree = tmp / "before-src"
    data = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True,
                          check=True).stdout
    tree.mkdir()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tree, filter="data")
    python = installed_python(tmp / "venv-before", repo=tree)
    (tmp / "home-before").mkdir()
    return ([python, "-P", "-m", "hooks.dispatch"],
            {"ORCHESTRA_HOME": str(tmp / "home-before"),
             "PYTHONPYCACHEPREFIX": str(tmp / "pycache-before")})


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
           with_peer: bool) -> None:
    head = (f"{'event':<24}{'dispatch':>15}{'floor':>15}{'bare':>15}"
            + (f"{'cchooks':>15}" if with_peer else "")
            + f"{'disp/floor':>13}{'(p90)':>7}" + (f"{'disp/cchooks':>14}" if with_peer else "")
            + "  ")
    print(head)
    worst = 0.0
    for row in rows:
        if (row, name) not in times:
            continue  # the other agents' rows: settings mode only
        disp, floor, bare = times[row, name], times[row, FLOOR], times[row, BARE]
        ratio = statistics.median(disp) / statistics.median(floor)
        ratio90 = p90(disp) / p90(floor)
        worst = max(worst, ratio, ratio90)
        line = f"{row:<24}{ms(disp):>15}{ms(floor):>15}{ms(bare):>15}"
        peer = times.get((row, PEER))
        if with_peer:
            line += f"{ms(peer) if peer else '-':>15}"
        line += f"{ratio:>13.2f}{ratio90:>7.2f}"
        flags = []
        if ratio > FLOOR_LIMIT or ratio90 > FLOOR_LIMIT:
            flags.append(f"> {FLOOR_LIMIT}x floor")
        if with_peer:
            if peer:
                vs_peer = statistics.median(disp) / statistics.median(peer)
                line += f"{vs_peer:>14.2f}"
                if row in HOT and vs_peer > 1.0:
                    flags.append("slower than cchooks")
            else:
                line += f"{'-':>14}"
        print(line + ("  " + "; ".join(flags) if flags else ""))
    print(f"worst disp/floor (median or p90): {worst:.2f} (limit {FLOOR_LIMIT})")


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
        python = args.python or installed_python(tmp / "venv")
        dispatch = commands_under_test(python, tmp)["settings"][0]
        home = tmp / "home"
        home.mkdir()
        env = child_env(home, tmp / "pycache")
        session = Session(tmp)
        rows = events(session.project)
        file, changes = rows[args.event]
        if args.event == "PreToolUse Bash git stash" and session.git:
            session.start_other(dispatch, env, tmp)
        stdin = session.stdin(file, changes)
        for _ in range(2):
            time_run(dispatch, env, stdin, tmp)
        done = subprocess.run([python, "-X", "importtime", *dispatch[1:]], input=stdin,
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
                             "(default: a venv made like a regular install of this checkout)")
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
