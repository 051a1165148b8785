"""Store observers (state.persistence.observers): found through their entry-point group, the finding
cached under the state root, and a newly installed observer seen at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OBSERVER = """
import json, os

def attach(store, root):
    def seen(key, old, new):
        with open(os.environ["OBSERVED"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps([{name!r}, key]) + "\\n")
    store.subscribe(seen)
"""

SET = ("import sys; from state.state_manager import main\n"
       "code = main(sys.argv[1:])\n"
       "print('importlib.metadata' in sys.modules)\n"
       "raise SystemExit(code)")


def _install(site: Path, name: str) -> None:
    """A distribution whose ``orchestra.store_observers`` entry point is ``name``."""
    (site / f"{name}.py").write_text(OBSERVER.format(name=name), encoding="utf-8")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[orchestra.store_observers]\n{name} = {name}:attach\n", encoding="utf-8")


class CliSet:
    """``state_manager set`` in a new process with ``site`` on its path."""

    def __init__(self, session: str, env: dict[str, str], tmp_path: Path) -> None:
        self.session, self.tmp = session, tmp_path
        self.site = tmp_path / "site"
        self.site.mkdir()
        self.observed = tmp_path / "observed.jsonl"
        self.env = dict(env, OBSERVED=str(self.observed),
                        PYTHONPATH=os.pathsep.join((str(self.site), env["PYTHONPATH"])))
        self.runs = 0

    def __call__(self, *, script: bool = False) -> tuple[list[str], bool]:
        """(the observers that saw the change, whether importlib.metadata was imported);
        ``script``: run as a console script, from a folder of its own, not ``-c``."""
        self.observed.unlink(missing_ok=True)
        self.runs += 1
        command = [sys.executable, "-c", SET]
        if script:
            folder = self.tmp / "bin"
            folder.mkdir(exist_ok=True)
            (folder / "state-manager").write_text(SET, encoding="utf-8")
            command = [sys.executable, str(folder / "state-manager")]
        done = subprocess.run([*command, "set", self.session, "mode",
                               f"m{self.runs}"], env=self.env, cwd=self.tmp,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        lines = self.observed.read_text().splitlines() if self.observed.exists() else []
        names = [name for name, key in map(json.loads, lines)
                 if key == f"sessions/{self.session}/state.json"]
        return names, done.stdout.splitlines()[-1] == "True"


@pytest.fixture
def cli_set(session: str, subprocess_env: dict[str, str], tmp_path: Path) -> CliSet:
    return CliSet(session, subprocess_env, tmp_path)


@pytest.mark.slow
def test_the_scan_is_cached_and_an_installed_observer_is_seen(cli_set: CliSet, home: Path) -> None:
    _install(cli_set.site, "watcher_one")
    assert cli_set() == (["watcher_one"], True)  # scanned, then cached
    assert cli_set() == (["watcher_one"], False)  # from the cache: no importlib.metadata
    assert list((home / "cache").glob("observers-*.json"))
    _install(cli_set.site, "watcher_two")  # a new distribution changes its folder's mtime
    assert cli_set() == (["watcher_one", "watcher_two"], True)
    assert cli_set() == (["watcher_one", "watcher_two"], False)
    assert cli_set(script=True) == (["watcher_one", "watcher_two"], False)  # the same cache


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["[]", "{", '{"fingerprint": [], "entry_points": 3}', "link"])
def test_a_damaged_or_symlinked_cache_is_scanned_again(cli_set: CliSet, home: Path,
                                                       tmp_path: Path, damage: str) -> None:
    _install(cli_set.site, "watcher_one")
    assert cli_set() == (["watcher_one"], True)
    (cache,) = (home / "cache").glob("observers-*.json")
    if damage == "link":
        elsewhere = tmp_path / "elsewhere.json"
        elsewhere.write_text(cache.read_text())
        cache.unlink()
        cache.symlink_to(elsewhere)
    else:
        cache.write_text(damage)
    assert cli_set() == (["watcher_one"], True)
    assert not cache.is_symlink()
    assert cli_set() == (["watcher_one"], False)
