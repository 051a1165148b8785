"""The ``doctor`` checks of the PostgreSQL backend.

:func:`doctor_report` returns ``(ok, message, fix)`` triples — ``fix`` is empty
when ``ok`` — for the front door's ``orchestra doctor`` to print. Nothing here
changes state, and no password is ever part of a message: URLs are redacted.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Each check imports what it uses: doctor runs once, and psycopg only for a server.
__all__ = ["doctor_report"]

#: A round trip slower than this makes every hook that connects noticeably slower.
SLOW_MS = 50.0

Check = tuple[bool, str, str]


def doctor_report(url: str | None = None, *, root: str | os.PathLike[str]) -> list[Check]:
    """Checks for the store of the state root ``root``; ``url`` overrides the configured
    one. An empty list: the file store is in use."""
    from state.errors import StateError
    from state.persistence import local_config, store_url
    from state.postgres.settings import describe, has_password, scrub, store_settings

    root = os.fspath(root)
    config = local_config(root)
    url = url or store_url(root, config)
    if not url:
        return []
    checks: list[Check] = []
    try:
        settings = store_settings(config)
    except StateError as exc:
        return [(False, f"store settings: {scrub(str(exc), url)}",
                 "fix the store section of config.json (shared_state set-config store...)")]
    where = describe(url)
    if has_password(url):
        checks.append((False, f"the store URL for {where} carries a password",
                       "drop it from ORCHESTRA_STORE_URL; use ~/.pgpass (PGPASSFILE) or "
                       "a service file (PGSERVICE)"))
    checks.extend(_server_checks(url, where, settings))
    checks.extend(_outbox_checks(os.path.join(root, "pg"), int(settings["outbox_cap"])))
    return checks


def _server_checks(url: str, where: str, settings: dict[str, Any]) -> list[Check]:
    from state.errors import InvalidValueError
    from state.postgres.connect import StoreUnavailableError, connect
    from state.postgres.schema import CURRENT, schema_version
    from state.postgres.settings import scrub

    try:
        conn = connect(url, max(3.0, float(settings["connect_timeout"])),
                       application="orchestra-doctor")
    except (StoreUnavailableError, InvalidValueError) as exc:
        return [(False, scrub(str(exc), url),
                 "start the server or check the URL, sslmode and credentials "
                 "(PGPASSFILE, PGSERVICE); hooks keep working and journal locally meanwhile")]
    try:
        version = conn.info.parameter_status("server_version") or "?"
        checks: list[Check] = [(True, f"PostgreSQL {version} reachable at {where}", "")]
        schema = settings["schema"]
        found = schema_version(conn, schema)
        if found == CURRENT:
            checks.append((True, f"schema {schema!r} at version {found} (current)", ""))
        elif found > CURRENT:
            checks.append((False, f"schema {schema!r} at version {found}, newer than this "
                           f"Orchestra ({CURRENT})", "upgrade Orchestra on this machine"))
        else:
            what = "missing" if found == 0 else f"at version {found}, needs {CURRENT}"
            checks.append((False, f"schema {schema!r} {what}",
                           "run `orchestra migrate` (python -m state.migrate)"))
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            timings.append((time.perf_counter() - start) * 1000)
        rtt = sorted(timings)[2]
        checks.append((rtt < SLOW_MS, f"round trip {rtt:.2f} ms (median of 5)",
                       "" if rtt < SLOW_MS else "a far server slows every hook that connects; "
                       "raise store.sync_seconds so hooks connect less often"))
        return checks
    except Exception as exc:
        return [(False, f"PostgreSQL at {where} failed a check: "
                 f"{scrub(' '.join(str(exc).split()), url)[:200]}", "see the server's log")]
    finally:
        conn.close()


def _outbox_checks(folder: str, cap: int) -> list[Check]:
    from state.postgres.local import Outbox

    outbox = Outbox(os.path.join(folder, "outbox"))
    checks: list[Check] = []
    waiting = outbox.pending()
    if waiting:
        age = outbox.oldest_age() or 0.0
        over = (f", over its cap of {cap} (store.outbox_cap): nothing is dropped, waiting "
                "heartbeats are merged" if len(waiting) > cap else "")
        checks.append((False, f"{len(waiting)} write(s) wait in the local outbox "
                       f"(oldest {age:.0f}s){over}", "they are shipped by the next command "
                       "or hook that reaches the server: run `orchestra who` once it is up"))
    else:
        checks.append((True, "local outbox empty: everything is on the server", ""))
    failed = os.path.join(folder, "outbox", "failed")
    refused = [n for n in os.listdir(failed) if n.endswith(".json")] if os.path.isdir(
        failed) else []
    if refused:
        checks.append((False, f"{len(refused)} write(s) refused by the server kept in {failed}",
                       "read the .reason files next to them"))
    return checks
