"""The deterministic views behind ``python -m styles.render``.

Each view module has ``build(snapshot) -> dict`` (the data, printed by
``--json``) and ``text(data) -> str`` (the fixed-width ASCII layout of exactly
that data), so the picture and the JSON can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = ["VIEWS", "load_view"]

#: View name -> (module, one-line description).
VIEWS: dict[str, tuple[str, str]] = {
    "dashboard": ("dashboard", "sessions, tasks, sprint, agents, tools, blockers at a glance"),
    "board": ("board", "kanban board by status, blockers, suggested assignments"),
    "team": ("team", "members, tools with their load, agents of every session"),
    "sessions": ("sessions", "all sessions; the current one in detail"),
    "sprint": ("sprint", "one sprint (--sprint, default the current), velocity, blockers"),
    "config": ("config", "effective settings, validity, history for rollback"),
    "decisions": ("decisions", "decision log with rationale and who agreed"),
    "timeline": ("timeline", "a lane per session: what each did, when (--zoom 15m|1h|day)"),
}


def load_view(name: str) -> tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], str]]:
    """(build, text) of view ``name`` (imported on demand: a render needs one view)."""
    import importlib

    module: ModuleType = importlib.import_module(f"styles.views.{VIEWS[name][0]}")
    return module.build, module.text
