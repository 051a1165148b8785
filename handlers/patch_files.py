"""The files an ``apply_patch`` call writes, read from the patch text (Codex CLI).

Codex edits files with ``apply_patch {"command": "*** Begin Patch ... *** End Patch"}``;
the files are named in the patch, one header line each::

    *** Add File: <path>        a new file
    *** Update File: <path>     a changed file, possibly followed by
    *** Move to: <path>         its new name (both names are written: one goes, one comes)
    *** Delete File: <path>     a removed file

Paths are relative to the call's working directory (or absolute). Used by
:func:`handlers.claims.targets_of`, the one place that says which files a call writes.
"""

from __future__ import annotations

import os

__all__ = ["PATCH_MARKER", "patch_targets"]

PATCH_MARKER = "*** Begin Patch"
_HEADERS = ("*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: ")
_MAX_FILES = 200


def patch_targets(patch: str, base: str) -> list[str]:
    """Absolute, normalised paths of the files ``patch`` adds, updates, moves or deletes,
    in the order named, each once."""
    found: list[str] = []
    for line in patch.splitlines():
        line = line.rstrip("\r")
        for header in _HEADERS:
            if line.startswith(header):
                name = line[len(header):].strip()
                if name and "\0" not in name:
                    path = os.path.normpath(os.path.join(base, os.path.expanduser(name)))
                    if path not in found:
                        found.append(path)
                break
        if len(found) >= _MAX_FILES:
            break
    return found
