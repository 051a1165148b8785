"""A document change as a list of operations, to replay on a newer copy.

A transaction made while the server was away is journaled as the difference
between the copy it started from and the result: ``["set", path, value]`` and
``["del", path]``, with objects compared key by key and anything else (lists
included) replaced whole. Replayed on the server's current document, changes
made elsewhere to other keys survive; for the same key the replay wins, as
the later write does in the file store.
"""

from __future__ import annotations

from state.persistence.storage import same_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["apply_patch", "diff"]

#: Bumped by whoever applies the patch, never copied from the journal.
_SKIP = frozenset({"version"})


def diff(old: dict[str, Any], new: dict[str, Any], path: tuple[str, ...] = ()
         ) -> list[list[Any]]:
    ops: list[list[Any]] = []
    for key, value in new.items():
        if not path and key in _SKIP:
            continue
        if key not in old:
            ops.append(["set", [*path, key], value])
        elif not same_json(old[key], value):  # by type too: true over 1 is a change
            if isinstance(old[key], dict) and isinstance(value, dict):
                ops.extend(diff(old[key], value, (*path, key)))
            else:
                ops.append(["set", [*path, key], value])
    for key in old:
        if key not in new and not (not path and key in _SKIP):
            ops.append(["del", [*path, key]])
    return ops


def apply_patch(doc: dict[str, Any], ops: list[list[Any]]) -> None:
    """Apply ``ops`` to ``doc`` in place; missing or non-object parents are created."""
    for op in ops:
        if not isinstance(op, list) or len(op) < 2 or not isinstance(op[1], list) or not op[1]:
            continue
        kind, path = op[0], [str(p) for p in op[1]]
        target: Any = doc
        for key in path[:-1]:
            nxt = target.get(key)
            if not isinstance(nxt, dict):
                if kind == "del":
                    target = None
                    break
                nxt = target[key] = {}
            target = nxt
        if target is None:
            continue
        if kind == "set" and len(op) == 3:
            target[path[-1]] = op[2]
        elif kind == "del":
            target.pop(path[-1], None)
