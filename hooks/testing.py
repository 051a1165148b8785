"""Helpers for plugin authors' tests: dispatch a payload in-process and look at the reply.

    from hooks.testing import run_dispatch

    def test_denies_rm(tmp_path):
        result = run_dispatch(payload, plugins=[my_plugin], home=tmp_path)
        assert result.reply["hookSpecificOutput"]["permissionDecision"] == "deny"

``plugins`` are registered next to the built-in and installed plugins (the
registry is built fresh, never cached). Use ``builtins=False`` to run only yours.
"""

from __future__ import annotations

import io
import json
import os
from contextlib import contextmanager
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

__all__ = ["DispatchOutcome", "run_dispatch"]


class DispatchOutcome:
    """What the dispatcher did: ``exit_code``, parsed ``reply`` (or None), ``stdout``,
    ``stderr``."""

    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.reply: dict[str, Any] | None = json.loads(stdout) if stdout.strip() else None

    def __repr__(self) -> str:
        return f"DispatchOutcome(exit_code={self.exit_code}, reply={self.reply!r})"


@contextmanager
def _env(home: Path | str | None, extra: dict[str, str] | None) -> Iterator[None]:
    changes = dict(extra or {})
    if home is not None:
        changes["ORCHESTRA_HOME"] = str(home)
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dispatch(
    payload: dict[str, Any] | str | bytes,
    plugins: Iterable[Any] = (),
    home: Path | str | None = None,
    *,
    builtins: bool = True,
    env: dict[str, str] | None = None,
    agent: str | None = None,
) -> DispatchOutcome:
    """Dispatch ``payload`` in-process with ``plugins`` added; return the outcome.
    ``agent`` (``codex``, ``gemini``) dispatches it as that agent's command does."""
    from hooks import dispatch as dispatch_module
    from hooks import registry

    if isinstance(payload, dict):
        data = json.dumps(payload).encode("utf-8")
    elif isinstance(payload, str):
        data = payload.encode("utf-8")
    else:
        data = payload
    stdout, stderr = io.StringIO(), io.StringIO()
    plugins = list(plugins)
    with _env(home, env):
        state_home = dispatch_module.state_home()
        original = registry.load_table
        if plugins or not builtins:
            import handlers

            saved_builtins = handlers.BUILTIN_HANDLERS
            if not builtins:
                handlers.BUILTIN_HANDLERS = ()
            try:
                table = registry.build_table(state_home, plugins)
            finally:
                handlers.BUILTIN_HANDLERS = saved_builtins
            registry.load_table = lambda home: table
        try:
            code = dispatch_module.main(["--agent", agent] if agent else [],
                                        stdin=io.BytesIO(data), stdout=stdout, stderr=stderr)
        finally:
            registry.load_table = original
    return DispatchOutcome(code, stdout.getvalue(), stderr.getvalue())
