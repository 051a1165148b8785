"""``orchestra install|uninstall --agent codex|gemini [--scope user|project]``.

**Codex CLI.** The hooks go into ``hooks.json`` (``--scope user``: ``$CODEX_HOME/hooks.json``,
default ``~/.codex``; ``--scope project``: ``<project>/.codex/hooks.json``, which Codex reads
only for a project the user trusts), and for each of Orchestra's hooks a trust entry goes
into the user's ``$CODEX_HOME/config.toml`` (``[hooks.state."<path>:<event>:<group>:<handler>"]
trusted_hash = ...``, see :mod:`hooks.tooling.agent_registration`), so Codex runs them
without ``--dangerously-bypass-hook-trust``. The output names what was trusted and how to
revoke it. ``config.toml`` is edited with tomlkit (``pip install 'orchestra[agents]'``),
which keeps the user's formatting and comments.

**Gemini CLI.** The hooks go into ``settings.json`` (``~/.gemini/settings.json``, or
``<project>/.gemini/settings.json``); Gemini needs no trust step for user hooks and asks
about project hooks itself.

Like Claude Code's install: the interpreter is checked first, every file is backed up
before it changes (``<name>.orchestra-<UTC time>.bak``), ``--dry-run`` prints the diffs, a
second run changes nothing, a file that is not valid JSON or TOML is refused and left
untouched, and exactly Orchestra's entries are added or removed.

**As it was.** Each file install changes is noted in ``<state root>/installs/<agent>.json``
(its backup and the SHA-256 of what was there and of what install wrote). Uninstall puts a
file that nobody changed since back byte for byte (removes it if install created it);
a file changed since is edited instead: Orchestra's entries and trust keys go, everything
else stays (in TOML with its formatting).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hooks.agents import DISPLAY
from hooks.tooling import agent_registration as reg
from hooks.tooling.cli import CliError
from hooks.tooling.settings_file import SettingsFile, diff, render, save
from hooks.tooling.settings_file import load as load_json

if TYPE_CHECKING:
    import argparse

    from hooks.tooling.cli import Streams

__all__ = ["codex_config_path", "codex_home", "hooks_path", "install", "uninstall"]

AGENT_SCOPES = ("user", "project")


def codex_home() -> Path:
    configured = os.environ.get("CODEX_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".codex"


def codex_config_path() -> Path:
    return codex_home() / "config.toml"


def hooks_path(agent: str, scope: str, project_dir: str | None) -> Path:
    """The file that holds the agent's hooks for ``scope``."""
    if scope not in AGENT_SCOPES:
        raise CliError(f"--scope {scope} is not a scope of {DISPLAY[agent]} (use user or "
                       "project)")
    if agent == "codex":
        if scope == "user":
            return codex_home() / "hooks.json"
        return Path(project_dir or os.getcwd()).absolute() / ".codex" / "hooks.json"
    if scope == "user":
        return Path.home() / ".gemini" / "settings.json"
    return Path(project_dir or os.getcwd()).absolute() / ".gemini" / "settings.json"


# -- TOML (Codex's config.toml) --------------------------------------------------------------


def _tomlkit() -> Any:
    try:
        import tomlkit
    except ImportError:
        raise CliError("editing Codex's config.toml needs tomlkit: pip install "
                       "'orchestra[agents]' into Orchestra's environment") from None
    return tomlkit


class TomlFile:
    """``config.toml`` as read: the exact bytes and the tomlkit document."""

    def __init__(self, path: Path) -> None:
        self.settings = _read_raw(path)
        tomlkit = _tomlkit()
        try:
            self.doc = tomlkit.parse(self.settings.text)
        except Exception as exc:  # tomlkit's ParseError and friends
            raise CliError(f"{path} is not valid TOML ({exc}). {path} is left untouched; "
                           "fix it by hand and run again") from None
        hooks = self.doc.get("hooks")
        state = hooks.get("state") if isinstance(hooks, dict) else None
        for name, value in (("hooks", hooks), ("hooks.state", state)):
            if value is not None and not isinstance(value, dict):
                raise CliError(f"{path}: {name} must be a table, not "
                               f"{type(value).__name__.lower()}. {path} is left untouched; "
                               "fix it by hand and run again")

    def trusted(self) -> dict[str, str]:
        """Every ``hooks.state`` entry's trusted_hash, by key."""
        state = self.doc.get("hooks", {}).get("state", {})
        return {str(k): str(v.get("trusted_hash")) for k, v in state.items()
                if hasattr(v, "get") and v.get("trusted_hash") is not None}

    def with_trust(self, add: dict[str, str], drop: set[str],
                   rename: dict[str, str]) -> str:
        """The text with ``add`` trusted, ``drop`` keys removed and ``rename`` keys moved."""
        tomlkit = _tomlkit()
        doc = tomlkit.parse(self.settings.text)
        hooks = doc.get("hooks")
        state = hooks.get("state") if hooks is not None else None
        if state is not None:
            for key in drop:
                if key in state:
                    del state[key]
            for old, new in sorted(rename.items(), key=_position):  # lower first: no clash
                if old in state and new not in state:
                    value = state[old]
                    del state[old]
                    state[new] = value
            if not state and drop:
                del hooks["state"]
                if not hooks:
                    del doc["hooks"]
        if add:
            from tomlkit.items import InlineTable

            if "hooks" not in doc:
                doc["hooks"] = tomlkit.table(is_super_table=True)
            hooks = doc["hooks"]
            if "state" not in hooks:  # an inline table holds only inline tables
                hooks["state"] = (tomlkit.inline_table() if isinstance(hooks, InlineTable)
                                  else tomlkit.table(is_super_table=True))
            state = hooks["state"]
            for key, value in add.items():
                if key in state and hasattr(state[key], "get"):
                    state[key]["trusted_hash"] = value
                else:
                    table = (tomlkit.inline_table() if isinstance(state, InlineTable)
                             else tomlkit.table())
                    table["trusted_hash"] = value
                    state[key] = table
        text: str = tomlkit.dumps(doc)
        if drop and not add and text.endswith("\n\n") and not self.settings.text.endswith("\n\n"):
            text = text.rstrip("\n") + "\n"  # the blank line before a removed table stays
        return text


def _position(item: tuple[str, str]) -> tuple[str, int, int]:
    """A trust key's (file and event, group, handler), numbers compared as numbers."""
    head, group, handler = item[0].rsplit(":", 2)
    return head, int(group) if group.isdigit() else 0, int(handler) if handler.isdigit() else 0


_COMMENT = re.compile(rb'^\s*(//|/\*)|,\s*(//|/\*)', re.MULTILINE)


def load(path: Path) -> SettingsFile:
    """The agent's JSON settings; a file with comments (Gemini CLI strips them before it
    parses) is refused with that reason, since writing it back as JSON would drop them."""
    try:
        return load_json(path)
    except CliError as exc:
        try:
            raw = path.read_bytes()
        except OSError:
            raise exc from None
        if path.name == "settings.json" and _COMMENT.search(raw):  # Gemini's, not Codex's
            raise CliError(f"{path} holds comments: Gemini CLI allows them, but Orchestra "
                           "edits the file as JSON and would drop them. It is left "
                           "untouched; take them out (or keep them as \"//\" keys) and run "
                           "again") from None
        raise


def _read_raw(path: Path) -> SettingsFile:
    try:
        raw: bytes | None = path.read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    settings = SettingsFile(path, raw, {})
    if raw is not None:
        try:
            raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CliError(f"{path} is not UTF-8 text; it is left untouched") from None
    return settings


# -- the record of what install changed -------------------------------------------------------


def _sha(raw: bytes | None) -> str | None:
    return None if raw is None else hashlib.sha256(raw).hexdigest()


def _record_path(agent: str) -> Path:
    from hooks.dispatch import state_home

    return Path(state_home()) / "installs" / f"{agent}.json"


def _read_record(agent: str) -> dict[str, Any]:
    try:
        data = json.loads(_record_path(agent).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_record(agent: str, record: dict[str, Any]) -> None:
    from state.paths import make_private_dirs

    path = _record_path(agent)
    make_private_dirs(path.parent)  # in the state root: private, the root too if made here
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(tmp, flags, 0o600), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(record, indent=2) + "\n")
    os.chmod(tmp, 0o600)  # (a temp file left by a killed writer keeps its old mode)
    os.replace(tmp, path)


class Change:
    """One file install or uninstall changes: the file as read and the new text (None: the
    file is to be removed)."""

    def __init__(self, settings: SettingsFile, new: str | None, pristine: bool) -> None:
        self.settings = settings
        self.new = new
        #: the file as read holds nothing of Orchestra's (its bytes are what "as it was" is)
        self.pristine = pristine

    @property
    def changes(self) -> bool:
        new = None if self.new is None else self.new.encode("utf-8")
        return new != self.settings.raw

    def diff(self) -> str:
        return diff(self.settings, self.new or "")


def _apply(changes: list[Change], agent: str, args: argparse.Namespace, io: Streams,
           installing: bool) -> list[Change]:
    """Show (``--dry-run``) or write the changes, backing up first; note them in the record."""
    todo = [c for c in changes if c.changes]
    if args.dry_run:
        for change in todo:
            io.out.write(change.diff() or f"{change.settings.path}: removed\n")
        if not todo:
            io.out.write("nothing to change\n")
        return []
    record = _read_record(agent)
    for change in todo:
        path = change.settings.path
        key = str(path)
        before = _sha(change.settings.raw)
        if change.new is None:
            if change.settings.exists:
                os.unlink(os.path.realpath(path))
            io.out.write(f"{path}: removed (install had created it)\n")
            record.pop(key, None)
            continue
        backup = save(change.settings, change.new)
        io.out.write(f"{path}: {'written' if change.settings.exists else 'created'}"
                     + (f" (backup: {backup})" if backup else "") + "\n")
        written = _sha(change.new.encode("utf-8"))
        if not installing:
            record.pop(key, None)
            continue
        previous = record.get(key)
        if isinstance(previous, dict) and previous.get("written") == before:
            previous["written"] = written  # a re-install: the original stays the original
        elif change.pristine:
            record[key] = {"created": not change.settings.exists, "original": before,
                           "backup": str(backup) if backup else None, "written": written}
        else:  # Orchestra's entries were there already: the original is not known
            record[key] = {"created": False, "original": None, "backup": None,
                           "written": written}
    _write_record(agent, record)
    return todo


def _restore(settings: SettingsFile, agent: str) -> Change | None:
    """The change that puts a file back as it was before install, if nobody changed it since."""
    entry = _read_record(agent).get(str(settings.path))
    if not isinstance(entry, dict) or entry.get("written") != _sha(settings.raw):
        return None
    if entry.get("created") is True:
        return Change(settings, None, True)
    if not entry.get("original") or not entry.get("backup"):
        return None
    try:
        raw = Path(str(entry["backup"])).read_bytes()
    except OSError:
        return None
    if _sha(raw) != entry["original"]:
        return None
    return Change(settings, raw.decode("utf-8"), True)  # a BOM stays a BOM


# -- install and uninstall ------------------------------------------------------------------


def install(args: argparse.Namespace, io: Streams, python: str) -> int:
    agent = args.agent
    path = hooks_path(agent, args.scope, args.project_dir)
    hooks_file = load(path)
    new_data = reg.merge(hooks_file.data, python, agent)
    changes = [Change(hooks_file, render(new_data) if new_data != hooks_file.data
                      else hooks_file.text, not reg.positions(hooks_file.data, agent))]
    trust: dict[str, str] = {}
    if agent == "codex":
        config = TomlFile(codex_config_path())
        trust = reg.codex_trust(new_data, str(path))
        current = config.trusted()
        add = {k: v for k, v in trust.items() if current.get(k) != v}
        text = config.with_trust(add, set(), {}) if add else config.settings.text
        changes.append(Change(config.settings, text, not _orchestra_trust(config, path)))
    for change in changes:
        _note_created(change)
    done = _apply(changes, agent, args, io, installing=True)
    if args.dry_run:
        return 0
    events = len(reg.events_for(agent))
    command = reg.command_for(python, agent)
    if not done:
        io.out.write(f"{path}: nothing to change (already installed)\n")
    else:
        io.out.write(f"{DISPLAY[agent]}: Orchestra runs {command} for {events} events "
                     f"({path})\n")
    if agent == "codex":
        io.out.write(f"trusted in {codex_config_path()}: {len(trust)} hooks of {path} "
                     "(one [hooks.state.\"<file>:<event>:<group>:<handler>\"] trusted_hash "
                     "each), so Codex runs them without --dangerously-bypass-hook-trust. "
                     f"Revoke: orchestra uninstall --agent codex --scope {args.scope}, or "
                     "delete those tables (Codex then skips the hooks).\n")
        if args.scope == "project":
            _note_project_trust(path.parent.parent, io)
    else:
        io.out.write("Gemini CLI runs user hooks as they are; it asks once about project "
                     "hooks. Headless runs (gemini -p) need --approval-mode yolo for shell "
                     "and file tools.\n")
    from hooks.dispatch import state_home
    from hooks.launcher import ensure_launcher

    folder = ensure_launcher(state_home(), python)
    io.out.write(f"orchestra for the model's shell: {os.path.join(folder, 'orchestra')} "
                 "(named in the context Orchestra gives the model, with the session id)\n")
    return 0


def _note_created(change: Change) -> None:
    """A file install creates is pristine as nothing: uninstall removes it again."""
    if not change.settings.exists:
        change.pristine = True


def _orchestra_trust(config: TomlFile, hooks_file: Path) -> bool:
    """The config already trusts hooks of ``hooks_file`` that look like Orchestra's."""
    data = load(hooks_file).data
    keys = reg.codex_trust(data, str(hooks_file))
    return any(key in config.trusted() for key in keys)


def _note_project_trust(project: Path, io: Streams) -> None:
    config = TomlFile(codex_config_path())
    projects = config.doc.get("projects", {})
    entry: Any = projects.get(str(project)) if hasattr(projects, "get") else None
    level = entry.get("trust_level") if entry is not None and hasattr(entry, "get") else None
    if level != "trusted":
        io.err.write(f"note: Codex reads {project}/.codex/ only for a trusted project; "
                     f"{project} is not trusted in {codex_config_path()} (Codex asks when you "
                     "start it there, or use --scope user)\n")


def uninstall(args: argparse.Namespace, io: Streams) -> int:
    agent = args.agent
    path = hooks_path(agent, args.scope, args.project_dir)
    hooks_file = load(path)
    found = reg.positions(hooks_file.data, agent)
    changes: list[Change] = []
    restored = _restore(hooks_file, agent)
    if restored is not None:
        changes.append(restored)
    elif found:
        new_data, moved = reg.remove(hooks_file.data, agent)
        changes.append(Change(hooks_file, None if _emptied(new_data, hooks_file, agent)
                              else render(new_data), False))
    else:
        moved = {}
    if agent == "codex":
        config = TomlFile(codex_config_path())
        restored_config = _restore(config.settings, agent)
        if restored_config is not None:
            changes.append(restored_config)
        else:
            ours = set(reg.codex_trust(hooks_file.data, str(path)))
            drop = ours & set(config.trusted())
            rename = {} if restored is not None else {
                f"{path}:{old}": f"{path}:{new}" for old, new in moved.items()}
            if drop or rename:
                changes.append(Change(config.settings, config.with_trust({}, drop, rename),
                                      False))
    done = _apply(changes, agent, args, io, installing=False)
    if args.dry_run:
        return 0
    if not found and not done:
        io.out.write(f"{path}: nothing to change (Orchestra is not installed there)\n")
    else:
        io.out.write(f"{DISPLAY[agent]}: removed {len(found)} Orchestra hook(s) from {path}; "
                     "other hooks kept" + ("; their trust entries removed from "
                                           f"{codex_config_path()}" if agent == "codex" else "")
                     + "\n")
    return 0


def _emptied(data: dict[str, Any], settings: SettingsFile, agent: str) -> bool:
    """Install created the file and nothing is left in it."""
    entry = _read_record(agent).get(str(settings.path))
    return isinstance(entry, dict) and entry.get("created") is True \
        and data in ({}, {"hooks": {}})
