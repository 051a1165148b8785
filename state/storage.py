"""The storage interface every read and write of Orchestra state goes through.

Two kinds of things are stored under string *keys* (see :mod:`state.paths`):

* **documents** (``*.json``): read whole, changed only inside a
  :meth:`Storage.transaction`, which serialises writers, bumps the document's
  ``version`` and commits only on a clean exit;
* **logs** (``*.jsonl``): append-only, one JSON object per line; a reader skips a
  torn (half-written) line instead of failing.

:class:`state.filestore.FileStorage` keeps them in files; :class:`MemoryStorage`
is its in-memory twin for fast tests. A networked backend only has to implement
the primitives at the bottom of :class:`Storage`.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack, contextmanager

from state.errors import ConflictError, CorruptDocumentError, InvalidValueError, NotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from typing import Any, TypeAlias

    from state.spans import LaidOut

    #: Called after a committed write with (key, old document or None, new document).
    ChangeListener: TypeAlias = Callable[[str, dict[str, Any] | None, dict[str, Any]], None]
    #: Called under the locks with (the document or None, {other locked key: document}).
    Precondition: TypeAlias = Callable[
        [dict[str, Any] | None, dict[str, dict[str, Any] | None]], None]

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "MAX_DEPTH",
    "SCHEMA_VERSION",
    "MemoryStorage",
    "Storage",
    "TooDeepError",
    "decode_document",
    "encode_document",
    "nesting_depth",
    "same_json",
]

SCHEMA_VERSION = 1
DEFAULT_LOCK_TIMEOUT = 5.0

#: Documents up to this many characters (written one entry per line) are written by
#: ``json.dumps(indent=2)``; larger ones one entry per line (see :func:`encode_document`).
LARGE_DOCUMENT = 256 * 1024

#: A stored document nests objects and arrays at most this many levels deep, itself
#: included (``{"a": {"b": [1]}}`` is 3). Far beyond any state Orchestra keeps, far below
#: what breaks a reader: Python's JSON parser, pydantic and the JSONPath engine recurse
#: once or a few times a level, and a document nested ~1,000 deep could be written but
#: no longer read. Writes that would go deeper raise :class:`TooDeepError`.
MAX_DEPTH = 100


class TooDeepError(InvalidValueError):
    """A write would nest a document deeper than :data:`MAX_DEPTH`; nothing was written."""


def too_deep(where: str) -> TooDeepError:
    return TooDeepError(f"{where}: objects and arrays nested more than {MAX_DEPTH} levels "
                        f"deep; a stored document nests at most {MAX_DEPTH} (nothing written)")


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How many levels of objects and arrays ``value`` nests: 0 for a scalar, 1 for
    ``[]`` or ``{"a": 1}``, 2 for ``[[1]]``... Counted only to ``limit + 1``: past the
    bound the exact figure does not matter, and a hostile value is not walked whole."""
    deepest = 0
    stack = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, level = pop()
        kind = type(item)
        if kind is dict:
            items: Any = item.values()
        elif kind is list:
            items = item
        else:
            continue
        if level > deepest:
            deepest = level
            if level > limit:
                return level
        for child in items:
            if type(child) in _NESTED:
                push((child, level + 1))
    return deepest


def same_json(a: Any, b: Any) -> bool:
    """Are ``a`` and ``b`` the same JSON value, by type and value?

    Python's ``==`` says ``1 == 1.0 == True`` and ``0 == False``, so a change from one
    to another would pass for "unchanged" and not be written. ``==`` decides first (in C);
    only where it holds are the types compared, one value at a time.
    """
    if a != b:
        return False
    stack = [(a, b)]
    pop, push = stack.pop, stack.append
    while stack:
        x, y = pop()
        kind = type(x)
        if kind is not type(y):
            return False
        if kind is dict:
            for key, value in x.items():  # == held: the same keys
                push((value, y[key]))
        elif kind is list:
            stack.extend(zip(x, y, strict=True))
    return True


def encode_document(doc: dict[str, Any]) -> bytes:
    """Documents are pretty-printed so people can read and diff them.

    ``json.dumps(indent=2)`` runs in pure Python (the C encoder cannot indent before
    Python 3.14): about 17 ms a megabyte, most of a large document's write. A document
    larger than :data:`LARGE_DOCUMENT` is written *one entry per line* instead: the same
    layout, except that an object or array that holds no non-empty object or array is
    written on one line, by the C encoder — ``"agent-7": {"status": "busy", "n": 3},`` —
    about 6 ms a megabyte. Both are plain JSON; reading one does not depend on which.
    """
    return encode_document_layout(doc)[0]


def encode_document_layout(doc: dict[str, Any]) -> tuple[bytes, bool]:
    """:func:`encode_document`, and whether the bytes are one entry per line in UTF-8:
    the layout :mod:`state.spans` can find members in without parsing."""
    entries = _entry_lines(doc, ascii_only=False)
    laid_out = entries is not None and len(entries) > LARGE_DOCUMENT
    text = entries if entries is not None and laid_out else json.dumps(
        doc, indent=2, ensure_ascii=False)
    try:
        return (text + "\n").encode("utf-8"), laid_out
    except UnicodeEncodeError:  # a lone surrogate (from a \ud800 escape): keep it escaped
        entries = _entry_lines(doc, ascii_only=True)
        text = entries if entries is not None and len(entries) > LARGE_DOCUMENT else (
            json.dumps(doc, indent=2))
        return (text + "\n").encode("utf-8"), False


class NotLaidOut(Exception):
    """No one-entry-per-line layout for this value (a key that is not a string, or no
    C encoder): json.dumps knows what to make of it."""


def _entry_lines(doc: dict[str, Any], *, ascii_only: bool) -> str | None:
    """``doc`` one entry per line (see :func:`encode_document`); None where that
    layout cannot be made (no C encoder, a key that is not a string)."""
    try:
        return encode_entries(doc, "\n", ascii_only=ascii_only)
    except NotLaidOut:  # json.dumps writes it: the bound is checked here instead
        if nesting_depth(doc) > MAX_DEPTH:
            raise TooDeepError from None
        return None


def encode_entries(value: Any, indent: str, *, ascii_only: bool = False) -> str:
    """``value`` one entry per line, as the value of a member whose line starts with
    ``indent`` (a newline and spaces; ``"\\n"`` for a whole document).

    Raises :class:`NotLaidOut` for a key that is not a string, or without json's C
    encoder; :class:`TooDeepError` (without a message) for a value that would nest the
    document deeper than :data:`MAX_DEPTH`.
    """
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: nothing to gain
        raise NotLaidOut
    string = encoder.encode_basestring_ascii if ascii_only else encoder.encode_basestring
    inline = make({}, _not_json, string, None, ": ", ", ", False, False, True)
    out: list[str] = []
    add, extend = out.append, out.extend

    # The value of a member whose line starts with ``indent`` is at level
    # len(indent) // 2 + 1 (the document itself, at "\n", is level 1).
    deepest = 2 * MAX_DEPTH - 1  # the longest indent of a container within the bound

    def lines(value: Any, indent: str) -> None:
        kind = type(value)
        if kind is not dict and kind is not list:
            extend(inline(value, 0))
            return
        for item in value.values() if kind is dict else value:
            if type(item) in _NESTED and item:
                break
        else:  # nothing nested: one line
            if len(indent) >= deepest and (
                    len(indent) > deepest or nesting_depth(value, 1) > 1):
                raise TooDeepError
            extend(inline(value, 0))
            return
        if len(indent) >= deepest:  # it holds a container one level deeper
            raise TooDeepError
        inner = indent + "  "
        if kind is dict:
            separator = "{" + inner
            for key, item in value.items():
                if type(key) is not str:
                    raise NotLaidOut
                add(separator + string(key) + ": ")
                separator = "," + inner
                lines(item, inner)
            add(indent + "}")
        else:
            separator = "[" + inner
            for item in value:
                add(separator)
                separator = "," + inner
                lines(item, inner)
            add(indent + "]")

    lines(value, indent)
    return "".join(out)


_NESTED = (dict, list)


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: Containers the handlers build on, by document name. A document where one of them has
#: another type (edited by hand) is as unusable as one that does not parse: corrupt.
_CONTAINERS: dict[str, tuple[tuple[str, type], ...]] = {
    "state.json": (("session_id", str), ("active_work", dict), ("active_work.agents", dict)),
    "tasks.json": (("tasks", dict),),
    "inbox.json": (("offsets", dict), ("held", list)),
    "usage.json": (("transcripts", dict), ("tokens", dict), ("by_model", dict),
                   ("seen_message_ids", list)),
}


def decode_document(key: str, raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptDocumentError(f"{key}: not valid JSON ({exc})") from None
    except RecursionError:  # (written by hand: Orchestra writes at most MAX_DEPTH levels)
        raise CorruptDocumentError(f"{key}: nested too deeply to be read") from None
    if not isinstance(doc, dict):
        raise CorruptDocumentError(f"{key}: expected a JSON object, found {type(doc).__name__}")
    for path, kind in _CONTAINERS.get(key.rsplit("/", 1)[-1], ()):
        value: Any = doc
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, kind):
            raise CorruptDocumentError(f"{key}: {path} should be a JSON {_JSON_TYPES[kind]}, "
                                       f"found {type(value).__name__}")
    return doc


_JSON_TYPES: dict[type, str] = {dict: "object", list: "array", str: "string"}


def encode_record(record: dict[str, Any]) -> bytes:
    try:
        return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                ).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escaped, the line stays valid UTF-8
        return (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")


def decode_lines(data: bytes) -> Iterator[dict[str, Any]]:
    """Parse JSONL, skipping lines that are torn or not objects."""
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue  # a writer was killed mid-line (or a hand-made line): skip it
        if isinstance(record, dict):
            yield record


class Storage:
    """Documents with versions, append-only logs and transactions.

    Subclasses implement the ``_``-prefixed primitives; the semantics (versions,
    conflicts, change notifications, corrupt-document handling) live here once.
    """

    def __init__(self, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.lock_timeout = lock_timeout
        self._listeners: list[ChangeListener] = []
        #: Human-readable problems met while reading (quarantined documents...).
        self.problems: list[str] = []

    # -- documents -----------------------------------------------------------------

    def subscribe(self, listener: ChangeListener) -> None:
        """Call ``listener`` after every committed document change. Listeners are called
        in the order they subscribed; one subscribed by a listener is called for the
        change being notified too (every backend notifies from the live list)."""
        self._listeners.append(listener)

    def read(self, key: str) -> dict[str, Any] | None:
        """The document at ``key`` or ``None``. Takes no lock; never sees a torn write.

        A corrupt document is quarantined (under the writers' lock) and reads as
        ``None``; the problem is recorded in :attr:`problems`.
        """
        raw = self._read_bytes(key)
        if raw is None:
            return None
        try:
            return decode_document(key, raw)
        except CorruptDocumentError:
            with self._lock(key, self.lock_timeout):
                return self._load_locked(key)

    def require(self, key: str) -> dict[str, Any]:
        doc = self.read(key)
        if doc is None:
            raise NotFoundError(f"{key}: no such document")
        return doc

    def transaction(
        self,
        key: str,
        *,
        expect_version: int | None = None,
        create: bool = True,
        timeout: float | None = None,
        also_lock: tuple[str, ...] = (),
        precondition: Precondition | None = None,
    ) -> AbstractContextManager[dict[str, Any]]:
        """Read-modify-write ``key`` atomically.

        Yields a private copy of the document (``{}`` plus ``schema_version`` when
        absent and ``create`` is true). Mutate it in place; on a clean exit it is
        written with ``version`` bumped, unless nothing changed. An exception
        inside the block leaves the stored document untouched. ``expect_version``
        makes the write conditional: :class:`ConflictError` if someone else wrote
        since that version was read.

        ``also_lock`` holds the locks of other documents for the whole transaction
        (all locks are taken in key order, so two such transactions cannot
        deadlock), and ``precondition(document, {other key: document})`` is called
        under them before the block runs: it raises to refuse the write. That is
        how a condition spanning several documents (a session's version) is
        checked without a window for another writer.

        A document the block leaves nested deeper than :data:`MAX_DEPTH` is not
        written: :class:`TooDeepError`.
        """
        if type(self)._transaction is Storage._transaction:  # its encoder checks the depth
            return self._transaction(key, expect_version, create, timeout, also_lock,
                                     precondition)
        return self._depth_checked(self._transaction(key, expect_version, create, timeout,
                                                     also_lock, precondition), key)

    @staticmethod
    @contextmanager
    def _depth_checked(transaction: AbstractContextManager[dict[str, Any]], key: str
                       ) -> Iterator[dict[str, Any]]:
        """A backend's own transaction, refusing (before it commits) a document nested
        deeper than :data:`MAX_DEPTH`."""
        with transaction as doc:
            yield doc
            if nesting_depth(doc) > MAX_DEPTH:
                raise too_deep(key)

    @contextmanager
    def _transaction(
        self, key: str, expect_version: int | None, create: bool, timeout: float | None,
        also_lock: tuple[str, ...] = (), precondition: Precondition | None = None,
    ) -> Iterator[dict[str, Any]]:
        wait = self.lock_timeout if timeout is None else timeout
        with ExitStack() as locks:
            for name in sorted({key, *also_lock}):
                locks.enter_context(self._lock(name, wait))
            self._cleanup_orphans(key)
            raw = self._read_bytes(key)
            old = self._decode_locked(key, raw)
            if old is None and not create:
                raise NotFoundError(f"{key}: no such document")
            current_version = int(old.get("version", 0)) if old else 0
            if expect_version is not None and expect_version != current_version:
                raise ConflictError(
                    f"{key}: changed since version {expect_version} "
                    f"(now version {current_version}); read it again and retry"
                )
            if precondition is not None:
                precondition(old, {name: self._load_locked(name) for name in also_lock})
            fresh = {"schema_version": SCHEMA_VERSION}
            # The private copy is parsed again from the bytes: 3x faster than copy.deepcopy.
            doc = json.loads(raw) if old is not None and raw else dict(fresh)
            yield doc
            if same_json(doc, old if old is not None else fresh):
                return  # unchanged (or an absent document left untouched): no write
            doc.setdefault("schema_version", SCHEMA_VERSION)
            doc["version"] = current_version + 1
            try:
                data, laid_out = encode_document_layout(doc)
            except TooDeepError:
                raise too_deep(key) from None
            self._write_document(key, data)
            if laid_out and self.keeps_stamps:
                self._restamp(key, data, doc)
        for listener in self._listeners:  # after the locks: a listener may write again
            listener(key, old, doc)

    # -- one member of a large document (see state.spans) --------------------------

    #: Does this backend keep stamps beside large documents (and so offer the two
    #: methods below)? Only where reading a whole document is what costs: files.
    keeps_stamps = False

    def read_laid_out(self, key: str) -> LaidOut | None:
        """The document at ``key`` as :class:`~state.spans.LaidOut` bytes, to read one
        member of without parsing the rest, or None: read it the usual way. Only a large
        document that its stamp vouches for, and that fits its model, qualifies."""
        if not self.keeps_stamps:
            return None
        from state.spans import trust

        return trust(self._read_bytes(key), self._read_stamp(key))

    @contextmanager
    def member_transaction(self, key: str) -> Iterator[LaidOut | None]:
        """Change members of the document at ``key`` in its bytes (see :mod:`state.spans`).

        Yields None where that cannot be done: no stamp, a stamp that does not vouch for
        the bytes, a listener that wants the whole documents of a change (one without a
        ``wants(key)`` attribute that says it does not). Then, or on
        :class:`~state.spans.Untrusted` from the block, nothing is written: make the
        change with :meth:`transaction`. Otherwise the block calls ``replace`` on the
        :class:`~state.spans.LaidOut` it got, and on a clean exit the changed bytes are
        written, durably, with ``version`` bumped, under the document's lock, as a
        transaction writes them. The block is responsible for the change being valid:
        the new stamp says the document still fits its model.
        """
        if not self.keeps_stamps or self._read_stamp(key) is None or self._listener_wants(key):
            # No stamp, nothing to vouch for: no lock either, which would create the
            # folder of a session that does not exist (the usual way says it does not).
            yield None
            return
        from state.spans import MISSING, Untrusted, stamp, trust

        with self._lock(key, self.lock_timeout):
            self._cleanup_orphans(key)
            laid = trust(self._read_bytes(key), self._read_stamp(key))
            try:
                yield laid
            except TooDeepError as exc:  # from the encoder of a replaced member
                if exc.args:
                    raise
                raise too_deep(key) from None
            if laid is None or not laid.changed:
                return
            version = laid.locate(["version"])
            current = laid.value(version)
            if type(current) is not int or laid.member("schema_version") is MISSING:
                raise Untrusted("no version to bump")
            laid.replace(version, current + 1)
            data = laid.commit()
            self._write_document(key, data)
            self._write_stamp(key, stamp(data, checked=True))

    def _listener_wants(self, key: str) -> bool:
        """Would a listener do something with a change of ``key``? (The list may grow
        while it is asked: the store observers attach theirs on the first question.)"""
        i = 0
        while i < len(self._listeners):
            wants = getattr(self._listeners[i], "wants", None)
            try:
                if wants is None or wants(key):
                    return True
            except Exception:  # it cannot tell: give it the documents, the usual way
                return True
            i += 1
        return False

    def _restamp(self, key: str, data: bytes, doc: dict[str, Any]) -> None:
        """Stamp ``data``, just written at ``key`` one entry per line. (A stamp left by
        an earlier write vouches for no other bytes: nothing to remove when a document
        is written some other way.)"""
        from state.session_rules import fits_document
        from state.spans import stamp

        self._write_stamp(key, stamp(data, checked=fits_document(key, doc)))

    def _load_locked(self, key: str) -> dict[str, Any] | None:
        return self._decode_locked(key, self._read_bytes(key))

    def _decode_locked(self, key: str, raw: bytes | None) -> dict[str, Any] | None:
        if raw is None:
            return None
        try:
            return decode_document(key, raw)
        except CorruptDocumentError as exc:
            moved = self._quarantine(key)
            self.problems.append(f"{exc}; moved aside to {moved}")
            return None

    def delete(self, key: str) -> bool:
        """Remove a document (under its lock). True if it existed."""
        with self._lock(key, self.lock_timeout):
            return self._delete(key)

    # -- logs ----------------------------------------------------------------------

    def append(self, key: str, record: dict[str, Any], *, max_bytes: int | None = None) -> None:
        """Append one record as one line; rotate the log once it exceeds ``max_bytes``."""
        size = self._append_bytes(key, encode_record(record))
        if max_bytes is not None and size > max_bytes:
            self._rotate(key, max_bytes)

    def read_log(self, key: str) -> Iterator[dict[str, Any]]:
        """Every record of the log, oldest first, across rotated segments."""
        for segment in self._log_segments(key):
            raw = self._read_bytes(segment)
            if raw:
                yield from decode_lines(raw)

    def log_step(self, key: str,
                 decide: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], *,
                 max_bytes: int | None = None, timeout: float | None = None) -> str | None:
        """Read and append in one step: under the log's step lock, ``decide`` gets the
        records of its two newest segments and returns records to append, which are
        appended before the lock is let go. Two steps on one log never interleave, so
        a check and the claim it leads to are one (:func:`state.claims.claim_step`).

        Only steps rotate such a log (at ``max_bytes``), so that no step ever reads it
        halfway through a rotation; plain appends to it must pass no ``max_bytes``.
        Returns None, or (a networked store) a note saying the step used a local copy.
        """
        with self._lock(key + ".step", self.lock_timeout if timeout is None else timeout):
            records: list[dict[str, Any]] = []
            for segment in self._log_segments(key)[-2:]:
                records.extend(decode_lines(self._read_bytes(segment) or b""))
            size = None
            for record in decide(records):
                size = self._append_bytes(key, encode_record(record))
            if max_bytes is not None and (self.size(key) if size is None else size) > max_bytes:
                self._rotate(key, max_bytes)
        return None

    # -- volatile ------------------------------------------------------------------

    def put_volatile(self, key: str, doc: dict[str, Any]) -> None:
        """Replace a small document atomically without a lock or version.

        For data where the last writer may simply win (heartbeats): readers still
        see the old or the new document, never a torn one, but parallel writers
        do not serialise and nothing is bumped.
        """
        self._write_volatile(key, encode_record(doc))

    def update_volatile(self, key: str, change: Callable[[dict[str, Any]], None], *,
                        timeout: float = 1.0) -> dict[str, Any]:
        """Change a volatile document in place: read it, ``change(doc)``, write it back,
        under the document's lock so that parallel writers do not lose each other's
        changes. Unlike :meth:`transaction`: no version is bumped, nothing is fsynced (what
        :meth:`put_volatile` writes is meant to be rewritten soon) and an unreadable
        document counts as empty. Raises :class:`~state.errors.LockTimeoutError` after
        ``timeout`` seconds. Returns the document written."""
        with self._volatile_lock(key, timeout):
            doc = self._read_volatile(key)
            change(doc)
            self.put_volatile(key, doc)
        return doc

    def _volatile_lock(self, key: str, timeout: float) -> AbstractContextManager[object]:
        return self._lock(key, timeout)

    def _read_volatile(self, key: str) -> dict[str, Any]:
        """The volatile document at ``key`` for :meth:`update_volatile` ({} if absent or
        unreadable: it is rewritten whole)."""
        raw = self._read_bytes(key)
        try:
            doc = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            return {}
        return doc if isinstance(doc, dict) else {}

    # -- listing -------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Wrap a burst of reads (a listing); a backend may skip repeated checks inside."""
        yield

    def list_children(self, prefix: str) -> list[str]:
        """Names directly below ``prefix`` (e.g. ``sessions``), sorted."""
        return sorted(self._children(prefix))

    def exists(self, key: str) -> bool:
        return self._read_bytes(key) is not None

    def size(self, key: str) -> int:
        """Bytes stored at ``key`` (0 if absent)."""
        data = self._read_bytes(key)
        return len(data) if data else 0

    def remove_tree(self, prefix: str) -> None:
        """Delete everything below ``prefix`` (an ended session's folder)."""
        self._remove_tree(prefix)

    # -- waiting, queries, connections -----------------------------------------------

    def wait_for_change(self, keys: list[str], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a change to one of ``keys`` (a key ending in
        ``/`` stands for everything below it); True if something changed.

        This default polls (a PostgreSQL store is told by the server instead), so
        ``watch``-style loops can block here rather than sleep.
        """
        before = [self._fingerprint(k) for k in keys]
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if [self._fingerprint(k) for k in keys] != before:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(0.1, left))

    def _fingerprint(self, key: str) -> object:
        """Something that changes when ``key`` (or anything below ``key/``) changes."""
        if key.endswith("/"):
            prefix = key.rstrip("/")
            return [(name, self._fingerprint(f"{prefix}/{name}"))
                    for name in self.list_children(prefix)]
        return self._read_bytes(key)

    def query_jsonpath(self, key: str, expression: str) -> list[Any]:
        """Values matching JSONPath ``expression`` in the document at ``key`` ([] if absent)."""
        from state.query import jsonpath_query

        doc = self.read(key)
        return [] if doc is None else jsonpath_query(doc, expression)

    def close(self) -> None:
        """Release connections (a networked store); nothing to do for files or memory."""

    def settle(self, deadline: float | None = None, *, end_of_turn: bool = False) -> None:
        """A short-lived process (a hook) is done writing: a store that queues writes may
        ship some now, never past ``deadline`` (``time.monotonic()``). ``end_of_turn``: the
        session may now stay idle for long. Nothing to do for files or memory."""

    # -- primitives for backends ---------------------------------------------------

    def _lock(self, key: str, timeout: float) -> AbstractContextManager[object]:
        raise NotImplementedError

    def _read_bytes(self, key: str) -> bytes | None:
        raise NotImplementedError

    def _write_document(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def _write_volatile(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def _delete(self, key: str) -> bool:
        raise NotImplementedError

    def _quarantine(self, key: str) -> str:
        raise NotImplementedError

    def _cleanup_orphans(self, key: str) -> None:
        """Remove temp files left by writers that were killed (lock is held)."""

    def _read_stamp(self, key: str) -> bytes | None:
        """The stamp kept beside the document at ``key`` (see :mod:`state.spans`)."""
        return None

    def _write_stamp(self, key: str, data: bytes) -> None:
        """Keep ``data`` as the stamp of ``key`` (called under its lock)."""

    def _append_bytes(self, key: str, line: bytes) -> int:
        """Append ``line``; return the log's size afterwards."""
        raise NotImplementedError

    def _rotate(self, key: str, max_bytes: int) -> None:
        raise NotImplementedError

    def _log_segments(self, key: str) -> list[str]:
        raise NotImplementedError

    def _children(self, prefix: str) -> list[str]:
        raise NotImplementedError

    def _remove_tree(self, prefix: str) -> None:
        raise NotImplementedError


class MemoryStorage(Storage):
    """In-memory twin of :class:`~state.filestore.FileStorage` (thread-safe)."""

    def __init__(self, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        import threading  # not at the top: the dispatcher never needs it

        super().__init__(lock_timeout=lock_timeout)
        self._new_lock = threading.Lock
        self._files: dict[str, bytes] = {}
        self._locks: dict[str, Any] = {}
        self._meta = threading.Lock()

    @contextmanager
    def _lock(self, key: str, timeout: float) -> Iterator[object]:
        from state.errors import LockTimeoutError

        with self._meta:
            lock = self._locks.setdefault(key, self._new_lock())
        if not lock.acquire(timeout=timeout):
            raise LockTimeoutError(f"{key}: lock busy for more than {timeout:g}s")
        try:
            yield lock
        finally:
            lock.release()

    def _read_bytes(self, key: str) -> bytes | None:
        return self._files.get(key)

    def _write_document(self, key: str, data: bytes) -> None:
        self._files[key] = data

    _write_volatile = _write_document

    def _delete(self, key: str) -> bool:
        return self._files.pop(key, None) is not None

    def _quarantine(self, key: str) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        moved, n = f"{key}.corrupt-{stamp}", 1
        while moved in self._files:  # like FileStorage: never overwrite an earlier copy
            n += 1
            moved = f"{key}.corrupt-{stamp}-{n}"
        self._files[moved] = self._files.pop(key)
        return moved

    def _append_bytes(self, key: str, line: bytes) -> int:
        with self._meta:
            data = self._files.get(key, b"")
            if data and not data.endswith(b"\n"):
                line = b"\n" + line  # a torn last line must not swallow this record
            self._files[key] = data + line
            return len(self._files[key])

    def _rotate(self, key: str, max_bytes: int) -> None:
        with self._meta:
            if len(self._files.get(key, b"")) <= max_bytes:
                return
            n = _next_segment_number(self._log_segments(key))
            self._files[_segment_name(key, n)] = self._files.pop(key)

    def _log_segments(self, key: str) -> list[str]:
        stem = key[: -len(".jsonl")] + "."
        rotated = sorted(k for k in self._files if k.startswith(stem) and k != key)
        return [*rotated, key]

    def _children(self, prefix: str) -> list[str]:
        start = prefix.rstrip("/") + "/"
        return list({k[len(start) :].split("/")[0] for k in self._files if k.startswith(start)})

    def _remove_tree(self, prefix: str) -> None:
        start = prefix.rstrip("/") + "/"
        for k in [k for k in self._files if k.startswith(start)]:
            del self._files[k]


def _next_segment_number(segments: list[str]) -> int:
    """One more than the highest rotated segment (not their count: after someone
    deleted an old segment, the count would name, and overwrite, an existing one)."""
    numbers = []
    for name in segments[:-1]:  # the last one is the live log
        tail = name[: -len(".jsonl")].rsplit(".", 1)[-1]
        if tail.isdigit():
            numbers.append(int(tail))
    return max(numbers, default=0) + 1


def _segment_name(key: str, number: int) -> str:
    """``events.jsonl`` -> ``events.000001.jsonl``: rotated segments sort by age."""
    return f"{key[: -len('.jsonl')]}.{number:06d}.jsonl"
