"""Meta-tests: every hookspec is documented, typed, named after its event, and exercised."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hooks import specs
from hooks.events import EVENT_NAMES, SPEC_NAMES, spec_name
from hooks.testing import run_dispatch

EXTRA_SPECS = {"on_event", "after_dispatch", "on_state_change", "on_needs_attention"}


@pytest.fixture(scope="module")
def all_specs() -> list[str]:
    return sorted(name for name in dir(specs) if hasattr(getattr(specs, name), "orchestra_spec"))


def test_one_spec_per_event_plus_the_extras(all_specs: list[str]) -> None:
    assert len(EVENT_NAMES) == 34
    assert set(all_specs) == set(SPEC_NAMES.values()) | EXTRA_SPECS
    assert spec_name("PreToolUse") == "on_pre_tool_use"
    assert spec_name("PostToolUseFailure") == "on_post_tool_use_failure"


def test_every_spec_is_documented(all_specs: list[str]) -> None:
    for name in all_specs:
        doc = inspect.getdoc(getattr(specs, name)) or ""
        assert len(doc) > 40, name
        assert ":return:" in doc, f"{name}: say what a return value means"
    for event, name in SPEC_NAMES.items():
        doc = inspect.getdoc(getattr(specs, name)) or ""
        assert doc.startswith(f"``{event}``: fires when"), name  # when Claude Code fires it
        assert "``None``" in doc, f"{name}: say what None means"


def test_every_spec_is_typed(all_specs: list[str]) -> None:
    for name in all_specs:
        signature = inspect.signature(getattr(specs, name))
        assert signature.return_annotation is not inspect.Signature.empty, name
        for param in signature.parameters.values():
            assert param.annotation is not inspect.Parameter.empty, (name, param.name)
    for name in SPEC_NAMES.values():
        assert list(inspect.signature(getattr(specs, name)).parameters) == ["event", "ctx"]


def test_every_spec_is_exercised(all_specs: list[str], payload_dir: Path, tmp_path: Path,
                                 recorder: Callable[..., Any]) -> None:
    """Dispatch one payload per event (in one session for the task pair, so that a task turns
    completed) with a plugin implementing every spec; each spec must have been called."""
    calls: list[tuple[str, Any]] = []
    watcher = recorder(calls)
    home = tmp_path / "home"
    files = sorted(payload_dir.glob("*.json"))
    # TaskCreate before TaskCompleted (same session): the completion is a state change
    files.sort(key=lambda p: p.name != "PostToolUse.TaskCreate.json")
    for path in files:
        result = run_dispatch(json.loads(path.read_text()), plugins=[watcher], home=home)
        assert result.exit_code == 0, (path.name, result.stderr)
    called = {name for name, _ in calls}
    assert called == set(all_specs), set(all_specs) - called
    events = {detail for name, detail in calls if name == "on_event"}
    assert events == set(EVENT_NAMES)


def test_the_written_out_spec_names_are_spec_name_of_every_event() -> None:
    assert {event: spec_name(event) for event in EVENT_NAMES} == SPEC_NAMES
    assert list(SPEC_NAMES) == list(EVENT_NAMES)
