"""Benchmark: the hook processes a typical session starts (issue 27).

The typical session is fixed (``tests/e2e/typical_session.py``): one prompt, 13 tool calls
— Bash, Read, Write, Edit, one Agent — each in a turn of its own, and a closing text, run
by the real Claude Code CLI (the pinned one the e2e tests install) against the fake
Messages API of the e2e tests. It runs once per registration:

* ``current`` — what ``python -m hooks install --scope project`` writes today;
* ``all-events`` — what earlier installs wrote (every event, ``"<python>" -P -m
  hooks.dispatch`` as a shell command).

For each: Orchestra's hook runs (from the CLI's debug log) and, on Linux with strace, the
processes that ran the hook command (a shell that forks Python counts two). Usage::

    python bench/processes.py [--python PYTHON] [--runs 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e import typical_session as ts  # noqa: E402
from tests.e2e.claude_cli import find_or_install_claude  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter Orchestra is installed in (default: this one)")
    parser.add_argument("--runs", type=int, default=1,
                        help="sessions per registration (default 1; the counts are exact)")
    args = parser.parse_args(argv)
    claude = find_or_install_claude()
    counts = []
    with tempfile.TemporaryDirectory(prefix="orchestra-processes-") as tmp:
        for run in range(args.runs):
            for which in ts.REGISTRATIONS:
                root = Path(tmp) / f"run{run}"
                root.mkdir(exist_ok=True)
                count = ts.count_session(claude, root, which, python=args.python)
                if not count.ok:
                    print(f"{which}: the session failed: {count.detail}", file=sys.stderr)
                    return 1
                counts.append(count)
    print(f"typical session: 1 prompt, {len(ts.TOOL_CALLS)} tool calls "
          f"({', '.join(ts.TOOL_CALLS)}), Claude Code {claude}")
    if ts.strace() is None:
        print("(no strace here: processes not counted)")
    print(ts.describe(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
