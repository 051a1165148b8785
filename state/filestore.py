"""File backend of :class:`~state.storage.Storage`: JSON documents and JSONL logs on disk.

Guarantees, each covered by a test:

* a document write is temp file in the same folder -> fsync -> ``os.replace`` ->
  fsync of the folder, under a sidecar ``<name>.lock`` (filelock, finite timeout).
  Lock files are never deleted; readers take no lock;
* a process killed at any instant leaves the old or the new document; its temp
  file is removed by the next writer of that document;
* logs are appended with one ``write`` on an ``O_APPEND`` descriptor, which local
  filesystems apply atomically, so parallel hooks need no lock to log; rotation
  (rare) takes the log's lock;
* nothing is followed through a symlink: documents, logs, locks and the folders
  below the root are checked, and a symlink is refused with
  :class:`~state.errors.UnsafePathError`; folders are created 0700, files 0600.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from state.errors import LockTimeoutError, UnsafePathError
from state.storage import DEFAULT_LOCK_TIMEOUT, Storage, _next_segment_number, _segment_name

__all__ = ["FileStorage"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_TMP_SUFFIX = ".tmp"


class FileStorage(Storage):
    """Documents and logs as files below ``root``."""

    def __init__(self, root: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        super().__init__(lock_timeout=lock_timeout)
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FileStorage({str(self.root)!r})"

    # -- paths ---------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """The file for ``key``. Keys come from :mod:`state.paths`, never from users."""
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts) or "\\" in key or "\0" in key:
            raise UnsafePathError(f"refusing key {key!r}")
        return self.root.joinpath(*parts)

    def _ensure_parent(self, path: Path) -> None:
        """Create the folders from the root down to ``path``'s parent, refusing symlinks."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        current = self.root
        for part in path.relative_to(self.root).parts[:-1]:
            current = current / part
            try:
                os.mkdir(current, 0o700)
            except FileExistsError:
                if os.path.islink(current) or not current.is_dir():
                    raise UnsafePathError(f"{current}: not a real folder (symlink?)") from None

    def _check_parents(self, path: Path) -> None:
        current = self.root
        for part in path.relative_to(self.root).parts[:-1]:
            current = current / part
            if os.path.islink(current):
                raise UnsafePathError(f"{current}: is a symlink; refusing to follow it")

    # -- primitives ----------------------------------------------------------------

    @contextmanager
    def _lock(self, key: str, timeout: float) -> Iterator[object]:
        from filelock import FileLock, Timeout  # heavy import: only writers pay it

        path = self.path(key)
        self._ensure_parent(path)
        lock_path = path.with_name(path.name + ".lock")
        if os.path.islink(lock_path):
            raise UnsafePathError(f"{lock_path}: lock file is a symlink; refusing to follow it")
        try:
            lock = FileLock(
                lock_path, timeout=timeout, mode=0o600, poll_interval=0.002,
                preserve_lock_file=True,
            )
        except TypeError:  # filelock 3.x has no preserve_lock_file and never deletes
            lock = FileLock(lock_path, timeout=timeout, mode=0o600)
        try:
            lock.acquire(poll_interval=0.002)
        except Timeout:
            raise LockTimeoutError(
                f"{path}: another writer has held its lock for more than {timeout:g}s "
                f"(lock file {lock_path.name})"
            ) from None
        except OSError as exc:
            if os.path.islink(lock_path):
                raise UnsafePathError(f"{lock_path}: lock file is a symlink") from None
            raise exc
        try:
            yield lock
        finally:
            lock.release()

    def _read_bytes(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            self._check_parents(path)
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if os.path.islink(path):
                raise UnsafePathError(f"{path}: is a symlink; refusing to follow it") from None
            raise exc
        try:
            if not _NOFOLLOW and os.path.islink(path):  # no O_NOFOLLOW (Windows)
                raise UnsafePathError(f"{path}: is a symlink; refusing to follow it")
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _write_document(self, key: str, data: bytes) -> None:
        self._replace(self.path(key), data, durable=True)

    def _write_volatile(self, key: str, data: bytes) -> None:
        path = self.path(key)
        self._ensure_parent(path)
        self._replace(path, data, durable=False)

    def _replace(self, path: Path, data: bytes, *, durable: bool) -> None:
        # os.urandom, not secrets: importing secrets loads OpenSSL (~12 ms per CLI run).
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}{_TMP_SUFFIX}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600)
        try:
            try:
                _write_all(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if os.path.islink(path):
                raise UnsafePathError(f"{path}: is a symlink; refusing to replace it")
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        if durable:
            _fsync_dir(path.parent)

    def _delete(self, key: str) -> bool:
        path = self.path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def _quarantine(self, key: str) -> str:
        path = self.path(key)
        moved = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        n = 1
        while moved.exists():
            n += 1
            moved = moved.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{n}")
        os.replace(path, moved)
        return str(moved)

    def _cleanup_orphans(self, key: str) -> None:
        path = self.path(key)
        prefix = f".{path.name}."
        try:
            entries = list(os.scandir(path.parent))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(_TMP_SUFFIX):
                _unlink_quietly(Path(entry.path))

    def _append_bytes(self, key: str, line: bytes) -> int:
        path = self.path(key)
        # O_RDWR (not O_WRONLY) so that the last byte can be checked: see _torn_tail.
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _BINARY
        try:
            self._check_parents(path)
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            self._ensure_parent(path)
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            if os.path.islink(path):
                raise UnsafePathError(f"{path}: is a symlink; refusing to follow it") from None
            raise exc
        try:
            if os.name == "nt":  # Windows has no atomic O_APPEND between processes
                with self._lock(key, self.lock_timeout):
                    _write_all(fd, b"\n" + line if _torn_tail(fd) else line)
            else:
                _write_all(fd, b"\n" + line if _torn_tail(fd) else line)
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def _rotate(self, key: str, max_bytes: int) -> None:
        path = self.path(key)
        with self._lock(key, self.lock_timeout):
            try:
                if os.lstat(path).st_size <= max_bytes:
                    return  # another process rotated it first
            except FileNotFoundError:
                return
            number = _next_segment_number(self._log_segments(key))
            os.replace(path, self.path(_segment_name(key, number)))

    def _log_segments(self, key: str) -> list[str]:
        path = self.path(key)
        stem = path.name[: -len(".jsonl")] + "."
        folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        try:
            names = os.listdir(path.parent)
        except FileNotFoundError:
            return [key]
        rotated = sorted(
            n for n in names if n.startswith(stem) and n.endswith(".jsonl") and n != path.name
        )
        return [folder + n for n in rotated] + [key]

    def _children(self, prefix: str) -> list[str]:
        folder = self.path(prefix)
        try:
            return [e.name for e in os.scandir(folder) if not e.name.startswith(".")]
        except FileNotFoundError:
            return []

    def _remove_tree(self, prefix: str) -> None:
        import shutil  # rare (prune); keep it off the start-up path

        folder = self.path(prefix)
        if os.path.islink(folder):
            raise UnsafePathError(f"{folder}: is a symlink; refusing to remove through it")
        shutil.rmtree(folder, ignore_errors=True)

    def exists(self, key: str) -> bool:
        """Cheaper than reading: one ``lstat``; a symlink does not count."""
        try:
            return stat.S_ISREG(os.lstat(self.path(key)).st_mode)
        except OSError:
            return False

    def stat_mtime(self, key: str) -> float | None:
        try:
            st = os.lstat(self.path(key))
        except FileNotFoundError:
            return None
        return st.st_mtime if stat.S_ISREG(st.st_mode) else None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _torn_tail(fd: int) -> bool:
    """True if the log does not end with a newline (a writer died mid-line).

    The next record then starts on a fresh line, so the torn line is the only one
    lost; without this the new record would be glued to it and skipped as well.
    Two appenders racing here at worst add an empty line, which readers skip.
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return False
    os.lseek(fd, size - 1, os.SEEK_SET)  # O_APPEND still writes at the end
    return os.read(fd, 1) != b"\n"


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable. Windows cannot open folders; it journals renames."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    with suppress(OSError):
        path.unlink()
