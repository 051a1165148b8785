"""Build the shipped recordings from the captured payloads.

    python examples/sessions/build_demo.py          # rewrite demo.jsonl and team-day.jsonl
    python examples/sessions/build_demo.py --check  # exit 1 if either is out of date

``team-day.jsonl`` (the README's main job) is a *scenario*: a team's day on the project
``shop`` — three sessions (one ended, one idle, one live), a sprint with epics, tasks in
every column (one blocked), messages between the sessions, a file both sessions edit (a
claim), decisions and registered tools — written as hook payloads plus replay directives
(``{"clock": "-14m"}``, ``{"orchestra": [...]}``; see :mod:`hooks.tooling.replay`).
:mod:`team_day` beside this file builds it; ``demo.jsonl`` is one whole session:

Every line starts from a real payload in ``tests/payloads/`` (Claude Code 2.1.332). The
captures come from several sessions, so the session id, transcript paths, prompt id and
tool-use ids are unified; the tool calls the captures lack (Write's PostToolUse, Edit,
Read, the failing Bash's PreToolUse, Agent, TaskCreate/TaskUpdate) are *derived*: a real
payload of the same event with the tool name, input and response changed to the shapes
Claude Code 2.1.x uses. ``README.md`` beside this file lists which line is which.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAYLOADS = HERE.parents[1] / "tests" / "payloads"
OUTPUT = HERE / "demo.jsonl"

SESSION = "f1f3b749-afa5-421c-a7d4-5a07fe433da8"
PROJECT = "/home/dev/project"
TRANSCRIPT = f"/home/dev/.claude/projects/-home-dev-project/{SESSION}.jsonl"
PROMPT_ID = "e5d3ad2c-0563-47a4-9cb5-b62a32a05dfd"
AGENT = "a97237ab0781df962"
FILE = f"{PROJECT}/hello.txt"


def load_payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _unify(payload: dict[str, Any], *, prompt: bool = True) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    out["session_id"] = SESSION
    out["transcript_path"] = TRANSCRIPT
    if prompt and "prompt_id" in out:
        out["prompt_id"] = PROMPT_ID
    if "agent_transcript_path" in out:
        out["agent_transcript_path"] = (f"/home/dev/.claude/projects/-home-dev-project/"
                                        f"{SESSION}/subagents/agent-{AGENT}.jsonl")
    return out


def _tool(base: str, tool: str, tool_use_id: str, tool_input: dict[str, Any],
          **fields: Any) -> dict[str, Any]:
    """A derived tool payload: ``base`` with another tool, input and fields."""
    out = _unify(load_payload(base))
    out["tool_name"] = tool
    out["tool_input"] = tool_input
    out["tool_use_id"] = tool_use_id
    for key, value in fields.items():
        out[key] = value
    # keep the captured field order: tool_response before tool_use_id, duration last
    order = [k for k in out if k not in ("tool_use_id", "duration_ms")]
    tail = [k for k in ("tool_use_id", "duration_ms") if k in out]
    return {k: out[k] for k in order + tail}


def session() -> list[dict[str, Any]]:
    bash_fail = load_payload("PostToolUseFailure.Bash")
    agent_input = {"description": "Say ok", "prompt": "Reply with the single word ok.",
                   "subagent_type": "general-purpose"}
    task_input = load_payload("PostToolUse.TaskCreate")["tool_input"]
    update_input = {"taskId": "1", "status": "completed"}
    write_input = load_payload("PreToolUse.Write")["tool_input"]
    edit_input = {"file_path": FILE, "old_string": "hello", "new_string": "hello, world",
                  "replace_all": False}
    prompt = _unify(load_payload("UserPromptSubmit"))
    prompt["prompt"] = ("Create hello.txt, make it say hello, world, check it, run ls on a "
                        "missing folder, ask a subagent to say ok, and track it as a task.")
    events = [
        _unify(load_payload("SessionStart.startup")),
        _unify(load_payload("InstructionsLoaded.session_start")),
        prompt,
        _unify(load_payload("PreToolUse.Bash")),
        _unify(load_payload("PostToolUse.Bash")),
        _unify(load_payload("PostToolBatch.single")),
        _tool("PreToolUse.Write", "Write", "toolu_fake0012", write_input),
        _tool("PostToolUse.Bash", "Write", "toolu_fake0012", write_input, duration_ms=4,
              tool_response={"type": "create", "filePath": FILE, "content": "hello\n",
                             "structuredPatch": [], "originalFile": None}),
        _tool("PreToolUse.Bash", "Edit", "toolu_demo0003", edit_input),
        _tool("PostToolUse.Bash", "Edit", "toolu_demo0003", edit_input, duration_ms=5,
              tool_response={"filePath": FILE, "oldString": "hello", "newString": "hello, world",
                             "originalFile": "hello\n", "structuredPatch": [
                                 {"oldStart": 1, "oldLines": 1, "newStart": 1, "newLines": 1,
                                  "lines": ["-hello", "+hello, world"]}],
                             "userModified": False, "replaceAll": False}),
        _tool("PreToolUse.Bash", "Read", "toolu_demo0004", {"file_path": FILE}),
        _tool("PostToolUse.Bash", "Read", "toolu_demo0004", {"file_path": FILE}, duration_ms=3,
              tool_response={"type": "text", "file": {
                  "filePath": FILE, "content": "hello, world\n", "numLines": 1, "startLine": 1,
                  "totalLines": 1}}),
        _tool("PreToolUse.Bash", "Bash", bash_fail["tool_use_id"], bash_fail["tool_input"]),
        _unify(bash_fail),
        _tool("PreToolUse.Bash", "Agent", "toolu_demo0006", agent_input),
        _unify(load_payload("SubagentStart")),
        _unify(load_payload("SubagentStop")),
        _tool("PostToolUse.Bash", "Agent", "toolu_demo0006", agent_input, duration_ms=2140,
              tool_response={"status": "completed", "prompt": agent_input["prompt"],
                             "agentId": AGENT, "content": [{"type": "text", "text": "ok"}],
                             "totalDurationMs": 2131, "totalTokens": 0,
                             "totalToolUseCount": 0}),
        _tool("PreToolUse.Bash", "TaskCreate", "toolu_demo0007", task_input),
        _unify(load_payload("TaskCreated")),
        _tool("PostToolUse.TaskCreate", "TaskCreate", "toolu_demo0007", task_input),
        _tool("PreToolUse.Bash", "TaskUpdate", "toolu_demo0008", update_input),
        _unify(load_payload("TaskCompleted")),
        _tool("PostToolUse.Bash", "TaskUpdate", "toolu_demo0008", update_input, duration_ms=6,
              tool_response={"success": True, "taskId": "1", "updatedFields": ["status"],
                             "statusChange": {"from": "pending", "to": "completed"}}),
        _unify(load_payload("MessageDisplay")),
        _unify(load_payload("Stop")),
        _unify(load_payload("SessionEnd.other")),
    ]
    return events


def render(lines: list[dict[str, Any]] | None = None) -> str:
    return "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n"
                   for e in (session() if lines is None else lines))


def outputs() -> dict[Path, str]:
    sys.path.insert(0, str(HERE))
    from team_day import TEAM_DAY, team_day

    return {OUTPUT: render(), TEAM_DAY: render(team_day())}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        if "--check" in args:
            stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        sys.stderr.write(f"{path} is out of date: run python {__file__}\n")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
