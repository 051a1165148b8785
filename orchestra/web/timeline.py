"""The Timeline page's data: lanes of a project for a window, and its tokens and cost.

The page asks for the lanes of one screen at a time (``offset``/``limit``, or the
``sessions`` it lacks after a scroll or a live event), so 500 sessions cost what the
dozen in view cost. Each session's event log is folded once and then followed
(:class:`Folds`): a later request reads only the lines appended since, from the byte
offset where the last one stopped, so a live event redraws its lane for the price of
that line. Folds are kept for the :data:`KEEP` sessions used last.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from orchestra.timeline import lanes
from orchestra.timeline.fold import Folder, Item
from orchestra.timeline.sources import Position, log_since, log_tail
from orchestra.web.data import StateReader
from state.clock import now
from state.config import load_config
from state.errors import InvalidValueError
from state.paths import session_key, validate_id
from state.storage import Storage

__all__ = ["ALL", "Folds", "TimelineReader"]

#: The ``project`` that asks for every session, whatever its project.
ALL = "*"
KEEP = 300
MAX_SESSIONS = 100


@dataclass
class _Fold:
    since: float
    folder: Folder
    position: Position | None


class Folds:
    """Folded event logs of the sessions drawn last, kept current (thread-safe)."""

    def __init__(self, store: Storage, keep: int = KEEP) -> None:
        self.store = store
        self.keep = keep
        self._folds: OrderedDict[str, _Fold] = OrderedDict()
        self._lock = threading.Lock()

    def items(self, sid: str, since: float, start: float, end: float) -> list[Item]:
        """Items of session ``sid`` overlapping ``[start, end]``, its log folded from
        ``since`` (or earlier) on."""
        key = session_key(sid, "events.jsonl")
        with self._lock:
            fold = self._folds.get(sid)
            if fold is not None and fold.since <= since and fold.position is not None:
                tail = log_tail(self.store, key, fold.position)
                if tail is not None:
                    records, fold.position = tail
                    for record in records:
                        fold.folder.feed(record)
                    self._folds.move_to_end(sid)
                    return fold.folder.between(start, end)
            earliest = since if fold is None else min(since, fold.since)
            records, position = log_since(self.store, key, earliest)
            folder = Folder(earliest)
            for record in records:
                folder.feed(record)
            self._folds[sid] = _Fold(earliest, folder, position)
            self._folds.move_to_end(sid)
            while len(self._folds) > self.keep:
                self._folds.popitem(last=False)
            return folder.between(start, end)


class TimelineReader:
    """The Timeline page's data for one store, beside :class:`StateReader`'s."""

    def __init__(self, reader: StateReader) -> None:
        self.reader = reader
        self.store = reader.store
        self.folds = Folds(reader.store)

    def _rows(self, project: str | None, *, present: bool = True
              ) -> tuple[list[dict[str, Any]], list[str], str | None]:
        """(the sessions of ``project`` as the sessions page has them — without what
        depends on the clock unless ``present`` —, every project, the project chosen: the
        one asked for, else the default, else the latest's)."""
        config, at = load_config(self.store), now()
        raw = self.reader.rows.all()
        projects = self.reader.projects(raw)
        if project is None:
            default = config.get("default_project")
            if isinstance(default, str) and default in projects:
                project = default
            else:
                latest = max(raw, key=lambda r: (r["beat"].get("at") or 0)
                             if isinstance(r.get("beat"), dict) else 0, default=None)
                project = latest["project"] if latest and isinstance(
                    latest.get("project"), str) else ALL
        elif project != ALL:
            validate_id(project, "project id")
        chosen = [r for r in raw if project == ALL or r["project"] == project]
        return ([self.reader.rows.present(r, config, at) for r in chosen] if present
                else chosen, projects, None if project == ALL else project)

    def timeline(self, *, project: str | None = None, zoom: str = "1h",
                 end: float | None = None, width: int = 1000, offset: int = 0,
                 limit: int = 30, order: str = "recent", sessions: str | None = None
                 ) -> dict[str, Any]:
        """Lanes of ``project`` (``*``: every session) for a window; see
        :func:`orchestra.timeline.lanes.build`."""
        wanted = None
        if sessions is not None:
            wanted = [validate_id(s.strip(), "session id") for s in sessions.split(",")
                      if s.strip()]
            if len(wanted) > MAX_SESSIONS:
                raise InvalidValueError(f"at most {MAX_SESSIONS} sessions at once")
        rows, projects, chosen = self._rows(project)
        try:
            data = lanes.build(self.store, rows, self.folds.items, project=chosen, zoom=zoom,
                               end=end, now=now(), width=width, offset=offset, limit=limit,
                               order=order, sessions=wanted)
        except ValueError as exc:
            raise InvalidValueError(str(exc)) from None
        data["project"] = chosen if chosen is not None else ALL
        data["projects"] = projects
        return data

    def usage(self, *, project: str | None = None) -> dict[str, Any]:
        """Tokens and cost of ``project`` over time (see :mod:`orchestra.timeline.cost`)."""
        from orchestra.timeline.cost import series

        rows, _projects, chosen = self._rows(project, present=False)
        config = load_config(self.store)
        data = series(self.store, rows, config.get("pricing") or {}, now=now())
        data["project"] = chosen if chosen is not None else ALL
        return data
