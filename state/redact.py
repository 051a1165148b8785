"""Making event data safe and small enough to log.

:func:`summarize` walks a JSON value and returns a bounded copy: strings that look
like secrets are masked, long strings are cut with their length and a SHA-256
so the original can still be recognised, and deep or huge containers are
abbreviated.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    import re
    from typing import Any

__all__ = ["env_secrets", "fingerprint", "forget_env", "is_sensitive_key", "redact",
           "secret_patterns", "summarize"]

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
#: Each pattern of :func:`secret_patterns` with the triggers it needs: :func:`redact` compiles
#: (and runs) only those whose triggers the text holds. A word such as "api" or "auth" in a
#: command's output then costs one pattern, not all nine.
_RULES: tuple[tuple[tuple[str, ...], int], ...] = (
    (("private key",), 0), (("sk-",), 1),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), 2), (("xox",), 3),
    (("akia",), 4), (("aiza",), 5), (("eyj",), 6), (("bearer", "basic"), 7),
    (("password", "passwd", "pwd", "secret", "token", "api", "access", "auth", "credential"),
     8),
)
_SOURCES: tuple[tuple[str, int], ...] = (
    (r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", 0),
    (r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}", 0),  # Anthropic / OpenAI style keys
    (r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}", 0),
    (r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0),  # Slack
    (r"\bAKIA[0-9A-Z]{16}\b", 0),  # AWS access key id
    (r"\bAIza[0-9A-Za-z_\-]{35}\b", 0),  # Google API key
    # a JWT: three base64url parts
    (r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}", 0),
    (r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/\-]{8,}=*", 0),
    # ``password=...``, ``"api_key": "..."``: keep the name, mask the value.
    (r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|"
     r"credentials?)[\"']?\s*[:=]\s*[\"']?)([^\s\"'&;,]{3,})", 0),
)


def secret_patterns() -> tuple[tuple[re.Pattern[str], ...], re.Pattern[str], re.Pattern[str]]:
    """(patterns that are secrets wherever they appear, ``Bearer ...``, ``name=value``)."""
    global _compiled
    if _compiled is None:
        import re  # only for a text that holds a trigger: re loads enum, functools...

        patterns = [re.compile(source, flags) for source, flags in _SOURCES]
        _compiled = (tuple(patterns[:7]), patterns[7], patterns[8])
    return _compiled


def is_sensitive_key(key: str) -> bool:
    """True for keys such as ``password``, ``apiKey``, ``client_secret``."""
    low = key.lower()
    return any(word in low for word in _SENSITIVE_WORDS)


#: Parts of an environment variable's name that make its value a secret.
_SECRET_NAME_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE",
                      "AUTH", "COOKIE")
_MIN_SECRET = 8  # shorter values ("1", "true") would mask ordinary text
_env_values: list[str] | None = None


def env_secrets() -> list[str]:
    """Values of this process's secret-looking environment variables (``GEMINI_API_KEY``,
    ``GITHUB_TOKEN``...), and of those :func:`forget_env` took out: wherever Orchestra writes
    text, these are masked. Read once per process."""
    global _env_values
    if _env_values is None:
        _env_values = []
        environ = os.environ
        for name in environ:  # names first: most values are never decoded
            upper = name.upper()
            if any(word in upper for word in _SECRET_NAME_WORDS):
                value = environ[name]
                if len(value) >= _MIN_SECRET:
                    _env_values.append(value)
    return _env_values


def forget_env(names: tuple[str, ...] | list[str]) -> None:
    """Take the variables ``names`` out of this process's environment (handlers and the
    commands they start never see them) while still masking their values."""
    values = env_secrets()
    for name in names:
        value = os.environ.pop(name, None)
        if value and len(value) >= _MIN_SECRET and value not in values:
            values.append(value)


def redact(text: str) -> str:
    """``text`` with every recognisable secret replaced by ``[REDACTED]``: the values of
    secret-looking environment variables (:func:`env_secrets`) and what looks like a key,
    a token or a password."""
    for value in _env_values if _env_values is not None else env_secrets():
        if value in text:
            text = text.replace(value, REDACTED)
    low = text.lower()
    if not any(trigger in low for trigger in _TRIGGERS):
        return text
    for triggers, index in _RULES:  # in the order of secret_patterns(); "[REDACTED]"
        if any(trigger in low for trigger in triggers) and (  # holds no trigger
                index != 8 or _assigns(low, triggers)):
            import re  # (see secret_patterns)

            source, flags = _SOURCES[index]
            pattern = re.compile(source, flags)  # re caches what it compiled
            if index == 7:
                text = pattern.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
            elif index == 8:
                text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
            else:
                text = pattern.sub(REDACTED, text)
    return text


#: What may stand between a name of the ``name=value`` pattern's trigger and its ``:`` or
#: ``=``: the rest of the name (``api_key``, ``access-key``, ``credentials``), a quote.
_NAME_TAIL = frozenset("_-keys'\"")


def _assigns(low: str, triggers: tuple[str, ...]) -> bool:
    """False only if no trigger in ``low`` is followed by ``:`` or ``=`` (past the rest of
    a name, a quote and spaces): the ``name=value`` pattern cannot match, so it is neither
    compiled nor run ("cannot access '/x': No such file" holds a trigger, not a secret)."""
    for trigger in triggers:
        at = low.find(trigger)
        while at >= 0:
            end = at + len(trigger)
            while end < len(low) and (low[end] in _NAME_TAIL or low[end].isspace()):
                end += 1
            if end < len(low) and low[end] in ":=":
                return True
            at = low.find(trigger, at + 1)
    return False


def fingerprint(text: str) -> str:
    return _sha256()(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _sha256() -> Any:
    """The standard library's own SHA-256: hashlib would first load OpenSSL, about 2.5 ms
    of every event whose tool output is long enough to be cut."""
    import sys

    name = "_sha2" if sys.version_info >= (3, 12) else "_sha256"  # (what each calls it)
    try:
        return __import__(name).sha256
    except (ImportError, AttributeError):
        pass
    import hashlib

    return hashlib.sha256


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
