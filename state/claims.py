"""File claims: which session last touched which file, per project.

Every Write/Edit/NotebookEdit (and recognisable Bash write) appends one line
to ``projects/<id>/claims.jsonl`` — O(1), no lock. A claim is *live* while it is
younger than ``claims.window_seconds`` and its session is neither ended nor
stale. The log rotates at a small size, so finding live claims reads at most
the two newest segments. ``release_claims`` appends a release record, which
ends a session's claims early.

A claim names its file twice (:func:`claim_file`):

* ``file`` — the identity that claims are compared by: the real path (symlinks
  resolved) relative to the project's root, with ``/`` separators
  (``src/app.py``), so that the same file of a project checked out at different
  places — two machines — is one claim; a file outside the project keeps its
  absolute real path;
* ``path`` — the absolute real path the claiming session saw, for people.

The project's root (:func:`project_root`): ``projects.<id>.root`` from the
config, else the folder the session's project was taken from (its
``project_dir``, recorded at its first event: ``$CLAUDE_PROJECT_DIR`` or ``cwd``),
else ``$CLAUDE_PROJECT_DIR``, else the session's ``cwd``.
"""

from __future__ import annotations

import os

from state.clock import iso, now
from state.paths import project_key
from state.storage import Storage, decode_lines

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from typing import Any

__all__ = ["claim_file", "live_claims", "project_root", "record_claim", "release_claims"]

CLAIMS = "claims.jsonl"
SEGMENT_BYTES = 256 * 1024


def project_root(config: dict[str, Any], project: str,
                 state: dict[str, Any] | None = None) -> str | None:
    """The folder claims of ``project`` are relative to (see the module docstring)."""
    projects = config.get("projects")
    settings = projects.get(project) if isinstance(projects, dict) else None
    root = settings.get("root") if isinstance(settings, dict) else None
    if isinstance(root, str) and root:
        return os.path.expanduser(root)
    state = state or {}
    for folder in (state.get("project_dir"), os.environ.get("CLAUDE_PROJECT_DIR"),
                   state.get("cwd")):
        if isinstance(folder, str) and folder and os.path.isabs(folder):
            return folder
    return None


def claim_file(path: str, root: str | None) -> tuple[str, str]:
    """(``file``, ``path``) of a claim on ``path`` (absolute): see the module docstring."""
    try:
        real = os.path.realpath(path)
        base = os.path.realpath(root).rstrip(os.sep) + os.sep if root else None
    except (OSError, ValueError):  # a NUL, a loop: compare the text as it is
        return path, path
    if base is not None and os.path.normcase(real).startswith(os.path.normcase(base)):
        return real[len(base):].replace(os.sep, "/"), real
    return real, real


def record_claim(store: Storage, project: str, session_id: str, file: str, *, tool: str,
                 path: str | None = None, at: float | None = None) -> None:
    """Claim ``file`` (its identity, from :func:`claim_file`; ``path`` is for display)."""
    store.append(project_key(project, CLAIMS),
                 {"ts": round(now() if at is None else at, 6), "session": session_id,
                  "file": file[:4096], "path": (path or file)[:4096], "tool": tool[:64]},
                 max_bytes=SEGMENT_BYTES)


def release_claims(store: Storage, project: str, session_id: str,
                   file: str | None = None) -> None:
    """End ``session_id``'s claims (on ``file`` only, if given)."""
    record: dict[str, Any] = {"ts": round(now(), 6), "session": session_id, "release": True}
    if file is not None:
        record["file"] = file
    store.append(project_key(project, CLAIMS), record, max_bytes=SEGMENT_BYTES)


def _file(record: dict[str, Any]) -> Any:
    """A record's identity; lines written before ``file`` existed only have ``path``."""
    return record.get("file", record.get("path"))


def _recent_records(store: Storage, key: str) -> list[dict[str, Any]]:
    segments = store._log_segments(key)[-2:]
    records: list[dict[str, Any]] = []
    for segment in segments:
        records.extend(decode_lines(store._read_bytes(segment) or b""))
    return records


def live_claims(store: Storage, project: str, *, window: float,
                at: float | None = None) -> dict[str, dict[str, Any]]:
    """file -> newest live claim ``{session, file, path, tool, ts, at, session_status}``
    (any session)."""
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
            released = _file(record)
            for file in [f for f, c in latest.items() if c["session"] == session
                         and released in (None, f)]:
                del latest[file]
            continue
        target = _file(record)
        shown = record.get("path")
        if isinstance(target, str) and ts >= threshold:
            latest[target] = {"session": session, "file": target,
                              "path": shown if isinstance(shown, str) else target,
                              "tool": record.get("tool"), "ts": ts, "at": iso(ts)}
    config = load_config(store)
    statuses: dict[str, str] = {}
    for claim in list(latest.values()):
        sid = claim["session"]
        if sid not in statuses:
            from state.paths import session_key

            state = store.read(session_key(sid, "state.json")) or {}
            statuses[sid] = session_status(state, last_heartbeat(store, sid), config, moment)[0]
        if statuses[sid] in ("ended", "stale"):
            del latest[claim["file"]]
        else:
            claim["session_status"] = statuses[sid]
    return latest
