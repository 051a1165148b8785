"""``orchestra drift``: what an agent sent (or a plugin answered) that Orchestra does not know.

Counts the sightings the dispatcher wrote (:mod:`hooks.observe`): unknown event names,
payload fields and tool names, and reply fields returned for an event that does not
honour them; each with how often, when first and last seen, and the Claude Code
versions that sent it. A new Claude Code release shows up here instead of breaking.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import IO, Any

from orchestra.report import show, table
from state.cli import EXIT_CODES_HELP, CliParser, Front, Output, parse_since, run_main

__all__ = ["main", "summarize"]

PROG = "orchestra drift"

DESCRIPTION = """\
What the models and the hook contract do not know yet, as seen by the dispatcher, per agent
(Claude Code; Codex CLI and Gemini CLI against what their pinned versions send):
  event        an event name that is not one of the agent's (34 for Claude Code 2.1.332)
  field        a payload field the event's model does not have
  tool         a tool name Orchestra does not know (mcp__* tools are expected)
  reply_field  a field a plugin returned for an event that does not honour it
               (dropped from the reply; DETAIL names the plugin)
  command      a Bash line with git that the git guard could not read (a folder or
               subcommand from a variable, `xargs git`...): it was let through
               unguarded; DETAIL says what could not be read (the line is not logged)
Nothing here is fatal: those events were dispatched as usual."""


def build_parser(front: Front | None = None) -> CliParser:
    parser = CliParser(prog=front.prog if front else PROG, description=DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    parser.add_argument("--since", metavar="T", help="ISO time or a duration ago (10m, 2h, 7d)")
    parser.add_argument("--agent", choices=("claude-code", "codex", "gemini"),
                        help="only what this agent sent (default: every agent)")
    parser.add_argument("--json", action="store_true", help="print the entries as JSON")
    parser.add_argument("--compact", action="store_true", help="with --json: compact JSON")
    return parser


def summarize(lines: list[dict[str, Any]], since: float | None = None,
              agent: str | None = None) -> list[dict[str, Any]]:
    """One entry per (agent, kind, name, event, detail): count, first and last seen,
    versions. A line without ``agent`` is Claude Code's."""
    from state.clock import parse_time

    entries: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    for line in lines:
        who = str(line.get("agent") or "claude-code")
        if agent is not None and who != agent:
            continue
        at = line.get("at")
        if since is not None:
            try:
                if parse_time(str(at)) < since:
                    continue
            except ValueError:
                continue
        key = (who, str(line.get("kind", "?")), str(line.get("name", "?")),
               str(line.get("event", "?")), str(line.get("detail", "")))
        entry = entries.setdefault(key, {
            "agent": who, "kind": key[1], "name": key[2], "event": key[3], "detail": key[4],
            "count": 0, "first_seen": at, "last_seen": at, "versions": []})
        entry["count"] += 1
        entry["last_seen"] = at
        version = line.get("version")
        if isinstance(version, str) and version not in entry["versions"]:
            entry["versions"].append(version)
    return sorted(entries.values(), key=lambda e: (e["agent"], e["kind"], e["name"],
                                                   e["event"]))


def _table(entries: list[dict[str, Any]]) -> str:
    head = ("AGENT", "KIND", "NAME", "EVENT", "COUNT", "FIRST SEEN", "LAST SEEN", "VERSIONS",
            "DETAIL")
    body = [(e["agent"], e["kind"], e["name"], e["event"], str(e["count"]),
             str(e["first_seen"])[:19],
             str(e["last_seen"])[:19], ",".join(e["versions"]) or "-", e["detail"] or "-")
            for e in entries]
    return table(head, body)


def _run(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
    from hooks.observe import DRIFT_LOG
    from state.store import open_store

    since = parse_since(args.since)
    entries = summarize(list(open_store().read_log(DRIFT_LOG)), since, args.agent)
    return show(out, entries, as_json=args.json, text=_table,
                empty="no drift: every event, field, tool and reply field seen is known")


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    return run_main(front.prog if front else PROG, build_parser(front), _run, argv, stdout,
                    stderr)


if __name__ == "__main__":
    raise SystemExit(main())
