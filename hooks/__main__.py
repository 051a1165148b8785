"""``python -m hooks VERB ...``: Orchestra's commands for getting it into Claude Code.

* ``install [--scope user|project|local] [--project-dir DIR] [--python PATH] [--dry-run]``
* ``uninstall [--scope ...] [--project-dir DIR] [--dry-run]``
* ``doctor [--project-dir DIR] [--fix] [--json]``
* ``replay FILE.jsonl [--home DIR] [--plugins MOD[,MOD]] [--golden FILE] [--update-golden]``
* ``record on FILE | off | status``

Each verb lives in its own module of :mod:`hooks.tooling` (install, doctor, replay,
record) behind the error funnel of :mod:`hooks.tooling.cli`.
The dispatcher Claude Code runs is ``python -P -m hooks.dispatch`` (:mod:`hooks.dispatch`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import IO

__all__ = ["VERBS", "main"]

#: verb -> (module, function)
VERBS: dict[str, tuple[str, str]] = {
    "install": ("hooks.tooling.install", "install_main"),
    "uninstall": ("hooks.tooling.install", "uninstall_main"),
    "doctor": ("hooks.tooling.doctor", "main"),
    "replay": ("hooks.tooling.replay", "main"),
    "record": ("hooks.tooling.record", "main"),
}


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if not args or args[0] in ("-h", "--help", "help"):
        (out if args else err).write(__doc__ or "")
        return 0 if args else 2
    target = VERBS.get(args[0])
    if target is None:
        err.write(f"python -m hooks: unknown command {args[0]!r} "
                  f"(one of: {', '.join(VERBS)})\n")
        return 2
    module, function = target
    entry = getattr(importlib.import_module(module), function)
    code: int = entry(args[1:], stdin=stdin, stdout=stdout, stderr=stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
