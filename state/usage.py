"""Token usage and what it costs: reading a session's ``usage.json`` and pricing it.

``usage.json`` is written by :mod:`handlers.metrics` from Claude Code's transcripts: per
model, the four token counts of the Messages API's ``usage`` block —
``input_tokens``, ``output_tokens``, ``cache_read_input_tokens`` and
``cache_creation_input_tokens`` (of which ``cache_creation_1h_input_tokens`` were
written to the 1-hour cache) — for the main thread (``main``), for the subagents
(``subagents``, from ``agent_transcript_path``) and both together (``tokens`` and
``by_model``, the session's total).

The cost comes from the price table in config (``pricing``: USD per million tokens,
with the date it was checked; ``pricing.models.<model>`` overrides or adds one). A
model is priced by its id, else by the longest priced id it starts with followed by
``-`` or ``[`` (``claude-opus-5-5[1m]``, ``claude-sonnet-4-5-20250929``). Tokens of a
model without a price are never counted as free: the cost of that model is None
("unknown") and a total that leaves it out says it is ``partial``.
"""

from __future__ import annotations

from state.paths import session_key
from state.persistence.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

__all__ = ["TOKEN_FIELDS", "add_tokens", "price_for", "session_usage", "total_usage",
           "usage_cost"]

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens",
                "cache_creation_input_tokens")
#: Part of ``cache_creation_input_tokens``, priced at the 1-hour cache write.
CACHE_1H = "cache_creation_1h_input_tokens"
USAGE = "usage.json"
#: Which price prices which token count.
_PRICED = (("input_tokens", "input"), ("output_tokens", "output"),
           ("cache_read_input_tokens", "cache_read"))


def add_tokens(into: dict[str, int], tokens: dict[str, Any]) -> None:
    """Add the token counts of ``tokens`` to ``into`` (non-negative integers only)."""
    for field in (*TOKEN_FIELDS, CACHE_1H):
        value = tokens.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            into[field] = into.get(field, 0) + value


def price_for(model: str, models: dict[str, Any]) -> dict[str, Any] | None:
    """The price of ``model`` in the table ``models`` (see the module docstring)."""
    price = models.get(model)
    if isinstance(price, dict):
        return price
    best = None
    for key, value in models.items():
        if (isinstance(value, dict) and len(key) < len(model) and model.startswith(key)
                and model[len(key)] in "-[" and (best is None or len(key) > len(best[0]))):
            best = (key, value)
    return best[1] if best else None


def _model_cost(tokens: dict[str, Any], price: dict[str, Any] | None) -> float | None:
    if price is None:
        return None
    total = 0.0
    parts = [(tokens.get(field, 0), price.get(name)) for field, name in _PRICED]
    hour = min(tokens.get(CACHE_1H, 0), tokens.get("cache_creation_input_tokens", 0))
    parts.append((tokens.get("cache_creation_input_tokens", 0) - hour, price.get("cache_write")))
    parts.append((hour, price.get("cache_write_1h", price.get("cache_write"))))
    for count, rate in parts:
        if not count:
            continue
        if not isinstance(rate, int | float) or isinstance(rate, bool):
            return None  # tokens this table has no price for: unknown, never free
        total += count * rate / 1_000_000
    return total


def usage_cost(by_model: dict[str, Any], pricing: dict[str, Any]) -> dict[str, Any]:
    """What the tokens of ``by_model`` cost with the price table ``pricing``.

    ``usd`` is the total (None when no model with tokens has a price, or there are no
    tokens); ``partial`` is true when some model's tokens are left out of it, and
    ``unknown_models`` names them; ``by_model`` gives each model's cost (None: unknown).
    """
    models = pricing["models"] if isinstance(pricing.get("models"), dict) else {}
    out: dict[str, Any] = {"usd": None, "partial": False, "unknown_models": [],
                           "by_model": {}, "currency": pricing.get("currency", "USD"),
                           "prices_as_of": pricing.get("as_of")}
    total, priced = 0.0, False
    for model, tokens in sorted(by_model.items()):
        if not isinstance(tokens, dict) or not any(tokens.get(f) for f in TOKEN_FIELDS):
            continue  # no tokens (Claude Code's "<synthetic>" messages): nothing to price
        cost = _model_cost(tokens, price_for(model, models))
        out["by_model"][model] = None if cost is None else round(cost, 6)
        if cost is None:
            out["unknown_models"].append(model)
        else:
            total += cost
            priced = True
    if priced:
        out["usd"] = round(total, 6)
    out["partial"] = priced and bool(out["unknown_models"])
    return out


def session_usage(store: Storage, session_id: str, pricing: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The tokens of a session (total, main thread, subagents) and their cost.

    ``recorded`` is False when no transcript was ever read for the session (a replayed
    demo, a session without Stop yet): then there are no tokens to show, and views say so.
    """
    doc = store.read(session_key(session_id, USAGE)) or {}
    return usage_of(doc, pricing)


def usage_of(doc: dict[str, Any], pricing: dict[str, Any] | None) -> dict[str, Any]:
    """:func:`session_usage` of a ``usage.json`` already read."""
    out: dict[str, Any] = {
        "recorded": bool(doc.get("transcripts")),
        "total": _tokens(doc.get("tokens")),
        "by_model": _by_model(doc.get("by_model")),
        "main": _tokens((doc.get("main") or {}).get("tokens")),
        "subagents": _tokens((doc.get("subagents") or {}).get("tokens")),
        "updated_at": doc.get("updated_at"),
    }
    if pricing is not None:
        out["cost"] = usage_cost(out["by_model"], pricing)
        out["cost"]["main"] = usage_cost(_by_model((doc.get("main") or {}).get("by_model")),
                                         pricing)["usd"]
        out["cost"]["subagents"] = usage_cost(
            _by_model((doc.get("subagents") or {}).get("by_model")), pricing)["usd"]
    return out


def total_usage(usages: Iterable[dict[str, Any]], pricing: dict[str, Any]) -> dict[str, Any]:
    """The sum of several :func:`session_usage` results (a project's total), priced."""
    total: dict[str, int] = {}
    by_model: dict[str, dict[str, int]] = {}
    sessions = 0
    for usage in usages:
        if not usage.get("recorded"):
            continue
        sessions += 1
        add_tokens(total, usage.get("total") or {})
        for model, tokens in (usage.get("by_model") or {}).items():
            add_tokens(by_model.setdefault(model, {}), tokens)
    return {"sessions": sessions, "total": total, "by_model": by_model,
            "cost": usage_cost(by_model, pricing)}


def _tokens(value: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    if isinstance(value, dict):
        add_tokens(out, value)
    return out


def _by_model(value: Any) -> dict[str, dict[str, int]]:
    if not isinstance(value, dict):
        return {}
    return {str(k): _tokens(v) for k, v in value.items() if isinstance(v, dict)}


def token_count(tokens: dict[str, Any]) -> int:
    """All tokens of a count (input, output and both kinds of cache), once each."""
    return sum(int(tokens.get(f, 0) or 0) for f in TOKEN_FIELDS)


def short_cost(cost: dict[str, Any] | None) -> str:
    """``$0.0123``, ``$0.0123+ (partial)``, ``cost unknown`` or ``no tokens``: for views."""
    if not cost or (cost.get("usd") is None and not cost.get("unknown_models")):
        return "no tokens"
    if cost.get("usd") is None:
        return "cost unknown"
    usd = float(cost["usd"])
    text = f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"
    return text + ("+ (partial)" if cost.get("partial") else "")
