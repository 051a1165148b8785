"""jsonpath-ng's engine module, loaded without the parser Orchestra does not use.

Orchestra evaluates queries with jsonpath-ng's node classes (``jsonpath_ng.jsonpath``:
``Child``, ``Fields``, ``Slice``...), built from its own RFC 9535 parser. Importing
``jsonpath_ng.jsonpath`` runs the package's ``__init__`` first, and that imports
jsonpath-ng's own parser — ply's lexer and LALR tables, ``inspect`` — about 6 ms of a
``state_manager get`` that takes 20 in all, for nothing Orchestra calls.

:func:`engine_module` therefore registers ``jsonpath_ng`` as a *lazy package*: the
package the import system finds, with its ``__path__``, but its ``__init__`` not yet
run. Its submodules import as usual (the engine module, its exceptions). The first time
any code asks the package for something it does not have yet (``jsonpath_ng.parse``,
``from jsonpath_ng import ...``), the package runs its ``__init__`` in place, under a
lock, and from then on is the ordinary package: same module object, same classes. A
jsonpath-ng that this does not fit (no such package on the path, an import error) is
imported the plain way.
"""

from __future__ import annotations

import _thread
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = ["engine_module"]

_PACKAGE, _ENGINE = "jsonpath_ng", "jsonpath_ng.jsonpath"


def engine_module() -> ModuleType:
    """``jsonpath_ng.jsonpath``, loaded as cheaply as it safely can be."""
    loaded = sys.modules.get(_ENGINE)
    if loaded is not None:
        return loaded
    if _PACKAGE not in sys.modules:
        try:
            return _load_lazily()
        except ImportError:
            for name in [n for n in list(sys.modules)
                         if n == _PACKAGE or n.startswith(_PACKAGE + ".")]:
                del sys.modules[name]
    import jsonpath_ng.jsonpath  # the plain way (see the docstring)

    return jsonpath_ng.jsonpath


class _LazyPackage(type(sys)):  # type: ignore[misc]  # ModuleType, without importing types
    """A package whose ``__init__`` runs when it is first asked for what it lacks."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in ("__all__",
                                                                          "__version__"):
            raise AttributeError(name)  # the import system probing: not a reason to run
        _complete(self)
        try:
            return self.__dict__[name]
        except KeyError:
            hook = self.__dict__.get("__getattr__")  # the package's own (PEP 562), if any
            if hook is None:
                raise AttributeError(f"module {self.__name__!r} has no attribute "
                                     f"{name!r}") from None
            return hook(name)


_pending: dict[int, Any] = {}  # id(lazy package) -> its spec, until its __init__ ran
_lock = _thread.RLock()


def _complete(package: ModuleType) -> None:
    with _lock:
        spec = _pending.pop(id(package), None)
        if spec is not None:
            spec.loader.exec_module(package)


def _load_lazily() -> ModuleType:
    spec = None
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(_PACKAGE, None) if find is not None else None
        if spec is not None:
            break
    if spec is None or spec.submodule_search_locations is None or spec.loader is None:
        raise ImportError(f"{_PACKAGE} is not an installed package")
    package = _LazyPackage(_PACKAGE)
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__package__ = _PACKAGE
    package.__loader__ = spec.loader
    package.__file__ = spec.origin
    _pending[id(package)] = spec
    sys.modules[_PACKAGE] = package
    __import__(_ENGINE)
    return sys.modules[_ENGINE]
