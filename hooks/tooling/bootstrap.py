"""The plugin's Python: build Orchestra's virtualenv under the plugin data folder.

A Claude Code plugin is a checkout with no virtualenv. ``bin/orchestra`` (the launcher
Claude Code runs for every hook and puts on the model's Bash PATH) runs Orchestra from
``<data>/venv`` when its stamp names the launcher's version, and otherwise runs this
script with a Python >= 3.11 (the one cached in ``<data>/python``, else the first it
finds). The script uses the standard library only (Orchestra is not installed yet when
it runs) and is run by path::

    python3 -P hooks/tooling/bootstrap.py VERB --root R --data D --version V [--fix]

* ``start`` returns at once: it starts ``build`` in the background unless one is running,
  or one failed less than :data:`RETRY_AFTER` seconds ago (so a broken network does not
  cost every hook a new attempt).
* ``hook`` is a hook while there is no environment: it reads the event on stdin, notes
  the session in ``<data>/deferred/`` (see below), runs ``start`` and exits 0 with one
  line on stderr. At SessionStart, when ``uv`` is on PATH, it waits up to
  :data:`FOREGROUND_WAIT` seconds for the build and, if it finishes, dispatches the event
  at once (uv builds in seconds; pip takes longer than SessionStart's 20 s timeout).
* ``wait`` is the plugin's monitor (``orchestra inbox --follow``) while there is no
  environment: it notes the session, runs ``start``, and waits for the environment
  (exit 0) as long as the Claude Code process it serves lives (exit 3 when it is gone).
* ``build`` takes ``<data>/build.lock`` (one builder at a time) and builds ``<data>/venv``
  in place: the stamp goes first (nothing runs a half-built environment), then the old
  environment, then ``uv venv --seed`` + ``uv pip install`` when ``uv`` is on PATH (about
  5-10 s), else or when that fails ``python -m venv`` + pip (about 20-30 s). Built at
  its final path, the environment's scripts (``bin/orchestra``, ``pip``, ``activate``)
  name that path. What is installed is a copy of the plugin root's package files in
  ``<data>/build-src``, so the build writes nothing into the plugin root (``build/``,
  ``*.egg-info``), which may be read-only or the user's own checkout. The stamp
  ``<data>/venv/orchestra-ready`` (version, interpreter, plugin root, and the folder the
  environment imports Orchestra from, which the launcher's hook command puts on
  ``sys.path`` itself: :mod:`hooks.boot`) is written last.
  Progress goes to ``<data>/build.log``; the outcome to ``<data>/build-state``.
* ``status`` is the launcher's ``orchestra doctor`` while there is no environment: it
  names the cause and the fix; ``--fix`` builds in the foreground.

Files in ``<data>``: ``build-state`` holds one line, ``building PID EPOCH``,
``failed EPOCH REASON`` or ``ready EPOCH``, which the launcher reads with ``read``;
``python`` caches the interpreter that runs this script, so the launcher looks for one
(and never runs a pyenv shim) once per data folder; ``plugin-root`` names the plugin
root this data folder serves, so the model's Bash, which has no ``CLAUDE_PLUGIN_DATA``,
finds it while the first build runs. ``deferred/<session id>.json`` holds, for each
session seen while there was no environment, when it was first seen and its
SessionStart (or what its first event tells of it): :mod:`hooks.first_run` starts that
session with it once the environment is ready and gives it the SessionStart context at
its first prompt.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import IO

__all__ = ["main"]

RETRY_AFTER = 300  # seconds after a failed build before a hook tries again
STAMP = "orchestra-ready"
BUILD_TIMEOUT = 900
#: Seconds SessionStart waits for a uv build (its hook timeout is 20 s; the dispatch after
#: it needs a moment too). Without uv it does not wait: pip takes longer than the timeout.
FOREGROUND_WAIT = 14.0
#: Seconds the monitor waits for an environment before it gives up.
MONITOR_WAIT = 1800.0
#: Largest event read from stdin while there is no environment (a hook's payload may hold
#: a whole tool result; only its first fields matter here).
MAX_EVENT = 8 * 1024 * 1024
#: A session id that is safe as a file name (a stricter form of state.paths.validate_id).
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")
#: What a deferred record keeps of an event that is not SessionStart.
KEPT_FIELDS = ("session_id", "transcript_path", "cwd", "permission_mode")


class Layout:
    """Where things are under the data folder."""

    def __init__(self, data: str) -> None:
        self.data = os.path.abspath(data)
        self.venv = os.path.join(self.data, "venv")
        self.lock = os.path.join(self.data, "build.lock")
        self.log = os.path.join(self.data, "build.log")
        self.state = os.path.join(self.data, "build-state")
        self.stamp = os.path.join(self.venv, STAMP)
        self.source = os.path.join(self.data, "build-src")
        self.python = os.path.join(self.data, "python")
        self.root = os.path.join(self.data, "plugin-root")
        self.deferred = os.path.join(self.data, "deferred")
        # Left behind by earlier builds, which built venv.new and renamed it.
        self.legacy = [os.path.join(self.data, "venv.new"), os.path.join(self.data, "venv.old")]


def venv_python(venv: str) -> str:
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def read_stamp(layout: Layout) -> list[str]:
    try:
        with open(layout.stamp, encoding="utf-8") as fh:
            return fh.read().splitlines()
    except OSError:
        return []


def read_state(layout: Layout) -> list[str]:
    try:
        with open(layout.state, encoding="utf-8") as fh:
            return (fh.readline().strip() or "none").split(" ", 2)
    except OSError:
        return ["none"]


def _write(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _write_if_changed(path: str, text: str) -> None:
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except OSError:
        pass
    _write(path, text)


def _set_state(layout: Layout, *words: str) -> None:
    _write(layout.state, " ".join(words) + "\n")


@contextlib.contextmanager
def _locked(layout: Layout, *, wait: bool) -> Iterator[bool]:
    """Hold ``build.lock`` (True), or yield False when another builder holds it."""
    os.makedirs(layout.data, exist_ok=True)
    fh = open(layout.lock, "a+b")  # noqa: SIM115 - closed below, after the unlock
    try:
        try:
            if sys.platform == "win32":
                import msvcrt

                mode = msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK
                fh.seek(0)
                msvcrt.locking(fh.fileno(), mode, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError:
            yield False
            return
        yield True
    finally:
        fh.close()  # closing releases the lock on every platform


def is_ready(layout: Layout, version: str) -> bool:
    stamp = read_stamp(layout)
    return len(stamp) >= 2 and stamp[0] == version and os.path.isfile(stamp[1])


def remember_interpreter(layout: Layout, python: str) -> None:
    """Cache ``python`` for the launcher (its search may run slow shims; this does not).
    On Windows with forward slashes, which Git Bash and the Windows APIs both read."""
    if os.name == "nt":
        python = python.replace("\\", "/")
    with contextlib.suppress(OSError):
        os.makedirs(layout.data, exist_ok=True)
        _write_if_changed(layout.python, python + "\n")


# -- building ----------------------------------------------------------------------------


def _installers(python: str, target: str, source: str) -> list[list[list[str]]]:
    """The ways to build, best first: uv when it is on PATH (seconds), else or when it
    fails (no network access of its own, a proxy's certificate...) venv and pip."""
    plans = []
    uv = shutil.which("uv")
    if uv:  # --seed: pip in the environment too, for installing Orchestra plugins into it
        plans.append([[uv, "venv", "--quiet", "--seed", "--python", python, target],
                      [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python",
                       venv_python(target), source]])
    plans.append([[python, "-m", "venv", target],
                  [venv_python(target), "-m", "pip", "install", "--quiet",
                   "--disable-pip-version-check", source]])
    return plans


def _package_files(root: str) -> list[str]:
    """What building the package reads from ``root``: the build files, the readme and
    licence named in pyproject.toml, and the top-level packages it includes."""
    import tomllib

    with open(os.path.join(root, "pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)
    names = {"pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in"}
    meta = project.get("project", {})
    readme = meta.get("readme")
    names.add(readme if isinstance(readme, str) else (readme or {}).get("file", ""))
    licence = meta.get("license")
    if isinstance(licence, dict):
        names.add(licence.get("file", ""))
    find = project.get("tool", {}).get("setuptools", {}).get("packages", {}).get("find", {})
    for pattern in find.get("include", []):
        names.add(pattern.split(".")[0].rstrip("*"))
    return sorted(n for n in names if n and os.path.exists(os.path.join(root, n)))


def copy_source(root: str, target: str) -> None:
    """Copy the package files of ``root`` to ``target`` (a fresh folder), so that the
    build tools write their ``build/`` and ``*.egg-info`` there, never into ``root``."""
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in _package_files(root):
        path = os.path.join(root, name)
        if os.path.isdir(path):
            shutil.copytree(path, os.path.join(target, name), ignore=skip)
        else:
            shutil.copy2(path, os.path.join(target, name))
    for dirpath, dirnames, filenames in os.walk(target):  # a read-only root gives
        for name in dirnames + filenames:                 # read-only copies
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                os.chmod(path, os.stat(path).st_mode | 0o200)


def _remove(path: str) -> bool:
    """Remove a folder; False if some of it is still there (on Windows: a file in use)."""
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.exists(path)


def build(root: str, layout: Layout, version: str, python: str) -> int:
    with _locked(layout, wait=True) as held:
        if not held:
            sys.stderr.write(f"orchestra: cannot lock {layout.lock}\n")
            return 1
        if is_ready(layout, version):
            return 0  # another builder finished while we waited
        _set_state(layout, "building", str(os.getpid()), str(int(time.time())))
        root = os.path.abspath(root)
        with open(layout.log, "w", encoding="utf-8") as log:
            log.write(f"building Orchestra {version} from {root} with {python}\n")
            log.flush()

            def fail(reason: str) -> int:
                _remove(layout.venv)
                _remove(layout.source)
                _set_state(layout, "failed", str(int(time.time())), reason)
                log.write(f"FAILED: {reason}\n")
                return 1

            with contextlib.suppress(OSError):
                os.remove(layout.stamp)  # from here on nothing runs the old environment
            for old in [layout.venv, *layout.legacy]:
                if not _remove(old):
                    return fail(f"cannot remove {old} (in use by a running Orchestra?)")
            try:
                copy_source(root, layout.source)
            except (OSError, ValueError) as exc:
                return fail(f"cannot copy the plugin's package files: {exc}")
            reason = ""
            for plan in _installers(python, layout.venv, layout.source):
                if reason:
                    log.write(f"{reason}; trying the next way\n")
                    if not _remove(layout.venv):
                        return fail(f"cannot remove {layout.venv} after: {reason}")
                reason = _run_plan(plan, log, layout.data)
                if not reason:
                    break
            if reason:
                return fail(reason)
            _remove(layout.source)
            python_there = venv_python(layout.venv)
            _write(layout.stamp, f"{version}\n{python_there}\n{root}\n"
                                 f"{orchestra_folder(python_there, layout.data)}\n")
            _set_state(layout, "ready", str(int(time.time())))
            log.write("ready\n")
    return 0


#: Where an interpreter imports Orchestra from (run in an unrelated folder).
_WHERE = ("import os, hooks; "
          "print(os.path.dirname(os.path.dirname(os.path.abspath(hooks.__file__))))")


def orchestra_folder(python: str, cwd: str) -> str:
    """The folder ``python`` imports Orchestra's packages from ("" if it cannot say: the
    launcher then runs ``python -m hooks.dispatch``, with ``site``)."""
    try:
        done = subprocess.run([python, "-P", "-c", _WHERE], cwd=cwd, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = done.stdout.strip().splitlines() if done.returncode == 0 else []
    return lines[-1] if lines and "\n" not in lines[-1] else ""


def _run_plan(plan: list[list[str]], log: IO[str], cwd: str) -> str:
    """Run the commands of ``plan`` in order; "" when all succeeded, else why not."""
    for command in plan:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        try:
            code = subprocess.run(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                  cwd=cwd, timeout=BUILD_TIMEOUT).returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{os.path.basename(command[0])}: {exc}"
        if code != 0:
            return f"{' '.join(command[:3])} exited {code}"
    return ""


def start(root: str, layout: Layout, version: str, python: str) -> int:
    """Start :func:`build` in the background unless it runs or failed recently."""
    os.makedirs(layout.data, exist_ok=True)
    _write_if_changed(layout.root, os.path.abspath(root) + "\n")
    state = read_state(layout)
    if state[0] == "failed" and len(state) > 1 and state[1].isdigit() \
            and time.time() - int(state[1]) < RETRY_AFTER:
        return 0
    with _locked(layout, wait=False) as free:
        if not free:
            return 0  # a build is running
    command = [python, "-P", os.path.abspath(__file__), "build", "--root", root,
               "--data", layout.data, "--version", version]
    options: dict[str, object] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                                  "stderr": subprocess.DEVNULL, "close_fds": True,
                                  "cwd": layout.data}
    if os.name == "nt":
        options["creationflags"] = 0x00000008 | 0x00000200  # DETACHED | NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True  # outlives the hook that started it
    subprocess.Popen(command, **options)  # type: ignore[call-overload]
    return 0


def _wait_ready(layout: Layout, version: str, seconds: float, alive: object = None) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if is_ready(layout, version):
            return True
        if read_state(layout)[0] == "failed" or time.monotonic() >= deadline:
            return False
        if callable(alive) and not alive():
            return False
        time.sleep(0.25)


# -- sessions seen while there is no environment --------------------------------------


def remember_session(layout: Layout, event: dict[str, object]) -> None:
    """Note the session of ``event`` in ``<data>/deferred/`` (see the module doc).

    The first sighting's time is kept; a SessionStart replaces what an earlier event
    (the monitor's start) told; SessionEnd marks the record ended.
    """
    sid = event.get("session_id")
    if not isinstance(sid, str) or not SAFE_ID.match(sid):
        return
    path = os.path.join(layout.deferred, f"{sid}.json")
    record: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        with open(path, encoding="utf-8") as fh:
            loaded = json.load(fh)
        record = loaded if isinstance(loaded, dict) else {}
    name = event.get("hook_event_name")
    changed = not record
    if not record:
        record = {"session_id": sid, "first_seen": time.time(),
                  "event": {k: event[k] for k in KEPT_FIELDS if isinstance(event.get(k), str)}}
    if name == "SessionStart" and not record.get("start"):
        record["event"], record["start"], changed = event, True, True
    if name == "SessionEnd" and not record.get("ended"):
        record["ended"], changed = True, True
    pid = os.environ.get("CLAUDE_PID", "")
    if pid.isdigit() and record.get("claude_pid") != int(pid):
        record["claude_pid"], changed = int(pid), True
    if changed:
        os.makedirs(layout.deferred, exist_ok=True)
        _write(path, json.dumps(record, separators=(",", ":")))


def forget_session(layout: Layout, session_id: object) -> None:
    if isinstance(session_id, str) and SAFE_ID.match(session_id):
        with contextlib.suppress(OSError):
            os.remove(os.path.join(layout.deferred, f"{session_id}.json"))


def _read_event(stream: IO[bytes]) -> tuple[bytes, dict[str, object]]:
    raw = stream.read(MAX_EVENT + 1)
    while stream.read(1 << 20):  # the rest, so that Claude Code's write never fails
        pass
    try:
        event = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_EVENT else {}
    except ValueError:
        event = {}
    return raw, event if isinstance(event, dict) else {}


def hook(root: str, layout: Layout, version: str, python: str, stdin: IO[bytes],
         stdout: IO[bytes], stderr: IO[str]) -> int:
    """A hook while there is no environment (see the module doc). Never fails the hook."""
    raw, event = _read_event(stdin)
    with contextlib.suppress(OSError):
        remember_session(layout, event)
    start(root, layout, version, python)
    if event.get("hook_event_name") == "SessionStart" and shutil.which("uv") \
            and _wait_ready(layout, version, FOREGROUND_WAIT):
        forget_session(layout, event.get("session_id"))  # it is started now, not later
        try:
            done = subprocess.run([read_stamp(layout)[1], "-P", "-m", "hooks.dispatch"],
                                  input=raw, stdout=subprocess.PIPE, timeout=5)
        except (OSError, subprocess.TimeoutExpired, IndexError) as exc:
            stderr.write(f"orchestra: SessionStart not dispatched: {exc}\n")
            return 0
        stdout.write(done.stdout)
        return done.returncode
    stderr.write(f"orchestra: skipped: setting up its Python environment in {layout.data}; "
                 "Orchestra starts at the first prompt after that (see orchestra doctor)\n")
    return 0


def _claude_alive() -> object:
    """A callable telling whether the Claude Code process that started us still runs
    (``CLAUDE_PID``, set by Claude Code for hooks and monitors); None when unknown."""
    pid = os.environ.get("CLAUDE_PID", "")
    if not pid.isdigit():
        return None
    return lambda: process_alive(int(pid))


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs. A copy of :func:`state.lifeline.process_alive`: this
    script runs before Orchestra is installed."""
    if pid <= 0:
        return False
    if os.name == "nt":
        import ctypes

        kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel.GetLastError() == 5  # ERROR_ACCESS_DENIED: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True


def wait(root: str, layout: Layout, version: str, python: str) -> int:
    """The monitor while there is no environment: 0 once it is ready, 3 when the Claude
    Code process is gone, 1 after :data:`MONITOR_WAIT` seconds."""
    sid = os.environ.get("CLAUDE_CODE_SESSION_ID")
    if sid:
        with contextlib.suppress(OSError):
            remember_session(layout, {"session_id": sid, "cwd": os.getcwd()})
    alive = _claude_alive()
    deadline = time.monotonic() + MONITOR_WAIT
    while time.monotonic() < deadline:
        start(root, layout, version, python)  # again after a failed build's back-off
        if _wait_ready(layout, version, min(RETRY_AFTER, deadline - time.monotonic()), alive):
            return 0
        if callable(alive) and not alive():
            return 3
        time.sleep(5)
    sys.stderr.write("orchestra: its Python environment is still not ready; see orchestra "
                     "doctor\n")
    return 1


def status(root: str, layout: Layout, version: str, python: str, fix: bool, out: object) -> int:
    """The cause and the fix, for ``orchestra doctor`` while there is no environment."""
    write = out.write  # type: ignore[attr-defined]
    if is_ready(layout, version):
        write(f"ok    plugin environment: {layout.venv} (Orchestra {version})\n")
        return 0
    state = read_state(layout)
    if fix:
        write(f"building Orchestra's environment in {layout.venv} (log: {layout.log}) ...\n")
        code = build(root, layout, version, python)
        write("done: the plugin environment is ready\n" if code == 0 else
              f"FAIL  the build failed: {' '.join(read_state(layout)[2:])}; see {layout.log}\n")
        return code
    if state[0] == "building":
        write(f"FAIL  plugin environment: being built now (first use or a new version); "
              f"progress in {layout.log}\n      fix: wait for it (under 10 s with uv, about "
              "30 s with pip), then run the command again\n")
    elif state[0] == "failed":
        reason = " ".join(state[2:]) or "unknown"
        write(f"FAIL  plugin environment: the last build failed ({reason}); details in "
              f"{layout.log}\n      fix: check network access to PyPI (or install uv), then "
              "run: orchestra doctor --fix\n")
    else:
        stamp = read_stamp(layout)
        what = f"built for version {stamp[0]}" if stamp else "not built yet"
        write(f"FAIL  plugin environment {layout.venv}: {what}, this plugin is {version}\n"
              "      fix: run: orchestra doctor --fix (or start a new Claude Code session)\n")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bootstrap.py",
                                     description="Build Orchestra's plugin virtualenv.")
    parser.add_argument("verb", choices=["start", "build", "status", "hook", "wait"])
    parser.add_argument("--root", required=True, help="the plugin root (what is installed)")
    parser.add_argument("--data", required=True, help="the plugin data folder")
    parser.add_argument("--version", required=True, help="the launcher's Orchestra version")
    parser.add_argument("--fix", action="store_true", help="status: build now, in the foreground")
    args = parser.parse_args(argv)
    layout = Layout(args.data)
    python = sys.executable
    remember_interpreter(layout, python)
    try:
        if args.verb == "hook":
            try:
                return hook(args.root, layout, args.version, python, sys.stdin.buffer,
                            sys.stdout.buffer, sys.stderr)
            except Exception as exc:  # a hook fails open, whatever happened
                sys.stderr.write(f"orchestra: skipped: {type(exc).__name__}: {exc}\n")
                return 0
        if args.verb == "start":
            return start(args.root, layout, args.version, python)
        if args.verb == "wait":
            return wait(args.root, layout, args.version, python)
        if args.verb == "build":
            return build(args.root, layout, args.version, python)
        return status(args.root, layout, args.version, python, args.fix, sys.stdout)
    except OSError as exc:
        sys.stderr.write(f"orchestra: cannot set up the plugin environment: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
