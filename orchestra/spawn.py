"""``orchestra spawn`` and ``orchestra stop``: background Claude Code workers.

The guards and the launch are :mod:`state.workers`; this is the command line.
"""

from __future__ import annotations

import argparse

from state.cli import EXIT_CODES_HELP, CliParser, Front, Output, add_common, run_main, with_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO, Any

__all__ = ["main", "stop_main"]

DESCRIPTION = """\
Start background Claude Code sessions that work on the project's tasks: each is
registered first (a session id, the role worker, the project, its task), then started
on that id as a detached `claude -p` (the default; spawn.launcher bg uses `claude
--bg`). --task T gives it task T, which reaches it in Orchestra's context; --count N
starts N workers that each take their task with `orchestra task next`. They show in
`orchestra who` (role worker); `orchestra stop SESSION` ends one cleanly.

It is powerful, so it is guarded:
  * off until a person turns it on for the project (that is the consent to start
    sessions): orchestra shared set-config projects.P.spawn.enabled true
  * at most spawn.max_workers (3) live workers per project;
  * a worker cannot spawn;
  * a worker never gets a permission mode above its parent's (the session that runs
    spawn), and is pre-approved only the tools that mode allows it unasked, plus
    `orchestra` itself (how it reports); default: spawn.permission_mode, acceptEdits;
    --claude-arg cannot lift that (--dangerously-skip-permissions, --permission-mode,
    --allowedTools, --settings... are refused);
  * --worktree runs it in its own git worktree (branch orchestra/<id>), removed when
    it ends with nothing uncommitted, kept and reported otherwise.
Claude Code runs it in a folder it has to trust (`claude --bg` refuses an untrusted
one; `claude -p` skips the dialog: only spawn in folders you trust). See
docs/workers.md."""


def build_parser(front: Front | None) -> CliParser:
    parser = CliParser(prog=front.prog if front else "orchestra spawn", description=DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("--task", metavar="TASK", help="the task it works on (T-3)")
    parser.add_argument("--count", type=int, default=1, metavar="N",
                        help="start N workers, each taking its task with `orchestra task next`")
    parser.add_argument("--worktree", action="store_true",
                        help="run each in its own git worktree")
    parser.add_argument("--project", metavar="P", help="the project (default: this session's)")
    parser.add_argument("--skills", metavar="A,B", help="tools of the registry it can act as")
    parser.add_argument("--permission-mode", metavar="MODE",
                        help="at most the parent's (plan, dontAsk, default, acceptEdits, auto, "
                        "bypassPermissions)")
    parser.add_argument("--model", metavar="MODEL", help="the worker's model")
    parser.add_argument("--launcher", choices=["print", "bg"],
                        help="detached `claude -p` (print, default) or `claude --bg`")
    parser.add_argument("--claude", metavar="PATH", help="the claude command (default: on PATH)")
    parser.add_argument("--claude-arg", action="append", default=[], metavar="ARG",
                        help="one more argument for claude (repeatable), e.g. --plugin-dir=DIR; "
                        "never one that changes its permissions, its session or its hooks "
                        "(--permission-mode, --allowedTools, --settings, --session-id, "
                        "--resume, --bare...)")
    parser.add_argument("--dry-run", action="store_true",
                        help="check the guards and print what would start; start nothing")
    add_common(parser)
    return parser


def _spawn(args: argparse.Namespace, out: Output, store: Any) -> int:
    from orchestra.task import where
    from state.errors import InvalidValueError
    from state.workers import spawn_workers

    w = where(store, args)
    if w.project is None:
        raise InvalidValueError("spawn: this session has no project; pass --project P")
    skills = [s for s in args.skills.split(",") if s] if args.skills else None
    started = spawn_workers(store, w.project, count=args.count, task_id=args.task,
                            worktree=args.worktree, permission_mode=args.permission_mode,
                            skills=skills, claude=args.claude, launcher=args.launcher,
                            model=args.model, extra_args=args.claude_arg, parent=w.session,
                            config=w.config, dry_run=args.dry_run)
    out.json(started)
    return 0


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    prog = front.prog if front else "orchestra spawn"
    return run_main(prog, build_parser(front), with_store(prog, _spawn), argv, stdout, stderr)


STOP_DESCRIPTION = """\
Stop a worker that orchestra spawn started: its process (SIGTERM to its process group,
SIGKILL after --wait seconds; `claude stop` for a --bg one), then its session is ended,
its open tasks go back to the pool (with their history), its tool instances are
released and its worktree is removed if nothing in it is uncommitted (else kept and
listed). Sessions that spawn did not start are refused: end those in their terminal."""


def _stop_parser(front: Front | None) -> CliParser:
    parser = CliParser(prog=front.prog if front else "orchestra stop",
                       description=STOP_DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("session_id", metavar="SESSION")
    parser.add_argument("--force", action="store_true", help="SIGKILL at once")
    parser.add_argument("--wait", type=float, default=10.0, metavar="S",
                        help="seconds to wait after SIGTERM (default 10)")
    add_common(parser)
    return parser


def _stop(args: argparse.Namespace, out: Output, store: Any) -> int:
    import math

    from state.errors import InvalidValueError
    from state.ids import current_session_id
    from state.workers import stop_worker

    if not (math.isfinite(args.wait) and 0 <= args.wait <= 3600):
        raise InvalidValueError("--wait must be a number of seconds from 0 to 3600")

    out.json(stop_worker(store, args.session_id, by=current_session_id(), force=args.force,
                         wait=args.wait))
    return 0


def stop_main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
              stdout: IO[str] | None = None, stderr: IO[str] | None = None,
              front: Front | None = None) -> int:
    prog = front.prog if front else "orchestra stop"
    return run_main(prog, _stop_parser(front), with_store(prog, _stop), argv, stdout, stderr)
