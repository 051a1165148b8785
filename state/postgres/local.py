"""What the PostgreSQL backend keeps on the machine, under ``<state root>/pg/``.

* ``outbox/`` — writes not (yet) on the server, one file per operation, named
  ``<time_ns>-<pid>-<seq>-<random>.json`` so that sorting the names gives the order
  they were made in. Hooks put heartbeats, event-log lines and claims here
  instead of connecting, and any write that failed because the server was away
  lands here too. Each file is created atomically (temp file + rename), so a
  flusher never sees half of one. Flushing takes ``outbox.lock``, applies the
  operations in name order in one server transaction per batch, then deletes
  the files; an operation's id is ``<machine id>:<file name>``, so a flush
  interrupted between the server's commit and the deletion is replayed without
  duplicating anything.
* ``cache/`` — the last copy of each document or log this machine read from (or
  wrote to) the server. Hooks answer reads from it while it is younger than
  ``store.sync_seconds`` (a file's mtime is the time it was fetched), and every
  reader falls back to it while the server is away.
* ``down`` — the circuit breaker (:mod:`state.postgres.connect`).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import suppress

from state.filestore import FileStorage
from state.paths import make_private_dirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["MISS", "Cache", "Outbox"]

#: A cache lookup that found nothing usable (``None`` is a cached "absent").
MISS: Any = object()
_ABSENT = b"\x00absent\n"  # what the cache stores for "the server has no such key"


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
        """Append to a cached log without making it look freshly fetched."""
        with suppress(OSError, ValueError):
            fetched = self.files.stat_mtime(key)
            current = self.files._read_bytes(key)
            if current is None or fetched is None:
                return
            if current == _ABSENT:
                current = b""
            self.files._write_volatile(key, current + line)
            os.utime(self.files._file(key), (fetched, fetched))

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

    def flush(self, apply: Callable[[list[tuple[str, dict[str, Any]]]], None], *,
              timeout: float, batch: int = 200) -> int:
        """Hand waiting operations to ``apply`` in order, batch by batch; delete each batch
        once ``apply`` returned. Returns how many were applied; 0 if another process holds
        the flush lock for longer than ``timeout`` (it is flushing the same operations)."""
        if not self.pending():
            return 0
        from filelock import FileLock, Timeout

        lock = FileLock(os.path.join(os.path.dirname(self.folder), "outbox.lock"),
                        timeout=timeout, mode=0o600)
        try:
            lock.acquire()
        except Timeout:
            return 0
        done = 0
        try:
            while names := self.pending()[:batch]:
                ops = [(name, self._load(name)) for name in names]
                apply([(n, op) for n, op in ops if op is not None])
                for name in names:
                    with suppress(FileNotFoundError):
                        os.unlink(os.path.join(self.folder, name))
                done += len(names)
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
