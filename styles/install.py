"""Installing the output styles where Claude Code looks for them.

``--user`` (default) writes to ``~/.claude/output-styles/`` (``$CLAUDE_CONFIG_DIR``
when set), ``--project DIR`` to ``DIR/.claude/output-styles/``. Files are named
``orchestra-<style>.md`` so they sit beside the user's own styles.

Safe to run again: an identical file is left alone; a file Orchestra installed
and nobody changed since (its hash is in ``.orchestra-styles.json`` next to it)
is updated; any other file of the same name — the user's own, or one they
edited — is never overwritten without ``--force``. If any file would be refused,
nothing is written at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from state.errors import ConflictError
from styles import STYLES, style_path

__all__ = ["MANIFEST", "Action", "install_styles", "plan", "target_dir"]

MANIFEST = ".orchestra-styles.json"


@dataclass(frozen=True)
class Action:
    stem: str
    path: Path
    verb: str  #: install, update, unchanged, replace (--force) or conflict
    content: bytes


def target_dir(*, project: Path | None) -> Path:
    if project is not None:
        return project / ".claude" / "output-styles"
    config = os.environ.get("CLAUDE_CONFIG_DIR")
    base = Path(config).expanduser() if config else Path.home() / ".claude"
    return base / "output-styles"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def plan(folder: Path, *, force: bool) -> list[Action]:
    """What installing into ``folder`` would do, style by style (nothing is written)."""
    ours = _manifest(folder)
    actions = []
    for stem in STYLES:
        content = style_path(stem).read_bytes()
        path = folder / f"orchestra-{stem}.md"
        if path.is_symlink() or path.exists():
            try:
                existing = None if path.is_symlink() else path.read_bytes()
            except OSError:
                existing = None
            if existing == content:
                verb = "unchanged"
            elif existing is not None and ours.get(path.name) == _digest(existing):
                verb = "update"  # we wrote it and nobody has touched it since
            else:
                verb = "replace" if force else "conflict"
        else:
            verb = "install"
        actions.append(Action(stem, path, verb, content))
    return actions


def _write(path: Path, data: bytes) -> None:
    """Atomically: a temp file in the same folder, then ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)  # an ordinary file, not mkstemp's 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # replaces a symlink itself, never what it points to
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install_styles(folder: Path, *, force: bool = False, dry_run: bool = False) -> list[Action]:
    """Install (or, with ``dry_run``, plan) every style; ConflictError if one is refused."""
    actions = plan(folder, force=force)
    refused = [a for a in actions if a.verb == "conflict"]
    if refused:
        names = ", ".join(str(a.path) for a in refused)
        raise ConflictError(
            f"{names} already exist{'s' if len(refused) == 1 else ''} and differ"
            f"{'s' if len(refused) == 1 else ''} from Orchestra's styles; nothing installed "
            "(use --force to overwrite)")
    if dry_run:
        return actions
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(folder)
    for action in actions:
        if action.verb != "unchanged":
            _write(action.path, action.content)
        manifest[action.path.name] = _digest(action.content)
    _write(folder / MANIFEST, (json.dumps({"files": dict(sorted(manifest.items()))}, indent=2)
                               + "\n").encode("utf-8"))
    return actions
