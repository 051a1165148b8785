"""``python -m hooks replay FILE.jsonl``: feed a recorded session through the dispatcher.

Each line of ``FILE.jsonl`` is one payload (what :mod:`hooks.tooling.record` writes, or the
shipped ``examples/sessions/*.jsonl``). They are dispatched in order and each result is
printed as one JSON line: ``{"n", "event", "tool"?, "exit_code", "reply", "stderr"?}``
(``stderr`` only when the exit code is not 0).

* ``--home DIR`` — the state root to replay into (created if missing); by default a fresh
  temporary one, removed afterwards. Never your real state unless you name it.
* ``--plugins mod[,mod]`` — import these modules and register them next to the built-in
  and installed plugins (the cwd is importable, as with ``python -m``).
* ``--golden FILE`` — compare with pinned results; exit 1 and a diff on stderr when they
  differ. ``--update-golden`` writes them instead. Golden lines are *normalised*: the state
  root becomes ``<home>`` and ISO times become ``<time>``, so they do not depend on when or
  where the replay ran.
* ``--subprocess`` — run each event as Claude Code does, ``sys.executable -P -m
  hooks.dispatch`` with the payload on stdin (slower; not with ``--plugins`` or clock lines).

A *scenario* (``examples/sessions/team-day.jsonl``) also holds two kinds of directive
lines, so that one file can replay a whole team's day:

* ``{"clock": "-2h"}`` — what follows happens as if it were two hours ago (the clock then
  runs on from there); ``{"clock": "now"}`` comes back. Replay does this by shifting
  ``time.time`` in its own process for the lines that follow;
* ``{"orchestra": ["shared", "update-sprint", ...]}`` — run an ``orchestra`` command
  (in-process, same state root and clock); its result line is
  ``{"n", "orchestra": ARGV, "exit_code", "stderr"?}``. With ``"session": ID`` the command
  runs as that session's model runs it from its Bash (``ORCHESTRA_SESSION_ID``), as in
  ``{"orchestra": ["task", "start", "T-1"], "session": "..."}``.

By default events are dispatched in-process through :func:`hooks.dispatch.main`, exactly
as the command would (same parsing, merge and exit codes), some 10-20x faster. The
environment is made session-like and safe: ``ORCHESTRA_HOME`` is the replay root,
``CLAUDE_PROJECT_DIR`` is the first payload's ``cwd``, recording is off
(``ORCHESTRA_RECORD=""``), and ``CLAUDE_ENV_FILE`` and the session-id variables of a
surrounding session are removed.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from hooks.tooling.cli import CliError, Streams, run

if TYPE_CHECKING:
    import argparse

    from state.cli import Front

__all__ = ["main", "normalise", "replay"]

_DROPPED_ENV = ("CLAUDE_ENV_FILE", "ORCHESTRA_SESSION_ID", "CLAUDE_CODE_SESSION_ID")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


@contextmanager
def _environment(home: str, payloads: list[dict[str, Any]]) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name in _DROPPED_ENV:
            os.environ.pop(name, None)
        os.environ["ORCHESTRA_HOME"] = home
        os.environ["ORCHESTRA_RECORD"] = ""  # set but empty: no recording, whatever the config
        cwd = next((p["cwd"] for p in payloads if isinstance(p.get("cwd"), str)), None)
        if cwd:
            os.environ["CLAUDE_PROJECT_DIR"] = cwd
        else:
            os.environ.pop("CLAUDE_PROJECT_DIR", None)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _result(n: int, payload: dict[str, Any], code: int, stdout: str,
            stderr: str) -> dict[str, Any]:
    text = stdout.strip()
    try:
        reply: Any = json.loads(text) if text else None
    except ValueError:
        reply = text  # plain text reply, shown as it is
    out: dict[str, Any] = {"n": n, "event": payload.get("hook_event_name")}
    if isinstance(payload.get("tool_name"), str):
        out["tool"] = payload["tool_name"]
    out.update(exit_code=code, reply=reply)
    if code != 0:
        out["stderr"] = stderr.strip()
    return out


class _Clock:
    """``time.time`` shifted by ``offset`` seconds (the clock lines of a scenario)."""

    def __init__(self) -> None:
        import time

        self.real = time.time
        self.offset = 0.0

    def __call__(self) -> float:
        return self.real() + self.offset

    def set(self, value: str) -> None:
        from state.clock import parse_duration

        self.offset = 0.0 if value == "now" else -parse_duration(value[1:])


@contextmanager
def _shifted_time(lines: list[dict[str, Any]]) -> Iterator[_Clock | None]:
    """Install a :class:`_Clock` as ``time.time`` while replaying, if any line needs one."""
    import time

    if not any("clock" in line for line in lines):
        yield None
        return
    clock = _Clock()
    time.time = clock
    try:
        yield clock
    finally:
        time.time = clock.real


def _command(n: int, argv: list[str], session: str | None = None) -> dict[str, Any]:
    """One ``orchestra`` directive; ``session``: run it as that session would, from its
    Bash (``ORCHESTRA_SESSION_ID``), as ``orchestra task start T-1`` needs."""
    from orchestra.cli import main as orchestra_main

    out, err = io.StringIO(), io.StringIO()
    if session is not None:
        os.environ["ORCHESTRA_SESSION_ID"] = session
    try:
        code = orchestra_main(argv, stdout=out, stderr=err)
    finally:
        os.environ.pop("ORCHESTRA_SESSION_ID", None)  # a replay never runs as a session
    result: dict[str, Any] = {"n": n, "orchestra": argv, "exit_code": code}
    if code != 0:
        result["stderr"] = err.getvalue().strip()
    return result


def replay(payloads: list[dict[str, Any]], home: str, plugins: Iterable[Any] = (),
           *, use_subprocess: bool = False) -> list[dict[str, Any]]:
    """Dispatch ``payloads`` in order into state root ``home``; one result per line (a
    payload, or a directive of a scenario: see the module docstring)."""
    results = []
    with _environment(home, payloads):
        if use_subprocess:
            import subprocess

            if any("hook_event_name" not in p for p in payloads):
                raise CliError("clock and orchestra lines replay in-process only; "
                               "drop --subprocess")
            for n, payload in enumerate(payloads, start=1):
                proc = subprocess.run([sys.executable, "-P", "-m", "hooks.dispatch"],
                                      input=json.dumps(payload).encode("utf-8"),
                                      capture_output=True, timeout=120)
                results.append(_result(n, payload, proc.returncode,
                                       proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace")))
            return results
        from hooks import dispatch, registry

        plugins = list(plugins)
        original = registry.load_table
        if plugins:
            table = registry.build_table(home, plugins)
            registry.load_table = lambda home: table
        try:
            with _shifted_time(payloads) as clock:
                for n, payload in enumerate(payloads, start=1):
                    if "clock" in payload and clock is not None:
                        clock.set(payload["clock"])
                        continue
                    if "orchestra" in payload:
                        results.append(_command(n, payload["orchestra"],
                                                payload.get("session")))
                        continue
                    out, err = io.StringIO(), io.StringIO()
                    data = io.BytesIO(json.dumps(payload).encode("utf-8"))
                    code = dispatch.main([], stdin=data, stdout=out, stderr=err)
                    results.append(_result(n, payload, code, out.getvalue(), err.getvalue()))
        finally:
            registry.load_table = original
    return results


def normalise(results: list[dict[str, Any]], home: str) -> list[str]:
    """Golden-file lines: the state root as ``<home>``, ISO times as ``<time>``."""
    escaped = json.dumps(home)[1:-1]
    lines = []
    for result in results:
        text = json.dumps(result, ensure_ascii=False, sort_keys=False)
        text = text.replace(escaped, "<home>") if escaped else text
        lines.append(_ISO_TIME.sub("<time>", text))
    return lines


def _load_plugins(spec: str | None) -> list[Any]:
    import importlib

    modules = []
    for name in [s.strip() for s in (spec or "").split(",") if s.strip()]:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # python -m puts the cwd first; -P does not
        try:
            modules.append(importlib.import_module(name))
        except Exception as exc:
            raise CliError(f"--plugins: cannot import {name!r}: {type(exc).__name__}: "
                           f"{exc}") from None
    return modules


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.jsonl", help="recorded session, one payload a line")
    parser.add_argument("--home", metavar="DIR",
                        help="state root to replay into (default: a temporary one, removed)")
    parser.add_argument("--plugins", metavar="MOD[,MOD]",
                        help="modules to register as extra plugins")
    parser.add_argument("--golden", metavar="FILE", help="compare with pinned results")
    parser.add_argument("--update-golden", action="store_true",
                        help="write the results to --golden instead of comparing")
    parser.add_argument("--subprocess", action="store_true",
                        help="run each event as a separate dispatcher process")


def _run(args: argparse.Namespace, streams: Streams) -> int:
    import tempfile

    from hooks.tooling.record import read_recording

    if args.update_golden and not args.golden:
        raise CliError("--update-golden needs --golden FILE")
    if args.subprocess and args.plugins:
        raise CliError("--plugins works in-process only; drop --subprocess")
    try:
        payloads = read_recording(args.file)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from None
    plugins = _load_plugins(args.plugins)
    if args.home:
        home = os.path.abspath(os.path.expanduser(args.home))
        from state.paths import make_private_dirs

        make_private_dirs(home)
        results = replay(payloads, home, plugins, use_subprocess=args.subprocess)
    else:
        with tempfile.TemporaryDirectory(prefix="orchestra-replay-") as home:
            results = replay(payloads, home, plugins, use_subprocess=args.subprocess)
    for result in results:
        streams.out.write(json.dumps(result, ensure_ascii=False) + "\n")
    if not args.golden:
        return 0
    lines = normalise(results, home)
    if args.update_golden:
        with open(args.golden, "w", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
        streams.err.write(f"golden results written to {args.golden}\n")
        return 0
    return _compare(args.golden, lines, streams)


def _compare(golden: str, lines: list[str], streams: Streams) -> int:
    import difflib

    try:
        with open(golden, encoding="utf-8") as fh:
            pinned = [line.rstrip("\n") for line in fh if line.strip()]
    except OSError as exc:
        raise CliError(f"cannot read golden file {golden}: {exc.strerror or exc} "
                       "(create it with --update-golden)") from None
    if pinned == lines:
        streams.err.write(f"{len(lines)} events match {golden}\n")
        return 0
    streams.err.write(f"replies differ from {golden}:\n")
    streams.err.writelines(line + "\n" for line in difflib.unified_diff(
        pinned, lines, fromfile=golden, tofile="replay", lineterm=""))
    return 1


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         front: Front | None = None) -> int:
    return run("replay", "Feed a recorded session through the dispatcher, in order, and print "
               "each event's exit code and reply.", _configure, _run, argv,
               Streams(stdin, stdout, stderr, front))


if __name__ == "__main__":
    raise SystemExit(main())
