"""``orchestra stats``: which handler slows a session down, or fills its context.

Reads the telemetry the dispatcher appends at every event (:mod:`hooks.observe`) and
shows, per handler and per event kind: calls, median and 95th-percentile time, errors,
overruns, and the characters of context the handler injected (which the user pays for
in tokens). A ``(dispatch)`` row per event kind is the whole dispatch.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import IO, Any

from orchestra.report import show, table
from state.cli import EXIT_CODES_HELP, CliParser, Front, Output, parse_since, run_main

__all__ = ["collect", "guard_rows", "main", "summarize"]

PROG = "orchestra stats"

DESCRIPTION = """\
Per handler and per event kind: calls, p50 and p95 time (ms), errors, overruns (a
handler that ran past its time limit), skipped (the dispatch budget was used up) and
the characters of context it injected into Claude's. Rows are sorted by total time.
Without --session or --project: every session.

Then the tokens of the same sessions (read from Claude Code's transcripts at Stop,
SubagentStop, PreCompact and SessionEnd): per session, the main thread's and the
subagents', and their cost from the price table in config (pricing; a model without
a price makes the cost "unknown", or the total "partial"), with the total.
--tokens prints only that (with --json: as JSON).

And the guard's decisions (claims and the git guard): how many writes or git commands
were stopped for a person (ask), refused (deny) or warned about, by kind (git, edit),
and whose work they protected; with --json, rows whose handler is "(guard)" and whose
event is "<kind> <decision>" (calls: how many)."""


def build_parser(front: Front | None = None) -> CliParser:
    parser = CliParser(prog=front.prog if front else PROG, description=DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--session", metavar="S", nargs="?", const="-",
                       help="one session ('--session' alone: the current one)")
    scope.add_argument("--project", metavar="P", help="the sessions of project P")
    parser.add_argument("--since", metavar="T", help="ISO time or a duration ago (10m, 2h, 7d)")
    parser.add_argument("--tokens", action="store_true",
                        help="only the tokens and cost of the sessions, and their total")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--compact", action="store_true", help="with --json: compact JSON")
    return parser


def collect(store: Any, *, session: str | None = None, project: str | None = None,
            since: float | None = None) -> list[dict[str, Any]]:
    """The telemetry lines of the chosen sessions, oldest segment first."""
    from hooks.observe import STATS_LOG
    from state.paths import session_key, validate_id

    if session is not None:
        sessions = [validate_id(session, "session id")]
        from state.sessions import require_session

        require_session(store, sessions[0])
    else:
        sessions = [s for s in store.list_children("sessions") if _is_id(s)]
    lines = []
    for sid in sessions:
        if project is not None:
            state = store.read(session_key(sid, "state.json")) or {}
            if state.get("project") != project:
                continue
        for line in store.read_log(session_key(sid, STATS_LOG)):
            ts = line.get("ts")
            if since is not None and not (isinstance(ts, int | float) and ts >= since):
                continue
            lines.append(line)
    return lines


def _sessions(store: Any, session: str | None, project: str | None) -> list[str]:
    from state.paths import session_key

    if session is not None:
        return [session]
    ids = [s for s in store.list_children("sessions") if _is_id(s)]
    if project is None:
        return ids
    return [s for s in ids
            if (store.read(session_key(s, "state.json")) or {}).get("project") == project]


def token_report(store: Any, session: str | None = None, project: str | None = None
                 ) -> dict[str, Any]:
    """Tokens and cost per session (main thread, subagents) and the total of them."""
    from state.config import load_config
    from state.usage import session_usage, total_usage

    pricing = load_config(store).get("pricing") or {}
    rows = []
    for sid in _sessions(store, session, project):
        usage = session_usage(store, sid, pricing)
        if usage["recorded"]:
            rows.append({"session_id": sid, **usage})
    return {"sessions": rows, "total": total_usage(rows, pricing),
            "prices_as_of": pricing.get("as_of")}


def _token_table(report: dict[str, Any]) -> str:
    from state.usage import short_cost, token_count

    def cells(name: str, part: str, tokens: dict[str, Any], cost: str) -> tuple[str, ...]:
        return (name, part, f"{int(tokens.get('input_tokens', 0)):,}",
                f"{int(tokens.get('output_tokens', 0)):,}",
                f"{int(tokens.get('cache_read_input_tokens', 0)):,}",
                f"{int(tokens.get('cache_creation_input_tokens', 0)):,}",
                f"{token_count(tokens):,}", cost)

    body = []
    for row in report["sessions"]:
        cost = row["cost"]
        body.append(cells(row["session_id"], "main", row["main"], _usd(cost.get("main"))))
        if row["subagents"]:
            body.append(cells("", "subagents", row["subagents"], _usd(cost.get("subagents"))))
        body.append(cells("", "session", row["total"], short_cost(cost)))
    total = report["total"]
    body.append(cells(f"total ({total['sessions']} sessions)", "", total["total"],
                      short_cost(total["cost"])))
    head = ("SESSION", "PART", "INPUT", "OUTPUT", "CACHE READ", "CACHE WRITE", "TOKENS", "COST")
    unknown = total["cost"].get("unknown_models")
    note = f"no price for {', '.join(unknown)}: its cost is unknown\n" if unknown else ""
    return (table(head, body, right_from=2) + note
            + f"prices of {report.get('prices_as_of') or '?'} (config: pricing)\n")


def _usd(value: Any) -> str:
    return "unknown" if value is None else f"${float(value):.4f}"


def _is_id(name: str) -> bool:
    from state.paths import is_id

    return is_id(name)


def _percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of them at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def summarize(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (handler, event kind), plus a ``(dispatch)`` row per event kind."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def group(handler: str, event: str) -> dict[str, Any]:
        return groups.setdefault((handler, event), {
            "handler": handler, "event": event, "ms": [], "errors": 0, "overruns": 0,
            "skipped": 0, "context_chars": 0})

    for line in lines:
        event = str(line.get("event", "?"))
        total = line.get("ms")
        if isinstance(total, int | float):
            group("(dispatch)", event)["ms"].append(float(total))
        for entry in line.get("h", []):
            if not (isinstance(entry, list) and len(entry) == 5):
                continue  # a line written by hand, or by another version
            plugin, _hook, spent, status, chars = entry
            row = group(str(plugin), event)
            if isinstance(spent, int | float):
                row["ms"].append(float(spent))
            if status == "error":
                row["errors"] += 1
            elif status == "overrun":
                row["overruns"] += 1
            elif status == "skipped":
                row["skipped"] += 1
            if isinstance(chars, int):
                row["context_chars"] += chars
    rows = []
    for row in groups.values():
        times = row.pop("ms")
        row.update(calls=len(times), total_ms=round(sum(times), 2),
                   p50_ms=round(_percentile(times, 0.5), 2) if times else None,
                   p95_ms=round(_percentile(times, 0.95), 2) if times else None)
        rows.append(row)
    rows.sort(key=lambda r: (r["handler"] == "(dispatch)", -r["total_ms"], r["handler"],
                             r["event"]))
    return rows


def guard_rows(store: Any, *, session: str | None = None, project: str | None = None,
               since: float | None = None) -> list[dict[str, Any]]:
    """One ``(guard)`` row per kind and decision of the guard's log (:mod:`state.guard_log`):
    ``calls`` is how many, ``protected`` whose work (session -> count)."""
    from state.guard_log import count_decisions, recent_decisions

    projects = [project] if project is not None else [
        p for p in store.list_children("projects") if _is_id(p)]
    records = recent_decisions(store, projects, session=session, since=since, limit=None)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        key = (str(record.get("kind", "?")), str(record.get("decision", "?")))
        groups.setdefault(key, []).append(record)
    rows = []
    for (kind, decision), found in sorted(groups.items()):
        counted = count_decisions(found)
        rows.append({"handler": "(guard)", "event": f"{kind} {decision}", "errors": 0,
                     "overruns": 0, "skipped": 0, "context_chars": 0, "calls": len(found),
                     "total_ms": 0.0, "p50_ms": None, "p95_ms": None,
                     "protected": counted["protected_sessions"]})
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    head = ("HANDLER", "EVENT", "CALLS", "P50 MS", "P95 MS", "ERRORS", "OVERRUNS", "SKIPPED",
            "CONTEXT")
    body = [(r["handler"], r["event"], str(r["calls"]), f"{r['p50_ms']:.2f}",
             f"{r['p95_ms']:.2f}", str(r["errors"]), str(r["overruns"]), str(r["skipped"]),
             str(r["context_chars"])) for r in rows if r["calls"] and r["handler"] != "(guard)"]
    text = table(head, body, right_from=2) if body else ""
    guarded = [r for r in rows if r["handler"] == "(guard)"]
    if guarded:
        protected: dict[str, int] = {}
        for row in guarded:
            for sid, n in row["protected"].items():
                protected[sid] = protected.get(sid, 0) + n
        text += (("\n" if text else "") + "GUARD DECISIONS\n" + table(
            ("KIND DECISION", "COUNT"), [(r["event"], str(r["calls"])) for r in guarded],
            right_from=1) + "work protected: " + ", ".join(
                f"{sid} ({n})" for sid, n in sorted(protected.items(), key=lambda x: -x[1]))
                 + "\n")
    return text


def _run(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
    from state.ids import resolve_session_id
    from state.store import open_store

    session = resolve_session_id(args.session) if args.session is not None else None
    if args.project is not None:
        from state.paths import validate_id

        validate_id(args.project, "project id")
    since = parse_since(args.since)
    store = open_store()
    if args.tokens:
        report = token_report(store, session, args.project)
        if args.json:
            out.json(report)
        elif not report["sessions"]:
            out.stream.write("no tokens recorded: they are read from the transcripts at "
                             "Stop (a replayed session has none)\n")
        else:
            out.stream.write(_token_table(report))
        return 0
    rows = summarize(collect(store, session=session, project=args.project, since=since))
    rows += guard_rows(store, session=session, project=args.project, since=since)
    code = show(out, rows, as_json=args.json, text=_table,
                empty="no telemetry yet: it is recorded at every event of a session")
    if not args.json:
        report = token_report(store, session, args.project)
        out.stream.write("\n" + (_token_table(report) if report["sessions"] else
                                 "tokens: none recorded (no transcript read)\n"))
    return code


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    return run_main(front.prog if front else PROG, build_parser(front), _run, argv, stdout,
                    stderr)


if __name__ == "__main__":
    raise SystemExit(main())
