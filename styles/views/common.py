"""What every view shares: the data header, the box header and the status indicators."""

from __future__ import annotations

from state.clock import iso
from styles.views.layout import Box, fit, short_time
from styles.views.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "AGENT_MARK",
    "AGENT_NAMES",
    "SESSION_MARK",
    "TASK_MARK",
    "base",
    "header",
    "legend",
    "mark",
    "no_project",
    "short_id",
    "who_runs",
]

#: Status indicators, one ASCII character each (see :func:`legend`).
SESSION_MARK = {"active": "*", "idle": "~", "stale": "!", "ended": "x"}
TASK_MARK = {"todo": "[ ]", "doing": "[>]", "blocked": "[!]", "done": "[x]"}
AGENT_MARK = {"busy": "*", "starting": "~", "done": "x"}


#: The agent that runs a session, as a view names it (``-`` when nothing says).
AGENT_NAMES = {"claude-code": "claude", "codex": "codex", "gemini": "gemini"}


def who_runs(session: dict[str, Any], with_model: bool = True) -> str:
    """``codex gpt-5.5``: a session's agent and model (``unknown`` until the agent says)."""
    agent = session.get("agent")
    name = AGENT_NAMES.get(agent, agent) if isinstance(agent, str) and agent else "-"
    if not with_model or name == "-":
        return name
    model = session.get("model")
    return f"{name} {model if isinstance(model, str) and model else 'unknown'}"


def mark(table: dict[str, str], status: object, default: str = "?") -> str:
    return table.get(str(status), default)


def short_id(value: object, cells: int = 18) -> str:
    return fit(value, cells)


def base(snap: Snapshot, view: str) -> dict[str, Any]:
    """The keys every view's JSON starts with."""
    return {"view": view, "project": snap.project, "session": snap.session,
            "at": iso(snap.at)}


def header(data: dict[str, Any], title: str) -> Box:
    box = Box()
    project = data["project"]
    box.split(f"ORCHESTRA {title}", f"project {project}" if project else "no project")
    when = f"as of {short_time(data['at'])} UTC"
    box.split(when, f"session {data['session']}" if data["session"] else "")
    return box


def legend(kind: str) -> str:
    if kind == "session":
        return "* active  ~ idle  ! stale  x ended  > this session"
    if kind == "task":
        return "[ ] to do  [>] doing  [!] blocked  [x] done"
    return "* busy  ~ starting  x done"


def no_project(box: Box) -> Box:
    return box.line("No project: pass --project P, or set one with").line(
        "  orchestra shared set-config default_project P")
