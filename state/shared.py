"""Shared (cross-session) state: config with history, tools, epics, sprints, team, decisions.

Each function does one read-modify-write through the store, validates the result
with its pydantic model (nothing invalid is written) and returns what it wrote.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from state.clock import iso
from state.config import load_config, project_config
from state.errors import InvalidValueError, NotFoundError
from state.paths import config_key, project_key, tools_key, validate_id
from state.persistence.storage import Storage
from state.query import deep_merge, parse_path, set_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "add_decision",
    "config_history",
    "get_config",
    "list_decisions",
    "list_epics",
    "list_projects",
    "list_sprints",
    "list_team",
    "list_tools",
    "register_tool",
    "remove_member",
    "rollback_config",
    "set_config",
    "set_member",
    "unregister_tool",
    "update_epic",
    "update_sprint",
]

CONFIG_HISTORY = "config-history.jsonl"
_STATUS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _validated(key: str, change: Callable[[dict[str, Any]], Any], store: Storage) -> Any:
    from state.documents import validate_document  # pydantic: only a CLI that writes

    with store.transaction(key) as doc:
        result = change(doc)
        validate_document(key, doc)
    return result


def _status(value: str) -> str:
    if not value or len(value) > 32 or not _STATUS_CHARS.issuperset(value):
        raise InvalidValueError(
            f"invalid status {value!r}: use lowercase letters, digits, '_' or '-' "
            "(e.g. in_progress)"
        )
    return value


# -- config ------------------------------------------------------------------------


def get_config(store: Storage, project: str | None = None) -> dict[str, Any]:
    config = load_config(store)
    if project is None:
        return config
    return project_config(config, validate_id(project, "project id"))


def set_config(store: Storage, path: str, value: Any) -> dict[str, Any]:
    """Set one config value; the previous config is kept in the history log."""
    parts = parse_path(path)
    if parts and parts[0] in ("version", "schema_version"):
        raise InvalidValueError(f"{parts[0]!r} is maintained by Orchestra")

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        previous = copy.deepcopy(doc)
        set_path(doc, parts, value)
        return previous

    previous = _validated(config_key(), change, store)
    store.append(CONFIG_HISTORY, {"at": iso(), "path": path, "config": previous})
    return load_config(store)


def config_history(store: Storage) -> list[dict[str, Any]]:
    """Earlier configs, newest first, numbered from 1 (the one before the current)."""
    entries = list(store.read_log(CONFIG_HISTORY))
    entries.reverse()
    return [
        {"n": i + 1, "replaced_at": e.get("at"), "changed": e.get("path"),
         "version": e.get("config", {}).get("version", 0), "config": e.get("config", {})}
        for i, e in enumerate(entries)
    ]


def rollback_config(store: Storage, steps: int = 1) -> dict[str, Any]:
    """Restore the config as it was ``steps`` changes ago (the rollback is itself recorded)."""
    history = config_history(store)
    if steps < 1 or steps > len(history):
        raise NotFoundError(f"no config {steps} change(s) back ({len(history)} recorded)")
    target = history[steps - 1]["config"]

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        previous = copy.deepcopy(doc)
        doc.clear()
        doc.update({k: v for k, v in copy.deepcopy(target).items() if k != "version"})
        return previous

    previous = _validated(config_key(), change, store)
    store.append(CONFIG_HISTORY, {"at": iso(), "path": f"rollback {steps}", "config": previous})
    return load_config(store)


# -- tools -------------------------------------------------------------------------


def list_tools(store: Storage) -> dict[str, Any]:
    return dict((store.read(tools_key()) or {}).get("tools", {}))


def register_tool(store: Storage, name: str, *, capabilities: list[str], max_instances: int,
                  description: str | None = None) -> dict[str, Any]:
    validate_id(name, "tool name")
    if max_instances < 1:
        raise InvalidValueError("--max-instances must be at least 1")

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        tool = doc.setdefault("tools", {}).setdefault(name, {})
        tool.update({"capabilities": capabilities, "max_instances": max_instances,
                     "updated_at": iso()})
        if description is not None:
            tool["description"] = description
        return dict(tool)

    result: dict[str, Any] = _validated(tools_key(), change, store)
    return result


def unregister_tool(store: Storage, name: str) -> dict[str, Any]:
    validate_id(name, "tool name")

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        tools = doc.setdefault("tools", {})
        if name not in tools:
            raise NotFoundError(f"no tool {name}")
        removed: dict[str, Any] = tools.pop(name)
        return removed

    result: dict[str, Any] = _validated(tools_key(), change, store)
    return result


# -- projects: epics, sprints, team ------------------------------------------------


def list_projects(store: Storage) -> list[str]:
    names = set(store.list_children("projects"))
    names.update(load_config(store).get("projects", {}))
    return sorted(n for n in names if _is_id(n))


def _is_id(name: str) -> bool:
    try:
        validate_id(name)
    except ValueError:
        return False
    return True


def _upsert(store: Storage, project: str, document: str, collection: str, item_id: str,
            kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    validate_id(item_id, kind)
    key = project_key(project, document)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        items = doc.setdefault(collection, {})
        item = items.setdefault(item_id, {"created_at": iso()})
        old_status = item.get("status")
        deep_merge(item, {k: v for k, v in fields.items() if v is not None})
        if fields.get("status") and fields["status"] != old_status:
            item.setdefault("history", []).append(
                {"status": fields["status"], "from": old_status, "at": iso()}
            )
        item["updated_at"] = iso()
        return {"id": item_id, **item}

    result: dict[str, Any] = _validated(key, change, store)
    return result


def _listed(store: Storage, project: str, document: str, collection: str,
            status: str | None = None) -> list[dict[str, Any]]:
    items = (store.read(project_key(project, document)) or {}).get(collection, {})
    return [{"id": k, **v} for k, v in sorted(items.items())
            if isinstance(v, dict) and (status is None or v.get("status") == status)]


def update_epic(store: Storage, project: str, epic: str, *, status: str | None = None,
                title: str | None = None, description: str | None = None,
                sprint: str | None = None, points: float | None = None) -> dict[str, Any]:
    """Create or change an epic."""
    if sprint is not None:
        validate_id(sprint, "sprint id")
    return _upsert(store, project, "epics.json", "epics", epic, "epic id", {
        "status": _status(status) if status else None, "title": title,
        "description": description, "sprint": sprint, "points": points,
    })


def list_epics(store: Storage, project: str, status: str | None = None) -> list[dict[str, Any]]:
    return _listed(store, project, "epics.json", "epics", status)


def update_sprint(store: Storage, project: str, sprint: str, *, status: str | None = None,
                  title: str | None = None, goal: str | None = None, start: str | None = None,
                  end: str | None = None, epics: list[str] | None = None,
                  points_planned: float | None = None,
                  points_completed: float | None = None) -> dict[str, Any]:
    """Create or change a sprint."""
    for epic in epics or []:
        validate_id(epic, "epic id")
    return _upsert(store, project, "sprints.json", "sprints", sprint, "sprint id", {
        "status": _status(status) if status else None, "title": title, "goal": goal,
        "start": start, "end": end, "epics": epics, "points_planned": points_planned,
        "points_completed": points_completed,
    })


def list_sprints(store: Storage, project: str, status: str | None = None) -> list[dict[str, Any]]:
    return _listed(store, project, "sprints.json", "sprints", status)


def set_member(store: Storage, project: str, name: str, *, role: str | None = None,
               tools: list[str] | None = None,
               capabilities: list[str] | None = None) -> dict[str, Any]:
    """Add or change a team member (a person, a tool or an agent role)."""
    for tool in tools or []:
        validate_id(tool, "tool name")
    return _upsert(store, project, "team.json", "members", name, "member name", {
        "role": role, "tools": tools, "capabilities": capabilities,
    })


def remove_member(store: Storage, project: str, name: str) -> dict[str, Any]:
    validate_id(name, "member name")
    key = project_key(project, "team.json")
    # Checked before the transaction too: its lock would create projects/<typo>/,
    # which list-projects would then show.
    if name not in (store.read(key) or {}).get("members", {}):
        raise NotFoundError(f"no member {name} in project {project}")

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        members = doc.setdefault("members", {})
        if name not in members:
            raise NotFoundError(f"no member {name} in project {project}")
        removed: dict[str, Any] = members.pop(name)
        return removed

    result: dict[str, Any] = _validated(key, change, store)
    return result


def list_team(store: Storage, project: str) -> list[dict[str, Any]]:
    return _listed(store, project, "team.json", "members")


# -- decisions (append-only) -------------------------------------------------------

DECISIONS = "decisions.jsonl"


def add_decision(store: Storage, project: str, *, title: str, rationale: str,
                 by: list[str], status: str = "agreed") -> dict[str, Any]:
    import uuid  # uuid imports platform (~4 ms)

    if not title.strip():
        raise InvalidValueError("--title must not be empty")
    record = {"id": "dec-" + uuid.uuid4().hex[:8], "at": iso(), "title": title,
              "rationale": rationale, "by": by, "status": _status(status)}
    store.append(project_key(project, DECISIONS), record)
    return record


def list_decisions(store: Storage, project: str) -> list[dict[str, Any]]:
    return list(store.read_log(project_key(project, DECISIONS)))
