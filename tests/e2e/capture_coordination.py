"""Capture the payloads of Claude Code's own coordination tools from the pinned CLI.

``python -m tests.e2e.capture_coordination [OUT_DIR [DATA_DIR]]`` (default
``tests/payloads/coordination``, and ``tests/data/claude-code`` for what is not a hook
payload) runs two headless sessions of the real Claude Code
2.1.332 (``.ci/install-claude-code.sh``) against :class:`tests.e2e.fake_api.FakeAnthropic`
with one shared private ``HOME``, and a hook on every event that writes its stdin:

* session A runs a Bash call that waits until B is done;
* session B loads ``SendMessage``, ``EnterWorktree`` and ``ExitWorktree`` with
  ``ToolSearch`` (``select:SendMessage,EnterWorktree,ExitWorktree``), calls
  ``ListAgents``, sends A a message by the name ListAgents gave (and one to a name
  nobody has), enters a worktree, runs a Bash call there and leaves it;
* while A waits, ``claude agents --json`` is run and the session registry file of A
  (``~/.claude/sessions/<pid>.json``; never the ``.key`` file beside it) is copied;
* A then receives B's message as a prompt.

Paths are rewritten as in ``/work/shared/reference/payloads`` (the project is
``/home/dev/project``, the home ``/home/dev``); everything else is as emitted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.e2e.claude_cli import claude_env, find_or_install_claude, run_claude
from tests.e2e.fake_api import FakeAnthropic, Script, tool_use

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("Bash", "SendMessage", "ListAgents", "ToolSearch", "EnterWorktree", "ExitWorktree")
_NAME = re.compile(r"([a-z0-9][a-z0-9-]*-[0-9a-z]+) \[[0-9a-f]{6}\]")


def _peer_name(body: dict[str, Any]) -> str:
    """The first peer ListAgents listed (not "This session is ...")."""
    for message in reversed(body.get("messages") or []):
        for block in message.get("content") or [] if isinstance(message, dict) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                text = json.dumps(block.get("content"))
                if "Peer sessions" in text:
                    peers = text.split("Peer sessions", 1)[1]
                    found = _NAME.search(peers)
                    if found:
                        return found.group(1)
    return "nobody-here"


def capture(out: Path, data: Path) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="cc-coordination-"))
    project = root / "project"
    project.mkdir()
    git = ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(project)], check=True)
    (project / "README.md").write_text("demo\n")
    subprocess.run([*git, "-C", str(project), "add", "."], check=True)
    subprocess.run([*git, "-C", str(project), "commit", "-qm", "init"], check=True)
    home = root / "home"
    sync = root / "sync"
    sync.mkdir()
    record = root / "payloads.jsonl"
    hook = {"type": "command", "command": f"{sys.executable} -c \"import sys; "
            f"open({str(record)!r}, 'a').write(sys.stdin.read().strip() + chr(10))\""}
    events = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
              "PostToolUseFailure", "Stop", "SessionEnd", "CwdChanged", "WorktreeRemove")
    settings = {"hooks": {e: [{"hooks": [hook]}] for e in events}}
    waiter = (f"touch {sync}/ready; for i in $(seq 1 900); do [ -f {sync}/go ] && break; "
              "sleep 0.1; done; echo released")
    a_script = Script(main=[[tool_use("Bash", {"command": waiter,
                                               "description": "Wait for the other session"})],
                            [tool_use("Bash", {"command": "echo read", "description": "Go on"})],
                            ["A done."]])
    b_script = Script(main=[
        [tool_use("ToolSearch", {"query": "select:SendMessage,EnterWorktree,ExitWorktree",
                                 "max_results": 5})],
        [tool_use("ListAgents", {})],
        lambda body: [tool_use("SendMessage", {
            "to": _peer_name(body), "summary": "cart fix ready",
            "message": "The rounding fix is in cart_totals.py; please rebase."})],
        [tool_use("SendMessage", {"to": "nobody-here", "summary": "hello",
                                  "message": "Is anyone there?"})],
        [tool_use("EnterWorktree", {"name": "fix-cart"})],
        [tool_use("Bash", {"command": "git branch --show-current",
                           "description": "Which branch"})],
        [tool_use("ExitWorktree", {"action": "keep"})],
        ["B done."],
    ])
    claude = find_or_install_claude()
    runs: dict[str, Any] = {}
    extra: dict[str, str] = {}
    with FakeAnthropic(a_script) as api_a, FakeAnthropic(b_script) as api_b:
        def run_a() -> None:
            runs["a"] = run_claude(claude, "Wait for B, then go on.", cwd=project, home=home,
                                   base_url=api_a.base_url, settings=settings,
                                   allowed_tools=TOOLS, timeout=240)

        thread = threading.Thread(target=run_a)
        thread.start()
        deadline = time.monotonic() + 120
        while not (sync / "ready").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        env = claude_env(home=home, base_url=api_a.base_url)
        agents = subprocess.run([str(claude), "agents", "--json"], env=env, cwd=project,
                                capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)
        extra["claude-agents.json"] = agents.stdout
        registry = sorted((home / ".claude" / "sessions").glob("*.json"))
        if registry:
            extra["registry-session.json"] = registry[0].read_text()
        runs["b"] = run_claude(claude, "Tell the other session the fix is in.", cwd=project,
                               home=home, base_url=api_b.base_url, settings=settings,
                               allowed_tools=TOOLS, timeout=240)
        time.sleep(1.0)
        (sync / "go").write_text("go")
        thread.join(300)
    for name, run in runs.items():
        if run.returncode != 0:
            raise RuntimeError(f"run {name} exited {run.returncode}: {run.stderr[-2000:]}")

    encoded = re.sub(r"[^A-Za-z0-9]", "-", str(project))  # a transcript folder's name

    def scrub(text: str) -> str:
        return (text.replace(str(project), "/home/dev/project").replace(str(home), "/home/dev")
                .replace(encoded, "-home-dev-project").replace(str(root), "/tmp/x"))

    wanted = {("PreToolUse", "SendMessage"), ("PostToolUse", "SendMessage"),
              ("PostToolUse", "ListAgents"), ("PostToolUse", "EnterWorktree"),
              ("PostToolUse", "ExitWorktree"), ("PostToolUse", "ToolSearch"),
              ("PostToolUseFailure", "SendMessage"), ("UserPromptSubmit", None),
              ("CwdChanged", None), ("WorktreeRemove", None)}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    counts: dict[str, int] = {}
    for line in record.read_text().splitlines():
        payload = json.loads(scrub(line))
        key = (payload["hook_event_name"], payload.get("tool_name"))
        if key not in wanted:
            continue
        variant = key[1] or "event"
        if key == ("UserPromptSubmit", None):
            if "cross-session-message" not in payload.get("prompt", ""):
                continue
            variant = "cross_session_message"
        elif key[1] == "SendMessage" and key[0] == "PostToolUse":
            variant = "SendMessage." + ("sent" if payload["tool_response"].get("success")
                                        else "not_sent")
        stem = f"{key[0]}.{variant}"
        counts[stem] = counts.get(stem, 0) + 1
        name = stem + ("" if counts[stem] == 1 else f".{counts[stem]}") + ".json"
        (out / name).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        written.append(name)
    data.mkdir(parents=True, exist_ok=True)
    for name, text in extra.items():
        try:
            value = json.loads(scrub(text))
        except ValueError:
            continue
        (data / name).write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        written.append(str(data / name))
    shutil.rmtree(root, ignore_errors=True)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "tests" / "payloads" / \
        "coordination"
    other = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "tests" / "data" / "claude-code"
    for name in capture(target, other):
        print(target / name)
