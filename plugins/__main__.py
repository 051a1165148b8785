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
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--session", metavar="S", nargs="?", const="-",
                       help="show what runs for session S ('--session' alone: the current "
                       "one), after the switches of orchestra disable/enable")
    scope.add_argument("--project", metavar="P",
                       help="show what runs for the sessions of project P")
    return parser


def _effective(plugins: list[dict[str, Any]], home: str, session: str | None,
               project: str | None) -> None:
    """Mark each plugin with what the switches (:mod:`state.switches`) make of it."""
    from state.store import open_store
    from state.switches import SWITCHES, effective, project_of

    store = open_store(home)
    doc = store.read(SWITCHES)
    if project is None:
        project = project_of(store, session)
    for plugin in plugins:
        if plugin.get("status") != "loaded":
            plugin["runs"], plugin["switched_by"] = False, plugin.get("status")
            continue
        on, scope = effective(doc, plugin["name"], session, project)
        plugin["runs"], plugin["switched_by"] = on, scope


def _table(plugins: list[dict[str, Any]]) -> str:
    scoped = any("runs" in p for p in plugins)
    rows = [("NAME", "SOURCE", "VERSION", "STATUS", *(("RUNS",) if scoped else ()), "HOOKS")]
    for p in plugins:
        hooks = ", ".join(p.get("hooks", [])) or "-"
        runs = (("yes" if p["runs"] else f"no ({p.get('switched_by')})",) if scoped else ())
        rows.append((p["name"], p["source"], p.get("version") or "-", p.get("status", "?"),
                     *runs, hooks))
    n = len(rows[0]) - 1
    widths = [max(len(r[i]) for r in rows) for i in range(n)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(n)) + "  " + r[n] for r in rows]
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

        home = state_home()
        table = build_table(home)
        if args.session is not None or args.project is not None:
            from state.ids import resolve_session_id
            from state.paths import validate_id

            session = resolve_session_id(args.session) if args.session is not None else None
            project = validate_id(args.project, "project id") if args.project else None
            _effective(table.plugins, home, session, project)
    except Exception as exc:
        err.write(f"{prog}: error: {exc if isinstance(exc, ValueError) else repr(exc)}\n")
        return 2 if isinstance(exc, ValueError) else 1
    if args.json:
        out.write(json.dumps(table.plugins, indent=2) + "\n")
    else:
        out.write(_table(table.plugins))
    return 1 if any(p.get("status") == "error" for p in table.plugins) else 0


if __name__ == "__main__":
    raise SystemExit(main())
