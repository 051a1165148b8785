"""File claims: warn, ask or refuse before two sessions edit the same file.

After each Write/Edit/NotebookEdit, each Codex ``apply_patch`` (the files the patch names,
:mod:`handlers.patch_files`) and the Bash writes :mod:`handlers.bash_writes`
recognises (redirections, ``tee``, ``sed -i``, ``mv``, ``cp``, following ``cd``)
the session claims the file (see :mod:`state.claims`: files are compared by their
real path relative to the project's root, so a symlinked folder or another
checkout of the project names the same file). Before such a call, if another
live session of the same project claimed a target within
``claims.window_seconds``, the reply follows ``claims.policy`` (per project:
``projects.<id>.claims.policy``):

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
#: Codex CLI's file edits: the files are named in the patch (:mod:`handlers.patch_files`).
PATCH_TOOLS = ("apply_patch",)
#: Every tool whose calls the claims handler looks at.
WRITING_TOOLS = (*EDIT_TOOLS, *PATCH_TOOLS, "Bash")


def targets_of(event: Event) -> list[str]:
    """Absolute paths of the files the tool call writes (see :mod:`handlers.bash_writes`)."""
    data = event.tool_input
    tool = event.tool_name
    base = event.cwd or os.getcwd()
    if "\0" in base:
        return []
    if tool in EDIT_TOOLS:
        value = data.get("file_path") or data.get("notebook_path")
        if isinstance(value, str) and value and "\0" not in value:
            return [os.path.normpath(os.path.join(base, os.path.expanduser(value)))]
        return []
    command = data.get("command")
    if not isinstance(command, str) or "\0" in command:
        return []
    if tool in PATCH_TOOLS:
        from handlers.patch_files import patch_targets

        return patch_targets(command, base)[:20]
    if tool == "Bash":
        from handlers.bash_writes import bash_targets

        found = bash_targets(command, base)[:20]
        if "*** Begin Patch" in command:  # apply_patch through the shell (a heredoc)
            from handlers.patch_files import patch_targets

            found += [p for p in patch_targets(command, base) if p not in found][:20]
        return found
    return []


def _claimed(event: Event, ctx: HandlerContext
             ) -> tuple[str, list[tuple[str, str]]] | None:
    """(project, [(file, path)]) of the files this call writes, or None."""
    paths = targets_of(event)
    if not paths:
        return None
    from state.paths import session_key

    assert event.session_id is not None
    state = ctx.store.read(session_key(event.session_id, "state.json")) or {}
    project = state.get("project")
    if not isinstance(project, str):
        return None
    from state.claims import claim_file, project_root

    root = project_root(ctx.config, project, state)
    return project, list(dict.fromkeys(claim_file(path, root) for path in paths))


def _settings(ctx: HandlerContext, project: str) -> dict[str, Any]:
    from state.config import project_config

    return dict(project_config(ctx.config, project)["claims"])


def _describe(ctx: HandlerContext, claim: dict[str, Any], path: str) -> str:
    from state.sessions import session_summary

    summary = session_summary(ctx.store, claim["session"], ctx.config) or {}
    doing = []
    if summary.get("current_task"):
        doing.append(f"task {summary['current_task']!r}")
    if summary.get("doing"):
        doing.append(f"now {summary['doing']}")
    elif summary.get("last_tool"):
        doing.append(f"last tool {summary['last_tool']}")
    minutes = max(0, int((ctx.now - claim["ts"]) // 60))
    what = f" ({'; '.join(doing)})" if doing else ""
    agent = summary.get("agent")
    if agent:
        from hooks.agents import DISPLAY

        agent = f" ({DISPLAY.get(agent, agent)})"
    return (f"{path} was changed {minutes} min ago ({claim.get('tool')}) by session "
            f"{claim['session']}{agent or ''} [{claim.get('session_status', '?')}]{what}")


@hookimpl(tools=WRITING_TOOLS)
def on_pre_tool_use(event: Event, ctx: HandlerContext) -> dict[str, Any] | None:
    sid = event.session_id
    if sid is None or event.tool_name not in WRITING_TOOLS:
        return None
    claimed = _claimed(event, ctx)
    if claimed is None:
        return None
    project, files = claimed
    settings = _settings(ctx, project)
    policy = settings.get("policy", "ask")
    if policy == "off":
        return None
    from state.claims import live_claims

    claims = live_claims(ctx.store, project, window=float(settings["window_seconds"]),
                         at=ctx.now)
    conflicts = [(claims[file], path) for file, path in files
                 if file in claims and claims[file]["session"] != sid]
    if not conflicts:
        return None
    reason = "Another session is working on this: " + "; ".join(
        _describe(ctx, claim, path) for claim, path in conflicts)
    if policy == "warn":
        return {"hookSpecificOutput": {"additionalContext": reason}}
    decision = "deny" if policy == "deny" else "ask"
    return {"hookSpecificOutput": {"permissionDecision": decision,
                                   "permissionDecisionReason": reason}}


@hookimpl(tools=WRITING_TOOLS)
def on_post_tool_use(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None or event.tool_name not in WRITING_TOOLS:
        return
    claimed = _claimed(event, ctx)
    if claimed is None:
        return
    project, files = claimed
    from state.claims import record_claim

    for file, path in files:
        record_claim(ctx.store, project, sid, file, path=path, tool=event.tool_name or "?",
                     at=ctx.now)


@hookimpl
def on_session_end(event: Event, ctx: HandlerContext) -> None:
    """Claims end with the session (live_claims also ignores ended sessions)."""
    sid = event.session_id
    if sid is None:
        return
    from state.paths import session_key

    state = ctx.store.read(session_key(sid, "state.json")) or {}
    project = state.get("project")
    if isinstance(project, str):
        from state.claims import release_claims

        release_claims(ctx.store, project, sid)
