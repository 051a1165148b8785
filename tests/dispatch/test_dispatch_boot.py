"""The registered command (issue 27): Python started without ``site`` (``-S``), Orchestra's
folder on ``sys.path`` from the command's last argument (:mod:`hooks.boot`).

Third-party plugins are still found through entry points and run for their events: the
table is built with ``site`` loaded, and a plugin's module is imported after ``site`` has
run (observed through a ``.pth`` file of the environment's own site-packages, which only
``site`` reads). An event that only Orchestra's handlers need never loads ``site``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path
from typing import Any

import pytest

from hooks.boot import BOOT_CODE

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "payloads"
PTH_MARK = "ORCHESTRA-TEST-PTH-RAN"

PLUGIN = """
    from hooks import hookimpl

    @hookimpl(tools=["Write"])
    def on_pre_tool_use(event):
        import orchestra_test_dep  # found through the environment's .pth, like any package
        return {"hookSpecificOutput": {"additionalContext": orchestra_test_dep.TEXT}}
"""


def _payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A virtualenv (no pip) whose site-packages names, in a ``.pth`` file, this checkout's
    dependencies and a folder with a plugin (an installed distribution) and the package it
    imports; the ``.pth`` also prints a mark when ``site`` reads it."""
    root = tmp_path_factory.mktemp("boot")
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root / "venv")
    python = root / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    plugins = root / "plugins"
    package = plugins / "orchestra_test_late"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    (plugins / "orchestra_test_dep").mkdir()  # a package: its __pycache__ goes inside it,
    (plugins / "orchestra_test_dep" / "__init__.py").write_text(  # the folder's mtime stays
        'TEXT = "the late plugin ran"\n', encoding="utf-8")
    info = plugins / "orchestra_test_late-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: orchestra-test-late\n"
                                   "Version: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[orchestra]\nlate = orchestra_test_late\n",
                                           encoding="utf-8")
    deps = sysconfig.get_paths()["purelib"]
    Path(purelib, "orchestra-test.pth").write_text(
        f"{deps}\n{plugins}\nimport sys; sys.stderr.write('{PTH_MARK}\\n')\n",
        encoding="utf-8")
    home = root / "home"
    home.mkdir()
    cwd = root / "cwd"
    cwd.mkdir()
    return {"python": python, "home": home, "cwd": cwd}


def _boot(environment: dict[str, Path], stdin: bytes,
          *flags: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "PYTHON", "CLAUDE_"))}
    env["ORCHESTRA_HOME"] = str(environment["home"])
    argv = [str(environment["python"]), *flags, "-S", "-P", "-c", BOOT_CODE, str(REPO)]
    return subprocess.run(argv, input=stdin, env=env, cwd=environment["cwd"],
                          capture_output=True, timeout=120, check=False)


def _context(done: subprocess.CompletedProcess[bytes]) -> str:
    reply: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
    return str(reply.get("hookSpecificOutput", {}).get("additionalContext", ""))


def test_a_plugin_is_found_and_runs_with_site_loaded_only_for_it(
        environment: dict[str, Path]) -> None:
    write, bash = _payload("PreToolUse.Write"), _payload("PreToolUse.Bash")
    first = _boot(environment, write)  # builds the table: site, pluggy, entry points
    assert first.returncode == 0, first.stderr.decode()
    assert "the late plugin ran" in _context(first)
    assert PTH_MARK in first.stderr.decode()
    # the table is cached now: an event only Orchestra's handlers need loads no site...
    done = _boot(environment, bash, "-X", "importtime")
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode()
    assert PTH_MARK not in err and "the late plugin ran" not in _context(done)
    for module in ("site", "pluggy", "orchestra_test_late", "json", "re", "runpy"):
        assert f"| {module}\n" not in err.replace(" " * 2, " "), module
    # ... and the plugin's event loads site first, then the plugin and what it imports
    again = _boot(environment, write, "-X", "importtime")
    assert again.returncode == 0, again.stderr.decode()
    assert PTH_MARK in again.stderr.decode()
    assert "the late plugin ran" in _context(again)
    assert "pluggy" not in again.stderr.decode()  # the cached table was used


def test_python_m_hooks_dispatch_shares_the_table_cache(environment: dict[str, Path]) -> None:
    """With site (``python -m hooks.dispatch``) and without it (the registered command),
    the same cache: neither rebuilds it for the other."""
    write = _payload("PreToolUse.Write")
    assert _boot(environment, write).returncode == 0
    [cache] = (environment["home"] / "cache").glob("dispatch-*.json")
    before = cache.stat().st_mtime_ns
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "PYTHON", "CLAUDE_"))}
    env.update(ORCHESTRA_HOME=str(environment["home"]), PYTHONPATH=str(REPO))
    done = subprocess.run([str(environment["python"]), "-P", "-m", "hooks.dispatch"],
                          input=write, env=env, cwd=environment["cwd"], capture_output=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert "the late plugin ran" in _context(done)
    assert _boot(environment, write).returncode == 0
    assert cache.stat().st_mtime_ns == before


def test_a_missing_third_party_module_is_looked_for_again_with_site(
        environment: dict[str, Path]) -> None:
    """Any import of a non-standard module the -S start cannot find runs site first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CLAUDE_"))}
    code = (BOOT_CODE.split(";from ")[0] + ";from hooks.boot import SiteOnDemand;"
            "sys.meta_path.append(SiteOnDemand);import orchestra_test_dep;"
            "print(orchestra_test_dep.TEXT)")
    done = subprocess.run([str(environment["python"]), "-S", "-P", "-c", code, str(REPO)],
                          env=env, cwd=environment["cwd"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "the late plugin ran" and PTH_MARK in done.stderr
    probe = ("import sys;sys.path.append(sys.argv.pop(1));from hooks.boot import SiteOnDemand;"
             "sys.meta_path.append(SiteOnDemand)\ntry:\n import _no_such_stdlib_probe\n"
             "except ImportError: pass\nprint(SiteOnDemand.done)")
    done = subprocess.run([str(environment["python"]), "-S", "-P", "-c", probe, str(REPO)],
                          env=env, cwd=environment["cwd"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.stdout.strip() == "True"  # not a standard module name: site was run
    probe = probe.replace("_no_such_stdlib_probe", "_sha256" if sys.version_info < (3, 12)
                          else "_sha2")  # a standard module's name: a probe, not a package
    done = subprocess.run([str(environment["python"]), "-S", "-P", "-c", probe, str(REPO)],
                          env=env, cwd=environment["cwd"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.stdout.strip() == "False" and PTH_MARK not in done.stderr


def test_the_dispatcher_leaves_an_event_no_enabled_handler_needs(
        dispatch_cli: Any, home: Path, payload: Any) -> None:
    """Plugin mode registers every event: one that no enabled handler needs (here: the
    event log does not cover it) is left at once: nothing recorded, no reply."""
    (home / "config.json").write_text(json.dumps({"event_log": {"events": ["Stop"]}}),
                                      encoding="utf-8")
    loaded = payload("InstructionsLoaded.session_start.json")
    done = dispatch_cli(loaded)
    assert done.code == 0 and done.out == ""
    assert not (home / "sessions" / loaded["session_id"]).exists()
    stop = payload("Stop.json")
    assert dispatch_cli(stop).code == 0
    assert (home / "sessions" / stop["session_id"] / "events.jsonl").exists()
    # by default the log covers every event: it is dispatched and logged
    (home / "config.json").write_text("{}", encoding="utf-8")
    assert dispatch_cli(loaded).code == 0
    log = home / "sessions" / loaded["session_id"] / "events.jsonl"
    assert '"event":"InstructionsLoaded"' in log.read_text(encoding="utf-8")


def test_a_session_switch_can_leave_an_event_too(dispatch_cli: Any, home: Path,
                                                 payload: Any) -> None:
    """The event log switched off for one session: its InstructionsLoaded (which only the
    log needs) is left; another session's is logged."""
    loaded = payload("InstructionsLoaded.session_start.json")
    sid = loaded["session_id"]
    (home / "switches.json").write_text(json.dumps({"sessions": {sid: {"eventlog": False}}}),
                                        encoding="utf-8")
    assert dispatch_cli(loaded).code == 0
    assert not (home / "sessions" / sid).exists()
    other = dict(loaded, session_id="another-session-0001")
    assert dispatch_cli(other).code == 0
    assert (home / "sessions" / "another-session-0001" / "events.jsonl").exists()
