"""File claims: warn, ask or refuse before two sessions edit the same file.

After each Write/Edit/NotebookEdit (and obvious Bash writes: ``>``, ``>>``,
``tee``, ``sed -i``, ``mv``, ``cp``) the session claims the file (see
:mod:`state.claims`). Before such a call, if another live session of the same
project claimed a target within ``claims.window_seconds``, the reply follows
``claims.policy`` (per project: ``projects.<id>.claims.policy``):

* ``off``  — nothing;
* ``warn`` — ``additionalContext`` naming the other session and what it does;
* ``ask``  — (default) ``permissionDecision: ask`` with that reason;
* ``deny`` — ``permissionDecision: deny`` with that reason.
"""

from __future__ import annotations

import os

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

EDIT_TOOLS = ("Write", "Edit", "NotebookEdit", "MultiEdit")


def bash_targets(command: str) -> list[str]:
    """Files an (obvious) Bash command writes: redirections, tee, sed -i, mv/cp targets."""
    import shlex

    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return []
    targets: list[str] = []
    segment: list[str] = []

    def finish(words: list[str]) -> None:
        if not words:
            return
        name = os.path.basename(words[0])
        args = [w for w in words[1:] if not w.startswith("-")]
        if name == "tee":
            targets.extend(args)
        elif name == "sed" and any(w.startswith("-i") or w == "--in-place" for w in words[1:]):
            targets.extend(args[1:])
        elif name in ("mv", "cp") and len(args) >= 2:
            targets.append(args[-1])

    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in (">", ">>", ">|") and i + 1 < len(tokens):
            targets.append(tokens[i + 1])
            i += 2
            continue
        if token in (";", "&&", "||", "|", "&"):
            finish(segment)
            segment = []
        elif set(token) <= set("<>&|;"):
            pass
        else:
            segment.append(token)
        i += 1
    finish(segment)
    return [t for t in targets if t and not t.startswith("/dev/") and not t.startswith("&")]


def targets_of(event: Event) -> list[str]:
    data = event.tool_input
    tool = event.tool_name
    paths: list[str] = []
    if tool in EDIT_TOOLS:
        value = data.get("file_path") or data.get("notebook_path")
        if isinstance(value, str):
            paths.append(value)
    elif tool == "Bash" and isinstance(data.get("command"), str):
        paths.extend(bash_targets(data["command"]))
    base = event.cwd or os.getcwd()
    return [os.path.normpath(os.path.join(base, os.path.expanduser(p))) for p in paths][:20]


def _project(event: Event, ctx: HandlerContext) -> str | None:
    from state.paths import session_key

    assert event.session_id is not None
    state = ctx.store.read(session_key(event.session_id, "state.json")) or {}
    project = state.get("project")
    return project if isinstance(project, str) else None


def _settings(ctx: HandlerContext, project: str) -> dict[str, Any]:
    from state.config import project_config

    return dict(project_config(ctx.config, project)["claims"])


def _describe(ctx: HandlerContext, claim: dict[str, Any]) -> str:
    from state.sessions import session_summary

    summary = session_summary(ctx.store, claim["session"], ctx.config) or {}
    doing = []
    if summary.get("current_task"):
        doing.append(f"task {summary['current_task']!r}")
    if summary.get("last_tool"):
        doing.append(f"last tool {summary['last_tool']}")
    minutes = max(0, int((ctx.now - claim["ts"]) // 60))
    what = f" ({'; '.join(doing)})" if doing else ""
    return (f"{claim['path']} was changed {minutes} min ago ({claim.get('tool')}) by session "
            f"{claim['session']} [{claim.get('session_status', '?')}]{what}")


@hookimpl
def on_pre_tool_use(event: Event, ctx: HandlerContext) -> dict[str, Any] | None:
    sid = event.session_id
    if sid is None or (event.tool_name not in EDIT_TOOLS and event.tool_name != "Bash"):
        return None
    paths = targets_of(event)
    if not paths:
        return None
    project = _project(event, ctx)
    if project is None:
        return None
    settings = _settings(ctx, project)
    policy = settings.get("policy", "ask")
    if policy == "off":
        return None
    from state.claims import live_claims

    claims = live_claims(ctx.store, project, window=float(settings["window_seconds"]),
                         at=ctx.now)
    conflicts = [claims[p] for p in paths if p in claims and claims[p]["session"] != sid]
    if not conflicts:
        return None
    reason = "Another Claude Code session is working on this: " + "; ".join(
        _describe(ctx, c) for c in conflicts)
    if policy == "warn":
        return {"hookSpecificOutput": {"additionalContext": reason}}
    decision = "deny" if policy == "deny" else "ask"
    return {"hookSpecificOutput": {"permissionDecision": decision,
                                   "permissionDecisionReason": reason}}


@hookimpl
def on_post_tool_use(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None or (event.tool_name not in EDIT_TOOLS and event.tool_name != "Bash"):
        return
    paths = targets_of(event)
    if not paths:
        return
    project = _project(event, ctx)
    if project is None:
        return
    from state.claims import record_claim

    for path in paths:
        record_claim(ctx.store, project, sid, path, tool=event.tool_name or "?", at=ctx.now)


@hookimpl
def on_session_end(event: Event, ctx: HandlerContext) -> None:
    """Claims end with the session (live_claims also ignores ended sessions)."""
    sid = event.session_id
    if sid is None:
        return
    project = _project(event, ctx)
    if project is not None:
        from state.claims import release_claims

        release_claims(ctx.store, project, sid)
