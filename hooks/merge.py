"""The one function that turns many handlers' answers into Claude Code's reply.

Rules (each tested per event):

* ``permissionDecision``: deny > defer > ask > allow (PreModelSwitch: deny > ask >
  allow). The reason is the winning voters' reasons, each attributed.
* ``updatedInput`` / ``updatedToolOutput``: used when every handler that gives one
  gives the same value. Two different rewrites are a conflict, resolved to the
  **safe side**: neither rewrite is applied, and a PreToolUse decision that was
  allow (or absent) becomes ``ask`` so the user sees the original input; for
  PermissionRequest no decision is sent, so Claude Code shows its usual dialog.
* ``decision: block`` wins over no decision; reasons are concatenated.
* ``continue: false`` wins; ``stopReason``s are concatenated.
* ``additionalContext``, ``classifierContext`` and ``systemMessage`` are
  concatenated, each attributed to its handler as ``[handler] text``.
* PermissionRequest ``decision``: deny > allow. Elicitation ``action``:
  cancel > decline > accept. PermissionDenied ``retry``: only if no one says no.
  ``watchPaths``: union. Other single-valued fields: the first handler's.
* ``hookSpecificOutput.hookEventName`` is always set when there is one; fields the
  event does not honour, and values of the wrong JSON type (a list where Claude Code
  reads a string...), are dropped and reported in ``dropped``; ``null`` means absent.
  A malformed answer never makes the merge fail, so it cannot cancel another
  handler's deny.
* TaskCompleted and TeammateIdle honour a block only as exit code 2: the reply
  then becomes exit 2 with the reason on stderr.
"""

from __future__ import annotations

from hooks.contract import BLOCK_BY_EXIT_2, contract_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Merged", "merge_replies"]

_PERMISSION_RANK = {"allow": 0, "ask": 1, "defer": 2, "deny": 3}
_MODEL_SWITCH_RANK = {"allow": 0, "ask": 1, "deny": 3}
_ELICITATION_RANK = {"accept": 0, "decline": 1, "cancel": 2}
_JOINED_SPECIFIC = ("additionalContext", "classifierContext")
# The JSON type Claude Code reads for each field; other values are dropped, not sent.
_TOP_TYPES: dict[str, type] = {"continue": bool, "stopReason": str, "systemMessage": str,
                               "decision": str, "reason": str}
_SPECIFIC_TYPES: dict[str, type] = {
    "additionalContext": str, "classifierContext": str, "initialUserMessage": str,
    "sessionTitle": str, "displayContent": str, "permissionDecision": str,
    "permissionDecisionReason": str, "action": str, "reloadSkills": bool,
    "suppressOriginalPrompt": bool, "retry": bool, "updatedInput": dict, "content": dict,
    "decision": dict, "watchPaths": list,
}
_MAX_TEXT = 9500  # Claude Code cuts strings at 10,000 characters


class Merged:
    """The merged answer: ``reply`` to print (or None), ``exit_code``, ``stderr`` text."""

    __slots__ = ("dropped", "exit_code", "reply", "stderr")

    def __init__(self) -> None:
        self.reply: dict[str, Any] | None = None
        self.exit_code = 0
        self.stderr: str | None = None
        self.dropped: list[str] = []


def _attributed(parts: list[tuple[str, str]], separator: str = "\n") -> str:
    text = separator.join(f"[{name}] {value}" for name, value in parts)
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 40] + f"\n... ({len(text) - _MAX_TEXT + 40} chars cut)"
    return text


def merge_replies(event_name: str, votes: list[tuple[str, Any]]) -> Merged:
    """Merge ``votes`` — ``(handler name, reply dict or None)`` in call order."""
    result = Merged()
    contract = contract_for(event_name)
    collected: dict[str, list[tuple[str, Any]]] = {}
    for name, reply in votes:
        if not reply:
            continue
        if not isinstance(reply, dict):
            result.dropped.append(f"{name}: reply is not an object")
            continue
        for key, value in reply.items():
            if key == "hookSpecificOutput" and isinstance(value, dict):
                for skey, svalue in value.items():
                    if skey == "hookEventName" or svalue is None:
                        continue
                    if skey not in contract.specific:
                        result.dropped.append(f"{name}: hookSpecificOutput.{skey}")
                    elif not isinstance(svalue, _SPECIFIC_TYPES.get(skey, object)):
                        result.dropped.append(f"{name}: hookSpecificOutput.{skey} "
                                              f"(not a {_SPECIFIC_TYPES[skey].__name__})")
                    else:
                        collected.setdefault("." + skey, []).append((name, svalue))
                        if skey == "permissionDecision":
                            reason = value.get("permissionDecisionReason")
                            collected.setdefault(".#reason", []).append((name, reason))
            elif value is None:
                continue
            elif key not in contract.top:
                result.dropped.append(f"{name}: {key}")
            elif not isinstance(value, _TOP_TYPES.get(key, object)):
                result.dropped.append(f"{name}: {key} (not a {_TOP_TYPES[key].__name__})")
            else:
                collected.setdefault(key, []).append((name, value))
    if contract.silent or not collected:
        return result

    top: dict[str, Any] = {}
    specific: dict[str, Any] = {}
    _merge_common(collected, top)
    _merge_permission(event_name, collected, specific)
    _merge_permission_request(collected, specific)
    _merge_misc(collected, specific)

    block_reasons = [(n, v) for n, v in collected.get("decision", []) if v == "block"]
    if block_reasons:
        reasons = [(n, r) for n, r in collected.get("reason", []) if isinstance(r, str) and r]
        names = {n for n, _ in block_reasons}
        text = _attributed([(n, r) for n, r in reasons if n in names]) or (
            "blocked by " + ", ".join(sorted(names))
        )
        if event_name in BLOCK_BY_EXIT_2:
            result.exit_code = 2
            result.stderr = text
        else:
            top["decision"] = "block"
            top["reason"] = text

    if specific:
        top["hookSpecificOutput"] = {"hookEventName": event_name, **specific}
    result.reply = top or None
    return result


def _merge_common(collected: dict[str, list[tuple[str, Any]]], top: dict[str, Any]) -> None:
    if any(v is False for _, v in collected.get("continue", [])):
        top["continue"] = False
        reasons = [(n, v) for n, v in collected.get("stopReason", []) if isinstance(v, str) and v]
        if reasons:
            top["stopReason"] = _attributed(reasons)
    messages = [(n, v) for n, v in collected.get("systemMessage", []) if isinstance(v, str) and v]
    if messages:
        top["systemMessage"] = _attributed(messages)


def _merge_permission(event_name: str, collected: dict[str, list[tuple[str, Any]]],
                      specific: dict[str, Any]) -> None:
    rank = _MODEL_SWITCH_RANK if event_name == "PreModelSwitch" else _PERMISSION_RANK
    # Decision and reason come from the same reply: pair them by position.
    ballots = [(n, v, r) for (n, v), (_, r) in zip(
        collected.get(".permissionDecision", []), collected.get(".#reason", []), strict=True
    ) if v in rank]
    rewrites = collected.get(".updatedInput", [])
    decision = max((v for _, v, _ in ballots), key=rank.__getitem__, default=None)
    chosen = [(n, r) for n, v, r in ballots if v == decision and isinstance(r, str) and r]
    if rewrites:
        distinct = {repr(v) for _, v in rewrites}
        if len(distinct) == 1 and decision in (None, "allow", "ask"):
            specific["updatedInput"] = rewrites[0][1]
        elif len(distinct) > 1 and decision in (None, "allow"):
            decision = "ask"
            who = ", ".join(n for n, _ in rewrites)
            chosen = [("orchestra", f"handlers {who} proposed different rewrites of this input; "
                                    "none was applied — please confirm the original")]
    if decision is not None:
        specific["permissionDecision"] = decision
        if chosen:
            specific["permissionDecisionReason"] = _attributed(chosen)


def _merge_permission_request(collected: dict[str, list[tuple[str, Any]]],
                              specific: dict[str, Any]) -> None:
    decisions = [(n, v) for n, v in collected.get(".decision", [])
                 if isinstance(v, dict) and v.get("behavior") in ("allow", "deny")]
    if not decisions:
        return
    denies = [(n, v) for n, v in decisions if v["behavior"] == "deny"]
    if denies:
        merged: dict[str, Any] = {"behavior": "deny"}
        messages = [(n, v["message"]) for n, v in denies if isinstance(v.get("message"), str)]
        if messages:
            merged["message"] = _attributed(messages)
        if any(v.get("interrupt") is True for _, v in denies):
            merged["interrupt"] = True
        specific["decision"] = merged
        return
    rewrites = [v["updatedInput"] for _, v in decisions if isinstance(v.get("updatedInput"), dict)]
    if len({repr(r) for r in rewrites}) > 1:
        return  # conflicting rewrites: send nothing, Claude Code asks the user as usual
    merged = {"behavior": "allow"}
    if rewrites:
        merged["updatedInput"] = rewrites[0]
    permissions: list[Any] = []
    for _, v in decisions:
        extra = v.get("updatedPermissions")
        if isinstance(extra, list):
            permissions.extend(p for p in extra if isinstance(p, dict))
    if permissions:
        merged["updatedPermissions"] = permissions
    specific["decision"] = merged


def _merge_misc(collected: dict[str, list[tuple[str, Any]]], specific: dict[str, Any]) -> None:
    for key in _JOINED_SPECIFIC:
        parts = [(n, v) for n, v in collected.get("." + key, []) if isinstance(v, str) and v]
        if parts:
            specific[key] = _attributed(parts, "\n\n")
    actions = [v for _, v in collected.get(".action", []) if v in _ELICITATION_RANK]
    if actions:
        action = max(actions, key=_ELICITATION_RANK.__getitem__)
        specific["action"] = action
        contents = [v for n, v in collected.get(".content", [])]
        if action == "accept" and len({repr(c) for c in contents}) == 1:
            specific["content"] = contents[0]
    retries = [v for _, v in collected.get(".retry", []) if isinstance(v, bool)]
    if retries:
        specific["retry"] = all(retries)
    paths: list[str] = []
    for _, value in collected.get(".watchPaths", []):
        for path in value if isinstance(value, list) else []:
            if isinstance(path, str) and path not in paths:
                paths.append(path)
    if paths:
        specific["watchPaths"] = paths
    for key in ("updatedToolOutput", "updatedMCPToolOutput"):
        values = [v for _, v in collected.get("." + key, [])]
        if values and len({repr(v) for v in values}) == 1:
            specific[key] = values[0]  # several different rewrites: keep the real output
    for key in ("sessionTitle", "initialUserMessage", "displayContent", "suppressOriginalPrompt",
                "reloadSkills"):
        first = collected.get("." + key)
        if first:
            specific[key] = first[0][1]
