"""validate_id: the one gate between user-supplied ids and paths — directly and
through every CLI verb that takes an id."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from state import session_manager, shared_state, state_manager
from state.errors import InvalidIdError
from state.paths import MAX_ID_LENGTH, project_key, session_key, validate_id
from tests._id_verbs import STATE_VERBS

BAD_IDS = [
    "..", ".", "/", "\\", "\0", "a\0b", "", "x" * 129, "../x", "/etc/passwd", "a/../../b",
    "..\\..\\x", "C:\\x",
    "\uff53ession", "a\u2215b", "a\u2044b", "s\u0131",  # look-alikes: fullwidth s, slashes, i
    "CON", "con", "nul.txt", "COM1", "lpt9.json", "aux",
    ".hidden", "-rf", "_x", "a b", " s1", "s1\n", "a\tb", "~root", "$HOME", "a*b", "a:b", "é",
]
GOOD_IDS = ["s1", "a", "0", "x" * MAX_ID_LENGTH, "a-b_c.d", "console", "4f9a1c2e-0b7d-4a8e-9c1f",
            "session.v2", "Auxiliary", "COM10"]


@pytest.mark.parametrize("value", BAD_IDS)
def test_bad_ids_are_refused(value: str) -> None:
    with pytest.raises(InvalidIdError, match="invalid session id"):
        validate_id(value, "session id")
    with pytest.raises(InvalidIdError):
        session_key(value, "state.json")
    with pytest.raises(InvalidIdError):
        project_key(value, "epics.json")


@pytest.mark.parametrize("value", GOOD_IDS)
def test_good_ids_pass_unchanged(value: str) -> None:
    assert validate_id(value) == value
    assert session_key(value, "state.json") == f"sessions/{value}/state.json"


@pytest.mark.parametrize("value", [None, 1, b"s1", ["s1"]])
def test_non_strings_are_refused(value: Any) -> None:
    with pytest.raises(InvalidIdError):
        validate_id(value)


def test_error_is_one_readable_line() -> None:
    with pytest.raises(InvalidIdError) as info:
        validate_id("a/b\nc", "project id")
    message = str(info.value)
    assert "\n" not in message and "project id" in message and "'/'" in message


@given(st.text(max_size=140))
def test_anything_accepted_is_one_plain_component_below_the_root(value: str) -> None:
    try:
        validate_id(value)
    except InvalidIdError:
        return
    root = Path("/state-root")
    assert value.isascii() and value.isprintable() and value.strip() == value
    assert value not in (".", "..") and not value.startswith(".")
    assert "/" not in value and "\\" not in value and ":" not in value
    assert Path(os.path.normpath(root / value)).parent == root
    assert 1 <= len(value) <= MAX_ID_LENGTH


# -- through every CLI verb that takes an id ---------------------------------------------------

MAINS: dict[str, Callable[..., int]] = {
    "state_manager": state_manager.main,
    "session_manager": session_manager.main,
    "shared_state": shared_state.main,
}
VERBS = STATE_VERBS  # {} is where the bad id goes
# The list; every other bad id is refused by the same validate_id (above).
CLI_BAD_IDS = ["..", ".", "/", "\\", "a\0b", "", "x" * 129, "../x", "/etc/passwd", "a/../../b",
               "\uff53ession", "a\u2215b", "CON", " s1"]  # \uff53: fullwidth s


@pytest.mark.parametrize(("prog", "template"), VERBS, ids=[" ".join([*v[1][:1], v[0]])
                                                          for v in VERBS])
def test_every_verb_refuses_bad_ids_and_creates_nothing(
    prog: str, template: list[str], tmp_path: Path, home: Path,
    tree: Callable[[Path], set[str]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    # A real session and project exist, so a refusal cannot be a mere "not found".
    out, err = io.StringIO(), io.StringIO()
    assert session_manager.main(["create", "--id", "s1", "--project", "p1"],
                                stdout=out, stderr=err) == 0
    before = tree(tmp_path)
    for bad in CLI_BAD_IDS:
        if "--epic" in template and (not bad or bad.strip() != bad):
            continue  # a comma-separated list: items are stripped, '' is the empty list
        argv = [bad if a == "{}" else a for a in template]
        if bad == "" and template[1] == "{}" and prog != "shared_state":
            # '' means "the session in $ORCHESTRA_SESSION_ID"; make that the bad id.
            monkeypatch.setenv("ORCHESTRA_SESSION_ID", "../x")
        out, err = io.StringIO(), io.StringIO()
        code = MAINS[prog](argv, stdout=out, stderr=err)
        monkeypatch.delenv("ORCHESTRA_SESSION_ID", raising=False)
        assert code == 2, (argv, code, out.getvalue(), err.getvalue())
        assert out.getvalue() == "", argv
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), (argv, lines)
        assert "Traceback" not in err.getvalue()
        assert tree(tmp_path) == before, (argv, tree(tmp_path) - before)


def test_option_like_ids_are_refused_as_values(sess: Any, home: Path) -> None:
    result = sess("create", "--id=-rf")
    result.assert_error(2)
    assert not (home / "sessions").exists()
