"""The storage layer: where Orchestra's state is kept, and how it is kept safe.

What it promises, whichever backend holds the state (files below a folder, memory, a
PostgreSQL server shared by a team, :mod:`state.postgres`):

* **documents** (JSON objects at string keys such as ``a/b.json``): read whole without a
  lock and never torn; changed only in **transactions** that serialise writers (locks
  with a finite timeout, taken in key order), commit atomically or not at all, and bump
  the document's **version** — a conditional write fails with a conflict if someone
  else wrote since; a document nests at most ``MAX_DEPTH`` levels;
* **logs** (``*.jsonl``): appended one record per line without losing a line to a
  parallel writer, rotated at a size, read whole across their segments; a torn line is
  skipped, never fatal;
* **volatile documents**: replaced whole, last writer wins, no version;
* **locks** that a crash releases, and a corrupt document moved aside, never guessed at;
* files and folders private (0600 and 0700), nothing followed through a symlink, every
  name in a key one that is safe as a file name on every system;
* a large document's member read or changed in its bytes where a stamp vouches for them;
* committed changes told to listeners and to the store observers.

What it does not know: sessions, projects, messages, Claude Code or any agent — nor
what a document means. What it must know of the documents (which members must have a
type, whether one fits its model, how to evaluate a query...) it asks the
:class:`~state.persistence.storage.DocumentRules` handed to it where it is opened
(:func:`state.store.open_store` hands over Orchestra's). No module of this package, nor
of :mod:`state.postgres`, imports the domain (``tests/test_layering.py``).

Modules: ``storage`` (the interface, the encoding, the in-memory backend), ``filestore``
(the file backend), ``locks``, ``spans`` (one member in a document's bytes),
``observers``, ``machine`` (this machine's id); this module opens the backend a state
root names (:func:`open_backend`).
"""

from __future__ import annotations

import os

from state.errors import InvalidValueError
from state.jsontext import loads
from state.persistence.storage import CONFIG

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import DocumentRules, Storage

__all__ = ["local_config", "open_backend", "store_url"]


def store_url(root: str, config: dict[str, Any] | None = None) -> str | None:
    """The configured PostgreSQL URL for the state root ``root``, or None (file store):
    ``$ORCHESTRA_STORE_URL``, else ``store.url`` in the root's ``config.json``."""
    url = os.environ.get("ORCHESTRA_STORE_URL")
    if url:
        return url
    if config is None:
        config = local_config(root)
    section = config.get("store")
    value = section.get("url") if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else None


def open_backend(
    root: str | os.PathLike[str], *, rules: DocumentRules | None = None,
    lock_timeout: float | None = None, hook: bool = False,
    config: dict[str, Any] | None = None,
) -> Storage:
    """The store of the state root ``root``: files below it, or the PostgreSQL server it
    names (:func:`store_url`), keeping its local part there. Only that branch imports the
    PostgreSQL modules, and psycopg itself waits until a connection is needed.

    ``rules``: what the layer above knows of its documents (none: nothing).
    ``hook``: a short-lived writer (one hook event) — a PostgreSQL store then defers
    writes and reads from its local cache when it is fresh enough.
    ``config``: the root's ``config.json`` if the caller read it already.
    """
    from state.persistence.filestore import FileStorage  # the package loads none of its modules

    folder = os.fspath(root)
    url = store_url(folder, config)
    store: Storage
    if url is None:
        store = FileStorage(folder, rules=rules)
    else:
        # only a PostgreSQL store
        from state.postgres.settings import is_postgres_url, store_settings

        if not is_postgres_url(url):
            raise InvalidValueError("ORCHESTRA_STORE_URL must start with postgresql://")
        from state.postgres.storage import PgStorage  # psycopg waits for a connection

        settings = store_settings(config if config is not None else local_config(folder))
        store = PgStorage(url, folder, settings=settings, hook=hook, rules=rules)
    if lock_timeout is not None:
        store.lock_timeout = lock_timeout
    return store


def local_config(root: str) -> dict[str, Any]:
    """The state root's ``config.json`` as it is on this machine ({} if absent or bad)."""
    try:
        with open(os.path.join(root, CONFIG), "rb") as fh:
            config = loads(fh.read())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}
