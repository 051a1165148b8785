"""Orchestra's public marker for handlers and plugins.

``NAME`` is the pluggy project name, the entry-point group and the prefix of
every ``ORCHESTRA_*`` environment variable. Plugins need only::

    from hooks import hookimpl

    @hookimpl
    def on_pre_tool_use(event, ctx):
        ...

``hookimpl`` writes the same marker attribute that ``pluggy.HookimplMarker``
writes, but without importing pluggy (or even ``typing``): the dispatcher's hot
path imports handler modules directly and must not pay for either on every event.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GUARD_ATTR", "NAME", "hookimpl"]

NAME = "orchestra"
GUARD_ATTR = NAME + "_guard"


def hookimpl(
    function: Any = None,
    *,
    tryfirst: bool = False,
    trylast: bool = False,
    optionalhook: bool = False,
    specname: str | None = None,
    guard: bool = False,
) -> Any:
    """Mark ``function`` as the implementation of the hookspec of the same name.

    Use bare (``@hookimpl``) or with options. ``tryfirst``, ``trylast``,
    ``optionalhook`` and ``specname`` mean what they mean in pluggy.
    ``guard=True`` makes the handler fail *closed*: if it raises or overruns its
    time budget on a decision event, the reply denies or blocks with a reason
    naming it. Handlers are advisory (they fail open) by default. Wrappers are
    not supported: the dispatcher isolates every handler itself.
    """

    def mark(func: Any) -> Any:
        setattr(
            func,
            NAME + "_impl",
            {
                "wrapper": False,
                "hookwrapper": False,
                "optionalhook": optionalhook,
                "tryfirst": tryfirst,
                "trylast": trylast,
                "specname": specname,
            },
        )
        setattr(func, GUARD_ATTR, guard)
        return func

    return mark(function) if function is not None else mark
