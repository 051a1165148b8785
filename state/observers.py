"""Store observers: code outside the store that wants to hear of committed changes.

The store knows nothing of hooks or plugins. A package that wants every change made
through a CLI (``state_manager set``, ``shared_state set-config``...) declares a callable
``attach(store, root)`` under the entry-point group :data:`GROUP`; Orchestra's own hooks
runtime declares ``hooks.state_triggers:attach`` there, which turns changes into
``on_state_change`` calls. The group is read only when the first change is committed,
so read-only commands never pay for scanning installed distributions.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.storage import Storage

__all__ = ["GROUP", "attach_observers"]

GROUP = "orchestra.store_observers"


def attach_observers(store: Storage, root: str) -> None:
    """Have the observers of :data:`GROUP` see every change ``store`` commits from now on."""
    attached = False

    def first_change(key: str, old: Any, new: Any) -> None:
        nonlocal attached
        if attached:
            return
        attached = True
        before = len(store._listeners)
        for observer in _load():
            try:
                observer(store, root)
            except Exception as exc:  # an observer must never break a committed write
                sys.stderr.write(f"orchestra: store observer {observer!r} failed: {exc}\n")
        # Observers attached just now missed the change that woke them up.
        for listener in store._listeners[before:]:
            listener(key, old, new)

    store.subscribe(first_change)


def _load() -> list[Any]:
    from importlib.metadata import entry_points

    found = []
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            found.append(entry.load())
        except Exception as exc:
            sys.stderr.write(f"orchestra: cannot load store observer {entry.value}: {exc}\n")
    return found
