"""Reading the logs a timeline draws, from a time on, without reading them from the start.

Logs are appended in time order, so where a time begins in a log file is found by
bisecting byte offsets (as :mod:`orchestra.web.logs` does for pages): a window of the
last hour of a session with 100,000 logged events reads that hour, not the whole log.
Rotated segments (``events.000001.jsonl``...) are followed; a segment that ends before
the time is not opened. A store that keeps no files (PostgreSQL) is read through its
own ``read_log`` and filtered.

:class:`Position` remembers where the live file was read up to, so that a follower
(``orchestra serve``) reads only what was appended since.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from orchestra.web.logs import CHUNK, _first_ts_after
from state.filestore import FileStorage
from state.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Position", "log_since", "log_tail", "offset_at", "records_since"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
#: More than this many bytes appended since the last read: read again from the time
#: instead (a burst, or a log that was rotated and refilled).
MAX_TAIL = 16 << 20


@dataclass(frozen=True)
class Position:
    """Where a file log was read up to: its live file's inode and the byte after the
    last whole line read."""

    inode: int
    offset: int


def _open(path: str) -> int:
    return os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)


def offset_at(fd: int, size: int, ts: float) -> int:
    """The start of a line at or before the first line of ``ts`` or later (0 if none
    is earlier): O(log size) reads. Lines of parallel writers can be a little out of
    order; reading from here misses none of the lines from ``ts`` on."""
    low, high = 0, size
    while high - low > CHUNK:
        middle = (low + high) // 2
        start, found = _first_ts_after(fd, middle, high)
        if found is None:
            break  # one line spans the rest: read the window whole
        if found < ts - 2.0:  # 2 s of slack for writers that raced
            low = start
        else:
            high = start
    return low


def _parse(data: bytes) -> list[dict[str, Any]]:
    out = []
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue  # a torn or foreign line: skipped, as every log reader does
        if isinstance(record, dict):
            out.append(record)
    return out


def _read_from(path: str, since: float | None, *, whole_lines: bool
               ) -> tuple[list[dict[str, Any]], int, int] | None:
    """(records from ``since`` on, the offset after the last whole line, inode); None
    if the file is missing."""
    try:
        fd = _open(path)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        start = 0 if since is None else offset_at(fd, st.st_size, since)
        os.lseek(fd, start, os.SEEK_SET)
        chunks, left = [], st.st_size - start
        while left > 0:
            data = os.read(fd, min(left, 1 << 20))
            if not data:
                break
            chunks.append(data)
            left -= len(data)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if whole_lines:
        cut = data.rfind(b"\n") + 1  # a line being written is taken next time
        data = data[:cut]
    return _parse(data), start + len(data), st.st_ino


def _first_ts(path: str) -> float | None:
    try:
        fd = _open(path)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        return _first_ts_after(fd, 0, size)[1]
    finally:
        os.close(fd)


def _segments_from(files: FileStorage, key: str, since: float | None) -> list[str]:
    """The segments of a log (keys, oldest first) that may hold records from ``since``."""
    segments = files._log_segments(key)
    if since is None:
        return segments
    first = len(segments) - 1
    while first > 0:
        found = _first_ts(os.fspath(files.path(segments[first])))
        if found is not None and found <= since:
            break
        first -= 1
    return segments[first:]


def log_since(store: Storage, key: str, since: float | None
              ) -> tuple[list[dict[str, Any]], Position | None]:
    """Records of the log ``key`` from ``since`` on (and a few just before), oldest first,
    and the position reached in its live file (None without files)."""
    if not isinstance(store, FileStorage):
        return [r for r in store.read_log(key) if since is None or _ts(r) >= since - 2.0], None
    out: list[dict[str, Any]] = []
    position = None
    segments = _segments_from(store, key, since)
    for index, segment in enumerate(segments):
        live = index == len(segments) - 1
        found = _read_from(os.fspath(store.path(segment)), since if index == 0 else None,
                           whole_lines=live)
        if found is None:
            continue
        records, end, inode = found
        out.extend(records)
        if live and segment == key:
            position = Position(inode, end)
    return out, position


def log_tail(store: Storage, key: str, position: Position
             ) -> tuple[list[dict[str, Any]], Position] | None:
    """Records appended to the live file of ``key`` since ``position``; None when that
    cannot be told (rotated, truncated, a burst): read again with :func:`log_since`."""
    if not isinstance(store, FileStorage):
        return None
    path = os.fspath(store.path(key))
    try:
        fd = _open(path)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_ino != position.inode or st.st_size < position.offset \
                or st.st_size - position.offset > MAX_TAIL:
            return None
        if st.st_size == position.offset:
            return [], position
        os.lseek(fd, position.offset, os.SEEK_SET)
        data = os.read(fd, st.st_size - position.offset)
    finally:
        os.close(fd)
    cut = data.rfind(b"\n") + 1
    return _parse(data[:cut]), Position(position.inode, position.offset + cut)


def records_since(store: Storage, key: str, since: float | None, *,
                  mtime_hint: bool = True) -> list[dict[str, Any]]:
    """Records of ``key`` from ``since`` on. With ``mtime_hint`` a file log not changed
    since ``since`` is not opened (it holds nothing that new)."""
    if mtime_hint and since is not None and isinstance(store, FileStorage):
        try:
            if os.stat(store.path(key)).st_mtime < since - 2.0:
                return []
        except OSError:
            return []
    return [r for r in log_since(store, key, since)[0] if since is None or _ts(r) >= since]


def _ts(record: dict[str, Any]) -> float:
    ts = record.get("ts")
    return float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else float("-inf")

