"""``python -m hooks``: Orchestra's hook commands (install, uninstall, doctor, replay)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    sys.stderr.write("usage: python -m hooks.dispatch < event.json\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
