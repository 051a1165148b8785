"""hooks.models against the captured payloads in tests/payloads and hand-written replies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hooks.events import EVENT_NAMES, Event
from hooks.models import (
    EVENT_MODELS,
    REPLY_MODELS,
    BackgroundTask,
    BatchToolCall,
    Effort,
    HookInput,
    HookReply,
    PermissionAllow,
    PermissionDeny,
    PermissionRequestSpecificOutput,
    PostToolBatchInput,
    PreToolUseInput,
    PreToolUseSpecificOutput,
    SessionCron,
    StopInput,
    parse_event,
    validate_reply,
)

PAYLOAD_DIR = Path(__file__).parent / "payloads"
ALL_PAYLOADS = sorted(PAYLOAD_DIR.rglob("*.json"))
TOP_PAYLOADS = sorted(PAYLOAD_DIR.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _rel(path: Path) -> str:
    return path.relative_to(PAYLOAD_DIR).as_posix()


# --- inputs ----------------------------------------------------------------------------------


def test_payload_fixtures_present() -> None:
    # Guards the parametrized tests below against silently running on nothing.
    assert len(TOP_PAYLOADS) >= 34
    assert any(p.parent.name == "public" for p in ALL_PAYLOADS)


def test_event_models_cover_exactly_the_event_names() -> None:
    assert set(EVENT_MODELS) == set(EVENT_NAMES)
    assert len(EVENT_MODELS) == 34
    for name, model in EVENT_MODELS.items():
        assert model.__name__ == f"{name}Input"
        assert issubclass(model, HookInput)
        assert model is not HookInput


def test_top_level_payloads_cover_every_event() -> None:
    names = {_load(p)["hook_event_name"] for p in TOP_PAYLOADS}
    assert names == set(EVENT_NAMES)


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=_rel)
def test_payload_validates_with_its_event_model(path: Path) -> None:
    data = _load(path)
    name = data["hook_event_name"]
    # File names are "[<source>.]<Event>[.<variant>].json": the event part must match the payload.
    assert name in path.name.split(".")
    model = parse_event(data)
    assert type(model) is EVENT_MODELS[name]
    assert model.hook_event_name == name
    # Every field of the payload is either a declared field or kept as an extra.
    assert model.model_dump(exclude_unset=True).keys() == data.keys()
    assert model.model_extra == {}, "a real payload field is not modelled"


def test_nested_shapes_are_models() -> None:
    stop = parse_event(_load(PAYLOAD_DIR / "public" / "docs.Stop.background_tasks_and_crons.json"))
    assert isinstance(stop, StopInput)
    assert stop.stop_hook_active is True
    assert stop.background_tasks is not None and stop.session_crons is not None
    assert isinstance(stop.background_tasks[0], BackgroundTask)
    assert stop.background_tasks[0].command == "tail -f /var/log/syslog"
    assert isinstance(stop.session_crons[0], SessionCron)
    assert stop.session_crons[0].recurring is True

    batch = parse_event(_load(PAYLOAD_DIR / "PostToolBatch.single.json"))
    assert isinstance(batch, PostToolBatchInput)
    assert batch.tool_calls is not None
    assert isinstance(batch.tool_calls[0], BatchToolCall)
    assert batch.tool_calls[0].tool_response == "hi"  # the model-facing string

    pre = parse_event(_load(PAYLOAD_DIR / "PreToolUse.Bash.json"))
    assert isinstance(pre, PreToolUseInput)
    assert isinstance(pre.effort, Effort) and pre.effort.level == "medium"
    assert pre.tool_input == {"command": "echo hi", "description": "Print hi"}


def test_unknown_fields_survive_top_level_and_nested() -> None:
    data = _load(PAYLOAD_DIR / "PostToolBatch.single.json")
    data["future_field"] = {"x": [1, 2]}
    data["effort"]["budget"] = 7
    data["tool_calls"][0]["is_error"] = False
    data["mcp_server"] = {"name": "demo", "source": "project", "transport": "stdio"}

    model = parse_event(copy.deepcopy(data))
    assert isinstance(model, PostToolBatchInput)
    assert model.model_extra == {
        "future_field": {"x": [1, 2]},
        "mcp_server": {"name": "demo", "source": "project", "transport": "stdio"},
    }
    assert model.effort is not None and model.effort.model_extra == {"budget": 7}
    assert model.tool_calls is not None
    assert model.tool_calls[0].model_extra == {"is_error": False}
    assert model.model_dump(exclude_unset=True) == data


def test_unknown_field_on_a_modelled_nested_shape_survives() -> None:
    data = _load(PAYLOAD_DIR / "PreToolUse.Bash.json")
    data["mcp_server"] = {"name": "demo", "source": "project", "transport": "stdio"}
    model = parse_event(data)
    assert isinstance(model, PreToolUseInput)
    assert model.mcp_server is not None
    assert model.mcp_server.name == "demo"
    assert model.mcp_server.model_extra == {"transport": "stdio"}


def test_missing_hook_event_name_fails() -> None:
    data = _load(PAYLOAD_DIR / "PreToolUse.Bash.json")
    del data["hook_event_name"]
    with pytest.raises(ValidationError):
        parse_event(data)


def test_only_hook_event_name_is_required() -> None:
    for name, model in EVENT_MODELS.items():
        parsed = parse_event({"hook_event_name": name})
        assert type(parsed) is model
        assert parsed.session_id is None


def test_unknown_event_name_gives_the_base_model() -> None:
    data = {"hook_event_name": "SomethingNew", "session_id": "s1", "shiny": 1}
    model = parse_event(data)
    assert type(model) is HookInput
    assert model.session_id == "s1"
    assert model.model_extra == {"shiny": 1}


def test_wrong_field_type_fails() -> None:
    data = _load(PAYLOAD_DIR / "PreToolUse.Bash.json")
    data["tool_input"] = "echo hi"
    with pytest.raises(ValidationError):
        parse_event(data)


def test_event_view_builds_the_model() -> None:
    event = Event(_load(PAYLOAD_DIR / "PreToolUse.Write.json"))
    model = event.model()
    assert isinstance(model, PreToolUseInput)
    assert model.tool_name == "Write"
    assert event.model() is model


# --- replies ---------------------------------------------------------------------------------

DENY = {
    "hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": "deny",
        "permissionDecisionReason": "rm -rf is not allowed",
    }
}


def test_pre_tool_use_deny_reply_is_accepted() -> None:
    reply = validate_reply("PreToolUse", DENY)
    assert isinstance(reply, HookReply)
    assert isinstance(reply.hookSpecificOutput, PreToolUseSpecificOutput)
    assert reply.hookSpecificOutput.permissionDecision == "deny"
    assert reply.to_dict() == DENY


def test_top_level_fields_and_continue_alias() -> None:
    raw = {
        "continue": False,
        "stopReason": "done",
        "suppressOutput": True,
        "systemMessage": "hi",
        "decision": "block",
        "reason": "because",
        "terminalSequence": "\x07",
    }
    reply = validate_reply("Stop", raw)
    assert reply.continue_ is False
    assert reply.to_dict() == raw


def test_wrong_hook_event_name_is_rejected() -> None:
    bad = {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "x"}}
    with pytest.raises(ValueError, match="hookEventName"):
        validate_reply("PreToolUse", bad)


def test_unknown_hook_event_name_is_rejected() -> None:
    with pytest.raises(ValidationError):
        validate_reply("PreToolUse", {"hookSpecificOutput": {"hookEventName": "Nope"}})


def test_missing_hook_event_name_in_specific_output_is_rejected() -> None:
    with pytest.raises(ValidationError):
        validate_reply("PreToolUse", {"hookSpecificOutput": {"permissionDecision": "deny"}})


@pytest.mark.parametrize(
    "reply",
    [
        {"decision": "block", "reasons": "typo"},
        {"continue_": False},  # the Python name is not the wire name
        {"hookSpecificOutput": {**DENY["hookSpecificOutput"], "extra": 1}},
    ],
    ids=["top-level", "python-name", "specific"],
)
def test_unknown_reply_field_is_rejected(reply: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        validate_reply("PreToolUse", reply)


def test_bad_reply_values_are_rejected() -> None:
    with pytest.raises(ValidationError):
        validate_reply("Stop", {"decision": "deny"})
    with pytest.raises(ValidationError):
        validate_reply(
            "PreToolUse",
            {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "yes"}},
        )
    with pytest.raises(ValidationError):
        validate_reply(
            "PreModelSwitch",
            {
                "hookSpecificOutput": {
                    "hookEventName": "PreModelSwitch",
                    "permissionDecision": "defer",
                }
            },
        )


@pytest.mark.parametrize("event", ["SessionEnd", "Notification", "WorktreeCreate"])
def test_specific_output_on_event_without_one_is_rejected(event: str) -> None:
    with pytest.raises(ValueError, match="no hookSpecificOutput"):
        validate_reply(event, {"hookSpecificOutput": {"hookEventName": event}})
    # The same event still accepts a plain top-level reply.
    assert validate_reply(event, {"systemMessage": "ok"}).systemMessage == "ok"


def test_reply_models_are_known_events_and_strict() -> None:
    assert set(REPLY_MODELS) <= set(EVENT_NAMES)
    assert len(REPLY_MODELS) == 21
    for name, model in REPLY_MODELS.items():
        assert model.__name__ == f"{name}SpecificOutput"
        assert model.model_config.get("extra") == "forbid"
        assert model.model_fields["hookEventName"].is_required()


@pytest.mark.parametrize("event", sorted(REPLY_MODELS))
def test_minimal_specific_output_for_every_event(event: str) -> None:
    specific: dict[str, Any] = {"hookEventName": event}
    if event == "PermissionRequest":
        specific["decision"] = {"behavior": "allow"}
    reply = validate_reply(event, {"hookSpecificOutput": specific})
    assert type(reply.hookSpecificOutput) is REPLY_MODELS[event]
    assert reply.to_dict() == {"hookSpecificOutput": specific}


def test_permission_request_decision_shapes() -> None:
    allow = validate_reply(
        "PermissionRequest",
        {
            "hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": {
                    "behavior": "allow",
                    "updatedInput": {"command": "ls"},
                    "updatedPermissions": [{"type": "setMode", "mode": "acceptEdits"}],
                },
            }
        },
    ).hookSpecificOutput
    assert isinstance(allow, PermissionRequestSpecificOutput)
    assert isinstance(allow.decision, PermissionAllow)

    deny = validate_reply(
        "PermissionRequest",
        {
            "hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": {"behavior": "deny", "message": "no", "interrupt": True},
            }
        },
    ).hookSpecificOutput
    assert isinstance(deny, PermissionRequestSpecificOutput)
    assert isinstance(deny.decision, PermissionDeny)

    # "message" belongs to deny only, and a decision needs a behavior.
    for decision in ({"behavior": "allow", "message": "x"}, {"message": "x"}, {"behavior": "ask"}):
        with pytest.raises(ValidationError):
            validate_reply(
                "PermissionRequest",
                {
                    "hookSpecificOutput": {
                        "hookEventName": "PermissionRequest",
                        "decision": decision,
                    }
                },
            )
