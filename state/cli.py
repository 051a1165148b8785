"""What the three state CLIs share: argument parsing, output, and the error funnel.

Exit codes (the same for every Orchestra CLI):

====  ==========================================================================
0     success
1     unexpected error (I/O failure, corrupt state); one line on stderr
2     usage error: bad arguments, invalid id, path, JSON, JSONPath or value
3     not found: no such session, document or path
4     conflict: the document changed since ``--if-version``
5     lock timeout: another writer held the lock too long
130   interrupted (Ctrl-C)
====  ==========================================================================
"""

from __future__ import annotations

import json
import os
import sys

from state.errors import EXIT_ERROR, HelpShown, StateError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, like pathlib and shutil, costs every CLI call milliseconds
    import argparse  # (a parser exists: argparse is loaded)
    from collections.abc import Callable, Sequence
    from typing import IO, Any

    from state.cli_parser import CliParser  # argparse: only when a parser is built

__all__ = ["EXIT_CODES_HELP", "CliParser", "Front", "Output", "UsageError", "VerbTable", "dumps",
           "parse_since", "run_main", "verb_parser"]

EXIT_CODES_HELP = """exit codes:
  0 ok   1 error   2 usage/invalid input   3 not found
  4 conflict (--if-version; a task or tool taken; a guard)   5 lock timeout
  130 interrupted"""


class Front:
    """How a CLI is presented when another command fronts it (``orchestra``).

    ``prog`` replaces the CLI's own name in usage lines and errors; ``names`` shows some
    verbs under other names (``{"list": "who"}``); ``examples`` (by the verb's own name)
    end that verb's ``--help``, and ``example`` ends the CLI's own ``--help``.
    """

    __slots__ = ("example", "examples", "names", "prog")

    def __init__(self, prog: str, *, names: dict[str, str] | None = None,
                 examples: dict[str, str] | None = None, example: str | None = None) -> None:
        self.prog = prog
        self.names = names or {}
        self.examples = examples or {}
        self.example = example

    def epilog(self, verb: str | None = None) -> str:
        """Exit codes, then the example of ``verb`` (None: of the CLI itself)."""
        example = self.examples.get(verb) if verb else self.example
        return EXIT_CODES_HELP + (f"\n\nexample:\n  {example}" if example else "")


class VerbTable:
    """The verbs of a CLI as argparse sub-commands; ``args.verb`` is always the verb's own
    name, whatever name a :class:`Front` shows it under.

    Given the command line (``argv``), only the parser of the verb it names is built: a
    verb's parser costs about 0.2 ms and a call needs one. The others are stand-ins that
    drop what is added to them. ``--help`` before the verb, no verb or an unknown one need
    them all (for the list of verbs): :attr:`complete` is then False, and the CLI builds
    its parser again with ``argv=()``, which means every verb.
    """

    def __init__(self, parser: argparse.ArgumentParser, front: Front | None,
                 argv: Sequence[str] | None = ()) -> None:
        self.front = front
        self._sub = parser.add_subparsers(dest="shown_verb", required=True, metavar="VERB")
        self.wanted = _named_verb(sys.argv[1:] if argv is None else argv)
        self._shown: list[str] = []

    def add(self, name: str, help_text: str) -> Any:
        front = self.front
        shown = front.names.get(name, name) if front else name
        self._shown.append(shown)
        if self.wanted is not None and shown != self.wanted:
            return _UNUSED
        epilog = front.epilog(name) if front else EXIT_CODES_HELP
        p = self._sub.add_parser(shown, help=help_text, description=help_text, epilog=epilog)
        p.set_defaults(verb=name, verb_prog=p.prog)  # verb_prog: "orchestra who", for messages
        add_common(p)
        return p

    @property
    def complete(self) -> bool:
        """False if the verb the command line names does not exist (see above)."""
        return self.wanted is None or self.wanted in self._shown


def _named_verb(argv: Sequence[str]) -> str | None:
    """The first operand of ``argv``, unless help is asked for before it."""
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help"):
            return None
        if word == "--":
            return next(words, None)
        if not word.startswith("-"):
            return word
    return None


class _Unused:
    """The parser of a verb this call does not use: whatever is added to it is dropped."""

    def __getattr__(self, name: str) -> Any:
        return self._drop

    def __setattr__(self, name: str, value: Any) -> None:
        pass

    def _drop(self, *args: Any, **kwargs: Any) -> _Unused:
        return self


_UNUSED = _Unused()


def verb_parser(prog: str, description: str, front: Front | None,
                argv: Sequence[str] | None = ()) -> tuple[CliParser, VerbTable]:
    """The parser of a CLI made of verbs, and the :class:`VerbTable` its verbs go into."""
    from state.cli_parser import CliParser  # argparse: only when a parser is built

    parser = CliParser(prog=front.prog if front else prog, description=description,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    add_common(parser)
    return parser, VerbTable(parser, front, argv)


def parse_since(text: str | None) -> float | None:
    """A ``--since`` value (ISO time or a duration ago) as a timestamp; exit 2 if it is
    neither."""
    if not text:
        return None
    from state.clock import parse_time  # only --since

    try:
        return parse_time(text)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


def __getattr__(name: str) -> Any:
    """:class:`CliParser` is an ``argparse.ArgumentParser``: it is defined in
    :mod:`state.cli_parser`, imported when a parser is first built. argparse (with
    gettext and locale, ~2 ms) is then not paid by a command line simple enough to be
    read without it (see ``state_manager``'s plain verbs)."""
    if name == "CliParser":
        from state.cli_parser import CliParser  # argparse: only when a parser is built

        return CliParser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _route_output(parser: argparse.ArgumentParser, out: IO[str]) -> None:
    import argparse  # (a parser exists: argparse is loaded)

    from state.cli_parser import CliParser  # argparse: only when a parser is built

    if isinstance(parser, CliParser):
        parser._out = out
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _route_output(sub, out)


class Output:
    """JSON on stdout: pretty on a terminal, compact when piped or with --compact."""

    def __init__(self, stream: IO[str], *, compact: bool | None = None) -> None:
        self.stream = stream
        if compact is None:
            compact = not (hasattr(stream, "isatty") and stream.isatty())
        self.compact = compact

    def json(self, value: Any) -> None:
        text = dumps(value, separators=(",", ":")) if self.compact else dumps(value, indent=2)
        self.stream.write(text + "\n")
        self.stream.flush()


def dumps(value: Any, **options: Any) -> str:
    """JSON text, non-ASCII kept readable; escaped if it holds a lone surrogate (stored
    from a ``\\ud800`` escape in a payload), which no UTF-8 stream could print."""
    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, **options)
    return text


def run_main(
    prog: str,
    parser: argparse.ArgumentParser | None,
    handler: Callable[[argparse.Namespace, Output, IO[str]], int],
    argv: Sequence[str] | None,
    stdout: IO[str] | None,
    stderr: IO[str] | None,
    *,
    parsed: Any = None,
) -> int:
    """Parse ``argv`` and run ``handler``: the one error funnel of every state CLI.

    ``parser`` None: ``parsed`` holds what ``parser.parse_args(argv)`` would have
    returned, read without argparse (a plain command line, see ``state_manager``).

    Known errors become one line on stderr and their documented exit code; an
    unexpected exception becomes one line too (the traceback goes to the log
    under the state root), never a traceback on the terminal.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if parser is not None:
        _route_output(parser, out)
    try:
        if parser is not None:
            args = parser.parse_args(list(argv) if argv is not None else None)
        else:
            assert parsed is not None, "run_main needs a parser or parsed arguments"
            args = parsed
        compact = True if getattr(args, "compact", False) else None
        return handler(args, Output(out, compact=compact), err)
    except HelpShown:
        return 0
    except StateError as exc:
        err.write(f"{prog}: error: {without_secrets(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write(f"{prog}: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0  # e.g. `... | head`: the reader went away, nothing to report
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        err.write(f"{prog}: error: {exc.strerror or exc}{where}\n")
        return EXIT_ERROR
    except Exception as exc:
        where = _log_traceback(prog)
        err.write(f"{prog}: internal error: {type(exc).__name__}: "
                  f"{without_secrets(str(exc))}{where}\n")
        return EXIT_ERROR


def without_secrets(text: str) -> str:
    """An error line with the passwords of ``$ORCHESTRA_STORE_URL`` removed: the last guard
    of every CLI (the PostgreSQL backend scrubs its own messages first)."""
    url = os.environ.get("ORCHESTRA_STORE_URL")
    if not url:
        return text
    from state.postgres.settings import scrub  # plain text functions, no psycopg

    return scrub(text, url)


def _log_traceback(prog: str) -> str:
    """Append the current traceback to ``<root>/logs/errors.log``; say where."""
    import traceback  # only on the error path: ~6 ms at start-up otherwise

    try:
        from state.clock import iso  # the error path
        from state.paths import home, make_private_dirs  # the error path

        folder = home() / "logs"
        make_private_dirs(folder)
        path = folder / "errors.log"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(path, flags, 0o600), "a", encoding="utf-8") as fh:
            fh.write(f"--- {iso()} {prog}\n{traceback.format_exc()}\n")
        return f" (traceback in {path})"
    except OSError:
        return ""


def add_common(parser: argparse.ArgumentParser) -> None:
    import argparse  # (a parser exists: argparse is loaded)

    # SUPPRESS: a verb's parser must not reset a --compact given before the verb
    # (argparse applies sub-parser defaults over what the main parser set).
    parser.add_argument(
        "--compact", action="store_true", default=argparse.SUPPRESS,
        help="print compact JSON even on a terminal",
    )


def add_value_mode(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", dest="value_mode", action="store_const", const="json",
                       help="VALUE must be valid JSON")
    group.add_argument("--string", dest="value_mode", action="store_const", const="string",
                       help="take VALUE as a string even if it parses as JSON")
    parser.set_defaults(value_mode="auto")


def log_problems(store: Any, err: IO[str], prog: str) -> None:
    """Report what the store noticed while reading (a quarantined document...)."""
    for problem in getattr(store, "problems", []):
        err.write(f"{prog}: warning: {without_secrets(problem)}\n")


def with_store(
    prog: str, run: Callable[[argparse.Namespace, Output, Any], int]
) -> Callable[[argparse.Namespace, Output, IO[str]], int]:
    """A ``run_main`` handler that opens the CLI store and runs ``run(args, out, store)``.

    Problems the store noticed on the way (a corrupt document moved aside) are
    reported on stderr even when the verb then fails.
    """

    def handle(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
        store = open_cli_store()
        try:
            return run(args, out, store)
        finally:
            log_problems(store, err, prog)

    return handle


def open_cli_store() -> Any:
    """The store for a CLI command: the store observers (:mod:`state.persistence.observers`) see the
    changes it commits, which is how they reach the plugins' ``on_state_change``."""
    from state.paths import root  # (loaded already)
    from state.persistence.observers import attach_observers  # only a command that opens the store
    from state.store import open_store  # only a command that opens the store

    store = open_store()
    attach_observers(store, root())
    return store
