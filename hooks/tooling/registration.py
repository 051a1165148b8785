"""What Orchestra registers in Claude Code's settings, and how its entries are recognised.

**The handler.** In exec form (``args``: Claude Code starts the interpreter itself, no
shell), the interpreter started without ``site`` and told where Orchestra is
(:mod:`hooks.boot`)::

    {"type": "command", "command": "/abs/.venv/bin/python",
     "args": ["-S", "-P", "-c", "<hooks.boot.BOOT_CODE>", "/abs/.venv/lib/python3.X/site-packages"],
     "timeout": 10, "statusMessage": "Orchestra"}

``command`` is the absolute interpreter (never a pyenv shim, never resolved through the
venv's symlink); the last argument is the folder that holds Orchestra's packages for it
(``site-packages``, or the checkout of an editable install). ``-P`` keeps the working
directory — which follows Claude's ``cd`` — off ``sys.path``, so a project's own
``hooks/`` folder is never imported instead of Orchestra's; ``-S`` skips ``site`` until
third-party code needs it.

**Which events.** :func:`merge` registers the events some enabled handler needs (the
dispatch table's :meth:`~hooks.registry.DispatchTable.registration`, asked of the
registered interpreter by :func:`needed`: built-in handlers, installed plugins, the
config's ``plugins.disabled`` and ``event_log.events``), each in a group of its own whose
``matcher`` names the tools when every handler of that event is limited to some
(``hookimpl(tools=...)``); an event that nothing needs is not registered, so it starts no
process. Claude Code's ``if`` filters are not used: a rule such as ``Bash(git *)`` matches
the start of a command, and ``cd src && git stash`` would slip past the git guard.

**The templates.** ``settings.template.json`` is :func:`template`: every event
(:data:`EVENTS`) with the placeholders :data:`PYTHON_PLACEHOLDER` and
:data:`ROOT_PLACEHOLDER`. The Claude Code plugin's ``hooks/hooks.json`` is
:func:`plugin_hooks`: the same events, timeouts and status message through the plugin
launcher, which the hook's own shell reads (:data:`PLUGIN_COMMAND`; a static file: every
event, and the dispatcher leaves those no enabled handler needs). Both files are written
from this module (``python -m hooks.tooling.registration``) and a test keeps them equal.

**The recognition rule** (uninstall removes exactly these, doctor checks them): a handler
is Orchestra's when it is a ``"type": "command"`` handler whose ``statusMessage`` starts
with the word ``Orchestra`` (``"Orchestra"``, ``"Orchestra: ..."``; not ``"Orchestrate"``)
**and** that runs the dispatcher: exec form whose ``-c`` code is :data:`BOOT_CODE`, or —
written by earlier installs, *old* (:func:`is_old`) — a shell command ending with the
arguments ``-m hooks.dispatch``, which install replaces in place. A handler with only one
of the two marks (``python3 -m hooks.dispatch`` written by hand, ``orchestra-dispatch``)
is a *look-alike*: never changed or removed, but reported by doctor.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
from typing import Any

from hooks.boot import BOOT_CODE
from hooks.events import EVENT_NAMES

__all__ = [
    "BOOT_CODE",
    "EVENTS",
    "NOT_REGISTERED",
    "PYTHON_PLACEHOLDER",
    "ROOT_PLACEHOLDER",
    "STATUS_MESSAGE",
    "boot_args",
    "command_for",
    "fill",
    "handler",
    "interpreter_of",
    "is_lookalike",
    "is_old",
    "is_orchestra",
    "merge",
    "orchestra_handlers",
    "registered",
    "remove",
    "root_of",
    "template",
]

STATUS_MESSAGE = "Orchestra"
MODULE = "hooks.dispatch"
PYTHON_PLACEHOLDER = "{{ORCHESTRA_PYTHON}}"
ROOT_PLACEHOLDER = "{{ORCHESTRA_ROOT}}"
SCHEMA_URL = "https://json.schemastore.org/claude-code-settings.json"
#: The interpreter options of the registered command, before ``-c``.
FLAGS = ("-S", "-P")

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

#: Needed events: event -> the tools its matcher names (None: no matcher).
Needed = dict[str, "tuple[str, ...] | None"]


def boot_args(root: str) -> list[str]:
    """The ``args`` of the registered handler for Orchestra's folder ``root``."""
    return [*FLAGS, "-c", BOOT_CODE, root]


def command_for(python: str, root: str) -> str:
    """The registered command as one line, for people (it is registered in exec form)."""
    return " ".join([quote_path(python), *FLAGS, "-c", shlex.quote(BOOT_CODE),
                     quote_path(root)])


def quote_path(path: str) -> str:
    """``path`` quoted for the shell Claude Code runs a shell-form command with (bash, or
    Git Bash on Windows, where the path is written with forward slashes)."""
    if os.name == "nt":
        path = path.replace("\\", "/")
    if _SAFE_IN_DOUBLE_QUOTES.match(path):
        return f'"{path}"'
    return shlex.quote(path)


def interpreter_of(entry: dict[str, Any] | str) -> str | None:
    """The program a registered handler runs (its ``command``, or the first shell word of
    an old shell-form one), or None."""
    if isinstance(entry, dict):
        if isinstance(entry.get("args"), list):
            command = entry.get("command")
            return command if isinstance(command, str) and command else None
        entry = entry.get("command", "")
    if not isinstance(entry, str):
        return None
    try:
        words = shlex.split(entry, posix=True)
    except ValueError:
        return None
    return words[0] if words else None


def root_of(entry: dict[str, Any]) -> str | None:
    """The folder an exec-form handler puts on ``sys.path`` (None for an old one)."""
    args = entry.get("args")
    if not isinstance(args, list) or not _is_boot(args):
        return None
    rest = args[args.index("-c") + 2:]
    return rest[0] if rest and isinstance(rest[0], str) else None


def _is_boot(args: Any) -> bool:
    """``args`` run :data:`BOOT_CODE` (``... -c BOOT_CODE ROOT ...``)."""
    if not isinstance(args, list) or "-c" not in args:
        return False
    at = args.index("-c")
    return at + 1 < len(args) and args[at + 1] == BOOT_CODE


def handler(python: str, root: str, event: str) -> dict[str, Any]:
    return {"type": "command", "command": python, "args": boot_args(root),
            "timeout": TIMEOUTS.get(event, DEFAULT_TIMEOUT), "statusMessage": STATUS_MESSAGE}


def group(entry: dict[str, Any], tools: tuple[str, ...] | None) -> dict[str, Any]:
    """A group holding ``entry``, with a matcher naming ``tools`` when given."""
    return {"matcher": "|".join(tools), "hooks": [entry]} if tools else {"hooks": [entry]}


def template(python: str | None = None, root: str | None = None) -> dict[str, Any]:
    """The settings fragment for every event; with ``python`` None it holds the
    placeholders."""
    data = {"$schema": SCHEMA_URL,
            "hooks": {event: [{"hooks": [handler(PYTHON_PLACEHOLDER, ROOT_PLACEHOLDER, event)]}]
                      for event in EVENTS}}
    return data if python is None else fill(data, python, root or "")


#: The plugin's hook command: the shell Claude Code starts runs the launcher itself (``.``),
#: as ``orchestra dispatch`` (``set --``); ``command .`` and ``|| exit 1`` turn a launcher
#: that cannot be read into a non-blocking failure (a failed ``.`` would exit 2: blocking).
PLUGIN_COMMAND = 'set -- dispatch; command . "${CLAUDE_PLUGIN_ROOT}/bin/orchestra" || exit 1'


def plugin_handler(event: str) -> dict[str, Any]:
    return {"type": "command", "command": PLUGIN_COMMAND,
            "timeout": TIMEOUTS.get(event, DEFAULT_TIMEOUT), "statusMessage": STATUS_MESSAGE}


def plugin_hooks() -> dict[str, Any]:
    """The plugin's ``hooks/hooks.json``: every event, through the plugin launcher.

    Shell form (:data:`PLUGIN_COMMAND`): the shell Claude Code starts (``/bin/sh -c``; Git
    Bash on Windows) reads the launcher with ``.``, which then execs Python — one process and
    one shell start per event, as exec form would give (a launcher started as a program
    costs a second shell start: ``#!/bin/sh``). Exec form is not used because the launcher
    is a shell script, which Windows cannot start without a shell
    (tests/e2e/test_e2e_plugin_hook_forms.py shows both forms in the pinned CLI)."""
    return {"description": "Orchestra: one dispatcher for every Claude Code event",
            "hooks": {event: [{"hooks": [plugin_handler(event)]}] for event in EVENTS}}


def generated_files() -> dict[str, dict[str, Any]]:
    """The files this module generates, by path below the repository root."""
    return {"settings.template.json": template(),
            os.path.join("hooks", "hooks.json"): plugin_hooks()}


def fill(data: dict[str, Any], python: str, root: str) -> dict[str, Any]:
    """A copy of a template with the placeholders replaced by ``python`` and ``root``."""
    out = copy.deepcopy(data)
    for groups in out.get("hooks", {}).values():
        for entry_group in groups:
            for entry in entry_group.get("hooks", []):
                if entry.get("command") == PYTHON_PLACEHOLDER:
                    entry["command"] = python
                if isinstance(entry.get("args"), list):
                    entry["args"] = [root if a == ROOT_PLACEHOLDER else a for a in entry["args"]]
    return out


def is_orchestra(entry: Any) -> bool:
    """The recognition rule of the module docstring."""
    if not (isinstance(entry, dict) and entry.get("type") == "command"
            and isinstance(entry.get("statusMessage"), str)
            and _STATUS_MARK.match(entry["statusMessage"]) is not None
            and isinstance(entry.get("command"), str)):
        return False
    if "args" in entry:
        return _is_boot(entry["args"])
    return _DISPATCH_ARGS.search(entry["command"]) is not None


def is_old(entry: Any) -> bool:
    """An Orchestra handler in the form earlier installs wrote: a shell command running
    ``python -P -m hooks.dispatch`` (a shell, ``site`` and ``runpy`` more per event)."""
    return is_orchestra(entry) and "args" not in entry


def is_lookalike(entry: Any) -> bool:
    """Runs Orchestra's dispatcher (or seems to) but is not an entry install manages."""
    if not isinstance(entry, dict) or is_orchestra(entry):
        return False
    command = entry.get("command")
    if not isinstance(command, str):
        return False
    args = entry.get("args")
    words = " ".join([command, *(a for a in args if isinstance(a, str))]
                     if isinstance(args, list) else [command])
    return MODULE in words or "orchestra-dispatch" in words or "hooks.boot" in words


def orchestra_handlers(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(event, handler)`` for every Orchestra handler in a settings document."""
    found = []
    hooks = data.get("hooks")
    for event, groups in (hooks.items() if isinstance(hooks, dict) else ()):
        for entry_group in groups if isinstance(groups, list) else ():
            for entry in entry_group.get("hooks", []) if isinstance(entry_group, dict) else ():
                if is_orchestra(entry):
                    found.append((event, entry))
    return found


def registered(data: dict[str, Any]) -> Needed:
    """What a settings document registers Orchestra for: event -> the tools of its group's
    matcher (None: no matcher, or one that is not a plain list of tool names)."""
    found: Needed = {}
    hooks = data.get("hooks")
    for event, groups in (hooks.items() if isinstance(hooks, dict) else ()):
        for entry_group in groups if isinstance(groups, list) else ():
            if not isinstance(entry_group, dict):
                continue
            if any(is_orchestra(e) for e in entry_group.get("hooks", [])):
                tools = _matcher_tools(entry_group.get("matcher"))
                if event in found:
                    before = found[event]
                    tools = (None if before is None or tools is None
                             else tuple(sorted({*before, *tools})))
                found[event] = tools
    return found


def _matcher_tools(matcher: Any) -> tuple[str, ...] | None:
    """The tool names of a matcher made only of names and ``|`` (None: every tool)."""
    if not isinstance(matcher, str) or matcher.strip() in ("", "*"):
        return None
    if not re.fullmatch(r"[A-Za-z0-9_\- |,]+", matcher):
        return None  # a regex: treat it as matching everything
    return tuple(sorted({t.strip() for t in re.split(r"[|,]", matcher) if t.strip()}))


def merge(data: dict[str, Any], python: str, root: str,
          needed: Needed | None = None) -> dict[str, Any]:
    """A copy of ``data`` with Orchestra registered for the ``needed`` events (default:
    every one of :data:`EVENTS`, no matcher).

    Each needed event keeps exactly one Orchestra handler, in a group of its own: the
    first one found is replaced where its group is (an old handler sharing a group with
    foreign ones gets a group of its own there), later ones are dropped, and an event
    without one gets a new group at the end. Events no longer needed lose Orchestra's
    handlers. Orchestra handlers on events it never registers (added by hand) keep their
    place and timeout but get the new command. Everything else is left as it is, so a
    second run changes nothing.
    """
    if needed is None:
        needed = dict.fromkeys(EVENTS)
    out = copy.deepcopy(data)
    hooks = out.setdefault("hooks", {})
    for event in list(hooks):
        if not isinstance(hooks[event], list):
            continue
        if event in EVENTS:
            new = (group(handler(python, root, event), needed[event]) if event in needed
                   else None)
            if not _replace(hooks, event, new) and new is not None:
                hooks[event].append(new)
            if not hooks[event]:
                del hooks[event]
        else:
            for entry_group in hooks[event]:
                for entry in entry_group.get("hooks", []) if isinstance(entry_group, dict) else ():
                    if is_orchestra(entry):
                        entry["command"] = python
                        entry["args"] = boot_args(root)
    for event in EVENTS:
        if event in needed and event not in hooks:
            hooks[event] = [group(handler(python, root, event), needed[event])]
    if not hooks and "hooks" not in data:
        del out["hooks"]
    return out


def _replace(hooks: dict[str, Any], event: str, new: dict[str, Any] | None) -> bool:
    """Put the group ``new`` where the event's first Orchestra handler is and drop the
    others (all of them if ``new`` is None); groups emptied by this go too. True if
    ``new`` was placed."""
    placed = False
    kept_groups = []
    for entry_group in hooks[event]:
        entries = entry_group.get("hooks", []) if isinstance(entry_group, dict) else []
        if not any(is_orchestra(e) for e in entries):
            kept_groups.append(entry_group)
            continue
        foreign = [e for e in entries if not is_orchestra(e)]
        if foreign:
            kept_groups.append({**entry_group, "hooks": foreign})
        if new is not None and not placed:
            kept_groups.append(copy.deepcopy(new))
            placed = True
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
        groups = hooks[event]
        if not isinstance(groups, list) or not any(
                is_orchestra(e) for g in groups if isinstance(g, dict)
                for e in g.get("hooks", [])):
            continue
        had = bool(groups)
        _replace(hooks, event, None)
        if had and not hooks[event]:
            del hooks[event]
    if not hooks and orchestra_handlers(data):
        del out["hooks"]
    return out


def needed_here(home: str) -> Needed:
    """What this interpreter's Orchestra needs registered for the state root ``home``."""
    from hooks.registry import load_table

    return load_table(home).registration(EVENTS)


def needed(python: str, home: str, timeout: float = 60.0) -> Needed | None:
    """:func:`needed_here` asked of the interpreter ``python`` (its plugins are the ones
    that count; in this process when it is this interpreter); None when it cannot say (an
    older Orchestra there)."""
    import json
    import subprocess
    import sys
    import tempfile

    try:
        here = os.path.samefile(python, sys.executable)
    except OSError:
        here = False
    if here:
        try:
            return needed_here(home)
        except Exception:
            return None

    code = ("import json, sys; from hooks.tooling.registration import needed_here; "
            "print(json.dumps(needed_here(sys.argv[1])))")
    env = {**os.environ, "ORCHESTRA_HOME": home}
    with tempfile.TemporaryDirectory(prefix="orchestra-needs-") as cwd:
        try:
            done = subprocess.run([python, "-P", "-c", code, home], cwd=cwd, env=env,
                                  capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
    if done.returncode != 0:
        return None
    try:
        raw = json.loads(done.stdout)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    return {str(e): None if t is None else tuple(str(x) for x in t) for e, t in raw.items()
            if e in EVENTS}


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
