"""The machine id: which machine a state root is on, stable per machine (sessions name
their machine by it, and the PostgreSQL outbox its operations).

``$ORCHESTRA_MACHINE_ID`` wins (a valid id). Otherwise the id is read from
``<state root>/machine.json`` (the caller names the root); the first call creates it
as the host name (lower-cased, reduced to id characters, at most 40 of them) plus a dash and
four random hex digits, so two laptops both called ``dev`` stay apart. The file
is written once, atomically, and never changed: renaming the host does not
rename its past sessions. Two state roots on one host are two machines, which
is what the multi-machine tests rely on.
"""

from __future__ import annotations

import json
import os

from state.persistence.filestore import make_private_dirs
from state.persistence.storage import validate_id

__all__ = ["MACHINE_FILE", "machine_id"]

MACHINE_FILE = "machine.json"


def machine_id(root: str | os.PathLike[str]) -> str:
    """This machine's id for the state root ``root`` (see the module docstring)."""
    configured = os.environ.get("ORCHESTRA_MACHINE_ID")
    if configured:
        return validate_id(configured, "machine id (ORCHESTRA_MACHINE_ID)")
    path = os.path.join(os.fspath(root), MACHINE_FILE)
    stored = _read(path)
    if stored is not None:
        return stored
    make_private_dirs(root)
    candidate = f"{_host_slug()}-{os.urandom(2).hex()}"
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    # Private like every file of the state root (open() would make it 0644 under umask 022).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(tmp, flags, 0o600), "w", encoding="utf-8") as fh:
        json.dump({"machine_id": candidate}, fh)
        fh.write("\n")
    try:
        # link, not replace: when two processes race, the first id written stays.
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError:  # no hard links (some filesystems): rename; last writer wins once
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return _read(path) or candidate


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh).get("machine_id")
        return validate_id(value, "machine id")
    except (OSError, ValueError, AttributeError):
        return None


def _host_slug() -> str:
    import socket  # once per machine: the first id

    name = socket.gethostname().split(".")[0].lower()
    slug = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in name)
    slug = slug.strip("-_")[:40]
    return slug if slug and slug[0].isalnum() else "host"
