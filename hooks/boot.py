"""The hook command's entry: an interpreter start without ``site``, and Orchestra found
by the path the command names.

``orchestra install`` registers, in exec form (no shell)::

    {"type": "command", "command": "/abs/venv/bin/python",
     "args": ["-S", "-P", "-c", BOOT_CODE, "/abs/venv/lib/python3.X/site-packages"]}

``-S`` skips the ``site`` module: the site-packages folders, the virtualenv's ``.pth``
files and ``sitecustomize`` cost about a quarter of an interpreter start, and an event
that only Orchestra's own code handles needs none of it. :data:`BOOT_CODE` appends the
folder that holds Orchestra's packages (the last argument) to ``sys.path`` — after the
standard library, as ``site`` would — and calls :func:`main`. ``-P`` keeps the working
directory, which follows Claude's ``cd``, off ``sys.path``.

Third-party code still finds its packages: :func:`full_site` runs ``site`` as a normal
start would (every site-packages folder, ``.pth`` files, ``sitecustomize``), and it runs

* before a third-party plugin's module is imported (:meth:`hooks.registry.Call.resolve`)
  and before the dispatch table is rebuilt (pluggy, entry points);
* when any import of a top-level module that is not in the standard library fails to find
  it (:class:`SiteOnDemand`, the last finder on ``sys.meta_path``): a module is then looked
  up again with ``site`` in place, so that a code path that needs a third-party package
  (filelock where ``flock`` is missing, psycopg for a PostgreSQL store, a plugin's own
  dependencies) gets it as it would have.

``python -P -m hooks.dispatch`` (with ``site``) works as before.
"""

from __future__ import annotations

import _thread
import sys

# importlib's own machinery, loaded at every start (frozen): no import cost
from _frozen_importlib_external import (
    SourceFileLoader,
    cache_from_source,
    spec_from_file_location,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BOOT_CODE", "ModuleBundle", "SiteOnDemand", "bundle_path", "full_site", "main",
           "site_loaded"]

#: The ``-c`` code of the registered command; its argument is Orchestra's folder.
BOOT_CODE = "import sys;sys.path.append(sys.argv.pop(1));from hooks.boot import main;main()"


def site_loaded() -> bool:
    """True once ``site`` has set up ``sys.path`` (at start, or by :func:`full_site`)."""
    return not sys.flags.no_site or SiteOnDemand.done


def full_site() -> None:
    """Run ``site`` as a normal start would, once (nothing when it ran at start)."""
    if site_loaded():
        return
    SiteOnDemand.done = True
    if SiteOnDemand in sys.meta_path:
        sys.meta_path.remove(SiteOnDemand)
    import site

    site.main()


class SiteOnDemand:
    """The last finder: a top-level module outside the standard library that nothing
    found is looked for again once ``site`` has run."""

    done = False

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if path is not None or cls.done or name.partition(".")[0] in sys.stdlib_module_names:
            return None  # a submodule, or a probe for an optional standard module
        full_site()
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is not None:
                spec = find(name, path, target)
                if spec is not None:
                    return spec
        return None


#: Orchestra's top-level packages (as state.process.OWN_PACKAGES): what the bundle holds.
OWN_PACKAGES = ("hooks", "handlers", "state", "styles", "orchestra", "plugins")
#: The bundle's layout; a bundle of another layout is not read. A bundle is
#: :data:`BUNDLE_MAGIC`, the length of its index (4 bytes, little-endian), the index —
#: marshalled ``(BUNDLE_FORMAT, root, {name: (file, mtime_ns, size, is_package, offset,
#: length)})`` — then each module's marshalled code at its offset: a dispatch reads the
#: index and the code of the modules it imports, not the whole file.
BUNDLE_FORMAT = 2
BUNDLE_MAGIC = b"OrcB"


def bundle_path(root: str) -> str:
    """Where the module bundle of the packages under ``root`` lives (by ``.pyc`` rules)."""
    sep = "\\" if sys.platform == "win32" else "/"
    return cache_from_source(root + sep + "hooks" + sep + "bundle.py")[:-4] + ".bundle"


class ModuleBundle:
    """The finder (first on ``sys.meta_path``) of the modules in the bundle."""

    def __init__(self, root: str, index: dict[str, tuple[str, int, int, bool, int, int]],
                 file: Any = None) -> None:
        self.root = root
        self.index = index
        self._file = file  # the open bundle, read at the offsets of the index
        self._lock = _thread.allocate_lock()  # seek and read are two steps (no pread)
        #: Orchestra's modules this process looked for that the bundle could not serve.
        self.missed: set[str] = set()

    @classmethod
    def load(cls, root: str) -> ModuleBundle:
        """The bundle of ``root`` (empty if there is none or it cannot be read)."""
        import marshal

        file = None
        try:
            file = open(bundle_path(root), "rb", buffering=0)  # noqa: SIM115 - kept open
            head = file.read(8)
            if head[:4] != BUNDLE_MAGIC:
                raise ValueError("not a module bundle")
            size = int.from_bytes(head[4:], "little")
            fmt, where, index = marshal.loads(file.read(size))
            if fmt == BUNDLE_FORMAT and where == root and isinstance(index, dict):
                return cls(root, index, file)
        except (OSError, ValueError, EOFError, TypeError, MemoryError):
            pass  # none yet, or torn: the modules are imported as usual
        if file is not None:
            file.close()
        return cls(root, {})

    def code(self, name: str) -> bytes:
        """The marshalled code of module ``name``."""
        offset, length = self.index[name][4:6]
        with self._lock:
            self._file.seek(offset)
            data: bytes = self._file.read(length)
        if len(data) != length:
            raise EOFError(f"module bundle: {name} is cut short")
        return data

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        entry = self.index.get(name)
        if entry is None:
            if name.partition(".")[0] in OWN_PACKAGES:
                self.missed.add(name)
            return None
        file, mtime_ns, size, package = entry[:4]
        try:
            stat = _stat(file)
        except (OSError, ValueError):
            stat = None
        if stat is None or stat.st_mtime_ns != mtime_ns or stat.st_size != size:
            self.missed.add(name)  # changed since it was bundled: the usual import
            return None
        folder = file.rpartition("\\" if sys.platform == "win32" else "/")[0]
        return spec_from_file_location(name, file, loader=_BundledLoader(name, file, self),
                                       submodule_search_locations=[folder] if package else None)


def _root() -> str:
    """The ``sys.path`` entry Orchestra's packages were imported from."""
    sep = "\\" if sys.platform == "win32" else "/"
    return str(sys.modules["hooks"].__file__).rpartition(sep)[0].rpartition(sep)[0]


def _stat(file: str) -> Any:
    return (sys.modules.get("posix") or sys.modules["nt"]).stat(file)


class _BundledLoader(SourceFileLoader):
    """A source file's loader whose code comes from the bundle: everything else
    (``__file__``, resources, ``get_source``) is the standard loader's."""

    def __init__(self, fullname: str, path: str, bundle: ModuleBundle) -> None:
        super().__init__(fullname, path)
        self._bundle: ModuleBundle | None = bundle

    def get_code(self, fullname: str) -> Any:
        bundle = self._bundle
        if bundle is not None and fullname == self.name:
            self._bundle = None  # once: a reload reads the source file
            import marshal

            try:
                return marshal.loads(bundle.code(fullname))
            except (OSError, ValueError, EOFError, TypeError):
                pass  # a bundle rewritten badly under us: the .pyc or the source
        return super().get_code(fullname)


def main() -> None:
    """Dispatch the event on stdin (:func:`hooks.dispatch.run`), Orchestra's modules
    served from the bundle; then bundle any that were not."""
    if sys.flags.no_site and SiteOnDemand not in sys.meta_path:
        sys.meta_path.append(SiteOnDemand)
    bundle = ModuleBundle.load(_root())
    sys.meta_path.insert(0, bundle)
    from hooks.dispatch import main as dispatch
    from state.process import run_process

    def dispatch_then_bundle() -> int:
        code = dispatch()
        if bundle.missed and not sys.dont_write_bytecode:
            from hooks.bundle import save_bundle

            save_bundle(bundle)  # after the reply: only this dispatch waits for it
        return code

    run_process(dispatch_then_bundle)
