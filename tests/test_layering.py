"""The package layering: which part of Orchestra may import which.

* ``state`` (the store and its CLIs) imports neither ``hooks`` nor pluggy: code above it
  hears of changes through :mod:`state.observers`;
* the hooks runtime (everything in ``hooks/`` outside ``hooks/tooling/``) never imports the
  tooling (install, doctor, record, replay);
* ``handlers`` import only the runtime, never the process entries (``hooks.dispatch``,
  ``python -m hooks``) nor the launcher's old module (``hooks.launcher``: what SessionStart
  exports is :mod:`hooks.shell_env`, which the install tooling uses too).

Imports are read from the source (every ``import``/``from`` statement, also inside
functions), so a lazy import cannot slip through.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str, *, exclude: str | None = None) -> list[Path]:
    paths = sorted((ROOT / folder).rglob("*.py"))
    return [p for p in paths if exclude is None or exclude not in p.relative_to(ROOT).parts]


def _offending(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {}
    for path in paths:
        hits = sorted(name for name in _imports(path)
                      if any(name == f or name.startswith(f + ".") for f in forbidden))
        if hits:
            bad[str(path.relative_to(ROOT))] = hits
    return bad


def test_the_store_knows_neither_hooks_nor_pluggy() -> None:
    assert _offending(_modules("state"), ("hooks", "handlers", "pluggy", "styles")) == {}


def test_the_hooks_runtime_never_imports_the_tooling() -> None:
    runtime = _modules("hooks", exclude="tooling")
    assert runtime, "no runtime modules found"
    assert _offending(runtime, ("hooks.tooling", "orchestra")) == {}


def test_handlers_import_only_the_runtime() -> None:
    entries = ("hooks.dispatch", "hooks.__main__", "hooks.launcher")
    assert _offending(_modules("handlers"), ("hooks.tooling", "orchestra", *entries)) == {}
