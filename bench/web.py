"""How `orchestra serve` holds up at scale: page times at 500 sessions and 1,000,000 events,
the time from a dispatched event to the browser's event stream, and the Timeline page in
Chromium: from navigation to its first complete draw, and from a dispatch to the block
on screen, with 500 sessions of one project and 100,000 events.

    python bench/web.py                       # all of it
    python bench/web.py --only timeline       # the Timeline in Chromium only
    python bench/web.py --sessions 50 --events 100000 --samples 10
    python bench/web.py --keep /tmp/big       # keep the generated state root

The state is written straight to files (as the handlers would have written it):
one session holds a fifth of the events in rotated 10 MB segments, the others share
the rest; 1 % of the calls (a PreToolUse and its PostToolUse) are Read calls,
for a sparse filter. Each page is timed
in-process (median and worst of ``--runs``); the latency is measured against a real
server process over HTTP, from the moment a dispatch returns to the moment its event
arrives on an open ``/api/stream``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

SEGMENT = 10_000_000
DAY = 86_400.0


def build(root: Path, sessions: int, events: int, seed: int = 7, projects: int = 5
          ) -> dict[str, Any]:
    from state.sessions import create_session
    from state.store import open_store

    rng = random.Random(seed)
    store = open_store(root)
    now = time.time()
    long_share = events // 5
    counts = [long_share] + [(events - long_share) // max(sessions - 1, 1)] * (sessions - 1)
    ids = [f"sess-{n:04d}" for n in range(sessions)]
    for sid, count in zip(ids, counts, strict=True):
        create_session(store, session_id=sid, project=f"proj-{rng.randint(0, projects - 1)}",
                       mode="claude-code")
        folder = root / "sessions" / sid
        start = now - DAY * rng.uniform(0.05, 1.0)
        step = (now - start) / max(count, 1)
        segment, size, written, ts = 0, 0, [], start
        handle = open(folder / "events.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        for n in range(count):
            ts += step * rng.uniform(0.5, 1.5) if n else 0.0
            ts = min(ts, now)
            if n % 2 == 0:  # a call: PreToolUse, then its PostToolUse (same id)
                tool = "Read" if rng.random() < 0.01 else "Bash"
            event = "PostToolUse" if n % 2 else "PreToolUse"
            line = (f'{{"ts":{ts:.6f},"t":"x","event":"{event}","tool":"{tool}",'
                    f'"tool_use_id":"toolu_{n // 2}","summary":{{"tool_input":{{"command":'
                    f'"echo step {n // 2} of session {sid}"}}}}}}\n')
            handle.write(line)
            size += len(line)
            if size > SEGMENT:  # rotate as the store does: the full log becomes a segment
                handle.close()
                segment += 1
                os.replace(folder / "events.jsonl", folder / f"events.{segment:06d}.jsonl")
                written.append(segment)
                handle = open(folder / "events.jsonl", "w", encoding="utf-8")  # noqa: SIM115
                size = 0
        handle.close()
        for path in folder.glob("events*.jsonl"):
            os.utime(path, (ts, ts))
        store.put_volatile(f"sessions/{sid}/heartbeat.json",
                           {"at": ts, "event": "PreToolUse", "tool": "Bash"})
    return {"ids": ids, "now": now}


def timed(label: str, runs: int, call: Any) -> tuple[str, float, float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return label, statistics.median(times), max(times), result


def pages(root: Path, runs: int, ids: list[str]) -> list[tuple[str, float, float, Any]]:
    from orchestra.web.data import StateReader
    from orchestra.web.live import Hub
    from state.store import open_store

    store = open_store(root)
    reader = StateReader(store)
    first = reader.events(limit=100)
    middle = reader.events(limit=1, session=ids[0], before=None)
    long_ts = middle["events"][0]["ts"] - DAY / 4  # a quarter of a day back in the long log
    deep = f"{long_ts!r}:~"
    rows = [timed("sessions page (first, cold)", 1, lambda: StateReader(store).sessions())]
    rows += [
        timed("sessions page (cached rows)", runs, reader.sessions),
        timed("sessions page 5 of 10, status=active", runs,
              lambda: reader.sessions(page=5, per_page=50, status="active")),
        timed("events: newest 100, all sessions", runs, lambda: reader.events(limit=100)),
        timed("events: next 100 (cursor)", runs,
              lambda: reader.events(limit=100, before=first["next"])),
        timed("events: 100 from 6 h back, all sessions", runs,
              lambda: reader.events(limit=100, before=deep)),
        timed("events: 100 from 6 h back, the long session", runs,
              lambda: reader.events(limit=100, session=ids[0], before=deep)),
        timed("events: tool=Read (1 %), newest 100", runs,
              lambda: reader.events(limit=100, tool="Read")),
        timed("messages page", runs, reader.messages),
        timed("claims page", runs, reader.claims),
        timed("decisions page", runs, reader.decisions),
    ]
    hub = Hub(store)
    hub.check()
    rows.append(timed("live check, nothing changed", runs, hub.check))
    return rows


def latency(root: Path, samples: int, session: str) -> list[float]:
    """Seconds from a dispatch's return to its event on an open event stream."""
    from tests.web._support import Served, dispatch, tool_event

    served = Served(root)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        connection.request("GET", f"/api/stream?session={session}",
                           headers={"Authorization": f"Bearer {served.token}",
                                    "Host": f"127.0.0.1:{served.port}"})
        response = connection.getresponse()
        arrived: dict[str, float] = {}
        ready = threading.Event()

        def read() -> None:
            try:
                for raw in response:
                    line = raw.decode()
                    if line.startswith("event: hello"):
                        ready.set()
                    if line.startswith("data: ") and "bench-latency-" in line:
                        marker = json.loads(line[6:])["detail"].split()[-1]
                        arrived[marker] = time.perf_counter()
            except (OSError, AttributeError, ValueError):
                return  # the connection was closed at the end

        threading.Thread(target=read, daemon=True).start()
        ready.wait(30)
        time.sleep(0.5)  # the watcher primes its offsets
        sent: dict[str, float] = {}
        for n in range(samples):
            marker = f"bench-latency-{n}"
            dispatch(root, tool_event(session, f"echo {marker}", n=n))
            sent[marker] = time.perf_counter()
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while len(arrived) < samples and time.monotonic() < deadline:
            time.sleep(0.05)
        connection.close()
        missing = samples - len(arrived)
        if missing:
            print(f"warning: {missing} events never arrived", file=sys.stderr)
        return [arrived[m] - sent[m] for m in sent if m in arrived]
    finally:
        served.stop()


def timeline(root: Path, samples: int) -> dict[str, Any]:
    """The Timeline page in Chromium: navigation -> its first complete draw (every lane in
    view with its blocks, and the cost chart), cold (the server's first) and warm; then
    dispatch -> the block on screen."""
    from playwright.sync_api import sync_playwright

    from tests.web._support import CHROMIUM, CHROMIUM_ARGS, Served, dispatch, tool_event

    served = Served(root)
    out: dict[str, Any] = {"draws": [], "blocks": 0, "lanes": 0, "live": []}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(served.url)  # signs in: the session cookie, then the page
            for _ in range(samples + 1):
                page.goto("about:blank")
                page.goto(f"{served.base}/#timeline")
                page.locator('section[data-page="timeline"][data-drawn]').wait_for(
                    state="attached", timeout=120_000)
                out["draws"].append(page.evaluate(
                    "performance.getEntriesByName('orchestra-timeline-drawn')[0].startTime")
                    / 1000)
                out.setdefault("fetched", []).append(page.evaluate(
                    "performance.getEntriesByName('orchestra-timeline-fetched')[0].startTime")
                    / 1000)
            for _ in range(samples):  # the whole day: tool calls binned on the server
                page.goto("about:blank")
                page.goto(f"{served.base}/#timeline?zoom=day")
                page.locator('section[data-page="timeline"][data-drawn]').wait_for(
                    state="attached", timeout=120_000)
                out.setdefault("day", []).append(page.evaluate(
                    "performance.getEntriesByName('orchestra-timeline-drawn')[0].startTime")
                    / 1000)
            out["day_blocks"] = page.locator("[data-block]").count()
            page.goto("about:blank")
            page.goto(f"{served.base}/#timeline")
            page.locator('section[data-page="timeline"][data-drawn]').wait_for(
                state="attached", timeout=120_000)
            out["lanes"] = page.locator("[data-lane]").count()
            out["blocks"] = page.locator("[data-block]").count()
            out["total"] = page.evaluate(
                "document.querySelector('section[data-page=timeline] [data-summary]')"
                ".textContent")
            page.locator("#live.ok").wait_for(state="attached", timeout=60_000)
            lane = page.evaluate("""() => [...document.querySelectorAll('[data-lane]')].find(
                g => !g.querySelector('[data-block][aria-label*="tool calls:"]')).dataset.lane""")
            for n in range(samples):
                marker = f"bench-timeline-{os.getpid()}-{n}"  # new in a kept root too
                dispatch(root, {**tool_event(lane, f"echo {marker}", n=50_000 + n),
                                "tool_input": {"command": f"echo {marker}",
                                               "description": marker}})
                started = time.perf_counter()
                page.locator(f'[data-block][aria-label*="{marker}"]').wait_for(
                    state="attached", timeout=30_000)
                out["live"].append(time.perf_counter() - started)
            browser.close()
    finally:
        served.stop()
    return out


def main() -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=20, help="latency samples")
    parser.add_argument("--keep", metavar="DIR", help="build (or reuse) the state root here")
    parser.add_argument("--only", choices=["pages", "timeline"],
                        help="run one part: the pages and stream latency, or the Timeline")
    parser.add_argument("--timeline-sessions", type=int, default=500)
    parser.add_argument("--timeline-events", type=int, default=100_000)
    args = parser.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}\n" if load else f"machine: {os.cpu_count()} cores\n")
    if args.only != "pages":
        _timeline_part(args)
    if args.only == "timeline":
        return 0
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "orchestra"
    os.environ["ORCHESTRA_HOME"] = str(root)
    try:
        started = time.perf_counter()
        if not (root / "sessions").exists():
            build(root, args.sessions, args.events)
        ids = sorted(p.name for p in (root / "sessions").iterdir())
        print(f"state: {len(ids)} sessions, {args.events:,} events "
              f"({sum(f.stat().st_size for f in root.rglob('events*.jsonl')) / 1e6:.0f} MB) "
              f"ready in {time.perf_counter() - started:.1f} s\n")
        print(f"{'what':<46} {'median':>9} {'worst':>9}  result")
        for label, median, worst, result in pages(root, args.runs, ids):
            size = (len(result.get("events") or result.get("sessions") or [])
                    if isinstance(result, dict) else "")
            print(f"{label:<46} {median * 1000:7.1f} ms {worst * 1000:7.1f} ms  {size}")
        waits = latency(root, args.samples, ids[1])
        if waits:
            print(f"\nevent -> stream, {len(waits)} events: median "
                  f"{statistics.median(waits) * 1000:.0f} ms, worst {max(waits) * 1000:.0f} ms "
                  "(goal: within 1 s)")
    finally:
        if not args.keep:
            shutil.rmtree(root.parent, ignore_errors=True)
    return 0


def _timeline_part(args: argparse.Namespace) -> None:
    base = Path(args.keep) / "timeline" if args.keep else Path(tempfile.mkdtemp()) / "orchestra"
    os.environ["ORCHESTRA_HOME"] = str(base)
    try:
        if not (base / "sessions").exists():
            started = time.perf_counter()
            build(base, args.timeline_sessions, args.timeline_events, projects=1)
            print(f"timeline state: {args.timeline_sessions} sessions of one project, "
                  f"{args.timeline_events:,} events, ready in "
                  f"{time.perf_counter() - started:.1f} s")
        found = timeline(base, max(3, args.samples // 4))
        cold, warm = found["draws"][0], found["draws"][1:]
        print(f"Timeline, navigation -> first complete draw in Chromium ({found['lanes']} lanes "
              f"drawn of {found['total']}, {found['blocks']} blocks):\n"
              f"  cold (the server's first) {cold * 1000:.0f} ms; warm, {len(warm)} runs: "
              f"median {statistics.median(warm) * 1000:.0f} ms, worst {max(warm) * 1000:.0f} ms "
              "(goal: within 1.5 s)\n"
              f"  of which the page's data had arrived at: cold {found['fetched'][0] * 1000:.0f} "
              f"ms, warm median {statistics.median(found['fetched'][1:]) * 1000:.0f} ms")
        day = found["day"]
        print(f"  the whole day (binned, {found['day_blocks']} blocks): median "
              f"{statistics.median(day) * 1000:.0f} ms, worst {max(day) * 1000:.0f} ms")
        live = found["live"]
        print(f"Timeline, dispatch -> labelled block on screen, {len(live)} events: median "
              f"{statistics.median(live) * 1000:.0f} ms, worst {max(live) * 1000:.0f} ms "
              "(goal: within 2 s)\n")
    finally:
        if not args.keep:
            shutil.rmtree(base.parent, ignore_errors=True)
        os.environ.pop("ORCHESTRA_HOME", None)


if __name__ == "__main__":
    raise SystemExit(main())
