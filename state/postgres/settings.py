"""The ``store`` settings of the local ``config.json``, and keeping passwords out of sight.

``store`` is per machine, like the rest of ``config.json``: every machine names
the server it uses. Keys (all optional):

* ``url``             — ``postgresql://user@host:port/db?sslmode=require`` or
  ``postgresql:///db?service=orchestra``; ``$ORCHESTRA_STORE_URL`` wins. A URL in
  the config must not carry a password: libpq reads it from ``~/.pgpass``
  (``PGPASSFILE``) or a service file (``PGSERVICE``).
* ``schema``          — the PostgreSQL schema holding Orchestra's tables
  (default ``orchestra``; ``$ORCHESTRA_STORE_SCHEMA`` wins);
* ``sync_seconds``    — how old the local read cache may be before a hook
  connects to look for news (default 10; 0: every hook that reads connects);
* ``connect_timeout`` — seconds a connection attempt may take, importing psycopg
  included (default 1.0);
* ``retry_seconds``   — after a failed attempt, hooks do not try again for this
  long (default 5): a stopped server costs one attempt, not one per event;
* ``claim_seconds``   — how long a hook's check-and-claim (a file claim, the git guard)
  may wait for the server, connecting included (default 1.0); past it, the claim is
  decided on this machine's copy and the reason says so (:mod:`state.postgres.step`).
"""

from __future__ import annotations

import os
import re

from state.errors import InvalidValueError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["DEFAULTS", "has_password", "is_postgres_url", "redact", "store_settings"]

DEFAULTS: dict[str, Any] = {
    "url": None,
    "schema": "orchestra",
    "sync_seconds": 10.0,
    "connect_timeout": 1.0,
    "retry_seconds": 5.0,
    "claim_seconds": 1.0,
}
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def has_password(url: str) -> bool:
    """True if ``url`` carries a password (in the authority or as a parameter)."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url)
        return bool(parts.password) or "password" in {k.lower() for k in parse_qs(parts.query)}
    except ValueError:
        return bool(_KV_PASSWORD.search(url))


def redact(text: str) -> str:
    """``text`` with every password in a URL or ``password=`` parameter replaced by ``***``."""
    text = re.sub(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
    text = re.sub(r"([?&]password=)[^&\s]*", r"\1***", text, flags=re.IGNORECASE)
    return _KV_PASSWORD.sub(r"\1***", text)


def store_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The ``store`` section of ``config`` (as stored) over :data:`DEFAULTS`, environment
    applied, checked: a bad value is an :class:`InvalidValueError` naming it."""
    section = config.get("store")
    merged = dict(DEFAULTS)
    if isinstance(section, dict):
        merged.update({k: v for k, v in section.items() if k in DEFAULTS})
    from_config = merged["url"]
    env_url = os.environ.get("ORCHESTRA_STORE_URL")
    if env_url:
        merged["url"] = env_url
    elif from_config is not None:
        if not is_postgres_url(from_config):
            raise InvalidValueError("config store.url must start with postgresql://")
        if has_password(from_config):
            raise InvalidValueError(
                "config store.url contains a password; remove it and put it in ~/.pgpass "
                "(PGPASSFILE) or a service file (PGSERVICE)")
    env_schema = os.environ.get("ORCHESTRA_STORE_SCHEMA")
    if env_schema:
        merged["schema"] = env_schema
    if not isinstance(merged["schema"], str) or not _SCHEMA.match(merged["schema"]):
        raise InvalidValueError(f"store schema {str(merged['schema'])[:70]!r} is not a plain "
                                "lower-case SQL name")
    for name in ("sync_seconds", "connect_timeout", "retry_seconds", "claim_seconds"):
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidValueError(f"config store.{name} must be a number >= 0")
        merged[name] = float(value)
    if merged["connect_timeout"] <= 0:
        merged["connect_timeout"] = DEFAULTS["connect_timeout"]
    if merged["claim_seconds"] <= 0:
        merged["claim_seconds"] = DEFAULTS["claim_seconds"]
    return merged
