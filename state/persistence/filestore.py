"""The file backend of :class:`~state.persistence.storage.Storage`: documents and logs on disk.

Guarantees, each covered by a test:

* a document write is temp file in the same folder -> fsync -> ``os.replace`` ->
  fsync of the folder, under a sidecar ``<name>.lock`` (finite timeout). The lock is
  filelock's (see :mod:`state.persistence.locks`: the same flock on the same file, taken without
  importing filelock on POSIX). Lock files are never deleted; readers take no lock;
* a process killed at any instant leaves the old or the new document; its temp
  file is removed by the next writer of that document;
* logs are appended with one ``write`` on an ``O_APPEND`` descriptor, which local
  filesystems apply atomically, so parallel hooks need no lock to log; rotation
  (rare) takes the log's lock: a rename, or for a log read by steps a hard link of the
  live file under the segment's name and a new live file holding a checkpoint (so an
  appender still holding the old file loses nothing: one that held it across two such
  rotations writes its line again to the live file, so the full history may show it
  twice — claim lines replay the same twice);
* the step lock of such a log (:meth:`FileStorage._step_lock`) and the volatile
  documents' lock are POSIX record locks (``os.lockf``), which only Orchestra takes;
* nothing is followed through a symlink: documents, logs, locks and the folders
  below the root are checked, and a symlink is refused with
  :class:`~state.errors.UnsafePathError`; folders are created 0700, files 0600.
"""

from __future__ import annotations

import _thread  # loaded at start: the process locks below are _thread locks
import os
import stat
import time

from state.contexts import contextmanager  # (contextlib costs a hook ~1 ms)
from state.errors import LockTimeoutError, UnsafePathError
from state.persistence.storage import (
    DEFAULT_LOCK_TIMEOUT,
    Storage,
    TooDeepError,
    _checkpoint_head,
    _next_segment_number,
    _segment_name,
    too_deep,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and pathlib stay off the dispatcher's hot path
    from collections.abc import Callable, Iterator
    from pathlib import Path  # only for callers that want a Path
    from typing import Any

    from state.persistence.spans import LaidOut
    from state.persistence.storage import DocumentRules

__all__ = ["FileStorage", "make_private_dirs"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_TMP_SUFFIX = ".tmp"
#: Volatile updates of this process, one at a time (see FileStorage._volatile_lock).
_THREADS = _thread.allocate_lock()
#: Log steps of this process, one at a time (see FileStorage._step_lock).
_STEPS = _thread.allocate_lock()


def make_private_dirs(folder: str | os.PathLike[str]) -> None:
    """``os.makedirs(folder, 0o700, exist_ok=True)``, except that every folder it creates
    is private, not only the last one.

    ``os.makedirs`` gives the parents it creates the default mode (0755 under umask 022),
    so a root created on the way to one of its folders could be read by every user.
    Folders that exist are left as they are: nothing above the root is changed (it
    belongs to whoever made it).
    """
    folder = os.fspath(folder)
    try:
        os.mkdir(folder, 0o700)
        return
    except FileNotFoundError:
        pass  # a parent is missing: make it (private too), then this one
    except OSError:  # it exists (a read-only file system may say so with EROFS)
        if os.path.isdir(folder):
            return
        raise
    head, tail = os.path.split(folder)
    if not tail:  # a trailing separator
        head, tail = os.path.split(head)
    if not head or head == folder:
        raise FileNotFoundError(f"cannot create {folder}: no parent folder")
    make_private_dirs(head)
    try:
        os.mkdir(folder, 0o700)
    except OSError:  # another process made it meanwhile?
        if not os.path.isdir(folder):
            raise



class FileStorage(Storage):
    """Documents and logs as files below ``root``.

    Internally every location is a plain ``str`` built with :mod:`os.path`:
    importing :mod:`pathlib` costs more than a whole heartbeat, and this class is
    on the dispatcher's hot path. :meth:`path` and :attr:`root` give ``Path``
    objects to callers that want them.
    """

    def __init__(self, root: str | os.PathLike[str], *,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 rules: DocumentRules | None = None) -> None:
        super().__init__(lock_timeout=lock_timeout, rules=rules)
        self._root = os.fspath(root)
        self._prefix = os.path.join(self._root, "")  # the root with one separator at its end
        self._checked: set[str] | None = None  # key folders checked for symlinks (reading())

    def __repr__(self) -> str:
        return f"FileStorage({self._root!r})"

    @property
    def root(self) -> Path:
        from pathlib import Path  # only for callers that want a Path

        return Path(self._root)

    # -- paths ---------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """The file for ``key`` as a ``Path``."""
        from pathlib import Path  # only for callers that want a Path

        return Path(self._file(key))

    def _file(self, key: str) -> str:
        """The file for ``key``. Keys come from :mod:`state.paths`, never from users."""
        parts = key.split("/")
        if "" in parts or "." in parts or ".." in parts or "\\" in key or "\0" in key:
            raise UnsafePathError(f"refusing key {key!r}")
        # os.path.join(root, *parts), without its per-part work (hundreds of calls a listing)
        return self._prefix + (key if os.sep == "/" else key.replace("/", os.sep))

    def _ensure_parent(self, key: str) -> None:
        """Create the folders from the root down to the key's folder, refusing symlinks."""
        make_private_dirs(self._root)  # and any folder above it made on the way
        current = self._root
        for part in key.split("/")[:-1]:
            current = os.path.join(current, part)
            try:
                os.mkdir(current, 0o700)
            except FileExistsError:
                if os.path.islink(current) or not os.path.isdir(current):
                    raise UnsafePathError(f"{current}: not a real folder (symlink?)") from None

    def _check_parents(self, key: str) -> None:
        checked = self._checked
        folder = key.rpartition("/")[0]
        if checked is not None and folder in checked:
            return  # this folder and those above it were checked in this reading() block
        current = self._root
        for part in key.split("/")[:-1]:
            current = os.path.join(current, part)
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return  # missing: whatever is opened below it is missing too
            if stat.S_ISLNK(mode):
                raise UnsafePathError(f"{current}: is a symlink; refusing to follow it")
        if checked is not None:
            checked.add(folder)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Within this block a folder checked for symlinks once is not checked again:
        listing 200 sessions reads 600 files below the same 201 folders."""
        if self._checked is not None:
            yield  # nested: the outer block owns the set
            return
        self._checked = set()
        try:
            yield
        finally:
            self._checked = None

    # -- primitives ----------------------------------------------------------------

    @contextmanager
    def _volatile_lock(self, key: str, timeout: float) -> Iterator[object]:
        """The lock of :meth:`Storage.update_volatile`: a POSIX record lock
        (``os.lockf``) on ``<file>.lock``, which every hook of a session takes at every
        event, so it costs no import (filelock's flock, which documents use, needs
        ``fcntl`` and :mod:`~state.persistence.locks`). Only Orchestra's own volatile
        updates take it.
        Without ``os.lockf`` (Windows) it is the documents' lock."""
        lockf = getattr(os, "lockf", None)
        if lockf is None:
            with self._lock(key, timeout) as held:
                yield held
            return
        # A record lock belongs to the process: threads of one process (tests, a server)
        # are kept apart by a lock of the process, taken first.
        if not _THREADS.acquire(timeout=timeout):
            raise LockTimeoutError(f"{key}: busy for more than {timeout:g}s")
        try:
            with self._record_lock(key, lockf, timeout) as fd:
                yield fd
        finally:
            _THREADS.release()

    @contextmanager
    def _step_lock(self, key: str, timeout: float) -> Iterator[object]:
        """The lock of :meth:`Storage.log_step` (a claims check): like the volatile lock, a
        POSIX record lock on ``<log>.step.lock``, which only Orchestra's own steps take —
        so the check of every Write and Edit costs no ``fcntl`` import (about 0.3 ms, a
        ``dlopen``). Its own lock of the process keeps threads apart (a record lock
        belongs to the process). Without ``os.lockf`` (Windows), or with
        ``ORCHESTRA_LOCKS=filelock``, it is the documents' lock."""
        lockf = getattr(os, "lockf", None)
        if lockf is None or os.environ.get("ORCHESTRA_LOCKS") == "filelock":
            with self._lock(key, timeout) as held:
                yield held
            return
        if not _STEPS.acquire(timeout=timeout):
            raise LockTimeoutError(f"{key}: busy for more than {timeout:g}s")
        try:
            with self._record_lock(key, lockf, timeout) as fd:
                yield fd
        finally:
            _STEPS.release()

    @contextmanager
    def _record_lock(self, key: str, lockf: Any, timeout: float) -> Iterator[int]:
        path = self._file(key) + ".lock"
        try:
            self._check_parents(key)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
        except (FileNotFoundError, NotADirectoryError):
            self._ensure_parent(key)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
        except OSError as exc:
            if os.path.islink(path):
                raise UnsafePathError(f"{path}: lock file is a symlink") from None
            raise exc
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    lockf(fd, os.F_TLOCK, 0)
                    break
                except (BlockingIOError, PermissionError):  # held by another writer
                    if time.monotonic() >= deadline:
                        raise LockTimeoutError(f"{path}: held for more than {timeout:g}s"
                                               ) from None
                    time.sleep(0.001)
            yield fd
        finally:
            os.close(fd)  # closing releases the record lock

    @contextmanager
    def _lock(self, key: str, timeout: float) -> Iterator[object]:
        from state.persistence.locks import (  # a document write: not a heartbeat or a log line
            LockBusy,
            acquire,
        )

        path = self._file(key)
        self._ensure_parent(key)
        lock_path = path + ".lock"
        if os.path.islink(lock_path):
            raise UnsafePathError(f"{lock_path}: lock file is a symlink; refusing to follow it")
        try:
            held = acquire(lock_path, timeout)
        except LockBusy:
            raise LockTimeoutError(
                f"{path}: another writer has held its lock for more than {timeout:g}s "
                f"(lock file {os.path.basename(lock_path)})"
            ) from None
        except OSError as exc:
            if os.path.islink(lock_path):
                raise UnsafePathError(f"{lock_path}: lock file is a symlink") from None
            raise exc
        try:
            yield held
        finally:
            held.release()

    def _read_bytes(self, key: str) -> bytes | None:
        return self._read_file(key, 0)

    def _read_log_from(self, key: str, offset: int) -> bytes | None:
        return self._read_file(key, offset)

    def _read_file(self, key: str, offset: int) -> bytes | None:
        """The file's bytes from ``offset`` on (a seek: the part before is not read)."""
        path = self._file(key)
        try:
            self._check_parents(key)
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
            if offset:
                os.lseek(fd, offset, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _write_document(self, key: str, data: bytes) -> None:
        self._replace(self._file(key), data, durable=True)

    def _write_volatile(self, key: str, data: bytes) -> None:
        path = self._file(key)
        try:  # every event writes one: check the folders, create them only when missing
            self._check_parents(key)
            self._replace(path, data, durable=False)
        except (FileNotFoundError, NotADirectoryError):
            self._ensure_parent(key)
            self._replace(path, data, durable=False)

    def _replace(self, path: str, data: bytes, *, durable: bool) -> None:
        # os.urandom, not secrets: importing secrets loads OpenSSL (~12 ms per CLI run).
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}{_TMP_SUFFIX}")
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
        except BaseException as exc:
            _unlink_quietly(tmp)
            raise _named(exc, path) from None
        if durable:
            try:
                _fsync_dir(folder)
            except OSError as exc:
                raise _named(exc, folder) from None

    # -- one member of a large document (see state.persistence.spans) --------------------------

    keeps_stamps = True

    def read_laid_out(self, key: str) -> LaidOut | None:
        """The document at ``key`` as :class:`~state.persistence.spans.LaidOut` bytes, to read one
        member of without parsing the rest, or None: read it the usual way. Only a large
        document that its stamp vouches for, and that fits its model, qualifies."""
        from state.persistence.spans import trust  # only a CLI reading a large document

        return trust(self._read_bytes(key), self._read_stamp(key))

    @contextmanager
    def member_transaction(self, key: str) -> Iterator[LaidOut | None]:
        """Change members of the document at ``key`` in its bytes (see :mod:`.spans`).

        Yields None where that cannot be done: no stamp, a stamp that does not vouch for
        the bytes, a listener that wants the whole documents of a change (one without a
        ``wants(key)`` attribute that says it does not). Then, or on
        :class:`~state.persistence.spans.Untrusted` from the block, nothing is written: make the
        change with :meth:`transaction`. Otherwise the block calls ``replace`` on the
        :class:`~state.persistence.spans.LaidOut` it got, and on a clean exit the changed bytes are
        written, durably, with ``version`` bumped, under the document's lock, as a
        transaction writes them — if the rules say that the document still fits its
        model with each replaced member (:meth:`.DocumentRules.fits_member`); else
        :class:`~state.persistence.spans.Untrusted`, nothing written. The new stamp says so.
        """
        if self._read_stamp(key) is None or self._listener_wants(key):
            # No stamp, nothing to vouch for: no lock either, which would create the
            # folder of a document that does not exist (the usual way says it does not).
            yield None
            return
        from state.persistence.spans import MISSING, Untrusted, stamp, trust  # only a set in place

        with self._lock(key, self.lock_timeout):
            self._cleanup_orphans(key)
            laid = trust(self._read_bytes(key), self._read_stamp(key))
            try:
                yield laid
            except TooDeepError as exc:  # from the encoder of a replaced member
                if exc.args:
                    raise
                raise too_deep(key) from None
            if laid is None or not laid.changed:
                return
            fits = self.rules.fits_member
            if not all(fits(key, parts, value) for parts, value in laid.replaced):
                raise Untrusted("the model has to look at the whole document")
            version = laid.locate(["version"])
            current = laid.value(version)
            if type(current) is not int or laid.member("schema_version") is MISSING:
                raise Untrusted("no version to bump")
            laid.replace(version, current + 1)
            data = laid.commit()
            self._write_document(key, data)
            self._write_stamp(key, stamp(data, checked=True))

    def _restamp(self, key: str, data: bytes, doc: dict[str, Any]) -> None:
        """Stamp ``data``, just written at ``key`` one entry per line, saying whether the
        document fits its model (the rules decide). (A stamp left by an earlier write
        vouches for no other bytes: nothing to remove when a document is written some
        other way.)"""
        from state.persistence.spans import stamp  # only for a large document

        self._write_stamp(key, stamp(data, checked=self.rules.fits(key, doc)))

    def _stamp_file(self, key: str) -> str:
        folder, name = os.path.split(self._file(key))
        return os.path.join(folder, f".{name}.stamp")  # hidden from listings

    def _read_stamp(self, key: str) -> bytes | None:
        try:
            fd = os.open(self._stamp_file(key), os.O_RDONLY | _NOFOLLOW | _BINARY)
        except OSError:
            return None  # missing (or a symlink): read the document the usual way
        try:
            return os.read(fd, 4096)
        finally:
            os.close(fd)

    def _write_stamp(self, key: str, data: bytes) -> None:
        # Written in place, not durably: a torn, stale or lost stamp vouches for no bytes
        # (it names their size and CRC-32), so the worst it costs is a full parse.
        try:
            fd = os.open(self._stamp_file(key),
                         os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | _BINARY, 0o600)
        except OSError:
            return  # (a symlink, say): the document is read the usual way
        try:
            _write_all(fd, data)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _delete(self, key: str) -> bool:
        try:
            os.unlink(self._file(key))
        except FileNotFoundError:
            return False
        return True

    def _quarantine(self, key: str) -> str:
        path = self._file(key)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        moved = f"{path}.corrupt-{stamp}"
        n = 1
        while os.path.lexists(moved):
            n += 1
            moved = f"{path}.corrupt-{stamp}-{n}"
        os.replace(path, moved)
        return moved

    def _cleanup_orphans(self, key: str) -> None:
        folder, name = os.path.split(self._file(key))
        prefix = f".{name}."
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(_TMP_SUFFIX):
                _unlink_quietly(entry.path)

    def _append_bytes(self, key: str, line: bytes) -> int:
        path = self._file(key)
        # O_RDWR (not O_WRONLY) so that the last byte can be checked: see _torn_tail.
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _BINARY
        try:
            self._check_parents(key)
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            self._ensure_parent(key)
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
                written = os.fstat(fd)
                if self._cut_twice(key, path, written):
                    return self._append_bytes(key, line)
                return written.st_size
            return os.fstat(fd).st_size
        except OSError as exc:
            raise _named(exc, path) from None
        finally:
            os.close(fd)

    def _cut_twice(self, key: str, path: str, mine: os.stat_result) -> bool:
        """True if the line just written to the file ``mine`` went where no reader looks: the live
        file was cut with a checkpoint twice while this appender, which takes no lock,
        waited between its open and its write (the first cut still reads the old file
        from its offset on; the second names the next segment). The line is then written
        again to the live file: the lines of a checkpointed log (claims) can be replayed
        twice. Costs one ``lstat`` when the file was not cut."""
        try:
            if os.path.samestat(mine, os.lstat(path)):
                return False
            head = _checkpoint_head(self._read_bytes(key) or b"")
            if head is None:  # a log rotated by renaming: its history reads every segment
                return False
            name = head[1]
            if os.path.basename(name) != name or name in ("", ".", ".."):
                return True
            return not os.path.samestat(mine, os.lstat(os.path.join(os.path.dirname(path),
                                                                    name)))
        except OSError:
            return False

    def _rotate(self, key: str, max_bytes: int) -> None:
        path = self._file(key)
        with self._lock(key, self.lock_timeout):
            try:
                if os.lstat(path).st_size <= max_bytes:
                    return  # another process rotated it first
            except FileNotFoundError:
                return
            number = _next_segment_number(self._log_segments(key))
            os.replace(path, self._file(_segment_name(key, number)))

    def _rotate_checkpointed(self, key: str,
                             make: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
                             ) -> bool:
        """See :meth:`Storage._rotate_checkpointed`. Plain appenders take no lock (POSIX), so
        the live file is never renamed from under them: it is linked under the next
        segment's name, then replaced by a new file holding the checkpoint. A line written to
        the old file after it was read lands in that segment past the checkpoint's offset,
        where readers look. Where a hard link or the replace fails (a file system without
        links, a file held open on Windows), nothing changes and False says so."""
        path = self._file(key)
        with self._lock(key, self.lock_timeout):
            self._cleanup_orphans(key)  # a temp file of a rotation that was killed
            try:
                live = self._read_bytes(key) or b""
            except OSError:
                return False
            segments = self._log_segments(key)
            if len(segments) > 1:
                self._unlink_leftover_link(path, segments[-2])
                segments = self._log_segments(key)
            segment = _segment_name(key, _next_segment_number(segments))
            line = self._checkpoint_for(key, live[: live.rfind(b"\n") + 1], segment, make)
            if line is None:
                return False
            folder, name = os.path.split(path)
            tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}{_TMP_SUFFIX}")
            target = self._file(segment)
            linked = False
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY,
                             0o600)
                try:
                    _write_all(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.link(path, target)  # (the live file was just read: no symlink)
                linked = True
                os.replace(tmp, path)
            except (OSError, NotImplementedError):
                if linked:
                    _unlink_quietly(target)
                _unlink_quietly(tmp)
                return False
            try:
                _fsync_dir(folder)
            except OSError:  # the rotation is done; only its durability waits for the system
                return True
        return True

    def _unlink_leftover_link(self, path: str, segment: str) -> None:
        """A rotation killed between its link and its replace left the live file under the
        newest segment's name too: remove that second name (under the log's lock)."""
        try:
            other = self._file(segment)
            if os.path.samestat(os.lstat(path), os.lstat(other)):
                os.unlink(other)
        except OSError:
            return

    def _log_segments(self, key: str) -> list[str]:
        folder_path, name = os.path.split(self._file(key))
        stem = name[: -len(".jsonl")] + "."
        folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        try:
            names = os.listdir(folder_path)
        except FileNotFoundError:
            return [key]
        rotated = sorted(
            n for n in names if n.startswith(stem) and n.endswith(".jsonl") and n != name
        )
        return [folder + n for n in rotated] + [key]

    def _children(self, prefix: str) -> list[str]:
        try:
            return [e.name for e in os.scandir(self._file(prefix)) if not e.name.startswith(".")]
        except FileNotFoundError:
            return []

    def _remove_tree(self, prefix: str) -> None:
        import shutil  # rare (prune); keep it off the start-up path

        folder = self._file(prefix)
        if os.path.islink(folder):
            raise UnsafePathError(f"{folder}: is a symlink; refusing to remove through it")
        shutil.rmtree(folder, ignore_errors=True)

    def exists(self, key: str) -> bool:
        """Cheaper than reading: one ``lstat``; a symlink does not count."""
        try:
            return stat.S_ISREG(os.lstat(self._file(key)).st_mode)
        except OSError:
            return False

    def size(self, key: str) -> int:
        """Bytes in the file for ``key`` (0 if absent): lets readers skip unchanged logs."""
        try:
            return os.stat(self._file(key)).st_size
        except OSError:
            return 0

    def _fingerprint(self, key: str) -> object:
        """(mtime, size) per file instead of the contents: polling stays cheap."""
        if key.endswith("/"):
            try:
                entries = sorted(os.scandir(self._file(key.rstrip("/"))), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                return None
            return [(e.name, self._fingerprint(key + e.name + ("/" if e.is_dir() else "")))
                    for e in entries if not e.name.startswith(".") and not e.name.endswith(".lock")]
        try:
            st = os.lstat(self._file(key))
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def stat_mtime(self, key: str) -> float | None:
        try:
            st = os.lstat(self._file(key))
        except FileNotFoundError:
            return None
        return st.st_mtime if stat.S_ISREG(st.st_mode) else None


def _named(exc: BaseException, path: str) -> BaseException:
    """``exc``, naming ``path`` if it is an I/O error that names no file (a failed
    ``write``/``fsync``: "No space left on device" alone does not say where)."""
    if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
        return OSError(exc.errno, exc.strerror, path)
    return exc


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


def _fsync_dir(folder: str) -> None:
    """Make the rename durable. Windows cannot open folders; it journals renames."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # gone already, or never written
        return
