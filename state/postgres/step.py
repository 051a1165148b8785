"""Check-and-claim on PostgreSQL: :meth:`Storage.log_step` in one server transaction.

A hook normally reads the claims from this machine's cache (up to ``store.sync_seconds``
old) and defers its writes to the outbox; a claim decided that way could miss another
machine's claim made a moment ago. So the step goes to the server: in one transaction it
takes an advisory lock on the log (``pg_advisory_xact_lock``, per key, shared by every
machine), reads the log's newest state (:func:`~state.persistence.storage.assemble_log`:
a checkpoint and what follows it, else the two newest segments), lets the caller decide on
it, appends
what the caller returns and commits. Two sessions on any machines checking the same file
at the same moment are serialised by the server: exactly one is let through.

The caller decides in its own thread, on records handed over from the worker thread that
holds the transaction, so a late server never changes a decision already taken. The whole
step — importing psycopg, connecting, flushing this machine's outbox first (so that its
own earlier claims are on the server), waiting for the lock — is bounded by
``store.claim_seconds`` (default 1.0), and never past what is left of the hook's whole time
for the server (``store.hook_server_seconds``). When the server does not answer within that bound
(or is away), the step is taken on this machine's copy instead, under a local lock, its
lines queued in the outbox, and :func:`step` returns a note saying so, which the reason
shown to people carries. The abandoned transaction rolls back if it had not committed.

Domain knowledge stays with the caller: this module knows logs and records, not claims.
"""

from __future__ import annotations

import threading
import time

from state.persistence.storage import assemble_log, decode_lines, encode_record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    from state.persistence.filestore import FileStorage
    from state.postgres.local import Cache, Outbox

    Decide = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]

    class PgStorage(Protocol):
        """What a step uses of :class:`~state.postgres.storage.PgStorage`, which calls it
        (named here, not imported: that module imports this one)."""

        settings: dict[str, Any]
        schema: str
        _s: str
        lock_timeout: float
        local: FileStorage
        cache: Cache
        outbox: Outbox

        def server_time_left(self) -> float: ...

        def _take(self) -> Any: ...

        def _give(self, conn: Any, broken: bool = False) -> None: ...

__all__ = ["DEFAULT_BOUND", "step"]

DEFAULT_BOUND = 1.0


class _Late(Exception):
    """The caller stopped waiting: roll the transaction back."""


class _Handover:
    """The records read under the server's lock go to the caller; its lines come back."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.records: list[dict[str, Any]] | None = None
        self.lines: list[dict[str, Any]] | None = None
        self.error: BaseException | None = None
        self.done = False
        self.abandoned = False


def step(store: PgStorage, key: str, decide: Decide, *, max_bytes: int | None,
         timeout: float | None = None) -> str | None:
    """See the module docstring: None when the server decided, else the note. ``timeout``
    (the caller's own limit) shortens the bound."""
    bound = float(store.settings.get("claim_seconds", DEFAULT_BOUND) or DEFAULT_BOUND)
    if timeout is not None:
        bound = min(bound, max(0.01, timeout))
    left = store.server_time_left()  # a hook's whole time for the server (issue 23)
    if left < bound:
        bound = left
        if bound <= 0.0:
            return _local(store, key, decide, "this hook's time for the server "
                          "(store.hook_server_seconds) is spent", 0.0)
    deadline = time.monotonic() + bound
    box = _Handover()
    worker = threading.Thread(target=_on_server, args=(store, key, box, max_bytes, bound),
                              daemon=True, name="orchestra:pg-claim")
    worker.start()
    why = None
    with box.lock:
        try:
            while box.records is None and box.error is None and (
                    left := deadline - time.monotonic()) > 0:
                box.lock.wait(left)
        except BaseException:  # the handler was interrupted (its time limit): give up
            box.abandoned = True  # at once, so the server rolls back and lets go its lock
            box.lock.notify_all()
            raise
        records, error = box.records, box.error
    if records is not None:
        try:
            lines = decide(records)
        except BaseException:
            with box.lock:  # the transaction must not wait for an answer that never comes
                box.abandoned = True
                box.lock.notify_all()
            raise
        with box.lock:
            box.lines = lines
            box.lock.notify_all()
            try:
                while not box.done and box.error is None and (
                        left := deadline - time.monotonic()) > 0:
                    box.lock.wait(left)
            except BaseException:  # interrupted: a claim not yet committed is rolled back
                box.abandoned = True
                box.lock.notify_all()
                raise
            if box.done:
                return None
            box.abandoned = True
            box.lock.notify_all()
            error = box.error
        why = "did not confirm the claim" if error is None else _short(error)
        return _local(store, key, decide, why, bound)
    with box.lock:
        box.abandoned = True
        box.lock.notify_all()
    why = f"did not answer within {bound:g} s" if error is None else _short(error)
    return _local(store, key, decide, why, bound)


def _short(error: BaseException) -> str:
    from state.postgres.settings import redact  # the error path

    return redact(" ".join(str(error).split()))[:200] or type(error).__name__


def _on_server(store: PgStorage, key: str, box: _Handover, max_bytes: int | None,
               bound: float) -> None:
    from state.postgres import server  # only when the server is asked

    try:
        conn = store._take()
    except BaseException as exc:
        with box.lock:
            box.error = exc
            box.lock.notify_all()
        return
    s, schema = store._s, store.schema
    broken = False
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)",
                         (f"{max(1, int(bound * 1000))}ms",))
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                         (f"{schema}:{key}#step",))
            def read(segment: str, offset: int) -> bytes | None:
                text = server.read_log_text(conn, s, segment, offset)
                return None if text is None else text.encode("utf-8")

            records = assemble_log(server.log_segments(conn, s, key), read)
            with box.lock:
                box.records = records
                box.lock.notify_all()
                while box.lines is None and not box.abandoned:
                    if not box.lock.wait(bound):
                        box.abandoned = True  # the caller is gone
                if box.abandoned or box.lines is None:
                    raise _Late
                lines = box.lines
            size = 0
            for record in lines:
                size = server.append_line(conn, s, schema, key,
                                          encode_record(record)[:-1].decode("utf-8"))
            with box.lock:
                if box.abandoned:
                    raise _Late  # too late to count: roll back, the caller used its copy
        if max_bytes is not None and size > max_bytes:
            server.rotate(conn, s, schema, key, max_bytes)
        store.cache.drop(key)
        store.cache.drop(key + "#segments")
        with box.lock:
            box.done = True
            box.lock.notify_all()
    except _Late:
        pass
    except BaseException as exc:
        broken = not _is_lock_timeout(exc)
        with box.lock:
            box.error = exc
            box.lock.notify_all()
    finally:
        store._give(conn, broken=broken)


def _is_lock_timeout(exc: BaseException) -> bool:
    try:
        import psycopg  # it may be missing (then: no server)
    except ImportError:
        return False
    return isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled)


def _local(store: PgStorage, key: str, decide: Decide, why: str, bound: float) -> str:
    """The step on this machine's copy: the cached log and what waits in the outbox, under
    a local lock; the new lines are queued for the server."""
    with store.local._step_lock(key + ".step", store.lock_timeout):
        cached = store.cache.get(key, None)
        live = cached if isinstance(cached, bytes) else b""
        # (a checkpoint's records, then the lines after it; the segment it continues is
        # the server's, not cached: only lines added to it after the cut are missed)
        records = assemble_log([key], lambda _segment, _offset: None, live=live)
        fetched = store.cache.files.stat_mtime(key)
        for name in store.outbox.pending():
            op = store.outbox._load(name)
            if op and op.get("op") == "append" and op.get("key") == key and isinstance(
                    op.get("line"), str):
                records.extend(decode_lines(op["line"].encode("utf-8")))
        for record in decide(records):
            line = encode_record(record)
            store.outbox.put({"op": "append", "key": key, "line": line[:-1].decode("utf-8"),
                              "max_bytes": None})
            store.cache.add_line(key, line)
    age = f"{max(0, int(time.time() - fetched))} s old" if fetched else "empty"
    return (f"PostgreSQL {why}: decided on this machine's copy of the claims ({age}), "
            "which may miss another machine's newest claims")
