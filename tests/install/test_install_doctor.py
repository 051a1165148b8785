"""doctor: a healthy install passes; duplicates, dead interpreters, broken modules, disabled
hooks, orphan temp files, held locks and plugin errors are found, each with a fix. Also: the
registered command works from a folder holding a decoy ``hooks/`` package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hooks.tooling import registration
from hooks.tooling.doctor import diagnose
from hooks.tooling.doctor_state import find_orphans

DECOY_INIT = "raise SystemExit('decoy hooks package imported')\n"


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _registered(python: str) -> dict[str, Any]:
    return registration.template(python)


def _fails(findings: list[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in findings:
        if f.level == "fail":
            out.setdefault(f.check, []).append(f.message)
    return out


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_healthy_install_passes(cli: Any, env: Any) -> None:
    assert cli("install").code == 0
    result = cli("doctor")
    assert result.code == 0, result.out
    assert "0 problem(s)" in result.out
    for check in ("registration", "command", "latency", "state root", "plugins",
                  "disableAllHooks"):
        assert f"ok    {check}" in result.out
    assert "works from another folder (with a decoy hooks/ there)" in result.out
    assert json.loads(cli("doctor", "--json").out)[0]["level"] == "ok"


def test_not_registered_is_broken(cli: Any) -> None:
    result = cli("doctor")
    assert result.code == 1
    assert "FAIL  registration     Orchestra is not registered" in result.out
    assert "fix: python -m hooks install" in result.out


def test_plugin_mode_needs_no_settings_and_refuses_a_second_registration(
        cli: Any, env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run through the plugin launcher (which sets ORCHESTRA_PLUGIN_ROOT), doctor accepts
    the plugin's own registration, and fails a settings registration beside it."""
    monkeypatch.setenv("ORCHESTRA_PLUGIN_ROOT", "/plugins/orchestra")
    result = cli("doctor")
    assert "FAIL  registration" not in result.out
    assert "ok    registration     plugin: /plugins/orchestra registers Orchestra" in result.out
    assert cli("install").code == 0
    result = cli("doctor")
    assert result.code == 1
    assert "Orchestra runs as a plugin and is also registered in user settings" in result.out
    assert "fix: orchestra uninstall --scope user" in result.out


def test_duplicate_registration_is_found(cli: Any, env: Any, other_python: str) -> None:
    assert cli("install").code == 0
    assert cli("install", "--scope", "project", "--python", other_python).code == 0
    result = cli("doctor")
    assert result.code == 1
    assert "FAIL  duplicates" in result.out
    assert "registered with different commands" in result.out
    assert "fix: keep one scope: python -m hooks uninstall --scope <other>" in result.out


def test_twice_in_one_file_and_lookalikes(env: Any) -> None:
    data = _registered(sys.executable)
    data["hooks"]["Stop"].append({"hooks": [dict(data["hooks"]["Stop"][0]["hooks"][0])]})
    data["hooks"]["PreToolUse"].append(
        {"hooks": [{"type": "command", "command": "python3 -m hooks.dispatch"}]})
    _write(env.user_settings, data)
    fails = _fails(diagnose(None, str(env.state), probe=False))
    assert any("more than once for Stop" in m for m in fails["duplicates"])
    assert any("PreToolUse runs 'python3 -m hooks.dispatch'" in m and "twice" in m
               for m in fails["duplicates"])


def test_dead_interpreter_is_found(cli: Any, env: Any, tmp_path: Path) -> None:
    _write(env.user_settings, _registered(str(tmp_path / "removed venv" / "bin" / "python")))
    result = cli("doctor")
    assert result.code == 1
    assert "FAIL  interpreter" in result.out and "does not exist any more" in result.out
    assert "fix: python -m hooks install --scope user" in result.out


def test_relative_interpreter_is_found(env: Any) -> None:
    data = _registered(sys.executable)
    data["hooks"]["Stop"][0]["hooks"][0]["command"] = "python3 -P -m hooks.dispatch"
    _write(env.user_settings, data)
    fails = _fails(diagnose(None, str(env.state), probe=False))
    assert any("from PATH" in m for m in fails["interpreter"])
    assert "duplicates" not in fails  # one command per event, even if two in the file


def test_interpreter_without_orchestra_is_found(env: Any, broken_python: str) -> None:
    _write(env.local_settings, _registered(broken_python))
    fails = _fails(diagnose(None, str(env.state)))
    assert "cannot import Orchestra" in fails["module"][0]


def test_settings_that_are_not_json_are_reported(env: Any) -> None:
    env.project_settings.parent.mkdir()
    env.project_settings.write_text("{oops", encoding="utf-8")
    fails = _fails(diagnose(None, str(env.state), probe=False))
    assert "not valid JSON" in fails["settings"][0]


def test_disable_all_hooks(env: Any) -> None:
    _write(env.user_settings, {**_registered(sys.executable), "disableAllHooks": True})
    fails = _fails(diagnose(None, str(env.state), probe=False))
    assert fails["disableAllHooks"] == ["user settings set disableAllHooks: true"]
    _write(env.local_settings, {"disableAllHooks": False})  # the local file wins
    findings = diagnose(None, str(env.state), probe=False)
    assert "disableAllHooks" not in _fails(findings)
    assert any(f.check == "disableAllHooks" and f.level == "warn" for f in findings)


@pytest.mark.skipif(os.name == "nt", reason="POSIX pids and modes")
def test_orphan_temp_files_and_fix(cli: Any, env: Any) -> None:
    folder = env.state / "sessions" / "s1"
    folder.mkdir(parents=True, mode=0o700)
    env.state.chmod(0o700)
    orphan = folder / f".state.json.{_dead_pid()}.0a1b2c3d.tmp"
    cache = env.state / f"dispatch-abc.json.{_dead_pid()}.tmp"
    live = folder / f".tasks.json.{os.getpid()}.deadbeef.tmp"
    for path in (orphan, cache, live):
        path.write_text("{}", encoding="utf-8")
        path.chmod(0o600)
    assert set(find_orphans(str(env.state))) == {orphan, cache}
    assert cli("install").code == 0
    result = cli("doctor")
    assert result.code == 0  # a warning, not a failure
    assert "warn  temp files       2 orphan temp file(s)" in result.out
    assert "fix: python -m hooks doctor --fix removes them" in result.out
    fixed = cli("doctor", "--fix")
    assert "removed 2 of 2 orphan temp file(s)" in fixed.out
    assert not orphan.exists() and not cache.exists() and live.exists()


@pytest.mark.skipif(os.name == "nt", reason="POSIX locks and modes")
def test_state_root_permissions_and_held_locks(env: Any) -> None:
    import fcntl

    env.state.mkdir(mode=0o755)
    env.state.chmod(0o755)
    lock = env.state / "config.json.lock"
    lock.write_text("", encoding="utf-8")
    with open(lock, "rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        findings = diagnose(None, str(env.state), probe=False)
    warned = [(f.check, f.message, f.fix) for f in findings if f.level == "warn"]
    assert ("permissions", f"{env.state} has mode 755: other users can read session state",
            f"chmod 700 {env.state}") in warned
    assert any(c == "locks" and "1 lock(s) held right now" in m for c, m, _ in warned)
    after = {f.check: f.level for f in diagnose(None, str(env.state), probe=False)}
    assert after["locks"] == "ok"


def test_unwritable_state_root(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod cannot stop root (CI runs as root), so the refusal is simulated at the call
    # doctor makes to probe the folder.
    import tempfile

    env.state.mkdir()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    fails = _fails(diagnose(None, str(env.state), probe=False))
    assert "not writable" in fails["state root"][0]


def test_plugin_load_errors(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hooks import registry

    real = registry.build_table

    def broken(home: str, extra: Any = ()) -> Any:
        table = real(home, extra)
        table.plugins.append({"name": "badplug", "source": "entry point", "status": "error",
                              "error": "ImportError: no module named badplug_impl"})
        return table

    monkeypatch.setattr(registry, "build_table", broken)
    findings = [f for f in diagnose(None, str(env.state), probe=False) if f.check == "plugins"]
    assert findings[0].level == "fail"
    assert "badplug" in findings[0].message and "ORCHESTRA_DISABLED_PLUGINS=badplug" in (
        findings[0].fix or "")


def test_recording_is_reported(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_RECORD", str(env.state / "rec.jsonl"))
    findings = diagnose(None, str(env.state), probe=False)
    assert any(f.check == "record" and f.level == "warn" for f in findings)


def test_registered_command_works_from_a_folder_with_a_decoy_hooks_package(
        cli: Any, env: Any, tmp_path: Path, payload: Any) -> None:
    """Run as Claude Code runs an exec-form handler: the command and its args, no shell."""
    assert cli("install").code == 0
    settings = json.loads(env.user_settings.read_text("utf-8"))
    entry = settings["hooks"]["Notification"][0]["hooks"][0]
    argv = [entry["command"], *entry["args"]]
    elsewhere = tmp_path / "some user project" / "sub"
    (elsewhere / "hooks").mkdir(parents=True)
    (elsewhere / "hooks" / "__init__.py").write_text(DECOY_INIT, encoding="utf-8")
    (elsewhere / "hooks" / "dispatch.py").write_text(DECOY_INIT, encoding="utf-8")
    event = json.dumps(payload("Notification.elicitation_response")) + "\n"
    run_env = {**os.environ, "ORCHESTRA_HOME": str(tmp_path / "probe state")}
    proc = subprocess.run(argv, cwd=elsewhere, input=event, text=True,
                          capture_output=True, env=run_env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "decoy" not in proc.stderr
    assert (tmp_path / "probe state" / "sessions").is_dir()
    # the decoy is real: without -P the same interpreter imports it and fails
    bare = [a for a in argv if a != "-P"]
    proc = subprocess.run(bare, cwd=elsewhere, input=event, text=True,
                          capture_output=True, env=run_env, timeout=60)
    assert proc.returncode != 0 and "decoy hooks package imported" in proc.stderr


def test_same_command_in_two_scopes_is_only_a_warning(cli: Any, env: Any) -> None:
    assert cli("install").code == 0
    assert cli("install", "--scope", "local").code == 0
    findings = diagnose(None, str(env.state), probe=False)
    assert "duplicates" not in _fails(findings)
    assert any(f.check == "duplicates" and f.level == "warn" and "several scopes" in f.message
               for f in findings)
