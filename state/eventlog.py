"""The per-session event log: ``sessions/<id>/events.jsonl``, append-only.

One line per hook event (time, event name, tool, tool_use_id, a bounded and
redacted summary). Appends are a single ``O_APPEND`` write, so parallel hooks of
one session never lose a line and the cost stays O(1) however long the log is.
The log rotates at ``event_log.max_bytes`` into ``events.NNNNNN.jsonl``; readers
see the whole history across segments.
"""

from __future__ import annotations

from state.clock import parse_time
from state.errors import InvalidValueError
from state.paths import session_key
from state.persistence.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from collections.abc import Iterator
    from typing import Any

__all__ = ["EVENTS", "append_event", "read_events"]

EVENTS = "events.jsonl"


def append_event(store: Storage, session_id: str, record: dict[str, Any],
                 *, max_bytes: int | None = None) -> None:
    store.append(session_key(session_id, EVENTS), record, max_bytes=max_bytes)


def read_events(
    store: Storage,
    session_id: str,
    *,
    since: str | float | None = None,
    event_type: str | None = None,
    tail: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Records oldest first, filtered by time (``since``), event name and ``tail``.

    A session without a log reads as no records: whether the session exists is the
    caller's question (:func:`state.sessions.require_session`; the log knows only keys).
    """
    if tail is not None and tail < 0:
        raise InvalidValueError("--tail must be zero or more")
    threshold: float | None = None
    if since is not None:
        try:
            threshold = since if isinstance(since, float) else parse_time(since)
        except ValueError as exc:
            raise InvalidValueError(str(exc)) from None
    records = store.read_log(session_key(session_id, EVENTS))
    selected = (
        r for r in records
        if (event_type is None or r.get("event") == event_type)
        and (threshold is None or (isinstance(r.get("ts"), int | float) and r["ts"] >= threshold))
    )
    if tail is not None:
        from collections import deque  # reading only: every hook event appends

        yield from deque(selected, maxlen=tail)
    else:
        yield from selected
