"""Copying a whole store from one backend to another (``orchestra migrate --from --to``).

Every document, volatile document and log segment is copied as it is:
documents keep their ``version``, log lines keep their bytes (so message
cursors, which are byte offsets, stay valid). ``config.json`` is not copied: it
belongs to each machine. The destination must be empty, so nothing there is
overwritten by accident.
"""

from __future__ import annotations

import os

from state.errors import InvalidValueError
from state.persistence.filestore import FileStorage
from state.persistence.machine import MACHINE_FILE
from state.persistence.storage import CONFIG

TYPE_CHECKING = False
if TYPE_CHECKING:
    from state.persistence.storage import Storage

__all__ = ["copy_store", "state_keys"]

#: Files of the state root that belong to each machine (never copied).
_LOCAL_FILES = frozenset({CONFIG, MACHINE_FILE})


def state_keys(store: Storage) -> list[str]:
    """Every key holding state, sorted: the documents and logs at the top of the root and
    in the folders the store's rules name (``state_folders``); lock, temp and quarantined
    files left out."""
    from state.postgres.storage import PgStorage  # a file store is copied without it

    if isinstance(store, PgStorage):
        return [k for k in store.all_keys() if k not in _LOCAL_FILES]
    if not isinstance(store, FileStorage):
        raise InvalidValueError("can only copy file and PostgreSQL stores")
    root = os.fspath(store.root)
    keys = []
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts and parts[0] not in store.rules.state_folders:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not d.startswith(".") and not os.path.islink(
            os.path.join(folder, d))]
        for name in files:
            if (name.startswith(".") or ".corrupt-" in name
                    or not name.endswith((".json", ".jsonl"))
                    or (not parts and name in _LOCAL_FILES)):
                continue
            keys.append("/".join([*parts, name]))
    return sorted(keys)


def copy_store(source: Storage, destination: Storage) -> dict[str, int]:
    """Copy everything; returns counts by kind. Refuses a destination that holds state."""
    if state_keys(destination):
        raise InvalidValueError("the destination already holds Orchestra state; "
                                "copy into an empty store")
    counts = {"documents": 0, "logs": 0, "lines": 0}
    for key in state_keys(source):
        data = source._read_bytes(key)
        if data is None:
            continue
        if key.endswith(".jsonl"):
            if data:
                destination._append_bytes(key, data if data.endswith(b"\n") else data + b"\n")
            counts["logs"] += 1
            counts["lines"] += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        else:
            if isinstance(destination, FileStorage):
                destination._ensure_parent(key)
                from state.persistence.storage import encode_document  # into files only

                data = encode_document(source._decode(key, data))  # pretty, like its writers
            destination._write_document(key, data)
            counts["documents"] += 1
    return counts
