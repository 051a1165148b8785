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

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BOOT_CODE", "SiteOnDemand", "full_site", "main", "site_loaded"]

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


def main() -> None:
    """Dispatch the event on stdin (:func:`hooks.dispatch.run`)."""
    if sys.flags.no_site and SiteOnDemand not in sys.meta_path:
        sys.meta_path.append(SiteOnDemand)
    from hooks.dispatch import run

    run()
