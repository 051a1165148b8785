"""A whole Claude Code session built from captured payloads (tests/payloads).

Where no capture exists for a step (Edit, Read, the Agent tool, TaskUpdate), the
step is derived from the nearest captured payload of the same event with the
tool fields documented in the contract (tests/payloads/README.md).
"""

from __future__ import annotations

from typing import Any

from tests.handlers._support import SESSION, payload

TRANSCRIPT_PLACEHOLDER = "{transcript}"


def whole_session(session_id: str = SESSION, transcript: str | None = None) -> list[dict[str, Any]]:
    cwd = "/home/dev/project"
    edit_input = {"file_path": f"{cwd}/hello.py", "old_string": "hi", "new_string": "hello"}
    read_input = {"file_path": f"{cwd}/hello.py"}
    agent_input = {"description": "Say ok", "prompt": "Reply with ok",
                   "subagent_type": "general-purpose"}
    events = [
        payload("SessionStart.startup", session_id),
        payload("UserPromptSubmit", session_id),
        payload("PreToolUse.Bash", session_id, tool_use_id="toolu_1"),
        payload("PostToolUse.Bash", session_id, tool_use_id="toolu_1"),
        payload("PreToolUse.Write", session_id, tool_use_id="toolu_2"),
        payload("PostToolUse.Bash", session_id, tool_name="Write", tool_use_id="toolu_2",
                tool_input=payload("PreToolUse.Write")["tool_input"],
                tool_response={"type": "create", "filePath": f"{cwd}/hello.py"}),
        payload("PreToolUse.Bash", session_id, tool_name="Edit", tool_input=edit_input,
                tool_use_id="toolu_3"),
        payload("PostToolUse.Bash", session_id, tool_name="Edit", tool_input=edit_input,
                tool_response={"filePath": f"{cwd}/hello.py"}, tool_use_id="toolu_3",
                duration_ms=7),
        payload("PreToolUse.Bash", session_id, tool_name="Read", tool_input=read_input,
                tool_use_id="toolu_4"),
        payload("PostToolUse.Bash", session_id, tool_name="Read", tool_input=read_input,
                tool_response={"type": "text", "file": {"content": "x" * 50_000}},
                tool_use_id="toolu_4", duration_ms=3),
        payload("PreToolUse.Bash", session_id, tool_input={"command": "ls /nonexistent-dir-xyz"},
                tool_use_id="toolu_fake0045"),
        payload("PostToolUseFailure.Bash", session_id),
        payload("PreToolUse.Bash", session_id, tool_name="Agent", tool_input=agent_input,
                tool_use_id="toolu_5"),
        payload("SubagentStart", session_id),
        payload("SubagentStop", session_id),
        payload("PostToolUse.Bash", session_id, tool_name="Agent", tool_input=agent_input,
                tool_response={"status": "completed", "agentId": "a97237ab0781df962",
                               "content": [{"type": "text", "text": "ok"}]},
                tool_use_id="toolu_5", duration_ms=1500),
        payload("PostToolUse.TaskCreate", session_id, tool_use_id="toolu_6"),
        payload("TaskCreated", session_id),
        payload("PostToolUse.Bash", session_id, tool_name="TaskUpdate",
                tool_input={"taskId": "1", "status": "in_progress"},
                tool_response={"success": True}, tool_use_id="toolu_7"),
        payload("PostToolUse.Bash", session_id, tool_name="TaskUpdate",
                tool_input={"taskId": "1", "status": "completed"},
                tool_response={"success": True}, tool_use_id="toolu_8"),
        payload("TaskCompleted", session_id),
        payload("Stop", session_id),
        payload("SessionEnd.other", session_id),
    ]
    for event in events:
        event["cwd"] = cwd
        if transcript is not None:
            event["transcript_path"] = transcript
    return events
