"""migrate: create or upgrade the PostgreSQL schema, or copy a store between backends.

Wired as ``orchestra migrate``; also ``python -m state.migrate``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import IO, Any

from state.cli import EXIT_CODES_HELP, CliParser, Front, Output, run_main
from state.errors import InvalidValueError

# The backends are imported by the verb that uses them: psycopg only for a server.
__all__ = ["main"]

PROG = "migrate"

DESCRIPTION = """\
Create or upgrade Orchestra's schema on a PostgreSQL server (versioned, idempotent:
running it again changes nothing), or copy a whole store from one backend to another.

  migrate                         the server of $ORCHESTRA_STORE_URL or config store.url
  migrate --url postgresql://...  that server
  migrate --status                only print the schema version, change nothing
  migrate --from ~/.claude/orchestration --to postgresql://host/db
  migrate --from postgresql://host/db --to /path/to/empty/folder

A copy keeps every document's version and every log line's bytes; the destination
must be empty. config.json is not copied: it belongs to each machine. Passwords
come from ~/.pgpass (PGPASSFILE) or a service file (PGSERVICE), never the URL in
config; they never appear in the output."""


def build_parser(front: Front | None = None) -> CliParser:
    parser = CliParser(prog=front.prog if front else PROG, description=DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("--url", metavar="URL", help="the server (default: the configured one)")
    parser.add_argument("--schema", metavar="NAME",
                        help="PostgreSQL schema (default $ORCHESTRA_STORE_SCHEMA, config "
                             "store.schema, else orchestra)")
    parser.add_argument("--status", action="store_true", help="print the version, change nothing")
    parser.add_argument("--from", dest="source", metavar="STORE",
                        help="copy from this file root or postgresql:// URL")
    parser.add_argument("--to", dest="target", metavar="STORE",
                        help="copy into this (empty) file root or postgresql:// URL")
    parser.add_argument("--compact", action="store_true", default=argparse.SUPPRESS,
                        help="print compact JSON even on a terminal")
    return parser


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The local ``store`` settings; ``--schema`` wins over the environment and config."""
    import re

    from state.paths import home
    from state.persistence import local_config
    from state.postgres.settings import store_settings

    settings = store_settings(local_config(os.fspath(home())))
    if args.schema is not None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.schema):
            raise InvalidValueError(f"--schema {args.schema[:70]!r} is not a plain "
                                    "lower-case SQL name")
        settings["schema"] = args.schema
    return settings


def _run(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
    if (args.source is None) != (args.target is None):
        raise InvalidValueError("--from and --to go together")
    settings = _settings(args)
    if args.source is not None:
        return _copy(args.source, args.target, settings, out)
    from state.paths import home
    from state.postgres.connect import connect
    from state.postgres.schema import CURRENT, migrate, schema_version
    from state.postgres.settings import describe
    from state.store import store_url

    url = args.url or store_url(os.fspath(home()))
    if not url:
        raise InvalidValueError("no server: give --url or set ORCHESTRA_STORE_URL "
                                "(or config store.url)")
    _check_url(url)
    conn = connect(url, max(5.0, float(settings["connect_timeout"])),
                   application="orchestra-migrate")
    try:
        before = schema_version(conn, settings["schema"])
        applied = [] if args.status else migrate(conn, settings["schema"])
        out.json({"server": describe(url), "schema": settings["schema"],
                  "schema_version": before if args.status else CURRENT,
                  "supported_version": CURRENT, "was": before, "applied": applied})
    finally:
        conn.close()
    return 0


def _check_url(url: str) -> None:
    from state.postgres.settings import is_postgres_url

    if not is_postgres_url(url):
        raise InvalidValueError("the URL must start with postgresql://")


def _open(where: str, settings: dict[str, Any], scratch: str) -> Any:
    """The store at ``where`` (a folder or a URL), with Orchestra's rules (state.store)."""
    from state.postgres.settings import is_postgres_url
    from state.store import RULES

    if is_postgres_url(where):
        from state.postgres.connect import connect
        from state.postgres.schema import migrate
        from state.postgres.storage import PgStorage

        conn = connect(where, max(5.0, float(settings["connect_timeout"])))
        try:
            migrate(conn, settings["schema"])
        finally:
            conn.close()
        return PgStorage(where, scratch, settings=settings, rules=RULES)
    from state.persistence.filestore import FileStorage

    if "://" in where:
        raise InvalidValueError(f"{where.split('://')[0]}:// stores are not supported; "
                                "give a folder or a postgresql:// URL")
    return FileStorage(os.path.expanduser(where), rules=RULES)


def _copy(source: str, target: str, settings: dict[str, Any], out: Output) -> int:
    import tempfile

    from state.postgres.copy import copy_store
    from state.postgres.settings import describe, is_postgres_url

    if not is_postgres_url(source) and not os.path.isdir(os.path.expanduser(source)):
        raise InvalidValueError(f"--from {source}: no such folder")
    with tempfile.TemporaryDirectory(prefix="orchestra-migrate-") as scratch:
        src = _open(source, settings, os.path.join(scratch, "from"))
        dst = _open(target, settings, os.path.join(scratch, "to"))
        try:
            counts = copy_store(src, dst)
        finally:
            src.close()
            dst.close()
    out.json({"from": describe(source), "to": describe(target), **counts})
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    front: Front | None = None,
) -> int:
    return run_main(front.prog if front else PROG, build_parser(front), _run, argv, stdout,
                    stderr)


def run() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    run()
