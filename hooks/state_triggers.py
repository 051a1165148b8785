"""State triggers for changes made outside a dispatch (the CLIs).

``attach(store)`` subscribes a listener that, after each committed write, calls
the ``on_state_change`` implementations of the registered plugins — the same
ones the dispatcher calls for changes made by handlers — each isolated and
within a time budget. The plugin registry is loaded only when a change is
actually committed, so read-only commands never pay for it.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["attach"]

_BUDGET = 5.0
_HANDLER_TIMEOUT = 2.0


def attach(store: Storage, home: str) -> None:
    """Fire ``on_state_change`` for every change committed through ``store``."""

    def listener(key: str, old: Any, new: Any) -> None:
        from hooks.registry import load_table

        calls = load_table(home).calls_for("on_state_change")
        if not calls:
            return  # the common case: nothing listens, nothing more to import
        from hooks.context import HandlerContext
        from hooks.events import Event
        from hooks.runner import Runner
        from hooks.triggers import changed_paths, session_of
        from state.query import format_path

        event = Event({"hook_event_name": "StateChange", "source": "cli"})
        ctx = HandlerContext(event, home)
        ctx._store = store  # the CLI's own store, already open
        runner = Runner(event, ctx.log, deadline=time.monotonic() + _BUDGET,
                        handler_timeout=_HANDLER_TIMEOUT)
        try:
            for path, before, after in changed_paths(old or {}, new):
                runner.run(calls, {"document": key, "path": format_path(list(path)),
                                   "old": before, "new": after, "session_id": session_of(key),
                                   "ctx": ctx})
        finally:
            runner.close()

    def wants(key: str) -> bool:
        """Does any plugin implement ``on_state_change``? (Without one, a change need
        not hand the listener its documents: see Storage.member_transaction.)"""
        from hooks.registry import load_table

        return bool(load_table(home).calls_for("on_state_change"))

    listener.wants = wants  # type: ignore[attr-defined]
    store.subscribe(listener)
