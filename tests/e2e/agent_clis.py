"""Find (or install) the pinned Codex CLI and Gemini CLI and run them headless, offline.

``find_or_install(name)`` returns the binary: ``$ORCHESTRA_CODEX_BIN`` /
``$ORCHESTRA_GEMINI_BIN`` when set, else what ``.ci/install-agent-cli.sh NAME`` installs into
the end-to-end cache. It raises ``RuntimeError`` (never skips) when there is none.

``codex_home(...)`` and ``gemini_home(...)`` write a private HOME that points the CLI at a
fake API on loopback (:mod:`tests.e2e.fake_agents`); ``run_codex`` and ``run_gemini`` run
one prompt with an environment made from scratch: that HOME, a fake key, no variable of
the caller's own agent setup.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from .claude_cli import REPO_ROOT

__all__ = ["CODEX_KEY_VAR", "FAKE_GEMINI_KEY", "codex_home", "find_or_install",
           "gemini_home", "run_codex", "run_gemini"]

INSTALLER = REPO_ROOT / ".ci" / "install-agent-cli.sh"
CODEX_MODEL = "gpt-5.5"  # a model Codex knows: with an unknown one apply_patch is not offered
CODEX_KEY_VAR = "FAKE_OPENAI_KEY"
#: What the Gemini run gets as GEMINI_API_KEY: it must never reach Orchestra's state.
FAKE_GEMINI_KEY = "fake-gemini-key-0123456789abcdef"
_DROPPED = ("OPENAI", "CODEX", "GEMINI", "GOOGLE", "CLAUDE", "ANTHROPIC", "XDG_")


def find_or_install(name: str) -> Path:
    override = os.environ.get(f"ORCHESTRA_{name.upper()}_BIN")
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RuntimeError(f"ORCHESTRA_{name.upper()}_BIN={override!r} is not executable")
        return path
    outcome = _install(name)
    if isinstance(outcome, RuntimeError):
        raise RuntimeError(str(outcome))
    return outcome


@cache
def _install(name: str) -> Path | RuntimeError:
    try:
        proc = subprocess.run(["bash", str(INSTALLER), name], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=900,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return RuntimeError(f"{INSTALLER.name} {name} did not finish in 900 s")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return RuntimeError(f"cannot install the {name} CLI: {INSTALLER} exited "
                            f"{proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return Path(lines[-1].strip())


def _env(home: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_DROPPED)}
    env["HOME"] = str(home)
    if extra:
        env.update(extra)
    return env


def codex_home(home: Path, base_url: str) -> Path:
    """A HOME whose ``.codex/config.toml`` sends Codex to the fake Responses API."""
    folder = home / ".codex"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(
        f'model = "{CODEX_MODEL}"\nmodel_provider = "fake"\n\n'
        f'[model_providers.fake]\nname = "fake"\nbase_url = "{base_url}"\n'
        f'wire_api = "responses"\nenv_key = "{CODEX_KEY_VAR}"\n', encoding="utf-8")
    return home


def run_codex(bin: Path, prompt: str, *, cwd: Path, home: Path,
              env_extra: Mapping[str, str] | None = None,
              timeout: float = 150) -> subprocess.CompletedProcess[str]:
    env = _env(home, env_extra)
    env[CODEX_KEY_VAR] = "x"
    return subprocess.run([str(bin), "exec", "--skip-git-repo-check", "-s", "workspace-write",
                           prompt], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def gemini_home(home: Path, project: Path) -> Path:
    """A HOME whose Gemini settings use an API key and trust ``project``."""
    folder = home / ".gemini"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(
        {"security": {"auth": {"selectedType": "gemini-api-key"}}}, indent=2) + "\n",
        encoding="utf-8")
    (folder / "trustedFolders.json").write_text(json.dumps({str(project): "TRUST_FOLDER"}),
                                                encoding="utf-8")
    return home


def run_gemini(bin: Path, prompt: str, *, cwd: Path, home: Path, base_url: str,
               env_extra: Mapping[str, str] | None = None,
               timeout: float = 150) -> subprocess.CompletedProcess[str]:
    env = _env(home, env_extra)
    env.update(GEMINI_API_KEY=FAKE_GEMINI_KEY, GOOGLE_GEMINI_BASE_URL=base_url)
    return subprocess.run([str(bin), "--approval-mode", "yolo", "-p", prompt], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
