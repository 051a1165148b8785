"""FileStorage on disk: atomic write layout, sidecar locks, permissions, corrupt and
torn files, orphan temp files, symlinks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import state.store
from state.errors import LockTimeoutError, UnsafePathError
from state.persistence.filestore import FileStorage
from state.store import open_store

KEY = "sessions/s1/state.json"


def write(store: FileStorage, key: str = KEY, **values: Any) -> None:
    with store.transaction(key) as doc:
        doc.update(values)


@pytest.fixture
def fs(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "root")


def symlink_or_skip(target: Path, link: Path, *, is_dir: bool = False) -> None:
    try:
        os.symlink(target, link, target_is_directory=is_dir)
    except FileExistsError:
        raise
    except (OSError, NotImplementedError) as exc:  # Windows without the privilege
        pytest.skip(f"cannot create symlinks here: {exc}")


# -- atomic writes -------------------------------------------------------------------------


def test_write_is_temp_in_same_folder_fsync_replace_fsync_folder(
    fs: FileStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(fs, a=1)
    folder = fs.path(KEY).parent
    events: list[tuple[Any, ...]] = []
    real_replace, real_fsync = os.replace, os.fsync

    def spy_fsync(fd: int) -> None:
        st = os.fstat(fd)
        events.append(("fsync-dir" if stat.S_ISDIR(st.st_mode) else "fsync-file", st.st_ino))
        real_fsync(fd)

    def spy_replace(src: Any, dst: Any) -> None:
        src, dst = Path(src), Path(dst)
        st = os.lstat(src)
        events.append(("replace", src, dst, src.read_bytes(), stat.S_IMODE(st.st_mode), st.st_ino))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    with fs.transaction(KEY) as doc:
        doc["a"] = 2
    monkeypatch.undo()

    assert [e[0] for e in events] == ["fsync-file", "replace", "fsync-dir"]
    (_, synced_ino), (_, src, dst, data, mode, src_ino), (_, dir_ino) = events
    assert dst == fs.path(KEY)
    assert src.parent == dst.parent  # same folder: os.replace is an atomic rename
    assert src.name.startswith(".state.json.") and src.name.endswith(".tmp")
    assert synced_ino == src_ino  # the temp file's data was flushed before the rename
    assert dir_ino == os.stat(folder).st_ino  # and the rename itself afterwards
    assert data == dst.read_bytes()  # the temp file was complete when renamed
    if os.name != "nt":
        assert mode == 0o600
    assert sorted(os.listdir(folder)) == ["state.json", "state.json.lock"]  # no temp left


def test_written_document_is_readable_json(fs: FileStorage) -> None:
    import json

    write(fs, a=[1, 2], b="é")
    text = fs.path(KEY).read_text(encoding="utf-8")
    assert json.loads(text) == {"schema_version": 1, "a": [1, 2], "b": "é", "version": 1}
    assert "\n  " in text  # pretty: people read and diff these files


def test_unchanged_transaction_does_not_touch_the_file(fs: FileStorage) -> None:
    write(fs, a=1)
    before = os.stat(fs.path(KEY))
    time.sleep(0.01)
    with fs.transaction(KEY) as doc:
        doc["a"] = 1
    after = os.stat(fs.path(KEY))
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


# -- sidecar lock files ------------------------------------------------------------------


def test_lock_file_is_a_sidecar_that_is_never_deleted(fs: FileStorage) -> None:
    write(fs, a=1)
    lock = fs.path(KEY).with_name("state.json.lock")
    assert lock.is_file() and not lock.is_symlink()
    inode = lock.stat().st_ino
    for i in range(10):
        write(fs, a=i + 2)
    with pytest.raises(RuntimeError), fs.transaction(KEY) as doc:
        doc["a"] = "x"
        raise RuntimeError
    assert fs.delete(KEY)
    assert not fs.path(KEY).exists()
    assert lock.stat().st_ino == inode  # never deleted, never recreated


_HOLDER = """
import sys
from pathlib import Path
from state.persistence.filestore import FileStorage
store = FileStorage(Path(sys.argv[1]))
with store.transaction(sys.argv[2]) as doc:
    doc["held_by_child"] = True
    print("locked", flush=True)
    sys.stdin.read()   # hold the lock until the parent closes our stdin
"""


@pytest.fixture
def lock_holder(python_env: dict[str, str]) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def hold(root: Path, key: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(root), key], env=python_env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield hold
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


@pytest.mark.slow
def test_lock_held_by_another_process_times_out_naming_the_file(
    fs: FileStorage, lock_holder: Any
) -> None:
    write(fs, a=1)
    proc = lock_holder(fs.root, KEY)
    start = time.monotonic()
    with pytest.raises(LockTimeoutError) as info, fs.transaction(KEY, timeout=0.3) as doc:
        doc["a"] = 2
    assert time.monotonic() - start < 5
    assert str(fs.path(KEY)) in str(info.value)
    assert "state.json.lock" in str(info.value)
    assert fs.read(KEY) == {"schema_version": 1, "a": 1, "version": 1}  # readers: no lock
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(30) == 0
    with fs.transaction(KEY, timeout=5) as doc:  # released: the next writer gets it
        doc["a"] = 3
    assert fs.read(KEY) == {"schema_version": 1, "a": 3, "held_by_child": True, "version": 3}


@pytest.mark.slow
def test_cli_exits_5_on_lock_timeout(
    sm: Any, session: str, home: Path, lock_holder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI opens its store through state.store.open_store (state.cli.open_cli_store).
    monkeypatch.setattr(state.store, "open_store", lambda: open_store(lock_timeout=0.3))
    lock_holder(home, f"sessions/{session}/state.json")
    line = sm("set", session, "mode", "review").assert_error(5)
    assert "state.json" in line and "lock" in line
    assert sm("get", session, "mode").json() == "development"  # get needs no lock


# -- permissions -------------------------------------------------------------------------


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits do not exist on Windows")
def test_folders_0700_files_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # the modes must come from the code, not from the umask
    try:
        fs = FileStorage(tmp_path / "root")
        write(fs, "config.json", a=1)
        write(fs, KEY, a=1)
        fs.put_volatile("sessions/s1/heartbeat.json", {"at": 1})
        for i in range(30):
            fs.append("sessions/s1/events.jsonl", {"i": i, "pad": "x" * 30}, max_bytes=300)
        fs.append("projects/p1/decisions.jsonl", {"i": 1})
        fd = os.open(fs.path("sessions/s1/tasks.json"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"{corrupt")  # as if a 0600 file got damaged: moving it keeps 0600
        os.close(fd)
        fs.read("sessions/s1/tasks.json")
    finally:
        os.umask(old_umask)
    root = fs.root
    folders = [root, root / "sessions", root / "sessions/s1", root / "projects",
               root / "projects/p1"]
    files = [p for p in root.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"config.json", "config.json.lock", "state.json", "state.json.lock", "heartbeat.json",
            "events.jsonl", "events.000001.jsonl", "decisions.jsonl"} <= names
    assert any(n.startswith("tasks.json.corrupt-") for n in names)
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# -- corrupt documents on disk and through the CLIs ------------------------------------------


def test_corrupt_document_keeps_its_bytes(fs: FileStorage) -> None:
    write(fs, a=1)
    fs.path(KEY).write_bytes(b'{"a": 1, "half')
    assert fs.read(KEY) is None
    moved = [p for p in fs.path(KEY).parent.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1
    assert moved[0].name.startswith("state.json.corrupt-")
    assert moved[0].read_bytes() == b'{"a": 1, "half'
    assert str(moved[0]) in fs.problems[0]
    assert not fs.path(KEY).exists()


def test_cli_warns_about_corrupt_document_and_continues(
    sm: Any, session: str, home: Path
) -> None:
    tasks = home / "sessions" / session / "tasks.json"
    tasks.write_bytes(b"{not json")
    result = sm("get", session, "active_work.current_epic")
    assert result.code == 0
    assert result.json() is None
    lines = result.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("state_manager: warning: ") and "tasks.json.corrupt-" in lines[0]
    moved = [p for p in tasks.parent.iterdir() if p.name.startswith("tasks.json.corrupt-")]
    assert [p.read_bytes() for p in moved] == [b"{not json"]
    assert sm("set", session, "active_work.tasks.t1.status", "pending").code == 0
    assert [p.read_bytes() for p in moved] == [b"{not json"]  # never overwritten


def test_cli_reports_corrupt_document_even_when_the_verb_fails(
    sm: Any, session: str, home: Path
) -> None:
    (home / "sessions" / session / "state.json").write_bytes(b"\x00garbage")
    result = sm("get", session, "mode")
    assert result.code == 3
    warning, error = result.err.splitlines()
    assert "warning" in warning and "state.json.corrupt-" in warning
    assert error.startswith("state_manager: error:")


@pytest.mark.parametrize("argv", [["set", "mode", "x"], ["merge", "a", "--data", "{}"],
                                  ["delete", "mode"], ["set", "active_work.tasks.1.status", "x"],
                                  ["set", "mode", "x", "--if-version", "1"]])
def test_a_write_to_a_session_whose_state_is_corrupt_exits_3(
    sm: Any, session: str, home: Path, argv: list[str]
) -> None:
    folder = home / "sessions" / session
    (folder / "state.json").write_bytes(b"{garbage")
    result = sm(argv[0], session, *argv[1:])
    assert result.code == 3 and result.out == ""
    warning, error = result.err.splitlines()
    assert "warning" in warning and "state.json.corrupt-" in warning
    assert error == f"state_manager: error: no session {session}"
    assert not (folder / "state.json").exists()  # moved aside; nothing written in its place
    moved = [p for p in folder.iterdir() if p.name.startswith("state.json.corrupt-")]
    assert [p.read_bytes() for p in moved] == [b"{garbage"]


def test_session_list_skips_corrupt_session_with_a_warning(
    sess: Any, home: Path
) -> None:
    assert sess("create", "--id", "good").code == 0
    assert sess("create", "--id", "bad").code == 0
    (home / "sessions" / "bad" / "state.json").write_text("{", encoding="utf-8")
    result = sess("list")
    assert result.code == 0
    assert [s["session_id"] for s in result.json()] == ["good"]
    assert len(result.err.splitlines()) == 1 and "bad" in result.err


def test_corrupt_config_warns_and_defaults_apply(shared: Any, home: Path) -> None:
    from state.config import DEFAULTS

    home.mkdir()
    (home / "config.json").write_text('{"claims": ', encoding="utf-8")
    result = shared("get-config")
    assert result.code == 0
    assert result.json() == DEFAULTS
    assert "config.json.corrupt-" in result.err and len(result.err.splitlines()) == 1


# -- orphan temp files -------------------------------------------------------------------------


def test_orphan_temp_files_are_removed_by_the_next_writer(fs: FileStorage) -> None:
    write(fs, a=1)
    folder = fs.path(KEY).parent
    orphans = [folder / ".state.json.4242.deadbeef.tmp", folder / ".state.json.1.00000000.tmp"]
    others = [folder / ".tasks.json.4242.deadbeef.tmp", folder / "notes.tmp"]
    for p in orphans + others:
        p.write_bytes(b'{"half": ')
    assert fs.read(KEY) is not None  # readers take no lock and clean nothing
    assert all(p.exists() for p in orphans)
    write(fs, a=2)
    assert not any(p.exists() for p in orphans)
    assert all(p.exists() for p in others)  # only this document's temp files
    assert fs.list_children("sessions/s1") == sorted(
        ["notes.tmp", "state.json", "state.json.lock"])


# -- symlinks ----------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.json").write_text('{"untouched": true}', encoding="utf-8")
    return folder


def _untouched(outside: Path) -> None:
    assert sorted(os.listdir(outside)) == ["victim.json"]
    assert (outside / "victim.json").read_text(encoding="utf-8") == '{"untouched": true}'


def test_symlinked_document_is_refused(fs: FileStorage, outside: Path) -> None:
    write(fs, a=1)
    fs.path(KEY).unlink()
    symlink_or_skip(outside / "victim.json", fs.path(KEY))
    with pytest.raises(UnsafePathError):
        fs.read(KEY)
    with pytest.raises(UnsafePathError), fs.transaction(KEY) as doc:
        doc["a"] = 2
    _untouched(outside)


def test_symlinked_lock_file_is_refused(fs: FileStorage, outside: Path) -> None:
    write(fs, a=1)
    lock = fs.path(KEY).with_name("state.json.lock")
    lock.unlink()
    symlink_or_skip(outside / "planted.lock", lock)  # dangling: would be created
    with pytest.raises(UnsafePathError), fs.transaction(KEY) as doc:
        doc["a"] = 2
    lock.unlink()
    symlink_or_skip(outside / "victim.json", lock)  # existing: would be locked/truncated
    with pytest.raises(UnsafePathError), fs.transaction(KEY) as doc:
        doc["a"] = 2
    assert fs.require(KEY)["a"] == 1
    _untouched(outside)


@pytest.mark.parametrize("link", ["sessions/s1", "sessions"])
def test_symlinked_folder_is_refused(fs: FileStorage, outside: Path, link: str) -> None:
    (fs.root / link).parent.mkdir(parents=True)
    target = outside / "elsewhere"
    target.mkdir()
    symlink_or_skip(target, fs.root / link, is_dir=True)
    if link == "sessions":
        (target / "s1").mkdir()
    with pytest.raises(UnsafePathError):
        write(fs, a=1)
    with pytest.raises(UnsafePathError):
        fs.read(KEY)
    with pytest.raises(UnsafePathError):
        fs.append("sessions/s1/events.jsonl", {"e": 1})
    with pytest.raises(UnsafePathError):
        list(fs.read_log("sessions/s1/events.jsonl"))
    with pytest.raises(UnsafePathError):
        fs.put_volatile("sessions/s1/heartbeat.json", {"at": 1})
    if link == "sessions/s1":
        with pytest.raises(UnsafePathError):
            fs.remove_tree("sessions/s1")
    assert not any(p.is_file() for p in target.rglob("*"))  # nothing written through it
    assert sorted(os.listdir(outside)) == ["elsewhere", "victim.json"]


def test_symlinked_log_and_heartbeat_are_refused(fs: FileStorage, outside: Path) -> None:
    write(fs, a=1)
    log = fs.path("sessions/s1/events.jsonl")
    symlink_or_skip(outside / "victim.json", log)
    with pytest.raises(UnsafePathError):
        fs.append("sessions/s1/events.jsonl", {"e": 1})
    with pytest.raises(UnsafePathError):
        list(fs.read_log("sessions/s1/events.jsonl"))
    beat = fs.path("sessions/s1/heartbeat.json")
    symlink_or_skip(outside / "victim.json", beat)
    with pytest.raises(UnsafePathError):
        fs.put_volatile("sessions/s1/heartbeat.json", {"at": 1})
    _untouched(outside)


def test_cli_refuses_symlinked_session_folder(
    sess: Any, sm: Any, home: Path, outside: Path
) -> None:
    (home / "sessions").mkdir(parents=True)
    symlink_or_skip(outside, home / "sessions" / "s9", is_dir=True)
    for result in (sess("heartbeat", "s9"), sm("set", "s9", "mode", "x"),
                   sess("create", "--id", "s9"), sess("end", "s9")):
        assert result.code != 0
        assert "Traceback" not in result.err and len(result.err.splitlines()) == 1
    _untouched(outside)


@pytest.mark.parametrize("key", ["../x.json", "a/../../x.json", "/etc/passwd", "a//b.json",
                                 "a\\b.json", "a/./b.json", "a\0b.json", ""])
def test_keys_that_leave_the_root_are_refused(fs: FileStorage, key: str) -> None:
    with pytest.raises(UnsafePathError):
        fs.path(key)
