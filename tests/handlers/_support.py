"""Helpers shared by the handler tests (imported as tests.handlers._support)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"
SESSION = "replay-0001"


def payload(name: str, session_id: str = SESSION, **changes: Any) -> dict[str, Any]:
    """A captured payload (tests/payloads/<name>.json) re-addressed to ``session_id``."""
    data = json.loads((PAYLOADS / f"{name}.json").read_text())
    data["session_id"] = session_id
    data.update(copy.deepcopy(changes))
    return data


def dispatch_subprocess(event: dict[str, Any], home: Path,
                        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, "ORCHESTRA_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-P", "-m", "hooks.dispatch"],
                          input=json.dumps(event).encode(), capture_output=True, env=full_env,
                          timeout=60, check=False)
