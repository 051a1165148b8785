"""The package layering: which part of Orchestra may import which.

* ``state`` (the store and its CLIs) imports neither ``hooks`` nor pluggy: code above it
  hears of changes through :mod:`state.persistence.observers`;
* the hooks runtime (everything in ``hooks/`` outside ``hooks/tooling/``) never imports the
  tooling (install, doctor, record, replay);
* ``handlers`` import only the runtime, never the process entries (``hooks.dispatch``,
  ``python -m hooks``) nor the launcher's old module (``hooks.launcher``: what SessionStart
  exports is :mod:`hooks.shell_env`, which the install tooling uses too).

* inside ``state``, each module imports only the layers below its own, as
  ``state/README.md`` maps them (every module has a line there); the storage layer
  (``state/persistence/``, ``state/postgres/``) imports nothing of the domain; and no
  modules of ``state`` import each other in a circle.

Imports are read from the source (every ``import``/``from`` statement, also inside
functions and under ``TYPE_CHECKING``), so a lazy import cannot slip through.
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


# -- the layers of state/ (state/README.md) -------------------------------------------------
#
# state/README.md maps every module of state/ to its layer; these tests read that map, so
# the map and the code cannot drift apart: a module missing from it (or a line naming no
# module) fails, and so does an import that goes up a layer. Imports are read from the
# source, also inside functions and under TYPE_CHECKING: "lazily" is still an import.

STATE = ROOT / "state"

#: Which layers each layer may import (itself included). The storage layer (state's
#: persistence/ and postgres/) knows nothing above it; the query language (jsonpath/) is
#: the domain's, beside it; the CLIs sit on top.
MAY_IMPORT = {
    "base": {"base"},
    "storage": {"base", "storage"},
    "query": {"base", "query"},
    "domain": {"base", "storage", "query", "domain"},
    "cli": {"base", "storage", "query", "domain", "cli"},
}
OLD_NAME = "old name of "


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _state_map() -> dict[str, tuple[str, str]]:
    """{module: (layer, job)} from the table of state/README.md."""
    rows: dict[str, tuple[str, str]] = {}
    for line in (STATE / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`") or not cells[0].endswith(".py`"):
            continue
        module = _module_name(STATE / cells[0].strip("`"))
        assert module not in rows, f"state/README.md names {cells[0]} twice"
        rows[module] = (cells[1], cells[2])
    return rows


def _state_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(STATE.rglob("*.py"))}


def _state_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of state/ that ``path`` imports (``from state import x``, relative
    imports and ``from a.b import c`` where ``c`` is a module all resolved)."""
    me = _module_name(path)
    found: set[str] = set()

    def add(name: str) -> None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != me:
            found.add(name)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = me if path.name == "__init__.py" else me.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                add(f"{base}.{alias.name}")
    return found


def test_the_map_names_every_module_of_state_once() -> None:
    mapped, modules = _state_map(), _state_modules()
    assert sorted(set(modules) - set(mapped)) == [], "modules missing from state/README.md"
    assert sorted(set(mapped) - set(modules)) == [], "state/README.md names missing modules"
    assert {layer for layer, _ in mapped.values()} <= set(MAY_IMPORT)


def test_each_layer_of_state_imports_only_the_layers_below_it() -> None:
    mapped, modules = _state_map(), _state_modules()
    up = {}
    for module, path in modules.items():
        layer = mapped[module][0]
        bad = sorted(f"{name} ({mapped[name][0]})" for name in _state_imports(path, modules)
                     if mapped[name][0] not in MAY_IMPORT[layer])
        if bad:
            up[f"{module} ({layer})"] = bad
    assert up == {}


def test_the_storage_layer_imports_nothing_of_the_domain() -> None:
    """Neither ``state.persistence`` nor the PostgreSQL backend imports a module of the
    domain, the query language or the CLIs — not even inside a function: what the store
    must know of the documents is handed to it where it is opened (state.store.RULES)."""
    mapped, modules = _state_map(), _state_modules()
    storage = [p for m, p in modules.items() if mapped[m][0] == "storage"]
    assert {p.relative_to(STATE).parts[0] for p in storage} >= {"persistence", "postgres"}
    assert all(mapped[m][0] == "storage" for m in modules
               if m.startswith(("state.persistence", "state.postgres")))
    above = tuple(m for m, (layer, _) in mapped.items() if layer not in ("base", "storage"))
    assert _offending(storage, above) == {}
    # and nothing outside state/ that the domain is made of
    assert _offending(storage, ("hooks", "handlers", "styles", "orchestra", "plugins")) == {}


def test_no_module_of_state_imports_a_circle() -> None:
    """No two modules of state/ import each other, however indirectly (imports inside
    functions count: a circle of lazy imports is still two modules that need each
    other)."""
    modules = _state_modules()
    graph = {m: _state_imports(p, modules) for m, p in modules.items()}
    circles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert circles == []


def test_old_names_only_re_export_and_nothing_in_state_uses_them() -> None:
    """A module kept under its old name (``state.persistence.storage`` ...) only re-exports its new
    home, and no module of state/ imports it: the hot path never loads one."""
    mapped, modules = _state_map(), _state_modules()
    old = {m: job for m, (_, job) in mapped.items() if job.lower().startswith(OLD_NAME)}
    for module, job in old.items():
        target = job[len(OLD_NAME):].split("`")[1]
        assert _state_imports(modules[module], modules) == {_module_name(STATE / target)}
    users = {m: sorted(_state_imports(p, modules) & set(old)) for m, p in modules.items()
             if m not in old}
    assert {m: u for m, u in users.items() if u} == {}


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (the graph is small, but recursion is not needed)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        item = stack.pop()
                        on_stack.discard(item)
                        component.append(item)
                        if item == node:
                            break
                    found.append(component)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    """The guard is real: a circle, even through a third module, is found."""
    circles = _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert sorted(sorted(c) for c in circles if len(c) > 1) == [["a", "b", "c"]]
