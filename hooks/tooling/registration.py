"""What Orchestra registers in Claude Code's settings, and how its entries are recognised.

**The template.** One handler for every event Orchestra registers (:data:`EVENTS`), all
running the same command, ``"<python>" -P -m hooks.dispatch``, in a matcher-less group::

    {"type": "command", "command": "\"/abs/.venv/bin/python\" -P -m hooks.dispatch",
     "timeout": 10, "statusMessage": "Orchestra"}

**The plugin.** :func:`plugin_hooks` is the same registration for the Claude Code plugin's
``hooks/hooks.json``: the same events, timeouts and status message, with the command
``"${CLAUDE_PLUGIN_ROOT}/bin/orchestra" dispatch`` (the plugin launcher). Both files are
written from this module (``python -m hooks.tooling.registration``) and a test keeps
them equal to what it generates.

``<python>`` is the absolute path of the interpreter (never a pyenv shim, never
resolved through the venv's symlink); ``-P`` keeps the working directory — which follows
Claude's ``cd`` — off ``sys.path``, so a project's own ``hooks/`` folder is never imported
instead of Orchestra's. ``settings.template.json`` at the top of the repository is
:func:`template` with the placeholder :data:`PYTHON_PLACEHOLDER`; a test keeps them equal.

**The recognition rule** (uninstall removes exactly these, doctor checks them): a handler
is Orchestra's when it is a ``"type": "command"`` handler whose ``statusMessage`` starts
with the word ``Orchestra`` (``"Orchestra"``, ``"Orchestra: ..."``; not ``"Orchestrate"``)
**and** whose ``command`` ends with the arguments ``-m hooks.dispatch``.
A handler with only one of the two marks (``python3 -m hooks.dispatch`` written by hand,
``orchestra-dispatch``) is a *look-alike*: never changed or removed, but reported by doctor.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
from typing import Any

from hooks.events import EVENT_NAMES

__all__ = [
    "EVENTS",
    "NOT_REGISTERED",
    "PYTHON_PLACEHOLDER",
    "STATUS_MESSAGE",
    "command_for",
    "fill",
    "interpreter_of",
    "is_lookalike",
    "is_orchestra",
    "merge",
    "orchestra_handlers",
    "remove",
    "template",
]

STATUS_MESSAGE = "Orchestra"
MODULE = "hooks.dispatch"
PYTHON_PLACEHOLDER = "{{ORCHESTRA_PYTHON}}"
SCHEMA_URL = "https://json.schemastore.org/claude-code-settings.json"

#: Events Orchestra does not register, and why (docs/install.md repeats this).
NOT_REGISTERED: dict[str, str] = {
    "WorktreeCreate": "a command hook there replaces git's worktree creation: Claude Code "
                      "expects the hook to create the worktree and print its path",
    "PreSkillShellCommand": "new in 2.1.332 and not yet in the SchemaStore settings schema, "
                            "so registering it makes editors flag settings.json",
    "PreModelSwitch": "new in 2.1.332 and not yet in the SchemaStore settings schema",
    "PostModelSwitch": "new in 2.1.332 and not yet in the SchemaStore settings schema",
}
#: Seconds before Claude Code kills the hook (it then proceeds as if the hook had said
#: nothing). The dispatcher's own budget is 5 s; session start can pay for a cold cache.
DEFAULT_TIMEOUT = 10
TIMEOUTS: dict[str, int] = {
    "SessionStart": 20,
    "Setup": 20,
    "MessageDisplay": 5,
    "SessionEnd": 2,  # Claude Code gives all SessionEnd hooks 1.5 s together
}
EVENTS: tuple[str, ...] = tuple(e for e in EVENT_NAMES if e not in NOT_REGISTERED)

_STATUS_MARK = re.compile(rf"{STATUS_MESSAGE}\b")
_DISPATCH_ARGS = re.compile(r"(?:^|\s)-m\s+hooks\.dispatch\s*$")
_SAFE_IN_DOUBLE_QUOTES = re.compile(r'^[^"$`\\!]*$')


def command_for(python: str) -> str:
    """The registered command for interpreter ``python`` (an absolute path)."""
    return f"{quote_path(python)} -P -m {MODULE}"


def quote_path(path: str) -> str:
    """``path`` quoted for the shell Claude Code runs commands with (bash, or Git Bash on
    Windows, where the path is written with forward slashes)."""
    if os.name == "nt":
        path = path.replace("\\", "/")
    if _SAFE_IN_DOUBLE_QUOTES.match(path):
        return f'"{path}"'
    return shlex.quote(path)


def interpreter_of(command: str) -> str | None:
    """The program a registered command runs (its first shell word), or None."""
    try:
        words = shlex.split(command, posix=True)
    except ValueError:
        return None
    return words[0] if words else None


def handler(command: str, event: str) -> dict[str, Any]:
    return {"type": "command", "command": command,
            "timeout": TIMEOUTS.get(event, DEFAULT_TIMEOUT), "statusMessage": STATUS_MESSAGE}


def template(python: str | None = None) -> dict[str, Any]:
    """The settings fragment; with ``python`` None the command holds the placeholder."""
    command = f"{PYTHON_PLACEHOLDER} -P -m {MODULE}"
    data = {"$schema": SCHEMA_URL,
            "hooks": {event: [{"hooks": [handler(command, event)]}] for event in EVENTS}}
    return data if python is None else fill(data, python)


PLUGIN_COMMAND = '"${CLAUDE_PLUGIN_ROOT}/bin/orchestra" dispatch'


def plugin_hooks() -> dict[str, Any]:
    """The plugin's ``hooks/hooks.json``: :func:`template` run through the plugin launcher."""
    return {"description": "Orchestra: one dispatcher for every Claude Code event",
            "hooks": {event: [{"hooks": [handler(PLUGIN_COMMAND, event)]}] for event in EVENTS}}


def generated_files() -> dict[str, dict[str, Any]]:
    """The files this module generates, by path below the repository root."""
    return {"settings.template.json": template(),
            os.path.join("hooks", "hooks.json"): plugin_hooks()}


def fill(data: dict[str, Any], python: str) -> dict[str, Any]:
    """A copy of a template with :data:`PYTHON_PLACEHOLDER` replaced by the quoted path."""
    out = copy.deepcopy(data)
    for groups in out.get("hooks", {}).values():
        for group in groups:
            for entry in group.get("hooks", []):
                if isinstance(entry.get("command"), str):
                    entry["command"] = entry["command"].replace(PYTHON_PLACEHOLDER,
                                                                quote_path(python))
    return out


def is_orchestra(entry: Any) -> bool:
    """The recognition rule of the module docstring."""
    return (isinstance(entry, dict) and entry.get("type") == "command"
            and isinstance(entry.get("statusMessage"), str)
            and _STATUS_MARK.match(entry["statusMessage"]) is not None
            and isinstance(entry.get("command"), str)
            and _DISPATCH_ARGS.search(entry["command"]) is not None)


def is_lookalike(entry: Any) -> bool:
    """Runs Orchestra's dispatcher (or seems to) but is not an entry install manages."""
    if not isinstance(entry, dict) or is_orchestra(entry):
        return False
    command = entry.get("command")
    if not isinstance(command, str):
        return False
    return MODULE in command or "orchestra-dispatch" in command


def orchestra_handlers(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(event, handler)`` for every Orchestra handler in a settings document."""
    found = []
    hooks = data.get("hooks")
    for event, groups in (hooks.items() if isinstance(hooks, dict) else ()):
        for group in groups if isinstance(groups, list) else ():
            for entry in group.get("hooks", []) if isinstance(group, dict) else ():
                if is_orchestra(entry):
                    found.append((event, entry))
    return found


def merge(data: dict[str, Any], python: str) -> dict[str, Any]:
    """A copy of ``data`` with Orchestra registered for :data:`EVENTS`.

    Each event keeps exactly one Orchestra handler: the first one found is replaced in
    place (so its position among foreign handlers does not change), later ones are
    dropped, and an event without one gets a new group at the end. Orchestra handlers on
    other events (added by hand) keep their place and timeout but get the new command.
    Everything else is left as it is, so a second run changes nothing.
    """
    out = copy.deepcopy(data)
    command = command_for(python)
    hooks = out.setdefault("hooks", {})
    for event in list(hooks):
        if event in EVENTS:
            placed = _replace(hooks, event, handler(command, event))
            if not placed:
                hooks[event].append({"hooks": [handler(command, event)]})
        else:
            for group in hooks[event]:
                for entry in group.get("hooks", []):
                    if is_orchestra(entry):
                        entry["command"] = command
    for event in EVENTS:
        if event not in hooks:
            hooks[event] = [{"hooks": [handler(command, event)]}]
    return out


def _replace(hooks: dict[str, Any], event: str, new: dict[str, Any] | None) -> bool:
    """Put ``new`` where the event's first Orchestra handler is and drop the others (all of
    them if ``new`` is None); groups and events emptied by this go too."""
    placed = False
    kept_groups = []
    for group in hooks[event]:
        entries = group.get("hooks", [])
        kept = []
        for entry in entries:
            if not is_orchestra(entry):
                kept.append(entry)
            elif new is not None and not placed:
                kept.append(copy.deepcopy(new))
                placed = True
        if kept or not any(is_orchestra(e) for e in entries):
            if "hooks" in group:
                group["hooks"] = kept
            kept_groups.append(group)
    hooks[event] = kept_groups
    return placed


def remove(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` without any Orchestra handler, and nothing else changed (an event
    list or ``hooks`` table is dropped only when it was emptied by the removal)."""
    out = copy.deepcopy(data)
    hooks = out.get("hooks")
    if not isinstance(hooks, dict):
        return out
    for event in list(hooks):
        had = bool(hooks[event])
        if not any(is_orchestra(e) for g in hooks[event] for e in g.get("hooks", [])):
            continue
        _replace(hooks, event, None)
        if had and not hooks[event]:
            del hooks[event]
    if not hooks and orchestra_handlers(data):
        del out["hooks"]
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the generated files below the repository root (for maintainers)."""
    from hooks.tooling.settings_file import render

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for relative, data in generated_files().items():
        path = os.path.join(root, relative)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(render(data))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
