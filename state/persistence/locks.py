"""Taking a document's sidecar lock file the way filelock does, without importing filelock.

filelock is Orchestra's lock library, but importing it (4.x) costs about 30 ms — it
pulls in typing, logging, inspect and pathlib — and every hook and CLI call is a new
process, so that import alone would double the cost of each event that changes a
document. On POSIX, filelock's ``FileLock`` is ``UnixFileLock``: an exclusive,
non-blocking :func:`fcntl.flock` on the lock file, retried every ``poll_interval``
until the timeout, on a file that is never deleted. :func:`acquire` takes that same
lock on that same file. flock locks belong to the open file description, so a lock
taken here and one taken through filelock — in another process, or in another thread
of this one — exclude each other: a plugin or tool that locks Orchestra's documents
with filelock is serialised with Orchestra as before.

Where flock is unavailable (Windows, or a filesystem that answers ``ENOSYS``),
:func:`acquire` hands the lock to filelock itself, with the settings Orchestra has
always used. Set ``ORCHESTRA_LOCKS=filelock`` to use filelock everywhere.
"""

from __future__ import annotations

import errno
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["POLL_INTERVAL", "LockBusy", "acquire", "native"]

#: Seconds between two attempts on a busy lock (the interval Orchestra gives filelock).
POLL_INTERVAL = 0.002

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # like filelock: a leased file must not block open

try:
    from fcntl import LOCK_EX, LOCK_NB, LOCK_UN, flock
except ImportError:  # Windows
    flock = None  # type: ignore[assignment]


class LockBusy(Exception):
    """Another holder kept the lock for the whole timeout."""


def native() -> bool:
    """True when locks are flocks taken here rather than through filelock."""
    return flock is not None and os.environ.get("ORCHESTRA_LOCKS") != "filelock"


def acquire(path: str, timeout: float) -> Any:
    """Hold the lock file ``path``; return an object whose ``release()`` lets it go.

    Raises :class:`LockBusy` after ``timeout`` seconds, ``OSError`` if the file cannot
    be opened (a symlink with ``O_NOFOLLOW``, a read-only folder...).
    """
    if native():
        held = _flock(path, timeout)
        if held is not None:
            return held
    return _filelock(path, timeout)


class _Held:
    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def release(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            try:
                flock(fd, LOCK_UN)
            finally:
                os.close(fd)  # closing alone would release it too


def _flock(path: str, timeout: float) -> _Held | None:
    """The flock on ``path``, or None where this filesystem has no flock."""
    deadline = time.monotonic() + timeout
    flags = os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC | _NONBLOCK
    while True:
        try:
            fd = os.open(path, flags, 0o600)
        except BlockingIOError:  # a lease holder is being asked to let go: busy
            if time.monotonic() >= deadline:
                raise LockBusy(path) from None
            time.sleep(POLL_INTERVAL)
            continue
        try:
            while True:
                try:
                    flock(fd, LOCK_EX | LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                except PermissionError:  # some filesystems report contention as EACCES
                    pass
                except OSError as exc:
                    if exc.errno == errno.ENOSYS:  # no flock here: filelock knows what to do
                        os.close(fd)
                        return None
                    raise
                if time.monotonic() >= deadline:
                    raise LockBusy(path)
                time.sleep(POLL_INTERVAL)
            if _still_there(fd, path):
                return _Held(fd)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the file was removed or replaced while we waited: lock the new one


def _still_there(fd: int, path: str) -> bool:
    """The locked file is still the one named ``path`` (nobody deleted or replaced it)."""
    mine = os.fstat(fd)
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    return mine.st_nlink > 0 and (mine.st_ino, mine.st_dev) == (now.st_ino, now.st_dev)


class _FileLockHeld:
    __slots__ = ("lock",)

    def __init__(self, lock: Any) -> None:
        self.lock = lock

    def release(self) -> None:
        self.lock.release()


def _filelock(path: str, timeout: float) -> _FileLockHeld:
    from filelock import FileLock, Timeout  # ~30 ms: only where flock is missing

    try:
        lock = FileLock(path, timeout=timeout, mode=0o600, poll_interval=POLL_INTERVAL,
                        preserve_lock_file=True)
    except TypeError:  # filelock 3.x has no preserve_lock_file and never deletes
        lock = FileLock(path, timeout=timeout, mode=0o600)
    try:
        lock.acquire(poll_interval=POLL_INTERVAL)
    except Timeout:
        raise LockBusy(path) from None
    return _FileLockHeld(lock)
