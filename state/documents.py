"""pydantic models of every stored document (the edge where state is validated).

Documents are validated when a CLI changes them, so a typo never lands on disk.
Every model keeps unknown keys (``extra="allow"``) so that a round trip through
an older Orchestra never loses data, and known keys are type-checked.
``schema_version`` and ``version`` (the write counter) are on every document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from state.errors import InvalidValueError

__all__ = [
    "DOCUMENT_MODELS",
    "Config",
    "Epics",
    "Plan",
    "SessionState",
    "Sprints",
    "Tasks",
    "Team",
    "Tools",
    "validate_document",
]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")
    schema_version: int = 1
    version: int = 0


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Presence(_Open):
    active_seconds: float = Field(300, gt=0)
    idle_seconds: float = Field(1800, gt=0)
    stale_seconds: float = Field(6 * 3600, gt=0)


class EventLogConfig(_Open):
    max_bytes: int = Field(10_000_000, ge=1024)
    max_field_chars: int = Field(2000, ge=64)
    #: Which events the log records: "all" or a list of Claude Code event names (issue 27).
    events: str | list[str] = "all"

    @field_validator("events")
    @classmethod
    def _events(cls, value: str | list[str]) -> str | list[str]:
        # The names are Claude Code's (hooks.events, which the store does not import): a
        # name no event has is never matched.
        if isinstance(value, str):
            if value != "all":
                raise ValueError('"all" or a list of event names')
        elif not all(name.isidentifier() and name[:1].isupper() for name in value):
            raise ValueError("event names such as SessionStart, Stop")
        return value


class ClaimsConfig(_Open):
    policy: str = Field("ask", pattern="^(off|warn|ask|deny)$")
    window_seconds: float = Field(900, ge=0)


class CapacityConfig(_Open):
    """What happens when a tool's ``max_instances`` are all busy (state.capacity)."""

    policy: str = Field("ask", pattern="^(off|warn|ask|deny)$")


class RolesConfig(_Open):
    """The role of a session that was given none (state.roles)."""

    default: str = Field("peer", pattern="^(peer|orchestrator|coordinator|worker)$")


class TasksConfig(_Open):
    """Project tasks (state.plan): how often hooks look for gone sessions' tasks, and
    whether an orchestrator's hooks assign pending tasks to idle workers."""

    sweep_seconds: float = Field(60, ge=0)
    auto_assign: bool = False


class SpawnConfig(_Open):
    """``orchestra spawn`` (orchestra.spawn): off unless a project turns it on."""

    enabled: bool = False
    max_workers: int = Field(3, ge=1, le=64)
    permission_mode: str = Field(
        "acceptEdits", pattern="^(plan|dontAsk|default|manual|acceptEdits|auto|bypassPermissions)$")
    allowed_tools: list[str] = Field(default_factory=lambda: [
        "Bash(orchestra *)", "Read", "Edit", "Write", "Glob", "Grep"])
    launcher: str = Field("print", pattern="^(print|bg)$")


class MessagesConfig(_Open):
    max_context_chars: int = Field(4000, ge=200)
    hold_stop_for_urgent: bool = True


class DispatchConfig(_Open):
    budget_seconds: float = Field(5.0, gt=0, le=600)
    session_end_budget_seconds: float = Field(1.0, gt=0, le=1.5)


class PluginsConfig(_Open):
    disabled: list[str] = Field(default_factory=list)


class StoreConfig(_Open):
    """``store.url`` selects the PostgreSQL backend (docs/postgres.md)."""

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        from state.postgres.settings import has_password  # only when store.url is set

        if value is not None and has_password(value):
            # Never echo the URL: it holds the secret.
            raise ValueError("the URL carries a password; keep it in ~/.pgpass (PGPASSFILE) "
                             "or a service file (PGSERVICE) instead")
        return value


class ModelPrice(_Open):
    """USD (``pricing.currency``) per million tokens of one model. A field left out of an
    override keeps its default (or, for a model without one, makes the tokens it prices
    cost "unknown")."""

    input: float | None = Field(None, ge=0)
    output: float | None = Field(None, ge=0)
    cache_write: float | None = Field(None, ge=0)
    cache_write_1h: float | None = Field(None, ge=0)
    cache_read: float | None = Field(None, ge=0)


def _default_pricing() -> dict[str, Any]:
    from state.config import DEFAULTS  # config imports nothing of pydantic

    return dict(DEFAULTS["pricing"])


class Pricing(_Open):
    """The price table token costs are computed with (``state.usage``)."""

    as_of: str = ""
    source: str = ""
    currency: str = "USD"
    unit: str = "per million tokens"
    models: dict[str, ModelPrice] = Field(default_factory=dict)


class Config(_Doc):
    config_version: str = "2.0.0"
    default_project: str | None = None
    features: dict[str, Any] = Field(default_factory=dict)
    paths: dict[str, Any] = Field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = Field(default_factory=dict)
    presence: Presence = Field(default_factory=Presence)  # type: ignore[arg-type]
    event_log: EventLogConfig = Field(default_factory=EventLogConfig)  # type: ignore[arg-type]
    claims: ClaimsConfig = Field(default_factory=ClaimsConfig)  # type: ignore[arg-type]
    capacity: CapacityConfig = Field(default_factory=CapacityConfig)  # type: ignore[arg-type]
    roles: RolesConfig = Field(default_factory=RolesConfig)  # type: ignore[arg-type]
    tasks: TasksConfig = Field(default_factory=TasksConfig)  # type: ignore[arg-type]
    spawn: SpawnConfig = Field(default_factory=SpawnConfig)  # type: ignore[arg-type]
    messages: MessagesConfig = Field(default_factory=MessagesConfig)  # type: ignore[arg-type]
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)  # type: ignore[arg-type]
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    record: str | None = None
    store: StoreConfig = Field(default_factory=StoreConfig)
    pricing: Pricing = Field(default_factory=lambda: Pricing(**_default_pricing()))

    @field_validator("default_project")
    @classmethod
    def _default_project_is_an_id(cls, value: str | None) -> str | None:
        from state.paths import validate_id  # a project id becomes a folder name

        return None if value is None else validate_id(value, "project id")

    @field_validator("projects")
    @classmethod
    def _projects_are_ids(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from state.paths import validate_id  # only when a project is named

        for project in value:
            validate_id(project, "project id")
        return value


class Tool(_Open):
    capabilities: list[str] = Field(default_factory=list)
    max_instances: int = Field(1, ge=1)
    description: str | None = None


class Tools(_Doc):
    tools: dict[str, Tool] = Field(default_factory=dict)


class Epic(_Open):
    title: str | None = None
    status: str = "planned"
    description: str | None = None
    sprint: str | None = None


class Epics(_Doc):
    epics: dict[str, Epic] = Field(default_factory=dict)


class Sprint(_Open):
    title: str | None = None
    status: str = "planned"
    goal: str | None = None
    start: str | None = None
    end: str | None = None
    epics: list[str] = Field(default_factory=list)
    points_planned: float | None = None
    points_completed: float | None = None


class Sprints(_Doc):
    sprints: dict[str, Sprint] = Field(default_factory=dict)


class Member(_Open):
    role: str | None = None
    tools: list[str] = Field(default_factory=list)
    capabilities: list[str] = Field(default_factory=list)


class Team(_Doc):
    name: str | None = None
    members: dict[str, Member] = Field(default_factory=dict)


class ActiveWork(_Open):
    current_epic: str | None = None
    current_sprint: str | None = None
    agents: dict[str, dict[str, Any]] = Field(default_factory=dict)


class SessionState(_Doc):
    session_id: str
    mode: str = "development"
    project: str | None = None
    status: str = "active"
    created_at: str | None = None
    updated_at: str | None = None
    ended_at: str | None = None
    active_work: ActiveWork = Field(default_factory=ActiveWork)


class Task(_Open):
    id: str | None = None
    subject: str | None = None
    description: str | None = None
    status: str = "pending"
    owner: str | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)


class Tasks(_Doc):
    tasks: dict[str, Task] = Field(default_factory=dict)


class PlanTask(_Open):
    """A project task (state.plan)."""

    title: str
    status: str = Field("pending", pattern="^(pending|in_progress|blocked|done)$")
    progress: int = Field(0, ge=0, le=100)
    assignee: str | None = None
    assignee_type: str | None = Field(None, pattern="^(session|tool)$")
    session: str | None = None
    needs: str | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)


class Plan(_Doc):
    next_id: int = Field(1, ge=1)
    tasks: dict[str, PlanTask] = Field(default_factory=dict)


#: Document file name -> model.
DOCUMENT_MODELS: dict[str, type[_Doc]] = {
    "config.json": Config,
    "tools.json": Tools,
    "epics.json": Epics,
    "sprints.json": Sprints,
    "team.json": Team,
    "state.json": SessionState,
    "tasks.json": Tasks,
    "plan.json": Plan,
}


def validate_document(key: str, doc: dict[str, Any]) -> None:
    """Raise :class:`InvalidValueError` (one line) if ``doc`` does not fit its model."""
    model = DOCUMENT_MODELS.get(key.rsplit("/", 1)[-1])
    if model is None:
        return
    try:
        model.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InvalidValueError(f"{key}: {where}: {first['msg']}{more}; nothing written") from None
