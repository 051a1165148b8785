"""Session lifecycle: SessionStart creates or updates the session, SessionEnd ends it.

The project a session belongs to is decided once, at its first event, by
:func:`project_for`:

1. a configured project whose ``root`` contains the project folder
   (``shared_state set-config projects.myapp.root /path/to/myapp``);
2. else ``default_project`` from the config;
3. else derived from the folder name of ``$CLAUDE_PROJECT_DIR`` (or the event's
   ``cwd``) by :func:`state.paths.project_slug`: lower-cased, with characters
   other than letters, digits, ``-``, ``_`` and ``.`` replaced by ``-``.

Sessions Orchestra first sees after they started (installed mid-session) are
created at their first event of any kind. A session registered ahead of its start
(``orchestra session create --id X``, as an orchestrator does before ``claude
--session-id X``) gets its project, cwd and source at its SessionStart like a new one;
a project given to ``create`` is kept.
"""

from __future__ import annotations

import os

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hooks.context import HandlerContext
    from hooks.events import Event

_FORK_PARENT_FIELDS = ("parent_session_id", "forked_from_session_id", "fork_parent_session_id",
                       "forked_from")


def project_for(event: Event, config: dict[str, Any]) -> str | None:
    from state.paths import is_id  # a hand-edited config may hold anything

    folder = os.environ.get("CLAUDE_PROJECT_DIR") or event.cwd
    if folder:
        here = os.path.normcase(os.path.abspath(folder))
        for project, settings in sorted(config.get("projects", {}).items()):
            root = settings.get("root") if isinstance(settings, dict) else None
            if isinstance(root, str) and root and is_id(project):
                base = os.path.normcase(os.path.abspath(os.path.expanduser(root)))
                if here == base or here.startswith(base.rstrip(os.sep) + os.sep):
                    return str(project)
    default = config.get("default_project")
    if isinstance(default, str) and default and is_id(default):
        return default
    if folder:
        from state.paths import project_slug

        return project_slug(os.path.basename(os.path.normpath(folder)))
    return None



def _ensure(event: Event, ctx: HandlerContext, doc: dict[str, Any]) -> None:
    """Fill a new session document (idempotent)."""
    from state.sessions import new_session_state

    if "session_id" not in doc:
        sid = event.session_id or ""
        doc.update(new_session_state(sid, mode=event.agent,
                                     project=project_for(event, ctx.config), at=ctx.now))
        doc["agent"] = event.agent
        folder = os.environ.get("CLAUDE_PROJECT_DIR") or event.cwd
        if folder:  # the root its files are claimed relative to (state.claims)
            doc["project_dir"] = folder
        _keep_identity(ctx, doc)
    for key in ("cwd", "transcript_path", "permission_mode"):
        value = event.text(key)
        if value:
            doc[key] = value


def _keep_identity(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    """A document rebuilt after a quarantine is the same session: it keeps its
    ``created_at`` (which decides its messages), project and mode. A new one has its
    identity recorded for such a day (see :mod:`state.sessions`)."""
    from state.clock import iso
    from state.sessions import recover_identity, remember_identity

    recovered = recover_identity(ctx.store, doc["session_id"])
    if recovered:
        doc.update(recovered)
        doc["rebuilt_at"] = iso(ctx.now)
    remember_identity(ctx.store, doc)


@hookimpl(tryfirst=True, needs=())
def on_event(event: Event, ctx: HandlerContext) -> None:
    """Create the session at the first event we see of it, or rebuild it at once when
    its document is corrupt (reading moves it aside), so that every handler of this
    event finds the session. (It needs no event of its own: whichever comes first.)"""
    sid = event.session_id
    if sid is None or event.name in ("SessionStart", "SessionEnd"):
        return
    from state.paths import session_key

    key = session_key(sid, "state.json")
    if ctx.store.read(key) is not None:
        return
    with ctx.store.transaction(key) as doc:
        _ensure(event, ctx, doc)


@hookimpl(tryfirst=True)
def on_session_start(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None:
        return
    from state.clock import iso
    from state.paths import session_key, validate_id

    stamp = iso(ctx.now)
    source = event.source or "startup"
    with ctx.store.transaction(session_key(sid, "state.json")) as doc:
        is_new = "session_id" not in doc
        _ensure(event, ctx, doc)
        adopted = doc.get("project") is None
        if adopted:
            # Registered ahead (`session_manager create --id X`, then `claude --session-id
            # X`) without a project: it gets one now, as a new session would.
            doc["project"] = project_for(event, ctx.config)
        doc["status"] = "active"
        doc["ended_at"] = None
        doc.pop("end_reason", None)
        doc["source"] = source
        changed_agent = doc.get("agent") != event.agent
        doc["agent"] = event.agent  # who runs it, also for a session registered ahead
        doc["updated_at"] = stamp
        model = event.get("model")
        if isinstance(model, str):
            doc["model"] = model
        if is_new or source == "startup":
            doc.setdefault("started_at", stamp)
        else:
            doc.setdefault("resumes", []).append({"at": stamp, "source": source})
            doc["resumed_at"] = stamp
        if source == "fork":
            for field in _FORK_PARENT_FIELDS:
                parent = event.get(field)
                try:
                    doc["parent_session_id"] = validate_id(parent, "session id")
                    break
                except ValueError:
                    continue
    if (adopted and doc.get("project") is not None) or changed_agent:
        from state.sessions import remember_identity

        remember_identity(ctx.store, doc)  # a rebuild after damage keeps the project


@hookimpl
def on_session_end(event: Event, ctx: HandlerContext) -> None:
    sid = event.session_id
    if sid is None:
        return
    from state.clock import iso
    from state.paths import session_key

    stamp = iso(ctx.now)
    with ctx.store.transaction(session_key(sid, "state.json")) as doc:
        _ensure(event, ctx, doc)
        doc["status"] = "ended"
        doc["ended_at"] = stamp
        doc["updated_at"] = stamp
        doc["end_reason"] = (event.reason or "other")[:100]
