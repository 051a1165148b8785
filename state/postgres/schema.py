"""The versioned schema: ``python -m state.migrate`` (``orchestra migrate``) applies it.

Every migration runs in one transaction under an advisory lock, so two machines
migrating at once do not race, and re-running is a no-op. ``meta`` holds
``schema_version``. A server whose schema is newer than this Orchestra refuses
to be used rather than guess.

Tables (in the schema ``store.schema``, default ``orchestra``):

* ``documents`` (key, kind, doc jsonb, version) — versioned documents;
* ``volatile``  (key, kind, doc jsonb, ts)      — last-writer-wins documents (heartbeats);
* ``log_heads`` (key, size) and ``log_lines`` (key, pos, line, op_id) — append-only
  logs; ``pos`` is the byte offset of the line, as in a file, so read cursors
  (message inboxes) mean the same on both backends; ``op_id`` makes replays
  from a machine's outbox idempotent;
* ``applied_ops`` (op_id) — outbox operations other than appends already applied.
"""

from __future__ import annotations

from state.errors import StateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CURRENT", "MIGRATIONS", "SchemaError", "migrate", "schema_version"]

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
CREATE TABLE {s}.documents (
    key text PRIMARY KEY,
    kind text NOT NULL,
    doc jsonb NOT NULL,
    version bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.volatile (
    key text PRIMARY KEY,
    kind text NOT NULL,
    doc jsonb NOT NULL,
    ts double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.log_heads (
    key text PRIMARY KEY,
    size bigint NOT NULL DEFAULT 0
);
CREATE TABLE {s}.log_lines (
    key text NOT NULL,
    pos bigint NOT NULL,
    line text NOT NULL,
    op_id text,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, pos)
);
CREATE UNIQUE INDEX log_lines_op_id ON {s}.log_lines (op_id) WHERE op_id IS NOT NULL;
CREATE TABLE {s}.applied_ops (
    op_id text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""),
)
CURRENT = MIGRATIONS[-1][0]


class SchemaError(StateError):
    """The schema is missing, old or newer than this Orchestra; the message says what to do."""


def schema_version(conn: Any, schema: str) -> int:
    """The schema's version, 0 if Orchestra's tables are not there."""
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}".meta',)).fetchone()
    if not row or not row[0]:
        return 0
    found = conn.execute(f'SELECT value FROM "{schema}".meta WHERE name = %s',
                         ("schema_version",)).fetchone()
    return int(found[0]) if found else 0


def migrate(conn: Any, schema: str) -> list[int]:
    """Bring the schema to :data:`CURRENT`; return the versions applied (empty: up to date)."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                     (f"orchestra-migrate:{schema}",))
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".meta '
                     "(name text PRIMARY KEY, value text NOT NULL)")
        version = schema_version(conn, schema)
        if version > CURRENT:
            raise SchemaError(too_new(version))
        for number, ddl in MIGRATIONS:
            if number <= version:
                continue
            conn.execute(ddl.format(s=f'"{schema}"'))
            applied.append(number)
        if applied:
            conn.execute(f'INSERT INTO "{schema}".meta (name, value) VALUES (%s, %s) '
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                         ("schema_version", str(CURRENT)))
    return applied


def too_new(version: int) -> str:
    return (f"the server's Orchestra schema is version {version}, newer than this "
            f"Orchestra knows ({CURRENT}); upgrade Orchestra on this machine")


def too_old(version: int) -> str:
    return (f"the server's Orchestra schema is version {version}, this Orchestra needs "
            f"{CURRENT}: run `orchestra migrate` (or python -m state.migrate)")
