"""Resolving the session a CLI command is about."""

from __future__ import annotations

import os

from state.cli import UsageError
from state.paths import validate_id

__all__ = ["resolve_session_id"]


def resolve_session_id(raw: str | None) -> str:
    """``raw`` validated; ``-`` or nothing means ``$ORCHESTRA_SESSION_ID``."""
    if raw in (None, "", "-"):
        env = os.environ.get("ORCHESTRA_SESSION_ID")
        if not env:
            raise UsageError("no SESSION_ID given and ORCHESTRA_SESSION_ID is not set")
        raw = env
    return validate_id(raw, "session id")
