"""Plugin discovery: entry points, the allow-list and block-list, broken and misspelled plugins.

Third-party plugins here are real installed distributions (dist-info + package on a folder
given to the subprocess on PYTHONPATH), found through ``importlib.metadata`` by the
registry exactly as a ``pip install``ed one is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hooks.registry import build_table
from hooks.testing import run_dispatch

Payload = Callable[[str], dict[str, Any]]

DENY_ALL = """
    from hooks import hookimpl

    @hookimpl
    def on_pre_tool_use(event):
        return {{"hookSpecificOutput": {{"permissionDecision": "deny",
                                        "permissionDecisionReason": "{name} says no"}}}}
"""

CONTEXT = """
    from hooks import hookimpl

    @hookimpl
    def on_pre_tool_use(event, ctx):
        return {{"hookSpecificOutput": {{"additionalContext": "{name} was here"}}}}
"""

BROKEN = """
    import orchestra_test_module_that_does_not_exist
"""

MISSPELLED = """
    from hooks import hookimpl

    @hookimpl
    def on_pre_tool_usee(event):
        return {"hookSpecificOutput": {"permissionDecision": "deny"}}
"""


@pytest.fixture
def installed(make_plugin: Callable[..., Path]) -> Path:
    """Four installed plugins: ``alpha`` (denies), ``beta`` (adds context), ``broken``
    (import error), ``typo`` (misspelled hook name). Returns their folder."""
    folder = make_plugin("alpha", DENY_ALL.format(name="alpha"), version="1.2.3")
    make_plugin("beta", CONTEXT.format(name="beta"), version="0.4")
    make_plugin("broken", BROKEN)
    make_plugin("typo", MISSPELLED)
    return folder


def _entries(proc: Any) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in json.loads(proc.out)}


def _contexts(reply: dict[str, Any] | None) -> str:
    return (reply or {}).get("hookSpecificOutput", {}).get("additionalContext", "")


def test_plugins_list_reports_versions_hooks_and_errors(
    installed: Path, plugins_cli: Callable[..., Any],
) -> None:
    result = plugins_cli("list", "--json", paths=[installed])
    assert result.code == 1, result.err  # a plugin failed to load
    entries = _entries(result)
    assert entries["alpha"] == {"name": "alpha", "source": "entry point",
                                "module": "orchestra_test_alpha", "version": "1.2.3",
                                "status": "loaded", "hooks": ["on_pre_tool_use"]}
    assert entries["beta"]["status"] == "loaded"
    assert entries["broken"]["status"] == "error"
    assert "ModuleNotFoundError" in entries["broken"]["error"]
    assert entries["typo"]["status"] == "error"
    assert "unknown hook 'on_pre_tool_usee'" in entries["typo"]["error"]
    assert "misspelled hook name?" in entries["typo"]["error"]
    # the built-ins are listed like any plugin
    assert entries["eventlog"]["source"] == "builtin"
    assert entries["eventlog"]["status"] == "loaded"


def test_plugins_list_table_shows_the_errors(installed: Path,
                                             plugins_cli: Callable[..., Any]) -> None:
    result = plugins_cli("list", paths=[installed])
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "SOURCE", "VERSION", "STATUS"]
    alpha = next(line for line in lines if line.startswith("alpha "))
    assert "1.2.3" in alpha and "loaded" in alpha and "on_pre_tool_use" in alpha
    assert any(line.startswith("error in broken: ModuleNotFoundError") for line in lines)
    assert any(line.startswith("error in typo: ") and "on_pre_tool_usee" in line
               for line in lines)


def test_plugins_list_exit_0_when_all_load(make_plugin: Callable[..., Path],
                                           plugins_cli: Callable[..., Any]) -> None:
    folder = make_plugin("alpha", DENY_ALL.format(name="alpha"))
    result = plugins_cli("list", paths=[folder])
    assert result.code == 0, result.out
    assert "error in" not in result.out


def test_broken_plugins_do_not_stop_the_others(
    installed: Path, dispatch_cli: Callable[..., Any], home: Path, payload: Payload,
) -> None:
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[installed])
    assert result.code == 0 and result.err == ""
    out = result.reply["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert out["permissionDecisionReason"] == "[alpha] alpha says no"
    assert "[beta] beta was here" in out["additionalContext"]
    # the load errors are in the dispatch log, not silently lost
    log = (home / "logs" / "dispatch.log").read_text()
    assert "plugin broken was not loaded: ModuleNotFoundError" in log
    assert "plugin typo was not loaded: unknown hook 'on_pre_tool_usee'" in log


def test_misspelled_hook_of_an_inline_plugin_is_a_load_error(
    home: Path, plugin: Callable[..., Any],
) -> None:
    typo = plugin("typo", on_stopp=lambda: {"decision": "block"})
    table = build_table(str(home), [typo])
    entry = next(p for p in table.plugins if p["name"] == "typo")
    assert entry["status"] == "error"
    assert "unknown hook 'on_stopp'" in entry["error"]
    assert not any(c.plugin == "typo" for calls in table.calls.values() for c in calls)


def test_hookimpl_with_unknown_argument_is_a_load_error(home: Path,
                                                        plugin: Callable[..., Any]) -> None:
    bad = plugin("bad", on_stop=lambda event, context: None)
    entry = next(p for p in build_table(str(home), [bad]).plugins if p["name"] == "bad")
    assert entry["status"] == "error"
    assert "context" in entry["error"]


# -- allow-list and block-list --------------------------------------------------------------------


def test_allow_list_loads_only_the_named(
    installed: Path, dispatch_cli: Callable[..., Any], plugins_cli: Callable[..., Any],
    payload: Payload,
) -> None:
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[installed],
                          ORCHESTRA_LOAD_PLUGINS="beta")
    assert result.code == 0
    out = (result.reply or {}).get("hookSpecificOutput", {})
    assert "permissionDecision" not in out
    assert "[beta] beta was here" in out["additionalContext"]
    listing = plugins_cli("list", "--json", paths=[installed], ORCHESTRA_LOAD_PLUGINS="beta")
    entries = _entries(listing)
    assert listing.code == 0  # the broken ones were not even tried
    assert entries["beta"]["status"] == "loaded"
    for name in ("alpha", "broken", "typo"):
        assert entries[name]["status"].startswith("not loaded (ORCHESTRA_LOAD_PLUGINS"), name
    assert entries["heartbeat"]["status"] == "loaded"  # the list is for third-party plugins


def test_empty_allow_list_loads_no_third_party_plugin(
    installed: Path, dispatch_cli: Callable[..., Any], plugins_cli: Callable[..., Any],
    payload: Payload,
) -> None:
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[installed],
                          ORCHESTRA_LOAD_PLUGINS="")
    assert result.code == 0
    assert "[alpha]" not in result.out and "[beta]" not in result.out
    entries = _entries(plugins_cli("list", "--json", paths=[installed],
                                   ORCHESTRA_LOAD_PLUGINS=""))
    assert {e["status"] for e in entries.values() if e["source"] == "entry point"} == {
        "not loaded (ORCHESTRA_LOAD_PLUGINS does not list it)"}


def test_allow_list_with_spaces_and_commas(installed: Path, dispatch_cli: Callable[..., Any],
                                           payload: Payload) -> None:
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[installed],
                          ORCHESTRA_LOAD_PLUGINS=" alpha , ,beta ")
    out = result.reply["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny" and "[beta]" in out["additionalContext"]


def test_block_list_from_the_environment(
    installed: Path, dispatch_cli: Callable[..., Any], plugins_cli: Callable[..., Any],
    payload: Payload,
) -> None:
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[installed],
                          ORCHESTRA_DISABLED_PLUGINS="alpha,broken,typo")
    assert result.code == 0
    assert "[alpha]" not in result.out
    assert "[beta] beta was here" in _contexts(result.reply)
    listing = plugins_cli("list", "--json", paths=[installed],
                          ORCHESTRA_DISABLED_PLUGINS="alpha,broken,typo")
    assert listing.code == 0
    assert _entries(listing)["alpha"]["status"] == "disabled"


def test_block_list_wins_over_the_allow_list(installed: Path, dispatch_cli: Callable[..., Any],
                                             payload: Payload) -> None:
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[installed],
                          ORCHESTRA_LOAD_PLUGINS="alpha,beta", ORCHESTRA_DISABLED_PLUGINS="alpha")
    assert "[alpha]" not in result.out and "[beta]" in result.out


def test_block_list_from_the_config(
    installed: Path, dispatch_cli: Callable[..., Any], plugins_cli: Callable[..., Any],
    home: Path, payload: Payload,
) -> None:
    (home / "config.json").write_text(json.dumps({"plugins": {"disabled": ["alpha"]}}))
    result = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[installed])
    assert "[alpha]" not in result.out and "[beta]" in result.out
    assert _entries(plugins_cli("list", "--json", paths=[installed]))["alpha"]["status"] == (
        "disabled")
    # both sources add up
    both = dispatch_cli(payload("PreToolUse.Bash.json"), paths=[installed],
                        ORCHESTRA_DISABLED_PLUGINS="beta")
    assert "[alpha]" not in both.out and "[beta]" not in both.out


def test_a_builtin_can_be_disabled(
    dispatch_cli: Callable[..., Any], plugins_cli: Callable[..., Any], home: Path,
    payload: Payload,
) -> None:
    event = payload("PostToolUse.Bash.json")
    session = home / "sessions" / event["session_id"]
    result = dispatch_cli(event, ORCHESTRA_DISABLED_PLUGINS="heartbeat")
    assert result.code == 0
    assert not (session / "heartbeat.json").exists()
    assert (session / "events.jsonl").exists()  # the other built-ins still ran
    entries = _entries(plugins_cli("list", "--json", ORCHESTRA_DISABLED_PLUGINS="heartbeat"))
    assert entries["heartbeat"] == {"name": "heartbeat", "source": "builtin",
                                    "module": "handlers.heartbeat",
                                    "version": entries["heartbeat"]["version"],
                                    "status": "disabled"}
    again = dispatch_cli(event)  # enabled again: the cache follows the variable
    assert again.code == 0
    assert (session / "heartbeat.json").exists()


def test_inline_plugins_can_be_disabled_too(home: Path, plugin: Callable[..., Any],
                                            payload: Payload) -> None:
    noisy = plugin("noisy", on_stop=lambda: {"systemMessage": "hi"})
    result = run_dispatch(payload("Stop.json"), plugins=[noisy], home=home, builtins=False,
                          env={"ORCHESTRA_DISABLED_PLUGINS": "noisy"})
    assert (result.exit_code, result.stdout) == (0, "")


def test_two_distributions_with_one_plugin_name(
    make_plugin: Callable[..., Path], plugins_cli: Callable[..., Any], tmp_path: Path,
) -> None:
    """The first one found wins; the other is not loaded behind the user's back."""
    first = make_plugin("alpha", DENY_ALL.format(name="first"))
    second = make_plugin("alpha", DENY_ALL.format(name="second"), root=tmp_path / "other",
                         dist="orchestra-test-alpha-fork", package="orchestra_test_alpha_fork")
    listing = plugins_cli("list", "--json", paths=[first, second])
    alphas = [p for p in json.loads(listing.out) if p["name"] == "alpha"]
    assert [p["module"] for p in alphas] == ["orchestra_test_alpha"]
