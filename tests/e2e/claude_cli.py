"""Find (or install) the real Claude Code CLI and run it headless.

``find_or_install_claude()`` returns the ``claude`` binary: ``$ORCHESTRA_CLAUDE_BIN``
when set, else whatever ``.ci/install-claude-code.sh`` installs into
``${ORCHESTRA_E2E_CACHE:-<repo>/.cache/claude-code}``. It raises
``RuntimeError`` (never skips) when there is no usable binary, so an e2e run
without the CLI fails loudly.

``run_claude()`` runs ``claude -p`` with an environment made from scratch for
an offline run against :class:`tests.e2e.fake_api.FakeAnthropic`: a private
``HOME``, a fake key, the fake base URL, no non-essential traffic, no retries,
and none of the caller's ``CLAUDE*``/``ANTHROPIC*`` variables.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_ALLOWED_TOOLS",
    "INSTALLER",
    "REPO_ROOT",
    "claude_env",
    "find_or_install_claude",
    "run_claude",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALLER = REPO_ROOT / ".ci" / "install-claude-code.sh"
DEFAULT_ALLOWED_TOOLS = ("Bash", "Write", "Edit", "Read", "Agent", "Glob", "Grep")
FAKE_API_KEY = "sk-ant-fake"
INSTALL_TIMEOUT = 1800  # seconds; a cold install downloads about 400 MB

# Variables a caller's session may leak into the child and that change what the
# CLI does (auth, endpoints, entrypoint, nesting detection...).
_DROPPED_PREFIXES = ("CLAUDE", "ANTHROPIC")


def find_or_install_claude() -> Path:
    """The path of a runnable ``claude``; installs it on first use.

    Raises ``RuntimeError`` with the installer's output when it cannot (the
    outcome of the installer, success or failure, is remembered for the
    process, so a failed install is not retried by every test).
    """
    override = os.environ.get("ORCHESTRA_CLAUDE_BIN")
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RuntimeError(f"ORCHESTRA_CLAUDE_BIN={override!r} is not an executable file")
        return path
    outcome = _install()
    if isinstance(outcome, RuntimeError):
        raise RuntimeError(str(outcome))
    return outcome


@cache
def _install() -> Path | RuntimeError:
    try:
        return _run_installer()
    except RuntimeError as exc:
        return exc


def _run_installer() -> Path:
    if not INSTALLER.is_file():
        raise RuntimeError(f"the Claude Code installer is missing: {INSTALLER}")
    try:
        proc = subprocess.run(
            ["bash", str(INSTALLER)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(
            f"{INSTALLER.name} did not finish in {INSTALL_TIMEOUT} s:\n"
            f"{_text(exc.stdout)}{_text(exc.stderr)}"
        ) from exc
    output = f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"cannot install Claude Code for the e2e tests: {INSTALLER} exited "
            f"{proc.returncode}\n{output}"
        )
    path = Path(lines[-1].strip())
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise RuntimeError(
            f"{INSTALLER.name} printed {str(path)!r}, which is not an executable file\n{output}"
        )
    return path


def claude_env(
    *,
    home: str | os.PathLike[str],
    base_url: str,
    env_extra: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for an offline ``claude`` run (section 7 of the reference)."""
    source = os.environ if base_env is None else base_env
    env = {k: v for k, v in source.items() if not k.upper().startswith(_DROPPED_PREFIXES)}
    # Tools and hooks of the real user must not leak in through XDG folders either.
    for key in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env.pop(key, None)
    env.update(
        HOME=str(home),
        ANTHROPIC_API_KEY=FAKE_API_KEY,
        ANTHROPIC_BASE_URL=base_url,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        CLAUDE_CODE_MAX_RETRIES="0",
    )
    if env_extra:
        env.update(env_extra)
    return env


def run_claude(
    bin: str | os.PathLike[str],
    prompt: str,
    *,
    cwd: str | os.PathLike[str],
    home: str | os.PathLike[str],
    base_url: str,
    env_extra: Mapping[str, str] | None = None,
    settings: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    allowed_tools: Iterable[str] | str | None = DEFAULT_ALLOWED_TOOLS,
    debug_file: str | os.PathLike[str] | None = None,
    output_format: str = "json",
    extra_args: Iterable[str] = (),
    timeout: float = 120,
    wrapper: Iterable[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``claude -p PROMPT`` headless and return the finished process.

    ``settings`` is passed to ``--settings``: a path, or a mapping that is
    serialised to JSON. ``allowed_tools=None`` leaves ``--allowedTools`` out
    (tool calls then need permission). ``debug_file`` adds ``--debug-file``,
    which logs each hook's exit code, stdout and stderr. ``wrapper`` is put before the
    command (``strace -f ... --``, say). stdin is closed.
    """
    Path(home).mkdir(parents=True, exist_ok=True)
    args = [str(bin), "-p", prompt, "--output-format", output_format]
    if output_format == "stream-json":
        args.append("--verbose")
    if allowed_tools is not None:
        tools = allowed_tools if isinstance(allowed_tools, str) else " ".join(allowed_tools)
        args += ["--allowedTools", tools]
    if settings is not None:
        if isinstance(settings, Mapping):
            args += ["--settings", json.dumps(settings)]
        else:
            args += ["--settings", str(settings)]
    if debug_file is not None:
        args += ["--debug-file", str(debug_file)]
    args += list(extra_args)
    return subprocess.run(
        [*wrapper, *args],
        cwd=cwd,
        env=claude_env(home=home, base_url=base_url, env_extra=env_extra),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
