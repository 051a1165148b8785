"""A timeline of one project (or every session): a lane per session, for a window of time.

:func:`build` takes the sessions (rows as the views and the web page have them), a
window (a zoom — 15 minutes, 1 hour, a day — ending now or at a chosen time) and a way
to fold a session's event log (:class:`~orchestra.timeline.fold.Folder`; the web server
keeps the folds, a command folds afresh: :func:`fold_items`), and returns JSON-ready data:

* ``lanes`` — every session of the project, in the order asked for (latest activity
  first, or the order they started), with what a lane's label shows;
* ``items`` — for the lanes of one page only (``offset``, ``limit``): turns, tool calls,
  subagents, waits, guard decisions, messages and claims in the window;
* ``links`` — messages whose sender and recipient are both sessions of the timeline:
  Orchestra's direct messages, and Claude Code's ``SendMessage`` when its recipient name
  is in issue 21's name map (:mod:`state.names`). Unknown ends are never guessed.

Wide windows are **binned** here, on the server: tool calls become bins (a count per
tool) a few pixels wide, and turns, subagents, waits and marks closer than a bin are
merged, so a day of a busy session costs the page what an hour does.
"""

from __future__ import annotations

from collections.abc import Callable
from math import floor

from orchestra.timeline.fold import Folder, Item, line
from orchestra.timeline.sources import records_since
from state.paths import project_key, session_key
from state.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["LOOKBACK", "ORDERS", "ZOOMS", "ItemsOf", "build", "fold_items", "lane_of", "shape",
           "window"]

#: Zoom -> seconds shown.
ZOOMS = {"15m": 900, "1h": 3600, "day": 86_400}
ORDERS = ("recent", "started")
#: How far before a window its logs are read, so that turns and calls begun before it
#: are seen whole; a span begun earlier still is drawn from the window's edge, its
#: beginning unknown (``clipped``).
LOOKBACK = 900.0
#: Wider windows than this are binned; so is a lane with more tool calls than MAX_RAW.
BIN_ABOVE = 3600.0
MAX_RAW = 400
#: Pixels per bin.
BIN_PIXELS = 3
MAX_LIMIT = 100

#: ``items_of(session_id, since, start, end)`` -> the items of the session's log, folded
#: from ``since`` on, that overlap ``[start, end]`` (see :func:`fold_items`).
ItemsOf = Callable[[str, float, float, float], list[Item]]


def fold_items(store: Storage) -> ItemsOf:
    """Items of a session's log folded afresh (a command; the web server keeps folds)."""
    from orchestra.timeline.sources import log_since

    def items_of(sid: str, since: float, start: float, end: float) -> list[Item]:
        folder = Folder(since)
        for record in log_since(store, session_key(sid, "events.jsonl"), since)[0]:
            folder.feed(record)
        return folder.between(start, end)

    return items_of


def window(zoom: str, end: float | None, now: float) -> tuple[float, float, bool]:
    """(start, end, live) of a zoom ending at ``end`` (None: now, following it)."""
    if zoom not in ZOOMS:
        raise ValueError(f"unknown zoom {str(zoom)[:20]!r} (one of {', '.join(ZOOMS)})")
    live = end is None or end >= now
    stop = now if live or end is None else float(end)
    return stop - ZOOMS[zoom], stop, live


def lane_of(row: dict[str, Any], now: float) -> dict[str, Any]:
    """What a lane's label says of a session (a row of the sessions page or a summary)."""
    activity: dict[str, Any] = row["activity"] if isinstance(row.get("activity"), dict) else {}
    idle = row.get("idle_seconds")
    cost: dict[str, Any] = row["cost"] if isinstance(row.get("cost"), dict) else {}
    return {
        "session": row["session_id"],
        "name": row.get("claude_name"),
        "project": row.get("project"),
        "status": row.get("status"),
        "state": activity.get("state"),
        "label": activity.get("label"),
        "doing": row.get("doing"),
        "agent": row.get("agent"),
        "model": row.get("model"),
        "last": _last_seen(row, now, idle),
        "created": row.get("created_at"),
        "cost": cost.get("text") or _cost_text(row, cost),
    }


def _last_seen(row: dict[str, Any], now: float, idle: Any) -> float | None:
    """When the session was last seen: its stored heartbeat time (stable from one request
    to the next, so lanes keep their order), else now less its rounded age."""
    stamp = row.get("last_heartbeat")
    if isinstance(stamp, str):
        from state.clock import parse_time

        try:
            return round(parse_time(stamp), 3)
        except ValueError:
            pass
    return round(now - idle, 3) if isinstance(idle, int | float) else None


def _cost_text(row: dict[str, Any], cost: dict[str, Any]) -> str | None:
    """A session summary's cost in words (the web's rows carry it already)."""
    tokens = row.get("tokens")
    if not isinstance(tokens, dict):
        return None
    if not tokens.get("recorded"):
        return "no tokens recorded"
    from state.usage import short_cost

    return short_cost(cost)


def _order(lanes: list[dict[str, Any]], order: str) -> None:
    if order == "started":
        lanes.sort(key=lambda lane: (str(lane["created"] or ""), lane["session"]))
    else:
        lanes.sort(key=lambda lane: (-(lane["last"] or float("-inf")), lane["session"]))


def build(store: Storage, rows: list[dict[str, Any]], items_of: ItemsOf, *, project: str | None,
          zoom: str = "1h", end: float | None = None, now: float, width: int = 1000,
          offset: int = 0, limit: int = 30, order: str = "recent",
          sessions: list[str] | None = None) -> dict[str, Any]:
    """The timeline's data (see the module docstring). ``rows``: the sessions to draw
    (already of ``project``); ``sessions``: items for these lanes instead of a page."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {str(order)[:20]!r} (one of {', '.join(ORDERS)})")
    start, stop, live = window(zoom, end, now)
    width = max(100, min(int(width), 8000))
    lanes = [lane_of(row, now) for row in rows]
    _order(lanes, order)
    for index, lane in enumerate(lanes):
        lane["index"] = index
    offset = max(0, int(offset))
    limit = max(0, min(int(limit), MAX_LIMIT))
    known = {lane["session"] for lane in lanes}
    wanted = ([s for s in sessions if s in known][:MAX_LIMIT] if sessions is not None
              else [lane["session"] for lane in lanes[offset: offset + limit]])
    span = stop - start
    bin_seconds = span / max(1, width // BIN_PIXELS)
    wide = span > BIN_ABOVE
    marks, links = _messages(store, project, [lane["session"] for lane in lanes], wanted,
                             start, stop)
    for sid, found in _claims(store, project, rows, wanted, start, stop).items():
        marks.setdefault(sid, []).extend(found)
    guard = _guard(store, project, rows, wanted, start, stop)
    items: dict[str, list[dict[str, Any]]] = {}
    binned_lanes = []
    for sid in wanted:
        found = items_of(sid, start - LOOKBACK, start, stop)
        decisions = guard.get(sid, [])
        if decisions:  # the guard's own record says more than the event's decision
            ids = {d.id for d in decisions if d.id}
            found = [i for i in found if not (i.kind == "guard" and i.id in ids)] + decisions
        found += marks.get(sid, [])
        found.sort(key=lambda i: i.start)
        calls = sum(1 for i in found if i.kind == "tool")
        binned = wide or calls > MAX_RAW
        if binned:
            binned_lanes.append(sid)
        items[sid] = shape(found, start, stop, bin_seconds if binned else None)
    return {
        "project": project, "zoom": zoom, "order": order, "start": start, "end": stop,
        "now": now, "live": live, "width": width, "bin_seconds": bin_seconds if wide else None,
        "binned": binned_lanes, "total": len(lanes), "offset": offset, "limit": limit,
        "lanes": lanes, "items": items, "links": links,
    }


# -- binning -------------------------------------------------------------------------

_SPANS = ("turn", "agent", "wait")


def shape(items: list[Item], start: float, end: float, bin_seconds: float | None
          ) -> list[dict[str, Any]]:
    """Items as JSON; with ``bin_seconds``, tool calls binned and close items merged."""
    if bin_seconds is None:
        return [i.to_json() for i in items]
    out: list[dict[str, Any]] = []
    bins: dict[int, dict[str, Any]] = {}
    spans: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[str, int], dict[str, Any]] = {}
    single: dict[int, Item] = {}
    for item in items:
        if item.kind == "tool":
            index = max(0, floor((max(item.start, start) - start) / bin_seconds))
            slot = bins.get(index)
            if slot is None:
                begin = start + index * bin_seconds
                slot = bins[index] = {"kind": "bin", "start": begin,
                                      "end": begin + bin_seconds, "count": 0, "tools": {},
                                      "busy": 0.0, "failed": 0, "running": 0,
                                      "in_agents": 0}
                out.append(slot)
                single[index] = item
            slot["count"] += 1
            tool = item.tool or "?"
            slot["tools"][tool] = slot["tools"].get(tool, 0) + 1
            finish = end if item.end is None else min(item.end, end)
            slot["busy"] += max(0.0, finish - max(item.start, start))
            slot["failed"] += item.state in ("failed", "denied")
            slot["running"] += item.end is None
            slot["in_agents"] += item.agent is not None
        elif item.kind in _SPANS:
            key = item.kind + ("" if item.kind == "turn" else f":{item.agent or ''}")
            current = spans.get(key)
            if current is not None and (current["end"] is None
                                        or item.start - current["end"] <= bin_seconds):
                current["count"] += 1
                current["end"] = None if current["end"] is None or item.end is None \
                    else max(current["end"], item.end)
                if item.text:
                    current["last_text"] = item.text
                continue
            spans[key] = merged = {**item.to_json(), "count": 1}
            out.append(merged)
        else:
            index = max(0, floor((item.start - start) / bin_seconds))
            group = groups.get((item.kind, index))
            if group is not None:
                group["count"] += 1
                continue
            groups[(item.kind, index)] = group = {**item.to_json(), "count": 1}
            out.append(group)
    for index, slot in bins.items():
        slot["busy"] = round(slot["busy"], 3)
        alone = single.get(index)
        if slot["count"] == 1 and alone is not None:  # one call: shown as itself
            slot.clear()
            slot.update(alone.to_json())
    out.sort(key=lambda i: i["start"])
    return out


# -- marks from other logs -----------------------------------------------------------

def _project_logs(store: Storage, project: str | None, rows: list[dict[str, Any]],
                  name: str) -> list[tuple[str, str]]:
    """(project, log key) of ``name`` for ``project``, or for every project of ``rows``."""
    projects = [project] if project else sorted({r["project"] for r in rows
                                                 if isinstance(r.get("project"), str)})
    return [(p, project_key(p, name)) for p in projects]


def _messages(store: Storage, project: str | None, lanes: list[str], wanted: list[str],
              start: float, end: float
              ) -> tuple[dict[str, list[Item]], list[dict[str, Any]]]:
    """Message marks for the ``wanted`` lanes and the links between lanes."""
    members = set(lanes)
    keys = ["messages.jsonl"]
    if project:
        keys.append(project_key(project, "messages.jsonl"))
    else:
        from state.shared import list_projects

        keys += [project_key(p, "messages.jsonl") for p in list_projects(store)]
    keys += [session_key(sid, "messages.jsonl") for sid in lanes]
    resolve = _names(store)
    marks: dict[str, list[Item]] = {}
    links = []
    seen: set[str] = set()
    wanted_set = set(wanted)
    for key in keys:
        for message in records_since(store, key, start):
            ts = message.get("ts")
            mid = message.get("id")
            if not isinstance(ts, int | float) or ts > end or not isinstance(mid, str) \
                    or mid in seen:
                continue
            seen.add(mid)
            sender = message.get("from") if isinstance(message.get("from"), str) else None
            to: dict[str, Any] = message["to"] if isinstance(message.get("to"), dict) else {}
            via = "claude-code" if message.get("via") == "claude-code" else "orchestra"
            recipient = to.get("session") if isinstance(to.get("session"), str) else None
            if via == "claude-code" and recipient is None and isinstance(
                    to.get("claude_code"), str):
                recipient = resolve(to["claude_code"])
            audience = (f"{to['claude_code']}" if via == "claude-code" and to.get("claude_code")
                        else f"session {recipient}" if recipient
                        else f"project {to['project']}" if to.get("project")
                        else "everyone")
            text = line(message.get("summary")) or line(message.get("text"))
            linked = sender in members and recipient in members and sender != recipient
            common = {"via": via, "from": sender, "to": audience,
                      **({"to_session": recipient} if recipient else {}),
                      **({"from_name": str(message["from_name"])[:100]}
                         if message.get("from_name") else {}),
                      **({"urgent": True} if message.get("urgent") else {}),
                      **({"link": mid} if linked else {})}
            if sender in wanted_set:
                item = Item("message", float(ts), end=float(ts), text=text, state="sent", id=mid)
                item.extra = common
                marks.setdefault(sender, []).append(item)
            if recipient in wanted_set and recipient != sender:
                item = Item("message", float(ts), end=float(ts), text=text, state="received",
                            id=mid)
                item.extra = common
                marks.setdefault(recipient, []).append(item)
            if linked:
                links.append({"id": mid, "from": sender, "to": recipient, "at": float(ts),
                              "via": via, "text": text})
    links.sort(key=lambda link: float(link["at"] or 0))
    return marks, links


def _names(store: Storage) -> Callable[[str], str | None]:
    """Claude Code name -> session, from issue 21's name map (None when not known)."""
    try:
        from state.names import session_for_name
    except ImportError:  # pragma: no cover - a store without the name map
        return lambda _name: None
    cache: dict[str, str | None] = {}

    def resolve(name: str) -> str | None:
        if name not in cache:
            cache[name] = session_for_name(store, name)
        return cache[name]

    return resolve


def _claims(store: Storage, project: str | None, rows: list[dict[str, Any]],
            wanted: list[str], start: float, end: float) -> dict[str, list[Item]]:
    """Claim marks: each confirmed claim a session took on a file in the window."""
    wanted_set = set(wanted)
    out: dict[str, list[Item]] = {}
    for _project, key in _project_logs(store, project, rows, "claims.jsonl"):
        for record in records_since(store, key, start):
            sid, ts = record.get("session"), record.get("ts")
            if sid not in wanted_set or not isinstance(ts, int | float) or ts > end:
                continue
            path = record.get("file") or record.get("path")
            if not isinstance(path, str) or record.get("provisional") or record.get("release"):
                continue
            item = Item("claim", float(ts), end=float(ts), tool=_short(record.get("tool")),
                        text=line(path, 300), state="claimed")
            out.setdefault(str(sid), []).append(item)
    return out


def _guard(store: Storage, project: str | None, rows: list[dict[str, Any]],
           wanted: list[str], start: float, end: float) -> dict[str, list[Item]]:
    """Guard marks from the guard's own log (issue 22), when it keeps one."""
    wanted_set = set(wanted)
    out: dict[str, list[Item]] = {}
    for _project, key in _project_logs(store, project, rows, "guard.jsonl"):
        for record in records_since(store, key, start):
            sid, ts = record.get("session"), record.get("ts")
            decision = record.get("decision")
            if sid not in wanted_set or not isinstance(ts, int | float) or ts > end \
                    or not isinstance(decision, str):
                continue
            others = [o for o in record.get("others") or [] if isinstance(o, dict)]
            whom = ", ".join(dict.fromkeys(str(o.get("session"))[:64] for o in others
                                           if o.get("session")))
            files = [f for o in others for f in (o.get("files") or []) if isinstance(f, str)]
            item = Item("guard", float(ts), end=float(ts), tool=_short(record.get("tool")),
                        text=(f"for {whom}" if whom else None) if not files else
                        f"for {whom or '?'}: {', '.join(files[:3])}",
                        detail=line(record.get("command"), 300), state=decision[:20],
                        id=record["tool_use_id"][:200] if isinstance(
                            record.get("tool_use_id"), str) else None)
            item.extra = {"guard": str(record.get("kind") or "")[:20]}
            out.setdefault(str(sid), []).append(item)
    return out


def _short(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) and value else None
