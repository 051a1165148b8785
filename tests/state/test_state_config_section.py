"""project_section gives what project_config gives for one section (issue 27: the claims
handler asks it on every write without copying the whole configuration)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from state.config import DEFAULTS, project_config, project_section, with_defaults

_VALUES = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(
    allow_nan=False)
_SECTION = st.dictionaries(st.sampled_from(["policy", "window_seconds", "x", "nested"]),
                           _VALUES | st.dictionaries(st.text(max_size=3), _VALUES),
                           max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(DEFAULTS)), _SECTION, max_size=3),
       st.one_of(st.none(), st.text(max_size=3), _SECTION,
                 st.dictionaries(st.sampled_from(sorted(DEFAULTS)), _SECTION, max_size=3)))
def test_project_section_is_that_section_of_project_config(stored: dict[str, Any],
                                                           override: Any) -> None:
    config = with_defaults({**stored, "projects": {"p": override, "q": {"claims": {}}}})
    for section in (*(s for s in DEFAULTS if s != "projects"), "missing"):
        whole = project_config(config, "p").get(section)
        part = project_section(config, "p", section)
        assert part == whole
        if isinstance(part, dict):  # a fresh copy: changing it changes nothing else
            part["changed"] = True
            assert "changed" not in (config.get(section) or {})
