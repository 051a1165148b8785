"""The imports that plugins and docs use keep working, whatever module now holds the code.

Public are the names the README, ``docs/``, ``bench/README.md`` and the plugin authors'
helpers (``hooks/testing.py``) give: listed in :data:`PUBLIC` and imported one by one here;
the docs are also scanned, so that a name they start to give is checked too. The seed's
commands (``python -m state.state_manager`` ...) and the console scripts run.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What the docs name, as (module, attribute or None). A third party may rely on each.
PUBLIC = [
    ("state.storage", "LARGE_DOCUMENT"),  # README: the large-document size
    ("state.storage", "MAX_DEPTH"),  # README, docs/reliability.md
    ("state.storage", "Storage"),
    ("state.storage", "MemoryStorage"),
    ("state.storage", "same_json"),  # docs/reliability.md
    ("state.storage", "encode_document"),
    ("state.filestore", "FileStorage"),
    ("state.paths", "make_private_dirs"),  # docs/reliability.md
    ("state.paths", "session_key"),
    ("state.paths", "project_key"),
    ("state.paths", "validate_id"),
    ("state.paths", "home"),
    ("state.store", "open_store"),  # bench/store.py, plugins
    ("state.process", "run_process"),  # bench/README.md
    ("state.documents", "validate_document"),  # docs/reliability.md
    ("state.session_rules", "fits_document"),  # bench/README.md
    ("state.query", "to_postgres_jsonpath"),  # docs/postgres.md
    ("state.query", "jsonpath_query"),
    ("state.names", None),  # README
    ("state.messages", "pending_counts"),  # bench/README.md
    ("state.sessions", "session_summary"),  # README
    ("state.jsonpath", "to_postgres"),  # README
    ("state.jsonpath", "evaluate"),  # bench/README.md
    ("state.cli", "CliParser"),  # bench/README.md
    ("state.cli", "UsageError"),
    ("state.cli", "Front"),
    ("state.ids", "resolve_session_id"),
    ("state.persistence.spans", "LaidOut"),  # README: one member read in the bytes
    ("state.persistence.storage", "DocumentRules"),  # state/README.md: the storage layer
    ("state.persistence", "open_backend"),
    ("state.store", "RULES"),
    ("state.in_place", "get_in_place"),
    ("state.migrate", "main"),  # docs/postgres.md: python -m state.migrate
    ("state.state_manager", "main"),
    ("state.session_manager", "main"),
    ("state.shared_state", "main"),
    ("hooks.testing", "run_dispatch"),  # README: writing a plugin
    ("hooks.runner", "HandlerOverrun"),  # bench/README.md: a built-in handler's limit
    ("hooks.boot", "ModuleBundle"),  # docs/install.md, bench/README.md: the module bundle
    ("hooks.boot", "bundle_path"),
    ("hooks.bundle", "save_bundle"),
    ("state.claims", "CHECKPOINT_BYTES"),  # bench/README.md: the claims log's checkpoint
    ("state.persistence.storage", "assemble_log"),
]

DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", ROOT / "hooks" / "testing.py",
        *sorted((ROOT / "docs").glob("*.md"))]


def _resolve(dotted: str) -> Any:
    """``a.b.c``: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr)
        return value
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize(("module", "name"), PUBLIC, ids=lambda v: str(v))
def test_a_public_import_works(module: str, name: str | None) -> None:
    imported = importlib.import_module(module)
    if name is not None:
        assert getattr(imported, name) is not None


def _named_in_docs() -> set[str]:
    names = set()
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for span in re.findall(r"`([^`\n]+)`", text):
            for found in re.findall(r"(?<![\w/.])(state(?:\.[A-Za-z_]\w*)+)(?:\(\))?", span):
                if found.split(".")[1] not in ("json", "jsonl"):
                    names.add(found)
        names.update(re.findall(r"python3? -m (state(?:\.\w+)+)", text))
        names.update(f"{m}.{n}" for m, n in re.findall(r"from (state[\w.]*) import (\w+)",
                                                        text))
    return names


def test_every_name_the_docs_give_resolves() -> None:
    names = _named_in_docs()
    assert {"state.storage.LARGE_DOCUMENT", "state.state_manager", "state.migrate"} <= names
    broken = []
    for name in sorted(names):
        try:
            _resolve(name)
        except (ImportError, AttributeError) as exc:
            broken.append(f"{name}: {exc}")
    assert broken == []


def test_old_names_are_the_new_homes_objects() -> None:
    """A module kept under its old name hands out the very objects of its new home (a
    plugin's ``isinstance`` and monkeypatching keep working)."""
    from state import filestore, storage

    new_storage = importlib.import_module(storage.Storage.__module__)
    new_filestore = importlib.import_module(filestore.FileStorage.__module__)
    for old, new in ((storage, new_storage), (filestore, new_filestore)):
        shared = [n for n in getattr(new, "__all__", ()) if hasattr(old, n)]
        assert shared == list(new.__all__)
        assert all(getattr(old, n) is getattr(new, n) for n in shared)


def test_the_console_scripts_resolve() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"state-manager", "session-manager", "shared-state"} <= set(scripts)
    for target in scripts.values():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))


@pytest.mark.parametrize("cli", ["state.state_manager", "state.session_manager",
                                 "state.shared_state", "state.migrate"])
def test_the_seeds_commands_run(cli: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    env["ORCHESTRA_HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", cli, "--help"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
