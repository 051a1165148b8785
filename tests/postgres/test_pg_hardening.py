"""What independent testers broke in the PostgreSQL backend (issue 23, #1-#3, #5, #6).

Each test goes through the public surface — the dispatcher and the CLIs as processes,
the store as the CLIs open it — and checks a mechanism, never a time: the benchmark
(``bench/pg_dispatch.py``) carries the times.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

#: Queries with a NUL escape in a name or a string literal, and one without for contrast.
NUL_QUERIES = ['$["\\u0000"]', '$.notes["a\\u0000"]', '$.notes[?@ == "\\u0000"]',
               "$.notes[?@.a == 'x\\u0000']", '$..["\\u0000"]', "$['notes']['a']"]


def test_a_nul_escape_in_a_query_gets_the_file_backends_answer(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """#5: ``$["\\u0000"]`` is ``[]`` on the file backend; PostgreSQL refused the path
    ("unsupported Unicode escape sequence", exit 2). Now both print the same."""
    from state import session_manager, state_manager

    sid = f"s-{uuid.uuid4().hex[:8]}"
    answers: dict[str, list[tuple[int, str, str]]] = {}
    for backend in ("file", "postgres"):
        monkeypatch.setenv("ORCHESTRA_HOME", str(tmp_path / backend))
        if backend == "postgres":
            monkeypatch.setenv("ORCHESTRA_STORE_URL", pg_url)
        else:
            monkeypatch.delenv("ORCHESTRA_STORE_URL", raising=False)
        assert session_manager.main(["create", "--id", sid], stdout=io.StringIO(),
                                    stderr=io.StringIO()) == 0
        assert state_manager.main(["set", sid, "notes.a", "x"], stdout=io.StringIO(),
                                  stderr=io.StringIO()) == 0
        answers[backend] = []
        for query in NUL_QUERIES:
            out, err = io.StringIO(), io.StringIO()
            code = state_manager.main(["get", sid, query, "--compact"], stdout=out, stderr=err)
            answers[backend].append((code, out.getvalue(), err.getvalue()))
    assert answers["postgres"] == answers["file"]
    assert [json.loads(out) for _, out, _ in answers["file"]] == [[], [], [], [], [], ["x"]]
