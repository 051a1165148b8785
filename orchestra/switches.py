"""``orchestra disable|enable NAME [--session [S] | --project P]``: switch a handler or plugin.

NAME is a built-in handler (``claims``, ``presence``, ``messages``...) or an installed
plugin, as ``orchestra plugins`` lists them. The switch goes into ``switches.json``
(:mod:`state.switches`); the dispatcher honours it at the next event, no restart.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import IO, Any

from state.cli import EXIT_CODES_HELP, CliParser, Front, Output, run_main

__all__ = ["disable_main", "enable_main"]

DESCRIPTION = """\
Turn a built-in handler or a plugin {state} for one session (--session; alone: the current
one), one project (--project P), or everywhere (neither). The narrowest switch wins: a
handler disabled everywhere and enabled for a session runs in that session only.
It takes effect at the next event; 'orchestra plugins --session S' shows the result.
The switches live in switches.json under the state root."""


def build_parser(verb: str, front: Front | None) -> CliParser:
    state = "off" if verb == "disable" else "on (back)"
    parser = CliParser(prog=front.prog if front else f"orchestra {verb}",
                       description=DESCRIPTION.format(state=state),
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("name", metavar="NAME", help="handler or plugin (see orchestra plugins)")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--session", metavar="S", nargs="?", const="-",
                       help="only this session ('--session' alone: the current one)")
    scope.add_argument("--project", metavar="P", help="only the sessions of project P")
    parser.add_argument("--compact", action="store_true", help="compact JSON")
    return parser


def _known_plugins(home: str) -> list[str]:
    from hooks.registry import build_table

    return sorted(p["name"] for p in build_table(home).plugins)


def _switch(on: bool) -> Any:
    def run(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
        from state.errors import NotFoundError
        from state.ids import resolve_session_id
        from state.paths import home, validate_id
        from state.store import open_store
        from state.switches import set_switch

        known = _known_plugins(str(home()))
        if args.name not in known:
            raise NotFoundError(f"no handler or plugin {args.name!r}; known: "
                                + ", ".join(known))
        session = resolve_session_id(args.session) if args.session is not None else None
        project = validate_id(args.project, "project id") if args.project else None
        set_switch(open_store(), args.name, on, session=session, project=project)
        scope = ({"session": session} if session else {"project": project} if project
                 else {"everywhere": True})
        out.json({"name": args.name, "enabled": on, **scope})
        return 0

    return run


def disable_main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
                 stdout: IO[str] | None = None, stderr: IO[str] | None = None,
                 front: Front | None = None) -> int:
    return run_main(front.prog if front else "orchestra disable", build_parser("disable", front),
                    _switch(False), argv, stdout, stderr)


def enable_main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
                stdout: IO[str] | None = None, stderr: IO[str] | None = None,
                front: Front | None = None) -> int:
    return run_main(front.prog if front else "orchestra enable", build_parser("enable", front),
                    _switch(True), argv, stdout, stderr)
