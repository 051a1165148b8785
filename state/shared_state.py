"""shared_state: configuration, tool registry and projects (epics, sprints, team, decisions)."""

from __future__ import annotations

import argparse

from state.cli import (
    CliParser,
    Front,
    Output,
    add_value_mode,
    run_main,
    verb_parser,
    with_store,
)
from state.query import parse_value

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs every CLI call milliseconds
    from collections.abc import Sequence
    from typing import IO, Any

__all__ = ["main"]

PROG = "shared_state"

DESCRIPTION = """\
Cross-session shared state under $ORCHESTRA_HOME (default ~/.claude/orchestration):
  config.json   settings (every change is validated and kept in config history)
  tools.json    the tool registry (capabilities, max instances)
  projects/<P>/ epics.json, sprints.json, team.json, decisions.jsonl

Lists (capabilities, epics, tools) are comma-separated or given several times."""


def _csv(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [v.strip() for chunk in values for v in chunk.split(",") if v.strip()]


def build_parser(front: Front | None = None, argv: Sequence[str] | None = ()) -> CliParser:
    """The parser; for an ``argv`` that names a verb, with only that verb's (see VerbTable)."""
    parser, verbs = verb_parser(PROG, DESCRIPTION, front, argv)
    verb = verbs.add

    p = verb("get-config", "print the config (with PROJECT: with that project's overrides)")
    p.add_argument("project", metavar="PROJECT", nargs="?")

    p = verb("set-config", "set a config value (dot path), validated; the old config is kept")
    p.add_argument("path", metavar="PATH",
                   help="e.g. claims.policy or projects.myapp.claims.policy")
    p.add_argument("value", metavar="VALUE")
    add_value_mode(p)

    verb("config-history", "list earlier configs, newest first (n=1 is the one before now)")
    p = verb("rollback", "restore the config as it was N changes ago (default 1)")
    p.add_argument("n", metavar="N", nargs="?", type=int, default=1)

    verb("list-tools", "print the tool registry")
    p = verb("register-tool", "add or change a tool in the registry")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--capabilities", action="append", default=[], metavar="CAP[,CAP]")
    p.add_argument("--max-instances", type=int, default=1, metavar="N")
    p.add_argument("--description")
    p = verb("unregister-tool", "remove a tool from the registry")
    p.add_argument("name", metavar="NAME")

    verb("list-projects", "list known projects")

    p = verb("update-epic", "create or change an epic")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("epic", metavar="EPIC")
    p.add_argument("--status", help="e.g. planned, in_progress, blocked, completed")
    p.add_argument("--title")
    p.add_argument("--description")
    p.add_argument("--sprint", metavar="SPRINT")
    p.add_argument("--points", type=float)
    p = verb("list-epics", "list a project's epics")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--status")

    p = verb("update-sprint", "create or change a sprint")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("sprint", metavar="SPRINT")
    p.add_argument("--status", help="e.g. planned, active, completed")
    p.add_argument("--title")
    p.add_argument("--goal")
    p.add_argument("--start", metavar="DATE")
    p.add_argument("--end", metavar="DATE")
    p.add_argument("--epic", dest="epics", action="append", metavar="EPIC[,EPIC]")
    p.add_argument("--points-planned", type=float)
    p.add_argument("--points-completed", type=float)
    p = verb("list-sprints", "list a project's sprints")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--status")

    p = verb("set-member", "add or change a team member")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role")
    p.add_argument("--tools", action="append", metavar="TOOL[,TOOL]")
    p.add_argument("--capabilities", action="append", metavar="CAP[,CAP]")
    p = verb("remove-member", "remove a team member")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("name", metavar="NAME")
    p = verb("list-team", "list a project's team")
    p.add_argument("project", metavar="PROJECT")

    p = verb("decide", "record a decision with its rationale and who agreed")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--title", required=True)
    p.add_argument("--rationale", required=True)
    p.add_argument("--by", action="append", required=True, metavar="NAME[,NAME]")
    p.add_argument("--status", default="agreed", help="agreed (default), proposed, rejected")
    p = verb("list-decisions", "list a project's decisions, oldest first")
    p.add_argument("project", metavar="PROJECT")
    return parser if verbs.complete else build_parser(front)


def _run(args: argparse.Namespace, out: Output, store: Any) -> int:
    from state import shared  # after run() turned the collector off

    v = args.verb
    if v == "get-config":
        out.json(shared.get_config(store, args.project))
    elif v == "set-config":
        out.json(shared.set_config(store, args.path, parse_value(args.value, mode=args.value_mode)))
    elif v == "config-history":
        out.json(shared.config_history(store))
    elif v == "rollback":
        out.json(shared.rollback_config(store, args.n))
    elif v == "list-tools":
        out.json(shared.list_tools(store))
    elif v == "register-tool":
        out.json(shared.register_tool(store, args.name, capabilities=_csv(args.capabilities) or [],
                                      max_instances=args.max_instances,
                                      description=args.description))
    elif v == "unregister-tool":
        out.json(shared.unregister_tool(store, args.name))
    elif v == "list-projects":
        out.json(shared.list_projects(store))
    elif v == "update-epic":
        out.json(shared.update_epic(store, args.project, args.epic, status=args.status,
                                    title=args.title, description=args.description,
                                    sprint=args.sprint, points=args.points))
    elif v == "list-epics":
        out.json(shared.list_epics(store, args.project, args.status))
    elif v == "update-sprint":
        out.json(shared.update_sprint(store, args.project, args.sprint, status=args.status,
                                      title=args.title, goal=args.goal, start=args.start,
                                      end=args.end, epics=_csv(args.epics),
                                      points_planned=args.points_planned,
                                      points_completed=args.points_completed))
    elif v == "list-sprints":
        out.json(shared.list_sprints(store, args.project, args.status))
    elif v == "set-member":
        out.json(shared.set_member(store, args.project, args.name, role=args.role,
                                   tools=_csv(args.tools), capabilities=_csv(args.capabilities)))
    elif v == "remove-member":
        out.json(shared.remove_member(store, args.project, args.name))
    elif v == "list-team":
        out.json(shared.list_team(store, args.project))
    elif v == "decide":
        out.json(shared.add_decision(store, args.project, title=args.title,
                                     rationale=args.rationale, by=_csv(args.by) or [],
                                     status=args.status))
    elif v == "list-decisions":
        out.json(shared.list_decisions(store, args.project))
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    front: Front | None = None,
) -> int:
    prog = front.prog if front else PROG
    return run_main(prog, build_parser(front, argv), with_store(prog, _run), argv, stdout, stderr)


def run() -> None:
    from state.process import run_process  # only as a command

    run_process(main)


if __name__ == "__main__":
    run()
