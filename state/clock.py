"""Time stamps and durations, in one format everywhere (UTC, ISO 8601, ``Z``)."""

from __future__ import annotations

import time

__all__ = ["iso", "now", "parse_duration", "parse_time"]

# Compiled on first use, not at import: every hook event imports this module.
_DURATION = r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def now() -> float:
    return time.time()


def iso(ts: float | None = None) -> str:
    """``2026-11-28T09:00:00.123Z`` for ``ts`` (default: now)."""
    # time.gmtime, not datetime: this runs on every hook and datetime costs an import.
    moment = now() if ts is None else ts
    whole = int(moment // 1)
    millis = min(999, int((moment - whole) * 1000))  # truncated, like datetime's
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def parse_time(text: str) -> float:
    """An ISO 8601 time (``Z`` or offset; naive means UTC) or a duration ago (``10m``)."""
    try:
        return now() - parse_duration(text)
    except ValueError:
        pass
    from datetime import UTC, datetime  # an ISO time only: datetime is an import

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use ISO 8601 or a duration like 10m)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``2w``."""
    import re  # compiled patterns are cached by re itself

    match = re.match(_DURATION, text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (examples: 90s, 15m, 12h, 7d)")
    return float(match.group(1)) * _UNITS[match.group(2)]
