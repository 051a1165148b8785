"""Helpers for the watch/serve tests (imported as tests.web._support): the replayed demo,
dispatching one more event, and ``orchestra serve`` as a real process."""

from __future__ import annotations

import http.client as http_lib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "sessions" / "demo.jsonl"
DEMO_SESSION = "f1f3b749-afa5-421c-a7d4-5a07fe433da8"
DEMO_CWD = "/home/dev/project"
#: The distribution's Chromium (Debian's `chromium` package); never a downloaded build.
CHROMIUM = os.environ.get("ORCHESTRA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


def dispatch(home: Path, payload: dict[str, Any]) -> None:
    """Dispatch one payload in-process, as Claude Code in ``DEMO_CWD`` would."""
    from hooks.testing import run_dispatch

    outcome = run_dispatch(payload, home=home,
                           env={"CLAUDE_PROJECT_DIR": DEMO_CWD, "ORCHESTRA_RECORD": ""})
    assert outcome.exit_code == 0, outcome.stderr


def replay_demo(home: Path) -> None:
    """The shipped demo session, dispatched event by event into ``home``."""
    for line in DEMO.read_text("utf-8").splitlines():
        if line.strip():
            dispatch(home, json.loads(line))


def tool_event(session: str, command: str, n: int = 1) -> dict[str, Any]:
    """A PreToolUse of Bash running ``command`` (shape of tests/payloads/PreToolUse.Bash)."""
    return {"session_id": session, "transcript_path": f"/tmp/{session}.jsonl", "cwd": DEMO_CWD,
            "permission_mode": "default", "hook_event_name": "PreToolUse",
            "tool_name": "Bash", "tool_input": {"command": command, "description": "check"},
            "tool_use_id": f"toolu_web{n:04d}"}


def session_start(session: str) -> dict[str, Any]:
    return {"session_id": session, "transcript_path": f"/tmp/{session}.jsonl", "cwd": DEMO_CWD,
            "hook_event_name": "SessionStart", "source": "startup"}


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ORCHESTRA_SESSION_ID", "CLAUDE_ENV_FILE", "CLAUDE_PROJECT_DIR")}
    env["ORCHESTRA_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Served:
    """``python -m orchestra.web --port 0`` on a state root.

    ``link`` is the one-time sign-in link it printed, ``token`` its access token, and
    ``url`` signs a browser in with the token (``?token=``), as often as a test wants.
    ``preexec`` runs in the child before it starts (to set its limits).
    """

    def __init__(self, home: Path, *args: str, port: bool = True,
                 env: dict[str, str] | None = None,
                 preexec: Any = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestra.web", *(["--port", "0"] if port else []), *args],
            cwd=REPO, env={**clean_env(home), **(env or {})}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)
        self.lines: list[str] = []
        found = threading.Event()

        def read() -> None:  # the link and the token are printed once the socket listens
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)
                if line.startswith("token "):
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        found.wait(60)
        text = "".join(self.lines)
        link = re.search(r"^open (http://\S+)/\?code=(\S+)", text, re.M)
        token = re.search(r"^token (\S+)", text, re.M)
        if link is None or token is None:
            self.process.kill()
            err = self.process.stderr.read() if self.process.stderr else ""
            raise AssertionError(f"orchestra serve did not start: {self.lines} {err}")
        self.base, self.token = link.group(1), token.group(1)
        self.link = f"{self.base}/?code={link.group(2)}"
        self.url = f"{self.base}/?token={self.token}"
        self.port = int(self.base.rsplit(":", 1)[1])

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a person stops it; (exit code, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(30)
        err = self.process.stderr.read() if self.process.stderr else ""
        return code, err


def http(served: Served, method: str, path: str, *, headers: dict[str, str] | None = None,
         body: Any = None, data: bytes | None = None, host: str | None = None,
         timeout: float = 30) -> tuple[int, dict[str, str], str]:
    """One request to ``served`` on a new connection: (status, headers, text).

    ``body`` is sent as JSON, ``data`` as it is; ``Host`` is the printed URL's unless given.
    """
    from urllib.parse import urlsplit

    address = urlsplit(served.base)
    connection = http_lib.HTTPConnection(address.hostname or "", served.port, timeout=timeout)
    try:
        if body is not None:
            data = json.dumps(body).encode()
        connection.request(method, path, body=data,
                           headers={"Host": host or address.netloc, **(headers or {})})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        connection.close()


def sign_in(served: Served, path: str | None = None) -> str:
    """Sign in as a browser does (the token, or ``path``: a one-time link's path and query);
    the ``Cookie`` header value it gets."""
    status, headers, text = http(served, "GET", path or f"/?token={served.token}")
    assert status == 303, (status, text)
    return headers["set-cookie"].split(";")[0]
