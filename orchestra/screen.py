"""A full-screen text frame on an ANSI terminal, redrawn in place without flicker.

Only the handful of escape sequences every terminal emulator (and tmux, screen
and ssh in between) has understood for decades, so no terminfo database is
needed:

* ``ESC[?1049h`` / ``ESC[?1049l`` — switch to the alternate screen and back, so the
  frames never reach the scrollback and the shell's screen comes back on exit;
* ``ESC[?25l`` / ``ESC[?25h`` — hide and show the cursor;
* ``ESC[row;1H`` + text + ``ESC[K`` — overwrite one line and clear what is left of
  it; ``ESC[J`` clears below the last line.

Only the lines that differ from what is on the screen are written, in one
``write``: nothing is erased first, so nothing flickers, and an update over ssh
costs a few hundred bytes.
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from typing import IO, Any

__all__ = ["Keys", "Screen", "terminal_size"]

ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"
LEAVE = "\x1b[?25h\x1b[?1049l"


def terminal_size(stream: IO[str]) -> tuple[int, int]:
    """(columns, rows) of the terminal behind ``stream``; 80x24 when it cannot be asked."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return 80, 24
    return max(size.columns, 1), max(size.lines, 1)


class Screen:
    """Draws frames on the alternate screen; restores the terminal on exit."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.size = (0, 0)
        self._shown: list[str] = []

    def __enter__(self) -> Screen:
        _enable_ansi()
        self.stream.write(ENTER)
        self.stream.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        with suppress(OSError, ValueError):  # the terminal may be gone (ssh dropped)
            self.stream.write(LEAVE)
            self.stream.flush()

    def resized(self) -> bool:
        return terminal_size(self.stream) != self.size

    def draw(self, frame: list[str], status: str) -> None:
        """Show ``frame`` with ``status`` below it, writing only the lines that changed."""
        size = terminal_size(self.stream)
        lines = fit_frame(frame, status, size)
        parts = []
        if size != self.size:  # new geometry: what is on the screen is unknown
            parts.append("\x1b[H\x1b[2J")
            self._shown = []
            self.size = size
        for row, line in enumerate(lines):
            if row < len(self._shown) and self._shown[row] == line:
                continue
            parts.append(f"\x1b[{row + 1};1H{line}\x1b[K")
        if len(lines) < len(self._shown):
            parts.append(f"\x1b[{len(lines) + 1};1H\x1b[J")
        self._shown = lines
        self.stream.write("".join(parts))
        self.stream.flush()


def _enable_ansi() -> None:
    """Windows consoles interpret escape sequences only once asked to (Windows 10+)."""
    if os.name != "nt":
        return
    with suppress(Exception):  # an old console: the frames come out as text, still usable
        import ctypes

        kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel.GetStdHandle(-11)  # STD_OUTPUT_HANDLE
        mode = ctypes.c_uint32()
        if kernel.GetConsoleMode(handle, ctypes.byref(mode)):
            kernel.SetConsoleMode(handle, mode.value | 0x0004)  # VIRTUAL_TERMINAL_PROCESSING


def fit_frame(frame: list[str], status: str, size: tuple[int, int]) -> list[str]:
    """The lines to show on a ``size`` terminal: never wider or taller than it.

    Lines stop one column short of the edge: a character in the last column leaves
    some terminals waiting to wrap, and the ``ESC[K`` after it would erase it.
    A frame taller than the terminal ends with a line saying how much is hidden.
    """
    columns, rows = size
    width = max(columns - 1, 1)
    lines = list(frame)
    room = rows - 1  # the status line takes the last row
    if len(lines) > room:
        hidden = len(lines) - room + 1
        lines = [*lines[: max(room - 1, 0)], f"... {hidden} more lines: enlarge the terminal"]
    return [line[:width] for line in [*lines, status]][:rows]


class Keys:
    """Single key presses from a terminal, without echo (POSIX); a plain wait elsewhere.

    The terminal stays in cbreak mode, not raw mode: Ctrl-C still raises
    ``KeyboardInterrupt``. :meth:`wait` sleeps in ``select`` until a key arrives or
    ``timeout`` passes, so waiting costs no CPU.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        self._fd: int | None = None
        self._saved: list[Any] | None = None
        if stream is None or os.name == "nt":
            return
        with suppress(AttributeError, OSError, ValueError):
            if stream.isatty():
                self._fd = stream.fileno()

    def __enter__(self) -> Keys:
        if self._fd is not None:
            import termios
            import tty

            try:
                self._saved = termios.tcgetattr(self._fd)
                tty.setcbreak(self._fd)
            except termios.error:
                self._fd = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None and self._saved is not None:
            import termios

            with suppress(termios.error, OSError):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def wait(self, timeout: float) -> str:
        """Keys typed within ``timeout`` seconds ('' if none)."""
        if self._fd is None:
            time.sleep(timeout)
            return ""
        import select

        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return ""
        try:
            data = os.read(self._fd, 64)
        except OSError:
            return ""
        if not data:  # end of file: the terminal went away; stop reading it
            self._fd = None
            return ""
        return data.decode("utf-8", "replace")
