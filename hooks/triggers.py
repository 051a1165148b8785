"""State triggers: turning committed document changes into ``on_state_change`` calls."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.registry import Call
    from hooks.runner import Runner

__all__ = ["change_listener", "changed_paths"]

_MISSING = object()


def changed_paths(old: Any, new: Any, prefix: tuple[str, ...] = ()
                  ) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Each changed value as ``(path, old, new)``; objects are compared key by key."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key in ("version",) and not prefix:
                continue
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict):
                yield from changed_paths(a, b, (*prefix, str(key)))
            else:
                yield ((*prefix, str(key)), None if a is _MISSING else a,
                       None if b is _MISSING else b)
    elif old != new:
        yield prefix, old, new


def session_of(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "sessions" else None


def change_listener(runner: Runner, calls: list[Call], ctx: HandlerContext
                    ) -> Callable[[str, Any, Any], None]:
    """A store listener that runs ``calls`` (isolated, in budget) for every changed value."""
    from state.query import format_path

    def listener(key: str, old: Any, new: Any) -> None:
        for path, before, after in changed_paths(old or {}, new):
            runner.run(calls, {"document": key, "path": format_path(list(path)), "old": before,
                               "new": after, "session_id": session_of(key), "ctx": ctx})

    return listener
