"""Connecting to the server within a deadline, and remembering that it is away.

libpq's ``connect_timeout`` cannot go below 2 seconds, longer than a hook's
handler may take, so the attempt — importing psycopg included — runs in a daemon
thread that the caller waits for at most ``timeout`` seconds; a late connection
is simply dropped. A failed
attempt writes ``<state root>/pg/down``; for ``retry_seconds`` afterwards hooks
treat the server as away without trying (one attempt per window, not one per
event), while CLIs always try.
"""

from __future__ import annotations

import os
import threading
import time

from state.errors import EXIT_USAGE, UnavailableError
from state.postgres.settings import describe, redact, scrub

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BadStoreUrlError", "StoreUnavailableError", "breaker_open", "connect", "describe",
           "record_outcome"]


class StoreUnavailableError(UnavailableError):
    """The server cannot be reached (or stopped answering); the message says why."""


class BadStoreUrlError(StoreUnavailableError):
    """libpq refuses the store URL itself. The server cannot be reached until it is fixed,
    so writes wait as for a server that is away; a command exits 2 (invalid input)."""

    exit_code = EXIT_USAGE


def connect(url: str, timeout: float, *, application: str = "orchestra") -> Any:
    """An autocommit psycopg connection, or :class:`StoreUnavailableError` within ``timeout``."""
    box: list[Any] = []

    def attempt() -> None:
        try:
            # Imported here, inside the deadline: on a busy machine the import alone can
            # take longer than the connection.
            import psycopg
        except ImportError:
            box.append(StoreUnavailableError(
                "the PostgreSQL store is selected (ORCHESTRA_STORE_URL or config store.url) "
                "but psycopg is not installed: pip install 'orchestra[postgres]'"))
            return
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=max(2, int(timeout) + 1),
                                   application_name=application)
        except BaseException as exc:  # handed to the waiting thread
            box.append(exc)
            return
        if box:  # the caller gave up already: nobody will use it
            conn.close()
        else:
            box.append(conn)

    thread = threading.Thread(target=attempt, daemon=True, name="orchestra:pg-connect")
    thread.start()
    thread.join(timeout)
    if not box:
        box.append(None)  # tells a late attempt to close its connection
        raise StoreUnavailableError(
            f"PostgreSQL at {describe(url)} did not answer within {timeout:g}s")
    outcome = box[0]
    if isinstance(outcome, StoreUnavailableError):
        raise outcome
    if isinstance(outcome, BaseException):
        # libpq's text may quote the URL, password included ("unexpected spaces found in
        # ..."): it is printed only scrubbed.
        reason = scrub(" ".join(str(outcome).split()), url)[:300]
        if _is_bad_url(outcome):
            raise BadStoreUrlError(f"the store URL {describe(url)} is not valid: {reason}"
                                   ) from None
        raise StoreUnavailableError(f"cannot reach PostgreSQL at {describe(url)}: "
                                    f"{reason}") from None
    return outcome


def _is_bad_url(exc: BaseException) -> bool:
    """libpq refused the URL itself (psycopg raises ProgrammingError for that)."""
    import psycopg  # only when a connection failed

    return isinstance(exc, psycopg.ProgrammingError)


def breaker_open(folder: str, retry_seconds: float) -> bool:
    """True while a failed attempt is younger than ``retry_seconds``."""
    try:
        age = time.time() - os.stat(os.path.join(folder, "down")).st_mtime
    except OSError:
        return False
    return 0 <= age < retry_seconds


def record_outcome(folder: str, ok: bool, reason: str = "") -> None:
    path = os.path.join(folder, "down")
    try:
        if ok:
            if os.path.exists(path):
                os.unlink(path)
        else:
            from state.persistence.filestore import make_private_dirs  # only when the breaker trips

            make_private_dirs(folder)  # private, like every file of the state root
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as fh:
                fh.write(redact(reason)[:500] + "\n")
    except OSError:
        pass  # the breaker is an optimisation: never fail because of it
