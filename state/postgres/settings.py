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
* ``connect_timeout`` — seconds a hook's connection attempt may take, importing
  psycopg included (default 1.0; a CLI waits at least 5 s);
* ``retry_seconds``   — after a failed attempt, hooks do not try again for this
  long (default 5): a stopped server costs one attempt, not one per event; a
  long-running command (``serve``, ``watch``, ``inbox --follow``) tries again this
  long after it lost the server;
* ``hook_server_seconds`` — how long one hook may wait on the server in all:
  connecting, reading and shipping the outbox (default 1.5). What it could not do
  in that time waits locally; nothing a hook writes depends on it;
* ``hook_flush_ops``  — how many waiting operations one hook ships at most, oldest
  first (default 500): after a long outage the outbox drains over several hooks
  instead of stalling the first one;
* ``outbox_cap``      — operations the outbox may hold before Orchestra warns that
  the server has been away for long (default 20000). Nothing is ever dropped: a
  waiting heartbeat is replaced by the next one of the same session (only the
  newest counts), and messages, claims, session documents and events all wait.
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

__all__ = ["DEFAULTS", "describe", "has_password", "is_postgres_url", "redact", "redact_url",
           "scrub", "secrets_of", "store_settings"]

DEFAULTS: dict[str, Any] = {
    "url": None,
    "schema": "orchestra",
    "sync_seconds": 10.0,
    "connect_timeout": 1.0,
    "retry_seconds": 5.0,
    "hook_server_seconds": 1.5,
    "hook_flush_ops": 500,
    "outbox_cap": 20000,
    "claim_seconds": 1.0,
}
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_KV_PASSWORD = re.compile(r"(\b[a-z]*password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def _parts(url: str) -> tuple[str, str, str | None, str, str]:
    """``(scheme://, user, password or None, hosts and path, query)`` the way libpq reads
    a URI: the credentials end at the first ``@`` before any ``/`` (a raw ``?``, ``#`` or
    space in a password is accepted), the query starts at the first ``?`` after them."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", "", None, url, ""
    end = len(rest)
    for stop in ("@", "/"):
        found = rest.find(stop)
        if found >= 0:
            end = min(end, found)
    user, password = "", None
    if end < len(rest) and rest[end] == "@":
        credentials, rest = rest[:end], rest[end + 1:]
        user, colon, secret = credentials.partition(":")
        password = secret if colon else None
    where, _, query = rest.partition("?")
    return scheme + "://", user, password, where, query


def _query_secrets(query: str) -> list[tuple[str, str]]:
    """``(name, raw value)`` of every query parameter that holds a password
    (``password``, ``sslpassword``...)."""
    found = []
    for item in query.split("&"):
        name, eq, value = item.partition("=")
        if eq and "password" in name.strip().lower():
            found.append((name, value))
    return found


def has_password(url: str) -> bool:
    """True if ``url`` carries a password (in the authority or as a parameter)."""
    _, _, password, _, query = _parts(url)
    return password is not None or bool(_query_secrets(query))


def _intended_password(url: str) -> list[str]:
    """What a person meant as the password where libpq reads none or only part of it: a
    raw ``/`` or a second ``@`` in ``user:pass@host``. libpq then takes part of it for a
    host, port or database, and the connection fails with an error quoting that part.
    The candidate runs from the first ``:`` to the last ``@`` before the query; it and its
    pieces are hidden too (hiding too much only costs a message some detail)."""
    _, sep, rest = url.partition("://")
    if not sep:
        return []
    _, _, password, _, _ = _parts(url)
    start = rest.find("@") + 1 if password is not None else 0
    query = rest.find("?", start)
    authority = rest[:query if query >= 0 else len(rest)].rpartition("@")[0]
    _, colon, meant = authority.partition(":")
    if not colon or not meant or meant == password:
        return []
    return [meant, *(piece for piece in re.split(r"[@/]", meant) if piece)]


def secrets_of(url: str) -> list[str]:
    """Every password ``url`` carries, as written and percent-decoded, longest first."""
    from urllib.parse import unquote  # only a URL with a password

    _, _, password, _, query = _parts(url)
    raw = ([password] if password else []) + [value for _, value in _query_secrets(query)]
    raw += _intended_password(url)
    found = {form for value in raw for form in (value, unquote(value), value.strip())
             if form.strip()}
    return sorted(found, key=len, reverse=True)


def redact_url(url: str) -> str:
    """``url`` with its passwords replaced by ``***`` (user, hosts, database and the
    other parameters kept)."""
    scheme, user, password, where, query = _parts(url)
    if not scheme:
        return scrub(url, url)
    credentials = (user + (":***" if password is not None else "") + "@"
                   if user or password is not None else "")
    if query:
        query = "?" + "&".join(
            item.partition("=")[0] + "=***"
            if "=" in item and "password" in item.partition("=")[0].strip().lower() else item
            for item in query.split("&"))
    return scrub(scheme + credentials + where + query, url)


def describe(url: str) -> str:
    """The URL without password and parameters, for messages: ``postgresql://u@host/db``."""
    scheme, user, _, where, _ = _parts(url)
    if not scheme:
        return redact(url)  # a folder (``migrate --from``), or no URL at all
    return scrub(scheme + (user + "@" if user else "") + where, url)


def redact(text: str) -> str:
    """``text`` with every password in a URL or ``password=`` parameter replaced by ``***``
    (for text whose URL is unknown; :func:`scrub` also removes a known URL's passwords)."""
    text = re.sub(r"(postgres(?:ql)?://[^:/@\s]*:)[^@/\n]*@", r"\1***@", text)
    text = re.sub(r"([?&][a-z]*password=)[^&\s]*", r"\1***", text, flags=re.IGNORECASE)
    return _KV_PASSWORD.sub(r"\1***", text)


def scrub(text: str, url: str | None) -> str:
    """``text`` (an error message, libpq's included) safe to print: :func:`redact`, and
    every password that ``url`` carries removed wherever it appears, however quoted."""
    if url:
        for secret in secrets_of(url):
            text = text.replace(secret, "***")
    return redact(text)


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
    for name in ("sync_seconds", "connect_timeout", "retry_seconds", "hook_server_seconds",
                 "claim_seconds"):
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidValueError(f"config store.{name} must be a number >= 0")
        merged[name] = float(value)
    for name in ("hook_flush_ops", "outbox_cap"):
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidValueError(f"config store.{name} must be a whole number >= 1")
    if merged["connect_timeout"] <= 0:
        merged["connect_timeout"] = DEFAULTS["connect_timeout"]
    if merged["claim_seconds"] <= 0:
        merged["claim_seconds"] = DEFAULTS["claim_seconds"]
    return merged
