"""The one place that turns ids into locations under the state root.

Every id passes :func:`validate_id` before it becomes part of a path, and every
location is a *key*: a relative POSIX path below the root such as
``sessions/<id>/state.json``. Storage backends map keys to files (or memory);
nothing else builds paths.

This is the domain's side: where Orchestra keeps what (the state root, the keys of
sessions and projects). What a key may be made of (:func:`validate_id`) and how the
folders of the root are made (:func:`make_private_dirs`) are the storage layer's rules;
they are re-exported here, where every caller has always found them.

Layout::

    <root>/config.json  tools.json
    <root>/projects/<project_id>/epics.json  sprints.json  team.json  decisions.jsonl
    <root>/sessions/<session_id>/state.json  tasks.json  events.jsonl  messages.jsonl
"""

from __future__ import annotations

import os

from state.persistence.filestore import make_private_dirs
from state.persistence.storage import MAX_ID_LENGTH, is_id, validate_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path  # pathlib costs more than a heartbeat

__all__ = [
    "MAX_ID_LENGTH",
    "config_key",
    "home",
    "is_id",
    "make_private_dirs",
    "project_key",
    "project_slug",
    "root",
    "session_key",
    "tools_key",
    "validate_id",
]


def home() -> Path:
    """The state root: ``$ORCHESTRA_HOME``, default ``~/.claude/orchestration``."""
    from pathlib import Path  # pathlib costs more than a heartbeat

    return Path(root())


def root() -> str:
    """:func:`home` as a string: opening the store must not import :mod:`pathlib`."""
    configured = os.environ.get("ORCHESTRA_HOME")
    if configured:
        return os.path.expanduser(configured)
    return os.path.join(os.path.expanduser("~"), ".claude", "orchestration")


def project_slug(name: str) -> str | None:
    """The project id for a folder called ``name``, or None if none can be made.

    Lower-cased; characters other than ASCII letters, digits, ``-``, ``_`` and ``.``
    become ``-``; leading and trailing ``-._`` are dropped; at most 64 characters.
    Sessions derive their project from their folder with it, and ``send --project``
    normalises a name with it, so that both spell a project the same way.
    """
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-"
                      for c in name.lower()).strip("-._")[:64]
    try:
        return validate_id(cleaned, "project id")
    except ValueError:
        return None


def config_key() -> str:
    return "config.json"


def tools_key() -> str:
    return "tools.json"


def project_key(project_id: str, name: str) -> str:
    """Key of document or log ``name`` of project ``project_id`` (validated)."""
    return f"projects/{validate_id(project_id, 'project id')}/{name}"


def session_key(session_id: str, name: str) -> str:
    """Key of document or log ``name`` of session ``session_id`` (validated)."""
    return f"sessions/{validate_id(session_id, 'session id')}/{name}"
