"""The storage interface every read and write of Orchestra state goes through.

Two kinds of things are stored under string *keys* (see :mod:`state.paths`):

* **documents** (``*.json``): read whole, changed only inside a
  :meth:`Storage.transaction`, which serialises writers, bumps the document's
  ``version`` and commits only on a clean exit;
* **logs** (``*.jsonl``): append-only, one JSON object per line; a reader skips a
  torn (half-written) line instead of failing.

:class:`state.persistence.filestore.FileStorage` keeps them in files; :class:`MemoryStorage`
is its in-memory twin for fast tests. A networked backend only has to implement
the primitives at the bottom of :class:`Storage`.

The store knows nothing of what its documents mean. What it must know of them — which
members must have which type, whether a document fits its model, how to evaluate a
query — it asks the :class:`DocumentRules` it was given where it was opened
(:func:`state.store.open_store` gives Orchestra's); a store given none knows nothing.
"""

from __future__ import annotations

import time

from state.contexts import Stack, contextmanager  # (contextlib costs a hook ~1 ms)
from state.errors import (
    ConflictError,
    CorruptDocumentError,
    InvalidIdError,
    InvalidQueryError,
    InvalidValueError,
    LockTimeoutError,
    NotFoundError,
)
from state.jsontext import dumps, dumps_indented, loads  # json's results without re

try:
    from state.jsontext import _scan  # json's C scanner (absent without _json)
except ImportError:  # pragma: no cover - CPython always has it
    _scan = None  # type: ignore[assignment]

_JSON_WHITESPACE = " \t\r"  # (and "\n", which ends a line)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from typing import Any, TypeAlias

    #: Called after a committed write with (key, old document or None, new document).
    ChangeListener: TypeAlias = Callable[[str, dict[str, Any] | None, dict[str, Any]], None]
    #: Called under the locks with (the document or None, {other locked key: document}).
    Precondition: TypeAlias = Callable[
        [dict[str, Any] | None, dict[str, dict[str, Any] | None]], None]

__all__ = [
    "CHECKPOINT",
    "CONFIG",
    "DEFAULT_LOCK_TIMEOUT",
    "LARGE_DOCUMENT",
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "NO_RULES",
    "SCHEMA_VERSION",
    "DocumentRules",
    "MemoryStorage",
    "NotLaidOut",
    "Storage",
    "TooDeepError",
    "assemble_log",
    "checkpoint_line",
    "decode_document",
    "decode_lines",
    "encode_document",
    "encode_document_layout",
    "encode_entries",
    "encode_record",
    "is_id",
    "nesting_depth",
    "same_json",
    "too_deep",
    "validate_id",
]

SCHEMA_VERSION = 1
DEFAULT_LOCK_TIMEOUT = 5.0
#: The key of the state root's own settings, kept on each machine; the store's own are its
#: ``store`` section (which backend: :func:`state.persistence.store_url`).
CONFIG = "config.json"

# -- keys ------------------------------------------------------------------------------
# A key is a relative POSIX path below the store's root (``a/b.json``); each of its names
# is one that validate_id accepts: safe as a file name on every system. Whoever builds
# keys from ids (state.paths) validates the ids with it first.

MAX_ID_LENGTH = 128
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# Names Windows refuses as file names, whatever the extension.
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(10)] + [f"lpt{i}" for i in range(10)]
)



def validate_id(value: object, kind: str = "id") -> str:
    """Return ``value`` if it is safe to use as one path component, else raise.

    Allowed: 1-128 ASCII letters, digits, ``-``, ``_`` and ``.``, starting with a
    letter or digit (so never ``.``, ``..`` or a hidden file), not ending with
    ``.`` (which Windows strips, so ``a.`` would alias ``a``), not a name
    Windows reserves. Everything else — separators, NUL, whitespace, unicode
    look-alikes — is refused with an :class:`InvalidIdError` naming ``kind``.
    """
    if not isinstance(value, str):
        raise InvalidIdError(f"invalid {kind}: expected a string, got {type(value).__name__}")
    if not value:
        raise InvalidIdError(f"invalid {kind}: empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(f"invalid {kind}: longer than {MAX_ID_LENGTH} characters")
    if not _ID_CHARS.issuperset(value):
        bad = next(ch for ch in value if ch not in _ID_CHARS)
        raise InvalidIdError(
            f"invalid {kind} {value[:40]!r}: character {bad!r} is not allowed "
            "(use letters, digits, '-', '_' and '.')"
        )
    if not value[0].isalnum():
        raise InvalidIdError(f"invalid {kind} {value!r}: must start with a letter or digit")
    if value.endswith("."):  # Windows drops a trailing dot: "a." would be the file "a"
        raise InvalidIdError(f"invalid {kind} {value!r}: must not end with '.'")
    if value.split(".")[0].lower() in _RESERVED:
        raise InvalidIdError(f"invalid {kind} {value!r}: reserved device name")
    return value



def is_id(value: object) -> bool:
    """Whether ``value`` passes :func:`validate_id` (for data that may hold anything, such
    as a hand-edited config)."""
    try:
        validate_id(value)
    except ValueError:
        return False
    return True


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
    the layout :mod:`state.persistence.spans` can find members in without parsing."""
    entries = _entry_lines(doc, ascii_only=False)
    laid_out = entries is not None and len(entries) > LARGE_DOCUMENT
    text = entries if entries is not None and laid_out else dumps_indented(
        doc, 2, ensure_ascii=False)
    try:
        return (text + "\n").encode("utf-8"), laid_out
    except UnicodeEncodeError:  # a lone surrogate (from a \ud800 escape): keep it escaped
        entries = _entry_lines(doc, ascii_only=True)
        text = entries if entries is not None and len(entries) > LARGE_DOCUMENT else (
            dumps_indented(doc, 2))
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
    from state.jsontext import c_encoder, string_encoder

    inline = c_encoder(ascii_only, (", ", ": "), check_circular=True)
    if inline is None:  # no C accelerator: nothing to gain
        raise NotLaidOut
    string = string_encoder(ascii_only)
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


class DocumentRules:
    """What the layer above knows of its documents, handed to a store where it is opened.

    The store asks these questions and looks nothing up itself; whoever opens it answers
    them (:func:`state.store.open_store` hands over Orchestra's). These defaults are a
    store that knows nothing: every document is plain JSON, none is vouched for, and
    there is no query language.
    """

    #: Top-level folders whose documents and logs are the state (what copying a store
    #: copies, with the documents and logs at the top).
    state_folders: tuple[str, ...] = ()

    def containers(self, key: str) -> tuple[tuple[str, type], ...]:
        """(dot path, type) of the members the document at ``key`` must give that type
        when present. A document where one has another type (edited by hand) is as
        unusable as one that does not parse: corrupt."""
        return ()

    def fits(self, key: str, doc: dict[str, Any]) -> bool:
        """Does ``doc``, about to be stored at ``key``, fit its model, so that the stamp of
        a large document may vouch for it (see :mod:`state.persistence.spans`)?"""
        return False

    def fits_member(self, key: str, parts: list[str], value: Any) -> bool:
        """Given a document at ``key`` that fits its model, does it still fit once the
        member ``parts`` is ``value``? (A change made in a document's bytes.)"""
        return False

    def query(self, doc: Any, expression: str) -> list[Any]:
        """The values of ``doc`` that the query ``expression`` selects."""
        raise InvalidQueryError(f"cannot evaluate {expression[:60]!r}: this store was opened "
                                "without a query language")

    def server_query(self, expression: str) -> str | None:
        """``expression`` as a server that stores documents would evaluate it (PostgreSQL's
        SQL/JSON path) with the same results, or None: evaluate it with :meth:`query`."""
        return None

    def volatile(self, key: str) -> bool:
        """Is the document at ``key`` replaced last-writer-wins (:meth:`Storage.put_volatile`)
        rather than in transactions? (Asked when a store is copied.)"""
        return False

    def needs_latest(self, key: str) -> bool:
        """Must every change to the document at ``key`` start from its latest version, under
        the lock all writers take — never be made on a copy and merged later (what a
        networked store does with a short-lived writer's changes)? A cursor saying what
        was handed out is such a document."""
        return False


#: The rules of a store opened without any.
NO_RULES = DocumentRules()


def decode_document(key: str, raw: bytes,
                    containers: tuple[tuple[str, type], ...] = ()) -> dict[str, Any]:
    """The document ``raw`` stored at ``key``; :class:`CorruptDocumentError` if it is not a
    JSON object or one of its ``containers`` (see :meth:`DocumentRules.containers`) has
    another type."""
    try:
        doc = loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptDocumentError(f"{key}: not valid JSON ({exc})") from None
    except RecursionError:  # (written by hand: Orchestra writes at most MAX_DEPTH levels)
        raise CorruptDocumentError(f"{key}: nested too deeply to be read") from None
    if not isinstance(doc, dict):
        raise CorruptDocumentError(f"{key}: expected a JSON object, found {type(doc).__name__}")
    for path, kind in containers:
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
        return (dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                ).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escaped, the line stays valid UTF-8
        return (dumps(record, separators=(",", ":")) + "\n").encode("utf-8")


def decode_lines(data: bytes) -> Iterator[dict[str, Any]]:
    """Parse JSONL, skipping lines that are torn or not objects.

    The buffer is decoded once and each line handed to json's C scanner: the results
    are those of :func:`state.jsontext.loads` line by line (a property test compares
    them), ~1.5x faster. A buffer that is not UTF-8, or holds a NUL or a byte order mark
    (which ``loads`` treats specially: UTF-16/32, a BOM to strip), is read line by line.
    """
    if _scan is not None:
        try:
            text = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text and "\ufeff" not in text:
            return iter(_scan_lines(text))
    return _decode_lines_one_by_one(data)


def _scan_lines(text: str) -> list[dict[str, Any]]:
    assert _scan is not None
    scan = _scan
    out: list[dict[str, Any]] = []
    append = out.append
    for line in text.split("\n"):
        try:
            value, end = scan(line, 0)
        except StopIteration:  # leading whitespace, a blank line, or no JSON
            stripped = line.lstrip(_JSON_WHITESPACE)
            if not stripped:
                continue
            try:
                value, end = scan(stripped, 0)
            except (StopIteration, ValueError, SystemError, RecursionError):
                continue
            line = stripped
        except (ValueError, SystemError, RecursionError):
            # (SystemError: the C scanner words errors with json.decoder, when it is loaded)
            continue
        if end != len(line) and line[end:].strip(_JSON_WHITESPACE):
            continue  # more than one value on the line
        if type(value) is dict:
            append(value)
    return out


def _decode_lines_one_by_one(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue  # a writer was killed mid-line (or a hand-made line): skip it
        if isinstance(record, dict):
            yield record


# -- checkpoints: a bounded read of a log's newest state --------------------------------------
#
# A log read by steps (see Storage.log_step) may be rotated with a *checkpoint*: its new live
# segment starts with one line ``{"ts": ..., "checkpoint": {"upto": S0, "segment": name,
# "records": [...]}}`` whose records stand for everything before byte S0 of the segment
# ``name`` (the live segment as it was, linked under that name). Lines appended to that
# segment from S0 on (a plain appender that had it open) come after the records. A reader of
# the log's newest state (:func:`assemble_log`) then reads the checkpoint, that segment from
# S0 (a seek), and the live segment: a bounded read however long the history. What the
# records are is the caller's (the log's meaning: :mod:`state.claims`); a checkpoint line has
# no ``session``, so readers of a log's history pass it by.

CHECKPOINT = "checkpoint"


def _checkpoint_head(data: bytes) -> tuple[int, str, list[dict[str, Any]], int] | None:
    """(upto, segment name, records, length of the line) of the checkpoint line ``data``
    starts with, or None."""
    end = data.find(b"\n")
    if end < 0 or b'"checkpoint":' not in data[:end]:
        return None
    try:
        line = loads(data[:end])
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    head = line.get(CHECKPOINT) if type(line) is dict and "session" not in line else None
    if type(head) is not dict:
        return None
    upto, name, records = head.get("upto"), head.get("segment"), head.get("records")
    if type(upto) is not int or upto < 0 or type(name) is not str or type(records) is not list:
        return None
    return upto, name, [r for r in records if type(r) is dict], end + 1


def assemble_log(segments: list[str], read: Callable[[str, int], bytes | None], *,
                 live: bytes | None = None) -> list[dict[str, Any]]:
    """The records that make a log's newest state, oldest first: what a step decides on.

    ``segments``: the log's segment keys, oldest first, the live one last; ``read(key,
    offset)``: that segment's bytes from ``offset`` on (None if it is gone); ``live``: the
    live segment's bytes when already read. When the live segment starts with a checkpoint:
    its records, the lines of the segment it names from its offset on, then the live
    segment's own lines. Otherwise (a log rotated by renaming) the two newest segments in
    full, the older one's checkpoint, if it starts with one, read the same way.
    """
    return _assemble(segments, read, live)[0]


def _assemble(segments: list[str], read: Callable[[str, int], bytes | None],
              live: bytes | None) -> tuple[list[dict[str, Any]], int]:
    """:func:`assemble_log`, and the length of the live segment's checkpoint line (0)."""
    newest = (read(segments[-1], 0) if live is None else live) or b""
    found = _from_checkpoint(newest, segments, read)
    if found is not None:
        return found
    older = segments[:-1]
    previous = read(older[-1], 0) or b"" if older else b""
    if newest and previous and (previous.startswith(newest) or newest.startswith(previous)):
        # The live file under a second name: a checkpoint rotation was killed between its
        # link and its replace. Not a segment of its own: the one before it is.
        older = older[:-1]
        previous = read(older[-1], 0) or b"" if older else b""
    records: list[dict[str, Any]] = []
    if previous:
        expanded = _from_checkpoint(previous, older, read)
        records = expanded[0] if expanded is not None else list(decode_lines(previous))
    records.extend(decode_lines(newest))
    return records, 0


def _from_checkpoint(data: bytes, segments: list[str], read: Callable[[str, int], bytes | None]
                     ) -> tuple[list[dict[str, Any]], int] | None:
    head = _checkpoint_head(data)
    if head is None:
        return None
    upto, name, records, length = head
    for segment in segments[:-1]:
        if segment.rsplit("/", 1)[-1] == name:
            records.extend(decode_lines(read(segment, upto) or b""))
            break
    records.extend(decode_lines(data[length:]))
    return records, length


def checkpoint_line(upto: int, segment: str, records: list[dict[str, Any]]) -> bytes:
    """The first line of a live segment that continues ``segment`` (a key) from byte
    ``upto`` on, standing for its records before that."""
    return encode_record({"ts": round(time.time(), 6), CHECKPOINT: {
        "upto": upto, "segment": segment.rsplit("/", 1)[-1], "records": records}})


class Storage:
    """Documents with versions, append-only logs and transactions.

    Subclasses implement the ``_``-prefixed primitives; the semantics (versions,
    conflicts, change notifications, corrupt-document handling) live here once.
    """

    def __init__(self, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 rules: DocumentRules | None = None) -> None:
        self.lock_timeout = lock_timeout
        #: What the layer above knows of the documents (see :class:`DocumentRules`).
        self.rules = NO_RULES if rules is None else rules
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
            return self._decode(key, raw)
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
        with Stack() as locks:
            for name in sorted({key, *also_lock}):
                locks.enter(self._lock(name, wait))
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
            doc = loads(raw) if old is not None and raw else dict(fresh)
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

    # -- one member of a large document (see state.persistence.spans) --------------------------

    #: Does this backend keep stamps beside large documents (and so offer
    #: ``read_laid_out`` and ``member_transaction``)? Only where reading a whole document
    #: is what costs: files (:class:`~state.persistence.filestore.FileStorage`).
    keeps_stamps = False

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
        """Stamp ``data``, just written at ``key`` one entry per line (a backend that
        keeps stamps does; see :mod:`state.persistence.spans`)."""

    def _decode(self, key: str, raw: bytes) -> dict[str, Any]:
        """:func:`decode_document` with the containers the rules name for ``key``."""
        return decode_document(key, raw, self.rules.containers(key))

    def _load_locked(self, key: str) -> dict[str, Any] | None:
        return self._decode_locked(key, self._read_bytes(key))

    def _decode_locked(self, key: str, raw: bytes | None) -> dict[str, Any] | None:
        if raw is None:
            return None
        try:
            return self._decode(key, raw)
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

    def read_recent(self, key: str) -> list[dict[str, Any]]:
        """The records of the log's newest state, as a step gets them (:func:`assemble_log`):
        a checkpoint and what follows it, else the two newest segments."""
        return assemble_log(self._log_segments(key), self._read_log_from)

    def log_step(self, key: str,
                 decide: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], *,
                 max_bytes: int | None = None, timeout: float | None = None,
                 checkpoint: tuple[int, Callable[[list[dict[str, Any]]],
                                                 list[dict[str, Any]]]] | None = None,
                 ) -> str | None:
        """Read and append in one step: under the log's step lock, ``decide`` gets the
        records of the log's newest state (:meth:`read_recent`) and returns records to
        append, which are appended before the lock is let go. Two steps on one log never
        interleave, so a check and the claim it leads to are one
        (:func:`state.claims.claim_step`).

        Only steps rotate such a log, so that no step ever reads it halfway through a
        rotation; plain appends to it must pass no ``max_bytes``. ``checkpoint=(size,
        make)``: once the live segment holds more than ``size`` bytes past its checkpoint,
        it is rotated with a new one whose records are ``make(records)`` (the records of
        the newest state; see :func:`assemble_log`), so that a step reads a bounded amount
        however long the history. Where that cannot be done (a file system without hard
        links, a backend without it), the log is rotated by renaming at ``max_bytes``.
        Returns None, or (a networked store) a note saying the step used a local copy.
        """
        with self._step_lock(key + ".step", self.lock_timeout if timeout is None else timeout):
            records, head = _assemble(self._log_segments(key), self._read_log_from, None)
            size = None
            for record in decide(records):
                size = self._append_bytes(key, encode_record(record))
            if max_bytes is None and checkpoint is None:
                return None
            if size is None:
                size = self.size(key)
            if checkpoint is not None and size - head > checkpoint[0] and (
                    self._rotate_checkpointed(key, checkpoint[1])):
                return None
            if max_bytes is not None and size > max_bytes:
                self._rotate(key, max_bytes)
        return None

    def _rotate_checkpointed(self, key: str,
                             make: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
                             ) -> bool:
        """Rotate the log ``key`` so that its new live segment starts with a checkpoint
        (see :func:`assemble_log`); called under the step lock. False where this backend
        cannot (the caller then rotates by renaming)."""
        return False

    def _checkpoint_for(self, key: str, live: bytes, segment: str,
                        make: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
                        ) -> bytes | None:
        """The checkpoint line for rotating ``key``, whose live segment holds ``live``
        (whole lines), to ``segment``; None if ``make`` failed (the problem is kept in
        :attr:`problems`: the step's own lines are written, only the rotation waits)."""
        records = assemble_log(self._log_segments(key), self._read_log_from, live=live)
        try:
            kept = make(records)
        except Exception as exc:
            self.problems.append(f"{key}: no checkpoint ({type(exc).__name__}: {exc})")
            return None
        return checkpoint_line(len(live), segment, kept)

    def _read_log_from(self, key: str, offset: int) -> bytes | None:
        """The log segment ``key`` from byte ``offset`` on (None if absent)."""
        data = self._read_bytes(key)
        return data[offset:] if data and offset else data

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
            doc = loads(raw) if raw else {}
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
        """Values matching JSONPath ``expression`` in the document at ``key`` ([] if absent),
        as the rules evaluate it (:meth:`DocumentRules.query`)."""
        doc = self.read(key)
        return [] if doc is None else self.rules.query(doc, expression)

    def close(self) -> None:
        """Release connections (a networked store); nothing to do for files or memory."""

    def settle(self, deadline: float | None = None, *, end_of_turn: bool = False) -> None:
        """A short-lived process (a hook) is done writing: a store that queues writes may
        ship some now, never past ``deadline`` (``time.monotonic()``). ``end_of_turn``: the
        session may now stay idle for long. Nothing to do for files or memory."""

    # -- primitives for backends ---------------------------------------------------

    def _step_lock(self, key: str, timeout: float) -> AbstractContextManager[object]:
        """The lock of :meth:`log_step` (``key`` ends in ``.step``): taken only by
        Orchestra's own steps. By default the documents' lock."""
        return self._lock(key, timeout)

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
        """The stamp kept beside the document at ``key`` (see :mod:`state.persistence.spans`)."""
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
    """In-memory twin of :class:`~state.persistence.filestore.FileStorage` (thread-safe)."""

    def __init__(self, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 rules: DocumentRules | None = None) -> None:
        import threading  # not at the top: the dispatcher never needs it

        super().__init__(lock_timeout=lock_timeout, rules=rules)
        self._new_lock = threading.Lock
        self._files: dict[str, bytes] = {}
        self._locks: dict[str, Any] = {}
        self._meta = threading.Lock()

    @contextmanager
    def _lock(self, key: str, timeout: float) -> Iterator[object]:
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

    def _rotate_checkpointed(self, key: str,
                             make: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
                             ) -> bool:
        # As the file backend: the checkpoint stands for the live segment's whole lines at
        # one moment; what is appended meanwhile stays in the segment, past that offset.
        with self._meta:
            data = self._files.get(key, b"")
            segment = _segment_name(key, _next_segment_number(self._log_segments(key)))
        live = data[: data.rfind(b"\n") + 1]
        line = self._checkpoint_for(key, live, segment, make)  # (it may read the store)
        if line is None:
            return False
        with self._meta:
            self._files[segment] = self._files.pop(key, b"")
            self._files[key] = line
        return True

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
