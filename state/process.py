"""Running one hook or CLI call as a whole, short-lived process.

Every hook event and every CLI command is a fresh interpreter that lives for one
call, so the cyclic garbage collector has nothing useful to do: Orchestra's data is
JSON (no reference cycles) and the process ends within seconds. Left on, it runs
during the imports and the parsing of large documents, and once more over every
object at exit — about 3 ms of each event (see ``bench/README.md``). Objects are
still freed by reference counting; atexit handlers, open files and non-daemon
threads are finished as usual, because the interpreter still shuts down normally.
"""

from __future__ import annotations

import gc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

__all__ = ["run_process"]


def run_process(main: Callable[[], int]) -> NoReturn:
    """Run ``main()`` without the cyclic collector and exit with its return code."""
    gc.disable()
    try:
        code = main()
    finally:
        gc.freeze()  # the collection at shutdown then skips every object that exists now
    raise SystemExit(code)
