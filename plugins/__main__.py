"""``python -m plugins list``: every plugin, its version, its hooks and load errors."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from state.cli import Front

__all__ = ["main"]

PROG = "python -m plugins"


def _parser(front: Front | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Show Orchestra's plugins: built-in handlers and installed third-party "
        "plugins (entry-point group 'orchestra'), with their version, hooks and load errors. "
        "ORCHESTRA_LOAD_PLUGINS (allow-list) and ORCHESTRA_DISABLED_PLUGINS (block-list) apply.",
    )
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    p = sub.add_parser("list", help="list plugins (exit 1 if any failed to load)",
                       description="List plugins (exit 1 if any failed to load).",
                       prog=front.prog if front else f"{PROG} list",
                       epilog=front.epilog("list") if front else None,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _table(plugins: list[dict[str, Any]]) -> str:
    rows = [("NAME", "SOURCE", "VERSION", "STATUS", "HOOKS")]
    for p in plugins:
        hooks = ", ".join(p.get("hooks", [])) or "-"
        rows.append((p["name"], p["source"], p.get("version") or "-", p.get("status", "?"), hooks))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
    for p in plugins:
        if p.get("error"):
            lines.append(f"error in {p['name']}: {p['error']}")
    return "\n".join(lines) + "\n"


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    front: Front | None = None,
) -> int:
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    prog = front.prog if front else PROG
    parser = _parser(front)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        from hooks.dispatch import state_home
        from hooks.registry import build_table

        table = build_table(state_home())
    except Exception as exc:
        err.write(f"{prog}: error: {type(exc).__name__}: {exc}\n")
        return 1
    if args.json:
        out.write(json.dumps(table.plugins, indent=2) + "\n")
    else:
        out.write(_table(table.plugins))
    return 1 if any(p.get("status") == "error" for p in table.plugins) else 0


if __name__ == "__main__":
    raise SystemExit(main())
