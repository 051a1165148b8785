"""Helpers for the coordination tests (imported as tests.coordination._helpers)."""

from __future__ import annotations

from typing import Any


def context_of(outcome: Any) -> str:
    reply = outcome.reply or {}
    return str((reply.get("hookSpecificOutput") or {}).get("additionalContext", ""))
