"""Old name of :mod:`state.persistence.filestore`, kept for plugins and docs: the very objects
of its new home. Orchestra's own modules import the new one (a test checks), so the
dispatcher never loads this module."""

from state.persistence.filestore import (
    FileStorage,
    make_private_dirs,
)

__all__ = [
    "FileStorage",
    "make_private_dirs",
]
