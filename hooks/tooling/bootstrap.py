"""The plugin's Python: build Orchestra's virtualenv under the plugin data folder.

A Claude Code plugin is a checkout with no virtualenv. ``bin/orchestra`` (the launcher
Claude Code runs for every hook and puts on the model's Bash PATH) runs Orchestra from
``<data>/venv`` when its stamp names the launcher's version, and otherwise runs this
script with the first Python >= 3.11 it finds. The script uses the standard library
only (Orchestra is not installed yet when it runs) and is run by path::

    python3 -P hooks/tooling/bootstrap.py start  --root R --data D --version V
    python3 -P hooks/tooling/bootstrap.py build  --root R --data D --version V
    python3 -P hooks/tooling/bootstrap.py status --root R --data D --version V [--fix]

* ``start`` returns at once: it starts ``build`` in the background unless one is running,
  or one failed less than :data:`RETRY_AFTER` seconds ago (so a broken network does not
  cost every hook a new attempt).
* ``build`` takes ``<data>/build.lock`` (one builder at a time), builds ``<data>/venv.new``
  with ``uv`` when it is on PATH, else with ``python -m venv`` and pip, installs the
  plugin root into it, swaps it in as ``<data>/venv`` and writes the stamp
  ``<data>/venv/orchestra-ready`` (version, interpreter, root). Progress goes to
  ``<data>/build.log``; the outcome to ``<data>/build-state``.
* ``status`` is the launcher's ``orchestra doctor`` while there is no environment: it
  names the cause and the fix; ``--fix`` builds in the foreground.

Files in ``<data>``: ``build-state`` holds one line, ``building PID EPOCH``,
``failed EPOCH REASON`` or ``ready EPOCH``, which the launcher reads with ``read``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

__all__ = ["main"]

RETRY_AFTER = 300  # seconds after a failed build before a hook tries again
STAMP = "orchestra-ready"
BUILD_TIMEOUT = 900


class Layout:
    """Where things are under the data folder."""

    def __init__(self, data: str) -> None:
        self.data = os.path.abspath(data)
        self.venv = os.path.join(self.data, "venv")
        self.new = os.path.join(self.data, "venv.new")
        self.old = os.path.join(self.data, "venv.old")
        self.lock = os.path.join(self.data, "build.lock")
        self.log = os.path.join(self.data, "build.log")
        self.state = os.path.join(self.data, "build-state")
        self.stamp = os.path.join(self.venv, STAMP)


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


def _installer(python: str, target: str, root: str) -> list[list[str]]:
    uv = shutil.which("uv")
    if uv:
        return [[uv, "venv", "--quiet", "--python", python, target],
                [uv, "pip", "install", "--quiet", "--python", venv_python(target), root]]
    return [[python, "-m", "venv", target],
            [venv_python(target), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", root]]


def build(root: str, layout: Layout, version: str, python: str) -> int:
    with _locked(layout, wait=True) as held:
        if not held:
            sys.stderr.write(f"orchestra: cannot lock {layout.lock}\n")
            return 1
        if is_ready(layout, version):
            return 0  # another builder finished while we waited
        _set_state(layout, "building", str(os.getpid()), str(int(time.time())))
        with open(layout.log, "w", encoding="utf-8") as log:
            log.write(f"building Orchestra {version} from {root} with {python}\n")
            log.flush()
            shutil.rmtree(layout.new, ignore_errors=True)
            for command in _installer(python, layout.new, os.path.abspath(root)):
                log.write("$ " + " ".join(command) + "\n")
                log.flush()
                try:
                    code = subprocess.run(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                          timeout=BUILD_TIMEOUT).returncode
                except (OSError, subprocess.TimeoutExpired) as exc:
                    code, reason = -1, f"{os.path.basename(command[0])}: {exc}"
                else:
                    reason = f"{' '.join(command[:3])} exited {code}"
                if code != 0:
                    shutil.rmtree(layout.new, ignore_errors=True)
                    _set_state(layout, "failed", str(int(time.time())), reason)
                    log.write(f"FAILED: {reason}\n")
                    return 1
            new_python = venv_python(layout.venv)
            _write(os.path.join(layout.new, STAMP),
                   f"{version}\n{new_python}\n{os.path.abspath(root)}\n")
            shutil.rmtree(layout.old, ignore_errors=True)
            if os.path.isdir(layout.venv):
                os.replace(layout.venv, layout.old)
            os.replace(layout.new, layout.venv)
            shutil.rmtree(layout.old, ignore_errors=True)
            _set_state(layout, "ready", str(int(time.time())))
            log.write("ready\n")
    return 0


def start(root: str, layout: Layout, version: str, python: str) -> int:
    """Start :func:`build` in the background unless it runs or failed recently."""
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
                                  "stderr": subprocess.DEVNULL, "close_fds": True}
    if os.name == "nt":
        options["creationflags"] = 0x00000008 | 0x00000200  # DETACHED | NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True  # outlives the hook that started it
    subprocess.Popen(command, **options)  # type: ignore[call-overload]
    return 0


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
              f"progress in {layout.log}\n      fix: wait a minute, then run the command "
              "again\n")
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
    parser.add_argument("verb", choices=["start", "build", "status"])
    parser.add_argument("--root", required=True, help="the plugin root (what is installed)")
    parser.add_argument("--data", required=True, help="the plugin data folder")
    parser.add_argument("--version", required=True, help="the launcher's Orchestra version")
    parser.add_argument("--fix", action="store_true", help="status: build now, in the foreground")
    args = parser.parse_args(argv)
    layout = Layout(args.data)
    python = sys.executable
    try:
        if args.verb == "start":
            return start(args.root, layout, args.version, python)
        if args.verb == "build":
            return build(args.root, layout, args.version, python)
        return status(args.root, layout, args.version, python, args.fix, sys.stdout)
    except OSError as exc:
        sys.stderr.write(f"orchestra: cannot set up the plugin environment: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
