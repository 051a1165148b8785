"""Claude Code's own coordination, seen: its names for sessions, SendMessage, worktrees.

Claude Code 2.1.332 coordinates local sessions itself (payloads captured from it are in
``tests/payloads/coordination/``):

* **Names.** ``ListAgents`` answers ``This session is NAME [REF] ...`` and every session
  writes ``~/.claude/sessions/<pid>.json`` (``sessionId``, ``name``: what ``claude agents
  --json`` reads). The name is learned from the first at SessionStart and Stop and from
  the second at every ListAgents, and kept by :mod:`state.names`.
* **SendMessage** ``{to, summary, message}``: its PostToolUse (``tool_response.success``,
  ``msg_id``) is recorded in Orchestra's message log as sent through Claude Code
  (:func:`state.messages.record_claude_message`), with sender, recipient name (and
  session, when the name is known) and summary. Claude Code delivered it: Orchestra
  never puts it into any context.
* **Worktrees and folders.** The PostToolUse of ``EnterWorktree`` (``worktreePath``,
  ``worktreeBranch``) and ``ExitWorktree`` (``restoredCwd``), ``CwdChanged``
  (``new_cwd``) and ``WorktreeRemove`` (``worktree_path``) update the session's
  ``checkout`` in ``state.json`` — the folder of the git checkout it works in and its
  branch, read from the checkout's ``.git`` (no git process) — and its ``cwd``.
  WorktreeCreate is not handled: a hook on it replaces git's worktree creation.
"""

from __future__ import annotations

import os

from hooks import hookimpl
from state.jsontext import dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

COORDINATION_TOOLS = ("SendMessage", "ListAgents", "EnterWorktree", "ExitWorktree")
_OWN_NAME = "This session is "
_REGISTRY_FILES = 64  #: at most this many registry files are looked at
_REGISTRY_BYTES = 64 * 1024
_HEAD_BYTES = 4096


# -- names ----------------------------------------------------------------------------

def claude_dir() -> str:
    """Claude Code's configuration folder (``$CLAUDE_CONFIG_DIR``, else ``~/.claude``)."""
    return os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"),
                                                               ".claude")


def registry_name(session_id: str, folder: str | None = None) -> str | None:
    """The name Claude Code's session registry gives ``session_id``, or None. Reads only
    ``sessions/<pid>.json`` files (never the ``.key`` files beside them), small ones,
    and parses only the one that names the session."""
    base = os.path.join(folder or claude_dir(), "sessions")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return None
    needle = dumps(session_id).encode()
    for name in [n for n in names if n.endswith(".json") and n[:-5].isdigit()][
            :_REGISTRY_FILES]:
        path = os.path.join(base, name)
        try:
            if os.path.islink(path) or os.path.getsize(path) > _REGISTRY_BYTES:
                continue
            with open(path, "rb") as fh:
                data = fh.read(_REGISTRY_BYTES)
        except OSError:
            continue
        if needle not in data:
            continue
        try:
            entry = loads(data)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("sessionId") == session_id:
            value = entry.get("name")
            return value if isinstance(value, str) and value else None
    return None


def own_name(listing: object) -> str | None:
    """``This session is proj-5c [8db93f] — ...`` (ListAgents) -> ``proj-5c [8db93f]``."""
    if not isinstance(listing, str) or not listing.startswith(_OWN_NAME):
        return None
    rest = listing[len(_OWN_NAME):]
    end = rest.find("]")
    return rest[: end + 1] if 0 < end < 100 else rest.split(" ", 1)[0][:64] or None


def _learn_name(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None:
        return
    name = registry_name(sid)
    if name:
        from state.names import record_name

        record_name(ctx.store, sid, name, source="registry", at=ctx.now)


# -- checkouts ------------------------------------------------------------------------

def checkout_of(folder: str) -> dict[str, Any] | None:
    """The git checkout ``folder`` is in: ``{"path", "branch"}`` (``branch`` None when
    HEAD is detached), read from ``.git`` without running git; None outside one."""
    here = os.path.abspath(folder)
    for _ in range(64):
        dot_git = os.path.join(here, ".git")
        try:
            if os.path.isfile(os.path.join(dot_git, "HEAD")):  # not just any ".git" folder
                git_dir = dot_git
                break
            if os.path.isfile(dot_git):  # a linked worktree: "gitdir: <path>"
                with open(dot_git, encoding="utf-8", errors="replace") as fh:
                    line = fh.read(_HEAD_BYTES).strip()
                if not line.startswith("gitdir:"):
                    return None
                git_dir = os.path.join(here, line[len("gitdir:"):].strip())
                break
        except OSError:
            return None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent
    else:
        return None
    branch = None
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8", errors="replace") as fh:
            head = fh.read(_HEAD_BYTES).strip()
        if head.startswith("ref: refs/heads/"):
            branch = head[len("ref: refs/heads/"):][:200]
    except OSError:
        pass
    return {"path": here, "branch": branch}


def _set_checkout(event: Event, ctx: HandlerContext, folder: str | None, via: str,
                  branch: str | None = None) -> None:
    sid = event.session_id
    if sid is None or not folder or "\0" in folder:
        return
    from state.clock import iso
    from state.paths import session_key

    found = checkout_of(folder)
    checkout = {"path": found["path"] if found else folder,
                "branch": branch or (found or {}).get("branch"), "via": via, "at": iso(ctx.now)}
    with ctx.store.transaction(session_key(sid, "state.json")) as doc:
        if "session_id" not in doc:
            from handlers.session import _ensure

            _ensure(event, ctx, doc)
        raw = doc.get("checkout")
        previous: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if {k: previous.get(k) for k in ("path", "branch")} != {
                k: checkout[k] for k in ("path", "branch")}:
            doc["checkout"] = checkout
        doc["cwd"] = folder


@hookimpl
def on_session_start(event: Event, ctx: HandlerContext) -> None:
    _learn_name(event, ctx)
    if event.cwd:
        _set_checkout(event, ctx, event.cwd, "SessionStart")


@hookimpl
def on_stop(event: Event, ctx: HandlerContext) -> None:
    _learn_name(event, ctx)  # a session renamed since it started


@hookimpl
def on_cwd_changed(event: Event, ctx: HandlerContext) -> None:
    _set_checkout(event, ctx, event.text("new_cwd") or event.cwd, "CwdChanged")


@hookimpl
def on_worktree_remove(event: Event, ctx: HandlerContext) -> None:
    """The session's worktree is gone: it is back in its project's folder."""
    sid = event.session_id
    removed = event.text("worktree_path")
    if sid is None or not removed:
        return
    from state.paths import session_key

    state = ctx.store.read(session_key(sid, "state.json")) or {}
    raw = state.get("checkout")
    checkout: dict[str, Any] = raw if isinstance(raw, dict) else {}
    inside = str(checkout.get("path") or "")
    if inside and (inside == removed or inside.startswith(removed.rstrip(os.sep) + os.sep)):
        home = state.get("project_dir") or os.environ.get("CLAUDE_PROJECT_DIR")
        _set_checkout(event, ctx, home if isinstance(home, str) else event.cwd,
                      "WorktreeRemove")


@hookimpl(tools=COORDINATION_TOOLS)
def on_post_tool_use(event: Event, ctx: HandlerContext) -> None:
    tool = event.tool_name
    response = event.tool_response if isinstance(event.tool_response, dict) else {}
    if tool == "EnterWorktree":
        path = response.get("worktreePath")
        branch = response.get("worktreeBranch")
        _set_checkout(event, ctx, path if isinstance(path, str) else event.cwd,
                      "EnterWorktree", branch if isinstance(branch, str) else None)
    elif tool == "ExitWorktree":
        path = response.get("restoredCwd") or response.get("originalCwd")
        _set_checkout(event, ctx, path if isinstance(path, str) else event.cwd, "ExitWorktree")
    elif tool == "ListAgents":
        name = own_name(response.get("listing"))
        if name and event.session_id:
            from state.names import record_name

            record_name(ctx.store, event.session_id, name, source="ListAgents", at=ctx.now)
    elif tool == "SendMessage":
        _record_message(event, ctx, response, sent=response.get("success") is not False)


@hookimpl(tools=("SendMessage",))
def on_post_tool_use_failure(event: Event, ctx: HandlerContext) -> None:
    if event.tool_name == "SendMessage":
        _record_message(event, ctx, {"message": event.get("error")}, sent=False)


def _record_message(event: Event, ctx: HandlerContext, response: dict[str, Any],
                    sent: bool) -> None:
    sid = event.session_id
    data = event.tool_input
    to = data.get("to") if isinstance(data.get("to"), str) else data.get("recipient")
    if sid is None or not isinstance(to, str) or not to:
        return
    from handlers.heartbeat import first_line
    from state.messages import record_claude_message
    from state.names import name_of, session_for_name
    from state.paths import session_key
    from state.redact import redact

    state = ctx.store.read(session_key(sid, "state.json")) or {}
    project = state.get("project") if isinstance(state.get("project"), str) else None
    text = data.get("message") if isinstance(data.get("message"), str) else data.get("content")
    limit = int(ctx.config["event_log"]["max_field_chars"])
    claude_id = response.get("msg_id")
    record_claude_message(
        ctx.store, sender=sid, project=project, to_name=to, to_session=session_for_name(
            ctx.store, to), summary=first_line(data.get("summary")),
        text=redact(text[: limit + 200])[:limit] if isinstance(text, str) else None, sent=sent,
        detail=first_line(response.get("display") or response.get("message")),
        claude_msg_id=claude_id if isinstance(claude_id, str) else None,
        sender_name=name_of(ctx.store, sid), at=ctx.now)
