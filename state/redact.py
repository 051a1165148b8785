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

__all__ = ["fingerprint", "is_sensitive_key", "redact", "secret_patterns", "summarize"]

REDACTED = "[REDACTED]"

# Every pattern below needs one of these (lower-cased) substrings to match. Most event
# text contains none, so the regexes are neither compiled nor run for it: compiling them
# alone would cost more than the rest of a PreToolUse dispatch's logging.
_TRIGGERS = (
    "private key", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "akia",
    "aiza", "eyj", "bearer", "basic", "password", "passwd", "pwd", "secret", "token", "api",
    "access", "auth", "credential",
)
_SENSITIVE_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "api-key",
                    "credential", "private")
_compiled: tuple[tuple[re.Pattern[str], ...], re.Pattern[str], re.Pattern[str]] | None = None


def secret_patterns() -> tuple[tuple[re.Pattern[str], ...], re.Pattern[str], re.Pattern[str]]:
    """(patterns that are secrets wherever they appear, ``Bearer ...``, ``name=value``)."""
    global _compiled
    if _compiled is None:
        secrets = (
            re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?"
                       r"(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S),
            re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}"),  # Anthropic / OpenAI style keys
            re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"),
            re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack
            re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
            re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),  # Google API key
            # a JWT: three base64url parts
            re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        )
        bearer = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/\-]{8,}=*")
        # ``password=...``, ``"api_key": "..."``: keep the name, mask the value.
        assignment = re.compile(
            r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|"
            r"credentials?)[\"']?\s*[:=]\s*[\"']?)([^\s\"'&;,]{3,})"
        )
        _compiled = (secrets, bearer, assignment)
    return _compiled


def is_sensitive_key(key: str) -> bool:
    """True for keys such as ``password``, ``apiKey``, ``client_secret``."""
    low = key.lower()
    return any(word in low for word in _SENSITIVE_WORDS)


def redact(text: str) -> str:
    """``text`` with every recognisable secret replaced by ``[REDACTED]``."""
    low = text.lower()
    if not any(trigger in low for trigger in _TRIGGERS):
        return text
    secrets, bearer, assignment = secret_patterns()
    for pattern in secrets:
        text = pattern.sub(REDACTED, text)
    text = bearer.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return assignment.sub(lambda m: m.group(1) + REDACTED, text)


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
            if isinstance(item, str) and is_sensitive_key(key) and item:
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
