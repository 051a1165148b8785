"""Pages of JSONL logs, newest first, read from the end by byte offset.

A page of the event stream must not cost more with a million logged events than
with a hundred, so nothing here reads a log from its start:

* :func:`reverse_lines` reads a file backwards in 64 KiB chunks;
* :func:`offset_before` finds, by bisecting byte offsets, where the records older
  than a time begin (logs are appended in time order), so the page after the
  10,000th starts as fast as the first;
* :func:`newest` merges many logs (one per session) into one list ordered by
  ``(ts, label)``, newest first. A log whose last change is older than the records
  already found cannot contribute, so only the logs that were active around the
  page's time are opened.

A page holds at most ``limit`` records and looks at most ``budget`` lines; when a
sparse filter runs out of budget the page says how far back it looked and gives
the cursor to go on from there.
"""

from __future__ import annotations

import heapq
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Cursor",
    "Page",
    "Source",
    "file_source",
    "newest",
    "offset_before",
    "parse_cursor",
    "reverse_lines",
]

CHUNK = 1 << 16
FIRST_CHUNK = 1 << 13
#: How much later than a file's mtime its last record's ``ts`` may be (the time is taken
#: before the line is written; clocks of parallel writers differ by a little).
SLACK = 2.0
#: ``build_record`` writes ``ts`` first: the time is read without parsing the line.
_TS = re.compile(rb'^\{"ts":(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)[,}]')
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)

#: ``(ts, label)``: records are ordered by time, ties by the log's label.
Cursor = tuple[float, str]


def parse_cursor(text: str | None) -> Cursor | None:
    """``"1795927897.718524:sess-1"`` -> ``(1795927897.718524, "sess-1")``; ValueError if bad."""
    if not text:
        return None
    ts, _, label = text.partition(":")
    value = float(ts)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("cursor time must be a finite number")
    return value, label


def format_cursor(cursor: Cursor) -> str:
    return f"{cursor[0]!r}:{cursor[1]}"


def _open(path: str) -> int:
    return os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)


def reverse_lines(path: str, end: int | None = None) -> Iterator[bytes]:
    """The lines of ``path`` that end before byte ``end`` (default: the end), last first.

    A torn last line (a writer mid-write) comes out as a fragment, which callers
    skip because it does not parse. A missing file has no lines.
    """
    try:
        fd = _open(path)
    except FileNotFoundError:
        return
    try:
        size = os.fstat(fd).st_size
        position = size if end is None else min(end, size)
        pending = b""
        step = min(FIRST_CHUNK, CHUNK)  # a page often needs only a few lines of each log
        while position > 0:
            start = max(0, position - step)
            step = min(step * 4, CHUNK)
            os.lseek(fd, start, os.SEEK_SET)
            pending = _read(fd, position - start) + pending
            position = start
            lines = pending.split(b"\n")
            pending = lines[0]  # may be the end of a line that starts in an earlier chunk
            for line in reversed(lines[1:]):
                if line:
                    yield line
        if pending:
            yield pending
    finally:
        os.close(fd)


def _read(fd: int, count: int) -> bytes:
    chunks = []
    while count > 0:
        data = os.read(fd, count)
        if not data:
            break
        chunks.append(data)
        count -= len(data)
    return b"".join(chunks)


def line_ts(line: bytes) -> float | None:
    match = _TS.match(line)
    if match:
        try:
            return float(match.group(1))
        except ValueError:
            return None
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    ts = record.get("ts") if isinstance(record, dict) else None
    return float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else None


def _first_ts_after(fd: int, offset: int, limit: int) -> tuple[int, float | None]:
    """(start of the first whole line after ``offset`` that has a time, that time), looking
    no further than ``limit``; ``(limit, None)`` if there is none."""
    position = offset
    data = b""
    skip_partial = offset > 0  # ``offset`` may be inside a line: start at the next one
    while position < limit or data:
        cut = data.find(b"\n")
        if cut < 0:
            if position >= limit:
                return limit, None
            os.lseek(fd, position, os.SEEK_SET)
            more = _read(fd, min(CHUNK, limit - position))
            if not more:
                return limit, None
            data += more
            position += len(more)
            continue
        line, data = data[:cut], data[cut + 1:]
        start = position - len(data) - cut - 1
        if skip_partial:
            skip_partial = False
            continue
        ts = line_ts(line)
        if ts is not None:
            return start, ts
    return limit, None


def offset_before(path: str, ts: float) -> int:
    """A byte offset ending a whole line, such that the lines from it on are newer than
    ``ts`` and the lines before it (nearly all) are not: O(log size) reads.

    Lines of parallel writers can be a little out of order, so callers still
    check each record's time; this only tells them where to start.
    """
    try:
        fd = _open(path)
    except FileNotFoundError:
        return 0
    try:
        low, high = 0, os.fstat(fd).st_size
        while high - low > CHUNK:
            middle = (low + high) // 2
            start, found = _first_ts_after(fd, middle, high)
            if found is None:
                break  # one line spans the rest of the window: read the window whole
            if found <= ts:
                low = start
            else:
                high = start
        # The end of the window: the caller reads backwards from here and skips the few
        # lines between ``low`` and ``high`` that are newer than it wants.
        return high
    finally:
        os.close(fd)


@dataclass
class Source:
    """One log: a ``label`` (a session id...), its segments oldest first, its last change."""

    label: str
    segments: Callable[[], list[str]]
    mtime: float
    #: For stores without files: the records, oldest first.
    records: Callable[[], Iterator[dict[str, Any]]] | None = None


def file_source(label: str, segments: Callable[[], list[str]], live: str,
                folder: str | None = None) -> Source | None:
    """A file log; ``None`` if neither its live file nor its ``folder`` exists."""
    times = []
    for path in (live, folder):
        if path is None:
            continue
        try:
            times.append(os.stat(path).st_mtime)
        except OSError:
            continue
    if not times:
        return None
    return Source(label, segments, max(times))


def _scan_source(source: Source, cursor: Cursor | None) -> Iterator[tuple[float, bytes | None,
                                                                           dict[str, Any] | None]]:
    """``(ts, line, None)`` per line (or ``(ts, None, record)`` without files), newest
    first, starting below ``cursor``."""
    if source.records is not None:
        records = [r for r in source.records() if isinstance(r.get("ts"), int | float)]
        for record in reversed(records):
            ts = float(record["ts"])
            if cursor is None or (ts, source.label) < cursor:
                yield ts, None, record
        return
    segments = source.segments()
    start, end = len(segments) - 1, None
    if cursor is not None:
        # Skip the newer segments: a segment whose first line is newer than the cursor
        # holds nothing for this page.
        while start > 0 and _segment_starts_after(segments[start], cursor[0]):
            start -= 1
        end = offset_before(segments[start], cursor[0])
    for index in range(start, -1, -1):
        for line in reverse_lines(segments[index], end if index == start else None):
            found = line_ts(line)
            if found is None:
                continue  # torn or foreign: skipped, as every log reader does
            if cursor is not None and (found, source.label) >= cursor:
                continue
            yield found, line, None


def _segment_starts_after(path: str, ts: float) -> bool:
    try:
        fd = _open(path)
    except FileNotFoundError:
        return True
    try:
        size = os.fstat(fd).st_size
        _start, first = _first_ts_after(fd, 0, size)
    finally:
        os.close(fd)
    return first is None or first > ts


@dataclass
class Page:
    """``items`` newest first; ``next`` continues below them (None: nothing older)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next: str | None = None
    scanned: int = 0
    #: True if the page stopped at its budget before finding ``limit`` records.
    partial: bool = False


def newest(sources: list[Source], *, limit: int, cursor: Cursor | None = None,
           match: Callable[[dict[str, Any]], bool] | None = None,
           prefilter: Callable[[bytes], bool] | None = None,
           budget: int = 100_000) -> Page:
    """The ``limit`` newest records (ordered by ``(ts, label)``) below ``cursor``.

    ``prefilter`` rejects a raw line cheaply (before it is parsed), ``match`` decides
    on the parsed record; each record gets its log's label as ``_label``.
    """
    order = sorted(sources, key=lambda s: s.mtime, reverse=True)
    heap: list[tuple[float, str, int, int, bytes | None, dict[str, Any] | None]] = []
    scanners: list[Iterator[tuple[float, bytes | None, dict[str, Any] | None]]] = []
    page = Page()
    added = 0
    pushed = 0  # ties in time and label (one log) keep their order, never compare lines

    def push(index: int) -> None:
        nonlocal pushed
        item = next(scanners[index], None)
        if item is not None:
            ts, line, record = item
            pushed += 1
            heapq.heappush(heap, (-ts, _neg(order[index].label), pushed, index, line, record))

    while len(page.items) < limit:
        top = -heap[0][0] if heap else None
        while added < len(order) and (top is None or order[added].mtime + SLACK >= top):
            scanners.append(_scan_source(order[added], cursor))
            push(added)
            added += 1
            top = -heap[0][0] if heap else None
        if not heap:
            return page
        if page.scanned >= budget:
            page.partial = True
            ts, label = -heap[0][0], order[heap[0][3]].label
            if added < len(order):
                ts = max(ts, order[added].mtime + SLACK)
            page.next = format_cursor((ts, label + "~"))  # "~" sorts after every id
            return page
        neg_ts, _label, _n, index, line, record = heapq.heappop(heap)
        page.scanned += 1
        push(index)
        if record is None:
            if line is None or (prefilter is not None and not prefilter(line)):
                continue
            try:
                record = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue
            if not isinstance(record, dict):
                continue
        if match is not None and not match(record):
            continue
        label = order[index].label
        page.items.append({**record, "_label": label, "_cursor": format_cursor((-neg_ts, label))})
    if heap or added < len(order):
        page.next = page.items[-1]["_cursor"]
    return page


class _neg(str):
    """A label that sorts backwards, so the heap (a min-heap) pops ties newest-label first."""

    __slots__ = ()

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)
