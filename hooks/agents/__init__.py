"""Other coding agents on the same repository: one dispatcher, an adapter per agent.

The command Orchestra registers names its agent: ``"<python>" -P -m hooks.dispatch`` is
Claude Code (the default), ``... -m hooks.dispatch --agent codex`` is Codex CLI and
``--agent gemini`` Gemini CLI. Nothing is guessed from the payload.

An adapter is a module of this package with three functions the dispatcher calls:

* ``inbound(payload, home) -> dict | None`` — the agent's payload in Orchestra's event model,
  which is Claude Code's (event names, field names, tool names), or None for an event
  Orchestra does not act on (the dispatcher then exits 0 without a reply);
* ``outbound(payload, event, result, home) -> (reply, exit_code, stderr)`` — the merged
  reply in the agent's shape: what the agent cannot take is left out, ``ask`` becomes a
  deny with the reason where the agent has no usable ``ask``;
* ``sightings(payload)`` — what in the agent's own payload Orchestra does not know
  (:mod:`hooks.observe`, ``orchestra drift --agent``).

Handlers stay agent-agnostic; one that needs to know reads ``event.agent``. This module is
on the dispatcher's path for the other agents only, and imports nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["AGENTS", "CLAUDE_CODE", "DISPLAY", "OTHER_AGENTS", "AgentError", "adapter",
           "command_prefix", "parse_agent"]

CLAUDE_CODE = "claude-code"
#: Every agent Orchestra knows, by the name ``--agent`` takes.
AGENTS: tuple[str, ...] = (CLAUDE_CODE, "codex", "gemini")
OTHER_AGENTS: tuple[str, ...] = AGENTS[1:]
#: What people call them.
DISPLAY = {CLAUDE_CODE: "Claude Code", "codex": "Codex CLI", "gemini": "Gemini CLI"}


class AgentError(ValueError):
    """An ``--agent`` argument Orchestra does not know, or one without a value."""


def parse_agent(argv: list[str]) -> tuple[str, list[str]]:
    """(agent, the other arguments) from ``--agent NAME`` or ``--agent=NAME`` in ``argv``.

    A plain loop: the dispatcher's path has no argparse.
    """
    agent = CLAUDE_CODE
    rest: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg == "--agent":
            value = next(items, None)
            if value is None:
                raise AgentError("--agent needs a value (" + ", ".join(AGENTS) + ")")
            agent = value
        elif arg.startswith("--agent="):
            agent = arg[len("--agent="):]
        else:
            rest.append(arg)
    if agent not in AGENTS:
        raise AgentError(f"unknown agent {agent!r} (known: {', '.join(AGENTS)})")
    return agent, rest


def adapter(agent: str) -> ModuleType:
    """The adapter module of ``agent`` (one of :data:`OTHER_AGENTS`)."""
    if agent not in OTHER_AGENTS:
        raise AgentError(f"no adapter for {agent!r}")
    import sys

    name = f"hooks.agents.{agent}"
    __import__(name)  # (not importlib: it loads warnings too, on every event of the agent)
    return sys.modules[name]


def command_prefix(agent: str, session_id: str, home: str) -> str:
    """How the model of ``agent`` runs ``orchestra`` for its session, as shell text.

    Claude Code's Bash has ``orchestra`` on PATH and the session id exported (SessionStart
    writes both to ``$CLAUDE_ENV_FILE``), so its prefix is ``orchestra``. Codex and Gemini
    give hooks no way to change the model's shell: the command carries the session id and
    the state root in variables and names the launcher by its absolute path
    (``<state root>/bin/orchestra``, which :func:`hooks.shell_env.ensure_launcher` keeps).
    """
    if agent == CLAUDE_CODE:
        return "orchestra"
    import os
    import shlex

    from hooks.shell_env import ensure_launcher

    folder = ensure_launcher(home)
    parts = [f"ORCHESTRA_SESSION_ID={shlex.quote(session_id)}"]
    if os.environ.get("ORCHESTRA_HOME"):
        parts.append(f"ORCHESTRA_HOME={shlex.quote(home)}")
    parts.append(shlex.quote(os.path.join(folder, "orchestra")))
    return " ".join(parts)
