"""Reading the configuration cheaply (no pydantic) with its defaults applied.

``DEFAULTS`` mirrors the defaults of :class:`state.documents.Config`; a test keeps
the two equal. Validation happens where config is *changed* (``shared_state
set-config``), so the hot path only parses JSON.
"""

from __future__ import annotations

from state.paths import config_key
from state.persistence.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from typing import Any

__all__ = ["DEFAULTS", "load_config", "project_config", "project_section", "with_defaults"]

def _price(input: float, output: float, cache_write: float, cache_write_1h: float,
           cache_read: float) -> dict[str, float]:
    return {"input": input, "output": output, "cache_write": cache_write,
            "cache_write_1h": cache_write_1h, "cache_read": cache_read}


DEFAULTS: dict[str, Any] = {
    "config_version": "2.0.0",
    "default_project": None,
    "features": {},
    "paths": {},
    "projects": {},
    "presence": {"active_seconds": 300, "idle_seconds": 1800, "stale_seconds": 21600},
    # events: "all" or a list of event names (handlers.eventlog; a list also narrows what
    # orchestra install registers)
    "event_log": {"max_bytes": 10_000_000, "max_field_chars": 2000, "events": "all"},
    "claims": {"policy": "ask", "window_seconds": 900},
    "capacity": {"policy": "ask"},
    "roles": {"default": "peer"},
    "tasks": {"sweep_seconds": 60, "auto_assign": False},
    "spawn": {"enabled": False, "max_workers": 3, "permission_mode": "acceptEdits",
              "allowed_tools": ["Bash(orchestra *)", "Read", "Edit", "Write", "Glob", "Grep"],
              "launcher": "print"},
    "messages": {"max_context_chars": 4000, "hold_stop_for_urgent": True},
    "dispatch": {"budget_seconds": 5.0, "session_end_budget_seconds": 1.0},
    "plugins": {"disabled": []},
    "store": {"url": None},
    "record": None,
    "pricing": {
        # USD per million tokens as published on Anthropic's pricing page
        # (platform.claude.com/docs/en/about-claude/pricing), checked on this date.
        # cache_write is the 5-minute cache write, cache_write_1h the 1-hour one.
        # Override or add a model: shared set-config pricing.models.<model>.input 4
        "as_of": "2026-12-01",
        "source": "https://platform.claude.com/docs/en/about-claude/pricing",
        "currency": "USD",
        "unit": "per million tokens",
        "models": {
            "claude-fable-5-1": _price(10.0, 50.0, 12.5, 20.0, 0.25),
            "claude-opus-5-5": _price(4.0, 20.0, 5.0, 8.0, 0.2),
            "claude-opus-5": _price(5.0, 25.0, 6.25, 10.0, 0.5),
            "claude-opus-4-8": _price(5.0, 25.0, 6.25, 10.0, 0.5),
            "claude-opus-4-7": _price(5.0, 25.0, 6.25, 10.0, 0.5),
            "claude-opus-4-6": _price(5.0, 25.0, 6.25, 10.0, 0.5),
            "claude-opus-4-5": _price(5.0, 25.0, 6.25, 10.0, 0.5),
            "claude-opus-4-1": _price(15.0, 75.0, 18.75, 30.0, 1.5),
            "claude-sonnet-5-5": _price(2.0, 10.0, 2.5, 4.0, 0.1),
            "claude-sonnet-5": _price(2.0, 10.0, 2.5, 4.0, 0.2),
            "claude-sonnet-4-6": _price(3.0, 15.0, 3.75, 6.0, 0.3),
            "claude-sonnet-4-5": _price(3.0, 15.0, 3.75, 6.0, 0.3),
            "claude-haiku-5-5": _price(0.1, 0.5, 0.125, 0.2, 0.01),
            "claude-haiku-4-5": _price(1.0, 5.0, 1.25, 2.0, 0.1),
        },
    },
}


def load_config(store: Storage) -> dict[str, Any]:
    """The stored config over :data:`DEFAULTS` (a fresh copy the caller may change)."""
    return with_defaults(store.read(config_key()) or {})


def with_defaults(stored: dict[str, Any]) -> dict[str, Any]:
    """``stored`` (a config document as read) over :data:`DEFAULTS`, as a fresh copy.

    A value whose type does not match its default (a hand-edited ``"claims": "warn"`` or
    ``"max_bytes": "big"``) is ignored, so that the handlers always see usable settings;
    ``shared_state set-config`` validates what it writes.
    """
    merged = _defaults()
    if stored:
        _typed_merge(merged, _copy(stored))
    return merged


def project_config(config: dict[str, Any], project: str) -> dict[str, Any]:
    """Global settings with the overrides under ``projects.<project>`` applied."""
    merged = {k: _copy(v) for k, v in config.items() if k != "projects"}
    overrides = _overrides(config, project)
    if overrides is not None:
        _typed_merge(merged, _copy(overrides))
    merged["project"] = project
    return merged


def project_section(config: dict[str, Any], project: str, section: str) -> Any:
    """``project_config(config, project)[section]`` (a fresh copy; not for ``projects``),
    without copying the other sections: what a handler that needs one section asks on
    every event."""
    merged = {section: _copy(config.get(section))}
    overrides = _overrides(config, project)
    if overrides is not None and section in overrides:
        _typed_merge(merged, {section: _copy(overrides[section])})
    return merged[section]


def _overrides(config: dict[str, Any], project: str) -> dict[str, Any] | None:
    projects = config.get("projects")
    overrides = projects.get(project) if isinstance(projects, dict) else None
    return overrides if isinstance(overrides, dict) else None


_DEFAULTS_TEXT: list[str] = []


def _defaults() -> dict[str, Any]:
    """A fresh copy of :data:`DEFAULTS`: parsed from its JSON text by the C scanner, a
    fifth of the time a copy made in Python takes (the price table is most of it)."""
    from state.jsontext import dumps, loads

    if not _DEFAULTS_TEXT:
        _DEFAULTS_TEXT.append(dumps(DEFAULTS))
    copy: dict[str, Any] = loads(_DEFAULTS_TEXT[0])
    return copy


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value (no need to import :mod:`copy` on every event)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _typed_merge(target: dict[str, Any], data: dict[str, Any]) -> None:
    """Like :func:`state.query.deep_merge`, but a value of another type than the one it
    would replace is skipped."""
    for key, value in data.items():
        current = target.get(key)
        if key not in target or current is None:
            target[key] = value
        elif isinstance(current, dict):
            if isinstance(value, dict):
                _typed_merge(current, value)
        elif _same_kind(current, value) or (
                key in _EITHER and isinstance(value, _EITHER[key])):
            target[key] = value


#: Settings whose value may be of one of several types (``event_log.events``: "all" or a
#: list of event names).
_EITHER: dict[str, tuple[type, ...]] = {"events": (str, list)}


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))
