"""Claude Code settings files: where they are, reading them strictly, changing them safely.

* :func:`settings_path` — ``user`` is ``~/.claude/settings.json`` (``$HOME`` is honoured),
  ``project`` is ``DIR/.claude/settings.json``, ``local`` is ``DIR/.claude/settings.local.json``.
* :func:`load` refuses anything that is not a JSON object with a well-formed ``hooks``
  table (:class:`~hooks.tooling.cli.CliError`); an absent or blank file reads as ``{}``.
* :func:`save` writes a timestamped backup first (``<name>.orchestra-<UTC time>.bak``,
  same folder, same bytes), then the new text atomically: temp file in the same folder,
  fsync, ``os.replace``, fsync of the folder. A settings file that is a symlink (dotfile
  managers) is written through to its target, so the link survives. If the file changed
  since it was read (Claude Code's ``/config`` writes it too), nothing is written.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from hooks.tooling.cli import CliError

__all__ = ["SCOPES", "SettingsFile", "diff", "load", "render", "save", "settings_path"]

SCOPES = ("user", "project", "local")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def settings_path(scope: str, project_dir: str | os.PathLike[str] | None = None) -> Path:
    if scope == "user":
        return Path(os.path.expanduser("~")) / ".claude" / "settings.json"
    base = Path(project_dir) if project_dir is not None else Path.cwd()
    name = {"project": "settings.json", "local": "settings.local.json"}.get(scope)
    if name is None:
        raise CliError(f"unknown scope {scope!r} (use one of {', '.join(SCOPES)})")
    return base.absolute() / ".claude" / name


class SettingsFile:
    """One settings file as read: ``data`` (a fresh dict) and the exact ``raw`` bytes."""

    def __init__(self, path: Path, raw: bytes | None, data: dict[str, Any]) -> None:
        self.path = path
        self.raw = raw  # None: the file does not exist
        self.data = data

    @property
    def exists(self) -> bool:
        return self.raw is not None

    @property
    def text(self) -> str:
        return "" if self.raw is None else self.raw.decode("utf-8-sig", "replace")


def load(path: Path) -> SettingsFile:
    """Read ``path``; :class:`CliError` (file untouched) when it is not usable settings."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return SettingsFile(path, None, {})
    except IsADirectoryError:
        raise CliError(f"{path} is a directory, not a settings file") from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    return SettingsFile(path, raw, parse(path, raw))


def parse(path: Path, raw: bytes) -> dict[str, Any]:
    refuse = f"{path} is left untouched; fix it by hand (or restore a backup) and run again"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text. {refuse}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                       f"{exc.msg}). {refuse}") from None
    except (ValueError, RecursionError) as exc:
        raise CliError(f"{path} is not valid JSON ({exc}). {refuse}") from None
    if not isinstance(data, dict):
        raise CliError(f"{path} must hold a JSON object, not {type(data).__name__}. {refuse}")
    hooks = data.get("hooks")
    if hooks is not None:
        if not isinstance(hooks, dict):
            raise CliError(f"{path}: 'hooks' must be an object. {refuse}")
        for event, groups in hooks.items():
            if not isinstance(groups, list) or not all(
                    isinstance(g, dict) and isinstance(g.get("hooks", []), list) for g in groups):
                raise CliError(f"{path}: hooks.{event} must be a list of "
                               f'{{"matcher": ..., "hooks": [...]}} objects. {refuse}')
    return data


def render(data: dict[str, Any]) -> str:
    """The text Claude Code itself would write: two-space indent, UTF-8, final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def diff(settings: SettingsFile, new_text: str) -> str:
    name = str(settings.path)
    old = settings.text.splitlines(keepends=True)
    lines = difflib.unified_diff(old, new_text.splitlines(keepends=True),
                                 fromfile=name if settings.exists else "/dev/null", tofile=name)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def save(settings: SettingsFile, new_text: str) -> Path | None:
    """Back up (if the file exists) and replace the file; returns the backup path."""
    target = Path(os.path.realpath(settings.path))
    target.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    mode = None
    if settings.exists:
        assert settings.raw is not None
        mode = stat.S_IMODE(os.stat(target).st_mode)
        backup = _backup(target, settings.raw, mode)
    _write_atomic(target, new_text.encode("utf-8"), mode, settings.raw)
    return backup


def _backup(target: Path, raw: bytes, mode: int) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(1, 1000):
        suffix = "" if n == 1 else f"-{n}"
        path = target.with_name(f"{target.name}.orchestra-{stamp}{suffix}.bak")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, mode)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        return path
    raise CliError(f"cannot find a free backup name next to {target}")


def _write_atomic(target: Path, data: bytes, mode: int | None, expected: bytes | None) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    # 0o666 lets the umask decide for a new file, as any editor would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        try:
            current: bytes | None = target.read_bytes()
        except FileNotFoundError:
            current = None
        if current != expected:
            raise CliError(f"{target} changed while Orchestra was editing it (Claude Code may "
                           "have written it); nothing was written, run the command again")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return  # folders cannot be opened for fsync on Windows
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
