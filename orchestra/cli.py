"""``orchestra VERB ...``: the one command for people and for the model.

Every verb fronts an Orchestra CLI that already exists (see :mod:`orchestra.verbs`), so its
options, output and exit codes are that CLI's. This module only finds the verb, prints
the grouped ``--help``, and is the last error funnel: nothing it runs can print a
traceback (``ORCHESTRA_DEBUG=1`` shows one).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO

__all__ = ["main", "run", "usage"]

PROG = "orchestra"

INTRO = """\
usage: orchestra VERB [ARGS...]        orchestra VERB --help (options and an example)

Orchestra keeps the state of your Claude Code sessions: who is working on what,
their tasks, messages between sessions, file claims, the project's plan. Its hooks
record it; this command reads and changes it, for you and for Claude.
"""

OUTRO = """\
The current session is $ORCHESTRA_SESSION_ID, else $CLAUDE_CODE_SESSION_ID (both set
inside Claude Code). State lives in $ORCHESTRA_HOME (default ~/.claude/orchestration).
exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 lock timeout, 130 interrupted
"""


def usage() -> str:
    """The text of ``orchestra --help``: every verb, in groups."""
    from orchestra.verbs import GROUPS, VERBS

    lines = [INTRO]
    for group, title in GROUPS.items():
        lines.append(f"{title}:")
        lines.extend(f"  {v.name:<11} {v.summary}" for v in VERBS.values() if v.group == group)
        lines.append("")
    lines.append(OUTRO)
    return "\n".join(lines)


def version() -> str:
    try:
        from importlib.metadata import version as dist_version

        return dist_version("orchestra")
    except Exception:  # running from a checkout that is not installed
        return "unknown"


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if not args:
        err.write(usage())
        return 2
    if args[0] in ("-h", "--help", "help"):
        if args[0] == "help" and len(args) > 1:
            return main([args[1], "--help"], stdin=stdin, stdout=stdout, stderr=stderr)
        out.write(usage())
        return 0
    if args[0] == "--version":
        out.write(f"orchestra {version()}\n")
        return 0
    from orchestra.verbs import VERBS

    verb = VERBS.get(args[0])
    if verb is None:
        err.write(f"{PROG}: unknown verb {args[0]!r}{_suggestion(args[0], list(VERBS))}; "
                  f"see {PROG} --help\n")
        return 2
    try:
        return verb.run(verb.name, args[1:], verb.example, (stdin, stdout, stderr))
    except KeyboardInterrupt:
        err.write(f"{PROG} {verb.name}: interrupted\n")
        return 130
    except BrokenPipeError:  # `orchestra events | head`: the reader left
        return 0
    except Exception as exc:
        if os.environ.get("ORCHESTRA_DEBUG"):
            raise
        from state.cli import without_secrets

        err.write(f"{PROG} {verb.name}: internal error: {type(exc).__name__}: "
                  f"{without_secrets(str(exc))}\n")
        return 1


def _suggestion(word: str, choices: list[str]) -> str:
    from difflib import get_close_matches

    close = get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


#: Verbs that keep running: they keep the cyclic garbage collector and a normal exit.
LONG_RUNNING = ("serve", "watch")


def run() -> None:
    args = sys.argv[1:]
    if (args[:1] and args[0] in LONG_RUNNING) or "--follow" in args:
        raise SystemExit(main())
    from state.process import run_process  # a one-shot command: no GC, a quick exit

    run_process(main)
