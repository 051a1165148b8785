"""``python -m hooks install|uninstall``: register Orchestra in a Claude Code settings file.

``--agent codex|gemini`` registers it with Codex CLI or Gemini CLI instead
(:mod:`hooks.tooling.agent_install`).

``install [--scope user|project|local] [--project-dir DIR] [--python PATH] [--dry-run]``
registers (:func:`hooks.tooling.registration.merge`) the hook command for the absolute path
of the interpreter (default: the one running this command) and the folder it imports
Orchestra from, for the events some enabled handler of that interpreter needs, after
checking that it can import Orchestra from an unrelated folder, with and without ``site``.
Handlers an earlier install wrote (``python -P -m hooks.dispatch`` in shell form) are
replaced where they are. It keeps every other hook and setting, is idempotent, writes a
timestamped backup before any change, shows a unified diff instead of writing with
``--dry-run``, and refuses (exit 1, file untouched) when the file is not valid JSON. Run it
again after changing which handlers are enabled (``orchestra doctor`` says when).

``uninstall [--scope ...] [--project-dir DIR] [--dry-run]`` removes exactly the handlers the
recognition rule of :mod:`hooks.tooling.registration` matches, and nothing else.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from hooks.tooling import registration
from hooks.tooling.cli import CliError, Streams, run
from hooks.tooling.settings_file import (
    SCOPES,
    SettingsFile,
    diff,
    load,
    render,
    save,
    settings_path,
)

if TYPE_CHECKING:
    from state.cli import Front

__all__ = ["check_boot", "check_interpreter", "compile_bytecode", "install_main", "main",
           "orchestra_root", "uninstall_main"]

#: Run by the candidate interpreter from an empty temporary folder: Orchestra's folder.
_PROBE = ("import os, hooks, hooks.dispatch; assert hooks.NAME == 'orchestra', hooks.__file__; "
          "print(os.path.dirname(os.path.dirname(os.path.abspath(hooks.__file__))))")
#: Run as the registered command runs (no site, Orchestra's folder the last argument).
_BOOT_PROBE = ("import sys; sys.path.append(sys.argv.pop(1)); import hooks, hooks.boot, "
               "hooks.dispatch; print(hooks.__file__)")


def orchestra_root(python: str, timeout: float = 30.0) -> tuple[str | None, str | None]:
    """(the folder ``python -P`` imports Orchestra from in an unrelated cwd, None) or
    (None, the reason it cannot)."""
    if not os.path.isabs(python):
        return None, f"{python!r} is not an absolute path"
    if not os.path.isfile(python):
        return None, f"{python} does not exist"
    if not os.access(python, os.X_OK):
        return None, f"{python} is not executable"
    with tempfile.TemporaryDirectory(prefix="orchestra-probe-") as cwd:
        try:
            proc = subprocess.run([python, "-P", "-c", _PROBE], cwd=cwd, capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"{python} could not be run: {exc}"
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        last = lines[-1] if lines else f"exit code {proc.returncode}"
        return None, f"{python} -P cannot import Orchestra's hooks.dispatch ({last})"
    lines = proc.stdout.strip().splitlines()
    return (lines[-1], None) if lines else (None, f"{python} did not say where Orchestra is")


def check_interpreter(python: str, timeout: float = 30.0) -> str | None:
    """None when ``python -P`` imports Orchestra from an unrelated cwd, else the reason."""
    return orchestra_root(python, timeout)[1]


def check_boot(python: str, root: str, timeout: float = 30.0) -> str | None:
    """None when ``python``, started as the registered command starts it (no ``site``,
    ``root`` on ``sys.path``), imports Orchestra from ``root``; else the reason."""
    with tempfile.TemporaryDirectory(prefix="orchestra-probe-") as cwd:
        try:
            proc = subprocess.run([python, "-S", "-P", "-c", _BOOT_PROBE, root], cwd=cwd,
                                  capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{python} could not be run: {exc}"
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        last = lines[-1] if lines else f"exit code {proc.returncode}"
        return f"{python} -S cannot import Orchestra from {root} ({last})"
    found = proc.stdout.strip().splitlines()[-1:] or [""]
    if not os.path.normcase(os.path.abspath(found[0])).startswith(
            os.path.normcase(os.path.abspath(root)) + os.sep):
        return f"{python} -S imports Orchestra from {found[0]}, not from {root}"
    return None


#: Compiles Orchestra's packages for the registered interpreter. Every hook is a new
#: process; without .pyc files (an editable install run under PYTHONDONTWRITEBYTECODE,
#: which is common) each event would recompile every module it imports.
_COMPILE = ("import compileall, importlib, os; "
            "ok = all(compileall.compile_dir(os.path.dirname(importlib.import_module(p).__file__),"
            " quiet=1) for p in ('hooks', 'handlers', 'orchestra', 'state', 'styles', 'plugins')); "
            "raise SystemExit(0 if ok else 1)")


def compile_bytecode(python: str, timeout: float = 120.0) -> bool:
    """Write .pyc files for Orchestra's packages with ``python``; True on success."""
    with tempfile.TemporaryDirectory(prefix="orchestra-compile-") as cwd:
        try:
            proc = subprocess.run([python, "-P", "-c", _COMPILE], cwd=cwd, capture_output=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return proc.returncode == 0


def _common(parser: argparse.ArgumentParser) -> None:
    from hooks.agents import AGENTS

    parser.add_argument("--agent", choices=AGENTS, default="claude-code",
                        help="the coding agent: claude-code (default); codex: Codex CLI's "
                        "hooks.json plus trust entries in its config.toml; gemini: Gemini "
                        "CLI's settings.json (scopes user and project)")
    parser.add_argument("--scope", choices=SCOPES, default="user",
                        help="user: ~/.claude/settings.json (default); project: "
                        "DIR/.claude/settings.json; local: DIR/.claude/settings.local.json "
                        "(for --agent codex|gemini: ~/.codex or ~/.gemini, or DIR/.codex or "
                        "DIR/.gemini)")
    parser.add_argument("--project-dir", metavar="DIR",
                        help="project folder for --scope project/local (default: the cwd)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the change as a unified diff; write nothing")


def _configure_install(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--python", metavar="PATH",
                        help="interpreter to register (default: the one running this command)")
    parser.add_argument("--styles", action=argparse.BooleanOptionalAction, default=False,
                        help="also install the four output styles for the same scope "
                        "(orchestra install does, unless --no-styles)")


def _project_dir(args: argparse.Namespace) -> str | None:
    if args.project_dir is None:
        return None
    if not os.path.isdir(args.project_dir):
        raise CliError(f"--project-dir {args.project_dir}: no such folder")
    return str(args.project_dir)


def _install(args: argparse.Namespace, io: Streams) -> int:
    python = os.path.abspath(args.python or sys.executable)
    if args.agent != "claude-code":
        from hooks.tooling import agent_install

        agent_install.hooks_path(args.agent, args.scope, _project_dir(args))  # a valid scope
        _check_python(python)
        if not args.dry_run:
            compile_bytecode(python)
        return agent_install.install(args, io, python)
    path = settings_path(args.scope, _project_dir(args))
    settings = load(path)
    root = _check_python(python)
    from hooks.dispatch import state_home

    home = state_home()
    needed = registration.needed(python, home)
    if needed is None:  # it could not say: every event, as the plugin registers them
        io.err.write(f"note: {python} could not say which events its handlers need; "
                     "registering every event\n")
        needed = dict.fromkeys(registration.EVENTS)
    new = registration.merge(settings.data, python, root, needed)
    if not args.dry_run and not compile_bytecode(python):
        io.err.write("note: could not write .pyc files for Orchestra; hooks will still work, "
                     "more slowly, if its folders are read-only\n")
    old = sum(registration.is_old(entry) for _, entry in
              registration.orchestra_handlers(settings.data))
    skipped = [e for e in registration.EVENTS if e not in needed]
    code = _apply(settings, new, args, io, "installed",
                  f"Orchestra runs {registration.command_for(python, root)} for "
                  f"{len(needed)} events"
                  + (f" (not for {', '.join(skipped)}: no enabled handler needs them)"
                     if skipped else "")
                  + (f"; {old} handler(s) of an earlier install migrated" if old else ""))
    if args.dry_run:
        return code
    from hooks.launcher import ensure_launcher

    folder = ensure_launcher(home, python)
    io.out.write(f"orchestra for Claude's Bash: {os.path.join(folder, 'orchestra')} "
                 "(put on its PATH at every SessionStart)\n")
    if args.styles:
        _install_styles(args, io)
    return code


def _check_python(python: str) -> str:
    """Orchestra's folder for ``python``; a refusal when it cannot run the hook command."""
    root, problem = orchestra_root(python)
    if root is not None:
        problem = check_boot(python, root)
    if problem or root is None:
        raise CliError(f"refusing to install: {problem}. Install Orchestra into that "
                       f"interpreter (pip install <orchestra checkout>) or pass --python")
    return root


def _install_styles(args: argparse.Namespace, io: Streams) -> None:
    """The output styles for the scope: a refusal is a note, the hooks stay installed."""
    from pathlib import Path

    from state.errors import StateError
    from styles.install import install_styles, target_dir

    project = None if args.scope == "user" else Path(args.project_dir or os.getcwd()).resolve()
    folder = target_dir(project=project)
    try:
        actions = install_styles(folder, force=False)
    except StateError as exc:
        io.err.write(f"note: output styles not installed: {exc}\n")
        return
    changed = sum(action.verb != "unchanged" for action in actions)
    io.out.write(f"output styles: {folder} ({changed} written, "
                 f"{len(actions) - changed} unchanged); select one in /config\n")


def _uninstall(args: argparse.Namespace, io: Streams) -> int:
    if args.agent != "claude-code":
        from hooks.tooling import agent_install

        return agent_install.uninstall(args, io)
    path = settings_path(args.scope, _project_dir(args))
    settings = load(path)
    found = registration.orchestra_handlers(settings.data)
    new = registration.remove(settings.data)
    return _apply(settings, new, args, io, "uninstalled",
                  f"removed {len(found)} Orchestra handler(s); other hooks kept")


def _apply(settings: SettingsFile, new: dict[str, Any], args: argparse.Namespace, io: Streams,
           verb: str, summary: str) -> int:
    if new == settings.data:
        io.out.write(f"{settings.path}: nothing to change (already {verb})\n")
        return 0
    text = render(new)
    if args.dry_run:
        io.out.write(diff(settings, text) or f"{settings.path}: nothing to change\n")
        return 0
    backup = save(settings, text)
    io.out.write(f"{settings.path}: {verb}; {summary}\n")
    io.out.write(f"backup: {backup}\n" if backup else "backup: none needed (new file)\n")
    if verb == "installed" and args.scope == "project":
        io.err.write("note: project settings are usually committed; the command holds this "
                     "machine's interpreter path. Prefer --scope local for a shared repo.\n")
    return 0


def install_main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
                 stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    return run("install", "Register Orchestra's dispatcher in a Claude Code settings file.",
               _configure_install, _install, argv, Streams(stdin, stdout, stderr, front))


def uninstall_main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
                   stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    return run("uninstall", "Remove Orchestra's handlers (and nothing else) from a Claude Code "
               "settings file.", _common, _uninstall, argv, Streams(stdin, stdout, stderr, front))


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """``install ...`` or ``uninstall ...`` (the first argument picks the verb)."""
    args = list(sys.argv[1:] if argv is None else argv)
    verb = args.pop(0) if args else ""
    entry = {"install": install_main, "uninstall": uninstall_main}.get(verb)
    if entry is None:
        (stderr or sys.stderr).write(
            "usage: python -m hooks.tooling.install install|uninstall ...\n")
        return 2
    return entry(args, stdin=stdin, stdout=stdout, stderr=stderr)


if __name__ == "__main__":
    raise SystemExit(main())
