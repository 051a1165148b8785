"""What the three state CLIs share: help, usage errors, exit codes, output format,
the error funnel — and config DEFAULTS matching the Config model."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from state import session_manager, shared_state, state_manager
from state.config import DEFAULTS, load_config
from state.documents import Config, validate_document
from state.persistence.storage import MemoryStorage

MAINS: dict[str, Callable[..., int]] = {
    "state_manager": state_manager.main,
    "session_manager": session_manager.main,
    "shared_state": shared_state.main,
}
VERBS = {
    "state_manager": ["get", "set", "merge", "delete", "list-sessions", "watch", "events"],
    "session_manager": ["create", "list", "show", "heartbeat", "end", "prune"],
    "shared_state": ["get-config", "set-config", "config-history", "rollback", "list-tools",
                     "register-tool", "unregister-tool", "list-projects", "update-epic",
                     "list-epics", "update-sprint", "list-sprints", "set-member",
                     "remove-member", "list-team", "decide", "list-decisions"],
}


def run(prog: str, *argv: str, stdout: Any = None) -> tuple[int, str, str]:
    out, err = stdout or io.StringIO(), io.StringIO()
    code = MAINS[prog](list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# -- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize("prog", MAINS)
def test_help_lists_every_verb_and_the_exit_codes(prog: str, home: Path) -> None:
    code, out, err = run(prog, "--help")
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: {prog}")
    for verb in VERBS[prog]:
        assert verb in out
    for text in ("2 usage", "3 not found", "4 conflict", "5 lock timeout"):
        assert text in out
    assert not home.exists()


@pytest.mark.parametrize(("prog", "verb"), [(p, v) for p, vs in VERBS.items() for v in vs])
def test_each_verb_has_help(prog: str, verb: str) -> None:
    code, out, err = run(prog, verb, "--help")
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: {prog} {verb}") and "exit codes" in out


def test_state_manager_help_says_where_paths_live() -> None:
    _, out, _ = run("state_manager", "--help")
    assert "tasks.json" in out and "state.json" in out and '["a.b"]' in out and "\\." in out


# -- usage errors --------------------------------------------------------------------------


@pytest.mark.parametrize("prog", MAINS)
@pytest.mark.parametrize("argv", [[], ["no-such-verb"], ["--no-such-flag"]])
def test_usage_errors_exit_2_with_one_line(prog: str, argv: list[str], home: Path) -> None:
    code, out, err = run(prog, *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"{prog}: error: ")
    assert "--help" in err


def test_missing_argument_is_a_usage_error(home: Path) -> None:
    code, _, err = run("state_manager", "set", "s1", "mode")
    assert code == 2 and "VALUE" in err and len(err.splitlines()) == 1


# -- output ------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_is_pretty_on_a_terminal_compact_when_piped_or_asked(home: Path) -> None:
    code, piped, _ = run("shared_state", "get-config")
    assert code == 0 and "\n" not in piped.rstrip("\n") and json.loads(piped) == DEFAULTS
    _, pretty, _ = run("shared_state", "get-config", stdout=_Terminal())
    assert pretty.startswith("{\n  ") and json.loads(pretty) == DEFAULTS
    _, compact, _ = run("shared_state", "--compact", "get-config", stdout=_Terminal())
    assert compact == piped
    _, compact, _ = run("shared_state", "get-config", "--compact", stdout=_Terminal())
    assert compact == piped


# -- the error funnel ----------------------------------------------------------------------------


def test_unexpected_error_is_one_line_and_a_logged_traceback(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from state import sessions

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sessions, "list_sessions", broken)
    code, out, err = run("session_manager", "list")
    assert code == 1 and out == ""
    assert err.startswith("session_manager: internal error: RuntimeError: disk on fire")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    log = (home / "logs" / "errors.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "disk on fire" in log


def test_os_errors_are_one_line(home: Path) -> None:
    home.parent.mkdir(exist_ok=True)
    home.write_text("a file where the state folder should be", encoding="utf-8")
    code, out, err = run("session_manager", "create", "--id", "s1")
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_ctrl_c_exits_130(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from state import shared

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(shared, "list_tools", interrupted)
    code, out, err = run("shared_state", "list-tools")
    assert (code, out, err) == (130, "", "shared_state: interrupted\n")


def test_closed_pipe_is_not_an_error(home: Path) -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    code, _, err = run("shared_state", "list-tools", stdout=Closed())
    assert (code, err) == (0, "")


# -- config defaults -------------------------------------------------------------------------


def test_config_defaults_equal_the_model_defaults() -> None:
    model = Config().model_dump(mode="json")
    del model["schema_version"], model["version"]
    assert model == DEFAULTS  # 300 == 300.0: the model dumps its float fields as floats


def test_defaults_validate_and_load_config_returns_a_copy() -> None:
    validate_document("config.json", DEFAULTS)
    store = MemoryStorage()
    config = load_config(store)
    assert config == DEFAULTS
    config["presence"]["active_seconds"] = 1
    config["plugins"]["disabled"].append("x")
    assert load_config(store) == DEFAULTS
    assert DEFAULTS["presence"]["active_seconds"] == 300


def test_stored_config_overrides_defaults_deeply() -> None:
    store = MemoryStorage()
    with store.transaction("config.json") as doc:
        doc["presence"] = {"active_seconds": 5}
    config = load_config(store)
    assert config["presence"] == {"active_seconds": 5, "idle_seconds": 1800,
                                  "stale_seconds": 21600}
