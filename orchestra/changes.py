"""Cheap change detection over the state root: one ``stat`` per file, nothing read.

``orchestra watch`` and ``orchestra serve`` redraw when the state changes. Asking
"did anything change?" must cost far less than a render, so :func:`scan` takes
the ``(mtime_ns, size, inode)`` of every document and log in the three levels the
layout has (root, ``projects/<id>/``, ``sessions/<id>/``) — about 5 ms for 500
sessions — and :func:`changed_topics` says what the difference is about, so a
page showing claims need not reload for a heartbeat. Documents are replaced
(new inode), logs grow (new size): either way the signature moves.

A store that is not a folder of files (a database backend) has no such cheap
signature: :func:`scan` returns ``None`` and callers fall back to comparing
what they render.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["TOPICS", "Scan", "changed_topics", "scan", "topic_of"]

#: Signature of one file.
Stat = tuple[int, int, int]
#: Key (``sessions/<id>/state.json``) -> signature.
Scan = dict[str, Stat]

#: What a change can be about; pages subscribe to the ones they show.
TOPICS = ("sessions", "events", "board", "messages", "claims", "decisions", "config", "usage")

#: Folders below the root that hold no state a person looks at.
_SKIPPED = frozenset({"cache", "logs"})


def _wanted(name: str) -> bool:
    """Documents and logs only: no lock files, temp files or quarantined copies."""
    return not name.startswith(".") and (name.endswith(".json") or name.endswith(".jsonl"))


def _scan_folder(folder: str, prefix: str, out: Scan, *, recurse: bool) -> None:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        try:
            if entry.is_symlink():
                continue  # the store refuses symlinks; so do we
            if entry.is_dir():
                if recurse and entry.name not in _SKIPPED and not entry.name.startswith("."):
                    _scan_folder(entry.path, f"{prefix}{entry.name}/", out, recurse=False)
                continue
            if _wanted(entry.name):
                st = entry.stat()
                out[prefix + entry.name] = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            continue  # removed while we looked (a pruned session): it is simply gone


def scan(store: Any) -> Scan | None:
    """Signatures of every document and log of ``store``, or ``None`` if it has no files."""
    from state.persistence.filestore import FileStorage

    if not isinstance(store, FileStorage):
        return None
    root = os.fspath(store.root)
    out: Scan = {}
    _scan_folder(root, "", out, recurse=False)
    for level in ("projects", "sessions"):
        _scan_folder(os.path.join(root, level), f"{level}/", out, recurse=True)
    return out


def topic_of(key: str) -> tuple[str, ...]:
    """The topics a change of ``key`` is about."""
    name = key.rsplit("/", 1)[-1]
    if name.startswith("events") and name.endswith(".jsonl"):
        return ("events",)
    if name.startswith("messages") or name == "inbox.json":
        return ("messages", "sessions")
    if name.startswith(("claims", "guard")):  # guard.jsonl: the guard's decisions
        return ("claims",)
    if name.startswith("decisions"):
        return ("decisions", "board")
    if key.startswith("sessions/"):
        if name == "usage.json":  # tokens counted: the Timeline's chart, the sessions' cost
            return ("usage", "sessions")
        if name in ("tasks.json", "state.json"):
            return ("sessions", "board")
        return ("sessions",)
    if name.startswith("config"):
        return ("config", "sessions", "board", "claims")
    if name == "names.json":  # Claude Code's names of the sessions
        return ("sessions",)
    return ("board",)  # tools, epics, sprints, team


def changed_topics(old: Scan, new: Scan) -> set[str]:
    """Topics of every key added, removed or changed between two scans."""
    topics: set[str] = set()
    for key in old.keys() ^ new.keys():
        topics.update(topic_of(key))
    for key, signature in new.items():
        if key in old and old[key] != signature:
            topics.update(topic_of(key))
    return topics
