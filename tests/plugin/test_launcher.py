"""``bin/orchestra``, the plugin launcher, run as Claude Code runs it (a plain PATH): hooks
through the command of ``hooks/hooks.json`` (``/bin/sh -c``, which reads the launcher), the
model's ``orchestra ...`` as a program.

The environment it runs from is faked here with a stamp that names this test's own
interpreter; building a real one (uv or pip) is what tests/e2e/test_e2e_install_modes.py
does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.handlers._support import payload

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "bin" / "orchestra"
SH = shutil.which("sh") or "/bin/sh"
VERSION = next(line.split("=", 1)[1] for line in LAUNCHER.read_text().splitlines()
               if line.startswith("ORCHESTRA_VERSION="))


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A PATH folder with the few programs the launcher uses and a python3 >= 3.11."""
    folder = tmp_path / "tools"
    folder.mkdir()
    for name in ("cat", "sleep"):
        found = shutil.which(name)
        assert found, name
        (folder / name).symlink_to(found)
    (folder / "python3").symlink_to(sys.executable)
    return folder


def launch(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``orchestra ARGS`` as the model's Bash runs it; ``dispatch`` alone is a hook, run as
    Claude Code runs the plugin's hooks (:func:`hook_command`)."""
    if args == ("dispatch",):
        return subprocess.run(hook_command(), input=stdin, env={**PLUGIN_ENV, **env},
                              capture_output=True, text=True, timeout=120)
    return subprocess.run([SH, str(LAUNCHER), *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


#: Claude Code sets CLAUDE_PLUGIN_ROOT for every hook of a plugin.
PLUGIN_ENV = {"CLAUDE_PLUGIN_ROOT": str(REPO)}


def hook_command() -> list[str]:
    """The plugin's hook command as Claude Code runs it: shell form, ``/bin/sh -c``."""
    plugin = json.loads((REPO / "hooks" / "hooks.json").read_text("utf-8"))
    [command] = {h["command"] for groups in plugin["hooks"].values() for g in groups
                 for h in g["hooks"]}
    return ["/bin/sh", "-c", command]


def base_env(tmp_path: Path, tools: Path, **extra: str) -> dict[str, str]:
    return {"PATH": str(tools), "HOME": str(tmp_path / "home"),
            "ORCHESTRA_HOME": str(tmp_path / "state"), **extra}


def make_ready(data: Path, version: str = VERSION, python: str = sys.executable) -> None:
    (data / "venv").mkdir(parents=True)
    (data / "venv" / "orchestra-ready").write_text(f"{version}\n{python}\n{REPO}\n")


def test_a_ready_environment_runs_hooks_and_commands(tmp_path: Path, tools: Path) -> None:
    data = tmp_path / "data"
    make_ready(data)
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data))
    event = payload("SessionStart.startup", "alpha")
    hook = launch("dispatch", env=env, stdin=json.dumps(event))
    assert hook.returncode == 0, hook.stderr
    assert "this is session alpha" in json.loads(hook.stdout)["hookSpecificOutput"][
        "additionalContext"]
    assert (tmp_path / "state" / "sessions" / "alpha" / "state.json").is_file()
    # The model's Bash: no CLAUDE_PLUGIN_* there, only what SessionStart exported.
    bash_env = base_env(tmp_path, tools, ORCHESTRA_PLUGIN_DATA=str(data),
                        CLAUDE_CODE_SESSION_ID="alpha")
    shown = launch("show", env=bash_env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["session_id"] == "alpha"


def test_the_models_bash_finds_the_data_folder_by_the_root_it_was_built_from(
        tmp_path: Path, tools: Path) -> None:
    plugins = tmp_path / "home" / ".claude" / "plugins" / "data"
    (plugins / "orchestra-other").mkdir(parents=True)  # another install, not built from here
    make_ready(plugins / "orchestra-market")
    ran = launch("--version", env=base_env(tmp_path, tools))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("orchestra ")


def test_without_an_environment_hooks_fail_open_and_commands_say_why(
        tmp_path: Path, tools: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # A build failed a moment ago: nothing starts another one (no network in this test).
    (data / "build-state").write_text(f"failed {int(time.time())} pip install exited 1\n")
    env_file = tmp_path / "claude-env"
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data),
                   CLAUDE_ENV_FILE=str(env_file))
    hook = launch("dispatch", env=env, stdin=json.dumps(payload("PreToolUse.Bash")))
    assert (hook.returncode, hook.stdout) == (0, "")
    assert len(hook.stderr.splitlines()) == 1 and "orchestra: skipped" in hook.stderr
    assert f"export ORCHESTRA_PLUGIN_DATA='{data}'" in env_file.read_text()
    assert not (tmp_path / "state").exists()  # nothing ran

    bash_env = base_env(tmp_path, tools, ORCHESTRA_PLUGIN_DATA=str(data))
    said = launch("who", env=bash_env)
    assert said.returncode == 1 and said.stdout == ""
    assert said.stderr.count("\n") == 1 and "could not be built" in said.stderr
    doctor = launch("doctor", env=bash_env)
    assert doctor.returncode == 1
    assert "the last build failed (pip install exited 1)" in doctor.stdout
    assert "fix: check network access to PyPI" in doctor.stdout


def test_an_environment_of_another_version_is_not_used(tmp_path: Path, tools: Path) -> None:
    data = tmp_path / "data"
    make_ready(data, version="0.0.1")
    doctor = launch("doctor", env=base_env(tmp_path, tools, ORCHESTRA_PLUGIN_DATA=str(data)))
    assert doctor.returncode == 1
    assert f"built for version 0.0.1, this plugin is {VERSION}" in doctor.stdout


def test_without_python_311_it_says_what_to_install(tmp_path: Path, tools: Path) -> None:
    (tools / "python3").unlink()
    data = tmp_path / "data"
    env = base_env(tmp_path, tools, ORCHESTRA_PLUGIN_DATA=str(data))
    said = launch("dashboard", env=env)
    assert said.returncode == 1 and said.stderr.count("\n") == 1
    assert "needs Python 3.11 or newer" in said.stderr
    hook = launch("dispatch", env={**env, "CLAUDE_PLUGIN_DATA": str(data)}, stdin="{}")
    assert (hook.returncode, hook.stdout) == (0, "")
    assert "needs Python 3.11 or newer" in hook.stderr


def test_the_bootstrap_uses_the_standard_library_only() -> None:
    """It runs before Orchestra (or anything else) is installed."""
    import ast

    source = (REPO / "hooks" / "tooling" / "bootstrap.py").read_text("utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


@pytest.mark.skipif(os.name == "nt", reason="flock")
def test_a_build_in_progress_is_reported_not_repeated(tmp_path: Path, tools: Path) -> None:
    import fcntl

    data = tmp_path / "data"
    data.mkdir()
    (data / "build-state").write_text(f"building 1 {int(time.time())}\n")
    with open(data / "build.lock", "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another builder is at work
        env = base_env(tmp_path, tools, ORCHESTRA_PLUGIN_DATA=str(data))
        said = launch("inbox", env=env)
        doctor = launch("doctor", env=env)
    assert said.returncode == 1 and "setting up its Python environment" in said.stderr
    assert "being built now" in doctor.stdout
    assert not (data / "venv").exists()  # no second build was started


def _fake_python(tmp_path: Path, body: str) -> Path:
    """A stand-in for the environment's interpreter (a shell script: exec keeps its pid)."""
    fake = tmp_path / "fake-python"
    fake.write_text(f"#!/bin/sh\n{body}\n")
    fake.chmod(0o755)
    return fake


def test_the_hook_command_is_one_process_that_becomes_python(tmp_path: Path,
                                                             tools: Path) -> None:
    """Issue 27: the shell Claude Code starts becomes the interpreter (no fork on the way),
    which gets the settings-mode start: -S -P -c <boot code> <Orchestra's folder>."""
    from hooks.boot import BOOT_CODE

    data = tmp_path / "data"
    fake = _fake_python(tmp_path, 'printf "%s\\n" "$$" "$@"')
    (data / "venv").mkdir(parents=True)
    (data / "venv" / "orchestra-ready").write_text(f"{VERSION}\n{fake}\n{REPO}\n/the/lib\n")
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data))
    proc = subprocess.Popen(hook_command(), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines() == [str(proc.pid), "-S", "-P", "-c", BOOT_CODE, "/the/lib"]


@pytest.mark.skipif(shutil.which("strace") is None or not sys.platform.startswith("linux"),
                    reason="counts execve with strace (Linux; .ci/run installs it)")
def test_the_hook_command_starts_one_shell_then_python(tmp_path: Path, tools: Path) -> None:
    """The shell reads the launcher itself: two programs per hook (the shell, then
    Python), not three (a shell, the launcher's own #!/bin/sh, then Python)."""
    data = tmp_path / "data"
    make_ready(data)
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data))
    trace = tmp_path / "trace"
    done = subprocess.run([str(shutil.which("strace")), "-f", "-qq", "-e", "trace=execve",
                           "-o", str(trace), *hook_command()], env=env,
                          input=json.dumps(payload("PreToolUse.Bash", "one-shell")),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    execs = [line for line in trace.read_text().splitlines()
             if "execve(" in line and "= 0" in line]
    assert len(execs) == 2, execs
    assert '"/bin/sh", "-c"' in execs[0] and sys.executable in execs[1]


def test_a_hook_whose_launcher_cannot_be_read_does_not_block(tmp_path: Path) -> None:
    """A failed ``.`` would end the shell with status 2, which blocks the tool call: the
    hook command turns it into 1, a non-blocking error."""
    root = tmp_path / "not-a-plugin"
    root.mkdir()
    done = subprocess.run(hook_command(), env={"PATH": "/usr/bin:/bin",
                                               "CLAUDE_PLUGIN_ROOT": str(root)},
                          input="{}", capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert "orchestra" in done.stderr


def test_the_launcher_run_as_a_program_dispatches_too(tmp_path: Path, tools: Path) -> None:
    """``bin/orchestra dispatch`` started directly (not read by the hook's shell) works the
    same: $0 names the script, and the plugin root may come from it."""
    data = tmp_path / "data"
    make_ready(data)
    env = base_env(tmp_path, tools, CLAUDE_PLUGIN_DATA=str(data))  # no CLAUDE_PLUGIN_ROOT
    event = payload("SessionStart.startup", "direct")
    done = subprocess.run([str(LAUNCHER), "dispatch"], input=json.dumps(event), env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "this is session direct" in json.loads(done.stdout)["hookSpecificOutput"][
        "additionalContext"]
