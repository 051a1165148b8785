"""Helpers of the reliability suite (imported as ``tests.reliability._reliability_support``)."""

from __future__ import annotations

import copy
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "payloads"
SEED_ENV = "ORCHESTRA_TEST_SEED"
POSIX = os.name == "posix" and hasattr(os, "fork")

_SEED: list[int] = []


def suite_seed() -> int:
    """The seed of this run: ``$ORCHESTRA_TEST_SEED`` or a fresh one (the same all run)."""
    if not _SEED:
        raw = os.environ.get(SEED_ENV)
        _SEED.append(int(raw) if raw else random.SystemRandom().randrange(2**32))
    return _SEED[0]


# -- payloads ------------------------------------------------------------------------------


def payload_files() -> list[Path]:
    return sorted(PAYLOADS.rglob("*.json"))


def payload(name: str, session_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """A captured payload (``tests/payloads/<name>.json``), re-addressed and changed."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    if session_id is not None:
        data["session_id"] = session_id
    data.update(copy.deepcopy(changes))
    return data


# -- running things ------------------------------------------------------------------------


def child_env(root: Path | str, paths: Sequence[Path | str] = (), **extra: str) -> dict[str, str]:
    """Environment of a child process: this checkout importable, no ORCHESTRA_/Claude
    variables of the caller, ``ORCHESTRA_HOME=root``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "CLAUDE_")) and k != "PYTHONPATH"}
    env["ORCHESTRA_HOME"] = str(root)
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(REPO)])
    env.update(extra)
    return env


class Outcome:
    """Exit code, stdout and stderr of one run (in-process or a subprocess)."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    def __repr__(self) -> str:
        return f"Outcome(code={self.code}, out={self.out[:300]!r}, err={self.err[:300]!r})"

    @property
    def reply(self) -> dict[str, Any] | None:
        """stdout as the one JSON object line it must be (None when empty)."""
        if not self.out:
            return None
        assert self.out.endswith("\n") and self.out.count("\n") == 1, self
        value = json.loads(self.out)
        assert isinstance(value, dict), self
        return value

    def context(self) -> str:
        reply = self.reply or {}
        return str((reply.get("hookSpecificOutput") or {}).get("additionalContext", ""))

    def assert_one_line_error(self, code: int, prefix: str) -> str:
        """Exit ``code``, nothing on stdout, one line (no traceback) on stderr."""
        assert self.code == code, self
        assert self.out == "", self
        assert "Traceback" not in self.err, self
        lines = self.err.splitlines()
        assert len(lines) == 1 and self.err.endswith("\n"), self
        assert lines[0].startswith(prefix), self
        return lines[0]


def dispatch_bytes(data: bytes) -> Outcome:
    """``hooks.dispatch.main`` in-process on ``data`` (uses ``$ORCHESTRA_HOME``)."""
    from hooks import dispatch

    out, err = io.StringIO(), io.StringIO()
    code = dispatch.main([], stdin=io.BytesIO(data), stdout=out, stderr=err)
    return Outcome(code, out.getvalue(), err.getvalue())


def dispatch_event(event: dict[str, Any]) -> Outcome:
    return dispatch_bytes(json.dumps(event).encode("utf-8"))


def cli(prog: str, *argv: str) -> Outcome:
    """One of the three state CLIs in-process (uses ``$ORCHESTRA_HOME``)."""
    from state import session_manager, shared_state, state_manager

    main = {"state_manager": state_manager.main, "session_manager": session_manager.main,
            "shared_state": shared_state.main}[prog]
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return Outcome(code, out.getvalue(), err.getvalue())


def run_process(argv: Sequence[str], env: dict[str, str], *, stdin: bytes = b"",
                cwd: Path | str | None = None, timeout: float = 60) -> Outcome:
    done = subprocess.run(list(argv), input=stdin, capture_output=True, env=env, cwd=cwd,
                          timeout=timeout, check=False)
    return Outcome(done.returncode, done.stdout.decode("utf-8", "replace"),
                   done.stderr.decode("utf-8", "replace"))


def dispatch_process(event: dict[str, Any] | bytes, root: Path, *,
                     paths: Sequence[Path | str] = (), cwd: Path | str | None = None,
                     timeout: float = 60, **env: str) -> Outcome:
    """The real command, ``python -P -m hooks.dispatch``, in a subprocess."""
    data = event if isinstance(event, bytes) else json.dumps(event).encode("utf-8")
    return run_process([sys.executable, "-P", "-m", "hooks.dispatch"],
                       child_env(root, paths, **env), stdin=data, cwd=cwd or root.parent,
                       timeout=timeout)


@contextmanager
def prebuilt_registry(home: Path | str) -> Iterator[Any]:
    """Dispatch with a registry built once (the built-in handlers), not per state root.

    In-process property tests dispatch into thousands of fresh roots; building the plugin
    table for each would measure pluggy, not Orchestra. The real command's cache is
    exercised by the subprocess tests.
    """
    from hooks import registry

    table = registry.build_table(str(home))
    for calls in table.calls.values():
        for call in calls:
            call.resolve()
    original = registry.load_table
    registry.load_table = lambda home: table  # type: ignore[assignment]
    try:
        yield table
    finally:
        registry.load_table = original


# -- looking at the state --------------------------------------------------------------------


def walk(top: Path) -> list[str]:
    """Every entry below ``top`` (symlinks listed, not followed), relative, sorted."""
    found = []
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(folder, name), top))
    return sorted(found)


def snapshot(top: Path) -> dict[str, Any]:
    """Every entry below ``top`` with its content (files), target (links) or ``<dir>``."""
    state: dict[str, Any] = {}
    for rel in walk(top):
        path = top / rel
        if path.is_symlink():
            state[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            state[rel] = "<dir>"
        else:
            state[rel] = path.read_bytes()
    return state


def dispatch_log_errors(root: Path) -> list[str]:
    """ERROR entries of ``<root>/logs/dispatch.log`` (first line of each)."""
    log = root / "logs" / "dispatch.log"
    if not log.exists():
        return []
    return [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
            if " ERROR " in line]


def check_state_tree(root: Path) -> dict[str, int]:
    """Every document parses (and fits its model), every log line parses, no temp file or
    quarantined copy is left. Returns counts of what was checked.

    A log may hold an empty line: two appenders racing on a long record can both start it
    on a fresh line (see ``state.persistence.filestore._torn_tail``); readers skip empty lines.
    """
    from state.documents import validate_document

    documents = lines = blank = 0
    for rel in walk(root):
        path = root / rel
        name = path.name
        assert not name.endswith(".tmp"), f"temp file left: {rel}"
        assert ".corrupt-" not in name, f"a document was quarantined: {rel}"
        if path.is_symlink() or not path.is_file():
            continue
        if name.endswith(".json") and not rel.startswith("cache"):
            doc = json.loads(path.read_bytes())
            assert isinstance(doc, dict), rel
            key = rel.replace(os.sep, "/")
            validate_document(key, doc)
            documents += 1
        elif name.endswith(".jsonl"):
            data = path.read_bytes()
            assert not data or data.endswith(b"\n"), f"{rel}: the last line is torn"
            for number, line in enumerate(data.split(b"\n")[:-1], 1):
                if not line:
                    blank += 1
                    continue
                record = json.loads(line)
                assert isinstance(record, dict), f"{rel}:{number}"
                lines += 1
    return {"documents": documents, "log_lines": lines, "blank_log_lines": blank}
