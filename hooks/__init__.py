"""Orchestra's public marker for handlers and plugins.

``NAME`` is the pluggy project name, the entry-point group and the prefix of
every ``ORCHESTRA_*`` environment variable. Plugins need only::

    from hooks import hookimpl
"""

from __future__ import annotations

import pluggy

__all__ = ["NAME", "hookimpl", "hookspec"]

NAME = "orchestra"

hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)
