"""``python -m state.migrate``: the versioned schema, and copying a store both ways."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from state import migrate
from state.persistence.filestore import FileStorage
from state.persistence.storage import Storage, decode_lines
from state.postgres.copy import state_keys
from state.store import RULES
from tests._postgres import PASSWORD
from tests.handlers._support import payload
from tests.postgres.conftest import Machine


def _migrate(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = migrate.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_schema_migration_is_versioned_and_idempotent(pg_url: str) -> None:
    code, out, err = _migrate("--url", pg_url, "--status")
    assert code == 0, err
    assert json.loads(out)["schema_version"] == 0
    code, out, _ = _migrate("--url", pg_url)
    first = json.loads(out)
    assert first["applied"] == [1] and first["schema_version"] == 1
    code, out, _ = _migrate("--url", pg_url)
    assert code == 0 and json.loads(out)["applied"] == []  # a second run changes nothing
    assert PASSWORD not in out + err


def _contents(store: Storage) -> dict[str, Any]:
    """Every key's content as data: documents as dicts, logs as their records."""
    found: dict[str, Any] = {}
    for key in state_keys(store):
        if key.endswith(".jsonl"):
            found[key] = list(decode_lines(store._read_bytes(key) or b""))  # this segment only
        else:
            found[key] = store.read(key)
    return found


def test_copy_file_store_to_postgres_and_back_is_equal(
        tmp_path: Path, pg_url: str, make_machine: Callable[..., Machine]) -> None:
    files = make_machine("files")
    (files.root / "config.json").write_text(json.dumps({"event_log": {"max_bytes": 2048}}))
    for sid in ("alpha", "beta"):
        assert files.dispatch(payload("SessionStart.startup", sid)).code == 0
    for i in range(12):  # enough to rotate alpha's event log into segments
        assert files.dispatch(payload("PostToolUse.Bash", "alpha",
                                      tool_input={"command": f"echo {i} ü"})).code == 0
    files.cli("state.session_manager", "send", "--to", "beta", "--from", "alpha", "hello ü")
    files.cli("state.session_manager", "send", "--all", "to all")
    files.cli("state.shared_state", "update-epic", "p1", "e1", "--title", "Epic one")
    assert files.dispatch(payload("PostToolUse.Bash", "beta")).code == 0  # beta reads one
    source = FileStorage(files.root, rules=RULES)
    assert any(".0000" in key for key in state_keys(source)), "rotated segments are copied"

    code, out, err = _migrate("--from", str(files.root), "--to", pg_url)
    assert code == 0, err
    assert json.loads(out)["documents"] >= 6
    back = tmp_path / "back"
    code, out, err = _migrate("--from", pg_url, "--to", str(back))
    assert code == 0, err

    original, returned = _contents(source), _contents(FileStorage(back, rules=RULES))
    assert returned == original
    assert "config.json" not in returned  # each machine keeps its own
    with_pg = make_machine("pg")
    listed = with_pg.cli("state.session_manager", "list")
    assert {s["session_id"] for s in listed} == {"alpha", "beta"}
    inbox = with_pg.cli("state.session_manager", "inbox", "beta", "--all")
    assert [(m["text"], m["delivered"]) for m in inbox] == [("hello ü", True), ("to all", True)]


def test_copy_refuses_a_destination_that_holds_state(tmp_path: Path, pg_url: str,
                                                     make_machine: Callable[..., Machine]) -> None:
    a = make_machine("a")
    assert a.dispatch(payload("SessionStart.startup", "alpha")).code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _migrate("--from", str(empty), "--to", pg_url)
    assert code == 2 and "already holds Orchestra state" in err
    code, _, err = _migrate("--from", str(tmp_path / "missing"), "--to", pg_url)
    assert code == 2 and "no such folder" in err


@pytest.mark.parametrize("argv, message", [
    (["--from", "/tmp"], "--from and --to go together"),
    (["--url", "mysql://x/y"], "must start with postgresql://"),
    (["--schema", "Bad-Name", "--status", "--url", "postgresql://x/y"], "plain lower-case"),
])
def test_bad_arguments_are_one_line_errors(argv: list[str], message: str,
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path))
    code, out, err = _migrate(*argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err
