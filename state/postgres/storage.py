""":class:`PgStorage`: the storage interface (:mod:`state.persistence.storage`) on PostgreSQL.

Same semantics as the file store — versioned documents changed in transactions
that never lose an update, append-only logs, last-writer-wins volatile
documents, listing — with three things kept on the machine (see
:mod:`state.postgres.local`):

* ``config.json`` stays the local file: it names the server and holds paths of
  this machine;
* **hooks** (``hook=True``) never connect to write: heartbeats, event-log lines,
  claims and document changes (a transaction as the patch it made to the copy it
  started from) go to the outbox, so what a hook writes never depends on the
  server answering in time. Hooks read from the local cache while it is younger
  than ``store.sync_seconds``, so a hot event usually connects to nothing; what a
  hook cannot learn in time (no copy, server away) it takes as absent. A hook
  spends at most ``store.hook_server_seconds`` on the server in all
  (:meth:`PgStorage.server_time_left`) and ships at most ``store.hook_flush_ops``
  waiting operations, oldest first: at its first connection, then once its
  handlers ran (:meth:`PgStorage.settle`);
* when the server is away, writes are journaled in the outbox and reads fall
  back to the cache; everything is flushed, in order and once, by the processes
  that connect later.

psycopg is imported only when a connection is opened.
"""

from __future__ import annotations

import copy
import json
import math
import os
import threading
import time
from contextlib import contextmanager, suppress

from state.errors import (
    ConflictError,
    CorruptDocumentError,
    InvalidValueError,
    LockTimeoutError,
    NotFoundError,
)
from state.persistence.filestore import FileStorage
from state.persistence.storage import (
    CONFIG,
    DEFAULT_LOCK_TIMEOUT,
    SCHEMA_VERSION,
    Storage,
    encode_record,
    same_json,
)
from state.postgres import server
from state.postgres.connect import StoreUnavailableError, breaker_open, connect, record_outcome
from state.postgres.local import MISS, Cache, Outbox

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from state.persistence.storage import DocumentRules, Precondition

# psycopg and the schema, patch, step and JSONPath modules are imported where first used:
# a hook that reads its cache and queues its writes connects to nothing and loads none.
__all__ = ["PgStorage"]

#: Seconds a CLI's connection attempt may take at least (``store.connect_timeout`` is
#: for hooks): on a busy machine importing psycopg and connecting can take more than 1 s.
CLI_CONNECT_TIMEOUT = 5.0
#: Operations shipped in one server transaction.
BATCH = 100
#: A hook over the outbox cap says so in its log at most this often (seconds).
CAP_WARNING_EVERY = 60.0


class PgStorage(Storage):
    """Orchestra state on PostgreSQL at ``url``, with the machine's part under ``root``."""

    def __init__(self, url: str, root: str | os.PathLike[str], *, settings: dict[str, Any],
                 hook: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 rules: DocumentRules | None = None) -> None:
        super().__init__(lock_timeout=lock_timeout, rules=rules)
        self.url = url
        self.settings = settings
        self.schema = str(settings["schema"])
        self._s = f'"{self.schema}"'
        self._root = os.fspath(root)
        self._pg = os.path.join(self._root, "pg")
        self.local = FileStorage(self._root, lock_timeout=lock_timeout, rules=rules)
        self.cache = Cache(os.path.join(self._pg, "cache"))
        self.outbox = Outbox(os.path.join(self._pg, "outbox"))
        self.hook = hook
        #: Hooks may answer reads from a cache this young (seconds) without connecting.
        self.max_staleness = float(settings["sync_seconds"]) if hook else 0.0
        #: When a hook stops waiting on the server (``time.monotonic()``); None: a CLI.
        self._server_deadline = (time.monotonic() + float(settings["hook_server_seconds"])
                                 if hook else None)
        #: Outbox operations this hook may still ship (None: a CLI ships them all).
        self._ship_quota: int | None = int(settings["hook_flush_ops"]) if hook else None
        self._idle: list[Any] = []
        self._pool_lock = threading.Lock()
        self._open_lock = threading.Lock()
        # new -> online | offline. A hook stays offline for the rest of its process (one
        # attempt per hook); a command tries again retry_seconds later (_retry_due).
        self._state = "new"
        self._offline_reason = ""
        self._offline_at: float | None = None  #: when the server went away (monotonic)
        self._listener_lost = False
        self._listener: Any = None
        self.connects = 0  #: connections opened by this store
        self._told_queued = False

    def __repr__(self) -> str:
        from state.postgres.settings import describe

        return f"PgStorage({describe(self.url)!r}, schema={self.schema!r})"

    @property
    def online(self) -> bool:
        return self._state == "online"

    def server_time_left(self) -> float:
        """Seconds this process may still wait on the server: in a hook, what is left of
        ``store.hook_server_seconds`` (connecting, reading and shipping the outbox all
        count); ``math.inf`` in a CLI. Whatever talks to the server from a hook bounds
        itself by this, and falls back to the cache when it is spent."""
        if self._server_deadline is None:
            return math.inf
        return max(0.0, self._server_deadline - time.monotonic())

    # -- connections -----------------------------------------------------------------

    def _take(self) -> Any:
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        return self._open()

    def _give(self, conn: Any, broken: bool = False) -> None:
        if broken or conn.closed:
            with suppress(Exception):
                conn.close()
            return
        with self._pool_lock:
            self._idle.append(conn)

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        """A connection for one operation; a lost server becomes :class:`StoreUnavailableError`."""
        conn = self._take()
        import psycopg

        try:
            yield conn
        except psycopg.OperationalError as exc:
            if isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
                self._give(conn)
                raise
            self._give(conn, broken=True)
            self._went_away(f"lost the connection to PostgreSQL: {' '.join(str(exc).split())}")
            raise StoreUnavailableError(self._offline_reason) from None
        except psycopg.DataError as exc:
            self._give(conn)
            raise InvalidValueError(f"PostgreSQL refused the value: {str(exc).splitlines()[0]}"
                                    ) from None
        except BaseException:
            self._give(conn)
            raise
        else:
            self._give(conn)

    def _retry_due(self) -> None:
        """A command that outlives an outage (``orchestra serve``, ``watch``, ``inbox
        --follow``) tries the server again ``store.retry_seconds`` after it went away, and
        its first connection then ships the outbox as at the start; a hook never does."""
        if (self._state == "offline" and not self.hook and self._offline_at is not None
                and time.monotonic() - self._offline_at >= float(self.settings["retry_seconds"])):
            self._state, self._offline_at = "new", None

    def _open(self) -> Any:
        """A new connection; the first one of the process checks the schema and flushes
        the outbox, so everything this machine wrote earlier is on the server first."""
        self._retry_due()
        if self._state == "offline":
            raise StoreUnavailableError(self._offline_reason)
        full = float(self.settings["connect_timeout"])
        if not self.hook:  # a command has no hook's budget: a busy server gets more time
            full = max(full, CLI_CONNECT_TIMEOUT)
        timeout = full
        if self.hook:
            if breaker_open(self._pg, float(self.settings["retry_seconds"])):
                self._state, self._offline_reason = ("offline",
                                                     "PostgreSQL was away moments ago")
                raise StoreUnavailableError(self._offline_reason)
            timeout = min(full, self.server_time_left())
            if timeout <= 0.0:
                self._state, self._offline_reason = (
                    "offline", "this hook's time for the server (store.hook_server_seconds) "
                    "is spent")
                raise StoreUnavailableError(self._offline_reason)
        try:
            conn = connect(self.url, timeout)
        except StoreUnavailableError as exc:
            if timeout < full:  # our own budget ran out, not the server's patience
                self._state, self._offline_reason = "offline", str(exc)
            else:
                self._went_away(str(exc))
            raise
        self.connects += 1
        with self._open_lock:
            if self._state == "new":
                try:
                    self._prepare(conn)
                except BaseException:
                    conn.close()
                    raise
                self._state = "online"
                record_outcome(self._pg, True)
        return conn

    def _prepare(self, conn: Any) -> None:
        from state.postgres.schema import CURRENT, SchemaError, migrate, schema_version, too_new
        from state.postgres.schema import too_old as old_message

        version = schema_version(conn, self.schema)
        if version == 0:  # first use: create it (needs CREATE rights, else say what to run)
            import psycopg

            try:
                migrate(conn, self.schema)
            except psycopg.errors.InsufficientPrivilege:
                raise SchemaError(f"no Orchestra schema {self.schema!r} on the server and no "
                                  "right to create it: run `orchestra migrate` as its owner"
                                  ) from None
        elif version < CURRENT:
            raise SchemaError(old_message(version))
        elif version > CURRENT:
            raise SchemaError(too_new(version))
        self._flush(conn)

    def _went_away(self, reason: str) -> None:
        from state.postgres.settings import scrub

        self._state, self._offline_reason = "offline", scrub(reason, self.url)
        self._offline_at = time.monotonic()
        with self._pool_lock:  # connections opened before the outage are dead too
            idle, self._idle = self._idle, []
        for conn in idle:
            with suppress(Exception):
                conn.close()
        record_outcome(self._pg, False, self._offline_reason)

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def sync(self) -> int:
        """Connect (if the server is there) and flush the outbox; return what is left in it."""
        try:
            with self._conn() as conn:
                self._flush(conn)
        except StoreUnavailableError:
            pass
        return len(self.outbox.pending())

    def settle(self, deadline: float | None = None, *, end_of_turn: bool = False) -> None:
        """A hook is done: ship a bounded part of the outbox, oldest first, its own writes
        included when little else waits.

        A hook that connected anyway ships now. One that did not connects only when the
        oldest waiting write is older than ``store.sync_seconds`` or ``end_of_turn`` (a
        Stop: the session may stay idle for long). Never past ``deadline``
        (``time.monotonic()``) nor this hook's time for the server; a server that stops
        answering mid-way is left behind (what it did not commit ships later)."""
        if not self.hook:
            return
        waiting, oldest = self.outbox.summary()
        self._check_cap(waiting)
        if not waiting or self._state == "offline" or not self._ship_quota:
            return
        recent = oldest is not None and _age(oldest) < float(self.settings["sync_seconds"])
        if self._state == "new" and not end_of_turn and recent:
            return  # nothing needed the server: what waits is young enough to wait more
        left = self.server_time_left()
        if deadline is not None:
            left = min(left, deadline - time.monotonic())
        if left < 0.05:
            return
        failed: list[BaseException] = []

        def ship() -> None:
            try:
                with self._conn() as conn:
                    self._flush(conn)
            except StoreUnavailableError:
                pass  # it waits for the next process
            except BaseException as exc:  # reported by the caller's log, never raised
                failed.append(exc)

        thread = threading.Thread(target=ship, daemon=True, name="orchestra:pg-ship")
        thread.start()
        thread.join(left)
        if failed:
            self.problems.append(f"shipping the outbox failed: {type(failed[0]).__name__}: "
                                 f"{failed[0]}")

    def _check_cap(self, waiting: int) -> None:
        """Over ``store.outbox_cap`` nothing is dropped: say so (a hook at most once a
        minute, in its log), so that nobody learns of a long outage from a full disk."""
        cap = int(self.settings["outbox_cap"])
        if waiting <= cap:
            return
        if self.hook:
            stamp = os.path.join(self._pg, "outbox.full")
            try:
                if time.time() - os.stat(stamp).st_mtime < CAP_WARNING_EVERY:
                    return
            except OSError:
                pass
            with suppress(OSError), open(stamp, "w", encoding="utf-8") as fh:
                fh.write(f"{waiting}\n")
        self.problems.append(
            f"{waiting} writes wait in the local outbox, over its cap of {cap} "
            f"(store.outbox_cap): PostgreSQL at {_where(self.url)} has been away for long. "
            "Nothing is dropped (waiting heartbeats are merged); they are sent when it is back")

    # -- the outbox ----------------------------------------------------------------------

    def _defer(self, op: dict[str, Any]) -> str:
        """Queue ``op``; a heartbeat replaces the one still waiting for the same key."""
        name = self.outbox.put(op)
        if op["op"] != "append":
            key = str(op["key"])
            previous = self.cache.pending(key)
            self.cache.set_pending(key, name)
            if op["op"] == "put" and previous and previous != name:
                waiting = self.outbox.load(previous)
                if waiting is not None and waiting.get("op") == "put" and \
                        waiting.get("key") == key:
                    self.outbox.drop(previous)  # only the newest heartbeat counts
        if self._state == "offline" and not self.hook and not self._told_queued:
            self._told_queued = True  # a CLI says once that its change waits locally
            waiting_now = self.outbox.count()
            over = (f" ({waiting_now} writes wait, over the cap of "
                    f"{int(self.settings['outbox_cap'])})"
                    if waiting_now > int(self.settings["outbox_cap"]) else "")
            self.problems.append(f"{self._offline_reason}; the change is queued in "
                                 f"{self.outbox.folder} and sent when the server is back"
                                 f"{over}")
        if self._state == "online" and not self.hook:
            self.sync()  # connected anyway: ship it now, after what was waiting
        return name

    def _flush(self, conn: Any) -> None:
        """Ship waiting operations in order: all of them from a CLI; from a hook at most
        what is left of its quota, and not past its time for the server."""
        if self._ship_quota is not None and self._ship_quota <= 0:
            return
        from state.persistence.machine import machine_id

        machine = machine_id(self._root)

        def apply(batch: list[tuple[str, dict[str, Any]]]) -> None:
            import psycopg

            try:
                with conn.transaction():
                    self._apply_batch(conn, batch, machine)
            except (psycopg.DataError, psycopg.IntegrityError, ValueError, KeyError, TypeError):
                for name, op in batch:  # find the one the server refuses; keep the rest
                    try:
                        with conn.transaction():
                            self._apply_batch(conn, [(name, op)], machine)
                    except (psycopg.DataError, psycopg.IntegrityError, ValueError, KeyError,
                            TypeError) as exc:
                        self.outbox.set_aside(name, str(exc))
                        self.problems.append(f"outbox operation {name} refused by the server "
                                             f"({exc}); kept in pg/outbox/failed")
            for name, op in batch:  # committed: the server's copies are complete again
                if op.get("op") != "append" and isinstance(op.get("key"), str):
                    self.cache.applied(op["key"], name)

        if self.hook:
            left = self.server_time_left()
            # A hook does not wait long for another process's flush: it ships the same ones.
            shipped = self.outbox.flush(apply, timeout=min(0.5, left), batch=BATCH,
                                        limit=self._ship_quota,
                                        deadline=time.monotonic() + left)
            if self._ship_quota is not None:
                self._ship_quota -= shipped
        else:
            self.outbox.flush(apply, timeout=max(1.0, self.lock_timeout), batch=BATCH)

    def _apply_batch(self, conn: Any, batch: list[tuple[str, dict[str, Any]]],
                     machine: str) -> None:
        """Apply ``batch`` in order inside the caller's transaction. Appends replayed
        before (an interrupted flush) are found with one query for the whole batch."""
        ids = [f"{machine}:{name}" for name, op in batch if op.get("op") == "append"]
        seen: set[str] = set()
        if ids:
            rows = conn.execute(f"SELECT op_id FROM {self._s}.log_lines WHERE op_id = ANY(%s)",
                                (ids,)).fetchall()
            seen = {r[0] for r in rows}
        for name, op in batch:
            op_id = f"{machine}:{name}"
            if op_id not in seen:
                self._apply(conn, op, op_id)

    def _apply(self, conn: Any, op: dict[str, Any], op_id: str) -> None:
        kind, key = op.get("op"), op.get("key")
        if not isinstance(key, str):
            raise ValueError("operation without a key")
        if kind == "append":
            size = server.append_line(conn, self._s, self.schema, key, str(op["line"]), op_id,
                                      checked=True)
            max_bytes = op.get("max_bytes")
            if isinstance(max_bytes, int) and size > max_bytes:
                server.rotate(conn, self._s, self.schema, key, max_bytes)
        elif kind == "put":
            server.write_volatile(conn, self._s, self.schema, key, op["doc"], float(op["ts"]))
        elif kind == "patch":
            first = conn.execute(f"INSERT INTO {self._s}.applied_ops (op_id) VALUES (%s) "
                                 "ON CONFLICT DO NOTHING", (op_id,)).rowcount
            if first:
                self._apply_patch(conn, key, op)
        else:
            raise ValueError(f"unknown operation {kind!r}")

    def _apply_patch(self, conn: Any, key: str, op: dict[str, Any]) -> None:
        from state.postgres.patch import apply_patch

        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                     (f"{self.schema}:{key}",))
        old, _ = server.read_document(conn, self._s, key)
        if old is None and not op.get("create", True):
            return
        doc = copy.deepcopy(old) if old is not None else {"schema_version": SCHEMA_VERSION}
        apply_patch(doc, op.get("ops") or [])
        if same_json(doc, old):
            return
        doc["version"] = int((old or {}).get("version", 0)) + 1
        server.write_document(conn, self._s, self.schema, key, doc)

    # -- reads ---------------------------------------------------------------------------

    def _fetch(self, key: str, fetch: Any) -> Any:
        """``fetch(conn)`` (bytes or None) through the cache: a copy with changes the server
        has not applied yet is read as it is; hooks use a young enough copy without
        connecting; everyone uses any copy while the server is away. A hook that can learn
        nothing (no copy, no server in time) reads "absent": it fails open."""
        if self.hook and self._pending(key):
            cached = self.cache.get(key, None)
            if cached is not MISS:
                return cached
        if self._state != "online" and self.max_staleness > 0:
            cached = self.cache.get(key, self.max_staleness)
            if cached is not MISS:
                return cached
        try:
            with self._conn() as conn:  # the first connection ships the outbox
                if self._pending(key):  # a change the flush has not shipped (yet)
                    cached = self.cache.get(key, None)
                    if cached is not MISS:
                        return cached
                data = fetch(conn)
        except StoreUnavailableError:
            cached = self.cache.get(key, None)
            if cached is not MISS:
                return cached
            if self.hook:
                return None
            raise
        if not self._pending(key):  # else a local change landed meanwhile: keep it
            self.cache.put(key, data)
        return data

    def _pending(self, key: str) -> bool:
        """Does the outbox hold a change of ``key`` the server has not applied? A mark
        whose operation is gone (applied, or the outbox emptied by hand) is dropped."""
        name = self.cache.pending(key)
        if name is None:
            return False
        if os.path.exists(os.path.join(self.outbox.folder, name)):
            return True
        self.cache.applied(key, name)
        return False

    def _read_bytes(self, key: str) -> bytes | None:
        if key == CONFIG:
            return self.local._read_bytes(key)
        if server.is_log(key):
            def fetch(conn: Any) -> bytes | None:
                text = server.read_log_text(conn, self._s, key)
                return None if text is None else text.encode("utf-8")
        else:
            def fetch(conn: Any) -> bytes | None:
                doc, _ = server.read_document(conn, self._s, key)
                return None if doc is None else encode_record(doc)
        data: bytes | None = self._fetch(key, fetch)
        return data

    def read(self, key: str) -> dict[str, Any] | None:
        if key == CONFIG:
            return self.local.read(key)
        raw = self._read_bytes(key)
        if raw is None:
            return None
        try:
            return self._decode(key, raw)
        except CorruptDocumentError as exc:  # only a cache file edited by hand can be
            self.cache.drop(key)
            self.problems.append(f"{exc} (local cache copy dropped)")
            return None

    def exists(self, key: str) -> bool:
        if key == CONFIG:
            return self.local.exists(key)
        if self.hook and self.cache.get(key, None) not in (MISS, None):
            return True  # documents are not deleted while a session is live
        return bool(self._read_bytes(key))

    def size(self, key: str) -> int:
        data = self._read_bytes(key)
        return len(data) if data else 0

    def _log_segments(self, key: str) -> list[str]:
        def fetch(conn: Any) -> bytes:
            return json.dumps(server.log_segments(conn, self._s, key)).encode("utf-8")

        data = self._fetch(key + "#segments", fetch)
        try:
            segments = json.loads(data) if data else [key]
        except ValueError:
            segments = [key]
        return [s for s in segments if isinstance(s, str)] or [key]

    def list_children(self, prefix: str) -> list[str]:
        """The names below ``prefix``; a hook without the server gets the last listing it
        saw (or none): presence is then what this machine last knew."""
        listing = prefix.rstrip("/") + "#children"
        try:
            with self._conn() as conn:
                names = sorted(server.children(conn, self._s, prefix))
        except StoreUnavailableError:
            if not self.hook:
                raise
            cached = self.cache.get(listing, None)
            try:
                found = json.loads(cached) if cached not in (MISS, None) else []
            except ValueError:
                found = []
            return [n for n in found if isinstance(n, str)]
        if self.hook:
            self.cache.put(listing, json.dumps(names).encode("utf-8"))
        return names

    def all_keys(self) -> list[str]:
        """Every key on the server (documents, volatile documents, logs and segments)."""
        with self._conn() as conn:
            return server.all_keys(conn, self._s)

    # -- writes --------------------------------------------------------------------------

    def append(self, key: str, record: dict[str, Any], *, max_bytes: int | None = None) -> None:
        line = encode_record(record)
        self._retry_due()
        if self.hook or self._state == "offline":
            self._defer({"op": "append", "key": key, "line": line[:-1].decode("utf-8"),
                         "max_bytes": max_bytes})
            self.cache.add_line(key, line)
            return
        try:
            with self._conn() as conn:
                size = server.append_line(conn, self._s, self.schema, key,
                                          line[:-1].decode("utf-8"))
                if max_bytes is not None and size > max_bytes:
                    server.rotate(conn, self._s, self.schema, key, max_bytes)
                    self.cache.drop(key + "#segments")
        except StoreUnavailableError:
            self._defer({"op": "append", "key": key, "line": line[:-1].decode("utf-8"),
                         "max_bytes": max_bytes})
            self.cache.add_line(key, line)
            return
        self.cache.drop(key)  # a hook on this machine must see it now, not after sync_seconds

    def put_volatile(self, key: str, doc: dict[str, Any]) -> None:
        ts = time.time()
        self.cache.put(key, encode_record(doc))
        self._retry_due()
        if self.hook or self._state == "offline":
            self._defer({"op": "put", "key": key, "doc": doc, "ts": ts})
            return
        try:
            with self._conn() as conn:
                server.write_volatile(conn, self._s, self.schema, key, doc, ts)
        except StoreUnavailableError:
            self._defer({"op": "put", "key": key, "doc": doc, "ts": ts})

    def _volatile_lock(self, key: str, timeout: float) -> Any:
        """A volatile document of a session is written by that session's hooks, on this
        machine: this machine's lock on it is enough (see :meth:`update_volatile`)."""
        return self.local._volatile_lock(key, timeout)

    def _read_volatile(self, key: str) -> dict[str, Any]:
        """This machine's last copy (what its hooks wrote last, any age), else the server's
        when it answers; {} when neither is there."""
        raw = self.cache.get(key, None)
        if raw is MISS:
            try:
                raw = self._read_bytes(key)
            except StoreUnavailableError:
                raw = None
        try:
            doc = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def _write_document(self, key: str, data: bytes) -> None:
        """Store raw document bytes as they are (copying a store); they must be a JSON object."""
        doc = self._decode(key, data)
        with self._conn() as conn:
            if self.rules.volatile(key):
                server.write_volatile(conn, self._s, self.schema, key, doc, time.time())
            else:
                server.write_document(conn, self._s, self.schema, key, doc)
        self.cache.drop(key)

    def _append_bytes(self, key: str, data: bytes) -> int:
        """Append raw log bytes line by line, keeping every byte offset (copying a store)."""
        size = 0
        with self._conn() as conn, conn.transaction():
            for raw in data.split(b"\n")[: -1 if data.endswith(b"\n") else None]:
                text = raw.decode("utf-8", "replace").replace("\x00", "\ufffd")
                size = server.append_line(conn, self._s, self.schema, key, text)
        self.cache.drop(key)
        return size

    def delete(self, key: str) -> bool:
        if key == CONFIG:
            return self.local.delete(key)
        with self._conn() as conn:
            gone = server.delete_key(conn, self._s, self.schema, key)
        self.cache.drop(key)
        return gone

    def remove_tree(self, prefix: str) -> None:
        with self._conn() as conn:
            server.remove_tree(conn, self._s, self.schema, prefix)
        self.cache.drop_tree(prefix)

    def log_step(self, key: str, decide: Any, *, max_bytes: int | None = None,
                 timeout: float | None = None, checkpoint: Any = None) -> str | None:
        """Check and claim in one server transaction (:mod:`state.postgres.step`), within
        ``store.claim_seconds``; else on this machine's copy, with a note saying so. The
        server's log is rotated by moving its lines at ``max_bytes`` (no ``checkpoint``),
        and read as any log is (a checkpoint copied from files included)."""
        from state.postgres.step import step

        return step(self, key, decide, max_bytes=max_bytes, timeout=timeout)

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def _transaction(self, key: str, expect_version: int | None, create: bool,
                     timeout: float | None, also_lock: tuple[str, ...] = (),
                     precondition: Precondition | None = None) -> Iterator[dict[str, Any]]:
        if key == CONFIG:
            with self.local.transaction(key, expect_version=expect_version, create=create,
                                        timeout=timeout) as doc:
                yield doc
            return
        # The server's answer is needed for a condition or an exactly-once cursor.
        needs_server = (expect_version is not None or precondition is not None
                        or self.rules.needs_latest(key))
        if self.hook and not needs_server:
            # What a hook writes never waits for the server: the change is journaled.
            with self._journaled_transaction(key, create, timeout) as doc:
                yield doc
            return
        try:
            conn = self._take()
        except StoreUnavailableError:
            if needs_server:
                raise
            with self._journaled_transaction(key, create, timeout) as doc:
                yield doc
            return
        import psycopg

        wait = self.lock_timeout if timeout is None else timeout
        box: dict[str, Any] = {}
        try:
            with conn.transaction():
                for name in sorted({key, *also_lock}):  # key order: no deadlock
                    self._lock_key(conn, name, wait)
                old, _ = server.read_document(conn, self._s, key)
                box["old"] = old
                doc = _start(key, old, expect_version, create)
                if precondition is not None:
                    precondition(old, {name: server.read_document(conn, self._s, name)[0]
                                       for name in also_lock})
                yield doc
                box["new"] = doc
                if same_json(doc, old if old is not None else {"schema_version": SCHEMA_VERSION}):
                    box["unchanged"] = True
                else:
                    doc.setdefault("schema_version", SCHEMA_VERSION)
                    doc["version"] = int((old or {}).get("version", 0)) + 1
                    server.write_document(conn, self._s, self.schema, key, doc)
        except psycopg.OperationalError as exc:
            if isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
                self._give(conn)
                raise LockTimeoutError(f"{key}: another writer has held it for more than "
                                       f"{wait:g}s") from None
            self._give(conn, broken=True)
            self._went_away(f"lost the connection to PostgreSQL: {' '.join(str(exc).split())}")
            if "new" not in box or "unchanged" in box:
                raise StoreUnavailableError(self._offline_reason) from None
            # The change was made but its commit did not get through: journal it.
            self._journal_patch(key, box["old"], box["new"], create)
        except psycopg.DataError as exc:
            self._give(conn)
            raise InvalidValueError(f"{key}: PostgreSQL refused the document: "
                                    f"{str(exc).splitlines()[0]}") from None
        except BaseException:
            self._give(conn)
            raise
        else:
            self._give(conn)
            if "unchanged" in box:
                return
            self.cache.put(key, encode_record(box["new"]))
        for listener in self._listeners:
            listener(key, box["old"], box["new"])

    def _lock_key(self, conn: Any, key: str, wait: float) -> None:
        conn.execute("SELECT set_config('lock_timeout', %s, true)",
                     (f"{max(1, int(wait * 1000))}ms",))
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                     (f"{self.schema}:{key}",))

    @contextmanager
    def _journaled_transaction(self, key: str, create: bool, timeout: float | None
                               ) -> Iterator[dict[str, Any]]:
        """Change this machine's copy under a local lock and queue the patch it made.

        The copy it starts from is what a read gives (the cached copy with changes still
        waiting, a fresh one, the server's if it answers within this hook's time, else
        any copy; none at all: a new document). The patch is replayed on the server's
        document, key by key, so changes made elsewhere to other keys survive."""
        wait = self.lock_timeout if timeout is None else timeout
        with self.cache.files._lock(key, wait):
            old = self._base(key)
            doc = _start(key, old, None, create)
            yield doc
            if same_json(doc, old if old is not None else {"schema_version": SCHEMA_VERSION}):
                return
            doc.setdefault("schema_version", SCHEMA_VERSION)
            doc["version"] = int((old or {}).get("version", 0)) + 1
            self._journal_patch(key, old, doc, create)
        for listener in self._listeners:
            listener(key, old, doc)

    def _base(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self._read_bytes(key)
        except StoreUnavailableError:
            raw = None  # nothing known here: the change is made as to a new document
        if raw is None:
            return None
        try:
            return self._decode(key, raw)
        except CorruptDocumentError as exc:  # only a cache file edited by hand can be
            self.cache.drop(key)
            self.problems.append(f"{exc} (local cache copy dropped)")
            return None

    def _journal_patch(self, key: str, old: dict[str, Any] | None, new: dict[str, Any],
                       create: bool) -> None:
        from state.postgres.patch import diff

        self.cache.put(key, encode_record(new))
        self._defer({"op": "patch", "key": key, "create": create, "ops": diff(old or {}, new)})

    # -- waiting and queries -------------------------------------------------------------

    def wait_for_change(self, keys: list[str], timeout: float) -> bool:
        """Block until a key in ``keys`` (or below a ``prefix/``) changes: LISTEN/NOTIFY.

        A listening connection the server dropped is replaced at the next call (the lost
        one raises :class:`StoreUnavailableError`); the first wait after that answers True
        at once, since changes made while nobody listened were not announced."""
        import psycopg

        if self._listener is None:
            self._listener = connect(self.url, float(self.settings["connect_timeout"]))
            self._listener.execute(f'LISTEN "{server.channel(self.schema)}"')
            if self._listener_lost:
                self._listener_lost = False
                return True
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            while (left := deadline - time.monotonic()) > 0:
                for note in self._listener.notifies(timeout=left, stop_after=1):
                    if any(_matches(note.payload, k) for k in keys):
                        self.cache.drop(note.payload)
                        return True
        except psycopg.OperationalError as exc:
            listener, self._listener, self._listener_lost = self._listener, None, True
            with suppress(Exception):
                listener.close()
            from state.postgres.settings import scrub

            raise StoreUnavailableError(scrub("lost the connection to PostgreSQL: "
                                              + " ".join(str(exc).split()), self.url)) from None
        return False

    def query_jsonpath(self, key: str, expression: str) -> list[Any]:
        """JSONPath on a stored document: by the server when the expression translates
        (:mod:`state.postgres.jsonpath`), else in Python — same results either way."""
        from state.postgres.jsonpath import translate

        translated = translate(expression, self.rules.server_query)
        if translated is None or key == CONFIG:
            return super().query_jsonpath(key, expression)
        import psycopg

        with self._conn() as conn:
            try:
                rows = conn.execute(
                    f"SELECT jsonb_path_query(doc, %s::jsonpath, '{{}}', true) FROM "
                    f"(SELECT doc FROM {self._s}.documents WHERE key = %s UNION ALL "
                    f"SELECT doc FROM {self._s}.volatile WHERE key = %s LIMIT 1) d",
                    (translated, key, key)).fetchall()
            except psycopg.DataError:
                rows = None  # a path the server cannot read: Python's answer is the reference
        if rows is None:
            return super().query_jsonpath(key, expression)
        return [r[0] for r in rows]


def _age(name: str) -> float:
    """Seconds since the outbox operation ``name`` was made (its name starts with it)."""
    try:
        return max(0.0, time.time() - int(name.split("-", 1)[0]) / 1e9)
    except ValueError:
        return 0.0


def _where(url: str) -> str:
    from state.postgres.settings import describe

    return describe(url)


def _start(key: str, old: dict[str, Any] | None, expect_version: int | None,
           create: bool) -> dict[str, Any]:
    """The private copy a transaction yields, after the same checks as the file store."""
    if old is None and not create:
        raise NotFoundError(f"{key}: no such document")
    current = int(old.get("version", 0)) if old else 0
    if expect_version is not None and expect_version != current:
        raise ConflictError(f"{key}: changed since version {expect_version} "
                            f"(now version {current}); read it again and retry")
    return copy.deepcopy(old) if old is not None else {"schema_version": SCHEMA_VERSION}


def _matches(changed: str, wanted: str) -> bool:
    if wanted.endswith("/"):
        return changed.startswith(wanted) or wanted.startswith(changed)
    return changed == wanted or (changed.endswith("/") and wanted.startswith(changed))
