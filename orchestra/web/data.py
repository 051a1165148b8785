"""What the pages show, read through the state layer; paged, and cheap to ask again.

No web framework here: every function takes the store and plain arguments and
returns JSON-ready dicts, so the pages' data can be tested without a server.
Bad input (an invalid id, a cursor that does not parse) raises the state layer's
errors, which the API turns into 400/404.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from orchestra.web import logs
from orchestra.web.items import event_item, message_item
from orchestra.web.sessions import SessionRows
from state.clock import iso, now
from state.config import load_config, project_config
from state.errors import InvalidValueError, NotFoundError
from state.paths import session_key, validate_id
from state.persistence.filestore import FileStorage
from state.persistence.storage import Storage
from state.sessions import session_ids

__all__ = ["SENDER", "StateReader", "event_item", "message_item"]

STATUS_ORDER = {"active": 0, "idle": 1, "stale": 2, "ended": 3}
MAX_PER_PAGE = 200


def _per_page(value: int) -> int:
    return max(1, min(int(value), MAX_PER_PAGE))


def _cursor(text: str | None) -> logs.Cursor | None:
    try:
        return logs.parse_cursor(text)
    except ValueError:
        raise InvalidValueError(f"invalid cursor {str(text)[:40]!r}") from None


def _beat_at(row: dict[str, Any]) -> float:
    at = (row.get("beat") or {}).get("at")
    return float(at) if isinstance(at, int | float) and not isinstance(at, bool) else float("-inf")


class StateReader:
    """The data behind every page, for one store. Thread-safe (requests run in threads)."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        #: The same store when it keeps files: logs are then read by byte offset.
        self.files = store if isinstance(store, FileStorage) else None
        self.rows = SessionRows(store)

    # -- sessions ------------------------------------------------------------------

    def sessions(self, *, project: str | None = None, status: str | None = None,
                 page: int = 1, per_page: int = 50) -> dict[str, Any]:
        """Sessions across projects: active first, most recently seen first."""
        if project:
            validate_id(project, "project id")
        if status and status not in STATUS_ORDER:
            raise InvalidValueError(f"unknown status {status[:20]!r} "
                                    f"(one of {', '.join(STATUS_ORDER)})")
        config, at = load_config(self.store), now()
        raw = self.rows.all()
        rows = [self.rows.present(r, config, at) for r in raw]
        counts = {s: 0 for s in STATUS_ORDER}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        # Most recently seen first by the stored heartbeat time, not the rounded age: the
        # age moves with the clock, so ties (and pages) would shift between two requests.
        seen_at = {r["session_id"]: _beat_at(r) for r in raw}
        chosen = [r for r in rows if (not project or r["project"] == project)
                  and (not status or r["status"] == status)]
        chosen.sort(key=lambda r: (STATUS_ORDER.get(r["status"], 9),
                                   -seen_at.get(r["session_id"], float("-inf")),
                                   r["session_id"]))
        size = _per_page(per_page)
        pages = max(1, -(-len(chosen) // size))
        page = max(1, min(int(page), pages))
        return {"at": iso(at), "total": len(rows), "counts": counts, "matching": len(chosen),
                "page": page, "pages": pages, "per_page": size,
                "projects": self.projects(raw),
                "sessions": chosen[(page - 1) * size: page * size]}

    def projects(self, rows: list[dict[str, Any]] | None = None) -> list[str]:
        return self.rows.projects(rows)

    # -- events --------------------------------------------------------------------

    def _log_sources(self, keys: list[tuple[str, str]]) -> list[logs.Source]:
        """One :class:`logs.Source` per (label, log key) that exists."""
        store, files = self.store, self.files
        out = []
        for label, key in keys:
            if files is None:  # no files: the store's own reader (fine for small stores)
                def records(key: str = key) -> Iterator[dict[str, Any]]:
                    return store.read_log(key)

                out.append(logs.Source(label, list, float("inf"), records=records))
                continue
            live = os.fspath(files.path(key))

            def segments(key: str = key, files: FileStorage = files) -> list[str]:
                return [os.fspath(files.path(k)) for k in files._log_segments(key)]

            source = logs.file_source(label, segments, live,
                                      os.path.dirname(live) if key.startswith("sessions/")
                                      else None)
            if source is not None:
                out.append(source)
        return out

    def events(self, *, session: str | None = None, kind: str | None = None,
               tool: str | None = None, before: str | None = None,
               limit: int = 100) -> dict[str, Any]:
        """The newest events (across sessions, or of one), filtered, below ``before``."""
        if session:
            validate_id(session, "session id")
            if self.store.read(session_key(session, "state.json")) is None:
                raise NotFoundError(f"no session {session}")
        ids = [session] if session else session_ids(self.store)
        sources = self._log_sources([(sid, session_key(sid, "events.jsonl")) for sid in ids])
        needles = []
        if kind:
            needles.append(b'"event":' + json.dumps(kind, ensure_ascii=False).encode())
        if tool:
            needles.append(b'"tool":' + json.dumps(tool, ensure_ascii=False).encode())

        def prefilter(line: bytes) -> bool:
            return all(n in line for n in needles)

        def match(record: dict[str, Any]) -> bool:
            return (not kind or record.get("event") == kind) and (
                not tool or record.get("tool") == tool)

        page = logs.newest(sources, limit=_per_page(limit), cursor=_cursor(before),
                           match=match, prefilter=prefilter if needles else None)
        return {"events": [event_item(r) for r in page.items], "next": page.next,
                "partial": page.partial, "scanned": page.scanned}

    # -- board, claims, decisions --------------------------------------------------

    def board(self, project: str | None) -> dict[str, Any]:
        from styles.render import render

        data, _text = render(self.store, "board", project=project or None)
        return {**data, "projects": self.projects()}

    def claims(self, project: str | None = None) -> dict[str, Any]:
        from state.claims import live_claims
        from state.guard_log import recent_decisions

        config = load_config(self.store)
        names = [validate_id(project, "project id")] if project else self.projects()
        items = []
        for name in names:
            window = project_config(config, name)["claims"]["window_seconds"]
            for claim in live_claims(self.store, name, window=window).values():
                items.append({**claim, "project": name, "window_seconds": window})
        items.sort(key=lambda c: (-c["ts"], c["path"]))
        guard = recent_decisions(self.store, names, limit=50)  # what was stopped, for whom
        return {"claims": items, "guard": guard, "projects": self.projects()}

    def decisions(self, project: str | None = None, *, page: int = 1,
                  per_page: int = 50) -> dict[str, Any]:
        from state.shared import list_decisions

        names = [validate_id(project, "project id")] if project else self.projects()
        items = [{**d, "project": name} for name in names
                 for d in list_decisions(self.store, name)]
        items.sort(key=lambda d: str(d.get("at") or ""), reverse=True)
        size = _per_page(per_page)
        pages = max(1, -(-len(items) // size))
        page = max(1, min(int(page), pages))
        return {"decisions": items[(page - 1) * size: page * size], "total": len(items),
                "page": page, "pages": pages, "projects": self.projects()}

    # -- messages ------------------------------------------------------------------

    def messages(self, *, session: str | None = None, before: str | None = None,
                 limit: int = 50) -> dict[str, Any]:
        """Recent messages, newest first: everything sent, or one session's inbox."""
        from state.paths import project_key

        size = _per_page(limit)
        if session:
            from state.messages import inbox

            validate_id(session, "session id")
            items = list(reversed(inbox(self.store, session, include_delivered=True)))
            start = int(before) if before and before.isdigit() else 0
            chunk = items[start: start + size]
            more = start + size < len(items)
            return {"messages": [message_item(m) for m in chunk],
                    "next": str(start + size) if more else None, "inbox": session}
        keys = [("all", "messages.jsonl")]
        keys += [(f"project:{p}", project_key(p, "messages.jsonl")) for p in self.projects()]
        keys += [(f"session:{s}", session_key(s, "messages.jsonl"))
                 for s in session_ids(self.store)]
        seen: set[str] = set()

        def once(message: dict[str, Any]) -> bool:
            """A SendMessage to a session of another project is in two logs, one id."""
            mid = message.get("id")
            if not isinstance(mid, str):
                return True
            if mid in seen:
                return False
            seen.add(mid)
            return True

        page = logs.newest(self._log_sources(keys), limit=size, cursor=_cursor(before),
                           match=once)
        return {"messages": [message_item(m) for m in page.items], "next": page.next,
                "inbox": None}

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send a message as ``web`` (what a person types in the page).

        A project nobody knows is refused, as ``orchestra send --project`` refuses it,
        unless ``new_project`` is true (``--new-project``).
        """
        from state.messages import send_message

        to = body.get("to")
        target = body.get("target")
        text = body.get("text")
        if not isinstance(text, str):
            raise InvalidValueError("the message text is missing")
        urgent = body.get("urgent") is True
        new_project = body.get("new_project") is True
        if new_project and to != "project":
            raise InvalidValueError("'new_project' goes with 'to': 'project'")
        if to == "session":
            message = send_message(self.store, text=text, sender=SENDER,
                                   to_session=_target(target, "session id"), urgent=urgent)
        elif to == "project":
            project = _project(self.store, _target(target, "project id"), new_project)
            message = send_message(self.store, text=text, sender=SENDER,
                                   to_project=project, urgent=urgent)
        elif to == "all":
            message = send_message(self.store, text=text, sender=SENDER, to_all=True,
                                   urgent=urgent)
        else:
            raise InvalidValueError("'to' must be session, project or all")
        return message_item(message)


#: The sender of messages typed in the web page (a valid id, as ``send_message`` wants).
SENDER = "web"


def _project(store: Storage, name: str, new: bool) -> str:
    """The project as the CLI resolves it; an unknown one is a 404 naming the known ones."""
    from state.sessions import resolve_project

    try:
        return resolve_project(store, name, new=new)
    except NotFoundError as exc:
        reason = str(exc).split(" (--new-project", 1)[0]
        raise NotFoundError(f"{reason} (tick \"new project\", or send \"new_project\": "
                            "true, to send to a project no session has had yet)") from None


def _target(value: Any, kind: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValueError(f"choose a {kind.split()[0]} to send to")
    return validate_id(value, kind)
