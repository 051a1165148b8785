"""The old name of :mod:`hooks.shell_env` (the ``orchestra`` launcher under the state root and
the SessionStart exports), kept for the install tooling and for plugins that import it."""

from hooks.shell_env import ensure_launcher, env_exports, launcher_dir, launcher_text

__all__ = ["ensure_launcher", "env_exports", "launcher_dir", "launcher_text"]
