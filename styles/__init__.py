"""Orchestra's user interface: four Claude Code output styles and the views they show.

* ``styles/*.md`` — output styles written as SudoLang programs (the seed's
  all-team_dashboard, leadership_chat, sprint_execution and config_manager).
  Claude Code loads one as the system prompt; it tells Claude which Orchestra
  commands to run for ``/team``, ``@entity``, ``#sprint`` and so on.
* :mod:`styles.render` — ``python -m styles.render VIEW``: the ASCII views those
  commands print, computed from state (velocity, blockers, suggestions included)
  so that what the user sees never depends on the model's drawing.
* :mod:`styles.install` — ``python -m styles install``: copies the styles into
  ``~/.claude/output-styles/`` or a project's ``.claude/output-styles/``.

``keep-coding-instructions`` (whether Claude Code keeps its software-engineering
instructions next to the style) is chosen per style: only ``sprint`` keeps them,
because executing a sprint means writing code; the dashboard, leadership and
config styles are consoles over state, where those instructions would pull the
answers towards editing code. See ``docs/styles.md``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["STYLES", "style_path"]

#: Style file stem -> the ``name`` in its frontmatter (what ``outputStyle`` selects).
STYLES: dict[str, str] = {
    "dashboard": "Orchestra Dashboard",
    "leadership": "Orchestra Leadership",
    "sprint": "Orchestra Sprint",
    "config": "Orchestra Config",
}


def style_path(stem: str) -> Path:
    """The packaged source of style ``stem`` (``styles/<stem>.md``)."""
    from pathlib import Path  # not at import: every render imports this package

    return Path(__file__).resolve().parent / f"{stem}.md"
