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
    """The payloads of a recording, in order; ``ValueError`` names the first bad line."""
    payloads = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                payload = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}, line {number}: not JSON ({exc})") from None
            if not isinstance(payload, dict) or not isinstance(
                    payload.get("hook_event_name"), str):
                raise ValueError(f"{path}, line {number}: not a hook payload "
                                 "(a JSON object with 'hook_event_name')")
            payloads.append(payload)
    return payloads


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
