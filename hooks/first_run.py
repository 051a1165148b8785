"""Sessions that started while the plugin's environment was being built.

The first session after ``/plugin install`` (or after an upgrade) starts before
Orchestra's virtualenv exists: the launcher skips its hooks (they fail open) while
:mod:`hooks.tooling.bootstrap` builds it, and notes each session it sees in
``<data>/deferred/<session id>.json`` — when it was first seen, and its SessionStart
payload (or what its first event tells: the install session never has a SessionStart).
A build takes longer than SessionStart's 20 s hook timeout with pip, so the
SessionStart context cannot wait for it. Once the environment is ready, the launcher
sends every hook through :func:`main` as long as that folder exists (one ``stat`` on the
hot path), and for a hook of a noted session:

1. the session is started as it would have been: its SessionStart (the noted one, or
   one made from its first event, ``source: startup``) is dispatched with the time it
   was first seen, so ``created_at`` and the event log tell when it began, and a
   session that ends now is not recorded as ended at its creation. The ``messages``
   plugin sits this one out: pending messages stay pending for the usual delivery
   points (prompts, tool results) rather than go into a reply nobody reads. The reply's
   ``additionalContext`` (this session, the others, the ``orchestra`` commands) is kept
   in the note;
2. the hook's own event is dispatched as usual;
3. at the session's first UserPromptSubmit — the path that always works: every session
   has one, and Claude Code adds its context for the model — the kept context goes into
   the reply, once, and the note is removed. A SessionStart of the session (resume,
   clear, compact) brings its own context and removes the note; so does SessionEnd.

Notes of sessions that ended, whose Claude Code process is gone or older than
:data:`STALE_AFTER` are dropped; when none is left the folder goes, and hooks go
straight to :mod:`hooks.dispatch` again.

``python -P -m hooks.first_run --data DIR < event.json`` (what ``bin/orchestra`` runs);
replies, exit codes and errors are those of :mod:`hooks.dispatch`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO, Any

__all__ = ["DEFERRED", "STALE_AFTER", "main"]

DEFERRED = "deferred"
#: Seconds after which a note no hook came back for is dropped.
STALE_AFTER = 12 * 3600.0
#: Seconds a hook waits for another hook of the same session that starts it.
CLAIM_WAIT = 3.0
#: The built-in plugin that delivers messages (it sits out the late SessionStart).
MESSAGES_PLUGIN = "messages"
_MAX_TEXT = 9500  # as hooks.merge: Claude Code cuts strings at 10,000 characters


def main(argv: list[str] | None = None, *, stdin: IO[bytes] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    from hooks import dispatch

    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] != "--data":
        err.write("usage: python -m hooks.first_run --data DIR < event.json\n")
        return 1
    folder = os.path.join(args[1], DEFERRED)
    source = stdin if stdin is not None else sys.stdin.buffer
    raw = source.read()
    try:
        payload = dispatch.parse_event(raw)
    except dispatch.InputError:
        payload = {}
    sid = payload.get("session_id")  # validated by parse_event: a safe file name
    note_path = os.path.join(folder, f"{sid}.json") if isinstance(sid, str) else ""
    if not isinstance(sid, str) or not os.path.exists(note_path):
        _tidy(folder)
        return _dispatch(raw, out, err)
    with _Claim(note_path + ".lock"):
        note = _load(note_path)
        if note is None:  # another hook of the session finished with it
            return _dispatch(raw, out, err)
        name = payload["hook_event_name"]
        if name == "SessionStart":
            _remove(note_path)  # it brings its own context
            return _dispatch(raw, out, err)
        if not note.get("started"):
            with _stdout_diverted(out):
                note["context"] = _start(note, sid, err)
            note["started"] = True
            _save(note_path, note)
        if name == "SessionEnd":
            _remove(note_path)
            return _dispatch(raw, out, err)
        if name != "UserPromptSubmit":
            return _dispatch(raw, out, err)
        import io

        captured = io.StringIO()
        with _stdout_diverted(out):
            code = _dispatch(raw, captured, err)
        reply = _reply(captured.getvalue())
        if reply is not None and reply.get("decision") == "block":
            out.write(captured.getvalue())  # the prompt is refused: the context waits
            return code
        context = note.get("context")
        if isinstance(context, str) and context:
            reply = _with_context(reply or {}, context)
            out.write(json.dumps(reply, separators=(",", ":")) + "\n")
        else:
            out.write(captured.getvalue())
        _remove(note_path)
        return code


@contextlib.contextmanager
def _stdout_diverted(out: IO[str]) -> Iterator[None]:
    """While handlers run outside :func:`hooks.dispatch.main`'s own guard, what they print
    (``print``, file descriptor 1, child processes) goes to stderr, not into the reply."""
    from hooks import dispatch

    saved = dispatch._divert_stdout() if out is sys.__stdout__ else None
    real, sys.stdout = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stdout = real
        dispatch._restore_stdout(saved)


def _dispatch(raw: bytes, out: IO[str], err: IO[str]) -> int:
    import io

    from hooks import dispatch

    return dispatch.main([], stdin=io.BytesIO(raw), stdout=out, stderr=err)


def _start(note: dict[str, Any], session_id: str, err: IO[str]) -> str:
    """Dispatch the session's SessionStart as of when it was first seen; its context."""
    from hooks import dispatch
    from hooks.registry import DispatchTable, load_table

    event = note.get("event")
    payload: dict[str, Any] = dict(event) if isinstance(event, dict) else {}
    payload["session_id"] = session_id  # the note's file name, whatever the note says
    payload["hook_event_name"] = "SessionStart"
    payload.setdefault("source", "startup")
    first_seen = note.get("first_seen")
    when = (float(first_seen) if isinstance(first_seen, int | float)
            and 0 < first_seen <= time.time() else None)  # a hand-edited note: now
    home = dispatch.state_home()
    try:
        dispatch.parse_event(json.dumps(payload).encode())  # the same checks as any event
        table = load_table(home)
        without_messages = DispatchTable(
            {hook: [c for c in calls if c.plugin != MESSAGES_PLUGIN]
             for hook, calls in table.calls.items()}, table.plugins, False)
        saved = os.environ.pop("CLAUDE_ENV_FILE", None)  # another event's file
        try:
            result = dispatch.dispatch(payload, home, without_messages, now=when)
        finally:
            if saved is not None:
                os.environ["CLAUDE_ENV_FILE"] = saved
    except Exception as exc:  # the hook's own event still runs
        err.write(f"orchestra: the late SessionStart failed: {type(exc).__name__}: {exc}\n")
        return ""
    specific = (result.reply or {}).get("hookSpecificOutput") or {}
    context = specific.get("additionalContext") if isinstance(specific, dict) else None
    return context if isinstance(context, str) else ""


def _with_context(reply: dict[str, Any], context: str) -> dict[str, Any]:
    specific = dict(reply.get("hookSpecificOutput") or {})
    specific["hookEventName"] = "UserPromptSubmit"
    joined = "\n".join(p for p in (context, specific.get("additionalContext")) if p)
    if len(joined) > _MAX_TEXT:
        joined = joined[: _MAX_TEXT - 40] + f"\n... ({len(joined) - _MAX_TEXT + 40} chars cut)"
    specific["additionalContext"] = joined
    return {**reply, "hookSpecificOutput": specific}


def _reply(text: str) -> dict[str, Any] | None:
    try:
        reply = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None


def _load(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            note = json.load(fh)
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def _save(path: str, note: dict[str, Any]) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(note, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        _remove(tmp)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def _tidy(folder: str) -> None:
    """Drop the notes no hook will come back for; the folder when none is left."""
    from state.lifeline import process_alive

    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        path = os.path.join(folder, name)
        if name.endswith(".json"):
            note = _load(path) or {}
            seen = note.get("first_seen")
            pid = note.get("claude_pid")
            if (note.get("ended") or not isinstance(seen, int | float)
                    or now - seen > STALE_AFTER
                    or (isinstance(pid, int) and not process_alive(pid))):
                _remove(path)
        else:  # a claim or temp file left by a killed hook
            with contextlib.suppress(OSError):
                if now - os.stat(path).st_mtime > 60:
                    _remove(path)
    with contextlib.suppress(OSError):
        os.rmdir(folder)  # only when empty


class _Claim:
    """One hook at a time per note: a file created exclusively (waits up to
    :data:`CLAIM_WAIT` s, then goes on without it: a killed holder leaves it behind)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.held = False

    def __enter__(self) -> _Claim:
        deadline = time.monotonic() + CLAIM_WAIT
        while True:
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                self.held = True
                return self
            except FileExistsError:
                if time.monotonic() >= deadline:
                    return self
                time.sleep(0.02)
            except OSError:
                return self

    def __exit__(self, *exc: object) -> None:
        if self.held:
            _remove(self.path)


def run() -> None:
    from state.process import run_process

    run_process(main)


if __name__ == "__main__":
    run()
