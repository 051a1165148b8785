"""``orchestra``: one command for people and the model (being built; see issue 12)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO

__all__ = ["main", "run"]


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    err = stderr if stderr is not None else sys.stderr
    err.write("orchestra: not ready yet\n")
    return 1


def run() -> None:
    raise SystemExit(main())
