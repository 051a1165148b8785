"""Fixtures for the PostgreSQL tests: machines (state roots) sharing one throwaway server.

A *machine* is a state root whose ``config.json`` points at the test's server
and schema; two of them stand in for two computers. Hooks and CLIs run as real
processes, as Claude Code runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Hook:
    code: int
    reply: dict[str, Any]
    stderr: str
    seconds: float

    @property
    def context(self) -> str:
        specific = self.reply.get("hookSpecificOutput") or {}
        return str(specific.get("additionalContext") or self.reply.get("reason") or "")


@dataclass
class Machine:
    name: str
    root: Path
    env: dict[str, str]

    def dispatch(self, event: dict[str, Any], **env: str) -> Hook:
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "hooks.dispatch"],
                              input=json.dumps(event).encode(), capture_output=True,
                              env={**self.env, **env}, cwd=REPO, timeout=60, check=False)
        seconds = time.monotonic() - start
        out = done.stdout.decode().strip()
        return Hook(done.returncode, json.loads(out) if out else {}, done.stderr.decode(),
                    seconds)

    def cli(self, module: str, *argv: str, check: bool = True) -> Any:
        done = subprocess.run([sys.executable, "-m", module, *argv, "--compact"]
                              if module != "state.migrate" else
                              [sys.executable, "-m", module, *argv],
                              capture_output=True, text=True, env=self.env, cwd=REPO,
                              timeout=60, check=False)
        if check:
            assert done.returncode == 0, (module, argv, done.stderr)
            lines = done.stdout.strip().splitlines()
            if len(lines) > 1:  # JSON lines (events)
                return [json.loads(line) for line in lines]
            return json.loads(lines[0]) if lines else None
        return done

    def configure(self, **store: Any) -> None:
        path = self.root / "config.json"
        config = json.loads(path.read_text()) if path.exists() else {}
        config.setdefault("store", {}).update(store)
        path.write_text(json.dumps(config))

    def outbox(self) -> list[str]:
        folder = self.root / "pg" / "outbox"
        return sorted(p.name for p in folder.glob("*.json")) if folder.exists() else []


@pytest.fixture
def make_machine(tmp_path: Path, pg_url: str) -> Callable[..., Machine]:
    """``make_machine("a", sync_seconds=0)``: a state root using the test's server."""

    def make(name: str, url: str | None = None, **store: Any) -> Machine:
        root = tmp_path / f"machine-{name}"
        root.mkdir()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ORCHESTRA_", "CLAUDE_"))}
        env.update({"ORCHESTRA_HOME": str(root), "PYTHONPATH": str(REPO),
                    "ORCHESTRA_STORE_SCHEMA": os.environ["ORCHESTRA_STORE_SCHEMA"],
                    "PGPASSFILE": os.environ["PGPASSFILE"]})
        machine = Machine(name, root, env)
        machine.configure(url=url or pg_url, **store)
        return machine

    return make
