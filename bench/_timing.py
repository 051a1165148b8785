"""What the benchmark scripts share: an installed-like interpreter, timing, percentiles."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAYLOADS = REPO / "tests" / "payloads"

#: The console scripts of pyproject.toml, as pip writes them into a venv's bin folder.
CONSOLE_SCRIPTS = {
    "orchestra": "orchestra.cli",
    "state-manager": "state.state_manager",
    "session-manager": "state.session_manager",
    "shared-state": "state.shared_state",
    "orchestra-dispatch": "hooks.dispatch",
}
_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from {module} import run
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(run())
"""


def installed_python(folder: Path, base: str = sys.executable, repo: Path = REPO) -> str:
    """A venv in ``folder`` that sees Orchestra (the checkout ``repo``, by default this one)
    the way a regular (non-editable) install does.

    A development install (``pip install -e .``) runs an import hook from ``site`` in
    every process, ``python -c pass`` included, which imports ``pathlib`` and ``re``:
    that hides part of Orchestra's own import cost. This venv instead finds the
    checkout and the dependencies of ``base``'s environment through a ``.pth`` file —
    plain ``sys.path`` entries, like ``site-packages`` itself — and gets the console
    scripts pip would write. Returns its interpreter.
    """
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(folder)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    deps = subprocess.run(
        [base, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "orchestra-bench.pth").write_text(f"{repo}\n{deps}\n", encoding="utf-8")
    scripts = python.parent
    for name, module in CONSOLE_SCRIPTS.items():
        script = scripts / name
        script.write_text(_SCRIPT.format(python=python, module=module), encoding="utf-8")
        script.chmod(0o755)
    return str(python)


def non_editable_python(folder: Path, base: str = sys.executable, repo: Path = REPO) -> str:
    """A venv in ``folder`` made as the README says, ``python3 -m venv`` and ``pip install
    <orchestra>`` (its pip, its dependencies from the package index), with Orchestra
    (the checkout ``repo``) installed not editable from a copy of its package files (pip
    builds nothing in ``repo``). Where pip cannot install (no package index), the venv of
    :func:`installed_python`, with a note on stderr. Returns its interpreter."""
    import shutil

    venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(folder)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    source = folder.parent / f"{folder.name}-src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "hooks", "handlers", "orchestra",
                 "plugins", "state", "styles"):
        path = repo / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=skip)
        elif path.exists():
            shutil.copy2(path, source / name)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", str(source)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"note: pip could not install {repo} ({done.stderr.strip()[-300:]}); "
              "the venv finds the checkout through a .pth file instead", file=sys.stderr)
        shutil.rmtree(folder)
        return installed_python(folder, base, repo)
    return str(python)


def _purelib(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()


def script(python: str, name: str) -> str:
    """The console script ``name`` next to ``python``."""
    return str(Path(python).parent / name)


def child_env(home: Path, pycache: Path) -> dict[str, str]:
    """The environment of every timed process: ``home`` as the state root, bytecode cached.

    Compiled bytecode is what an installed Orchestra runs, so it is written (under
    ``pycache``, not in the checkout) even if the caller's shell sets
    ``PYTHONDONTWRITEBYTECODE``.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "PYTHON", "CLAUDE_"))}
    env["ORCHESTRA_HOME"] = str(home)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def payload(name: str, **changes: object) -> bytes:
    """``tests/payloads/<name>.json`` with ``changes`` applied, as the bytes on stdin."""
    data = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    return (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8")


def time_run(cmd: list[str], env: dict[str, str], stdin: bytes = b"",
             cwd: Path | str = REPO) -> float:
    """Wall-clock seconds of one run of ``cmd``; stop the benchmark if it fails.

    ``cwd``: pass a folder without Python packages in it. ``python -m`` (without ``-P``)
    imports from the working directory first: run in a checkout, it would time that
    checkout's code whatever interpreter ``cmd`` names.
    """
    start = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, env=env, cwd=cwd, capture_output=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.decode()}")
    return elapsed


def p90(values: list[float]) -> float:
    return percentile(values, 0.9)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile by the nearest-rank rule (no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    """``median / p90`` in milliseconds."""
    return f"{statistics.median(values) * 1000:6.1f} /{p90(values) * 1000:6.1f}"


def python_line(python: str) -> str:
    return f"python {sys.version.split()[0]} ({python})"
