"""Calling handlers one by one, each under its own guard and time limit.

pluggy stops calling the remaining implementations when one raises, so the
dispatcher does not let pluggy call them: each handler runs in a short-lived
daemon thread that the dispatcher waits for at most until the handler's
deadline. A handler that raises (even ``SystemExit``) or overruns is logged and
skipped; the others still run. A *guard* handler that fails on a decision event
is turned into a refusal naming it (fail closed).

The last ``reserve`` seconds of the budget belong to the built-in handlers: a
plugin that overruns can use up its own share, never the time the session, the
heartbeat and the event log need to record the event.
"""

from __future__ import annotations

import threading
import time

from handlers import BUILTIN_HANDLERS
from hooks.contract import DECISION_EVENTS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.events import Event
    from hooks.log import DispatchLog
    from hooks.registry import Call

__all__ = ["Runner", "fail_closed_reply"]


class Runner:
    """Runs calls against one event within a budget; remembers failures."""

    def __init__(self, event: Event, log: DispatchLog, *, deadline: float,
                 handler_timeout: float, trace: bool = False, reserve: float = 0.0) -> None:
        self.event = event
        self.log = log
        self.deadline = deadline
        self.handler_timeout = handler_timeout
        self.trace = trace
        self.reserve = reserve  # seconds before the deadline only built-in handlers may use
        self.abandoned = False  # a thread is still running a handler that overran
        self.failures: list[str] = []
        #: (plugin, hook, seconds, "" | "error" | "overrun" | "skipped", context characters)
        self.calls: list[tuple[str, str, float, str, int]] = []

    def run(self, calls: list[Call], kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        """Call each handler; return ``(plugin, reply)`` votes in call order. Each call is
        also noted in :attr:`calls` for :mod:`hooks.telemetry`."""
        from hooks.telemetry import context_chars

        votes: list[tuple[str, Any]] = []
        for call in calls:
            started = time.monotonic()
            outcome = self.call(call, kwargs)
            status, chars = "", 0
            if isinstance(outcome, _Failure):
                status = outcome.kind
                self._failed(call, outcome.reason, outcome.exc, votes)
            elif outcome is not None:
                votes.append((call.plugin, outcome))
                chars = context_chars(outcome)
            self.calls.append((call.plugin, call.attr, time.monotonic() - started, status, chars))
        return votes

    def call(self, call: Call, kwargs: dict[str, Any]) -> Any:
        remaining = self.deadline - time.monotonic()
        if self.reserve and call.ref not in BUILTIN_HANDLERS:
            remaining -= self.reserve
        if remaining <= 0:
            return _Failure("was not run: the dispatch budget was used up", kind="skipped")
        box: list[Any] = []
        thread = threading.Thread(target=_invoke, args=(call, kwargs, box), daemon=True,
                                  name=f"orchestra:{call.plugin}.{call.attr}")
        started = time.monotonic()
        thread.start()
        limit = min(self.handler_timeout, remaining)
        thread.join(limit)
        if thread.is_alive():
            self.abandoned = True
            return _Failure(f"overran its time limit of {limit:.2f}s", kind="overrun")
        if self.trace:
            elapsed = (time.monotonic() - started) * 1000
            self.log.info(f"trace {self.event.name} {call.plugin}.{call.attr} {elapsed:.2f}ms")
        return box[0] if box else _Failure("returned nothing")

    def _failed(self, call: Call, reason: str, exc: BaseException | None,
                votes: list[tuple[str, Any]]) -> None:
        message = f"handler {call.plugin}.{call.attr} on {self.event.name} {reason}"
        self.failures.append(message)
        self.log.error(message, exc)
        if call.guard:
            reply = fail_closed_reply(self.event, f"guard {call.plugin} failed ({reason})")
            if reply is not None:
                votes.append((call.plugin, reply))


class _Failure:
    __slots__ = ("exc", "kind", "reason")

    def __init__(self, reason: str, exc: BaseException | None = None, *,
                 kind: str = "error") -> None:
        self.reason = reason
        self.exc = exc
        self.kind = kind  # error, overrun or skipped (the budget was used up)


def _invoke(call: Call, kwargs: dict[str, Any], box: list[Any]) -> None:
    try:
        function = call.resolve()
        box.append(function(**{name: kwargs[name] for name in call.args}))
    except BaseException as exc:  # SystemExit too: a handler may not end the dispatch
        reason = f"raised {type(exc).__name__}: {exc}"
        box.append(_Failure(reason, exc))


def fail_closed_reply(event: Event, reason: str) -> dict[str, Any] | None:
    """The refusal a failed guard stands for, or None where nothing can be refused."""
    name = event.name
    if name not in DECISION_EVENTS:
        return None
    text = f"Orchestra: {reason}"
    if name in ("PreToolUse", "PreSkillShellCommand", "PreModelSwitch"):
        return {"hookSpecificOutput": {"permissionDecision": "deny",
                                       "permissionDecisionReason": text}}
    if name == "PermissionRequest":
        return {"hookSpecificOutput": {"decision": {"behavior": "deny", "message": text}}}
    if name in ("Elicitation", "ElicitationResult"):
        return {"hookSpecificOutput": {"action": "decline"}}
    if name in ("Stop", "SubagentStop") and event.stop_hook_active:
        return None  # blocking again would loop
    return {"decision": "block", "reason": text}
