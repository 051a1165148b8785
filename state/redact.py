"""Making event data safe and small enough to log.

:func:`summarize` walks a JSON value and returns a bounded copy: strings that look
like secrets are masked, long strings are cut with their length and a SHA-256
so the original can still be recognised, and deep or huge containers are
abbreviated.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from typing import Any

__all__ = ["SECRET_PATTERNS", "fingerprint", "redact", "summarize"]

REDACTED = "[REDACTED]"

#: Things that are secrets wherever they appear.
SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
               re.S),
    re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}"),  # Anthropic / OpenAI style keys
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),  # Google API key
    re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),  # JWT
)
#: ``password=...``, ``"api_key": "..."``, ``Authorization: Bearer ...``: keep the name.
_ASSIGNMENT = re.compile(
    r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|credentials?)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"'&;,]{3,})"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/\-]{8,}=*")
_SENSITIVE_KEY = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|credential|private)")


def redact(text: str) -> str:
    """``text`` with every recognisable secret replaced by ``[REDACTED]``."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _ASSIGNMENT.sub(lambda m: m.group(1) + REDACTED, text)


def fingerprint(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def summarize(value: Any, limit: int = 2000, *, depth: int = 6, items: int = 50) -> Any:
    """A bounded, redacted copy of a JSON value (see the module docstring)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return redact(value)
        return {
            "text": redact(value[:limit]),
            "length": len(value),
            "sha256": fingerprint(value),
            "truncated": True,
        }
    if isinstance(value, dict):
        if depth <= 0:
            return {"keys": len(value), "truncated": True}
        out: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if i >= items:
                out["..."] = f"{len(value) - items} more keys"
                break
            key = str(key)[:100]
            if isinstance(item, str) and _SENSITIVE_KEY.search(key) and item:
                out[key] = REDACTED
            else:
                out[key] = summarize(item, limit, depth=depth - 1, items=items)
        return out
    if isinstance(value, list):
        if depth <= 0:
            return {"items": len(value), "truncated": True}
        out_list = [summarize(v, limit, depth=depth - 1, items=items) for v in value[:items]]
        if len(value) > items:
            out_list.append(f"... {len(value) - items} more items")
        return out_list
    return value
