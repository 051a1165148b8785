"""``python -m styles``: install Orchestra's output styles into Claude Code, or list them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from state.cli import EXIT_CODES_HELP, CliParser, Front, Output, VerbTable, run_main
from state.errors import NotFoundError
from styles import STYLES

__all__ = ["main"]

PROG = "styles"

DESCRIPTION = """\
Orchestra's output styles for Claude Code: """ + ", ".join(STYLES.values()) + """.

  install   copy them to ~/.claude/output-styles/ (--user, the default; $CLAUDE_CONFIG_DIR
            is honoured) or DIR/.claude/output-styles/ (--project DIR) as orchestra-<style>.md
  list      print each style's name (what "outputStyle" selects) and source file

Re-running install is safe: identical files are left alone, files it installed
earlier are updated, and a file of the same name that is not Orchestra's (or that
was edited) is never overwritten without --force (exit 4, nothing written)."""

_VERBS = {"install": "installed", "update": "updated", "unchanged": "unchanged",
          "replace": "replaced"}
_DRY = {"install": "would install", "update": "would update", "unchanged": "unchanged",
        "replace": "would replace"}


def build_parser(front: Front | None = None) -> CliParser:
    parser = CliParser(prog=front.prog if front else f"python -m {PROG}",
                       description=DESCRIPTION,
                       epilog=front.epilog() if front else EXIT_CODES_HELP)
    verb = VerbTable(parser, front).add
    p = verb("install", "copy the styles where Claude Code finds them")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true",
                       help="~/.claude/output-styles/ (the default)")
    where.add_argument("--project", metavar="DIR", type=Path,
                       help="DIR/.claude/output-styles/ (DIR must exist)")
    p.add_argument("--force", action="store_true",
                   help="overwrite files of the same name that are not Orchestra's")
    p.add_argument("--dry-run", action="store_true", help="say what would happen, write nothing")
    verb("list", "list the styles")
    return parser


def _selection_help(project: Path | None, folder: Path) -> str:
    settings = (project / ".claude" / "settings.local.json" if project is not None
                else folder.parent / "settings.json")
    first = next(iter(STYLES.values()))
    return (
        f'Select one: set "outputStyle": "{first}" (or '
        + ", ".join(f'"{n}"' for n in list(STYLES.values())[1:])
        + f") in {settings},\nor choose it in /config. Claude Code reads it when a session "
        "starts.\n"
    )


def _handle(args: argparse.Namespace, out: Output, err: IO[str]) -> int:
    from styles.install import install_styles, target_dir

    stream = out.stream
    if args.verb == "list":
        for stem, name in STYLES.items():
            stream.write(f"{name:<22} styles/{stem}.md -> orchestra-{stem}.md\n")
        return 0
    project = args.project
    if project is not None:
        project = project.expanduser()
        if not project.is_dir():
            raise NotFoundError(f"--project {project}: no such directory")
        project = project.resolve()
    folder = target_dir(project=project)
    actions = install_styles(folder, force=args.force, dry_run=args.dry_run)
    words = _DRY if args.dry_run else _VERBS
    for action in actions:
        stream.write(f"{words[action.verb]:<13} {action.path}  ({STYLES[action.stem]})\n")
    stream.write(_selection_help(project, folder))
    stream.flush()
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    front: Front | None = None,
) -> int:
    return run_main(front.prog if front else PROG, build_parser(front), _handle, argv, stdout,
                    stderr)


if __name__ == "__main__":
    raise SystemExit(main())
