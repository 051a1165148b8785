"""Tokens and cost over time for a project, stacked by session (the Timeline's chart).

Each session's ``usage.json`` (issue 21, :mod:`state.usage`) holds its token totals per
model and, since this chart, ``history``: one entry per transcript read that found
tokens — when, and how many tokens of each model it added (see
:mod:`handlers.metrics`). A session's curve is the running sum of its entries; tokens
the history does not account for (a session counted before there was a history, or an
entry merged away to keep the history bounded) are placed at the session's first known
time, so every curve ends at the session's total.

The chart's total is the project total of :func:`state.usage.total_usage` over the same
sessions — what ``orchestra show``, ``who --json`` and the dashboard add up — never a sum
of the curves. **Unknown is not zero**: a session whose tokens were never recorded (no
transcript read yet, a replay, an agent that does not report them) or whose cost has no
price is listed as unknown, drawn as nothing, and makes the total ``partial``.
"""

from __future__ import annotations

from state.clock import parse_time
from state.paths import session_key
from state.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GRID", "TOP", "series"]

#: Points on the time axis; sessions drawn apart (the others are summed into one band).
GRID = 120
TOP = 11


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            return None
    return None


def _models(value: Any) -> dict[str, dict[str, int]]:
    """``{model: token counts}`` of a document, bad entries left out."""
    from state.usage import add_tokens

    out: dict[str, dict[str, int]] = {}
    if isinstance(value, dict):
        for model, tokens in value.items():
            if isinstance(tokens, dict):
                add_tokens(out.setdefault(str(model), {}), tokens)
    return {m: t for m, t in out.items() if t}


def _steps(doc: dict[str, Any], first_seen: float | None
           ) -> list[tuple[float, dict[str, dict[str, int]]]]:
    """``(time, tokens by model added then)``, oldest first, summing to the totals."""
    from state.usage import add_tokens

    steps: list[tuple[float, dict[str, dict[str, int]]]] = []
    accounted: dict[str, dict[str, int]] = {}
    history = doc.get("history")
    for entry in history if isinstance(history, list) else []:
        ts = _number(entry.get("ts")) if isinstance(entry, dict) else None
        models = _models(entry.get("by_model")) if isinstance(entry, dict) else {}
        if ts is None or not models:
            continue
        steps.append((ts, models))
        for model, tokens in models.items():
            add_tokens(accounted.setdefault(model, {}), tokens)
    rest: dict[str, dict[str, int]] = {}
    for model, tokens in _models(doc.get("by_model")).items():
        left = {k: v - accounted.get(model, {}).get(k, 0) for k, v in tokens.items()}
        left = {k: v for k, v in left.items() if v > 0}
        if left:
            rest[model] = left
    if rest:
        when = min([ts for ts, _ in steps] + [t for t in (first_seen, _number(
            doc.get("updated_at"))) if t is not None], default=None)
        if when is not None:
            steps.append((when, rest))
    steps.sort(key=lambda step: step[0])
    return steps


def series(store: Storage, rows: list[dict[str, Any]], pricing: dict[str, Any], *,
           now: float, top: int = TOP, points: int = GRID) -> dict[str, Any]:
    """The chart's data for the sessions ``rows`` (``session_id``, ``claude_name``,
    ``created_at``): a time grid, a band per session (the largest ``top``; the rest as
    one), the unknown sessions, and the project total."""
    from state.usage import token_count, total_usage, usage_cost, usage_of

    usages, bands, unknown_tokens, unknown_cost = [], [], [], []
    for row in rows:
        sid = row["session_id"]
        doc = store.read(session_key(sid, "usage.json")) or {}
        usage = usage_of(doc, pricing)
        usages.append(usage)
        label = row.get("claude_name") or sid
        if not usage["recorded"]:
            unknown_tokens.append({"session": sid, "label": label,
                                   "why": "no tokens recorded yet"})
            unknown_cost.append({"session": sid, "label": label,
                                 "why": "no tokens recorded yet"})
            continue
        cost = usage["cost"]
        if cost["usd"] is None and cost["unknown_models"]:
            unknown_cost.append({"session": sid, "label": label,
                                 "why": "no price for " + ", ".join(cost["unknown_models"][:3])})
        steps = []
        for ts, models in _steps(doc, _number(row.get("created_at"))):
            added = usage_cost(models, pricing)
            steps.append((ts, sum(token_count(t) for t in models.values()), added["usd"]))
        bands.append({"session": sid, "label": label, "steps": steps,
                      "tokens_total": token_count(usage["total"]), "usd_total": cost["usd"],
                      "partial": bool(cost["partial"]), "priced": cost["usd"] is not None})
    total = total_usage(usages, pricing)
    bands.sort(key=lambda b: (-(b["usd_total"] or 0.0), -b["tokens_total"], b["session"]))
    shown, rest = bands[:top], bands[top:]
    if rest:
        shown.append({"session": None, "label": f"{len(rest)} other sessions",
                      "steps": sorted((s for b in rest for s in b["steps"]),
                                      key=lambda s: s[0]),
                      "tokens_total": sum(b["tokens_total"] for b in rest),
                      "usd_total": sum(b["usd_total"] or 0.0 for b in rest)
                      if any(b["priced"] for b in rest) else None,
                      "partial": any(b["partial"] or not b["priced"] for b in rest),
                      "priced": any(b["priced"] for b in rest)})
    times = [s[0] for b in shown for s in b["steps"]]
    start = min(times) if times else now
    grid = [start + (now - start) * k / max(1, points - 1) for k in range(points)] \
        if times else []
    out_series = []
    for band in shown:
        tokens_line, usd_line = [], []
        steps, index, tokens_sum, usd_sum = band["steps"], 0, 0, 0.0
        for k, at in enumerate(grid):
            last = k == len(grid) - 1  # now: every step, also one stamped a little ahead
            while index < len(steps) and (last or steps[index][0] <= at + 1e-6):
                tokens_sum += steps[index][1]
                usd_sum += steps[index][2] or 0.0
                index += 1
            tokens_line.append(tokens_sum)
            usd_line.append(round(usd_sum, 6))
        out_series.append({"session": band["session"], "label": band["label"],
                           "tokens": tokens_line, "usd": usd_line if band["priced"] else None,
                           "tokens_total": band["tokens_total"],
                           "usd_total": band["usd_total"], "partial": band["partial"]})
    cost = total["cost"]
    tokens = token_count(total["total"])
    return {
        "grid": grid, "series": out_series,
        "total": {"tokens": tokens if total["sessions"] else None, "usd": cost["usd"],
                  "partial": bool(cost["partial"]) or (cost["usd"] is not None and bool(
                      unknown_cost)),
                  "unknown_models": cost["unknown_models"], "sessions": total["sessions"],
                  "by_model": total["by_model"]},
        "unknown_tokens": unknown_tokens, "unknown_cost": unknown_cost,
        "prices_as_of": pricing.get("as_of"), "currency": pricing.get("currency", "USD"),
    }
