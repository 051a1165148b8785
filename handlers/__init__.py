"""Orchestra's built-in handlers: ordinary plugins, listed in one place.

Each module is registered like a third-party plugin under its short name (the
part after ``handlers.``) and can be disabled the same way, with
``ORCHESTRA_DISABLED_PLUGINS`` or ``plugins.disabled`` in the config.
"""

from __future__ import annotations

#: Module names of the built-in handlers (call order comes from tryfirst/trylast,
#: never from this order).
BUILTIN_HANDLERS: tuple[str, ...] = (
    "handlers.session",
    "handlers.heartbeat",
    "handlers.eventlog",
    "handlers.tasks",
    "handlers.subagents",
    "handlers.metrics",
    "handlers.messages",
    "handlers.presence",
    "handlers.claims",
    "handlers.coordination",
    "handlers.capacity",
    "handlers.orchestration",
)
