"""Per-session metrics, derived from the event log when read (placeholder)."""

from __future__ import annotations

from typing import Any

from state.storage import Storage

__all__ = ["session_metrics"]


def session_metrics(store: Storage, session_id: str) -> dict[str, Any]:
    return {}
