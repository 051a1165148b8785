"""What the pages show, read through the state layer; paged, and cheap to ask again.

No web framework here: every function takes the store and plain arguments and
returns JSON-ready dicts, so the pages' data can be tested without a server.
Bad input (an invalid id, a cursor that does not parse) raises the state layer's
errors, which the API turns into 400/404.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

from orchestra.web import logs
from state.clock import iso, now
from state.config import load_config, project_config
from state.errors import InvalidIdError, InvalidValueError, NotFoundError
from state.filestore import FileStorage
from state.paths import session_key, validate_id
from state.sessions import session_ids, session_status
from state.storage import Storage

__all__ = ["StateReader"]

STATUS_ORDER = {"active": 0, "idle": 1, "stale": 2, "ended": 3}
MAX_PER_PAGE = 200
#: Bytes of an event's summary sent with a page (the log keeps up to a few KB per field).
SUMMARY_CHARS = 1500
#: Where an event says what it was about, in order of preference.
_DETAIL_KEYS = ("command", "file_path", "pattern", "url", "subject", "task_subject", "prompt",
                "description", "message", "delta", "reason", "source", "error",
                "last_assistant_message", "task")


def _per_page(value: int) -> int:
    return max(1, min(int(value), MAX_PER_PAGE))


def _cursor(text: str | None) -> logs.Cursor | None:
    try:
        return logs.parse_cursor(text)
    except ValueError:
        raise InvalidValueError(f"invalid cursor {str(text)[:40]!r}") from None


class StateReader:
    """The data behind every page, for one store. Thread-safe (requests run in threads)."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        #: The same store when it keeps files: logs are then read by byte offset.
        self.files = store if isinstance(store, FileStorage) else None
        self._rows: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    # -- sessions ------------------------------------------------------------------

    def _signature(self, sid: str) -> Any:
        """The three files a session row is made of, by ``stat``; None without files."""
        if self.files is None:
            return None
        out: list[tuple[int, int, int] | None] = []
        for name in ("state.json", "heartbeat.json", "tasks.json"):
            try:
                st = os.stat(self.files.path(session_key(sid, name)))
                out.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append(None)
        return tuple(out)

    def _row(self, sid: str) -> dict[str, Any] | None:
        """What a session row shows that does not depend on the clock (cached by stat)."""
        signature = self._signature(sid)
        with self._lock:
            cached = self._rows.get(sid)
        if cached is not None and signature is not None and cached[0] == signature:
            return cached[1]
        from state.sessions import last_heartbeat

        state = self.store.read(session_key(sid, "state.json"))
        if state is None:
            return None
        beat = last_heartbeat(self.store, sid)
        tasks = (self.store.read(session_key(sid, "tasks.json")) or {}).get("tasks", {})
        doing = [t for t in tasks.values() if isinstance(t, dict)
                 and t.get("status") == "in_progress"]
        agents = (state.get("active_work") or {}).get("agents") or {}
        row = {
            "session_id": sid,
            "project": state.get("project"),
            "mode": state.get("mode"),
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
        }
        with self._lock:
            self._rows[sid] = (signature, row)
        return row

    def _present(self, row: dict[str, Any], config: dict[str, Any], at: float) -> dict[str, Any]:
        beat = row["beat"]
        status, age = session_status({"status": row["state_status"]}, beat, config, at)
        last = beat.get("at")
        return {k: v for k, v in row.items() if k not in ("beat", "state_status")} | {
            "status": status,
            "idle_seconds": round(age, 1) if age is not None else None,
            "last_heartbeat": iso(last) if isinstance(last, int | float) else None,
            "last_event": beat.get("event"),
            "last_tool": beat.get("tool"),
        }

    def sessions(self, *, project: str | None = None, status: str | None = None,
                 page: int = 1, per_page: int = 50) -> dict[str, Any]:
        """Sessions across projects: active first, most recently seen first."""
        if project:
            validate_id(project, "project id")
        if status and status not in STATUS_ORDER:
            raise InvalidValueError(f"unknown status {status[:20]!r} "
                                    f"(one of {', '.join(STATUS_ORDER)})")
        config, at = load_config(self.store), now()
        raw = self._all_rows()
        rows = [self._present(r, config, at) for r in raw]
        counts = {s: 0 for s in STATUS_ORDER}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        chosen = [r for r in rows if (not project or r["project"] == project)
                  and (not status or r["status"] == status)]
        chosen.sort(key=lambda r: (STATUS_ORDER.get(r["status"], 9),
                                   r["idle_seconds"] if r["idle_seconds"] is not None
                                   else float("inf"), r["session_id"]))
        size = _per_page(per_page)
        pages = max(1, -(-len(chosen) // size))
        page = max(1, min(int(page), pages))
        return {"at": iso(at), "total": len(rows), "counts": counts, "matching": len(chosen),
                "page": page, "pages": pages, "per_page": size,
                "projects": self.projects(raw),
                "sessions": chosen[(page - 1) * size: page * size]}

    def _all_rows(self) -> list[dict[str, Any]]:
        ids = session_ids(self.store)
        with self._lock:  # forget the rows of pruned sessions
            for gone in self._rows.keys() - set(ids):
                del self._rows[gone]
        return [r for r in map(self._row, ids) if r is not None]

    def projects(self, rows: list[dict[str, Any]] | None = None) -> list[str]:
        """Projects with a folder, in the config, or named by a session (like the views)."""
        from state.shared import list_projects

        names = set(list_projects(self.store))
        for row in self._all_rows() if rows is None else rows:  # cached: nothing re-read
            name = row["project"]
            if isinstance(name, str) and name not in names:
                try:
                    names.add(validate_id(name, "project id"))
                except InvalidIdError:
                    continue
        return sorted(names)

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

        config = load_config(self.store)
        names = [validate_id(project, "project id")] if project else self.projects()
        items = []
        for name in names:
            window = project_config(config, name)["claims"]["window_seconds"]
            for claim in live_claims(self.store, name, window=window).values():
                items.append({**claim, "project": name, "window_seconds": window})
        items.sort(key=lambda c: (-c["ts"], c["path"]))
        return {"claims": items, "projects": self.projects()}

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
        page = logs.newest(self._log_sources(keys), limit=size, cursor=_cursor(before))
        return {"messages": [message_item(m) for m in page.items], "next": page.next,
                "inbox": None}

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send a message as ``web`` (what a person types in the page)."""
        from state.messages import send_message

        to = body.get("to")
        target = body.get("target")
        text = body.get("text")
        if not isinstance(text, str):
            raise InvalidValueError("the message text is missing")
        urgent = body.get("urgent") is True
        if to == "session":
            message = send_message(self.store, text=text, sender=SENDER,
                                   to_session=_target(target, "session id"), urgent=urgent)
        elif to == "project":
            message = send_message(self.store, text=text, sender=SENDER,
                                   to_project=_target(target, "project id"), urgent=urgent)
        elif to == "all":
            message = send_message(self.store, text=text, sender=SENDER, to_all=True,
                                   urgent=urgent)
        else:
            raise InvalidValueError("'to' must be session, project or all")
        return message_item(message)


#: The sender of messages typed in the web page (a valid id, as ``send_message`` wants).
SENDER = "web"


def _target(value: Any, kind: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValueError(f"choose a {kind.split()[0]} to send to")
    return validate_id(value, kind)


def _detail(summary: Any) -> str:
    """One line saying what an event was about (the command, the file, the prompt...)."""
    if not isinstance(summary, dict):
        return ""
    places = [summary, summary.get("tool_input")]
    task = summary.get("tool_input")
    if isinstance(task, dict) and task.get("taskId") and task.get("status"):
        return f"task {str(task['taskId'])[:40]} -> {str(task['status'])[:40]}"
    for key in _DETAIL_KEYS:
        for place in places:
            value = place.get(key) if isinstance(place, dict) else None
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())[:300]
    return ""


def event_item(record: dict[str, Any]) -> dict[str, Any]:
    """An event as the page shows it: the record's fields, its session, one line of detail."""
    summary = record.get("summary")
    text = json.dumps(summary, ensure_ascii=False) if summary is not None else ""
    return {
        "session": record.get("_label"), "cursor": record.get("_cursor"),
        "ts": record.get("ts"), "t": record.get("t"), "event": record.get("event"),
        "tool": record.get("tool"), "decision": record.get("decision"),
        "agent_type": record.get("agent_type"), "duration_ms": record.get("duration_ms"),
        "detail": _detail(summary),
        "summary": text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "...",
    }


def message_item(message: dict[str, Any]) -> dict[str, Any]:
    to: dict[str, Any] = message["to"] if isinstance(message.get("to"), dict) else {}
    if to.get("session"):
        recipient = f"session {to['session']}"
    elif to.get("project"):
        recipient = f"project {to['project']}"
    else:
        recipient = "everyone"
    return {"id": message.get("id"), "at": message.get("at"), "ts": message.get("ts"),
            "from": message.get("from"), "to": recipient, "text": message.get("text"),
            "urgent": bool(message.get("urgent")), "delivered": message.get("delivered")}
