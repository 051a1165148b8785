"""``timeline``: a lane per session, in text: what each did over the last 15 min, hour or day.

One row per session, newest activity first; time runs left to right, the right edge is
``--at`` (now). Each cell is one slice of the window and shows what mattered most in it::

    ?  waiting for a person      !  a guard decision      > <  a message sent / received
    B  Bash   E  Edit   W  Write   R  Read/Grep/Glob   A  Agent   N  web   M  messages
    T  another tool   (lower case: inside a subagent)   =  subagent   -  in a turn

The data is the web Timeline's (:mod:`orchestra.timeline.lanes`): ``--json`` prints the
lanes with their items. ``--zoom 15m|1h|day`` chooses the window (default 1h).
"""

from __future__ import annotations

from styles.views.common import SESSION_MARK, base, header, mark, no_project
from styles.views.layout import INNER, columns, fit
from styles.views.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CELLS", "build", "row", "text"]

NAME = 15
CELLS = INNER - NAME - 1  #: cells of a lane: one slice of the window each
MAX_LANES = 40
LETTERS = {"Bash": "B", "Edit": "E", "MultiEdit": "E", "NotebookEdit": "E", "Write": "W",
           "Read": "R", "Grep": "R", "Glob": "R", "Agent": "A", "Task": "A",
           "WebFetch": "N", "WebSearch": "N", "SendMessage": "M", "ListAgents": "M"}
LEGEND = ("? waits for a person  ! guard decision  > message sent  < received",
          "B Bash  E Edit  W Write  R Read  A Agent  N web  M message  T other tool",
          "lower case: in a subagent  = subagent  - in a turn (prompt to Stop)")
#: Which mark wins a cell (lower first).
_RANK = {"?": 0, "!": 1, ">": 2, "<": 2}


def build(snap: Snapshot) -> dict[str, Any]:
    from orchestra.timeline.lanes import build as lanes
    from orchestra.timeline.lanes import fold_items

    zoom = snap.zoom or "1h"
    data = {**base(snap, "timeline"), "zoom": zoom}
    store = snap.store
    if store is None:  # pragma: no cover - render always gives the store
        raise RuntimeError("the timeline view needs the store")
    found = lanes(store, snap.sessions, fold_items(store), project=snap.project, zoom=zoom,
                  now=snap.at, width=CELLS * 40, limit=MAX_LANES)
    # Messages are named by their place in ``links`` here, not by their (random) ids, so
    # that the same state gives the same JSON.
    number = {link["id"]: n for n, link in enumerate(found["links"])}
    rows = []
    for lane in found["lanes"][:MAX_LANES]:
        items = found["items"].get(lane["session"], [])
        for item in items:
            if item["kind"] == "message":
                item.pop("id", None)
                if "link" in item:
                    item["link"] = number.get(item["link"])
        rows.append({**lane, "row": row(items, found["start"], found["end"]), "items": items})
    links = [{k: v for k, v in link.items() if k != "id"} for link in found["links"]]
    return {**data, "start": found["start"], "end": found["end"], "total": found["total"],
            "lanes": rows, "links": links, "legend": list(LEGEND)}


def _letter(tool: str | None, nested: bool) -> str:
    letter = LETTERS.get(tool or "", "T")
    return letter.lower() if nested else letter


def row(items: list[dict[str, Any]], start: float, end: float, cells: int = CELLS) -> str:
    """One lane as ``cells`` characters (see the module docstring)."""
    step = (end - start) / cells
    best: list[tuple[int, str]] = [(99, " ")] * cells

    def put(first: float, last: float | None, rank: int, char: str) -> None:
        stop = end if last is None else last
        a = int((max(first, start) - start) / step)
        b = int((min(stop, end) - start) / step)
        for index in range(max(0, a), min(cells - 1, b) + 1):
            if rank < best[index][0]:
                best[index] = (rank, char)

    for item in items:
        kind = item["kind"]
        if kind == "wait":
            put(item["start"], item["end"], 0, "?")
        elif kind == "guard":
            put(item["start"], item["start"], 1, "!")
        elif kind == "message":
            put(item["start"], item["start"], 2, ">" if item.get("state") == "sent" else "<")
        elif kind == "tool":  # an Agent call spans its subagent: the subagent's calls show
            rank = 4 if item.get("agent") else 5 if item.get("tool") in ("Agent", "Task") else 3
            put(item["start"], item["end"], rank,
                _letter(item.get("tool"), bool(item.get("agent"))))
        elif kind == "bin":
            top = max(item["tools"].items(), key=lambda kv: (kv[1], kv[0]))[0]
            put(item["start"], item["end"], 3, _letter(top, False))
        elif kind == "agent":
            put(item["start"], item["end"], 6, "=")
        elif kind == "turn":
            put(item["start"], item["end"], 7, "-")
    return "".join(char for _rank, char in best)


def _axis(start: float, end: float) -> str:
    """Times (UTC) under the lanes: ``|10:00`` at each tick that fits."""
    import time as _time

    span = end - start
    step = next((s for s in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
                 if s / span * CELLS >= 12), 21600)
    cells = [" "] * CELLS
    tick = (int(start) // step + 1) * step
    while tick <= end:
        at = int((tick - start) / span * CELLS)
        label = "|" + _time.strftime("%H:%M", _time.gmtime(tick))
        if at + len(label) <= CELLS and all(c == " " for c in cells[max(0, at - 1): at
                                                                   + len(label)]):
            cells[at: at + len(label)] = list(label)
        tick += step
    return "".join(cells)


def text(data: dict[str, Any]) -> str:
    import time as _time

    box = header(data, "TIMELINE")
    lanes = data["lanes"]
    shape = "%m-%d %H:%M" if data["zoom"] == "day" else "%H:%M"
    first = _time.strftime(shape, _time.gmtime(data["start"]))
    last = _time.strftime(shape, _time.gmtime(data["end"]))
    box.section(f"LANES ({data['total']})", f"{data['zoom']}: {first}..{last} UTC, now at right")
    for lane in lanes:
        name = lane["name"] or lane["session"]
        box.line(columns([(f"{mark(SESSION_MARK, lane['status'])} {fit(name, NAME - 2)}",
                           NAME), (lane["row"], CELLS)], gap=1))
    if lanes:
        box.line(columns([("", NAME), (_axis(data["start"], data["end"]), CELLS)], gap=1))
    if data["total"] > len(lanes):
        box.line(f"+ {data['total'] - len(lanes)} more sessions (--json lists them)")
    if not lanes:
        if data["project"] is None:
            no_project(box)
        else:
            box.line("  No sessions yet: each appears with its first hook event.")
    box.section("KEY")
    for legend in data["legend"]:
        box.line(legend)
    return box.text()
