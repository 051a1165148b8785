"""Opening the store: one function decides which backend and root are used."""

from __future__ import annotations

from state.filestore import FileStorage
from state.paths import root as state_root

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os

__all__ = ["open_store"]


def open_store(
    root: str | os.PathLike[str] | None = None, *, lock_timeout: float | None = None
) -> FileStorage:
    """The file store at ``root`` (default :func:`state.paths.home`)."""
    store = FileStorage(root if root is not None else state_root())
    if lock_timeout is not None:
        store.lock_timeout = lock_timeout
    return store
