"""``python -m hooks.dispatch < event.json``: the one command Claude Code runs for every event.

Reads the whole of stdin, checks it, calls the handlers registered for the
event (every-event handlers first), merges their answers, writes one JSON object
to stdout (or nothing) and exits. Whatever handlers print — ``print``, writes to
file descriptor 1, the output of child processes they start — goes to stderr,
so stdout carries the reply only.

Exit codes: 0 — done (a block is a JSON reply, not an exit code); 2 — only for
TaskCompleted/TeammateIdle blocks, which Claude Code honours no other way; 1 —
the input was unusable (empty, not JSON, not an object, no ``hook_event_name``,
invalid session id) or Orchestra itself failed: Claude Code treats 1 as a
non-blocking error, so Claude is never blocked by accident. Nothing is written
to the state for unusable input.

``--agent codex|gemini`` names another agent than Claude Code (the default), whose events
an adapter of :mod:`hooks.agents` maps onto Orchestra's event model and whose reply it
puts in that agent's shape (``orchestra install --agent ...`` registers the command so).

Environment: ``ORCHESTRA_HOME`` (state root), ``ORCHESTRA_BUDGET`` (seconds for
the whole dispatch; default from config ``dispatch.budget_seconds``, 5),
``ORCHESTRA_HANDLER_TIMEOUT`` (seconds per handler, default 2),
``ORCHESTRA_TRACE=1`` (log each handler's duration), and the plugin variables of
:mod:`hooks.registry`.
"""

from __future__ import annotations

import os
import sys
import time

from state.jsontext import dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from hooks.context import HandlerContext
    from hooks.events import Event
    from hooks.registry import DispatchTable
    from hooks.runner import Runner

__all__ = ["DispatchResult", "dispatch", "main"]

PROG = "orchestra"
DEFAULT_BUDGET = 5.0
SESSION_END_BUDGET = 1.0  # Claude Code gives all SessionEnd hooks 1.5 s together
DEFAULT_HANDLER_TIMEOUT = 2.0
#: Events after which a session may stay idle for long: a store that queues writes ships
#: them then even if nothing else needed the server (Storage.settle).
END_OF_TURN = frozenset({"Stop", "SessionEnd"})
SETTLE_MARGIN = 0.2  # seconds of the budget kept for the reply after the store settled
#: Share of the budget (at most 1 s) kept for the built-in handlers: a plugin that hangs
#: cannot keep the event from being recorded.
BUILTIN_RESERVE = 0.25


class InputError(Exception):
    """The event cannot be dispatched; the message is the one line shown."""


class DispatchResult:
    __slots__ = ("abandoned", "exit_code", "failures", "reply", "stderr")

    def __init__(self, reply: dict[str, Any] | None, exit_code: int, stderr: str | None,
                 failures: list[str], abandoned: bool) -> None:
        self.reply = reply
        self.exit_code = exit_code
        self.stderr = stderr
        self.failures = failures
        self.abandoned = abandoned


#: The result of an event the dispatcher leaves at once: no reply, nothing recorded.
_LEFT = DispatchResult(None, 0, None, [], False)


def state_home() -> str:
    configured = os.environ.get("ORCHESTRA_HOME")
    if configured:
        return os.path.expanduser(configured)
    return os.path.join(os.path.expanduser("~"), ".claude", "orchestration")


def parse_event(data: bytes) -> dict[str, Any]:
    """The payload as a dict, or :class:`InputError` saying what is wrong with it."""
    if not data.strip():
        raise InputError("no event on stdin (expected one JSON object)")
    if data.startswith(b"\xef\xbb\xbf"):  # a BOM (by hand: the utf-8-sig codec is a module)
        data = data[3:]
    try:
        # Strict: json.loads(bytes) would let encoded lone surrogates through.
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("event is not valid UTF-8") from None
    try:
        payload = loads(text)
        if "NaN" in text or "Infinity" in text:
            _refuse_constants(text)
    except ValueError as exc:
        raise InputError(f"event is not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError("event is nested too deeply") from None
    if not isinstance(payload, dict):
        raise InputError(f"event must be a JSON object, got {type(payload).__name__}")
    name = payload.get("hook_event_name")
    if not isinstance(name, str) or not name or len(name) > 100 or not name.isidentifier():
        raise InputError("event has no valid 'hook_event_name'")
    if "session_id" in payload:
        from state.paths import validate_id

        try:
            validate_id(payload["session_id"], "session id")
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return payload


def _refuse_constants(text: str) -> None:
    """ValueError if ``text`` holds a bare NaN or Infinity: Python reads them, JSON has
    none, and stored they would make the event log unreadable to other JSON readers.
    Only a text that names one (inside a string, as a rule) pays for this second parse."""
    import json

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    json.loads(text, parse_constant=refuse)


def read_config(home: str) -> dict[str, Any]:
    """``config.json`` as stored (no defaults), read once per dispatch; ``{}`` if unusable."""
    try:
        with open(os.path.join(home, "config.json"), "rb") as fh:
            config = loads(fh.read())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def _budget(event_name: str, config: dict[str, Any]) -> tuple[float, float]:
    """(seconds for the whole dispatch, seconds per handler)."""
    budget = _float_env("ORCHESTRA_BUDGET")
    if budget is None:
        budget = _configured_budget(config, event_name)
    if event_name == "SessionEnd":
        budget = min(budget, SESSION_END_BUDGET)
    handler = _float_env("ORCHESTRA_HANDLER_TIMEOUT") or DEFAULT_HANDLER_TIMEOUT
    return budget, min(handler, budget)


def _float_env(name: str) -> float | None:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _configured_budget(config: dict[str, Any], event_name: str) -> float:
    key = "session_end_budget_seconds" if event_name == "SessionEnd" else "budget_seconds"
    section = config.get("dispatch")
    value = section.get(key) if isinstance(section, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return DEFAULT_BUDGET


def dispatch(payload: dict[str, Any], home: str, table: DispatchTable | None = None,
             *, started: float | None = None,
             config: dict[str, Any] | None = None, agent: str = "claude-code",
             raw: dict[str, Any] | None = None, now: float | None = None) -> DispatchResult:
    """Run every handler for ``payload`` and merge their replies. ``agent`` is the agent that
    sent it; for another agent than Claude Code ``payload`` is the adapter's mapping of the
    agent's own payload ``raw`` (which drift is checked against). ``now`` is the event's
    time for the handlers (default: the clock); a late dispatch of an event that happened
    earlier (:mod:`hooks.first_run`) gives when it happened."""
    from hooks.context import HandlerContext
    from hooks.events import SPEC_NAMES, Event
    from hooks.runner import Runner

    started = time.monotonic() if started is None else started
    if table is None:
        from hooks.registry import load_table

        table = load_table(home)
    event = Event(payload, agent)
    if not table.wanted(event.name, event.tool_name):
        return _LEFT  # no enabled handler needs it (the plugin registers every event)
    if config is None:
        config = read_config(home)
    budget, handler_timeout = _budget(event.name, config)
    ctx = HandlerContext(event, home, now=now, stored_config=config)
    off = _switched_off(ctx, table, event)
    if off and not table.wanted(event.name, event.tool_name, off):
        return _LEFT  # ... not for this session or project (state.switches)
    runner = Runner(event, ctx.log, deadline=started + budget, handler_timeout=handler_timeout,
                    trace=bool(os.environ.get("ORCHESTRA_TRACE")),
                    reserve=min(budget * BUILTIN_RESERVE, 1.0))

    def calls_for(hook: str) -> list[Any]:
        calls = table.calls_for(hook)
        return [c for c in calls if c.plugin not in off] if off else calls

    change_calls = calls_for("on_state_change")
    if change_calls:
        from hooks.triggers import change_listener

        ctx.listen(change_listener(runner, change_calls, ctx))
    from hooks.observe import sightings

    if raw is None:
        drift = sightings(payload)
    else:
        from hooks.agents import adapter

        drift = adapter(agent).sightings(raw)
    kwargs = {"event": event, "ctx": ctx}
    try:
        votes = runner.run(calls_for("on_event"), kwargs)
        spec = SPEC_NAMES.get(event.name)
        if spec is not None:
            votes += runner.run(calls_for(spec), kwargs)
        if ctx.attention:  # a wait started: tell whoever forwards it to a person
            notify = calls_for("on_needs_attention")
            for attention in ctx.attention if notify else ():
                runner.run(notify, {**kwargs, "attention": attention})
        reply: dict[str, Any] | None = None
        exit_code, stderr = 0, None
        if any(vote for _, vote in votes):  # most events: no handler answers, nothing to merge
            from hooks.merge import merge_replies

            merged = merge_replies(event.name, votes)
            if merged.dropped:
                from hooks.observe import reply_sightings

                ctx.log.warning(f"{event.name}: dropped reply fields the event does not "
                                "honour: " + "; ".join(merged.dropped))
                drift += reply_sightings(event.name, merged.dropped)
            reply, exit_code, stderr = merged.reply, merged.exit_code, merged.stderr
        after = calls_for("after_dispatch")
        if after:
            runner.run(after, {**kwargs, "reply": reply})
    finally:
        runner.close()
    _note(ctx, event, runner, drift, payload if raw is None else raw,
          time.monotonic() - started)
    ctx.settle(started + budget - SETTLE_MARGIN, end_of_turn=event.name in END_OF_TURN)
    return DispatchResult(reply, exit_code, stderr, runner.failures, runner.abandoned)


def _switched_off(ctx: HandlerContext, table: DispatchTable, event: Event) -> set[str]:
    """The plugins :mod:`state.switches` turns off for this event's session and project."""
    try:
        doc = ctx.store.read("switches.json")  # state.switches.SWITCHES, imported if it exists
    except Exception as exc:  # an unreadable switches file must not stop the event
        ctx.log.warning(f"switches ignored: {exc}")
        return set()
    if not doc:
        return set()
    from state.switches import project_of, switched_off

    project = None
    if doc.get("projects"):  # only then is the session's project worth a read
        project = project_of(ctx.store, event.session_id)
        if project is None:  # a session's first event: it has no state yet
            from handlers.session import project_for

            project = project_for(event, ctx.config)
    return switched_off(doc, set(table.plugin_names()), event.session_id, project)


def _note(ctx: HandlerContext, event: Event, runner: Runner, drift: list[Any],
            payload: dict[str, Any], seconds: float) -> None:
    """Telemetry of this dispatch, and what drifted (never fails the event)."""
    try:
        if drift:
            from hooks.observe import record_drift

            record_drift(ctx.store, drift, payload, ctx.now,
                         None if event.agent == "claude-code" else event.agent)
        sid = event.session_id
        if sid is not None:
            from hooks.observe import record_stats

            record_stats(ctx.store, sid, event.name, event.tool_name, runner.calls, seconds,
                         ctx.now)
    except Exception as exc:
        ctx.log.warning(f"telemetry not recorded: {type(exc).__name__}: {exc}")


def main(
    argv: list[str] | None = None,
    *,
    stdin: IO[bytes] | IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Dispatch one event; the error funnel of the dispatcher (see the module docstring)."""
    started = time.monotonic()
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] in ("-h", "--help"):
        out.write(__doc__ or "")
        return 0
    agent = "claude-code"
    if argv:  # Claude Code's command has no arguments: nothing imported for it
        from hooks.agents import AgentError, parse_agent

        try:
            agent, argv = parse_agent(argv)
        except AgentError as exc:
            err.write(f"{PROG}: {exc}\n")
            return 1
    source = stdin if stdin is not None else sys.stdin
    home = state_home()
    real_stdout = sys.stdout
    reply_fd: int | None = None
    try:
        given = source.buffer.read() if hasattr(source, "buffer") else source.read()
        data = given.encode("utf-8", "surrogatepass") if isinstance(given, str) else given
        payload = parse_event(data)
        raw: dict[str, Any] | None = None
        if agent != "claude-code":
            from hooks.agents import adapter

            raw = payload
            mapped = adapter(agent).inbound(raw, home)
            if mapped is None:
                return 0  # an event Orchestra does not act on (never registered by install)
            payload = mapped
        config = read_config(home)
        _record(payload, home, config)
        if out is sys.__stdout__:
            reply_fd = _divert_stdout()
        sys.stdout = sys.stderr  # a handler's print() must not corrupt the reply
        try:
            result = dispatch(payload, home, started=started, config=config, agent=agent,
                              raw=raw)
            if raw is not None:
                result.reply, result.exit_code, result.stderr = adapter(agent).outbound(
                    raw, payload, result, home)
        finally:
            sys.stdout = real_stdout
    except InputError as exc:
        err.write(f"{PROG}: {exc}\n")
        return 1
    except Exception as exc:  # never a traceback on the terminal, never a block
        from hooks.log import DispatchLog

        DispatchLog(home).error("dispatcher failed", exc)
        err.write(f"{PROG}: internal error: {type(exc).__name__}: {exc} "
                  f"(details in {os.path.join(home, 'logs', 'dispatch.log')})\n")
        _restore_stdout(reply_fd)
        return 1
    if result.exit_code == 2:
        err.write((result.stderr or "blocked") + "\n")
    elif result.reply is not None:
        line = dumps(result.reply, separators=(",", ":")) + "\n"
        if reply_fd is not None:
            _write_fd(reply_fd, line.encode("utf-8"))
        else:
            out.write(line)
    out.flush()
    err.flush()
    if result.abandoned and out is sys.__stdout__:
        # A handler thread still hangs: do not wait for it. Its output keeps going to
        # stderr (fd 1 stays diverted), never after the reply.
        os._exit(result.exit_code)
    _restore_stdout(reply_fd)
    return result.exit_code


def _divert_stdout() -> int | None:
    """Point fd 1 at stderr while handlers run; return a duplicate of the real stdout.

    ``print`` is caught by swapping ``sys.stdout``, but ``os.write(1, ...)`` and child
    processes a handler starts (``subprocess.run(["git", ...])``) write to fd 1 itself.
    """
    real = sys.__stdout__
    if real is None:
        return None
    try:
        real.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        return None
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(saved)
        return None
    return saved


def _restore_stdout(saved: int | None) -> None:
    if saved is not None:
        try:
            os.dup2(saved, 1)
        finally:
            os.close(saved)


def _write_fd(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _record(payload: dict[str, Any], home: str, config: dict[str, Any]) -> None:
    """``ORCHESTRA_RECORD=FILE`` or config ``record``: append the (redacted) payload."""
    if "ORCHESTRA_RECORD" not in os.environ and not config.get("record"):
        return  # the common case: nothing to import
    from hooks.capture import record_payload, record_target

    target = record_target(home, config)
    if target:
        record_payload(payload, target)


def run() -> None:
    from state.process import run_process

    run_process(main)


if __name__ == "__main__":
    run()
