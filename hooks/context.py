"""What a handler gets besides the event: state, config, a logger and the clock.

Everything is created on first use, so a handler that needs nothing costs nothing.
Handlers never build paths: they go through :attr:`HandlerContext.store` and the
helpers of the ``state`` package.
"""

from __future__ import annotations

import time

from hooks.log import DispatchLog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from hooks.events import Event
    from state.persistence.storage import Storage

__all__ = ["HandlerContext"]


class HandlerContext:
    """Per-dispatch services for handlers.

    :ivar event: the event being dispatched.
    :ivar home: the state root (``$ORCHESTRA_HOME``).
    :ivar now: the time the dispatch started (seconds since the epoch); use it
        rather than the clock when several records must agree.
    :ivar log: the dispatcher's log (``<root>/logs/dispatch.log``).
    """

    def __init__(
        self,
        event: Event,
        home: str,
        *,
        now: float | None = None,
        on_change: Callable[[str, Any, Any], None] | None = None,
        stored_config: dict[str, Any] | None = None,
    ) -> None:
        self.event = event
        self.home = home
        self.now = time.time() if now is None else now
        self.log = DispatchLog(home)
        self._on_change = on_change
        self._store: Storage | None = None
        self._config: dict[str, Any] | None = None
        self._stored_config = stored_config
        #: Waits that started with this event (see :meth:`needs_attention`).
        self.attention: list[dict[str, Any]] = []

    def listen(self, listener: Callable[[str, Any, Any], None]) -> None:
        """Call ``listener`` after every committed write (the state-change hooks)."""
        self._on_change = listener
        if self._store is not None:
            self._store.subscribe(listener)

    @property
    def session_id(self) -> str | None:
        """The event's session id (already validated by the dispatcher), or None."""
        return self.event.session_id

    @property
    def store(self) -> Storage:
        """The state store; state-change hooks fire after each committed write."""
        if self._store is None:
            from state.store import open_store  # takes a str: no pathlib on the hot path

            # hook=True: a networked store defers what it can (see state.postgres).
            self._store = open_store(self.home, hook=True, config=self._stored_config)
            if self._on_change is not None:
                self._store.subscribe(self._on_change)
        return self._store

    def settle(self, deadline: float, *, end_of_turn: bool = False) -> None:
        """The dispatch is done: let the store ship what it queued (within ``deadline``,
        ``time.monotonic()``), and log what the store noticed on the way."""
        store = self._store
        if store is None:
            return
        try:
            store.settle(deadline, end_of_turn=end_of_turn)
        except Exception as exc:  # shipping is never worth failing the event
            self.log.warning(f"store not settled: {type(exc).__name__}: {exc}")
        for problem in store.problems:
            self.log.warning(problem)

    @property
    def config(self) -> dict[str, Any]:
        """The configuration with defaults applied (read once per dispatch)."""
        if self._config is None:
            from state.config import load_config, with_defaults

            if self._stored_config is not None:  # the dispatcher read it already
                self._config = with_defaults(self._stored_config)
            else:
                self._config = load_config(self.store)
        return self._config

    def needs_attention(self, attention: dict[str, Any]) -> None:
        """Say that the session now waits for a person: after the event's handlers, the
        dispatcher calls every ``on_needs_attention`` implementation with ``attention``."""
        self.attention.append(attention)

    def clock(self) -> float:
        """The current time; handlers measuring durations should use this."""
        return time.time()
