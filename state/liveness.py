"""Whether a session is alive: its last heartbeat and the status derived from it.

The rules are :mod:`state.sessions`' (its module docstring): ``ended`` when ``state.json``
says so, else ``active``, ``idle`` or ``stale`` by the age of the last heartbeat. They live
here, apart from the session lifecycle, because the claims checked at every write ask them
of each session holding a claim: this module is a few lines, :mod:`state.sessions` is
large.
"""

from __future__ import annotations

from state.clock import now
from state.paths import session_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["HEARTBEAT", "last_heartbeat", "session_status"]

HEARTBEAT = "heartbeat.json"


def last_heartbeat(store: Storage, session_id: str) -> dict[str, Any]:
    try:
        return store.read(session_key(session_id, HEARTBEAT)) or {}
    except Exception:  # a torn or foreign heartbeat only costs us presence
        return {}


def session_status(state: dict[str, Any], beat: dict[str, Any], config: dict[str, Any],
                   at: float | None = None) -> tuple[str, float | None]:
    """(status, seconds since the last heartbeat) — see :mod:`state.sessions`."""
    last = beat.get("at")
    age = (now() if at is None else at) - last if isinstance(last, int | float) else None
    if state.get("status") == "ended":
        return "ended", age
    presence = config["presence"]
    if age is None or age >= presence["idle_seconds"]:
        return "stale", age
    if age >= presence["active_seconds"]:
        return "idle", age
    return "active", age
