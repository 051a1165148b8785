"""The argparse side of the state CLIs: :class:`CliParser` and its help formatter.

Apart from :mod:`state.cli` so that argparse (with gettext and locale) is imported only
when a parser is built; ``from state.cli import CliParser`` still works. It imports
nothing of :mod:`state.cli` (which loads it): the errors it raises are in
:mod:`state.errors`.
"""

from __future__ import annotations

import argparse
import os
import sys

from state.errors import HelpShown, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, NoReturn

__all__ = ["CliParser"]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, sized without :mod:`shutil` (which argparse imports for it,
    with bz2, lzma and zlib, each time an argument is added)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    """What ``shutil.get_terminal_size().columns`` says: $COLUMNS, the terminal, or 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser that reports errors by raising instead of exiting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self._out: IO[str] = sys.stdout

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._out.write(message)
        raise HelpShown()

    def print_help(self, file: Any = None) -> None:
        super().print_help(self._out if file is None else file)
