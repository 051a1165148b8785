"""Resolving the session a CLI command is about."""

from __future__ import annotations

import os

from state.errors import UsageError
from state.paths import validate_id

__all__ = ["SESSION_ENV", "current_session_id", "resolve_session_id"]

#: Where the current session's id comes from, in order. Orchestra exports the first at
#: SessionStart; Claude Code (2.1.332 and later) sets the second in hooks and in Bash.
SESSION_ENV = ("ORCHESTRA_SESSION_ID", "CLAUDE_CODE_SESSION_ID")


def current_session_id() -> str | None:
    """The id of the session this command runs in (unvalidated), or None outside one."""
    for name in SESSION_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return None


def resolve_session_id(raw: str | None) -> str:
    """``raw`` validated; ``-`` or nothing means the current session (:data:`SESSION_ENV`)."""
    if raw in (None, "", "-"):
        env = current_session_id()
        if not env:
            raise UsageError("no SESSION_ID given, and neither ORCHESTRA_SESSION_ID nor "
                             "CLAUDE_CODE_SESSION_ID is set")
        raw = env
    return validate_id(raw, "session id")
