"""Running one hook or CLI call as a whole, short-lived process.

Every hook event and every CLI command is a fresh interpreter that lives for one
call, and the end of its life is a measurable share of it (see ``bench/README.md``):
the interpreter's shutdown runs the cyclic garbage collector over every object and
tears every module down — about 3 ms of a 20 ms event. So:

* the cyclic collector is off while the call runs: Orchestra's data is JSON (no
  reference cycles) and the process ends within seconds, so it would only slow the
  imports and the parsing of large documents;
* the shutdown is skipped (``os._exit`` after flushing stdout and stderr) when
  nothing can depend on it: no module was loaded during the call but the standard
  library's, Orchestra's own and jsonpath-ng's (pure computation, the JSONPath
  engine), no ``atexit`` callback is registered — except the one ``logging`` registers
  when it is imported (by jsonpath-ng), as long as no logging handler exists for it to
  flush — and no non-daemon thread is running;
* otherwise — a third-party plugin ran, say — the collector is switched back on and
  the interpreter shuts down as usual: buffered files are flushed (even those held in
  reference cycles, which only the collector frees), ``atexit`` callbacks run,
  threads are joined.
"""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

__all__ = ["OWN_PACKAGES", "run_process", "search_path"]

#: Orchestra's top-level packages: code that leaves nothing behind for the shutdown.
OWN_PACKAGES = frozenset({"hooks", "handlers", "state", "styles", "orchestra", "plugins"})

#: Third-party packages Orchestra loads itself that leave nothing for the shutdown either:
#: jsonpath-ng builds and walks trees (its parser, ply, only when another package asks).
QUIET_PACKAGES = frozenset({"jsonpath_ng", "ply"})


def run_process(main: Callable[[], int]) -> NoReturn:
    """Run ``main()`` as the whole process and exit with its return code."""
    gc.disable()
    before = set(sys.modules)
    try:
        code = main()
        if _nothing_to_finish(before) and _flushed():
            os._exit(code)
    finally:
        gc.enable()  # the normal shutdown needs the collector to free objects in cycles
    raise SystemExit(code)


def _nothing_to_finish(before: set[str]) -> bool:
    """True if a normal shutdown would do nothing but free memory."""
    atexit = sys.modules.get("atexit")  # never imported: nothing registered through it
    registered = getattr(atexit, "_ncallbacks", None) if atexit else (lambda: 0)
    if registered is None or registered() != _idle_logging(before):  # None: not CPython's
        return False
    threading = sys.modules.get("threading")
    if threading is not None and any(
            not t.daemon and t is not threading.main_thread() and t.is_alive()
            for t in threading.enumerate()):
        return False
    stdlib = sys.stdlib_module_names
    for name in list(sys.modules):  # a copy: a thread still running may import meanwhile
        if name in before or name == "__main__":
            continue
        top = name.partition(".")[0]
        if top not in stdlib and top not in OWN_PACKAGES and top not in QUIET_PACKAGES:
            return False  # third-party code ran: it may count on the shutdown
    return True


def _idle_logging(before: set[str]) -> int:
    """1 if ``logging`` was first imported during the call (its import registers one
    ``atexit`` callback, :func:`logging.shutdown`) and holds no handler for that callback
    to flush or close; else 0."""
    logging = sys.modules.get("logging")
    if logging is None or "logging" in before:
        return 0
    handlers = getattr(logging, "_handlerList", None)  # weak references to all of them
    if handlers is None:
        return 0
    last_resort = getattr(logging, "lastResort", None)  # writes to stderr, flushed above
    return 1 if all(ref() in (None, last_resort) for ref in handlers) else 0


def _flushed() -> bool:
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return False  # e.g. a closed pipe: let the normal shutdown deal with it
    return True


def search_path() -> list[str]:
    """The folders on this process's ``sys.path`` that hold installed distributions: what
    the caches keyed on installed packages fingerprint (the dispatch table in
    :mod:`hooks.registry`, the store observers in :mod:`state.persistence.observers`).

    Left out: the working directory, which follows Claude's ``cd`` (``python -m`` starts
    there), and a console script's own folder (``sys.path[0]``). The dispatcher
    (``-P -m``), ``python -m`` and the console scripts see the same distributions; with
    those folders in the fingerprint, a cache written by one was stale for the next.
    """
    folders = list(sys.path)
    if folders and not sys.flags.safe_path and sys.argv and sys.argv[0] and (
            folders[0] == os.path.dirname(os.path.realpath(sys.argv[0]))):
        del folders[0]
    cwd = os.getcwd()
    return [folder for folder in folders if folder and folder != cwd]
