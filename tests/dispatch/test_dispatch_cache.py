"""The dispatch-table cache: used when valid, rebuilt when plugins or their settings change.

"Used" is observed from outside: the cache file is not rewritten, and the process never
imports pluggy (``python -X importtime`` lists every module imported). "Rebuilt" is
observed through behaviour: a plugin installed, changed, fixed, disabled or removed after
the cache was written is seen on the very next event.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Payload = Callable[[str], dict[str, Any]]

CONTEXT = """
    from hooks import hookimpl

    @hookimpl
    def on_pre_tool_use(event):
        return {{"hookSpecificOutput": {{"additionalContext": "{text}"}}}}
"""


def _imported(proc: Any, module: str) -> bool:
    return re.search(rf"\|\s+{re.escape(module)}$", proc.err, re.MULTILINE) is not None


def _cache_files(home: Path) -> list[Path]:
    return sorted((home / "cache").glob("dispatch-*.json"))


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


@pytest.fixture
def run(dispatch_cli: Callable[..., Any], plugin_path: Path,
        payload: Payload) -> Callable[..., Any]:
    """Dispatch PreToolUse with the test plugin folder on the path, under -X importtime."""
    event = payload("PreToolUse.Bash.json")

    def go(**env: str) -> Any:
        result = dispatch_cli(event, paths=[plugin_path], flags=["-X", "importtime"], **env)
        assert result.code == 0, result.err
        return result

    return go


def _context(result: Any) -> str:
    return str((result.reply or {}).get("hookSpecificOutput", {}).get("additionalContext", ""))


def test_second_run_uses_the_cache(run: Callable[..., Any], home: Path,
                                   make_plugin: Callable[..., Path]) -> None:
    make_plugin("alpha", CONTEXT.format(text="alpha v1"))
    first = run()
    assert _imported(first, "pluggy")  # the table was built
    [cache] = _cache_files(home)
    data = json.loads(cache.read_text())
    assert "alpha" in {p["name"] for p in data["plugins"]}
    before = _stamp(cache)

    second = run()
    assert "[alpha] alpha v1" in _context(second)
    assert not _imported(second, "pluggy")  # the hot path never builds the registry
    assert not _imported(second, "pydantic")
    assert _stamp(cache) == before  # and did not rewrite the cache


def test_plugin_installed_afterwards_is_picked_up(
    run: Callable[..., Any], home: Path, make_plugin: Callable[..., Path],
) -> None:
    make_plugin("alpha", CONTEXT.format(text="alpha v1"))
    run()
    assert not _imported(run(), "pluggy")
    make_plugin("beta", CONTEXT.format(text="beta arrived"))  # "pip install" after the cache
    third = run()
    assert _imported(third, "pluggy")
    assert "[beta] beta arrived" in _context(third)
    assert not _imported(run(), "pluggy")  # and the new table is cached again


def test_plugin_removed_afterwards_is_dropped(
    run: Callable[..., Any], plugin_path: Path, make_plugin: Callable[..., Path],
) -> None:
    make_plugin("alpha", CONTEXT.format(text="alpha v1"))
    make_plugin("beta", CONTEXT.format(text="beta"))
    assert "[alpha]" in _context(run())
    shutil.rmtree(plugin_path / "orchestra_test_alpha")  # "pip uninstall"
    shutil.rmtree(plugin_path / "orchestra_test_alpha-1.0.dist-info")
    after = run()
    assert "[alpha]" not in _context(after) and "[beta]" in _context(after)
    assert "alpha" not in after.err.lower().replace("orchestra_test_alpha", "")


def test_edited_plugin_module_is_picked_up(
    run: Callable[..., Any], plugin_path: Path, make_plugin: Callable[..., Path],
) -> None:
    make_plugin("alpha", CONTEXT.format(text="alpha v1"))
    assert "alpha v1" in _context(run())
    source = plugin_path / "orchestra_test_alpha" / "__init__.py"
    source.write_text(source.read_text().replace("alpha v1", "alpha version 2"))
    assert "alpha version 2" in _context(run())


def test_fixed_broken_plugin_is_picked_up(
    run: Callable[..., Any], plugin_path: Path, make_plugin: Callable[..., Path], home: Path,
) -> None:
    """Regression: the cache did not watch the file of a plugin that failed to import."""
    make_plugin("alpha", "import orchestra_no_such_module\n")
    assert "[alpha]" not in _context(run())
    assert not _imported(run(), "pluggy")  # the failure is cached too...
    source = plugin_path / "orchestra_test_alpha" / "__init__.py"
    source.write_text(CONTEXT.format(text="fixed now").replace("\n    ", "\n"))
    assert "[alpha] fixed now" in _context(run())  # ...until the plugin is fixed


def test_config_block_list_invalidates_the_cache(
    run: Callable[..., Any], home: Path, make_plugin: Callable[..., Path],
) -> None:
    make_plugin("alpha", CONTEXT.format(text="alpha v1"))
    assert "[alpha]" in _context(run())
    (home / "config.json").write_text(json.dumps({"plugins": {"disabled": ["alpha"]}}))
    blocked = run()
    assert _imported(blocked, "pluggy")
    assert "[alpha]" not in _context(blocked)
    (home / "config.json").write_text(json.dumps({"plugins": {"disabled": []}}))
    assert "[alpha]" in _context(run())


def test_environment_lists_invalidate_the_cache(
    run: Callable[..., Any], make_plugin: Callable[..., Path],
) -> None:
    make_plugin("alpha", CONTEXT.format(text="alpha v1"))
    assert "[alpha]" in _context(run())
    assert "[alpha]" not in _context(run(ORCHESTRA_DISABLED_PLUGINS="alpha"))
    assert "[alpha]" not in _context(run(ORCHESTRA_LOAD_PLUGINS=""))
    assert "[alpha]" in _context(run(ORCHESTRA_LOAD_PLUGINS="alpha"))
    assert "[alpha]" in _context(run())


def test_corrupt_cache_is_rebuilt(run: Callable[..., Any], home: Path,
                                  make_plugin: Callable[..., Path]) -> None:
    make_plugin("alpha", CONTEXT.format(text="alpha v1"))
    run()
    [cache] = _cache_files(home)
    for junk in ("{not json", "[]", json.dumps({"fingerprint": 3}), ""):
        cache.write_text(junk)
        result = run()
        assert "[alpha] alpha v1" in _context(result)
        assert json.loads(cache.read_text())["calls"], junk


def test_no_cache_variable_builds_every_time(run: Callable[..., Any], home: Path,
                                            make_plugin: Callable[..., Path]) -> None:
    make_plugin("alpha", CONTEXT.format(text="alpha v1"))
    for _ in range(2):
        assert _imported(run(ORCHESTRA_NO_CACHE="1"), "pluggy")
    assert _cache_files(home) == []


def test_working_directory_is_not_scanned(
    dispatch_cli: Callable[..., Any], workdir: Path, payload: Payload,
    make_plugin: Callable[..., Path],
) -> None:
    """A project folder that happens to hold a dist-info is not a plugin source."""
    make_plugin("sneaky", CONTEXT.format(text="from the cwd"), root=workdir)
    result = dispatch_cli(payload("PreToolUse.Bash.json"))
    assert "sneaky" not in result.out


def test_the_dispatcher_and_a_console_script_share_the_cache(
        run: Callable[..., Any], dispatch_cli: Callable[..., Any], plugin_path: Path,
        payload: Payload, home: Path, tmp_path: Path, workdir: Path,
        env_for: Callable[..., dict[str, str]]) -> None:
    """Python puts a console script's own folder first on ``sys.path``, ``-P`` puts nothing
    there: neither may make the other rebuild the table (``orchestra set`` between two
    hook events did, twice)."""
    import subprocess
    import sys

    event = json.dumps(payload("PreToolUse.Bash.json")).encode()
    assert dispatch_cli(event, paths=[plugin_path], flags=["-P"]).code == 0  # builds
    (cache,) = _cache_files(home)
    before = _stamp(cache)
    scripts = tmp_path / "bin"  # as pip writes a console script, in a folder of its own
    scripts.mkdir()
    (scripts / "orchestra-dispatch").write_text(
        "import sys\nfrom hooks.dispatch import run\nsys.exit(run())\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-X", "importtime", str(scripts / "orchestra-dispatch")],
                          input=event, env=env_for([plugin_path]), cwd=workdir,
                          capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not re.search(rb"\|\s+pluggy$", done.stderr, re.MULTILINE)  # the cache was used
    assert not _imported(run(), "pluggy")  # and python -m, from the working directory
    assert _stamp(cache) == before
