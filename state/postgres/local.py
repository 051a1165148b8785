"""What the PostgreSQL backend keeps on the machine, under ``<state root>/pg/``.

* ``outbox/`` — writes not (yet) on the server, one file per operation, named
  ``<time_ns>-<pid>-<seq>-<random>.json`` so that sorting the names gives the order
  they were made in. Hooks put every write here (heartbeats, event-log lines,
  claims, document changes as patches) instead of connecting, and any write that
  failed because the server was away lands here too. Each file is created
  atomically (temp file + rename), so a flusher never sees half of one. Flushing
  takes ``outbox.lock``, applies the operations in name order in one server
  transaction per batch, then deletes the files; an operation's id is
  ``<machine id>:<file name>``, so a flush interrupted between the server's commit
  and the deletion is replayed without duplicating anything. A flush may stop
  after a number of operations or at a deadline (a hook ships a bounded part,
  oldest first); the rest waits for the next one.
* ``cache/`` — the last copy of each document or log this machine read from (or
  wrote to) the server. Hooks answer reads from it while it is younger than
  ``store.sync_seconds`` (a file's mtime is the time it was fetched), and every
  reader falls back to it while the server is away. ``<key>.pending`` beside a
  cached document names the newest outbox operation on it that the server has
  not applied yet: until it has, the cached copy (which has the change) is the
  one to read, and a newer heartbeat replaces the waiting one (heartbeats are
  last-writer-wins, so only the newest counts).
* ``down`` — the circuit breaker (:mod:`state.postgres.connect`).
"""

from __future__ import annotations

import json
import os
import stat
import time
from contextlib import suppress

from state.persistence.filestore import FileStorage, make_private_dirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["MISS", "Cache", "Outbox"]

#: A cache lookup that found nothing usable (``None`` is a cached "absent").
MISS: Any = object()
_ABSENT = b"\x00absent\n"  # what the cache stores for "the server has no such key"
PENDING = ".pending"  #: beside a cached copy: the newest outbox operation on it
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class Cache:
    """Copies of server data, one file per key, written without fsync (a cache)."""

    def __init__(self, folder: str) -> None:
        self.files = FileStorage(folder)

    def get(self, key: str, max_age: float | None) -> Any:
        """The cached bytes (``None``: known absent), or :data:`MISS` if none or older
        than ``max_age`` seconds (``None``: any age)."""
        try:
            if max_age is not None:
                fetched = self.files.stat_mtime(key)
                if fetched is None or time.time() - fetched > max_age:
                    return MISS
            data = self.files._read_bytes(key)
        except (OSError, ValueError):
            return MISS
        if data is None:
            return MISS
        return None if data == _ABSENT else data

    def put(self, key: str, data: bytes | None) -> None:
        with suppress(OSError, ValueError):
            self.files._write_volatile(key, _ABSENT if data is None else data)

    def add_line(self, key: str, line: bytes) -> None:
        """Append to a cached log without making it look freshly fetched.

        The line is appended in place (``O_APPEND``): queuing stays linear however long
        the cached log is, where rewriting it would cost its whole size every time."""
        with suppress(OSError, ValueError):
            path = self.files._file(key)
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                return  # not cached (or not a plain file): nothing to keep current
            if st.st_size == len(_ABSENT) and self.files._read_bytes(key) == _ABSENT:
                self.files._write_volatile(key, line)
            else:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | _NOFOLLOW | _BINARY)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
            os.utime(path, (st.st_mtime, st.st_mtime))

    def pending(self, key: str) -> str | None:
        """The newest outbox operation on ``key`` not applied yet, or None."""
        try:
            with open(self.files._file(key) + PENDING, encoding="ascii") as fh:
                return fh.read().strip() or None
        except (OSError, ValueError):
            return None

    def set_pending(self, key: str, name: str) -> None:
        with suppress(OSError, ValueError):
            self.files._ensure_parent(key)
            path = self.files._file(key) + PENDING
            tmp = f"{path}.{os.getpid()}.{os.urandom(3).hex()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o600)
            try:
                os.write(fd, name.encode("ascii"))
            finally:
                os.close(fd)
            os.replace(tmp, path)

    def applied(self, key: str, name: str) -> None:
        """The server has applied operation ``name`` on ``key``: if it was the newest
        waiting, the server's copy is complete again."""
        if self.pending(key) == name:
            with suppress(OSError, ValueError):
                os.unlink(self.files._file(key) + PENDING)

    def drop(self, key: str) -> None:
        with suppress(OSError, ValueError):
            self.files._delete(key)

    def drop_tree(self, prefix: str) -> None:
        with suppress(OSError, ValueError):
            self.files.remove_tree(prefix)


class Outbox:
    """Operations waiting for the server, in the order they were made."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._seq = 0

    def put(self, op: dict[str, Any]) -> str:
        """Store one operation durably enough for a cache of writes (no fsync, like log
        appends); return its file name."""
        self._seq += 1
        name = f"{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}-{os.urandom(3).hex()}.json"
        make_private_dirs(self.folder)
        tmp = os.path.join(self.folder, "." + name + ".tmp")
        data = json.dumps(op, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(self.folder, name))
        return name

    def pending(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.folder)
                          if n.endswith(".json") and not n.startswith("."))
        except FileNotFoundError:
            return []

    def oldest_age(self) -> float | None:
        """Seconds since the oldest waiting operation was made (None: nothing waits)."""
        names = self.pending()
        if not names:
            return None
        try:
            return max(0.0, time.time() - int(names[0].split("-", 1)[0]) / 1e9)
        except ValueError:
            return 0.0

    def count(self) -> int:
        """How many operations wait (one listing of the folder, nothing read)."""
        return self.summary()[0]

    def summary(self) -> tuple[int, str | None]:
        """(how many operations wait, the oldest one's name): one listing, no sort."""
        try:
            names = [n for n in os.listdir(self.folder)
                     if n.endswith(".json") and not n.startswith(".")]
        except FileNotFoundError:
            return 0, None
        return len(names), min(names) if names else None

    def drop(self, name: str) -> None:
        """Forget a waiting operation (a heartbeat that a newer one replaces)."""
        with suppress(OSError):
            os.unlink(os.path.join(self.folder, name))

    def flush(self, apply: Callable[[list[tuple[str, dict[str, Any]]]], None], *,
              timeout: float, batch: int = 200, limit: int | None = None,
              deadline: float | None = None) -> int:
        """Hand waiting operations to ``apply`` in order, batch by batch; delete each batch
        once ``apply`` returned. Returns how many were applied; 0 if another process holds
        the flush lock for longer than ``timeout`` (it is flushing the same operations).

        ``limit``: apply at most that many (the oldest); ``deadline`` (``time.monotonic``):
        start no batch after it. What is left waits, in order, for the next flush."""
        names = self.pending()
        if not names:
            return 0
        from state.persistence.locks import LockBusy, acquire  # only when something waits

        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        try:
            lock = acquire(os.path.join(os.path.dirname(self.folder), "outbox.lock"),
                           max(0.0, timeout))
        except LockBusy:
            return 0
        done = 0
        seen: set[str] = set()
        try:
            names = self.pending()  # what another flusher left, now that the lock is ours
            while True:
                if not names:  # made while we flushed: ship them too
                    names = [n for n in self.pending() if n not in seen]
                    if not names:
                        break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                size = batch if limit is None else min(batch, limit - done)
                if size <= 0:
                    break
                chunk, names = names[:size], names[size:]
                seen.update(chunk)
                ops = [(name, self._load(name)) for name in chunk]
                apply([(n, op) for n, op in ops if op is not None])
                for name in chunk:
                    with suppress(FileNotFoundError):
                        os.unlink(os.path.join(self.folder, name))
                done += len(chunk)
        finally:
            lock.release()
        return done

    def set_aside(self, name: str, reason: str) -> None:
        """Move an operation the server refuses to ``outbox/failed/`` with the reason."""
        failed = os.path.join(self.folder, "failed")
        make_private_dirs(failed)
        with suppress(OSError):
            os.replace(os.path.join(self.folder, name), os.path.join(failed, name))
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(os.path.join(failed, name + ".reason"), flags, 0o600),
                           "w", encoding="utf-8") as fh:
                fh.write(reason + "\n")

    def load(self, name: str) -> dict[str, Any] | None:
        """The waiting operation ``name``, or None (gone, or not readable)."""
        try:
            with open(os.path.join(self.folder, name), "rb") as fh:
                op = json.loads(fh.read())
        except (OSError, ValueError):
            return None
        return op if isinstance(op, dict) else None

    def _load(self, name: str) -> dict[str, Any] | None:
        try:
            with open(os.path.join(self.folder, name), "rb") as fh:
                op = json.loads(fh.read())
        except FileNotFoundError:
            return None
        except ValueError:
            self.set_aside(name, "not valid JSON")
            return None
        return op if isinstance(op, dict) else None
