"""``config``: the effective settings (defaults, config.json, project overrides), their
validity, and the history that ``shared_state rollback N`` restores from."""

from __future__ import annotations

import copy
import json

from state.config import DEFAULTS
from state.query import deep_merge
from styles.views.analysis import DEFAULT_BLOCKER_IDLE_SECONDS
from styles.views.common import base, header
from styles.views.layout import columns, short_time
from styles.views.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "text"]

#: Settings this package reads, shown even when unset.
RENDER_DEFAULTS = {"render": {"blocker_idle_seconds": DEFAULT_BLOCKER_IDLE_SECONDS}}
HIDDEN = frozenset({"projects", "project", "version", "schema_version"})
MAX_HISTORY = 5


#: Settings whose members are shown whole, one per row (a model's prices).
WHOLE = ("pricing.models.",)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; an empty object stays one entry."""
    if isinstance(value, dict) and value and not prefix.startswith(WHOLE):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def build(snap: Snapshot) -> dict[str, Any]:
    defaults = flatten({**DEFAULTS, **RENDER_DEFAULTS})
    stored = flatten({k: v for k, v in snap.stored_config.items() if k not in HIDDEN})
    projects = snap.stored_config.get("projects") or {}
    override = projects.get(snap.project) if snap.project else None
    overridden = flatten(override) if isinstance(override, dict) and override else {}
    merged = copy.deepcopy(RENDER_DEFAULTS)
    deep_merge(merged, copy.deepcopy(snap.config))
    effective = flatten({k: v for k, v in merged.items() if k not in HIDDEN})
    rows = []
    for key in sorted(set(effective) | set(overridden)):
        source = "project" if key in overridden else "config" if key in stored else "default"
        rows.append({"key": key, "value": effective.get(key, overridden.get(key)),
                     "default": defaults.get(key), "source": source})
    return {
        **base(snap, "config"),
        "valid": snap.config_error is None, "error": snap.config_error,
        "version": snap.stored_config.get("version", 0),
        "settings": rows,
        "projects_with_overrides": sorted(p for p, v in projects.items() if v),
        "history": snap.config_history,
    }


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


MARK = {"config": "*", "project": "P", "default": " "}


def text(data: dict[str, Any]) -> str:
    box = header(data, "CONFIG")
    state = "valid" if data["valid"] else "INVALID"
    box.section(f"CONFIG {state}", f"version {data['version']}, "
                                   f"{len(data['history'])} earlier in history")
    if data["error"]:
        box.para(f"! {data['error']}", indent=2, lines=3)
    box.line("* set in config.json   P project override   (blank) default")
    priced = [r for r in data["settings"] if r["key"].startswith(WHOLE)]
    for row in data["settings"]:
        if row["key"].startswith(WHOLE) and row["source"] == "default":
            if row is next(r for r in priced if r["source"] == "default"):
                box.line(columns([(" ", 1), ("pricing.models", 38), (
                    f"{sum(r['source'] == 'default' for r in priced)} models priced "
                    "(get-config)", 33)]))
            continue
        box.line(columns([(MARK[row["source"]], 1), (row["key"], 38), (_show(row["value"]), 33)]))
    others = [p for p in data["projects_with_overrides"] if p != data["project"]]
    if others:
        box.line(f"overrides for other projects: {', '.join(others)}")
    history = data["history"]
    box.section("HISTORY", "rollback N: the config as it was before change N")
    for entry in history[:MAX_HISTORY]:
        box.line(columns([(f"{entry['n']:>3}", 3), (short_time(entry["replaced_at"]), 19),
                          (f"changed {entry['changed']}", 50)]))
    if len(history) > MAX_HISTORY:
        box.line(f"  + {len(history) - MAX_HISTORY} older (orchestra shared "
                 "config-history)")
    if not history:
        box.line("  no changes recorded yet")
    return box.text()
