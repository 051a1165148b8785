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
    from collections.abc import Callable, Iterable
    from typing import Any

__all__ = ["GUARD_ATTR", "NAME", "NEEDS_ATTR", "TOOLS_ATTR", "hookimpl"]

NAME = "orchestra"
GUARD_ATTR = NAME + "_guard"
TOOLS_ATTR = NAME + "_tools"
NEEDS_ATTR = NAME + "_needs"


def hookimpl(
    function: Any = None,
    *,
    tryfirst: bool = False,
    trylast: bool = False,
    optionalhook: bool = False,
    specname: str | None = None,
    guard: bool = False,
    tools: Iterable[str] | None = None,
    needs: Iterable[str] | Callable[[dict[str, Any]], Iterable[str] | None] | None = None,
) -> Any:
    """Mark ``function`` as the implementation of the hookspec of the same name.

    Use bare (``@hookimpl``) or with options. ``tryfirst``, ``trylast``,
    ``optionalhook`` and ``specname`` mean what they mean in pluggy.
    ``guard=True`` makes the handler fail *closed*: if it raises or overruns its
    time budget on a decision event, the reply denies or blocks with a reason
    naming it. Handlers are advisory (they fail open) by default. Wrappers are
    not supported: the dispatcher isolates every handler itself.
    ``tools=["Bash", "Write"]`` calls the handler only for events about one of those
    tools (``tool_name``), like a matcher in Claude Code's settings: for any other
    event its module is not even imported.
    ``needs=["Stop", ...]`` (for ``on_event`` and ``after_dispatch``, which are called for
    every event): the events this handler needs Claude Code to send. It is still called
    for every event that is dispatched, but an event that no enabled handler needs is not
    registered (``orchestra install``) and the dispatcher leaves it at once (plugin mode).
    Default: every event. May be a function of the config (with its defaults) returning
    the events, or None for every event; it is asked when the dispatch table is built.
    """
    only = None if tools is None else tuple(str(tool) for tool in tools)
    wanted = needs if needs is None or callable(needs) else tuple(str(e) for e in needs)

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
        setattr(func, TOOLS_ATTR, only)
        setattr(func, NEEDS_ATTR, wanted)
        return func

    return mark(function) if function is not None else mark
