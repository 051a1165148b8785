"""Logs read from the end: every page of a merged, filtered walk equals the brute-force answer."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra.web import logs


def write_log(folder: Path, label: str, times: list[float], *, segments: int = 1,
              tools: tuple[str, ...] = ("Bash", "Read", "Edit")) -> list[dict[str, Any]]:
    """``times`` (ascending) as records split over ``segments`` files; returns the records."""
    folder.mkdir(parents=True, exist_ok=True)
    records = [{"ts": ts, "t": "x", "event": "PreToolUse" if i % 2 else "PostToolUse",
                "tool": tools[i % len(tools)], "n": i, "label": label}
               for i, ts in enumerate(times)]
    size = max(1, -(-len(records) // segments))
    chunks = [records[i:i + size] for i in range(0, len(records), size)] or [[]]
    names = [f"events.{n:06d}.jsonl" for n in range(1, len(chunks))] + ["events.jsonl"]
    for name, chunk in zip(names, chunks, strict=True):
        (folder / name).write_text("".join(json.dumps(r, separators=(",", ":")) + "\n"
                                           for r in chunk))
    newest = max(times, default=0.0)
    for name in names:
        os.utime(folder / name, (newest + 1, newest + 1))
    return records


def source(folder: Path, label: str) -> logs.Source:
    def segments() -> list[str]:
        rotated = sorted(p.name for p in folder.glob("events.*.jsonl"))
        return [str(folder / n) for n in rotated] + [str(folder / "events.jsonl")]

    found = logs.file_source(label, segments, str(folder / "events.jsonl"))
    assert found is not None
    return found


def walk(sources: list[logs.Source], limit: int, **options: Any) -> list[dict[str, Any]]:
    """Every page, following ``next`` to the end."""
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10_000):
        page = logs.newest(sources, limit=limit, cursor=cursor, **options)
        assert len(page.items) <= limit
        out += page.items
        if page.next is None:
            return out
        cursor = logs.parse_cursor(page.next)
    raise AssertionError("the walk did not end")


def expected(records: list[dict[str, Any]], keep: Any = None) -> list[tuple[float, str, int]]:
    chosen = [r for r in records if keep is None or keep(r)]
    return sorted(((r["ts"], r["label"], r["n"]) for r in chosen), reverse=True)


def keys(items: list[dict[str, Any]]) -> list[tuple[float, str, int]]:
    return [(r["ts"], r["_label"], r["n"]) for r in items]


@pytest.fixture(params=[64, 1 << 16], ids=["tiny-chunks", "real-chunks"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Small chunks make every chunk and bisection boundary happen in small files."""
    monkeypatch.setattr(logs, "CHUNK", request.param)
    return int(request.param)


def build(tmp_path: Path, seed: int, sessions: int = 6, events: int = 120
          ) -> tuple[list[logs.Source], list[dict[str, Any]]]:
    rng = random.Random(seed)
    sources, records = [], []
    for s in range(sessions):
        label = f"sess-{s:02d}"
        start = rng.uniform(0, 1000)
        times = sorted(round(start + rng.uniform(0, 500), 6) for _ in range(rng.randint(0, events)))
        records += write_log(tmp_path / label, label, times, segments=rng.randint(1, 4))
        sources.append(source(tmp_path / label, label))
    return sources, records


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("limit", [1, 7, 50])
def test_pages_walk_every_record_once_newest_first(tmp_path: Path, chunk: int, seed: int,
                                                   limit: int) -> None:
    sources, records = build(tmp_path, seed)
    assert keys(walk(sources, limit)) == expected(records)


@pytest.mark.parametrize("seed", range(3))
def test_filters_and_a_small_budget_still_find_everything_in_order(tmp_path: Path, chunk: int,
                                                                   seed: int) -> None:
    sources, records = build(tmp_path, seed)

    def match(r: dict[str, Any]) -> bool:
        return r["tool"] == "Read" and r["event"] == "PreToolUse"

    found = walk(sources, 5, match=match, prefilter=lambda line: b'"tool":"Read"' in line,
                 budget=9)
    assert keys(found) == expected(records, match)


def test_a_page_that_runs_out_of_budget_says_so(tmp_path: Path, chunk: int) -> None:
    sources, _records = build(tmp_path, 1)
    page = logs.newest(sources, limit=10, match=lambda r: False, budget=20)
    assert page.items == [] and page.partial and page.scanned == 20 and page.next


@given(st.lists(st.floats(0, 1e6, allow_nan=False), max_size=300), st.floats(-1, 1e6 + 1),
       st.sampled_from([64, 200, 1 << 16]))
@settings(max_examples=80, deadline=None)
def test_offset_before_splits_older_from_newer(tmp_path_factory: pytest.TempPathFactory,
                                               times: list[float], cut: float,
                                               chunk: int) -> None:
    folder = tmp_path_factory.mktemp("bisect")
    times = sorted(times)
    write_log(folder, "s", times)
    path = folder / "events.jsonl"
    data = path.read_bytes()
    with patch.object(logs, "CHUNK", chunk):
        offset = logs.offset_before(str(path), cut)
    assert offset == len(data) or data[offset - 1:offset] in (b"\n", b"")
    after = [json.loads(x)["ts"] for x in data[offset:].splitlines() if x]
    # Everything from the offset on is newer than the cut; what is before it and newer
    # is only the last window, which readers filter (about one chunk of lines).
    assert all(ts > cut for ts in after)
    before = [json.loads(x)["ts"] for x in data[:offset].splitlines() if x]
    assert len([ts for ts in before if ts > cut]) <= chunk // 40 + 1


def test_torn_and_foreign_lines_are_skipped(tmp_path: Path, chunk: int) -> None:
    folder = tmp_path / "s1"
    records = write_log(folder, "s1", [1.0, 2.0, 3.0])
    with open(folder / "events.jsonl", "ab") as fh:
        fh.write(b"not json\n[1,2]\n{\"no_ts\": 1}\n{\"ts\": 4.0, \"event\": \"half")
    assert keys(walk([source(folder, "s1")], 2)) == expected(records)


def test_logs_older_than_the_page_are_never_opened(tmp_path: Path) -> None:
    recent = tmp_path / "recent"
    write_log(recent, "recent", [float(t) for t in range(1000, 1100)])

    def untouchable() -> list[str]:
        raise AssertionError("an old log was opened for the newest page")

    old = logs.Source("old", untouchable, mtime=10.0)
    page = logs.newest([old, source(recent, "recent")], limit=20)
    assert [r["ts"] for r in page.items] == [float(t) for t in range(1099, 1079, -1)]


def test_a_cursor_deep_in_a_long_log_starts_where_it_should(tmp_path: Path) -> None:
    folder = tmp_path / "long"
    records = write_log(folder, "long", [float(t) for t in range(50_000)], segments=5)
    page = logs.newest([source(folder, "long")], limit=3, cursor=(12_345.0, "long"))
    assert [r["n"] for r in page.items] == [12_344, 12_343, 12_342]
    assert page.scanned <= 3 + 2 * logs.CHUNK // 40  # not the 37,000 lines above it
    assert len(records) == 50_000


def test_stores_without_files_are_paged_too() -> None:
    records = [{"ts": float(t), "n": t, "label": "m"} for t in range(10)]
    memory = logs.Source("m", list, float("inf"), records=lambda: iter(records))
    assert keys(walk([memory], 3)) == expected(records)


@pytest.mark.parametrize("text", ["", None])
def test_no_cursor(text: str | None) -> None:
    assert logs.parse_cursor(text) is None


@pytest.mark.parametrize("text", ["x:y", "nan:s", "inf:s", ":s"])
def test_bad_cursors(text: str) -> None:
    with pytest.raises(ValueError):
        logs.parse_cursor(text)
