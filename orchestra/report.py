"""Printing a report (``orchestra stats``, ``orchestra drift``): JSON, a table, or a line
saying there is nothing yet."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from state.cli import Output

__all__ = ["show", "table"]


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, right_from: int | None = None
          ) -> str:
    """Columns two spaces apart; columns from ``right_from`` on are right-aligned (numbers)."""
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = []
    for row in [head, *rows]:
        cells = [cell.rjust(widths[i]) if right_from is not None and i >= right_from
                 else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def show(out: Output, data: list[dict[str, Any]], *, as_json: bool, empty: str,
         text: Any) -> int:
    """``data`` as JSON, else ``text(data)``, else the ``empty`` line; exit code 0."""
    if as_json:
        out.json(data)
    elif not data:
        out.stream.write(empty + "\n")
    else:
        out.stream.write(text(data))
    return 0
