"""state_manager: every verb, in-process, plus one run as ``python -m``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state import state_manager
from state.cli import Front
from state.eventlog import append_event
from state.persistence.filestore import FileStorage


def _disk(home: Path, sid: str, name: str) -> dict[str, Any]:
    return json.loads((home / "sessions" / sid / name).read_text(encoding="utf-8"))


# -- get -------------------------------------------------------------------------------


def test_get_whole_session_view(sm: Any, session: str) -> None:
    view = sm("get", session).json()
    assert view["session_id"] == session
    assert view["project"] == "p1"
    assert view["status"] == "active"
    assert view["active_work"] == {"current_epic": None, "current_sprint": None, "agents": {},
                                   "tasks": {}}
    assert isinstance(view["metrics"], dict)  # derived from the event log when read
    assert view["version"] == 1 and view["schema_version"] == 1


def test_get_missing_path_and_missing_session_exit_3(sm: Any, session: str) -> None:
    assert "active_work.nope" in sm("get", session, "active_work.nope").assert_error(3)
    assert "nosuch" in sm("get", "nosuch", "mode").assert_error(3)
    sm("get", "nosuch", "$.mode").assert_error(3)


def test_session_id_dash_means_environment(
    sm: Any, session: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm("get", "-", "mode").assert_error(2)  # not set
    monkeypatch.setenv("ORCHESTRA_SESSION_ID", session)
    assert sm("get", "-", "mode").json() == "development"


# -- set / merge / delete ----------------------------------------------------------------------


def test_set_writes_state_json_and_bumps_version(sm: Any, session: str, home: Path) -> None:
    result = sm("set", session, "active_work.current_epic", "epic-001")
    assert result.code == 0 and result.json() == "epic-001" and result.err == ""
    on_disk = _disk(home, session, "state.json")
    assert on_disk["active_work"]["current_epic"] == "epic-001"
    assert on_disk["version"] == 2
    assert sm("get", session, "active_work.current_epic").json() == "epic-001"


def test_tasks_are_routed_to_tasks_json(sm: Any, session: str, home: Path) -> None:
    assert sm("set", session, "active_work.tasks.t1", '{"status": "pending"}').code == 0
    assert sm("set", session, "active_work.tasks.t1.status", "in_progress").code == 0
    assert _disk(home, session, "tasks.json")["tasks"] == {"t1": {"status": "in_progress"}}
    assert "tasks" not in _disk(home, session, "state.json")["active_work"]
    assert sm("get", session, "active_work.tasks.t1.status").json() == "in_progress"
    assert sm("delete", session, "active_work.tasks.t1").json() == {"status": "in_progress"}
    assert sm("get", session, "active_work.tasks").json() == {}


def test_tasks_cannot_be_hidden_inside_state_json(sm: Any, session: str, home: Path) -> None:
    before = _disk(home, session, "state.json")
    sm("set", session, "active_work", '{"tasks": {"t9": {}}}').assert_error(2)
    sm("merge", session, "active_work", "--data", '{"tasks": {"t9": {}}}').assert_error(2)
    assert _disk(home, session, "state.json") == before


@pytest.mark.parametrize("path", ["version", "schema_version", "session_id", "metrics",
                                  "metrics.tool_calls", ".", "$.mode"])
def test_read_only_paths_are_refused(sm: Any, session: str, home: Path, path: str) -> None:
    before = _disk(home, session, "state.json")
    sm("set", session, path, "1").assert_error(2)
    sm("delete", session, path).assert_error(2)
    assert _disk(home, session, "state.json") == before


def test_values_that_break_the_model_are_refused(sm: Any, session: str, home: Path) -> None:
    before = _disk(home, session, "state.json")
    line = sm("set", session, "active_work.current_epic", "42").assert_error(2)
    assert "current_epic" in line and "nothing written" in line
    sm("set", session, "active_work.agents", '"not an object"').assert_error(2)
    sm("set", session, "active_work.tasks.t1.history", "3").assert_error(2)
    assert _disk(home, session, "state.json") == before
    assert sm("set", session, "active_work.current_epic", "42", "--string").code == 0


def test_nan_and_infinity_are_text_never_stored_numbers(sm: Any, session: str,
                                                       home: Path) -> None:
    assert sm("set", session, "note", "NaN").json() == "NaN"  # not JSON: a string
    assert sm("set", session, "far", "Infinity").json() == "Infinity"
    before = _disk(home, session, "state.json")
    assert "not valid JSON" in sm("set", session, "x", '{"a": Infinity}', "--json").assert_error(2)
    sm("merge", session, "active_work", "--data", '{"n": NaN}').assert_error(2)
    assert _disk(home, session, "state.json") == before
    text = (home / "sessions" / session / "state.json").read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} stored"))


def test_unknown_keys_survive_cli_writes(sm: Any, session: str, home: Path) -> None:
    path = home / "sessions" / session / "state.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["from_the_future"] = {"x": [1, 2]}
    doc["active_work"]["unknown_inner"] = True
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert sm("set", session, "mode", "review").code == 0
    after = _disk(home, session, "state.json")
    assert after["from_the_future"] == {"x": [1, 2]}
    assert after["active_work"]["unknown_inner"] is True
    assert after["mode"] == "review"


def test_merge_is_deep(sm: Any, session: str) -> None:
    assert sm("set", session, "active_work.agents.a1", '{"status": "busy", "n": 1}').code == 0
    result = sm("merge", session, "active_work",
                "--data", '{"current_sprint": "sp1", "agents": {"a1": {"n": 2}, "a2": {}}}')
    assert result.code == 0
    assert result.json()["agents"] == {"a1": {"status": "busy", "n": 2}, "a2": {}}
    assert sm("get", session, "active_work.current_sprint").json() == "sp1"
    assert sm("merge", session, "brand.new", "--data", '{"x": 1}').json() == {"x": 1}


def test_merge_refuses_non_objects(sm: Any, session: str) -> None:
    sm("merge", session, "active_work", "--data", "[1]").assert_error(2)
    sm("merge", session, "active_work", "--data", "{bad").assert_error(2)
    sm("merge", session, "mode", "--data", '{"x": 1}').assert_error(2)  # mode is a string
    assert sm("get", session, "mode").json() == "development"


def test_delete(sm: Any, session: str) -> None:
    assert sm("set", session, "scratch", '{"a": 1, "b": 2}').code == 0
    assert sm("delete", session, "scratch.a").json() == 1
    assert sm("get", session, "scratch").json() == {"b": 2}
    sm("delete", session, "scratch.a").assert_error(3)


def test_writes_to_a_missing_session_exit_3_and_create_nothing(
    sm: Any, home: Path, tree: Any
) -> None:
    home.mkdir()
    for argv in (["set", "ghost", "mode", "x"], ["delete", "ghost", "mode"],
                 ["merge", "ghost", "a", "--data", "{}"]):
        sm(*argv).assert_error(3)
    assert tree(home) == set()


def test_if_version_conflict_exits_4(sm: Any, session: str, home: Path) -> None:
    version = sm("get", session, "version").json()
    assert sm("set", session, "mode", "a", "--if-version", str(version)).code == 0
    line = sm("set", session, "mode", "b", "--if-version", str(version)).assert_error(4)
    assert f"version {version}" in line
    sm("merge", session, "x", "--data", "{}", "--if-version", "99").assert_error(4)
    sm("delete", session, "mode", "--if-version", "99").assert_error(4)
    assert sm("get", session, "mode").json() == "a"
    assert sm("set", session, "mode", "c", "--if-version", str(version + 1)).code == 0


# -- list-sessions ------------------------------------------------------------------------------


def test_list_sessions(sm: Any, sess: Any) -> None:
    assert sm("list-sessions").json() == []
    assert sess("create", "--id", "a1", "--project", "p1").code == 0
    assert sess("create", "--id", "b1", "--project", "p2").code == 0
    listed = sm("list-sessions").json()
    assert [s["session_id"] for s in listed] == ["a1", "b1"]
    assert {s["status"] for s in listed} == {"active"}
    assert [s["session_id"] for s in sm("list-sessions", "--project", "p2").json()] == ["b1"]


# -- watch --------------------------------------------------------------------------------------


def test_watch_count_prints_current_value(sm: Any, session: str) -> None:
    result = sm("watch", session, "mode", "--count", "1", "--timeout", "5")
    assert result.code == 0 and result.lines() == ["development"]


def test_watch_timeout_without_changes(sm: Any, session: str) -> None:
    start = time.monotonic()
    result = sm("watch", session, "active_work.current_epic", "--interval", "0.05",
                "--timeout", "0.3")
    assert result.code == 0 and result.lines() == [None]
    assert 0.25 <= time.monotonic() - start < 5


def test_watch_prints_each_change_as_one_line(sm: Any, session: str, home: Path) -> None:
    store = FileStorage(home)
    first_line = threading.Event()

    class Stdout(io.StringIO):
        def write(self, text: str) -> int:
            first_line.set()
            return super().write(text)

    def change() -> None:
        assert first_line.wait(10)  # change only once watch has shown the start value
        for epic in ("e1", "e2"):
            time.sleep(0.15)
            with store.transaction(f"sessions/{session}/state.json") as doc:
                doc["active_work"]["current_epic"] = epic
                doc["unrelated"] = epic  # other changes do not print anything

    thread = threading.Thread(target=change)
    thread.start()
    result = sm("watch", session, "active_work.current_epic", "--interval", "0.02",
                "--count", "3", "--timeout", "10", stdout=Stdout())
    thread.join(10)
    assert result.code == 0
    assert result.out.splitlines() == ["null", '"e1"', '"e2"']  # compact JSON lines


def test_watch_jsonpath_and_errors(sm: Any, session: str) -> None:
    result = sm("watch", session, "$.active_work.tasks[?(@.status=='pending')]",
                "--count", "1")
    assert result.lines() == [[]]
    sm("watch", "ghost", "mode", "--count", "1", "--timeout", "0.1").assert_error(3)
    sm("watch", session, "mode", "--interval", "0").assert_error(2)
    sm("watch", session, "$[?(", "--count", "1").assert_error(2)


def test_watch_exits_cleanly_on_ctrl_c(sm: Any, session: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", interrupted)
    result = sm("watch", session, "mode")
    assert result.code == 0 and result.lines() == ["development"] and result.err == ""


# -- events -------------------------------------------------------------------------------------


def test_events(sm: Any, session: str, home: Path) -> None:
    store = FileStorage(home)
    now = time.time()
    for i, (name, age) in enumerate([("SessionStart", 7200), ("PreToolUse", 600),
                                     ("PostToolUse", 590), ("PreToolUse", 10)]):
        append_event(store, session, {"ts": now - age, "event": name, "n": i})
    assert [e["n"] for e in sm("events", session).lines()] == [0, 1, 2, 3]
    assert [e["n"] for e in sm("events", session, "--type", "PreToolUse").lines()] == [1, 3]
    assert [e["n"] for e in sm("events", session, "--tail", "2").lines()] == [2, 3]
    assert [e["n"] for e in sm("events", session, "--since", "20m").lines()] == [1, 2, 3]
    assert [e["n"] for e in sm("events", session, "--type", "PreToolUse",
                               "--tail", "1").lines()] == [3]
    sm("events", session, "--since", "yesterday-ish").assert_error(2)
    sm("events", session, "--tail", "-1").assert_error(2)
    sm("events", "ghost").assert_error(3)


def test_events_skip_a_torn_last_line(sm: Any, session: str, home: Path) -> None:
    log = home / "sessions" / session / "events.jsonl"
    log.write_bytes(b'{"event":"A","n":0}\n{"event":"B","n":1}\n{"event":"C","n"')
    result = sm("events", session)
    assert result.code == 0 and result.err == ""
    assert [e["n"] for e in result.lines()] == [0, 1]


def test_events_across_rotated_segments(sm: Any, session: str, home: Path) -> None:
    store = FileStorage(home)
    for i in range(40):
        append_event(store, session, {"ts": time.time(), "event": "X", "n": i}, max_bytes=400)
    assert (home / "sessions" / session / "events.000001.jsonl").exists()
    assert [e["n"] for e in sm("events", session).lines()] == list(range(40))


# -- once as a real process ------------------------------------------------------------------


@pytest.mark.slow
def test_runs_as_python_module(session: str, sm: Any, run_module: Any) -> None:
    assert sm("set", session, "active_work.current_epic", "epic-9").code == 0
    done = run_module("state.state_manager", "get", session, "$.active_work.current_epic")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == ["epic-9"]
    bad = run_module("state.state_manager", "get", session, "$[?(")
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr


# -- plain command lines: read without argparse, exactly as argparse reads them ---------------

_word = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8).filter(
    lambda w: not w.startswith("-"))
_FRONTS = [None, Front("orchestra", names={"get": "get", "set": "set", "delete": "delete"}),
           Front("orchestra state"), Front("orchestra", names={"get": "read"})]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["get", "set", "delete", "read"]), st.lists(_word, max_size=4),
       st.sampled_from(range(len(_FRONTS))))
def test_a_plain_command_line_reads_as_argparse_reads_it(
        verb: str, operands: list[str], front_index: int) -> None:
    front = _FRONTS[front_index]
    argv = [verb, *operands]
    plain = state_manager._plain(argv, front)
    shown = {front.names.get(v, v) if front else v for v in ("get", "set", "delete")}
    if plain is None:  # "read" is a verb only under the front that names it so
        assert verb not in shown
        return
    parsed = state_manager.build_parser(front, argv).parse_args(argv)
    assert vars(plain) == vars(parsed)


@pytest.mark.parametrize("argv", [
    ["get", "--compact", "s", "mode"], ["set", "s", "n", "-1"], ["--compact", "get"],
    ["get", "-h"], ["merge", "s", "p", "--data", "{}"], ["list-sessions"], ["events", "s"],
    ["watch", "s", "mode"], [], ["nosuch", "s"],
])
def test_other_command_lines_go_through_argparse(argv: list[str]) -> None:
    assert state_manager._plain(argv, None) is None


@pytest.mark.slow
def test_a_plain_get_or_set_loads_neither_argparse_nor_pydantic(
        session: str, subprocess_env: dict[str, str]) -> None:
    code = ("import sys; from state.state_manager import main\n"
            f"assert main(['get', '{session}', 'mode']) == 0\n"
            f"assert main(['set', '{session}', 'active_work.current_epic', 'e1']) == 0\n"
            f"assert main(['get', '{session}', '$.active_work.current_epic']) == 0\n"
            "print(sorted(m for m in ('argparse', 'gettext', 'pydantic', 'jsonpath_ng')"
            " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], env=subprocess_env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.splitlines() == ['"development"', '"e1"', '["e1"]', "[]"]
