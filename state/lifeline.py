"""Is the Claude Code process a long-running command serves still there?

Claude Code 2.1.332 starts a plugin's monitor (``orchestra inbox --follow``) through
``bash -c '...'``, and gives it ``CLAUDE_PID``, its own process id, as it gives its
hooks. When Claude Code dies without stopping its monitors (``kill -9``, a crash), the
monitor keeps its parent, that bash, which is re-parented to PID 1: only ``CLAUDE_PID``
tells that the session is gone. Without ``CLAUDE_PID`` (started by hand), a change of
parent is the signal (POSIX; on Windows a parent's death does not change it).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["process_alive", "session_lifeline"]


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` is running (on Windows through ``OpenProcess``, never
    ``os.kill``, which would terminate it)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True


def _windows_alive(pid: int) -> bool:
    import ctypes  # Windows only

    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return bool(kernel.GetLastError() == 5)  # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel.CloseHandle(handle)


def session_lifeline(environ: Mapping[str, str] | None = None) -> Callable[[], bool]:
    """A check, cheap enough to call every second, that is False once the Claude Code
    process behind this one is gone (see the module doc); always True when nothing
    tells."""
    env = os.environ if environ is None else environ
    pid = env.get("CLAUDE_PID", "")
    if pid.isdigit() and int(pid) > 0:
        claude = int(pid)
        return lambda: process_alive(claude)
    if os.name == "nt":
        return lambda: True
    parent = os.getppid()
    return lambda: os.getppid() == parent
