"""The SQL behind every storage primitive; each function takes a psycopg connection.

Keys are the same strings as in the file store (:mod:`state.paths`). Log lines
are kept as the exact text the file store would write (without the newline),
so ``pos`` — the byte offset of a line — and a log's ``size`` match a file's.
Every change sends ``NOTIFY orchestra_<schema>, '<key>'`` (delivered on commit),
which :meth:`PgStorage.wait_for_change` listens for.
"""

from __future__ import annotations

import json
import re

from state.persistence.storage import _next_segment_number, _segment_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "all_keys",
    "append_line",
    "channel",
    "children",
    "delete_key",
    "exists",
    "head_size",
    "log_segments",
    "read_document",
    "read_log_text",
    "remove_tree",
    "rotate",
    "write_document",
    "write_volatile",
]

def kind_of(key: str) -> str:
    """``sessions/x/state.json`` -> ``state``: what kind of document or log a key holds."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def is_log(key: str) -> bool:
    return key.endswith(".jsonl")


def channel(schema: str) -> str:
    return f"orchestra_{schema}"


def notify(conn: Any, schema: str, key: str) -> None:
    conn.execute("SELECT pg_notify(%s, %s)", (channel(schema), key[:7000]))


def read_document(conn: Any, s: str, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """(document, table) — from ``documents``, else ``volatile``; (None, None) if absent."""
    row = conn.execute(f"SELECT doc FROM {s}.documents WHERE key = %s", (key,)).fetchone()
    if row is not None:
        return row[0], "documents"
    row = conn.execute(f"SELECT doc FROM {s}.volatile WHERE key = %s", (key,)).fetchone()
    if row is not None:
        return row[0], "volatile"
    return None, None


#: ``\u0000`` in JSON text, not preceded by an escaped backslash (``\\u0000`` is text).
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _dumps(doc: Any) -> str:
    """JSON for a ``jsonb`` column. ``jsonb`` cannot hold U+0000 ("unsupported Unicode
    escape sequence"): a NUL in a string or key made the server refuse the write, and
    every later write of that document (a queued one was parked in ``pg/outbox/failed``);
    ``orchestra migrate`` of a file state root holding one failed. It is stored as U+FFFD,
    the replacement character, instead."""
    text = json.dumps(doc)
    return _NUL.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def _jsonb(doc: Any) -> Any:
    from psycopg.types.json import Jsonb  # psycopg is loaded by the connection

    return Jsonb(doc, dumps=_dumps)


def write_document(conn: Any, s: str, schema: str, key: str, doc: dict[str, Any]) -> None:
    conn.execute(
        f"INSERT INTO {s}.documents (key, kind, doc, version) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, version = excluded.version, "
        "updated_at = now()",
        (key, kind_of(key), _jsonb(doc), int(doc.get("version", 0) or 0)))
    notify(conn, schema, key)


def write_volatile(conn: Any, s: str, schema: str, key: str, doc: dict[str, Any],
                   ts: float) -> None:
    """Last writer wins by ``ts``: a heartbeat replayed late never overwrites a newer one."""
    conn.execute(
        f"INSERT INTO {s}.volatile AS v (key, kind, doc, ts) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, ts = excluded.ts, "
        "updated_at = now() WHERE v.ts <= excluded.ts",
        (key, kind_of(key), _jsonb(doc), ts))
    notify(conn, schema, key)


def append_line(conn: Any, s: str, schema: str, key: str, line: str,
                op_id: str | None = None, *, checked: bool = False) -> int:
    """Append one line (no newline); return the log's size afterwards.

    The head row's lock orders appenders of one log, so positions never overlap
    and every reader sees a prefix of the log. With ``op_id`` an append that
    was applied before (an outbox replay) is skipped; ``checked``: the caller
    knows it was not (it looked up a whole batch at once).
    """
    if op_id is not None and not checked:
        seen = conn.execute(f"SELECT 1 FROM {s}.log_lines WHERE op_id = %s", (op_id,)).fetchone()
        if seen:
            return head_size(conn, s, key)
    length = len(line.encode("utf-8")) + 1
    row = conn.execute(
        f"WITH head AS (INSERT INTO {s}.log_heads AS h (key, size) VALUES (%(k)s, %(n)s) "
        "ON CONFLICT (key) DO UPDATE SET size = h.size + excluded.size RETURNING size) "
        f"INSERT INTO {s}.log_lines (key, pos, line, op_id) "
        "SELECT %(k)s, size - %(n)s, %(l)s, %(o)s FROM head RETURNING pos + %(n)s",
        {"k": key, "n": length, "l": line, "o": op_id}).fetchone()
    notify(conn, schema, key)
    return int(row[0])


def head_size(conn: Any, s: str, key: str) -> int:
    row = conn.execute(f"SELECT size FROM {s}.log_heads WHERE key = %s", (key,)).fetchone()
    return int(row[0]) if row else 0


def read_log_text(conn: Any, s: str, key: str, offset: int = 0) -> str | None:
    """The log's lines from byte ``offset`` on, each ending in a newline; None if no log."""
    row = conn.execute(
        f"SELECT string_agg(line || E'\\n', '' ORDER BY pos) FROM {s}.log_lines "
        "WHERE key = %s AND pos >= %s", (key, offset)).fetchone()
    if row is None or row[0] is None:
        return None if offset == 0 and not head_size(conn, s, key) else ""
    return str(row[0])


def log_segments(conn: Any, s: str, key: str) -> list[str]:
    """Rotated segments of ``key`` (oldest first), then ``key`` itself."""
    stem = key[: -len(".jsonl")] + "."
    rows = conn.execute(f"SELECT key FROM {s}.log_heads WHERE starts_with(key, %s) "
                        "AND key <> %s", (stem, key)).fetchall()
    rotated = sorted(r[0] for r in rows if r[0].endswith(".jsonl") and "/" not in
                     r[0][len(stem):])
    return [*rotated, key]


def rotate(conn: Any, s: str, schema: str, key: str, max_bytes: int) -> None:
    """Move the log's lines to the next numbered segment, like a file rename."""
    with conn.transaction():
        row = conn.execute(f"SELECT size FROM {s}.log_heads WHERE key = %s FOR UPDATE",
                           (key,)).fetchone()
        if row is None or int(row[0]) <= max_bytes:
            return  # someone rotated it first
        segment = _segment_name(key, _next_segment_number(log_segments(conn, s, key)))
        conn.execute(f"UPDATE {s}.log_lines SET key = %s WHERE key = %s", (segment, key))
        conn.execute(f"INSERT INTO {s}.log_heads (key, size) VALUES (%s, %s)",
                     (segment, int(row[0])))
        conn.execute(f"DELETE FROM {s}.log_heads WHERE key = %s", (key,))
        notify(conn, schema, key)


def exists(conn: Any, s: str, key: str) -> bool:
    table = "log_heads" if is_log(key) else None
    if table:
        return conn.execute(f"SELECT 1 FROM {s}.log_heads WHERE key = %s",
                            (key,)).fetchone() is not None
    return read_document(conn, s, key)[0] is not None


def delete_key(conn: Any, s: str, schema: str, key: str) -> bool:
    with conn.transaction():
        if is_log(key):
            conn.execute(f"DELETE FROM {s}.log_lines WHERE key = %s", (key,))
            gone = conn.execute(f"DELETE FROM {s}.log_heads WHERE key = %s", (key,)).rowcount
        else:
            gone = conn.execute(f"DELETE FROM {s}.documents WHERE key = %s", (key,)).rowcount
            gone += conn.execute(f"DELETE FROM {s}.volatile WHERE key = %s", (key,)).rowcount
        if gone:
            notify(conn, schema, key)
    return bool(gone)


_ALL_KEYS = ("SELECT key FROM {s}.documents UNION ALL SELECT key FROM {s}.volatile "
             "UNION ALL SELECT key FROM {s}.log_heads")


def children(conn: Any, s: str, prefix: str) -> list[str]:
    start = prefix.rstrip("/") + "/"
    rows = conn.execute(
        f"SELECT DISTINCT split_part(substr(key, %s), '/', 1) FROM ({_ALL_KEYS.format(s=s)}) k "
        "WHERE starts_with(key, %s)", (len(start) + 1, start)).fetchall()
    return [r[0] for r in rows if r[0]]


def remove_tree(conn: Any, s: str, schema: str, prefix: str) -> None:
    start = prefix.rstrip("/") + "/"
    with conn.transaction():
        for table in ("documents", "volatile", "log_lines", "log_heads"):
            conn.execute(f"DELETE FROM {s}.{table} WHERE starts_with(key, %s)", (start,))
        notify(conn, schema, start)


def all_keys(conn: Any, s: str) -> list[str]:
    return sorted(r[0] for r in conn.execute(_ALL_KEYS.format(s=s)).fetchall())
