"""Issue 23, items 23-26: what independent testers found in ``state_manager`` and the store.

Each runs through the CLI (in-process) on three stores: files with a small state.json
(the usual way), files with a large stamped state.json (``get``/``set`` made in its
bytes, :mod:`state.in_place`) and PostgreSQL.

* 23: ``set`` of a session that does not exist takes no lock, so it leaves nothing
  behind and says "not found" (exit 3) on a read-only file system too;
* 25: a value nested deeper than a stored document may nest (``MAX_DEPTH``) is refused
  with one line and exit 2 on every path, and nothing a session holds breaks ``get
  version``, ``merge``, ``delete`` or ``--if-version`` afterwards;
* 26: "unchanged" is decided by JSON type and value: ``true`` over ``1`` is a change.

Item 24 (the in-place ``get`` and tasks.json) is in test_state_in_place.py.
"""

from __future__ import annotations

import errno
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from state import session_manager, shared_state, state_manager
from state.errors import InvalidValueError
from state.persistence.storage import MAX_DEPTH, Storage

SID = "s1"
#: Enough subagents to make state.json larger than LARGE_DOCUMENT (written one entry per
#: line and stamped: get and set then work in its bytes).
LARGE_AGENTS = 4000


class Cli:
    """``state_manager`` (and friends) in-process on one state root."""

    def __init__(self, home: Path) -> None:
        self.home = home
        #: In-place runs: False while state.json must not be read or written whole.
        self.whole = {"allowed": True}

    def __call__(self, *argv: str, main: Callable[..., int] = state_manager.main
                 ) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def ok(self, *argv: str) -> Any:
        code, out, err = self(*argv)
        assert code == 0, (argv, err)
        return json.loads(out)

    def refused(self, code: int, *argv: str, main: Callable[..., int] = state_manager.main
                ) -> str:
        """Exit ``code``, nothing on stdout, one line on stderr (no traceback): that line."""
        got, out, err = self(*argv, main=main)
        assert (got, out) == (code, ""), (argv, got, out, err)
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        return err

    def version(self) -> int:
        """The session's version (read from the whole view, also on an in-place run)."""
        allowed = self.whole["allowed"]
        self.whole["allowed"] = True
        try:
            value = self.ok("get", SID, "version")
        finally:
            self.whole["allowed"] = allowed
        assert type(value) is int
        return value


@pytest.fixture(params=["file", "in-place", "postgres"])
def cli(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[Cli]:
    """A session ``s1`` on one of the three stores; with ``in-place``, a ``set`` or ``get``
    of state.json that is not made in its bytes fails the test."""
    if request.param == "postgres":
        monkeypatch.setenv("ORCHESTRA_STORE_URL", request.getfixturevalue("pg_url"))
    else:
        monkeypatch.delenv("ORCHESTRA_STORE_URL", raising=False)
    run = Cli(home)
    assert run("create", "--id", SID, "--project", "p1", main=session_manager.main)[0] == 0
    if request.param == "in-place":
        agents = {f"agent-{i:05d}": {"agent_type": "general-purpose", "status": "idle",
                                     "n": i} for i in range(LARGE_AGENTS)}
        run.ok("set", SID, "active_work.agents", json.dumps(agents))
        assert (home / "sessions" / SID / ".state.json.stamp").exists()
        read, transaction = Storage.read, Storage.transaction

        def whole(method: Any) -> Any:
            def guarded(self: Storage, key: str, *args: Any, **kwargs: Any) -> Any:
                assert not key.endswith(f"{SID}/state.json") or run.whole["allowed"], (
                    "state.json was read or written whole: not the in-place path")
                return method(self, key, *args, **kwargs)

            return guarded

        run.whole["allowed"] = False
        monkeypatch.setattr(Storage, "read", whole(read))
        monkeypatch.setattr(Storage, "transaction", whole(transaction))
    yield run


def _whole(cli: Cli) -> None:
    """Let the next commands read state.json whole (merge, delete, --if-version do)."""
    cli.whole["allowed"] = True


def _nested(depth: int, leaf: str = "1") -> str:
    """A JSON value ``depth`` levels deep: arrays, one object on the way."""
    if depth < 2:
        return "[" * depth + leaf + "]" * depth
    return '{"k": ' + "[" * (depth - 1) + leaf + "]" * (depth - 1) + "}"


# -- 26: "unchanged" by JSON type and value ------------------------------------------------

CHANGES = [("1", "true"), ("1", "1.0"), ("0", "false"), ("1.0", "1"), ("true", "1"),
           ("false", "0"), ("[1, 0]", "[true, 0]"), ('{"a": 0}', '{"a": 0.0}'),
           ('{"a": [1]}', '{"a": [1.0]}')]


@pytest.mark.parametrize("old, new", CHANGES)
def test_a_value_of_another_json_type_is_a_change(cli: Cli, old: str, new: str) -> None:
    cli.ok("set", SID, "notes.flag", old)
    before = cli.version()
    code, out, err = cli("set", SID, "notes.flag", new)
    assert (code, err) == (0, "") and out == json.dumps(json.loads(new),
                                                       separators=(",", ":")) + "\n"
    stored = cli.ok("get", SID, "notes.flag")
    assert json.dumps(stored) == json.dumps(json.loads(new))  # 1.0 stays 1.0, true stays true
    assert cli.version() == before + 1
    # The very same value again is no change: nothing written, the version stays.
    assert cli("set", SID, "notes.flag", new)[0] == 0
    assert cli.version() == before + 1


@pytest.mark.parametrize("old, new", CHANGES[:3])
def test_merge_and_task_fields_compare_by_type_too(cli: Cli, old: str, new: str) -> None:
    _whole(cli)
    cli.ok("merge", SID, "notes", "--data", f'{{"flag": {old}}}')
    before = cli.version()
    assert cli.ok("merge", SID, "notes", "--data", f'{{"flag": {new}}}') == {
        "flag": json.loads(new)}
    assert json.dumps(cli.ok("get", SID, "notes.flag")) == json.dumps(json.loads(new))
    assert cli.version() == before + 1
    cli.ok("set", SID, "active_work.tasks.t1", f'{{"subject": "x", "rank": {old}}}')
    before = cli.version()
    cli.ok("set", SID, "active_work.tasks.t1.rank", new)
    assert json.dumps(cli.ok("get", SID, "active_work.tasks.t1.rank")) == json.dumps(
        json.loads(new))
    assert cli.version() == before + 1


def test_a_transaction_writes_a_change_of_type_on_every_backend(store: Storage) -> None:
    """The store itself: a transaction that turns 1 into true (or 1.0) commits it."""
    key = "projects/p1/epics.json"
    with store.transaction(key) as doc:
        doc["flag"] = 1
    for value in (True, 1.0, 1, False, 0):
        version = store.require(key)["version"]
        with store.transaction(key) as doc:
            doc["flag"] = value
        stored = store.require(key)
        assert type(stored["flag"]) is type(value) and stored["flag"] == value
        assert stored["version"] == version + 1
    with store.transaction(key) as doc:
        doc["flag"] = 0  # the same: nothing written
    assert store.require(key)["version"] == version + 1


# -- 25: values nested too deep ----------------------------------------------------------


def _still_usable(cli: Cli) -> None:
    """What a value nested too deep used to break, still works on the session."""
    _whole(cli)
    version = cli.version()
    cli.ok("merge", SID, "notes", "--data", '{"after": 1}')
    cli.ok("set", SID, "notes.cond", "2", "--if-version", str(version + 1))
    assert cli.ok("delete", SID, "notes.after") == 1
    assert cli.version() == version + 3
    cli.ok("get", SID, "$..cond")


@pytest.mark.parametrize("depth", [MAX_DEPTH, 980, 5000])
def test_a_value_nested_too_deep_is_refused_on_every_path(cli: Cli, depth: int) -> None:
    """A value that no key of the session can hold: refused before it is stored, by the
    in-place set as by the usual way, for set and merge, exit 2, nothing written."""
    cli.ok("set", SID, "notes", '{"flag": 1}')
    before = cli.version()
    value = _nested(depth)
    for argv in (("set", SID, "notes.deep", value), ("set", SID, "fresh", value),
                 ("set", SID, "active_work.tasks.t9", value),
                 ("merge", SID, "notes", "--data", f'{{"deep": {value}}}'),
                 ("set", SID, "notes.deep", value, "--json")):
        line = cli.refused(2, *argv)
        assert "nest" in line and f"at most {MAX_DEPTH}" in line, line
    assert cli.version() == before
    _still_usable(cli)


def test_a_value_within_the_bound_but_too_deep_where_it_goes_is_refused(cli: Cli) -> None:
    """``MAX_DEPTH - 1`` levels fit below a top-level key (the document is level 1), not
    one level further down: the store refuses that write, whichever way it is made."""
    fits = _nested(MAX_DEPTH - 1)
    cli.ok("set", SID, "notes", "{}")
    before = cli.version()
    for argv in (("set", SID, "notes.deep", fits),  # (in place on a large state)
                 ("set", SID, "active_work.extra", fits),
                 ("merge", SID, "notes.sub", "--data", f'{{"deep": {_nested(MAX_DEPTH - 2)}}}')):
        if argv[0] == "merge":
            _whole(cli)
        line = cli.refused(2, *argv)
        assert "state.json" in line and f"nests at most {MAX_DEPTH}" in line, line
    assert cli.version() == before
    # At the bound exactly it is stored, and everything still works on the session.
    assert cli.ok("set", SID, "deepest", fits) == json.loads(fits)
    assert cli.ok("get", SID, "deepest") == json.loads(fits)
    _still_usable(cli)
    assert cli.ok("delete", SID, "deepest") == json.loads(fits)
    code, out, _ = cli("list", main=session_manager.main)
    assert code == 0 and SID in out


def test_other_writers_are_bounded_too(cli: Cli) -> None:
    """shared_state takes values too: the same refusal, nothing written."""
    before = cli("get-config", main=shared_state.main)
    for depth in (MAX_DEPTH, 980, 5000):
        line = cli.refused(2, "set-config", "claims.extra", _nested(depth), "--json",
                           main=shared_state.main)
        assert "nest" in line and f"at most {MAX_DEPTH}" in line, line
    assert cli("get-config", main=shared_state.main) == before


def test_the_store_refuses_a_document_nested_too_deep(store: Storage) -> None:
    """Wherever a value enters a document (a handler's transaction), on every backend."""
    key = "projects/p1/team.json"
    with store.transaction(key) as doc:
        doc["ok"] = json.loads(_nested(MAX_DEPTH - 1))  # the document: MAX_DEPTH levels
    before = store.require(key)
    with (pytest.raises(InvalidValueError, match=f"nests at most {MAX_DEPTH}"),
          store.transaction(key) as doc):
        doc["ok"] = [json.loads(_nested(MAX_DEPTH - 1))]
    assert store.require(key) == before


# -- 23: a missing session leaves nothing behind ------------------------------------------


def test_set_of_a_missing_session_takes_no_lock(cli: Cli, home: Path) -> None:
    before = sorted(p.name for p in (home / "sessions").iterdir()) if (
        home / "sessions").exists() else []
    for argv in (("set", "nosuch", "k", "1"), ("set", "nosuch", "notes.a.b", '{"x": 1}'),
                 ("merge", "nosuch", "k", "--data", "{}"), ("delete", "nosuch", "k"),
                 ("get", "nosuch", "k")):
        assert "no session nosuch" in cli.refused(3, *argv)
    after = sorted(p.name for p in (home / "sessions").iterdir()) if (
        home / "sessions").exists() else []
    assert after == before and "nosuch" not in after


@pytest.fixture
def read_only(home: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make the state root a read-only file system: every call that would create, change
    or remove something below it fails with EROFS, as a ``mount -o ro`` does."""
    root = os.path.abspath(home)

    def below(path: Any) -> bool:
        p = os.path.abspath(os.fspath(path))
        return p == root or p.startswith(root + os.sep)

    def erofs(path: Any) -> OSError:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    real_open, real_mkdir = os.open, os.mkdir

    def ro_open(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if flags & writes and below(path):
            raise erofs(path)
        return real_open(path, flags, mode, **kw)

    def ro_mkdir(path: Any, mode: int = 0o777, **kw: Any) -> None:
        if below(path):
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
            raise erofs(path)
        real_mkdir(path, mode, **kw)

    def refuse(real: Any) -> Any:
        def call(*paths: Any, **kw: Any) -> Any:
            if any(below(p) for p in paths):
                raise erofs(paths[0])
            return real(*paths, **kw)

        return call

    def activate() -> None:
        monkeypatch.setattr(os, "open", ro_open)
        monkeypatch.setattr(os, "mkdir", ro_mkdir)
        for name in ("replace", "rename", "unlink", "link", "rmdir"):
            monkeypatch.setattr(os, name, refuse(getattr(os, name)))

    return activate


def test_set_of_a_missing_session_on_a_read_only_file_system_is_not_found(
        home: Path, read_only: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRA_STORE_URL", raising=False)
    cli = Cli(home)
    assert cli("create", "--id", SID, "--project", "p1", main=session_manager.main)[0] == 0
    cli.ok("set", SID, "notes.x", "1")
    read_only()
    for argv in (("set", "nosuch", "k", "1"), ("set", "nosuch", "notes.x", "2"),
                 ("merge", "nosuch", "k", "--data", "{}"), ("delete", "nosuch", "k")):
        assert "no session nosuch" in cli.refused(3, *argv)
    assert cli.ok("get", SID, "notes.x") == 1
    assert not (home / "sessions" / "nosuch").exists()


def test_watch_prints_a_change_of_type(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``watch`` prints a value when it changes, by type too: ``1.0`` and ``true`` after
    ``1``. Each value is set once watch has printed the one before."""
    import threading

    monkeypatch.delenv("ORCHESTRA_STORE_URL", raising=False)
    cli = Cli(home)
    assert cli("create", "--id", SID, "--project", "p1", main=session_manager.main)[0] == 0
    cli.ok("set", SID, "notes.flag", "1")
    printed = threading.Semaphore(0)

    class Stdout(io.StringIO):
        def write(self, text: str) -> int:
            printed.release()
            return super().write(text)

    def change() -> None:
        for value in ("1.0", "true", "1"):
            if not printed.acquire(timeout=5):
                return  # the last value was not printed: watch times out, the test fails
            cli.ok("set", SID, "notes.flag", value)

    thread = threading.Thread(target=change)
    thread.start()
    out = Stdout()
    code = state_manager.main(["watch", SID, "notes.flag", "--interval", "0.01", "--count",
                               "4", "--timeout", "8"], stdout=out, stderr=io.StringIO())
    thread.join(10)
    assert code == 0
    assert out.getvalue().splitlines() == ["1", "1.0", "true", "1"]
