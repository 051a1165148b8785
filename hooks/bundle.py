"""Writing the module bundle that :class:`hooks.boot.ModuleBundle` serves modules from.

A dispatch that imported some of Orchestra's modules the usual way (none was bundled yet,
or its source changed since) calls :func:`save_bundle` once it has replied: the bundle is
rewritten with those modules' code added, each with its source file's modification time
and size, taken before and after its code was read so that a file changed meanwhile is
left out. Like a ``.pyc``, the bundle is a cache: written atomically (a reader sees the
old bundle or the new one), never required, and a failure to write it is ignored.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys

from hooks.boot import BUNDLE_FORMAT, BUNDLE_MAGIC, ModuleBundle, bundle_path

__all__ = ["save_bundle"]


def save_bundle(bundle: ModuleBundle) -> bool:
    """Rewrite ``bundle``'s file with the modules it missed added; False if nothing was
    written (nothing to add, or the folder is not writable)."""
    from _frozen_importlib_external import SourceFileLoader

    prefix = bundle.root + os.sep
    found = []
    for name in sorted(bundle.missed):
        module = sys.modules.get(name)
        spec = getattr(module, "__spec__", None)
        file = getattr(module, "__file__", None)
        loader = getattr(spec, "loader", None)
        if (spec is None or not isinstance(file, str) or not file.startswith(prefix)
                or not file.endswith(".py") or type(loader) is not SourceFileLoader):
            continue  # not one of this install's source modules (or already bundled)
        found.append((name, spec, file, loader))
    stale = bundle.missed & bundle.index.keys()  # bundled, but their source changed since
    if not found and not stale:
        return False  # e.g. only probes for modules that do not exist: nothing read
    path = bundle_path(bundle.root)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # O_EXCL, as CPython writes a .pyc: never through a file or link already there
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o644)
    except OSError:
        return False  # first: a read-only install reads (or compiles) nothing for it
    try:
        with open(fd, "wb") as out:
            entries: dict[str, tuple[str, int, int, bool, bytes]] = {}
            for name, entry in bundle.index.items():  # what stays, as it was bundled
                if name not in bundle.missed:
                    try:
                        entries[name] = (*entry[:4], bundle.code(name))
                    except (OSError, ValueError, EOFError, MemoryError):
                        continue
            for name, spec, file, loader in found:
                try:
                    before = os.stat(file)
                    code = loader.get_code(name)
                    after = os.stat(file)
                except (OSError, ImportError, SyntaxError, ValueError):  # ValueError: a NUL
                    continue
                if (before.st_mtime_ns, before.st_size) != (after.st_mtime_ns, after.st_size):
                    continue  # changed while it was read: bundled by a later dispatch
                entries[name] = (file, after.st_mtime_ns, after.st_size,
                                 spec.submodule_search_locations is not None,
                                 marshal.dumps(code))
            out.write(_layout(bundle.root, entries))
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def _layout(root: str, entries: dict[str, tuple[str, int, int, bool, bytes]]) -> bytes:
    """The bundle's bytes (see :data:`hooks.boot.BUNDLE_FORMAT`)."""
    index: dict[str, tuple[str, int, int, bool, int, int]] = {}
    offset = 0
    for name, (file, mtime_ns, size, package, code) in entries.items():
        index[name] = (file, mtime_ns, size, package, offset, len(code))
        offset += len(code)
    # offsets so far count from the first module's code: shift them past the index
    head = marshal.dumps((BUNDLE_FORMAT, root, index))
    while True:
        start = len(BUNDLE_MAGIC) + 4 + len(head)
        shifted = {n: (*e[:4], e[4] + start, e[5]) for n, e in index.items()}
        again = marshal.dumps((BUNDLE_FORMAT, root, shifted))
        if len(again) == len(head):
            head = again
            break
        head = again  # the numbers grew the index: place the code after it once more
    return b"".join([BUNDLE_MAGIC, len(head).to_bytes(4, "little"), head,
                     *(entry[4] for entry in entries.values())])
