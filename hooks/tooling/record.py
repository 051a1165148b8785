"""``python -m hooks record on FILE | off | status`` and reading a recording back.

The dispatcher captures payloads itself (:mod:`hooks.capture`, which also defines the
redaction and the file format); this module switches the config key ``record`` and
reads a recording for :mod:`hooks.tooling.replay`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hooks.capture import record_target

__all__ = ["main", "read_recording"]


def read_recording(path: str) -> list[dict[str, Any]]:
    """The lines of a recording, in order; ``ValueError`` names the first bad line.

    A line is a hook payload (a JSON object with ``hook_event_name``) or, in a scenario
    such as ``examples/sessions/team-day.jsonl``, a replay directive: ``{"clock": "-12m"}``
    or ``{"orchestra": [ARGV...]}`` (see :mod:`hooks.tooling.replay`).
    """
    payloads = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                payload = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}, line {number}: not JSON ({exc})") from None
            problem = _problem(payload)
            if problem:
                raise ValueError(f"{path}, line {number}: {problem}")
            payloads.append(payload)
    return payloads


def _problem(line: Any) -> str | None:
    if not isinstance(line, dict):
        return "not a hook payload (a JSON object with 'hook_event_name')"
    if isinstance(line.get("hook_event_name"), str):
        return None
    if set(line) == {"clock"}:
        value = line["clock"]
        if value == "now" or (isinstance(value, str) and value.startswith("-")
                              and _duration(value[1:])):
            return None
        return "'clock' is 'now' or a duration ago such as '-12m'"
    if set(line) in ({"orchestra"}, {"orchestra", "session"}):
        argv = line["orchestra"]
        if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
            return "'orchestra' is a list of arguments, such as [\"shared\", \"list-tools\"]"
        if "session" in line:
            from state.paths import is_id

            if not (isinstance(line["session"], str) and is_id(line["session"])):
                return "'session' is the id of the session the command runs as"
        return None
    return ("not a hook payload (a JSON object with 'hook_event_name') nor a replay "
            "directive ({'clock': ...} or {'orchestra': [...], 'session'?: ID})")


def _duration(text: str) -> bool:
    from state.clock import parse_duration

    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def main(argv: Any = None, *, stdin: Any = None, stdout: Any = None, stderr: Any = None,
         front: Any = None) -> int:
    """Switch the config key ``record`` (the environment variable still wins)."""
    from hooks.tooling.cli import Streams, run

    return run("record", "Record every payload Claude Code sends (config key 'record'; "
               "ORCHESTRA_RECORD overrides it) for python -m hooks replay.",
               _configure, _run, argv, Streams(stdin, stdout, stderr, front))


def _configure(parser: Any) -> None:
    sub = parser.add_subparsers(dest="verb", required=True, metavar="on FILE | off | status")
    sub.add_parser("on", help="record to FILE").add_argument("file", metavar="FILE")
    sub.add_parser("off", help="stop recording")
    sub.add_parser("status", help="show where payloads are recorded")


def _run(args: Any, streams: Any) -> int:
    from hooks.dispatch import state_home

    home = state_home()
    if args.verb in ("on", "off"):
        from pathlib import Path

        from state.shared import set_config
        from state.store import open_store

        value = os.path.abspath(os.path.expanduser(args.file)) if args.verb == "on" else None
        set_config(open_store(Path(home)), "record", value)
    target = record_target(home)
    env = os.environ.get("ORCHESTRA_RECORD")
    source = "ORCHESTRA_RECORD" if env is not None else f"{home}/config.json"
    streams.out.write(f"recording to {target} (from {source})\n" if target
                      else f"not recording (from {source})\n")
    return 0
