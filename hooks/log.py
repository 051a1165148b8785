"""The dispatcher's log: ``<root>/logs/dispatch.log``, append-only, one line per entry.

Claude Code shows hook stderr to nobody on exit 0, so everything a user may need
to debug a hook (a handler that raised, overran, or was dropped) goes here. The
file is opened only when something is written, and what is written is redacted
(:func:`state.redact.redact`: secrets, and the values of secret-looking variables).
"""

from __future__ import annotations

import os
import time

__all__ = ["DispatchLog"]

_MAX_BYTES = 5_000_000
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class DispatchLog:
    def __init__(self, home: str, name: str = "dispatch.log") -> None:
        self.folder = os.path.join(home, "logs")
        self.path = os.path.join(self.folder, name)

    def write(self, level: str, message: str) -> None:
        from state.redact import redact  # only when something is logged

        message = redact(message)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = f"{stamp} {os.getpid()} {level} {message}\n".encode("utf-8", "replace")
        try:
            from state.paths import make_private_dirs

            make_private_dirs(self.folder)  # the state root too, if this makes it
            if os.path.islink(self.folder):
                return  # never write through a symlinked folder (outside the state root)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o600)
            try:
                os.write(fd, line)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > _MAX_BYTES:
                os.replace(self.path, self.path + ".1")
        except OSError:
            pass  # logging must never break a dispatch

    def info(self, message: str) -> None:
        self.write("INFO", message)

    def warning(self, message: str) -> None:
        self.write("WARNING", message)

    def error(self, message: str, exc: BaseException | None = None) -> None:
        if exc is not None:
            import traceback

            detail = "".join(traceback.format_exception(exc)).rstrip()
            message = f"{message}\n{detail}"
        self.write("ERROR", message)
