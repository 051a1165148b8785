"""File claims: which session last touched which file, per project.

Every Write/Edit/NotebookEdit (and recognisable Bash write) appends one line
to ``projects/<id>/claims.jsonl`` — O(1), no lock. A claim is *live* while it is
younger than ``claims.window_seconds`` and its session is neither ended nor
stale. The log rotates at a small size, so finding live claims reads at most
the two newest segments. ``release_claims`` appends a release record, which
ends a session's claims early.
"""

from __future__ import annotations

from state.clock import iso, now
from state.paths import project_key
from state.storage import Storage, decode_lines

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from typing import Any

__all__ = ["live_claims", "record_claim", "release_claims"]

CLAIMS = "claims.jsonl"
SEGMENT_BYTES = 256 * 1024


def record_claim(store: Storage, project: str, session_id: str, path: str, *, tool: str,
                 at: float | None = None) -> None:
    store.append(project_key(project, CLAIMS),
                 {"ts": round(now() if at is None else at, 6), "session": session_id,
                  "path": path[:4096], "tool": tool[:64]},
                 max_bytes=SEGMENT_BYTES)


def release_claims(store: Storage, project: str, session_id: str,
                   path: str | None = None) -> None:
    """End ``session_id``'s claims (on ``path`` only, if given)."""
    record: dict[str, Any] = {"ts": round(now(), 6), "session": session_id, "release": True}
    if path is not None:
        record["path"] = path
    store.append(project_key(project, CLAIMS), record, max_bytes=SEGMENT_BYTES)


def _recent_records(store: Storage, key: str) -> list[dict[str, Any]]:
    segments = store._log_segments(key)[-2:]
    records: list[dict[str, Any]] = []
    for segment in segments:
        records.extend(decode_lines(store._read_bytes(segment) or b""))
    return records


def live_claims(store: Storage, project: str, *, window: float,
                at: float | None = None) -> dict[str, dict[str, Any]]:
    """path -> newest live claim ``{session, path, tool, ts, at}`` (any session)."""
    from state.config import load_config
    from state.sessions import last_heartbeat, session_status

    moment = now() if at is None else at
    threshold = moment - window
    latest: dict[str, dict[str, Any]] = {}
    for record in _recent_records(store, project_key(project, CLAIMS)):
        ts = record.get("ts")
        session = record.get("session")
        if not isinstance(ts, int | float) or not isinstance(session, str):
            continue
        if record.get("release"):
            for path in [p for p, c in latest.items() if c["session"] == session
                         and (record.get("path") in (None, p))]:
                del latest[path]
            continue
        target = record.get("path")
        if isinstance(target, str) and ts >= threshold:
            latest[target] = {"session": session, "path": target, "tool": record.get("tool"),
                              "ts": ts, "at": iso(ts)}
    config = load_config(store)
    statuses: dict[str, str] = {}
    for claim in list(latest.values()):
        sid = claim["session"]
        if sid not in statuses:
            from state.paths import session_key

            state = store.read(session_key(sid, "state.json")) or {}
            statuses[sid] = session_status(state, last_heartbeat(store, sid), config, moment)[0]
        if statuses[sid] in ("ended", "stale"):
            del latest[claim["path"]]
        else:
            claim["session_status"] = statuses[sid]
    return latest
