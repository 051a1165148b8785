"""The merge rules of :func:`hooks.merge.merge_replies`, per event, then end to end.

Unit tests feed ``(handler, reply)`` votes to the merge; the end-to-end tests register
inline plugins and go through :func:`hooks.testing.run_dispatch` (and, for the exit-2
events and silent events, the real ``python -m hooks.dispatch``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks.contract import BLOCK_BY_EXIT_2, CONTRACT, contract_for
from hooks.events import EVENT_NAMES
from hooks.merge import merge_replies
from hooks.models import validate_reply
from hooks.testing import run_dispatch

PERMISSION_ORDER = ["allow", "ask", "defer", "deny"]  # weakest first
DECISION_EVENTS_TOP = sorted(n for n, c in CONTRACT.items() if "decision" in c.top)
SILENT = sorted(n for n, c in CONTRACT.items() if c.silent)


def specific(event: str, **fields: Any) -> dict[str, Any]:
    return {"hookEventName": event, **fields}


def perm(decision: str, reason: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"permissionDecision": decision, **extra}
    if reason is not None:
        out["permissionDecisionReason"] = reason
    return {"hookSpecificOutput": out}


def merged(event: str, *votes: tuple[str, Any]) -> Any:
    result = merge_replies(event, list(votes))
    if result.reply is not None:
        validate_reply(event, result.reply)
    return result


# -- permission decisions ------------------------------------------------------------------


@pytest.mark.parametrize("event", ["PreToolUse", "PreSkillShellCommand"])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_permission_precedence_deny_defer_ask_allow(event: str, size: int) -> None:
    for combo in itertools.permutations(PERMISSION_ORDER, size):
        votes = [(f"h{i}", perm(d, f"because {d}")) for i, d in enumerate(combo)]
        winner = max(combo, key=PERMISSION_ORDER.index)
        reply = merged(event, *votes).reply
        out = reply["hookSpecificOutput"]
        assert out["permissionDecision"] == winner, combo
        who = combo.index(winner)
        # only the winning side's reasons, each attributed to its handler
        assert out["permissionDecisionReason"] == f"[h{who}] because {winner}"
        assert out["hookEventName"] == event


def test_pre_model_switch_deny_ask_allow_and_no_defer() -> None:
    event = "PreModelSwitch"
    for combo in itertools.permutations(["allow", "ask", "deny"]):
        votes = [(d, perm(d)) for d in combo]
        expected = "deny"
        assert merged(event, *votes).reply["hookSpecificOutput"]["permissionDecision"] == expected
    assert merged(event, ("a", perm("ask")), ("b", perm("allow"))).reply == {
        "hookSpecificOutput": specific(event, permissionDecision="ask")}
    # defer is not a model-switch answer: it is ignored, not promoted
    reply = merged(event, ("a", perm("defer")), ("b", perm("allow"))).reply
    assert reply["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert merged(event, ("a", perm("defer"))).reply is None


def test_several_deny_reasons_are_all_kept() -> None:
    reply = merged("PreToolUse", ("a", perm("deny", "one")), ("b", perm("allow", "fine")),
                   ("c", perm("deny", "two"))).reply
    assert reply["hookSpecificOutput"]["permissionDecisionReason"] == "[a] one\n[c] two"


def test_unknown_permission_values_are_ignored() -> None:
    reply = merged("PreToolUse", ("a", perm("maybe")), ("b", perm("ask", "sure?"))).reply
    assert reply["hookSpecificOutput"] == specific("PreToolUse", permissionDecision="ask",
                                                   permissionDecisionReason="[b] sure?")


# -- updatedInput ---------------------------------------------------------------------------


def test_updated_input_agreement_is_applied() -> None:
    new = {"command": "ls -la"}
    reply = merged("PreToolUse", ("a", perm("allow", updatedInput=new)),
                   ("b", perm("allow", updatedInput=dict(new)))).reply
    assert reply["hookSpecificOutput"]["updatedInput"] == new
    assert reply["hookSpecificOutput"]["permissionDecision"] == "allow"


def test_updated_input_conflict_resolves_to_ask_without_rewrite() -> None:
    reply = merged("PreToolUse", ("a", perm("allow", updatedInput={"command": "ls"})),
                   ("b", {"hookSpecificOutput": {"updatedInput": {"command": "pwd"}}})).reply
    out = reply["hookSpecificOutput"]
    assert out["permissionDecision"] == "ask"
    assert "updatedInput" not in out
    assert "a, b" in out["permissionDecisionReason"]
    assert "none was applied" in out["permissionDecisionReason"]


def test_updated_input_conflict_keeps_a_deny() -> None:
    reply = merged("PreToolUse", ("a", perm("allow", updatedInput={"command": "ls"})),
                   ("b", perm("allow", updatedInput={"command": "pwd"})),
                   ("c", perm("deny", "no"))).reply
    assert reply["hookSpecificOutput"] == specific(
        "PreToolUse", permissionDecision="deny", permissionDecisionReason="[c] no")


def test_updated_input_is_not_applied_under_deny_or_defer() -> None:
    for decision in ("deny", "defer"):
        reply = merged("PreToolUse", ("a", perm("allow", updatedInput={"command": "ls"})),
                       ("b", perm(decision))).reply
        assert "updatedInput" not in reply["hookSpecificOutput"], decision


# -- top-level fields -------------------------------------------------------------------------


@pytest.mark.parametrize("event", [e for e in DECISION_EVENTS_TOP if e not in BLOCK_BY_EXIT_2])
def test_block_wins_where_decision_is_honoured(event: str) -> None:
    result = merged(event, ("quiet", None), ("ok", {"systemMessage": "fine"}),
                    ("strict", {"decision": "block", "reason": "not yet"}),
                    ("other", {"decision": "block"}))
    assert result.exit_code == 0
    assert result.reply["decision"] == "block"
    assert result.reply["reason"] == "[strict] not yet"
    assert result.reply["systemMessage"] == "[ok] fine"


@pytest.mark.parametrize("event", [e for e in DECISION_EVENTS_TOP if e not in BLOCK_BY_EXIT_2])
def test_block_without_reason_names_the_blockers(event: str) -> None:
    reply = merged(event, ("b", {"decision": "block"}), ("a", {"decision": "block"})).reply
    assert reply == {"decision": "block", "reason": "blocked by a, b"}


@pytest.mark.parametrize("event", ["PreToolUse", "SessionStart", "PermissionRequest",
                                   "CwdChanged", "MessageDisplay"])
def test_block_is_dropped_where_decision_is_not_honoured(event: str) -> None:
    result = merge_replies(event, [("a", {"decision": "block", "reason": "x"})])
    assert result.reply is None
    assert "a: decision" in result.dropped


@pytest.mark.parametrize("event", sorted(BLOCK_BY_EXIT_2))
def test_exit_2_events_block_with_stderr(event: str) -> None:
    result = merge_replies(event, [("a", {"decision": "block", "reason": "tests fail"}),
                                   ("b", {"decision": "block", "reason": "lint fails"})])
    assert result.exit_code == 2
    assert result.stderr == "[a] tests fail\n[b] lint fails"


@pytest.mark.parametrize("event", [e for e in EVENT_NAMES if not CONTRACT[e].silent])
def test_continue_false_wins(event: str) -> None:
    reply = merged(event, ("a", {"continue": True}), ("b", {"continue": False, "stopReason": "x"}),
                   ("c", {"continue": True, "stopReason": "y"})).reply
    assert reply["continue"] is False
    assert reply["stopReason"] == "[b] x\n[c] y"


def test_continue_true_alone_sends_nothing() -> None:
    assert merge_replies("Stop", [("a", {"continue": True})]).reply is None


def test_context_and_system_message_are_concatenated_and_attributed() -> None:
    reply = merged(
        "UserPromptSubmit",
        ("git", {"hookSpecificOutput": {"additionalContext": "branch main"},
                 "systemMessage": "dirty tree"}),
        ("empty", {"hookSpecificOutput": {"additionalContext": ""}}),
        ("tasks", {"hookSpecificOutput": {"additionalContext": "2 tasks open"},
                   "systemMessage": "reminder"}),
    ).reply
    context = "[git] branch main\n\n[tasks] 2 tasks open"
    assert reply == {
        "systemMessage": "[git] dirty tree\n[tasks] reminder",
        "hookSpecificOutput": specific("UserPromptSubmit", additionalContext=context),
    }


def test_long_context_is_cut_below_claude_codes_limit() -> None:
    votes = [(f"h{i}", {"hookSpecificOutput": {"additionalContext": "x" * 3000}}) for i in range(5)]
    text = merged("SessionStart", *votes).reply["hookSpecificOutput"]["additionalContext"]
    assert len(text) <= 10_000
    assert text.endswith("chars cut)")


# -- other decision shapes -----------------------------------------------------------------------


def _request(behavior: str, **fields: Any) -> dict[str, Any]:
    return {"hookSpecificOutput": {"decision": {"behavior": behavior, **fields}}}


def test_permission_request_deny_beats_allow() -> None:
    for order in itertools.permutations([("a", _request("allow")),
                                         ("d", _request("deny", message="no", interrupt=True)),
                                         ("e", _request("deny", message="never"))]):
        reply = merged("PermissionRequest", *order).reply
        decision = reply["hookSpecificOutput"]["decision"]
        assert decision["behavior"] == "deny"
        assert decision["interrupt"] is True
        assert set(decision["message"].splitlines()) == {"[d] no", "[e] never"}


def test_permission_request_rewrites() -> None:
    same = merged("PermissionRequest", ("a", _request("allow", updatedInput={"command": "ls"})),
                  ("b", _request("allow", updatedInput={"command": "ls"}))).reply
    assert same["hookSpecificOutput"]["decision"] == {"behavior": "allow",
                                                      "updatedInput": {"command": "ls"}}
    # two different rewrites: no decision at all, Claude Code shows its usual dialog
    assert merged("PermissionRequest", ("a", _request("allow", updatedInput={"command": "ls"})),
                  ("b", _request("allow", updatedInput={"command": "pwd"}))).reply is None


def test_permission_request_permissions_are_collected() -> None:
    rule = {"type": "addRules", "rules": [{"toolName": "Bash"}], "behavior": "allow",
            "destination": "session"}
    reply = merged("PermissionRequest", ("a", _request("allow", updatedPermissions=[rule])),
                   ("b", _request("allow", updatedPermissions="not a list"))).reply
    assert reply["hookSpecificOutput"]["decision"] == {"behavior": "allow",
                                                       "updatedPermissions": [rule]}


@pytest.mark.parametrize("event", ["Elicitation", "ElicitationResult"])
def test_elicitation_cancel_decline_accept(event: str) -> None:
    ranks = ["accept", "decline", "cancel"]
    for size in (1, 2, 3):
        for combo in itertools.permutations(ranks, size):
            votes = [(a, {"hookSpecificOutput": {"action": a}}) for a in combo]
            reply = merged(event, *votes).reply
            assert reply["hookSpecificOutput"]["action"] == max(combo, key=ranks.index)


def test_elicitation_content_only_when_accepted_and_agreed() -> None:
    def vote(action: str, content: dict[str, Any]) -> dict[str, Any]:
        return {"hookSpecificOutput": {"action": action, "content": content}}

    agreed = merged("Elicitation", ("a", vote("accept", {"x": 1})), ("b", vote("accept", {"x": 1})))
    assert agreed.reply["hookSpecificOutput"] == specific("Elicitation", action="accept",
                                                          content={"x": 1})
    conflict = merged("Elicitation", ("a", vote("accept", {"x": 1})),
                      ("b", vote("accept", {"x": 2})))
    assert conflict.reply["hookSpecificOutput"] == specific("Elicitation", action="accept")
    declined = merged("Elicitation", ("a", vote("accept", {"x": 1})), ("b", vote("decline", {})))
    assert declined.reply["hookSpecificOutput"] == specific("Elicitation", action="decline")


def test_permission_denied_retry_only_if_no_one_says_no() -> None:
    def vote(value: bool) -> dict[str, Any]:
        return {"hookSpecificOutput": {"retry": value}}

    assert merged("PermissionDenied", ("a", vote(True)), ("b", vote(True))).reply == {
        "hookSpecificOutput": specific("PermissionDenied", retry=True)}
    assert merged("PermissionDenied", ("a", vote(True)), ("b", vote(False))).reply == {
        "hookSpecificOutput": specific("PermissionDenied", retry=False)}


@pytest.mark.parametrize("event", ["SessionStart", "CwdChanged", "FileChanged"])
def test_watch_paths_union(event: str) -> None:
    reply = merged(event, ("a", {"hookSpecificOutput": {"watchPaths": ["/x", "/y"]}}),
                   ("b", {"hookSpecificOutput": {"watchPaths": ["/y", "/z", 3]}})).reply
    assert reply["hookSpecificOutput"]["watchPaths"] == ["/x", "/y", "/z"]


def test_updated_tool_output_only_when_agreed() -> None:
    def vote(value: Any) -> dict[str, Any]:
        return {"hookSpecificOutput": {"updatedToolOutput": value}}

    assert merged("PostToolUse", ("a", vote({"stdout": "x"})), ("b", vote({"stdout": "x"}))
                  ).reply["hookSpecificOutput"]["updatedToolOutput"] == {"stdout": "x"}
    assert merged("PostToolUse", ("a", vote({"stdout": "x"})), ("b", vote({"stdout": "y"}))
                  ).reply is None


@pytest.mark.parametrize("event", SILENT)
def test_silent_events_reply_nothing(event: str) -> None:
    result = merge_replies(event, [("a", {"systemMessage": "hi", "continue": False,
                                          "decision": "block",
                                          "hookSpecificOutput": {"additionalContext": "x"}})])
    assert result.reply is None and result.exit_code == 0


def test_unknown_event_replies_nothing() -> None:
    result = merge_replies("SomeFutureEvent", [("a", {"systemMessage": "hi"})])
    assert result.reply is None and result.exit_code == 0
    assert contract_for("SomeFutureEvent").silent


def test_fields_an_event_does_not_honour_are_dropped_and_reported() -> None:
    result = merge_replies("Stop", [("a", {"decision": "approve", "suppressOutput": True,
                                           "hookSpecificOutput": {"permissionDecision": "deny",
                                                                  "additionalContext": "ok"}})])
    assert result.reply == {"hookSpecificOutput": specific("Stop", additionalContext="[a] ok")}
    assert "a: suppressOutput" in result.dropped
    assert "a: hookSpecificOutput.permissionDecision" in result.dropped


@pytest.mark.parametrize("bad", [
    ["deny"], {"deny": 1}, 3, True,
])
def test_a_malformed_vote_never_cancels_a_deny(bad: Any) -> None:
    """Regression: an unhashable permissionDecision used to crash the merge (exit 1: fail open)."""
    result = merged("PreToolUse", ("broken", {"hookSpecificOutput": {"permissionDecision": bad}}),
                    ("guard", perm("deny", "no")), ("junk", "not a dict"), ("list", [1, 2]))
    assert result.reply["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert any(d.startswith("broken: hookSpecificOutput.permissionDecision")
               for d in result.dropped)
    assert "junk: reply is not an object" in result.dropped


def test_wrongly_typed_fields_are_dropped() -> None:
    result = merged("SessionStart", ("a", {"systemMessage": ["x"], "continue": "no",
                                           "hookSpecificOutput": {"initialUserMessage": [],
                                                                  "sessionTitle": 3,
                                                                  "reloadSkills": "yes",
                                                                  "additionalContext": None}}))
    assert result.reply is None
    assert len(result.dropped) == 5
    action = merged("Elicitation", ("a", {"hookSpecificOutput": {"action": {"x": 1}}}),
                    ("b", {"hookSpecificOutput": {"action": "decline"}}))
    assert action.reply["hookSpecificOutput"]["action"] == "decline"


# -- property: whatever handlers return, the merge never fails and emits a valid reply ----------

_TOP = ["continue", "stopReason", "systemMessage", "decision", "reason", "suppressOutput", "zzz"]
_SPECIFIC = ["additionalContext", "classifierContext", "initialUserMessage", "sessionTitle",
             "watchPaths", "reloadSkills", "suppressOriginalPrompt", "permissionDecision",
             "permissionDecisionReason", "updatedInput", "decision", "retry",
             "updatedToolOutput", "updatedMCPToolOutput", "displayContent", "action", "content",
             "hookEventName", "zzz"]
_WORDS = ["allow", "deny", "ask", "defer", "block", "approve", "accept", "decline", "cancel",
          "behavior", "message", "interrupt", "updatedInput", "updatedPermissions"]
_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=4),
                    st.sampled_from(_WORDS))
_json = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_WORDS), inner, max_size=3)),
    max_leaves=6)
_reply = st.one_of(
    _json,
    st.builds(lambda top, spec: {**top, "hookSpecificOutput": spec},
              st.dictionaries(st.sampled_from(_TOP), _json, max_size=4),
              st.one_of(_json, st.dictionaries(st.sampled_from(_SPECIFIC), _json, max_size=5))),
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(event=st.sampled_from([*EVENT_NAMES, "FutureEvent"]),
       votes=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _reply), max_size=4))
def test_merge_never_fails_and_honours_the_contract(
    contract_ok: Callable[..., None], event: str, votes: list[Any],
) -> None:
    result = merge_replies(event, votes)
    assert result.exit_code in (0, 2)
    contract_ok(event, result.reply)


# -- end to end ---------------------------------------------------------------------------------


def test_pre_tool_use_end_to_end(home: Any, plugin: Callable[..., Any],
                                 payload: Callable[[str], dict[str, Any]]) -> None:
    plugins = [
        plugin("yes", on_pre_tool_use=lambda event: perm("allow", "fine")),
        plugin("maybe", on_pre_tool_use=lambda: perm("ask", "sure?")),
        plugin("no", on_pre_tool_use=lambda event, ctx: perm("deny", f"not {event.tool_name}")),
        plugin("ctx", on_pre_tool_use=lambda: {"hookSpecificOutput": {"additionalContext": "hi"}}),
    ]
    result = run_dispatch(payload("PreToolUse.Bash.json"), plugins=plugins, home=home,
                          builtins=False)
    assert result.exit_code == 0, result.stderr
    assert result.reply == {"hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny",
        "permissionDecisionReason": "[no] not Bash", "additionalContext": "[ctx] hi"}}


def test_rewrite_conflict_end_to_end(home: Any, plugin: Callable[..., Any],
                                     payload: Callable[[str], dict[str, Any]]) -> None:
    plugins = [
        plugin("quote", on_pre_tool_use=lambda: perm("allow", updatedInput={"command": "a"})),
        plugin("strip", on_pre_tool_use=lambda: perm("allow", updatedInput={"command": "b"})),
    ]
    result = run_dispatch(payload("PreToolUse.Bash.json"), plugins=plugins, home=home,
                          builtins=False)
    assert result.reply is not None
    out = result.reply["hookSpecificOutput"]
    assert out["permissionDecision"] == "ask" and "updatedInput" not in out


def test_model_switch_and_elicitation_end_to_end(
    home: Any, plugin: Callable[..., Any], payload: Callable[[str], dict[str, Any]],
) -> None:
    switch = [plugin("a", on_pre_model_switch=lambda: perm("ask", "costly")),
              plugin("b", on_pre_model_switch=lambda: perm("allow"))]
    reply = run_dispatch(payload("PreModelSwitch.json"), plugins=switch, home=home,
                         builtins=False).reply
    assert reply == {"hookSpecificOutput": {"hookEventName": "PreModelSwitch",
                                            "permissionDecision": "ask",
                                            "permissionDecisionReason": "[a] costly"}}
    ask = [plugin("a", on_elicitation=lambda: {"hookSpecificOutput": {"action": "accept",
                                                                      "content": {"x": 1}}}),
           plugin("b", on_elicitation=lambda: {"hookSpecificOutput": {"action": "cancel"}})]
    reply = run_dispatch(payload("Elicitation.form.json"), plugins=ask, home=home,
                         builtins=False).reply
    assert reply == {"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "cancel"}}


def test_permission_request_end_to_end(home: Any, plugin: Callable[..., Any],
                                       payload: Callable[[str], dict[str, Any]]) -> None:
    plugins = [plugin("a", on_permission_request=lambda: _request("allow")),
               plugin("b", on_permission_request=lambda: _request("deny", message="no"))]
    reply = run_dispatch(payload("PermissionRequest.Bash.json"), plugins=plugins, home=home,
                         builtins=False).reply
    assert reply == {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                            "decision": {"behavior": "deny", "message": "[b] no"}}}


def test_stop_block_and_continue_end_to_end(home: Any, plugin: Callable[..., Any],
                                            payload: Callable[[str], dict[str, Any]]) -> None:
    plugins = [plugin("tests", on_stop=lambda: {"decision": "block", "reason": "tests fail"}),
               plugin("budget", on_event=lambda: {"continue": False, "stopReason": "over budget"}),
               plugin("note", on_stop=lambda: {"systemMessage": "3 tasks open"})]
    result = run_dispatch(payload("Stop.json"), plugins=plugins, home=home, builtins=False)
    assert result.exit_code == 0
    assert result.reply == {"continue": False, "stopReason": "[budget] over budget",
                            "systemMessage": "[note] 3 tasks open", "decision": "block",
                            "reason": "[tests] tests fail"}


def test_task_completed_block_exits_2_in_process_and_for_real(
    home: Any, plugin: Callable[..., Any], payload: Callable[[str], dict[str, Any]],
    make_plugin: Callable[..., Any], dispatch_cli: Callable[..., Any],
    no_builtins: dict[str, str],
) -> None:
    gate = plugin("gate", on_task_completed=lambda event: {
        "decision": "block", "reason": f"task {event.get('task_id')}: tests fail"})
    result = run_dispatch(payload("TaskCompleted.json"), plugins=[gate], home=home,
                          builtins=False)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "[gate] task 1: tests fail\n"

    folder = make_plugin("gate", """
        from hooks import hookimpl

        @hookimpl
        def on_task_completed(event):
            return {"decision": "block", "reason": "keep it open"}
    """)
    real = dispatch_cli(payload("TaskCompleted.json"), paths=[folder], **no_builtins)
    assert (real.code, real.out, real.err) == (2, "", "[gate] keep it open\n")


SILENT_PAYLOADS = {
    "SessionEnd": "SessionEnd.other.json", "Notification": "Notification.elicitation_response.json",
    "InstructionsLoaded": "InstructionsLoaded.session_start.json",
    "StopFailure": "docs.StopFailure.rate_limit.json", "PostCompact": "PostCompact.manual.json",
    "WorktreeCreate": "WorktreeCreate.cli_flag.json", "WorktreeRemove": "docs.WorktreeRemove.json",
}


def test_silent_payload_table_is_complete() -> None:
    assert sorted(SILENT_PAYLOADS) == SILENT


def test_silent_events_print_nothing_for_real(
    make_plugin: Callable[..., Any], dispatch_cli: Callable[..., Any],
    payload: Callable[[str], dict[str, Any]],
) -> None:
    folder = make_plugin("chatty", """
        from hooks import hookimpl

        @hookimpl
        def on_event(event):
            return {"systemMessage": "hello", "continue": False, "decision": "block",
                    "hookSpecificOutput": {"additionalContext": "x"}}
    """)
    for event, name in SILENT_PAYLOADS.items():
        result = dispatch_cli(payload(name), paths=[folder])
        assert (result.code, result.out, result.err) == (0, "", ""), event


def test_unknown_future_event_reaches_on_event_only(
    home: Any, recorder: Callable[..., Any], dispatch_cli: Callable[..., Any],
) -> None:
    event = {"session_id": "s-1", "hook_event_name": "TeleportRequested", "destination": "mars"}
    calls: list[tuple[str, Any]] = []
    loud = recorder(calls, lambda spec, ev: {"systemMessage": "hi", "decision": "block"})
    result = run_dispatch(event, plugins=[loud], home=home)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert [c for c in calls if c[0] != "on_state_change"] == [
        ("on_event", "TeleportRequested"), ("after_dispatch", ("TeleportRequested", None))]
    real = dispatch_cli(event)
    assert (real.code, real.out, real.err) == (0, "", "")
