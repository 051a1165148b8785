"""``python -m hooks doctor [--project-dir DIR] [--fix] [--json]``: is Orchestra working?

Checks, each reported as ``ok``, ``warn`` or ``FAIL`` with a fix:

* where Orchestra is registered (user, project and local settings; the managed policy
  file is read for ``disableAllHooks``/``allowManagedHooksOnly``), events missing from a
  registration, look-alike entries install does not manage;
* duplicates: an event with two Orchestra handlers in one file, with different commands in
  several files, or with a look-alike next to Orchestra's (the event would run twice);
* every registered command: its interpreter exists, imports Orchestra with ``-P`` from an
  unrelated folder, and the command itself — run through the shell from a temporary cwd
  holding a decoy ``hooks/`` package — dispatches one Notification into a temporary state
  root with exit 0; its latency (cold, then warm) is measured;
* the state root (``ORCHESTRA_HOME``): writable, private, no orphan temp files (``--fix``
  removes those whose writer is dead), no held or symlinked locks; plugin load errors;
* the PostgreSQL store, when ``ORCHESTRA_STORE_URL`` or config ``store.url`` selects it:
  reachable, schema version, round-trip time, journal backlog (never a password);
* ``disableAllHooks`` and ``ORCHESTRA_RECORD``/config ``record``;
* Codex CLI and Gemini CLI where Orchestra is installed for them
  (:mod:`hooks.tooling.doctor_agents`): events, interpreter, Codex trust, Gemini switches;
* in plugin mode (run through the plugin's ``bin/orchestra``, which sets
  ``ORCHESTRA_PLUGIN_ROOT``): the plugin's environment, and no registration in a settings
  file beside the plugin's own (each event would be dispatched twice). Before that
  environment exists the launcher answers ``doctor`` itself
  (:mod:`hooks.tooling.bootstrap`).

Exit code 1 when anything FAILs, else 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from hooks.tooling import registration
from hooks.tooling.cli import CliError, Streams, run
from hooks.tooling.doctor_state import (
    Finding,
    check_locks,
    check_orphans,
    check_plugins,
    check_state_root,
)
from hooks.tooling.settings_file import SCOPES, load, settings_path

if TYPE_CHECKING:
    import argparse

    from state.cli import Front

__all__ = ["Finding", "diagnose", "main"]

SLOW_MS = 1000.0
_MANAGED = {"linux": "/etc/claude-code/managed-settings.json",
            "darwin": "/Library/Application Support/ClaudeCode/managed-settings.json",
            "win32": r"C:\Program Files\ClaudeCode\managed-settings.json"}
_DECOY = 'raise ImportError("a decoy hooks/ package in the cwd was imported")\n'


class Scope:
    """One settings file as doctor sees it (``data`` is ``{}`` when absent or unreadable)."""

    __slots__ = ("data", "name", "path")

    def __init__(self, name: str, path: str, data: dict[str, Any]) -> None:
        self.name = name
        self.path = path
        self.data = data


def read_scopes(project_dir: str | None) -> tuple[list[Scope], list[Finding]]:
    found, scopes = [], []
    for name in SCOPES:
        path = settings_path(name, project_dir)
        try:
            data = load(path).data
        except CliError as exc:
            found.append(Finding("fail", "settings", str(exc), f"fix {path} by hand"))
            data = {}
        scopes.append(Scope(name, str(path), data))
    return scopes, found


def show(entry: dict[str, Any]) -> str:
    """A registered handler's command as one line (exec form: the command and its args)."""
    args = entry.get("args")
    if isinstance(args, list):
        root = registration.root_of(entry)
        python = str(entry.get("command"))
        if root is not None and args == registration.boot_args(root):
            return registration.command_for(python, root)
        return " ".join([python, *(str(a) for a in args)])
    return str(entry.get("command"))


def check_registrations(scopes: list[Scope], plugin_root: str | None = None,
                        home: str | None = None) -> list[Finding]:
    found = []
    commands: dict[str, dict[str, set[str]]] = {}  # event -> command -> scopes
    for s in scopes:
        scope, path, data = s.name, s.path, s.data
        mine = registration.orchestra_handlers(data)
        per_event: dict[str, int] = {}
        for event, entry in mine:
            per_event[event] = per_event.get(event, 0) + 1
            commands.setdefault(event, {}).setdefault(show(entry), set()).add(scope)
        fix = f"python -m hooks install --scope {scope}" + (
            "" if scope == "user" else " --project-dir <project>")
        if mine:
            found.append(Finding("ok", "registration", f"{scope}: {path} registers Orchestra "
                                 f"for {len(per_event)} event(s)"))
            old = sorted({e for e, entry in mine if registration.is_old(entry)})
            if old:
                found.append(Finding(
                    "warn", "registration", f"{scope}: {len(old)} event(s) registered in the "
                    "form of an earlier install (a shell command, python -P -m "
                    "hooks.dispatch): each event starts a shell and loads site more",
                    f"{fix} (replaces them where they are)"))
            if home is not None:
                found.extend(_check_needs(scope, data, mine, home, fix))
        twice = sorted(e for e, n in per_event.items() if n > 1)
        if twice:
            found.append(Finding("fail", "duplicates", f"{scope}: {path} registers Orchestra "
                                 f"more than once for {', '.join(twice)}", fix))
        for event, entry in _lookalikes(data):
            clash = event in per_event
            found.append(Finding(
                "fail" if clash else "warn", "duplicates" if clash else "registration",
                f"{scope}: {event} runs {show(entry)!r}, which looks like Orchestra "
                f"but is not an entry install manages" + (" — the event is dispatched twice"
                                                          if clash else ""),
                f"delete that handler from {path}" + ("" if clash else f", then {fix}")))
    clashes: dict[str, list[str]] = {}  # one finding per distinct set of commands
    for event, by_command in commands.items():
        if len(by_command) > 1:
            where = "; ".join(f"{', '.join(sorted(s))}: {c}"
                              for c, s in sorted(by_command.items()))
            clashes.setdefault(where, []).append(event)
    for where, events in clashes.items():
        names = ", ".join(events[:5]) + (f" and {len(events) - 5} more" if len(events) > 5
                                         else "")
        found.append(Finding("fail", "duplicates", f"{names} registered with different "
                             f"commands ({where}); Claude Code runs each of them",
                             "keep one scope: python -m hooks uninstall --scope <other>"))
    used = {name for cmds in commands.values() for names in cmds.values() for name in names}
    if len(used) > 1 and not clashes:
        found.append(Finding("warn", "duplicates", f"registered in several scopes "
                             f"({', '.join(sorted(used))}); identical commands run once",
                             "keep one scope: python -m hooks uninstall --scope <other>"))
    if plugin_root:
        found.append(Finding("ok", "registration", f"plugin: {plugin_root} registers Orchestra "
                             f"for {len(registration.EVENTS)} event(s) (hooks/hooks.json; "
                             "events no enabled handler needs are left at once)"))
        for scope in sorted(used):
            found.append(Finding("fail", "duplicates", f"Orchestra runs as a plugin and is "
                                 f"also registered in {scope} settings: every event is "
                                 "dispatched twice",
                                 f"orchestra uninstall --scope {scope}"
                                 + ("" if scope == "user" else " --project-dir <project>")))
    elif not commands:
        found.append(Finding("fail", "registration", "Orchestra is not registered in any "
                             "settings file", "python -m hooks install"))
    return found


def _check_needs(scope: str, data: dict[str, Any], mine: list[tuple[str, dict[str, Any]]],
                 home: str, fix: str) -> list[Finding]:
    """Does the registration match what the enabled handlers need (the registered
    interpreter's plugins, the config's plugins.disabled and event_log.events)?"""
    python = next((registration.interpreter_of(entry) for _, entry in mine), None)
    if python is None or not os.path.isabs(python) or not os.path.isfile(python):
        return []  # reported by check_commands
    wanted = registration.needed(python, home)
    if wanted is None:
        return [Finding("warn", "registration", f"{scope}: {python} could not say which "
                        "events its handlers need; not compared", fix)]
    have = registration.registered(data)
    have = {e: t for e, t in have.items() if e in registration.EVENTS}
    missing = []
    for event, tools in wanted.items():
        registered = have.get(event, ())
        if event not in have:
            missing.append(event)
        elif registered is not None and (tools is None or not set(tools) <= set(registered)):
            wider = ("every tool" if tools is None
                     else ", ".join(sorted(set(tools) - set(registered))))
            missing.append(f"{event} ({wider})")
    extra = []
    for event, tools in have.items():
        if event not in wanted:
            extra.append(event)
        elif tools is None and wanted[event] is not None:
            extra.append(f"{event} (tools other than {', '.join(wanted[event] or ())})")
    found = []
    if missing:
        found.append(Finding("fail", "registration", f"{scope}: enabled handlers need "
                             f"{', '.join(missing)}, which the registration does not send "
                             "them", fix))
    if extra:
        found.append(Finding("warn", "registration", f"{scope}: registered for "
                             f"{', '.join(extra)}, which no enabled handler needs: a process "
                             "per event for nothing", fix))
    if not missing and not extra:
        found.append(Finding("ok", "registration", f"{scope}: the events and matchers are "
                             f"those the enabled handlers need ({len(wanted)} event(s))"))
    return found


def check_plugin_environment(plugin_root: str | None) -> list[Finding]:
    """The plugin's virtualenv (only asked when this runs through the plugin launcher)."""
    data = os.environ.get("ORCHESTRA_PLUGIN_DATA")
    if not plugin_root or not data:
        return []
    from hooks.tooling.bootstrap import Layout, read_stamp

    stamp = read_stamp(Layout(data))
    version = stamp[0] if stamp else "?"
    return [Finding("ok", "plugin env", f"{os.path.join(data, 'venv')}: Orchestra {version}, "
                    f"{sys.executable}")]


def _lookalikes(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return []
    return [(event, entry) for event, groups in hooks.items() for group in groups
            for entry in group.get("hooks", []) if registration.is_lookalike(entry)]


def check_commands(scopes: list[Scope], *, probe: bool = True) -> list[Finding]:
    from hooks.tooling.install import check_boot, check_interpreter

    found = []
    by_command: dict[str, tuple[str, dict[str, Any]]] = {}
    for s in scopes:
        for _event, entry in registration.orchestra_handlers(s.data):
            by_command.setdefault(show(entry), (s.name, entry))
    for command, (scope, entry) in by_command.items():
        fix = f"python -m hooks install --scope {scope} (registers this interpreter)"
        python = registration.interpreter_of(entry)
        if python is None:
            found.append(Finding("fail", "command", f"cannot read the interpreter of {command!r}",
                                 fix))
            continue
        if not os.path.isabs(python):
            found.append(Finding("fail", "interpreter", f"{command!r} ({scope}) runs {python!r} "
                                 "from PATH, not an absolute interpreter: it depends on the "
                                 "shell's PATH and may be a slow shim", fix))
            continue
        if not os.path.isfile(python) or not os.access(python, os.X_OK):
            found.append(Finding("fail", "interpreter", f"{python} ({scope}) does not exist "
                                 "any more (venv removed or Python upgraded?)", fix))
            continue
        root = registration.root_of(entry)
        problem = check_interpreter(python) if root is None else check_boot(python, root)
        if problem:
            found.append(Finding("fail", "module", problem,
                                 f"pip install Orchestra into {python}, or {fix}"))
            continue
        if root is None:
            canonical = f"{registration.quote_path(python)} -P -m {registration.MODULE}"
            if _words(entry["command"]) != _words(canonical):
                found.append(Finding("warn", "command", f"{command!r} is not a form install "
                                     "writes; not run", fix))
                continue
            argv: list[str] | str = entry["command"]
        else:
            if entry["args"] != registration.boot_args(root):
                found.append(Finding("warn", "command", f"{command!r} is not the form install "
                                     f"writes; not run", fix))
                continue
            found.append(Finding("ok", "command", f"{scope}: {python} starts without site "
                                 f"(-S) and without the working folder (-P), and imports "
                                 f"Orchestra from {root}"))
            argv = [python, *entry["args"]]
        found.extend(_probe(command, argv) if probe else [])
    return found


def _words(command: str) -> list[str] | None:
    import shlex

    try:
        return shlex.split(command)
    except ValueError:
        return None


def _probe(command: str, argv: list[str] | str) -> list[Finding]:
    """Run the command twice from a folder with a decoy ``hooks/``, as Claude Code runs it
    (exec form: no shell); (cold, warm) timings."""
    with tempfile.TemporaryDirectory(prefix="orchestra-doctor-") as tmp:
        cwd, home = os.path.join(tmp, "project"), os.path.join(tmp, "state")
        os.makedirs(os.path.join(cwd, "hooks"))
        with open(os.path.join(cwd, "hooks", "__init__.py"), "w", encoding="utf-8") as fh:
            fh.write(_DECOY)
        env = {k: v for k, v in os.environ.items() if k not in ("CLAUDE_ENV_FILE",)}
        env.update(ORCHESTRA_HOME=home, ORCHESTRA_RECORD="", CLAUDE_PROJECT_DIR=cwd)
        payload = json.dumps({"session_id": "orchestra-doctor-probe", "cwd": cwd,
                              "transcript_path": os.path.join(tmp, "t.jsonl"),
                              "hook_event_name": "Notification", "message": "doctor probe",
                              "notification_type": "idle_prompt"}) + "\n"
        if isinstance(argv, str) and os.name == "nt":  # an old shell command: bash there
            words = _words(argv) or []
            argv = [words[0], "-P", "-m", registration.MODULE] if words else argv
        timings = []
        for _ in range(2):
            started = time.monotonic()
            try:
                proc = subprocess.run(argv, shell=isinstance(argv, str), cwd=cwd, env=env,
                                      input=payload, capture_output=True, text=True,
                                      timeout=60)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return [Finding("fail", "command", f"{command} could not run: {exc}")]
            timings.append((time.monotonic() - started) * 1000)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
                return [Finding("fail", "command", f"{command} exits {proc.returncode} when run "
                                f"from another folder: {last}",
                                "orchestra install (re-registers with -P)")]
    found = [Finding("ok", "command", f"{command} works from another folder (with a decoy "
                     "hooks/ there)")]
    cold, warm = timings
    level = "warn" if warm > SLOW_MS else "ok"
    found.append(Finding(level, "latency", f"one dispatch takes {warm:.0f} ms warm, "
                         f"{cold:.0f} ms with a cold cache",
                         "ORCHESTRA_TRACE=1 logs each handler's time; disable slow plugins"
                         if level == "warn" else None))
    return found


def check_disabled(scopes: list[Scope]) -> list[Finding]:
    found = []
    managed_path = _MANAGED.get(sys.platform)
    managed: dict[str, Any] = {}
    if managed_path and os.path.isfile(managed_path):
        try:
            with open(managed_path, "rb") as fh:
                managed = json.loads(fh.read()) or {}
        except (OSError, ValueError):
            managed = {}
    if isinstance(managed, dict) and managed.get("disableAllHooks") is True:
        return [Finding("fail", "disableAllHooks", f"the managed policy {managed_path} disables "
                        "all hooks", "ask your administrator; it cannot be overridden")]
    if isinstance(managed, dict) and managed.get("allowManagedHooksOnly") is True:
        found.append(Finding("fail", "disableAllHooks", f"the managed policy {managed_path} "
                             "allows managed hooks only", "ask your administrator"))
    effective = None
    for s in reversed(scopes):  # local, project, user: highest precedence first
        value = s.data.get("disableAllHooks")
        if isinstance(value, bool):
            if value:
                fix = f"remove \"disableAllHooks\" from {s.path}"
                level = "fail" if effective is None else "warn"
                found.append(Finding(level, "disableAllHooks", f"{s.name} settings set "
                                     "disableAllHooks: true" + (" (overridden)" if effective
                                                                is not None else ""), fix))
            effective = value if effective is None else effective
    if not found:
        found.append(Finding("ok", "disableAllHooks", "hooks are not disabled"))
    return found


def check_store(home: str) -> list[Finding]:
    """The PostgreSQL store when one is configured: reachable, schema version, round trip,
    journal backlog (nothing to check for the file store)."""
    from state.postgres.doctor import doctor_report

    return [Finding("ok" if ok else "fail", "store", message, fix or None)
            for ok, message, fix in doctor_report(root=home)]


def check_recording(home: str) -> list[Finding]:
    from hooks.capture import record_target

    target = record_target(home)
    if not target:
        return []
    return [Finding("warn", "record", f"every payload is being recorded to {target}",
                    "python -m hooks record off (or unset ORCHESTRA_RECORD) when done")]


def diagnose(project_dir: str | None, home: str, *, fix: bool = False,
             probe: bool = True) -> list[Finding]:
    """Every check, in report order (``probe=False`` does not run the registered commands,
    only checks their interpreters)."""
    plugin_root = os.environ.get("ORCHESTRA_PLUGIN_ROOT") or None
    scopes, found = read_scopes(project_dir)
    found += check_registrations(scopes, plugin_root, home)
    found += check_plugin_environment(plugin_root)
    found += check_commands(scopes, probe=probe)
    from hooks.tooling.doctor_agents import check_agents

    found += check_agents(project_dir)  # Codex CLI and Gemini CLI, where installed
    found += check_disabled(scopes)
    found += check_state_root(home)
    found += check_store(home)
    found += check_orphans(home, fix)
    found += check_locks(home)
    found += check_plugins(home)
    found += check_event_log(home)
    found += check_recording(home)
    return found


def check_event_log(home: str) -> list[Finding]:
    """``event_log.events`` naming an event Claude Code does not have (a typo: never
    recorded, and not registered for the log's sake)."""
    from hooks.dispatch import read_config
    from hooks.events import EVENT_NAMES

    section = read_config(home).get("event_log")
    events = section.get("events") if isinstance(section, dict) else None
    if not isinstance(events, list):
        return []
    unknown = [e for e in events if e not in EVENT_NAMES]
    if not unknown:
        return [Finding("ok", "event log", f"records {len(events)} event kind(s): "
                        f"{', '.join(map(str, events))} (event_log.events)")]
    return [Finding("warn", "event log", f"event_log.events names "
                    f"{', '.join(map(str, unknown))}, which no Claude Code event is called: "
                    "never recorded", "shared_state set-config event_log.events '[...]' with "
                    f"names from: {', '.join(EVENT_NAMES)}")]


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-dir", metavar="DIR",
                        help="project whose .claude/settings*.json, .codex/ and .gemini/ "
                             "registrations to check (default: cwd)")
    parser.add_argument("--fix", action="store_true",
                        help="remove orphan temp files whose writer is dead")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def _run(args: argparse.Namespace, streams: Streams) -> int:
    from hooks.dispatch import state_home

    if args.project_dir is not None and not os.path.isdir(args.project_dir):
        raise CliError(f"--project-dir {args.project_dir}: no such folder")
    findings = diagnose(args.project_dir, state_home(), fix=args.fix)
    failed = sum(1 for f in findings if f.level == "fail")
    warned = sum(1 for f in findings if f.level == "warn")
    if args.json:
        streams.out.write(json.dumps([f.to_json() for f in findings], indent=2) + "\n")
    else:
        for f in findings:
            label = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[f.level]
            streams.out.write(f"{label}  {f.check:<16} {f.message}\n")
            if f.fix and f.level != "ok":
                streams.out.write(f"      {'':<16} fix: {f.fix}\n")
        streams.out.write(f"{failed} problem(s), {warned} warning(s)\n")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    return run("doctor", "Check that Orchestra is registered, runs, and has a healthy state "
               "root; exit 1 when something is broken.", _configure, _run, argv,
               Streams(stdin, stdout, stderr, front))


if __name__ == "__main__":
    raise SystemExit(main())
