"""An example Orchestra plugin: refuse Bash commands like ``rm -rf /`` and ``rm -rf ~``.

Installed, it is found through its entry point (group ``orchestra``, name
``no-rm-rf``) and called by ``python -m hooks.dispatch`` on every PreToolUse. It
denies a Bash command when some ``rm`` in it is recursive (``-r``, ``-R``,
``--recursive``, in any cluster such as ``-rf`` or ``-fR``, before or after the
operands) and one of its operands is:

* the root: ``/``, ``/*``, ``/.``, ``//``, ``/..``, ``/tmp/..``;
* a home directory: ``~``, ``~/``, ``~/*``, ``~alice``, ``$HOME``, ``${HOME}``, ``"$HOME"/*``;
* a top-level system directory: ``/usr``, ``/etc``, ``/home``, ``/var`` ... (:data:`SYSTEM_DIRS`);

or the ``rm`` says ``--no-preserve-root``. The command line is split into words
the way a shell would (quotes, ``;``, ``&&``, ``||``, ``|``, newlines), so
``rm -rf ./build``, ``rm -rf /tmp/x`` or ``echo "rm -rf /"`` are left alone,
while ``sudo rm -rf /``, ``/bin/rm -r -f ~``, ``FOO=1 rm -rf /*`` or
``bash -c 'rm -rf /'`` are refused. Anything else gets no answer (``None``), so
the other handlers and Claude Code's own permission rules decide.

The plugin imports nothing from Orchestra but the ``hookimpl`` marker.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from hooks import hookimpl

__all__ = ["PLUGIN", "SYSTEM_DIRS", "dangerous_rm", "on_pre_tool_use"]

PLUGIN = "no-rm-rf"

#: Top-level folders whose removal breaks the machine (or every user's home).
SYSTEM_DIRS = frozenset({
    "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "opt", "proc", "root",
    "sbin", "srv", "sys", "usr", "var",
})

_SEPARATORS = frozenset({";", "&", "&&", "|", "||", "|&", ";;", ";&", "(", ")", "\n"})
# Words that may come before the command itself in a simple command.
_KEYWORDS = frozenset({"{", "}", "!", "if", "then", "else", "elif", "while", "until", "do",
                       "time", "xargs"})
# Commands that run the next word as a command, with the options of theirs that take a value
# (``sudo -u root rm ...``, ``nice -n 5 rm ...``): those values are not the command.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "-U"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "timeout": frozenset({"-s", "-k"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "exec": frozenset({"-a"}),
    "nohup": frozenset(),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
}
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_HOME = re.compile(r"^(?:\$HOME|\$\{HOME\})(?=/|$)")
_GLOBS = frozenset({"*", ".*", "*.*"})
_MAX_DEPTH = 3


def _words(command: str) -> list[str]:
    """Shell words of ``command``; operators (``;``, ``&&``, newlines...) are words of their own."""
    lexer = shlex.shlex(command.replace("\n", " \n "), posix=True, punctuation_chars=True)
    lexer.whitespace = " \t\r"  # keep newlines: they separate commands
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: a rougher split still finds `rm -rf /`
        return command.replace(";", " ; ").replace("&", " & ").replace("|", " | ").split()


def _simple_commands(words: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in _SEPARATORS:
            commands.append([])
        elif set(word) <= set("<>&|") and ("<" in word or ">" in word):
            skip_next = True  # a redirection: its target is not an operand
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _strip_prefixes(words: list[str]) -> list[str]:
    """``sudo -u root FOO=1 nice -n 5 rm ...`` -> ``rm ...``."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in _KEYWORDS or _ASSIGNMENT.match(word):
            i += 1
        elif posixpath.basename(word) in _WRAPPERS:
            wrapper = posixpath.basename(word)
            i += 1
            while i < len(words) and (words[i].startswith("-") or _ASSIGNMENT.match(words[i])):
                i += 2 if words[i] in _WRAPPERS[wrapper] else 1
            if wrapper == "timeout" and i < len(words):
                i += 1  # timeout DURATION COMMAND
        else:
            break
    return words[i:]


def _target(operand: str) -> str | None:
    """What removing ``operand`` would destroy, or None when it is not a root/home/system dir."""
    path = _HOME.sub("~", operand.strip())
    if path.startswith("~"):
        head, _, rest = path.partition("/")
        path = "/HOME/" + rest  # ~ and ~user: any home directory
        label = "a home directory" if head != "~" else "your home directory"
        base = "/HOME"
    elif path.startswith("/"):
        label, base = "the whole filesystem", "/"
    else:
        return None
    norm = posixpath.normpath("/" + path.lstrip("/"))
    parent, last = posixpath.split(norm)
    if last in _GLOBS:  # `/*`, `~/.*`: everything inside
        norm, label = parent, "everything under " + ("/" if parent == "/" else "~")
    if norm == base:
        return label
    if base == "/" and norm.count("/") == 1 and norm[1:] in SYSTEM_DIRS:
        return f"the system directory {norm}"
    return None


def _rm_danger(args: list[str]) -> str | None:
    recursive = no_preserve_root = False
    operands: list[str] = []
    options_done = False
    for arg in args:
        if options_done or arg == "-" or not arg.startswith("-"):
            operands.append(arg)
        elif arg == "--":
            options_done = True
        elif arg.startswith("--"):
            if len(arg) >= 3 and "--recursive".startswith(arg):
                recursive = True
            elif arg == "--no-preserve-root":
                no_preserve_root = True
        elif set(arg[1:]) & {"r", "R"}:
            recursive = True
    if not recursive:
        return None
    for operand in operands:
        label = _target(operand)
        if label is not None:
            return label
    return "the whole filesystem (--no-preserve-root)" if no_preserve_root else None


def dangerous_rm(command: str, _depth: int = 0) -> str | None:
    """What a recursive ``rm`` in ``command`` would wipe out, or None if it is not such a command.

    >>> dangerous_rm("rm -rf /")
    'the whole filesystem'
    >>> dangerous_rm("rm -rf ./build") is None
    True
    """
    for words in _simple_commands(_words(command)):
        words = _strip_prefixes(words)
        if not words:
            continue
        program = posixpath.basename(words[0])
        if program == "rm":
            found = _rm_danger(words[1:])
        elif program == "eval" and _depth < _MAX_DEPTH:
            found = dangerous_rm(" ".join(words[1:]), _depth + 1)
        elif program in _SHELLS and "-c" in words[1:-1] and _depth < _MAX_DEPTH:
            found = dangerous_rm(words[words.index("-c", 1) + 1], _depth + 1)
        else:
            found = None
        if found is not None:
            return found
    return None


@hookimpl
def on_pre_tool_use(event):  # type: ignore[no-untyped-def]
    """Deny a Bash command that would recursively delete ``/``, ``~`` or a system directory."""
    if event.tool_name != "Bash":
        return None
    command = event.tool_input.get("command")
    if not isinstance(command, str):
        return None
    what = dangerous_rm(command)
    if what is None:
        return None
    shown = command if len(command) <= 120 else command[:117] + "..."
    reason = (f"{PLUGIN}: refused `{shown}`: it would recursively delete {what}. "
              "Remove the exact folder you mean instead (for example `rm -rf ./build`).")
    return {"hookSpecificOutput": {"permissionDecision": "deny",
                                   "permissionDecisionReason": reason}}
