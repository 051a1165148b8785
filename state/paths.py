"""The one place that turns ids into locations under the state root.

Every id passes :func:`validate_id` before it becomes part of a path, and every
location is a *key*: a relative POSIX path below the root such as
``sessions/<id>/state.json``. Storage backends map keys to files (or memory);
nothing else builds paths.

Layout::

    <root>/config.json  tools.json
    <root>/projects/<project_id>/epics.json  sprints.json  team.json  decisions.jsonl
    <root>/sessions/<session_id>/state.json  tasks.json  events.jsonl  messages.jsonl
"""

from __future__ import annotations

import os

from state.errors import InvalidIdError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

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

MAX_ID_LENGTH = 128
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# Names Windows refuses as file names, whatever the extension.
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(10)] + [f"lpt{i}" for i in range(10)]
)


def home() -> Path:
    """The state root: ``$ORCHESTRA_HOME``, default ``~/.claude/orchestration``."""
    from pathlib import Path

    return Path(root())


def root() -> str:
    """:func:`home` as a string: opening the store must not import :mod:`pathlib`."""
    configured = os.environ.get("ORCHESTRA_HOME")
    if configured:
        return os.path.expanduser(configured)
    return os.path.join(os.path.expanduser("~"), ".claude", "orchestration")


def make_private_dirs(folder: str | os.PathLike[str]) -> None:
    """``os.makedirs(folder, 0o700, exist_ok=True)``, except that every folder it creates
    is private, not only the last one.

    ``os.makedirs`` gives the parents it creates the default mode (0755 under umask 022),
    so a state root created on the way to its ``logs/`` or ``sessions/`` folder could be
    read by every user. Folders that exist are left as they are: nothing above the state
    root is changed (``~/.claude`` belongs to Claude Code).
    """
    folder = os.fspath(folder)
    try:
        os.mkdir(folder, 0o700)
        return
    except FileNotFoundError:
        pass  # a parent is missing: make it (private too), then this one
    except OSError:  # it exists (a read-only file system may say so with EROFS)
        if os.path.isdir(folder):
            return
        raise
    head, tail = os.path.split(folder)
    if not tail:  # a trailing separator
        head, tail = os.path.split(head)
    if not head or head == folder:
        raise FileNotFoundError(f"cannot create {folder}: no parent folder")
    make_private_dirs(head)
    try:
        os.mkdir(folder, 0o700)
    except OSError:  # another process made it meanwhile?
        if not os.path.isdir(folder):
            raise


def validate_id(value: object, kind: str = "id") -> str:
    """Return ``value`` if it is safe to use as one path component, else raise.

    Allowed: 1-128 ASCII letters, digits, ``-``, ``_`` and ``.``, starting with a
    letter or digit (so never ``.``, ``..`` or a hidden file), not ending with
    ``.`` (which Windows strips, so ``a.`` would alias ``a``), not a name
    Windows reserves. Everything else — separators, NUL, whitespace, unicode
    look-alikes — is refused with an :class:`InvalidIdError` naming ``kind``.
    """
    if not isinstance(value, str):
        raise InvalidIdError(f"invalid {kind}: expected a string, got {type(value).__name__}")
    if not value:
        raise InvalidIdError(f"invalid {kind}: empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(f"invalid {kind}: longer than {MAX_ID_LENGTH} characters")
    if not _ID_CHARS.issuperset(value):
        bad = next(ch for ch in value if ch not in _ID_CHARS)
        raise InvalidIdError(
            f"invalid {kind} {value[:40]!r}: character {bad!r} is not allowed "
            "(use letters, digits, '-', '_' and '.')"
        )
    if not value[0].isalnum():
        raise InvalidIdError(f"invalid {kind} {value!r}: must start with a letter or digit")
    if value.endswith("."):  # Windows drops a trailing dot: "a." would be the file "a"
        raise InvalidIdError(f"invalid {kind} {value!r}: must not end with '.'")
    if value.split(".")[0].lower() in _RESERVED:
        raise InvalidIdError(f"invalid {kind} {value!r}: reserved device name")
    return value


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


def is_id(value: object) -> bool:
    """Whether ``value`` passes :func:`validate_id` (for data that may hold anything, such
    as a hand-edited config)."""
    try:
        validate_id(value)
    except ValueError:
        return False
    return True


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
