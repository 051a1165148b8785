"""session_manager: create, list (presence status), show, heartbeat, end, prune."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from state.paths import session_key
from state.persistence.filestore import FileStorage


def beat(home: Path, sid: str, age: float, **extra: Any) -> None:
    """Pretend the session's last hook event was ``age`` seconds ago."""
    FileStorage(home).put_volatile(session_key(sid, "heartbeat.json"),
                                   {"at": time.time() - age, **extra})


def statuses(sess: Any, *argv: str) -> dict[str, str]:
    result = sess("list", *argv)
    assert result.code == 0, result.err
    return {s["session_id"]: s["status"] for s in result.json()}


# -- create ------------------------------------------------------------------------------


def test_create_with_chosen_id(sess: Any, home: Path) -> None:
    result = sess("create", "--id", "s1", "--project", "p1", "--mode", "review")
    assert result.code == 0 and result.err == ""
    doc = result.json()
    assert doc["session_id"] == "s1"
    assert (doc["project"], doc["mode"], doc["status"]) == ("p1", "review", "active")
    assert doc["version"] == 1 and doc["schema_version"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["created_at"])
    on_disk = json.loads((home / "sessions/s1/state.json").read_text(encoding="utf-8"))
    assert on_disk == doc
    assert (home / "sessions/s1/heartbeat.json").exists()


def test_create_without_id_makes_a_uuid(sess: Any) -> None:
    first, second = sess("create").json(), sess("create").json()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
                        first["session_id"])
    assert first["session_id"] != second["session_id"]
    assert first["project"] is None and first["mode"] == "development"


def test_create_twice_is_a_conflict(sess: Any, home: Path) -> None:
    assert sess("create", "--id", "s1", "--mode", "a").code == 0
    assert "already exists" in sess("create", "--id", "s1", "--mode", "b").assert_error(4)
    on_disk = json.loads((home / "sessions/s1/state.json").read_text(encoding="utf-8"))
    assert on_disk["mode"] == "a" and on_disk["version"] == 1


def test_empty_id_is_refused_not_replaced_by_a_uuid(sess: Any, home: Path) -> None:
    sess("create", "--id", "").assert_error(2)
    assert not (home / "sessions").exists()


# -- list and status ----------------------------------------------------------------------


def test_status_from_heartbeat_age(sess: Any, home: Path) -> None:
    for sid in ("act", "idl", "stl", "end", "nob"):
        assert sess("create", "--id", sid, "--project", "p1").code == 0
    beat(home, "act", 10)
    beat(home, "idl", 600)  # 300 s <= age < 1800 s
    beat(home, "stl", 4000)
    assert sess("end", "end").code == 0
    (home / "sessions/nob/heartbeat.json").unlink()  # never beat: stale
    assert statuses(sess) == {"act": "active", "idl": "idle", "stl": "stale", "end": "ended",
                              "nob": "stale"}
    assert statuses(sess, "--status", "idle") == {"idl": "idle"}
    assert next(iter(statuses(sess))) == "act"  # active sessions first


def test_thresholds_come_from_config(sess: Any, shared: Any, home: Path) -> None:
    assert sess("create", "--id", "s1").code == 0
    beat(home, "s1", 20)
    assert statuses(sess) == {"s1": "active"}
    assert shared("set-config", "presence.active_seconds", "5").code == 0
    assert statuses(sess) == {"s1": "idle"}
    assert shared("set-config", "presence.idle_seconds", "10").code == 0
    assert statuses(sess) == {"s1": "stale"}


def test_list_by_project(sess: Any) -> None:
    assert sess("create", "--id", "a", "--project", "p1").code == 0
    assert sess("create", "--id", "b", "--project", "p2").code == 0
    assert sess("create", "--id", "c").code == 0
    assert set(statuses(sess, "--project", "p1")) == {"a"}
    assert statuses(sess, "--project", "p3") == {}
    assert sess("list").json()[0].keys() >= {
        "session_id", "project", "mode", "status", "last_heartbeat", "idle_seconds",
        "last_event", "last_tool", "current_task", "active_agents", "created_at", "ended_at"}
    sess("list", "--status", "sleepy").assert_error(2)


def test_list_ignores_stray_folders(sess: Any, home: Path) -> None:
    assert sess("create", "--id", "s1").code == 0
    (home / "sessions" / "not a session").mkdir()
    (home / "sessions" / "empty").mkdir()
    assert statuses(sess) == {"s1": "active"}


# -- show / heartbeat / end ----------------------------------------------------------------------


def test_show_summarises_what_the_session_does(sess: Any, sm: Any, session: str,
                                               home: Path) -> None:
    beat(home, session, 5, event="PostToolUse", tool="Bash")
    assert sm("set", session, "active_work.tasks.t1",
              '{"subject": "write tests", "status": "in_progress"}').code == 0
    assert sm("set", session, "active_work.agents.ag1",
              '{"agent_type": "reviewer", "status": "busy"}').code == 0
    shown = sess("show", session).json()
    assert shown["status"] == "active"
    assert (shown["last_event"], shown["last_tool"]) == ("PostToolUse", "Bash")
    assert shown["current_task"] == "write tests"
    assert shown["active_agents"] == ["reviewer"]
    assert 4 <= shown["idle_seconds"] < 60


def test_heartbeat_makes_a_stale_session_active(sess: Any, session: str, home: Path) -> None:
    beat(home, session, 99999)
    assert sess("show", session).json()["status"] == "stale"
    result = sess("heartbeat", session)
    assert result.code == 0 and result.json()["status"] == "active"
    assert result.json()["last_event"] == "cli"
    assert sess("show", session).json()["status"] == "active"


def test_end(sess: Any, session: str, home: Path) -> None:
    ended = sess("end", session, "--reason", "done for today").json()
    assert ended["status"] == "ended" and ended["end_reason"] == "done for today"
    assert ended["ended_at"] is not None
    assert sess("show", session).json()["status"] == "ended"
    assert sess("heartbeat", session).json()["status"] == "ended"  # ended stays ended


def test_session_from_environment(sess: Any, session: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    sess("show").assert_error(2)
    monkeypatch.setenv("ORCHESTRA_SESSION_ID", session)
    assert sess("show").json()["session_id"] == session
    assert sess("end").json()["status"] == "ended"


@pytest.mark.parametrize("verb", ["show", "heartbeat", "end"])
def test_missing_session_exits_3_and_creates_nothing(sess: Any, session: str, home: Path,
                                                     tree: Any, verb: str) -> None:
    before = tree(home)
    assert "ghost" in sess(verb, "ghost").assert_error(3)
    assert tree(home) == before


# -- prune -------------------------------------------------------------------------------------


def test_prune(sess: Any, home: Path) -> None:
    for sid in ("act", "idl", "old_stale", "new_stale", "old_ended", "new_ended"):
        assert sess("create", "--id", sid).code == 0
    beat(home, "act", 1)
    beat(home, "idl", 600)
    beat(home, "old_stale", 3 * 86400)
    beat(home, "new_stale", 7200)
    for sid, age in (("old_ended", 3 * 86400), ("new_ended", 60)):
        assert sess("end", sid).code == 0
        beat(home, sid, age)

    dry = sess("prune", "--older-than", "1d", "--dry-run")
    assert dry.code == 0
    assert sorted(dry.json()["would_remove"]) == ["old_ended", "old_stale"]
    assert len(list((home / "sessions").iterdir())) == 6

    done = sess("prune", "--older-than", "1d")
    assert sorted(done.json()["removed"]) == ["old_ended", "old_stale"]
    assert sorted(p.name for p in (home / "sessions").iterdir()) == [
        "act", "idl", "new_ended", "new_stale"]

    assert sorted(sess("prune", "--older-than", "30s").json()["removed"]) == [
        "new_ended", "new_stale"]
    assert set(statuses(sess)) == {"act", "idl"}  # active and idle are never pruned


@pytest.mark.parametrize("duration", ["soon", "-1d", "1y", ""])
def test_prune_refuses_bad_durations(sess: Any, session: str, duration: str) -> None:
    sess("prune", "--older-than", duration).assert_error(2)
    assert statuses(sess) == {session: "active"}


# -- once as a real process ------------------------------------------------------------------


@pytest.mark.slow
def test_runs_as_python_module(run_module: Any, home: Path) -> None:
    done = run_module("state.session_manager",
                      "create", "--id", "sub1", "--project", "p1", "--compact")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["session_id"] == "sub1"
    assert "\n" not in done.stdout.strip()  # --compact
    listed = run_module("state.session_manager", "list")
    assert [s["session_id"] for s in json.loads(listed.stdout)] == ["sub1"]
