"""File claims and the git guard: warn, ask or refuse before one session's write or git
command takes another live session's work.

**Claims.** Before each Write/Edit/NotebookEdit, each Codex ``apply_patch`` (the files the
patch names, :mod:`handlers.patch_files`) and the Bash writes :mod:`handlers.bash_writes`
recognises (redirections, ``tee``, ``sed -i``, ``mv``, ``cp``, following ``cd``), if another
live session of the same project claimed a target within ``claims.window_seconds`` (or is
writing it right now), the reply follows ``claims.policy`` (per project:
``projects.<id>.claims.policy``):

* ``off``  — nothing;
* ``warn`` — ``additionalContext`` naming the other session and what it does;
* ``ask``  — (default) ``permissionDecision: ask`` with that reason;
* ``deny`` — ``permissionDecision: deny`` with that reason.

The check and the claim are one step under the claims log's lock
(:func:`state.claims.claim_step`): a write that is let through is claimed *provisionally*
at once, so of several sessions writing one file at the same moment exactly one goes
through. PostToolUse confirms the claim (files are compared by their real path relative
to the project's root, see :mod:`state.claims`); PostToolUseFailure and PermissionDenied
drop it (a Bash line that failed after it ran keeps the claims on the files that exist),
and so does a deny from another handler of the same PreToolUse (the call never runs)
and the session's Stop for whatever was never answered.

**The git guard** (:mod:`handlers.git_guard`): a Bash git command that would rewrite or
switch a working tree in which another live session has uncommitted changes, is in the
middle of a turn (for commands that move the branch), made a stash entry it pops or drops,
works in a worktree it removes, or is on a branch it deletes: the same policy decides, in
the same locked step. Its PostToolUse ends the claims on files a commit took unchanged and
records who made a stash entry.

Every decision that stopped or warned is logged (:mod:`state.guard_log`) for ``orchestra
show``, the dashboard, the web view and ``orchestra stats``.
"""

from __future__ import annotations

import os
import time

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from handlers.git_guard import Guard, Stake
    from hooks.context import HandlerContext
    from hooks.events import Event
    from state.claims import ClaimTable

EDIT_TOOLS = ("Write", "Edit", "NotebookEdit", "MultiEdit")
#: Codex CLI's file edits: the files are named in the patch (:mod:`handlers.patch_files`).
PATCH_TOOLS = ("apply_patch",)
#: Every tool whose calls the claims handler looks at.
WRITING_TOOLS = (*EDIT_TOOLS, *PATCH_TOOLS, "Bash")
#: Words without which a Bash line writes no file :mod:`handlers.bash_writes` can see.
_WRITE_HINTS = (">", "tee", "sed", "mv", "cp")


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
        found: list[str] = []
        if any(hint in command for hint in _WRITE_HINTS):  # else not even imported
            from handlers.bash_writes import bash_targets

            found = bash_targets(command, base)[:20]
        if "*** Begin Patch" in command:  # apply_patch through the shell (a heredoc)
            from handlers.patch_files import patch_targets

            found += [p for p in patch_targets(command, base) if p not in found][:20]
        return found
    return []


def _handler_limit() -> float:
    """The seconds a handler may take (``ORCHESTRA_HANDLER_TIMEOUT``, default 2): a claim
    step that waits longer would be abandoned by the dispatcher, so it waits less."""
    try:
        limit = float(os.environ.get("ORCHESTRA_HANDLER_TIMEOUT") or 2.0)
    except ValueError:
        limit = 2.0
    return limit if limit > 0 else 2.0


def _git_line(event: Event) -> str | None:
    """The Bash command line, if it may run git."""
    if event.tool_name != "Bash":
        return None
    command = event.tool_input.get("command")
    if not isinstance(command, str) or "\0" in command:
        return None
    if "git" in command or "git" in _unquoted(command):
        return command
    return None


def _unquoted(command: str) -> str:
    """The line without quotes and backslashes: ``g'i't``, ``g""it`` and ``g\\it`` all run git."""
    return command.replace("'", "").replace('"', "").replace("\\", "")


def _project(event: Event, ctx: HandlerContext) -> tuple[str, dict[str, Any]] | None:
    from state.paths import session_key

    assert event.session_id is not None
    state = ctx.store.read(session_key(event.session_id, "state.json")) or {}
    project = state.get("project")
    return (project, state) if isinstance(project, str) else None


def _claimed(event: Event, ctx: HandlerContext, paths: list[str], project: str,
             state: dict[str, Any]) -> list[tuple[str, str]]:
    """[(file, path)] of ``paths``: claim identities (see :func:`state.claims.claim_file`)."""
    from state.claims import claim_file, project_root

    root = project_root(ctx.config, project, state)
    return list(dict.fromkeys(claim_file(path, root) for path in paths))


def _settings(ctx: HandlerContext, project: str) -> dict[str, Any]:
    from state.config import project_section

    return dict(project_section(ctx.config, project, "claims"))


def _describe(ctx: HandlerContext, claim: dict[str, Any], path: str) -> str:
    from handlers.git_guard import describe_session

    who = describe_session(ctx.store, claim["session"], ctx.config, ctx.now)
    if claim.get("git"):
        return (f"{path} is in {claim.get('tree')}, where {who} is running "
                f"`{claim['git']}` right now")
    if claim.get("state") == "provisional":
        return f"{path} is being written by {who} right now ({claim.get('tool')})"
    minutes = max(0, int((ctx.now - claim["ts"]) // 60))
    return f"{path} was changed {minutes} min ago ({claim.get('tool')}) by {who}"


def _running_git(table: ClaimTable, sid: str, path: str) -> dict[str, Any] | None:
    """A git operation another session is running in the working tree holding ``path``."""
    real = None
    for op in table.git.values():
        tree = op.get("tree")
        if op["session"] == sid or not isinstance(tree, str):
            continue
        from handlers.git_guard import _inside, _real  # only with another session's git

        real = real or _real(path)
        if _inside(real, _real(tree)) and not any(
                isinstance(x, str) and _inside(real, _real(x)) for x in op.get("exclude", [])):
            return op
    return None


@hookimpl(tools=WRITING_TOOLS)
def on_pre_tool_use(event: Event, ctx: HandlerContext) -> dict[str, Any] | None:
    sid = event.session_id
    if sid is None or event.tool_name not in WRITING_TOOLS:
        return None
    started = time.monotonic()
    paths = targets_of(event)
    command = _git_line(event)
    guard: Guard | None = None
    if command is not None:
        try:
            from handlers.git_guard import prepare

            guard = prepare(command, event.cwd or os.getcwd())
        except Exception as exc:  # the guard fails open; the file claims still count
            ctx.log.error("git guard: could not read the command", exc)
    if not paths and guard is None:
        return None
    found = _project(event, ctx)
    if found is None:
        return None
    project, state = found
    settings = _settings(ctx, project)
    policy = settings.get("policy", "ask")
    if policy == "off":
        return None
    window = float(settings["window_seconds"])
    files = _claimed(event, ctx, paths, project, state)
    limit = _handler_limit()
    if guard is not None:
        guard = _gathered(guard, event, ctx, sid, project, 0.4 * limit)
        if not files and guard is None:
            return None
    from state.claims import claim_record, claim_step

    tool = event.tool_name or "?"
    tool_use_id = event.tool_use_id
    outcome: dict[str, Any] = {"conflicts": [], "stakes": []}

    def decide(table: ClaimTable) -> list[dict[str, Any]]:
        conflicts = []
        since = ctx.now - window
        for file, path in files:
            holders = table.holders(file, since)
            # Another session's claim counts unless this one has changed the file since
            # (with a write of its own that went through: a confirmed claim).
            mine = max((c["ts"] for c in holders
                        if c["session"] == sid and c["state"] == "confirmed"), default=None)
            theirs = [c for c in holders if c["session"] != sid
                      and (mine is None or c["ts"] > mine)]
            if theirs:
                conflicts.append((theirs[0], path))
                continue
            running = _running_git(table, sid, path)
            if running is not None:
                conflicts.append((running, path))
        stakes = guard.stakes(table) if guard is not None else []
        outcome.update(conflicts=conflicts, stakes=stakes)
        if ((conflicts or stakes) and policy != "warn") or not tool_use_id:
            return []  # stopped for a person (or no id to confirm it by): nothing claimed
        records = [claim_record(sid, file, tool=tool, path=path, at=ctx.now,
                                tool_use_id=tool_use_id, provisional=True)
                   for file, path in files]
        if guard is not None:
            records += guard.op_records(sid, tool_use_id, ctx.now)
        return records

    from state.errors import LockTimeoutError

    try:
        # Without the guard, decide looks only at the claims on these files (and at git
        # operations): the other sessions' liveness need not be read.
        note = claim_step(ctx.store, project, decide, window=None, at=ctx.now,
                          config=ctx.config,
                          timeout=max(0.05, 0.8 * limit - (time.monotonic() - started)),
                          files=None if guard is not None else {f for f, _p in files},
                          live=sid)
    except LockTimeoutError:
        # Never block by accident, never skip the check: on a machine too busy to get the
        # step's lock in time, decide on the claims as they are now, without the lock.
        from state.claims import CLAIMS, read_table
        from state.paths import project_key

        for record in decide(read_table(ctx.store, project, window=None, at=ctx.now,
                                        config=ctx.config)):
            ctx.store.append(project_key(project, CLAIMS), record)
        note = "the claims lock stayed busy, so this was decided without it"
    if note:
        ctx.log.warning(f"claims: {note}")
    conflicts, stakes = outcome["conflicts"], outcome["stakes"]
    if not conflicts and not stakes:
        return None
    reasons = []
    if conflicts:
        reasons.append("Another session is working on this: " + "; ".join(
            _describe(ctx, claim, path) for claim, path in conflicts))
    if stakes:
        from handlers.git_guard import reason

        reasons.append(reason(stakes, ctx.store, ctx.config, ctx.now))
    if note:
        reasons.append(f"({note})")
    text = " ".join(reasons)
    decision = {"warn": "warn", "deny": "deny"}.get(policy, "ask")
    _log_decision(ctx, event, project, decision, conflicts, stakes, note)
    if decision == "warn":
        return {"hookSpecificOutput": {"additionalContext": text}}
    return {"hookSpecificOutput": {"permissionDecision": decision,
                                   "permissionDecisionReason": text}}


def _gathered(guard: Guard, event: Event, ctx: HandlerContext, sid: str,
              project: str, seconds: float) -> Guard | None:
    """Ask git what the guard needs; None when nothing can be at stake. What could not be
    read goes to the drift log."""
    from state.claims import read_table

    def own() -> ClaimTable:
        return read_table(ctx.store, project, window=None, at=ctx.now, config=ctx.config)

    from state.errors import StateError

    try:
        active = guard.gather(ctx, sid, project, own, seconds)
    except StateError as exc:  # a store that cannot list sessions now (a server away)
        ctx.log.warning(f"git guard: command not checked: {exc}")
        active = False
    except Exception as exc:  # the guard fails open; the file claims still count
        ctx.log.error("git guard: could not check the command", exc)
        active = False
    if guard.problems:
        _log_unreadable(ctx, event, guard.problems)
    return guard if active else None


def _log_unreadable(ctx: HandlerContext, event: Event, problems: list[str]) -> None:
    from hooks.observe import record_drift

    sightings = [("command", "git", event.name, problem[:200])
                 for problem in dict.fromkeys(problems)]
    try:
        record_drift(ctx.store, sightings, dict(event.raw), ctx.now)
    except Exception as exc:  # the drift log must not decide anything
        ctx.log.warning(f"git guard: could not log an unreadable command: {exc}")


def _log_decision(ctx: HandlerContext, event: Event, project: str, decision: str,
                  conflicts: list[tuple[dict[str, Any], str]], stakes: list[Stake],
                  note: str | None) -> None:
    from state.guard_log import record_decision

    others: list[dict[str, Any]] = [
        {"session": claim["session"], "files": [path[:500]],
         "why": (f"running `{claim['git']}`" if claim.get("git") else
                 "writing it now" if claim.get("state") == "provisional" else
                 f"changed it with {claim.get('tool')}")}
        for claim, path in conflicts]
    others += [stake.as_record() for stake in stakes]
    command = event.tool_input.get("command")
    what = (command if isinstance(command, str) else
            f"{event.tool_name} {conflicts[0][1] if conflicts else ''}".strip())
    try:
        record_decision(ctx.store, project, session=event.session_id or "?",
                        decision=decision, kind="git" if stakes else "edit",
                        tool=event.tool_name or "?", command=what,
                        tool_use_id=event.tool_use_id, others=others, note=note, at=ctx.now)
    except Exception as exc:  # showing a decision must not change it
        ctx.log.warning(f"claims: could not log the decision: {exc}")


@hookimpl(tools=WRITING_TOOLS, needs=("PreToolUse",))
def after_dispatch(event: Event, reply: dict[str, Any] | None, ctx: HandlerContext) -> None:
    """Another handler (a plugin) refused the call this handler let through: it will never
    run, and Claude Code sends no result for it, so its provisional claims end now."""
    if event.name != "PreToolUse" or not reply:
        return
    specific = reply.get("hookSpecificOutput")
    if not isinstance(specific, dict) or specific.get("permissionDecision") != "deny":
        return
    _call_ended(event, ctx, ran=False)


@hookimpl(tools=WRITING_TOOLS)
def on_post_tool_use(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None or event.tool_name not in WRITING_TOOLS:
        return
    paths = targets_of(event)
    command = _git_line(event)
    if not paths and command is None:
        return
    found = _project(event, ctx)
    if found is None:
        return
    project, state = found
    from state.claims import record_claim

    for file, path in _claimed(event, ctx, paths, project, state):
        record_claim(ctx.store, project, sid, file, path=path, tool=event.tool_name or "?",
                     at=ctx.now, tool_use_id=event.tool_use_id)
    if command is not None:
        from handlers.git_guard import after_git

        after_git(event, ctx, sid, project)


def _call_ended(event: Event, ctx: HandlerContext, *, ran: bool) -> None:
    """A call PreToolUse may have claimed provisionally ended without a result: drop its
    claims — but a Bash line that ran (and failed) may have written files: those that
    exist stay claimed."""
    sid = event.session_id
    tool_use_id = event.tool_use_id
    if sid is None or not tool_use_id or event.tool_name not in WRITING_TOOLS:
        return
    paths = targets_of(event)
    if not paths and _git_line(event) is None:
        return
    found = _project(event, ctx)
    if found is None:
        return
    project, state = found
    from state.claims import drop_claims, record_claim

    if ran and event.tool_name == "Bash":
        for file, path in _claimed(event, ctx, [p for p in paths if os.path.lexists(p)],
                                   project, state):
            record_claim(ctx.store, project, sid, file, path=path, tool="Bash", at=ctx.now,
                         tool_use_id=tool_use_id)
    drop_claims(ctx.store, project, sid, tool_use_id)


@hookimpl(tools=WRITING_TOOLS)
def on_post_tool_use_failure(event: Event, ctx: HandlerContext) -> None:
    _call_ended(event, ctx, ran=event.get("is_interrupt") is not True)


@hookimpl(tools=WRITING_TOOLS)
def on_permission_denied(event: Event, ctx: HandlerContext) -> None:
    _call_ended(event, ctx, ran=False)


@hookimpl
def on_stop(event: Event, ctx: HandlerContext) -> None:
    """At the end of a turn every call of it is answered: a provisional claim still open
    (a write refused at Claude Code's own permission prompt sends no result) is dropped.
    Not while background tasks run: they may still be writing."""
    sid = event.session_id
    if sid is None or event.get("background_tasks"):
        return
    found = _project(event, ctx)
    if found is None:
        return
    project, _state = found
    from state.claims import CLAIMS, claims_table, drop_claims
    from state.paths import project_key

    key = project_key(project, CLAIMS)
    if not ctx.store.exists(key):
        return
    table = claims_table(ctx.store.read_recent(key), window=0, at=ctx.now)
    if any(s == sid for s, _t in table.pending) or any(s == sid for s, _t in table.git):
        drop_claims(ctx.store, project, sid, "*")


@hookimpl
def on_session_end(event: Event, ctx: HandlerContext) -> None:
    """Claims end with the session (live_claims also ignores ended sessions)."""
    sid = event.session_id
    if sid is None:
        return
    found = _project(event, ctx)
    if found is not None:
        from state.claims import release_claims

        release_claims(ctx.store, found[0], sid)
