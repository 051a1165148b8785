"""The Gemini CLI adapter (Gemini CLI 0.61.0, ``... -m hooks.dispatch --agent gemini``).

**Events.** BeforeAgent is UserPromptSubmit, BeforeTool PreToolUse, AfterTool PostToolUse (or
PostToolUseFailure when the tool reports an error), AfterAgent Stop; SessionStart,
SessionEnd and Notification keep their names. PreCompress fires before every model call,
compressing or not, so it is *not* PreCompact; it, BeforeModel, BeforeToolSelection and
AfterModel are not acted on (and not registered).

**Fields.** BeforeAgent's ``prompt`` starts with the ``<hook_context>`` Gemini made of
SessionStart's context (Orchestra's own): it is cut off. AfterAgent's ``prompt_response`` is
``last_assistant_message``. No event carries a tool-use id, so one is made here and the
BeforeTool and AfterTool of a call are paired by order within the session (a queue in
``sessions/<id>/tool-queue.json``; a denied call leaves it, a new prompt empties it).

**Tools.** ``run_shell_command`` is Bash, ``write_file`` Write, ``replace`` Edit,
``read_file`` Read, ``glob`` Glob, ``grep_search`` Grep, ``list_directory`` LS, ``web_fetch``
WebFetch, ``google_web_search`` WebSearch and ``invoke_agent`` Agent; the input keeps
Gemini's keys (they are Claude Code's: ``command``, ``file_path``, ``content``,
``old_string``...), with Claude Code's added where they differ. Others keep their names.

**Replies.** A deny is ``{"decision": "deny", "reason": R}``; ``ask`` is a deny with the
reason (headless Gemini waits forever on ``ask``); an allowed rewrite is
``hookSpecificOutput.tool_input``. Context goes where Gemini shows it to the model
(SessionStart, BeforeAgent, AfterTool); BeforeTool takes none, so PreToolUse context
becomes a ``systemMessage`` (shown to the user). Every reply is a JSON object, ``{}`` when
there is nothing to say: with an empty stdout Gemini would read stderr as the reply.

**Environment.** Gemini gives hooks the user's ``GEMINI_API_KEY`` (and ``GOOGLE_API_KEY``
when set). They are taken out of this process's environment before any handler runs, and
their values are masked wherever Orchestra writes text (:func:`state.redact.forget_env`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.dispatch import DispatchResult

__all__ = ["EVENTS", "EVENT_MAP", "KNOWN_FIELDS", "TOOL_MAP", "inbound", "outbound",
           "sightings", "strip_hook_context"]

AGENT = "gemini"

#: Gemini's event -> Orchestra's (Claude Code's) event. Others are not acted on.
EVENT_MAP: dict[str, str] = {
    "SessionStart": "SessionStart", "BeforeAgent": "UserPromptSubmit",
    "BeforeTool": "PreToolUse", "AfterTool": "PostToolUse", "AfterAgent": "Stop",
    "Notification": "Notification", "SessionEnd": "SessionEnd",
}
#: The events Orchestra registers with Gemini, and the milliseconds Gemini gives the hook.
EVENTS: dict[str, int] = {
    "SessionStart": 20000, "BeforeAgent": 10000, "BeforeTool": 10000, "AfterTool": 10000,
    "AfterAgent": 10000, "Notification": 5000, "SessionEnd": 3000,
}
TOOL_MAP: dict[str, str] = {
    "run_shell_command": "Bash", "write_file": "Write", "replace": "Edit",
    "read_file": "Read", "glob": "Glob", "grep_search": "Grep", "list_directory": "LS",
    "web_fetch": "WebFetch", "google_web_search": "WebSearch", "invoke_agent": "Agent",
}
_COMMON = frozenset({"session_id", "transcript_path", "cwd", "hook_event_name", "timestamp"})
#: Fields of Gemini CLI 0.61.0's payloads beyond the common ones.
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "SessionStart": frozenset({"source"}),
    "BeforeAgent": frozenset({"prompt"}),
    "BeforeModel": frozenset({"llm_request"}),
    "BeforeToolSelection": frozenset({"llm_request"}),
    "AfterModel": frozenset({"llm_request", "llm_response"}),
    "BeforeTool": frozenset({"tool_name", "tool_input", "mcp_context", "original_request_name"}),
    "AfterTool": frozenset({"tool_name", "tool_input", "tool_response", "mcp_context",
                            "original_request_name"}),
    "PreCompress": frozenset({"trigger"}),
    "AfterAgent": frozenset({"prompt", "prompt_response", "stop_hook_active"}),
    "Notification": frozenset({"notification_type", "message", "details"}),
    "SessionEnd": frozenset({"reason"}),
}
#: Tool names of Gemini CLI 0.61.0 (MCP tools have their own names and are not drift).
KNOWN_TOOLS = frozenset(TOOL_MAP) | {
    "read_many_files", "save_memory", "write_todos", "activate_skill", "ask_user",
    "enter_plan_mode", "exit_plan_mode", "get_internal_docs", "complete_task",
    "list_mcp_resources", "read_mcp_resource", "update_topic", "take_snapshot",
    "tracker_add_dependency", "tracker_create_task", "tracker_get_task", "tracker_list_tasks",
    "tracker_update_task", "tracker_visualize",
}
#: Gemini's Notification types -> Claude Code's ``notification_type``.
NOTIFICATIONS = {"ToolPermission": "permission_prompt"}
#: Variables Gemini hands every hook that are the user's credentials.
SECRET_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
QUEUE = "tool-queue.json"
_QUEUE_LIMIT = 64

ASK_NOTE = " (Gemini CLI cannot ask you from a hook without hanging, so Orchestra refused " \
           "the call; retry it if you decide it is fine)"

_OPEN, _CLOSE = "<hook_context>", "</hook_context>"


def strip_hook_context(prompt: str) -> str:
    """``prompt`` without the ``<hook_context>`` blocks Gemini put in front of it.

    Gemini escapes ``<`` and ``>`` inside a hook's context, so the first closing tag after
    an opening one at the start is the end of Orchestra's block.
    """
    text = prompt
    while text.lstrip().startswith(_OPEN):
        text = text.lstrip()
        end = text.find(_CLOSE)
        if end < 0:
            break
        text = text[end + len(_CLOSE):]
    return text.lstrip("\n") if text is not prompt else prompt


def _tool(name: Any, tool_input: Any) -> tuple[str | None, dict[str, Any]]:
    data = dict(tool_input) if isinstance(tool_input, dict) else {}
    if not isinstance(name, str):
        return None, data
    canonical = TOOL_MAP.get(name, name)
    if canonical == "Read" and "file_path" not in data:
        path = data.get("absolute_path") or data.get("path")
        if isinstance(path, str):
            data["file_path"] = path
    elif canonical == "Agent":
        agent_name = data.get("agent_name")
        if isinstance(agent_name, str):
            data.setdefault("subagent_type", agent_name)
        prompt = data.get("prompt")
        if isinstance(prompt, str):
            data.setdefault("description", prompt.splitlines()[0][:80] if prompt else "")
    return canonical, data


def inbound(payload: dict[str, Any], home: str) -> dict[str, Any] | None:
    """Gemini's payload in Orchestra's model, or None for an event not acted on."""
    from state.redact import forget_env

    forget_env(SECRET_VARIABLES)
    name = payload["hook_event_name"]
    mapped = EVENT_MAP.get(name)
    if mapped is None:
        return None
    event: dict[str, Any] = {key: payload[key] for key in ("session_id", "transcript_path",
                                                           "cwd") if key in payload}
    event["hook_event_name"] = mapped
    sid = payload.get("session_id")
    if name == "SessionStart":
        _copy(payload, event, "source")
    elif name == "BeforeAgent":
        prompt = payload.get("prompt")
        if isinstance(prompt, str):
            event["prompt"] = strip_hook_context(prompt)
        if isinstance(sid, str):
            _reset_queue(home, sid)
    elif name in ("BeforeTool", "AfterTool"):
        tool, data = _tool(payload.get("tool_name"), payload.get("tool_input"))
        if tool is not None:
            event["tool_name"] = tool
            if tool != payload["tool_name"]:
                event["agent_tool_name"] = payload["tool_name"]
        event["tool_input"] = data
        if "mcp_context" in payload:
            event["mcp_server"] = (payload["mcp_context"] or {}).get("server_name") \
                if isinstance(payload["mcp_context"], dict) else None
        if name == "AfterTool":
            response = payload.get("tool_response")
            error = response.get("error") if isinstance(response, dict) else None
            if error:
                event["hook_event_name"] = "PostToolUseFailure"
                event["error"] = (error.get("message") if isinstance(error, dict) else None) \
                    or str(error)
            else:
                event["tool_response"] = response
        if isinstance(sid, str) and isinstance(payload.get("tool_name"), str):
            event["tool_use_id"] = _pair(home, sid, name == "BeforeTool",
                                         payload["tool_name"], payload.get("tool_input"))
    elif name == "AfterAgent":
        _copy(payload, event, "stop_hook_active")
        response = payload.get("prompt_response")
        if isinstance(response, str):
            event["last_assistant_message"] = response
    elif name == "Notification":
        kind = payload.get("notification_type")
        if isinstance(kind, str):
            event["notification_type"] = NOTIFICATIONS.get(kind, kind)
        _copy(payload, event, "message")
    elif name == "SessionEnd":
        _copy(payload, event, "reason")
    return event


def _copy(source: dict[str, Any], target: dict[str, Any], key: str) -> None:
    if key in source:
        target[key] = source[key]


# -- pairing BeforeTool and AfterTool ---------------------------------------------------


def _digest(tool: str, tool_input: Any) -> str:
    """What tells two calls apart: the input's length and its first characters (enough to
    pair calls that ran in parallel; the order decides otherwise)."""
    from state.jsontext import dumps  # json's text, without importing json (and re)

    try:
        text = dumps([tool, tool_input], sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = tool
    return f"{len(text)}:{text[:160]}"


def _pair(home: str, sid: str, before: bool, tool: str, tool_input: Any) -> str:
    """The tool-use id of this call: a new one at BeforeTool (queued), the oldest queued
    one of the same call at AfterTool (else the oldest of the same tool, else a new one)."""
    from state.paths import session_key
    from state.store import open_store

    digest = _digest(tool, tool_input)
    store = open_store(home, hook=True)
    with store.transaction(session_key(sid, QUEUE)) as doc:
        given = doc.get("pending")
        pending = [p for p in (given if isinstance(given, list) else [])
                   if isinstance(p, list) and len(p) == 3]
        found = None
        if not before:
            for match in (lambda p: p[1] == tool and p[2] == digest, lambda p: p[1] == tool):
                found = next((p for p in pending if match(p)), None)
                if found is not None:
                    pending.remove(found)
                    break
        if found is None:
            number = int(doc.get("next") or 0) + 1 if isinstance(doc.get("next"), int) else 1
            doc["next"] = number
            found = [f"gemini-{sid[:8]}-{number:05d}", tool, digest]
            if before:
                pending.append(found)
        doc["pending"] = pending[-_QUEUE_LIMIT:]
    return str(found[0])


def _unqueue(home: str, sid: str, tool_use_id: str) -> None:
    from state.paths import session_key
    from state.store import open_store

    store = open_store(home, hook=True)
    with store.transaction(session_key(sid, QUEUE)) as doc:
        given = doc.get("pending")
        doc["pending"] = [p for p in (given if isinstance(given, list) else [])
                          if not (isinstance(p, list) and p and p[0] == tool_use_id)]


def _reset_queue(home: str, sid: str) -> None:
    """A new prompt: calls of the last turn that never finished are forgotten."""
    from state.paths import session_key
    from state.store import open_store

    store = open_store(home, hook=True)
    key = session_key(sid, QUEUE)
    doc = store.read(key)
    if doc and doc.get("pending"):
        with store.transaction(key) as current:
            current["pending"] = []


# -- replies ----------------------------------------------------------------------------


def outbound(payload: dict[str, Any], event: dict[str, Any], result: DispatchResult,
             home: str) -> tuple[dict[str, Any] | None, int, str | None]:
    """The merged reply in Gemini's shape; always an object (see the module docstring)."""
    name = payload["hook_event_name"]
    reply = shape(name, result.reply)
    if (name == "BeforeTool" and reply.get("decision") == "deny"
            and isinstance(event.get("tool_use_id"), str)
            and isinstance(event.get("session_id"), str)):
        _unqueue(home, event["session_id"], event["tool_use_id"])  # no AfterTool will come
    return reply, 0, None


def shape(name: str, reply: dict[str, Any] | None) -> dict[str, Any]:
    """``reply`` (Claude Code's shape, as merged) as Gemini takes it for event ``name``."""
    out: dict[str, Any] = {}
    if not reply:
        return out
    if reply.get("continue") is False:
        out["continue"] = False
        if isinstance(reply.get("stopReason"), str):
            out["stopReason"] = reply["stopReason"]
    messages = [reply["systemMessage"]] if isinstance(reply.get("systemMessage"), str) else []
    specific = reply.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    context = specific.get("additionalContext")
    if name == "BeforeTool":
        decision = specific.get("permissionDecision")
        reason = str(specific.get("permissionDecisionReason") or "").strip()
        if decision in ("deny", "ask"):
            out["decision"] = "deny"
            out["reason"] = (reason or "refused by Orchestra") + (ASK_NOTE if decision == "ask"
                                                                  else "")
        elif decision in ("allow", None) and isinstance(specific.get("updatedInput"), dict):
            out["hookSpecificOutput"] = {"hookEventName": name,
                                         "tool_input": specific["updatedInput"]}
        if isinstance(context, str) and context:
            messages.append(context)  # BeforeTool has no context for the model
    else:
        if reply.get("decision") == "block" and isinstance(reply.get("reason"), str):
            out["decision"] = "block"
            out["reason"] = reply["reason"]
        if isinstance(context, str) and context and name in ("SessionStart", "BeforeAgent",
                                                               "AfterTool"):
            out["hookSpecificOutput"] = {"hookEventName": name, "additionalContext": context}
    if messages:
        out["systemMessage"] = "\n".join(messages)
    return out


def sightings(payload: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """What in Gemini's own payload Orchestra does not know (:mod:`hooks.observe`)."""
    from hooks.observe import agent_sightings

    tool = payload.get("tool_name")
    if isinstance(tool, str) and "mcp_context" in payload:
        payload = {k: v for k, v in payload.items() if k != "tool_name"}  # an MCP tool
    return agent_sightings(payload, _COMMON, KNOWN_FIELDS, KNOWN_TOOLS)
