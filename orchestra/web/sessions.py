"""Session rows for the sessions page: read once, then kept until their files change.

A row is made of four small documents (``state.json``, ``heartbeat.json`` with the
session's activity, ``tasks.json``, ``usage.json``). With 500 sessions, reading and
parsing 2,000 documents for every
refresh of the page would dominate its cost, so each row is cached under the
``stat`` signature of its files and read again only when one of them changed.
What depends on the clock (status, age) is computed when the page is asked for.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from state.clock import iso
from state.errors import InvalidIdError
from state.paths import session_key, validate_id
from state.persistence.filestore import FileStorage
from state.persistence.storage import Storage
from state.sessions import session_ids, session_status

__all__ = ["SessionRows"]


class SessionRows:
    """Cached session rows of one store (thread-safe: requests run in threads)."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self._files = store if isinstance(store, FileStorage) else None
        self._rows: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _signature(self, sid: str) -> Any:
        """The three files a session row is made of, by ``stat``; None without files."""
        if self._files is None:
            return None
        out: list[tuple[int, int, int] | None] = []
        folder = os.path.dirname(self._files.path(session_key(sid, "state.json")))
        for name in ("state.json", "heartbeat.json", "tasks.json", "usage.json"):
            try:  # one path made per session: 2,000 of them cost 50 ms at 500 sessions
                st = os.stat(os.path.join(folder, name))
                out.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append(None)
        return tuple(out)

    def row(self, sid: str) -> dict[str, Any] | None:
        """What a session row shows that does not depend on the clock (cached by stat)."""
        signature = self._signature(sid)
        with self._lock:
            cached = self._rows.get(sid)
        if cached is not None and signature is not None and cached[0] == signature:
            return cached[1]
        from state.sessions import agent_of, last_heartbeat

        state = self.store.read(session_key(sid, "state.json"))
        if state is None:
            return None
        beat = last_heartbeat(self.store, sid)
        tasks = (self.store.read(session_key(sid, "tasks.json")) or {}).get("tasks", {})
        doing = [t for t in tasks.values() if isinstance(t, dict)
                 and t.get("status") == "in_progress"]
        agents = (state.get("active_work") or {}).get("agents") or {}
        from state.usage import usage_of

        usage = usage_of(self.store.read(session_key(sid, "usage.json")) or {}, None)
        row = {
            "session_id": sid,
            "project": state.get("project"),
            "mode": state.get("mode"),
            "agent": agent_of(state),
            "model": state.get("model") if isinstance(state.get("model"), str) else None,
            "machine": state.get("machine"),
            "cwd": state.get("cwd"),
            "state_status": state.get("status"),
            "beat": beat,
            "created_at": state.get("created_at"),
            "ended_at": state.get("ended_at"),
            "current_task": (doing[0].get("subject") or doing[0].get("id")) if doing else None,
            "tasks_total": sum(1 for t in tasks.values() if isinstance(t, dict)),
            "agents_busy": sum(1 for a in agents.values()
                               if isinstance(a, dict) and a.get("status") == "busy"),
            "agents": agents if isinstance(agents, dict) else {},
            "claude_name": state.get("claude_name"),
            "checkout": state.get("checkout"),
            "usage": usage,
            # the role's own fields; present() applies the project's default (config)
            "role_fields": {k: state.get(k) for k in ("role", "skills", "scope", "project")},
        }
        with self._lock:
            self._rows[sid] = (signature, row)
        return row

    def present(self, row: dict[str, Any], config: dict[str, Any], at: float) -> dict[str, Any]:
        """The row with what depends on the clock (status, age, what the session does) and
        on the price table (cost)."""
        from state.activity import describe, doing
        from state.sessions import role_of
        from state.usage import short_cost, token_count, usage_cost

        beat = row["beat"]
        status, age = session_status({"status": row["state_status"]}, beat, config, at)
        last = beat.get("at")
        activity = describe(beat.get("activity"), status, row["agents"], row["ended_at"])
        usage = row["usage"]
        cost = usage_cost(usage["by_model"], config.get("pricing") or {})
        role = role_of(row["role_fields"], config)
        return {k: v for k, v in row.items()
                if k not in ("beat", "state_status", "agents", "usage", "role_fields")} | {
            "role": role["role"], "skills": role["skills"],
            "status": status,
            "idle_seconds": round(age, 1) if age is not None else None,
            "last_heartbeat": iso(last) if isinstance(last, int | float) else None,
            "last_event": beat.get("event"),
            "last_tool": beat.get("tool"),
            "activity": activity,
            "doing": doing(activity),
            "tokens": {"recorded": usage["recorded"], "total": usage["total"],
                       "main": usage["main"], "subagents": usage["subagents"],
                       "count": token_count(usage["total"])},
            "cost": {**cost, "text": short_cost(cost) if usage["recorded"]
                     else "no tokens recorded"},
        }

    def all(self) -> list[dict[str, Any]]:
        ids = session_ids(self.store)
        with self._lock:  # forget the rows of pruned sessions
            for gone in self._rows.keys() - set(ids):
                del self._rows[gone]
        return [r for r in map(self.row, ids) if r is not None]

    def projects(self, rows: list[dict[str, Any]] | None = None) -> list[str]:
        """Projects with a folder, in the config, or named by a session (like the views)."""
        from state.shared import list_projects

        names = set(list_projects(self.store))
        for row in self.all() if rows is None else rows:  # cached: nothing re-read
            name = row["project"]
            if isinstance(name, str) and name not in names:
                try:
                    names.add(validate_id(name, "project id"))
                except InvalidIdError:
                    continue
        return sorted(names)
