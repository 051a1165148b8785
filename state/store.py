"""Opening Orchestra's store: the backend the state root names, with the domain's rules.

The storage layer (:mod:`state.persistence`, :mod:`state.postgres`) knows no session nor
project; what it must know of Orchestra's documents it asks the rules it is handed
here, where the store is opened: :data:`RULES`. The file store under the state root is
the default; ``$ORCHESTRA_STORE_URL`` (or ``store.url`` in the root's own
``config.json``) set to ``postgresql://...`` selects the PostgreSQL backend (see
:func:`state.persistence.open_backend`).

The rules load what they need on first use: a hook that writes no large document and
runs no query imports neither the models nor the JSONPath engine.
"""

from __future__ import annotations

import os

from state.paths import root as state_root
from state.persistence import open_backend, store_url
from state.persistence.storage import DocumentRules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["RULES", "OrchestraRules", "open_store", "store_url"]

#: Members the handlers build on, by document name: one of another type (a hand edit)
#: makes the document as unusable as one that does not parse (see DocumentRules).
_CONTAINERS: dict[str, tuple[tuple[str, type], ...]] = {
    "state.json": (("session_id", str), ("active_work", dict), ("active_work.agents", dict)),
    "tasks.json": (("tasks", dict),),
    "inbox.json": (("offsets", dict), ("held", list)),
    "usage.json": (("transcripts", dict), ("tokens", dict), ("by_model", dict),
                   ("seen_message_ids", list)),
}
#: Documents replaced last-writer-wins (state.sessions.heartbeat, handlers.heartbeat).
_VOLATILE = frozenset({"heartbeat.json"})
#: Documents whose every change must start from the latest version: a message inbox's
#: cursor advanced from a copy could deliver a message twice (state.messages).
_LATEST = frozenset({"inbox.json"})


def _name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


class OrchestraRules(DocumentRules):
    """What the store must know of Orchestra's documents (see :class:`DocumentRules`)."""

    state_folders = ("sessions", "projects")

    def containers(self, key: str) -> tuple[tuple[str, type], ...]:
        return _CONTAINERS.get(_name(key), ())

    def fits(self, key: str, doc: dict[str, Any]) -> bool:
        from state.session_rules import fits_document  # only when a large one is written

        return fits_document(key, doc)

    def fits_member(self, key: str, parts: list[str], value: Any) -> bool:
        from state.session_rules import fits_stored_member  # only a set in place

        return fits_stored_member(key, parts, value)

    def query(self, doc: Any, expression: str) -> list[Any]:
        from state.query import jsonpath_query  # the JSONPath engine: only for a query

        return jsonpath_query(doc, expression)

    def server_query(self, expression: str) -> str | None:
        from state.query import to_postgres_jsonpath  # only a PostgreSQL store

        return to_postgres_jsonpath(expression)

    def volatile(self, key: str) -> bool:
        return _name(key) in _VOLATILE

    def needs_latest(self, key: str) -> bool:
        return _name(key) in _LATEST


#: The rules every store Orchestra opens is given.
RULES = OrchestraRules()


def open_store(
    root: str | os.PathLike[str] | None = None, *, lock_timeout: float | None = None,
    hook: bool = False, config: dict[str, Any] | None = None,
) -> Storage:
    """The store for the state root ``root`` (default :func:`state.paths.root`), with
    Orchestra's :data:`RULES`.

    ``hook``: opened by the dispatcher for one event — a PostgreSQL store then
    defers writes and reads from its local cache when it is fresh enough.
    ``config``: the root's ``config.json`` if the caller read it already.
    """
    if root is None:
        root = state_root()  # a str: opening the store does not import pathlib
    return open_backend(root, rules=RULES, lock_timeout=lock_timeout, hook=hook,
                        config=config)

