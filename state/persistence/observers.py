"""Store observers: code outside the store that wants to hear of committed changes.

The store knows nothing of hooks or plugins. A package that wants every change made
through a CLI (``state_manager set``, ``shared_state set-config``...) declares a callable
``attach(store, root)`` under the entry-point group :data:`GROUP`; Orchestra's own hooks
runtime declares ``hooks.state_triggers:attach`` there, which turns changes into
``on_state_change`` calls. The group is read only when the first change is committed,
so read-only commands never pay for scanning installed distributions.

Scanning them means importing :mod:`importlib.metadata` (about 20 ms: email, zipfile,
csv...), more than the rest of a ``state_manager set``. What it finds is cached under
the state root (``cache/observers-<interpreter>.json``) with the fingerprint the
dispatch table uses: the interpreter and the mtimes of the folders on ``sys.path``,
which installing or removing a distribution changes. ``ORCHESTRA_NO_CACHE=1`` scans
every time.
"""

from __future__ import annotations

import json
import os
import sys

from state.process import search_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

__all__ = ["GROUP", "attach_observers", "search_path"]

GROUP = "orchestra.store_observers"


def attach_observers(store: Storage, root: str) -> None:
    """Have the observers of :data:`GROUP` see every change ``store`` commits from now on."""
    attached = False

    def attach() -> None:
        nonlocal attached
        if attached:
            return
        attached = True
        for observer in _load(root):
            try:
                observer(store, root)
            except Exception as exc:  # an observer must never break a committed write
                sys.stderr.write(f"orchestra: store observer {observer!r} failed: {exc}\n")

    def first_change(key: str, old: Any, new: Any) -> None:
        # What the observers subscribe now is called for this change too, right after this
        # listener (see Storage.subscribe): calling it here as well made it see it twice.
        attach()

    def wants(key: str) -> bool:
        """Asked before a change that would not hand over whole documents (see
        Storage.member_transaction): attach the observers, whose own listeners are asked
        next; this one never needs the documents."""
        attach()
        return False

    first_change.wants = wants  # type: ignore[attr-defined]
    store.subscribe(first_change)


def _load(root: str) -> list[Any]:
    found = []
    for _name, value in _entry_points(root):
        try:
            found.append(_resolve(value))
        except Exception as exc:
            sys.stderr.write(f"orchestra: cannot load store observer {value}: {exc}\n")
    return found


def _resolve(value: str) -> Any:
    """What ``EntryPoint.load()`` returns for ``module:attr.path [extras]``."""
    import importlib  # only when an observer is loaded

    module, _, attrs = value.partition("[")[0].partition(":")
    target: Any = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        target = getattr(target, attr)
    return target


def _entry_points(root: str) -> list[tuple[str, str]]:
    """(name, value) of every entry point of :data:`GROUP`, sorted by name."""
    if os.environ.get("ORCHESTRA_NO_CACHE"):
        return _scan()
    path = _cache_file(root)
    stamp = _fingerprint()
    cached = _read_cache(path, stamp)
    if cached is not None:
        return cached
    found = _scan()
    _write_cache(path, stamp, found)
    return found


def _scan() -> list[tuple[str, str]]:
    from importlib.metadata import entry_points  # ~20 ms: only when the cache is stale

    return sorted((entry.name, entry.value) for entry in entry_points(group=GROUP))


def _fingerprint() -> list[str]:
    parts = [sys.executable, sys.version]
    for folder in search_path():
        try:
            parts.append(f"{folder}@{os.stat(folder).st_mtime_ns}")
        except OSError:
            parts.append(f"{folder}@-")
    return parts


def _cache_file(root: str) -> str:
    tag = 0xCBF29CE484222325  # FNV-1a of the interpreter: one cache per interpreter
    for byte in sys.executable.encode("utf-8", "replace"):
        tag = ((tag ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(root, "cache", f"observers-{tag:016x}.json")


def _read_cache(path: str, stamp: list[str]) -> list[tuple[str, str]] | None:
    try:
        if os.path.islink(os.path.dirname(path)):
            return None  # a symlinked cache folder leads outside the state root
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            data = json.loads(fh.read())
        if data["fingerprint"] != stamp:
            return None
        entries = [(name, value) for name, value in data["entry_points"]]
        if all(isinstance(n, str) and isinstance(v, str) for n, v in entries):
            return entries
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing, stale or damaged: scan again
    return None


def _write_cache(path: str, stamp: list[str], entries: list[tuple[str, str]]) -> None:
    # Private, never through a symlink: the cache says which modules get imported.
    folder = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        from state.persistence.filestore import (
            make_private_dirs,  # only when the cache is rewritten
        )

        make_private_dirs(folder)
        if os.path.islink(folder):
            return
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(tmp, flags, 0o600), "w", encoding="utf-8") as fh:
            json.dump({"fingerprint": stamp, "entry_points": entries}, fh)
        os.replace(tmp, path)
    except OSError:
        from contextlib import suppress  # the error path

        with suppress(OSError):
            os.unlink(tmp)
