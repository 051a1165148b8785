"""The one error funnel of ``python -m hooks`` (install, uninstall, doctor, replay, record).

Every verb module has ``main(argv=None, *, stdin=None, stdout=None, stderr=None) -> int``
and hands its work to :func:`run`, which maps exceptions to exit codes and one line
on stderr:

* 0 — done; 1 — the verb found a problem (doctor: something is broken; replay: the
  replies differ from the golden file) or refused to act (:class:`CliError`: the
  settings file is not valid JSON, the interpreter cannot import Orchestra...);
* 2 — bad usage (argparse); 130 — interrupted.

No traceback ever reaches the terminal except with ``ORCHESTRA_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from state.cli import Front

__all__ = ["CliError", "Streams", "run"]

PROG = "python -m hooks"


class CliError(Exception):
    """A refusal or failure the user can act on; the message says what and what to do."""


class Streams:
    """The streams a verb writes to (``io.StringIO`` in tests), and how it is presented
    when the ``orchestra`` command fronts it (:class:`state.cli.Front`)."""

    __slots__ = ("err", "front", "inp", "out")

    def __init__(self, stdin: IO[str] | None, stdout: IO[str] | None,
                 stderr: IO[str] | None, front: Front | None = None) -> None:
        self.inp = stdin if stdin is not None else sys.stdin
        self.out = stdout if stdout is not None else sys.stdout
        self.err = stderr if stderr is not None else sys.stderr
        self.front = front


class _Parser(argparse.ArgumentParser):
    """argparse that reports to our stderr instead of exiting the process."""

    def __init__(self, *args: object, streams: Streams, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._streams = streams

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("parser_class", functools.partial(_Parser, streams=self._streams))
        return super().add_subparsers(**kwargs)

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            target = self._streams.err if file is sys.stderr else self._streams.out
            target.write(message)


def run(
    prog: str,
    description: str,
    configure: Callable[[argparse.ArgumentParser], None],
    action: Callable[[argparse.Namespace, Streams], int],
    argv: Sequence[str] | None,
    streams: Streams,
) -> int:
    """Parse ``argv`` and run ``action`` inside the error funnel."""
    front = streams.front
    name = front.prog if front else f"{PROG} {prog}"
    parser = _Parser(prog=name, description=description, streams=streams,
                     epilog=front.epilog(prog) if front else None,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    configure(parser)
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return action(args, streams)
    except CliError as exc:
        streams.err.write(f"{name}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        streams.err.write(f"{name}: interrupted\n")
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; nothing worth reporting
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except Exception as exc:
        if os.environ.get("ORCHESTRA_DEBUG"):
            raise
        streams.err.write(f"{name}: error: {type(exc).__name__}: {exc}\n")
        return 1
