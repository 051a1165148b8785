"""Doctor checks of the state root: writable, private, no orphan temp files, no held locks,
and the plugins that fail to load. Each returns :class:`Finding` objects (see
:mod:`hooks.tooling.doctor`)."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from pathlib import Path

__all__ = ["Finding", "check_locks", "check_orphans", "check_plugins", "check_state_root",
           "find_orphans"]

#: ``.<name>.<pid>.<hex>.tmp`` (documents, settings files) and ``<name>.<pid>[.<hex>].tmp``
#: (the registry cache): temp files of an atomic write that did not finish.
_TMP_NAMES = (re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]+\.tmp$"),
              re.compile(r"^(?P<name>[^.].*?)\.(?P<pid>\d+)(?:\.[0-9a-f]{8})?\.tmp$"))
#: On Windows a dead pid cannot be told apart cheaply; an old temp file is taken as orphan.
_WINDOWS_ORPHAN_AGE = 3600.0


class Finding:
    """One line of the report: ``level`` is ``ok``, ``warn`` or ``fail``."""

    __slots__ = ("check", "fix", "level", "message")

    def __init__(self, level: str, check: str, message: str, fix: str | None = None) -> None:
        self.level = level
        self.check = check
        self.message = message
        self.fix = fix

    def to_json(self) -> dict[str, str | None]:
        return {"level": self.level, "check": self.check, "message": self.message,
                "fix": self.fix}


def check_state_root(home: str) -> list[Finding]:
    root = Path(home)
    if not root.exists():
        parent = next((p for p in root.parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK | os.X_OK):
            return [Finding("ok", "state root", f"{root} does not exist yet; the first event "
                            "creates it (mode 0700)")]
        return [Finding("fail", "state root", f"{root} does not exist and {parent} is not "
                        "writable", f"create it: mkdir -p -m 700 {root}, or set ORCHESTRA_HOME")]
    if not root.is_dir():
        return [Finding("fail", "state root", f"{root} is not a folder",
                        "move it away or set ORCHESTRA_HOME to a folder")]
    try:
        fd, probe = tempfile.mkstemp(dir=root, prefix=".orchestra-doctor-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return [Finding("fail", "state root", f"{root} is not writable ({exc.strerror})",
                        f"chown/chmod it so this user can write: chmod u+rwx {root}")]
    found = [Finding("ok", "state root", f"{root} is writable")]
    if os.name == "nt":
        return found
    mode = stat.S_IMODE(root.stat().st_mode)
    if mode & 0o077:
        found.append(Finding("warn", "permissions", f"{root} has mode {mode:o}: other users "
                             "can read session state", f"chmod 700 {root}"))
    exposed = sum(1 for p in _walk(root) if stat.S_IMODE(p.lstat().st_mode) & 0o077)
    if exposed:
        found.append(Finding("warn", "permissions", f"{exposed} file(s) below {root} are "
                             "readable by other users", f"chmod -R go-rwx {root}"))
    elif not mode & 0o077:
        found.append(Finding("ok", "permissions", f"{root} and its files are private (0700/0600)"))
    return found


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    for folder, dirs, files in os.walk(root):  # does not follow symlinked folders
        out.extend(Path(folder, name) for name in files + dirs)
    return out


def _pid_alive(pid: int) -> bool | None:
    if os.name == "nt":
        return None
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def find_orphans(home: str) -> list[Path]:
    """Temp files whose writer is dead (see :data:`_TMP_NAMES`)."""
    orphans = []
    for path in _walk(Path(home)) if os.path.isdir(home) else ():
        match = next((m for m in (r.match(path.name) for r in _TMP_NAMES) if m), None)
        if match is None or not path.is_file():
            continue
        alive = _pid_alive(int(match.group("pid")))
        if alive is None:
            alive = time.time() - path.lstat().st_mtime < _WINDOWS_ORPHAN_AGE
        if not alive:
            orphans.append(path)
    return orphans


def check_orphans(home: str, fix: bool) -> list[Finding]:
    orphans = find_orphans(home)
    if not orphans:
        return [Finding("ok", "temp files", "no orphan temp files")]
    if fix:
        removed = 0
        for path in orphans:
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        return [Finding("ok" if removed == len(orphans) else "warn", "temp files",
                        f"removed {removed} of {len(orphans)} orphan temp file(s)")]
    sample = ", ".join(str(p) for p in orphans[:3])
    return [Finding("warn", "temp files", f"{len(orphans)} orphan temp file(s) left by killed "
                    f"writers ({sample}{', ...' if len(orphans) > 3 else ''})",
                    "python -m hooks doctor --fix removes them")]


def check_locks(home: str) -> list[Finding]:
    """Lock files are never stale (the OS drops a dead process's lock), but one held now
    may belong to a hung hook; a symlinked lock is refused by the store."""
    if os.name == "nt" or not os.path.isdir(home):
        return []
    import fcntl

    held, linked, total = [], [], 0
    for path in _walk(Path(home)):
        if not path.name.endswith(".lock"):
            continue
        total += 1
        if path.is_symlink():
            linked.append(path)
            continue
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            held.append(path)
        finally:
            os.close(fd)
    found = []
    for path in linked:
        found.append(Finding("fail", "locks", f"{path} is a symlink; writes to that document "
                             "are refused", f"rm {path}"))
    if held:
        found.append(Finding("warn", "locks", f"{len(held)} lock(s) held right now "
                             f"({', '.join(str(p) for p in held[:3])}); fine while a hook "
                             "writes, a hung hook if it stays so",
                             "if it persists: fuser -v <lock file>, then end that process"))
    if not found:
        found.append(Finding("ok", "locks", f"{total} lock file(s), none held"))
    return found


def check_plugins(home: str) -> list[Finding]:
    from hooks.registry import build_table

    try:
        plugins = build_table(home).plugins
    except Exception as exc:
        return [Finding("fail", "plugins", f"the plugin registry cannot be built: "
                        f"{type(exc).__name__}: {exc}", "reinstall Orchestra: pip install -e .")]
    found = []
    for plugin in plugins:
        if plugin.get("status") == "error":
            name = plugin.get("name")
            found.append(Finding("fail", "plugins", f"plugin {name} ({plugin.get('source')}) "
                                 f"failed to load: {plugin.get('error')}",
                                 f"fix or upgrade it, or disable it: "
                                 f"ORCHESTRA_DISABLED_PLUGINS={name} (or config plugins.disabled)"))
    loaded = sum(1 for p in plugins if p.get("status") == "loaded")
    if not found:
        found.append(Finding("ok", "plugins", f"{loaded} plugin(s) loaded, none failed"))
    return found
