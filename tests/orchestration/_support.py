"""Helpers of the orchestration tests (issue 24, and issue 21's task verbs).

``orch(*argv, session=...)`` runs the ``orchestra`` front door in-process as that session
(``ORCHESTRA_SESSION_ID``), ``run_orchestra`` the same as a process (the model's way), and
``hook(name, session, **fields)`` dispatches a captured payload re-addressed to a session
whose project is :data:`PROJECT` (its ``cwd`` is a folder of that name).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.handlers._support import payload

REPO = Path(__file__).resolve().parents[2]
PROJECT = "shop"
CWD = f"/work/{PROJECT}"


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Result({self.code}, out={self.out[-500:]!r}, err={self.err[-500:]!r})"


def orch(*argv: str, session: str | None = None, env: dict[str, str] | None = None) -> Result:
    """``orchestra ARGV`` in-process, as ``session`` (None: outside any session)."""
    from orchestra.cli import main

    saved = {k: os.environ.get(k) for k in ("ORCHESTRA_SESSION_ID", *(env or {}))}
    try:
        if session is None:
            os.environ.pop("ORCHESTRA_SESSION_ID", None)
        else:
            os.environ["ORCHESTRA_SESSION_ID"] = session
        os.environ.update(env or {})
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def child_env(home: Path, session: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ORCHESTRA_SESSION_ID", "CLAUDE_CODE_SESSION_ID", "ORCHESTRA_WORKER")}
    env["ORCHESTRA_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    if session is not None:
        env["ORCHESTRA_SESSION_ID"] = session
    env.update(extra)
    return env


def run_orchestra(home: Path, *argv: str, session: str | None = None,
                  timeout: float = 120, **extra: str) -> Result:
    """``python -m orchestra ARGV`` as a process."""
    done = subprocess.run([sys.executable, "-m", "orchestra", *argv],
                          env=child_env(home, session, **extra), capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)
    return Result(done.returncode, done.stdout, done.stderr)


def event(name: str, session: str, **fields: Any) -> dict[str, Any]:
    """A captured payload of ``name`` for ``session``, in the project's folder."""
    return payload(name, session, cwd=CWD, **fields)


def context_of(outcome: Any) -> str:
    reply = outcome.reply or {}
    return str((reply.get("hookSpecificOutput") or {}).get("additionalContext", ""))


def decision_of(outcome: Any) -> tuple[str | None, str]:
    specific = (outcome.reply or {}).get("hookSpecificOutput") or {}
    return specific.get("permissionDecision"), str(specific.get("permissionDecisionReason", ""))


def start(dispatch: Any, session: str, role: str | None = None, *skills: str) -> Any:
    """A session of the project that has started (SessionStart dispatched), with a role."""
    outcome = dispatch(event("SessionStart.startup", session))
    if role is not None:
        extra = ["--skills", ",".join(skills)] if skills else []
        assert orch("role", "set", session, role, *extra).code == 0
    return outcome


def plan(home: Path) -> dict[str, Any]:
    doc = json.loads((home / "projects" / PROJECT / "plan.json").read_text())
    tasks: dict[str, Any] = doc["tasks"]
    return tasks


def age_heartbeat(home: Path, session: str, seconds: float) -> None:
    """Make a session look gone: its last heartbeat ``seconds`` ago."""
    import time

    path = home / "sessions" / session / "heartbeat.json"
    beat = json.loads(path.read_text())
    beat["at"] = time.time() - seconds
    path.write_text(json.dumps(beat))
