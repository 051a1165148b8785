"""``store.url`` in the config selects the PostgreSQL store; a password never goes there."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from state import shared_state


def test_a_store_url_with_a_password_is_refused_and_never_echoed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path))
    monkeypatch.delenv("ORCHESTRA_STORE_URL", raising=False)
    for url in ("postgresql://ana:s3cret-pw@db.internal/orchestra",
                "postgresql://ana@db.internal/orchestra?password=s3cret-pw"):
        out, err = io.StringIO(), io.StringIO()
        code = shared_state.main(["set-config", "store.url", url], stdout=out, stderr=err)
        assert code == 2 and "carries a password" in err.getvalue()
        assert "s3cret-pw" not in out.getvalue() + err.getvalue()
        assert not (tmp_path / "config.json").exists()  # nothing written
    out, err = io.StringIO(), io.StringIO()
    url = "postgresql://ana@db.internal/orchestra?sslmode=require"
    assert shared_state.main(["set-config", "store.url", url], stdout=out, stderr=err) == 0
    assert json.loads((tmp_path / "config.json").read_text())["store"]["url"] == url
