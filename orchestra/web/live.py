"""Live updates for the pages: one watcher for all browsers, pushed as Server-Sent Events.

While at least one page listens, a single task checks the state root four times
a second with :func:`orchestra.changes.scan` (one ``stat`` per file, in a worker
thread). New lines of any ``events.jsonl`` are read from the byte offset where the
last check stopped — the stream's cursor — and pushed to every listener whose
filters they match; other changes are pushed as their topics (``sessions``,
``board``, ``messages``, ``claims``, ``decisions``), and a page reloads its data
once. Nothing runs when nobody listens, and the browser never polls.

A rotated log is followed into its rotated segment (found by inode), so no line
is lost at rotation. A listener that falls more than :data:`QUEUE` items behind
is told to ``resync`` (reload its page) instead of being sent a backlog; so is
everyone after a burst of more than :data:`MAX_READ` bytes in one log.

A store that is not a folder of files (PostgreSQL) is watched through its own change
notices instead (:meth:`~state.persistence.storage.Storage.wait_for_change`, LISTEN/NOTIFY there):
a change makes the pages reload. What other machines' hooks write reaches the server
when they ship their local outbox (see docs/postgres.md), so it shows up then.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from orchestra.changes import TOPICS, Scan, changed_topics, scan
from orchestra.web.items import event_item

__all__ = ["INTERVAL", "Hub", "Listener"]

INTERVAL = 0.25
#: What a database store is watched for: everything a page shows.
_STORE_KEYS = ["sessions/", "projects/", "messages.jsonl", "tools.json"]
QUEUE = 1000
#: At most this much of one log is read per check; a burst beyond it becomes a resync.
MAX_READ = 4 << 20


@dataclass(eq=False)
class Listener:
    """One open event stream and its filters."""

    session: str | None = None
    kind: str | None = None
    tool: str | None = None
    #: False for pages that only want to know what changed, not every event.
    events: bool = True
    queue: asyncio.Queue[tuple[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE))

    def wants(self, event: dict[str, Any]) -> bool:
        return self.events and ((self.session is None or event["session"] == self.session)
                and (self.kind is None or event["event"] == self.kind)
                and (self.tool is None or event["tool"] == self.tool))

    def put(self, item: tuple[str, Any]) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:  # too far behind: drop the backlog, ask for a reload
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(("resync", {}))


class Hub:
    """Watches ``store`` while anyone listens; fans changes out to the listeners."""

    def __init__(self, store: Any, *, interval: float = INTERVAL) -> None:
        self.store = store
        self.interval = interval
        self.listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self._scan: Scan | None = None
        self._skipped = False
        self._offsets: dict[str, tuple[int, int]] = {}  # events key -> (inode, offset)

    def subscribe(self, listener: Listener) -> None:
        self.listeners.add(listener)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def unsubscribe(self, listener: Listener) -> None:
        # The watching task ends by itself after its current check once nobody listens.
        # Not cancelled: its check runs in a thread, which a cancel would not stop, and a
        # second task would then share the offsets with it.
        self.listeners.discard(listener)

    def stop(self) -> None:
        """End every open stream (the server is shutting down); call in the event loop."""
        for listener in list(self.listeners):
            while not listener.queue.empty():
                listener.queue.get_nowait()
            listener.queue.put_nowait(("bye", None))
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        from anyio import to_thread

        self._scan, self._offsets = None, {}
        await to_thread.run_sync(self.check)  # prime: what exists now is not news
        while self.listeners:
            await asyncio.sleep(self.interval)
            topics, events = await to_thread.run_sync(self.check)
            for listener in list(self.listeners):
                for event in events:
                    if listener.wants(event):
                        listener.put(("event", event))
                if topics:
                    listener.put(("change", {"topics": sorted(topics)}))

    def check(self) -> tuple[set[str], list[dict[str, Any]]]:
        """(topics changed, new events) since the last check. Blocking: run in a thread."""
        current = scan(self.store)
        if current is None:
            return self._check_store(), []
        primed = self._scan is not None
        topics = changed_topics(self._scan, current) if self._scan is not None else set()
        self._scan = current
        events: list[dict[str, Any]] = []
        for key, (_mtime, size, inode) in current.items():
            parts = key.split("/")
            if len(parts) != 3 or parts[0] != "sessions" or parts[2] != "events.jsonl":
                continue
            events.extend(self._new_events(current, key, parts[1], size, inode, primed))
        folders = {k.rsplit("/", 1)[0] for k in current}
        for key in [k for k in self._offsets if k.rsplit("/", 1)[0] not in folders]:
            del self._offsets[key]  # the session was pruned
        if self._skipped:
            self._skipped = False
            topics.add("resync")
        events.sort(key=lambda e: e["ts"] or 0)
        return topics, events

    def _check_store(self) -> set[str]:
        """A store that is not a folder of files (PostgreSQL): wait up to one interval for
        its own notice of a change (LISTEN/NOTIFY); a change reloads the open pages."""
        try:
            changed = self.store.wait_for_change(_STORE_KEYS, self.interval)
        except Exception:  # the server went away: the next check tries again
            time.sleep(self.interval)
            return set()
        return {"resync", *TOPICS} if changed else set()

    def _new_events(self, current: Scan, key: str, session: str, size: int, inode: int,
                    primed: bool) -> list[dict[str, Any]]:
        known = self._offsets.get(key)
        out: list[dict[str, Any]] = []
        if known is None:
            start = 0 if primed else size  # a new session's log is all news
        elif known[0] != inode:
            # Rotated since the last check: finish the old file (now a segment) first.
            folder = key.rsplit("/", 1)[0] + "/"
            old = next((k for k, s in current.items()
                        if k.startswith(folder) and k != key and s[2] == known[0]), None)
            if old is not None:
                out += self._read(old, session, known[1], current[old][1])[1]
            start = 0
        else:
            start = known[1] if known[1] <= size else size  # truncated by hand: start over
        end, records = self._read(key, session, start, size)
        self._offsets[key] = (inode, end)
        return out + records

    def _read(self, key: str, session: str, start: int, size: int
              ) -> tuple[int, list[dict[str, Any]]]:
        """(offset after the last whole line, the events in ``[start, size)``)."""
        if size <= start:
            return start, []
        if size - start > MAX_READ:
            self._skipped = True  # a burst: the pages reload rather than replay it
            return size, []
        path = os.fspath(self.store.path(key))
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_BINARY", 0))
        except OSError:
            return start, []
        try:
            os.lseek(fd, start, os.SEEK_SET)
            data = os.read(fd, size - start)
        finally:
            os.close(fd)
        cut = data.rfind(b"\n")
        if cut < 0:
            return start, []  # a line is being written: take it next time
        out = []
        for line in data[: cut + 1].split(b"\n"):
            try:
                record = json.loads(line) if line.strip() else None
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(record, dict):
                out.append(event_item({**record, "_label": session}))
        return start + cut + 1, out
