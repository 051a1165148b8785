"""Heartbeats: every event marks its session alive, in O(1).

One small file (``sessions/<id>/heartbeat.json``) is replaced atomically without
a lock — last writer wins, which is exactly right for "last seen" — so parallel
hooks never contend and the cost does not grow with the session's history.
Status (active/idle/stale/ended) is derived from it when read
(:mod:`state.sessions`).
"""

from __future__ import annotations

from hooks import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hooks.context import HandlerContext
    from hooks.events import Event


@hookimpl(tryfirst=True)
def on_event(event: Event, ctx: HandlerContext) -> None:
    if event.session_id is None or event.name == "SessionEnd":
        return
    from state.sessions import heartbeat

    heartbeat(ctx.store, event.session_id, event=event.name, tool=event.tool_name, at=ctx.now,
              cwd=event.cwd)
