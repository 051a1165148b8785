"""Calling handlers one by one, each under its own guard and time limit.

pluggy stops calling the remaining implementations when one raises, so the
dispatcher does not let pluggy call them: each handler runs on a worker thread
that the dispatcher waits for at most until the handler's deadline. A handler that
raises (even ``SystemExit``) or overruns is logged and skipped; the others still
run. A *guard* handler that fails on a decision event is turned into a refusal
naming it (fail closed).

One worker runs the calls of a dispatch one after the other and is handed each
call through two locks, which costs a tenth of starting a thread per handler. A
worker whose handler overran is abandoned — it finishes that handler and ends —
and the next call gets a new worker; so does a call made while the worker is busy
(an ``on_state_change`` handler called from inside another handler's write).
Workers are ``_thread`` threads: the dispatcher never imports :mod:`threading`.
:func:`wait_for_handlers` waits for the abandoned ones (embedders, tests).

Built-in handlers skip the worker where they can (:class:`_Alarm`): on the main thread
of a POSIX process whose ``SIGALRM`` nobody else uses, they run on that thread under an
interval timer, and a handler still running at its limit is interrupted (it raises
:class:`HandlerOverrun` from wherever it is, sleeps and lock waits included) and
reported as overrun, like an abandoned one. Handing each call to a thread and back
costs two thread switches, about a quarter of a millisecond each on a busy machine —
a tenth of an interpreter start for an ordinary tool call. An interrupted handler
unwinds its ``with`` blocks and ``finally`` clauses, so its writes end as every
interrupted write does: the previous state or the new one. Third-party plugins keep
their workers (their share of the budget, and code that might swallow the interrupt),
and so does everything on Windows or off the main thread.

The last ``reserve`` seconds of the budget belong to the built-in handlers: a
plugin that overruns can use up its own share, never the time the session, the
heartbeat and the event log need to record the event.
"""

from __future__ import annotations

import _imp
import _thread
import sys
import time

try:  # the builtin module under signal: signal itself imports enum, far off the hot path
    import _signal
except ImportError:  # pragma: no cover - every CPython has it
    _signal = None

from handlers import BUILTIN_HANDLERS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.events import Event
    from hooks.log import DispatchLog
    from hooks.registry import Call

__all__ = ["HandlerOverrun", "Runner", "fail_closed_reply", "wait_for_handlers"]

#: Workers still running a handler that overran its limit.
_ABANDONED: set[_Worker] = set()


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
        self._idle: list[_Worker] = []
        self._alarm: _Alarm | None = None
        self._no_alarm = False  # tried once: this thread or platform cannot have one

    def close(self) -> None:
        """End the idle workers (an abandoned one ends when its handler returns) and give
        ``SIGALRM`` back."""
        while self._idle:
            self._idle.pop().stop()
        if self._alarm is not None:
            self._alarm.close()
            self._alarm = None

    def run(self, calls: list[Call], kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        """Call each handler; return ``(plugin, reply)`` votes in call order. Each call is
        also noted in :attr:`calls` for :mod:`hooks.observe`."""
        from hooks.observe import context_chars

        votes: list[tuple[str, Any]] = []
        tool = self.event.tool_name
        for call in calls:
            if not call.wants(tool):
                continue  # hookimpl(tools=...) leaves this event out: not even imported
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
        started = time.monotonic()
        limit = min(self.handler_timeout, remaining)
        alarm = self._alarm_for(call)
        if alarm is not None:
            box = alarm.run(call, kwargs, limit)
            if box is None:
                return _Failure(f"overran its time limit of {limit:.2f}s", kind="overrun")
        else:
            try:
                worker = self._idle.pop()
            except IndexError:
                worker = _Worker()
            box = worker.run(call, kwargs, limit)
            if box is None:
                self.abandoned = True
                return _Failure(f"overran its time limit of {limit:.2f}s", kind="overrun")
            self._idle.append(worker)
        if self.trace:
            elapsed = (time.monotonic() - started) * 1000
            self.log.info(f"trace {self.event.name} {call.plugin}.{call.attr} {elapsed:.2f}ms")
        return box[0] if box else _Failure("returned nothing")

    def _alarm_for(self, call: Call) -> _Alarm | None:
        """The alarm a built-in handler runs under on this thread, or None: a worker."""
        if call.ref not in BUILTIN_HANDLERS or self._no_alarm:
            return None
        if self._alarm is None:
            self._alarm = _Alarm.take()
            self._no_alarm = self._alarm is None
        elif self._alarm.owner != _thread.get_ident():
            return None  # a call made from a plugin's worker: the signal is the main thread's
        return self._alarm

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


class HandlerOverrun(BaseException):
    """Raised inside a built-in handler that ran past its limit (see :class:`_Alarm`).
    Not an :class:`Exception`, so that a handler's ``except Exception`` does not
    swallow it."""


#: Seconds between the interrupts of a handler that keeps running past its limit
#: (one that caught :class:`HandlerOverrun` and went on is interrupted again).
ALARM_REPEAT = 0.05


class _Alarm:
    """Calls on this thread under ``ITIMER_REAL``: the ``SIGALRM`` handler raises
    :class:`HandlerOverrun` in the handler that is running when its limit passes.

    Never while importlib holds its global lock (for an instant around each import):
    interrupted there, it would keep it for good and hang every other thread's import; the
    next ring comes :data:`ALARM_REPEAT` later. An interrupt that Python swallows (one
    landing in a weakref callback or ``__del__``) is not reported as unraisable either:
    the timer rings again."""

    __slots__ = ("_armed", "_fired", "_hook", "_previous", "owner")

    def __init__(self, previous: Any) -> None:
        self._previous = previous
        self._hook = sys.unraisablehook
        self.owner = _thread.get_ident()  # the thread the signal handler interrupts
        self._armed = False  # a call is running under the timer
        self._fired = False  # ... and its limit passed

    @classmethod
    def take(cls) -> _Alarm | None:
        """Install the ``SIGALRM`` handler; None where that is impossible or someone else
        uses the signal or the timer (Windows; not the main thread; pytest-timeout, say)."""
        if _signal is None or not hasattr(_signal, "setitimer"):
            return None
        try:
            if (_signal.getsignal(_signal.SIGALRM) != _signal.SIG_DFL
                    or _signal.getitimer(_signal.ITIMER_REAL)[0]):
                return None
            alarm = cls(_signal.SIG_DFL)
            _signal.signal(_signal.SIGALRM, alarm._ring)
        except (ValueError, OSError):  # not the main thread of the main interpreter
            return None
        sys.unraisablehook = alarm._unraisable
        return alarm

    def close(self) -> None:
        self._armed = False
        _signal.setitimer(_signal.ITIMER_REAL, 0)
        _signal.signal(_signal.SIGALRM, self._previous)
        if sys.unraisablehook == self._unraisable:  # unless someone has replaced it since
            sys.unraisablehook = self._hook

    def run(self, call: Call, kwargs: dict[str, Any], limit: float) -> list[Any] | None:
        """The call's result box, or None if it ran past ``limit``."""
        if self._armed:  # called from inside a running handler: under that one's limit
            box: list[Any] = []
            _invoke(call, kwargs, box)
            return None if self._fired else box
        box = []
        self._fired = False
        self._armed = True
        try:
            _signal.setitimer(_signal.ITIMER_REAL, limit, ALARM_REPEAT)
            _invoke(call, kwargs, box)
        except HandlerOverrun:
            pass  # the limit passed between the handler's return and the line below
        finally:
            self._armed = False  # first: no interrupt once this line ran
            _signal.setitimer(_signal.ITIMER_REAL, 0)
        return None if self._fired else box

    def _ring(self, signum: int, frame: Any) -> None:
        if self._armed and not _imp.lock_held():
            self._fired = True
            raise HandlerOverrun

    def _unraisable(self, unraisable: Any) -> None:
        if unraisable.exc_type is not HandlerOverrun:
            self._hook(unraisable)


class _Worker:
    """A thread that runs one call at a time, handed over through two locks."""

    __slots__ = ("_box", "_done", "_ended", "_go", "_job")

    def __init__(self) -> None:
        self._go = _thread.allocate_lock()  # released by the dispatcher: a job is ready
        self._done = _thread.allocate_lock()  # released by the worker: the job is done
        self._ended = _thread.allocate_lock()  # held while the thread lives
        self._job: tuple[Call, dict[str, Any], list[Any]] | None = None
        self._go.acquire()
        self._done.acquire()
        self._ended.acquire()
        _thread.start_new_thread(self._loop, ())

    def run(self, call: Call, kwargs: dict[str, Any], limit: float) -> list[Any] | None:
        """The call's result box, or None if it overran ``limit`` (the worker is abandoned)."""
        box: list[Any] = []
        self._job = (call, kwargs, box)
        self._go.release()
        if self._done.acquire(timeout=limit):
            return box
        _ABANDONED.add(self)
        self.stop()  # it ends once the call returns instead of waiting for another
        return None

    def stop(self) -> None:
        self._job = None
        self._go.release()

    def _loop(self) -> None:
        if _signal is not None and hasattr(_signal, "pthread_sigmask"):
            # SIGALRM interrupts the main thread's built-in handlers (see _Alarm): never
            # let the kernel hand it to this thread instead
            _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGALRM})
        try:
            while True:
                self._go.acquire()
                job = self._job
                if job is None:
                    return
                _invoke(*job)
                self._done.release()
        finally:
            _ABANDONED.discard(self)
            self._ended.release()

    def join(self, timeout: float) -> bool:
        if not self._ended.acquire(timeout=timeout):
            return False
        self._ended.release()
        return True


def wait_for_handlers(timeout: float | None = None) -> bool:
    """Wait until handlers that overran their limit have returned; False on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for worker in list(_ABANDONED):
        left = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not worker.join(left):
            return False
    return True


def _invoke(call: Call, kwargs: dict[str, Any], box: list[Any]) -> None:
    try:
        function = call.resolve()
        box.append(function(**{name: kwargs[name] for name in call.args}))
    except BaseException as exc:  # SystemExit too: a handler may not end the dispatch
        reason = f"raised {type(exc).__name__}: {exc}"
        box.append(_Failure(reason, exc))


def fail_closed_reply(event: Event, reason: str) -> dict[str, Any] | None:
    """The refusal a failed guard stands for, or None where nothing can be refused."""
    from hooks.contract import DECISION_EVENTS  # only when a guard failed

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
