"""Capturing the payloads Claude Code sends (the runtime half of recording).

Switched on by ``ORCHESTRA_RECORD=FILE`` (or the config key ``record``, which
``python -m hooks record on FILE|off|status`` sets, see :mod:`hooks.tooling.record`); the
dispatcher then calls :func:`record_payload` for every event before dispatching it. Each
payload becomes one JSON line, appended with a single ``write`` on an ``O_APPEND``
descriptor (parallel hooks do not interleave), to a file created ``0600`` (folders ``0700``).

The line is the payload itself — replayable as is — with the event log's redaction
applied in place: secret-looking substrings (:func:`state.redact.redact`) and string
values under secret-sounding keys become ``[REDACTED]``, and strings longer than
:data:`MAX_STRING` are cut (a ``...[N more characters]`` marker says so). Keys, types and
nesting are kept, and the fields a replay depends on (ids, names, paths) are never touched.
Recording never fails the event: a problem is one line on stderr (Claude Code's debug log).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

__all__ = ["MAX_STRING", "record_payload", "record_target", "redact_payload"]

MAX_STRING = 100_000
#: Top-level fields a replay needs verbatim.
_IDENTITY = frozenset({
    "session_id", "transcript_path", "cwd", "prompt_id", "permission_mode", "agent_id",
    "agent_type", "hook_event_name", "tool_name", "tool_use_id", "task_id", "turn_id",
    "message_id", "agent_transcript_path", "file_path", "elicitation_id",
})
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def record_target(home: str, config: dict[str, Any] | None = None) -> str | None:
    """Where to record: ``$ORCHESTRA_RECORD``, else ``record`` in ``<home>/config.json``.

    ``ORCHESTRA_RECORD`` set but empty switches recording off whatever the config says.
    ``config`` is the stored config when the caller has read it already.
    """
    if "ORCHESTRA_RECORD" in os.environ:
        return os.environ["ORCHESTRA_RECORD"] or None
    if config is None:
        try:
            with open(os.path.join(home, "config.json"), "rb") as fh:
                config = json.loads(fh.read())
        except (OSError, ValueError):
            return None
    value = config.get("record") if isinstance(config, dict) else None
    return value if isinstance(value, str) and value else None


def redact_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with secrets masked and huge strings cut (see the module docstring)."""
    return {key: value if key in _IDENTITY else _redact(key, value)
            for key, value in payload.items()}


def _redact(key: str, value: Any) -> Any:
    from state.redact import REDACTED, is_sensitive_key, redact

    if isinstance(value, str):
        if value and is_sensitive_key(key):
            return REDACTED
        if len(value) > MAX_STRING:
            value = value[:MAX_STRING] + f"...[{len(value) - MAX_STRING} more characters]"
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(key, v) for v in value]
    return value


def record_payload(payload: dict[str, Any], target: str) -> None:
    """Append the redacted ``payload`` to ``target`` as one JSON line; never raises."""
    try:
        path = os.path.abspath(os.path.expanduser(target))
        line = _line(redact_payload(payload))
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            from state.paths import make_private_dirs

            make_private_dirs(folder)  # every folder it makes 0700, not only the last
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _BINARY, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except Exception as exc:  # a broken recording must never break the event
        sys.stderr.write(f"orchestra: not recorded to {target}: {type(exc).__name__}: {exc}\n")


def _line(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a \ud800 escape): keep it escaped
        return (json.dumps(payload, separators=(",", ":")) + "\n").encode("ascii")
