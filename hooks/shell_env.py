"""``orchestra`` in an agent's shell: the command under the state root, and what SessionStart
exports so that the model's Bash finds it and knows its session.

The model's Bash does not have Orchestra's virtualenv on its PATH (and often has no
``python`` at all), so the commands Orchestra gives the model name ``orchestra``, and
this module makes that name resolve without changing which ``python`` the project sees:

* :func:`ensure_launcher` keeps ``<state root>/bin/orchestra``, a folder that holds
  nothing else, as a two-line script running ``"<this interpreter>" -P -m orchestra``.
  ``orchestra install`` writes it, and every SessionStart checks it (one small read);
* :func:`env_exports` gives the lines the SessionStart hook (``handlers.presence``)
  appends to ``$CLAUDE_ENV_FILE``, which Claude Code sources before each Bash command:
  the session id, ``ORCHESTRA_HOME`` when set, and that folder prepended to ``PATH``.

As a Claude Code plugin (``$CLAUDE_PLUGIN_ROOT`` set in the hook) nothing is written:
Claude Code puts the plugin's own ``bin/orchestra`` on the Bash PATH, and the export
``ORCHESTRA_PLUGIN_DATA`` tells that launcher where its virtualenv is.

Handlers and the install tooling both use it; :mod:`hooks.launcher` keeps the old name.
"""

from __future__ import annotations

import os
import sys

__all__ = ["ensure_launcher", "env_exports", "launcher_dir", "launcher_text"]


def launcher_dir(home: str) -> str:
    return os.path.join(home, "bin")


def _posix(path: str) -> str:
    """A path as Git Bash on Windows writes it (``C:\\x`` -> ``/c/x``); unchanged elsewhere."""
    if os.name != "nt":
        return path
    path = path.replace("\\", "/")
    if len(path) > 1 and path[1] == ":":
        path = f"/{path[0].lower()}{path[2:]}"
    return path


def launcher_text(python: str) -> str:
    import shlex

    return ("#!/bin/sh\n"
            "# Orchestra's command for Claude's Bash (written by Orchestra, hooks/shell_env.py)\n"
            f"exec {shlex.quote(_posix(python))} -P -m orchestra \"$@\"\n")


def ensure_launcher(home: str, python: str | None = None) -> str:
    """Write ``<home>/bin/orchestra`` for ``python`` unless it is already that; its folder."""
    folder = launcher_dir(home)
    path = os.path.join(folder, "orchestra")
    text = launcher_text(python or sys.executable)
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return folder
    except OSError:
        pass
    from state.paths import make_private_dirs

    make_private_dirs(folder)  # the state root too, if this makes it (orchestra install)
    tmp = f"{path}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(tmp, flags, 0o700), "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.chmod(tmp, 0o700)  # (a temp file left by a killed writer keeps its old mode)
    os.replace(tmp, path)
    return folder


def env_exports(session_id: str, home: str) -> list[str]:
    """The ``export`` lines for ``$CLAUDE_ENV_FILE`` at SessionStart (see the module doc)."""
    import shlex

    lines = [f"export ORCHESTRA_SESSION_ID={shlex.quote(session_id)}"]
    configured = os.environ.get("ORCHESTRA_HOME")
    if configured:
        lines.append(f"export ORCHESTRA_HOME={shlex.quote(configured)}")
    plugin_data = os.environ.get("CLAUDE_PLUGIN_DATA")
    if os.environ.get("CLAUDE_PLUGIN_ROOT"):
        if plugin_data:
            lines.append(f"export ORCHESTRA_PLUGIN_DATA={shlex.quote(plugin_data)}")
    else:
        folder = ensure_launcher(home)
        lines.append(f'export PATH={shlex.quote(_posix(folder))}:"$PATH"')
    return lines
