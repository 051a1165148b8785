"""Building handler replies without remembering Claude Code's JSON shapes.

Each function returns a plain ``dict`` in Claude Code's reply shape; the
dispatcher fills in ``hookEventName`` and merges replies from all handlers.
Combine several with ``{**context("..."), **system_message("...")}`` only when
they do not share keys; otherwise return the richer dict by hand.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "allow",
    "ask",
    "block",
    "context",
    "defer",
    "deny",
    "stop",
    "system_message",
]


def _permission(decision: str, reason: str | None, updated_input: Any = None) -> dict[str, Any]:
    specific: dict[str, Any] = {"permissionDecision": decision}
    if reason:
        specific["permissionDecisionReason"] = reason
    if updated_input is not None:
        specific["updatedInput"] = updated_input
    return {"hookSpecificOutput": specific}


def allow(reason: str | None = None, *, updated_input: Any = None) -> dict[str, Any]:
    """PreToolUse / PreSkillShellCommand / PreModelSwitch: allow (optionally rewriting input)."""
    return _permission("allow", reason, updated_input)


def ask(reason: str) -> dict[str, Any]:
    """Ask the user to confirm; ``reason`` is shown in the prompt."""
    return _permission("ask", reason)


def defer(reason: str | None = None) -> dict[str, Any]:
    """PreToolUse in ``-p`` mode: hand the decision back to the caller."""
    return _permission("defer", reason)


def deny(reason: str) -> dict[str, Any]:
    """Refuse the tool call; ``reason`` reaches Claude."""
    return _permission("deny", reason)


def block(reason: str) -> dict[str, Any]:
    """``decision: block`` on events that honour it (Stop continues Claude with ``reason``)."""
    return {"decision": "block", "reason": reason}


def context(text: str) -> dict[str, Any]:
    """Add ``text`` to Claude's context (``additionalContext``)."""
    return {"hookSpecificOutput": {"additionalContext": text}}


def system_message(text: str) -> dict[str, Any]:
    """A warning shown to the user."""
    return {"systemMessage": text}


def stop(reason: str) -> dict[str, Any]:
    """``continue: false``: stop Claude after this hook; ``reason`` is shown to the user."""
    return {"continue": False, "stopReason": reason}
