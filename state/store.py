"""Opening the store: one function decides which backend and root are used.

The file store under the state root is the default. ``$ORCHESTRA_STORE_URL``
(or ``store.url`` in the root's own ``config.json``) set to ``postgresql://...``
selects :class:`state.postgres.storage.PgStorage`; the state root then keeps
this machine's config, its outbox and its read cache. Only that branch imports
the PostgreSQL modules, and psycopg itself waits until a connection is needed.
"""

from __future__ import annotations

import json
import os

from state.filestore import FileStorage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.storage import Storage

__all__ = ["open_store", "store_url"]


def store_url(root: str, config: dict[str, Any] | None = None) -> str | None:
    """The configured PostgreSQL URL for the state root ``root``, or None (file store)."""
    url = os.environ.get("ORCHESTRA_STORE_URL")
    if url:
        return url
    if config is None:
        config = _local_config(root)
    section = config.get("store")
    value = section.get("url") if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else None


def open_store(
    root: str | os.PathLike[str] | None = None, *, lock_timeout: float | None = None,
    hook: bool = False, config: dict[str, Any] | None = None,
) -> Storage:
    """The store for the state root ``root`` (default :func:`state.paths.home`).

    ``hook``: opened by the dispatcher for one event — a PostgreSQL store then
    defers writes and reads from its local cache when it is fresh enough.
    ``config``: the root's ``config.json`` if the caller read it already.
    """
    if root is None:
        from state import paths

        root = paths.root()  # a str: opening the store does not import pathlib
    folder = os.fspath(root)
    url = store_url(folder, config)
    store: Storage
    if url is None:
        store = FileStorage(folder)
    else:
        from state.postgres.settings import is_postgres_url, store_settings

        if not is_postgres_url(url):
            from state.errors import InvalidValueError

            raise InvalidValueError("ORCHESTRA_STORE_URL must start with postgresql://")
        from state.postgres.storage import PgStorage

        settings = store_settings(config if config is not None else _local_config(folder))
        store = PgStorage(url, folder, settings=settings, hook=hook)
    if lock_timeout is not None:
        store.lock_timeout = lock_timeout
    return store


def _local_config(root: str) -> dict[str, Any]:
    try:
        with open(os.path.join(root, "config.json"), "rb") as fh:
            config = json.loads(fh.read())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}
