"""Old name of :mod:`state.persistence.filestore`, kept for plugins and docs: the very objects
of its new home. Orchestra's own modules import the new one (a test checks), so the
dispatcher never loads this module."""

# Derived from the new home's own list, so the old name can never lag behind it.
from state.persistence.filestore import *  # noqa: F403
from state.persistence.filestore import __all__ as __all__
