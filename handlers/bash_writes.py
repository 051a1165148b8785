"""Which files a Bash command line writes, as far as reading it (not running it) can tell.

Recognised, in every simple command of a list (``;``, ``&&``, ``||``, ``|``, ``&``,
newlines, ``( ... )`` subshells):

* redirections: ``>``, ``>>``, ``>|``, ``&>``, ``&>>``, ``N>``, ``>& FILE``
  (not ``>&2``, ``2>&1``, ``/dev/...``);
* ``tee [-a] FILE...``;
* ``sed -i``/``-i.SUF``/``-Ei``/``--in-place[=SUF]`` (and BSD ``-i ''``): its files,
  not its script (``-e``/``-f`` understood);
* ``mv``/``cp``: the destination; into a folder (``mv new.py src/``, an existing
  folder, several sources, ``-t DIR``) it is ``DIR/<name of each source>``;
* ``cd DIR``/``pushd DIR`` change the folder later relative paths are taken from,
  until the subshell they are in ends;
* globs (``src/*.py``) are expanded against the file system; ``~`` is the home
  folder; leading ``NAME=value`` words and ``sudo``/``env``/``nohup``/``time``/
  ``command``/``exec``/``nice`` prefixes are looked through.

Not recognised (documented in docs/reliability.md): files a program writes by
itself (``python script.py``, ``git checkout``, ``patch``, ``npm install``, editors,
``perl -i``, ``dd of=``, ``touch``, ``rm``...); paths built from variables or command
substitutions (``> "$OUT"``, ``cd $(dirname f)``, after which relative paths are
unknown); brace expansion (``{a,b}.py``); aliases and functions; ``eval`` and
``bash -c '...'``; ``xargs``/``find -exec``. An operator character inside quotes
is text, as in the shell.

Cheap by design (it runs before and after every Bash call): a command with none of
``>``, ``tee``, ``sed``, ``mv``, ``cp`` is not parsed at all, and the tokenizer is a
single pass with no imports (``glob`` only for a target holding a pattern).
"""

from __future__ import annotations

import os

__all__ = ["bash_targets"]

_HINTS = (">", "tee", "sed", "mv", "cp")
# Longest first: the tokenizer takes the first that matches.
_OPERATORS = ("&>>", "<<<", "<<-", ">>", ">|", ">&", "&>", "<<", "<&", "<>", "&&", "||", "|&",
              ";;", ";", "&", "|", "(", ")", "<", ">", "\n")
_OPERATOR_START = frozenset("&<>;|()\n")
_BLANK = frozenset(" \t\r")
_WRITE_REDIRECTS = frozenset((">", ">>", ">|", "&>", "&>>"))
_READ_REDIRECTS = frozenset(("<", "<&", "<>", "<<<"))
_PREFIXES = frozenset(("sudo", "env", "nohup", "time", "command", "exec", "builtin", "nice"))
_PREFIX_ARGS = frozenset(("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-n", "-S"))

#: A word: (text without quotes, holds an unquoted $ or `, holds an unquoted glob character)
Word = tuple[str, bool, bool]


def bash_targets(command: str, cwd: str) -> list[str]:
    """Absolute, normalised paths of the files ``command`` writes, run in folder ``cwd``."""
    if not any(hint in command for hint in _HINTS):
        return []
    targets: list[str] = []
    here: str | None = cwd
    saved: list[str | None] = []  # the folder before each open subshell
    words: list[Word] = []
    tokens = _tokenize(command)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not isinstance(token, str):
            words.append(token)
            i += 1
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        word = following if isinstance(following, tuple) else None
        if token in _WRITE_REDIRECTS or token == ">&":
            if word is not None:
                if token != ">&" or not (word[0].isdigit() or word[0] == "-"):
                    _add(targets, here, word)
                i += 1
        elif token in _READ_REDIRECTS or token in ("<<", "<<-"):
            i += 1 if word is not None else 0  # an input file or here-document delimiter
        else:
            here = _run(words, here, targets)
            words = []
            if token == "(":
                saved.append(here)
            elif token == ")" and saved:
                here = saved.pop()
        i += 1
    _run(words, here, targets)
    return list(dict.fromkeys(t for t in targets if not t.startswith("/dev/")))


def _tokenize(command: str) -> list[str | Word]:
    """Operators as ``str``, words as :data:`Word`; here-document bodies and comments
    are skipped, an ``N`` glued to a redirection (``2>``) is dropped."""
    tokens: list[str | Word] = []
    delimiters: list[tuple[str, bool]] = []  # here-documents whose bodies start next line
    i, n = 0, len(command)
    while i < n:
        c = command[i]
        if c in _BLANK:
            i += 1
        elif c == "\\" and command.startswith("\\\n", i):
            i += 2  # a line continuation
        elif c == "#":
            end = command.find("\n", i)
            i = n if end < 0 else end
        elif c in _OPERATOR_START:
            op = next(o for o in _OPERATORS if command.startswith(o, i))
            i += len(op)
            if op in ("<<", "<<-"):
                j, word = _word(command, i)
                if word is not None:
                    tokens.append(op)
                    tokens.append(word)
                    delimiters.append((word[0], op == "<<-"))
                    i = j
                    continue
            tokens.append(op)
            if op == "\n" and delimiters:
                i = _skip_bodies(command, i, delimiters)
                delimiters = []
        else:
            j, word = _word(command, i)
            if word is None:
                i += 1
                continue
            if word[0].isdigit() and j < n and command[j] in "<>":
                i = j  # a file descriptor number glued to its redirection
                continue
            tokens.append(word)
            i = j
    return tokens


def _word(command: str, i: int) -> tuple[int, Word | None]:
    """The word starting at ``i`` (after blanks) and the index after it."""
    n = len(command)
    while i < n and command[i] in _BLANK:
        i += 1
    parts: list[str] = []
    dynamic = glob = False
    start = i
    while i < n and command[i] not in _BLANK and command[i] not in _OPERATOR_START:
        c = command[i]
        if c == "'":
            end = command.find("'", i + 1)
            end = n if end < 0 else end
            parts.append(command[i + 1:end])
            i = end + 1
        elif c == '"':
            i += 1
            while i < n and command[i] != '"':
                if command[i] == "\\" and i + 1 < n and command[i + 1] in '"\\$`':
                    i += 1
                elif command[i] in "$`":
                    dynamic = True
                parts.append(command[i])
                i += 1
            i += 1
        elif c == "\\":
            parts.append(command[i + 1:i + 2])
            i += 2
        elif c == "$" and command.startswith("$(", i):
            dynamic = True
            i = _after_parenthesis(command, i + 1)
        else:
            dynamic = dynamic or c in "$`"
            glob = glob or c in "*?["
            parts.append(c)
            i += 1
    if i == start:
        return i, None
    return i, ("".join(parts), dynamic, glob)


def _after_parenthesis(command: str, i: int) -> int:
    """Index after the ``)`` that closes the ``(`` at ``i`` (a command substitution)."""
    depth = 0
    while i < len(command):
        if command[i] == "(":
            depth += 1
        elif command[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _skip_bodies(command: str, i: int, delimiters: list[tuple[str, bool]]) -> int:
    """Skip the here-document bodies that start at ``i``; return where commands resume."""
    for delimiter, strip_tabs in delimiters:
        while i < len(command):
            end = command.find("\n", i)
            line = command[i:] if end < 0 else command[i:end]
            i = len(command) if end < 0 else end + 1
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                break
    return i


def _add(targets: list[str], here: str | None, word: Word, name: str | None = None) -> None:
    """Add the file ``word`` names (``name`` inside it when it is a folder)."""
    text, dynamic, glob = word
    if dynamic or not text:
        return  # built from a variable or a command: unknown
    if text == "~" or text.startswith("~/"):
        text = os.path.expanduser(text)
    if not os.path.isabs(text):
        if here is None:
            return  # after a `cd` we could not follow
        text = os.path.join(here, text)
    paths = [text]
    if glob:
        import glob as globbing

        paths = globbing.glob(text)
    for path in paths:
        targets.append(os.path.normpath(os.path.join(path, name) if name else path))


def _run(words: list[Word], here: str | None, targets: list[str]) -> str | None:
    """Add what the simple command ``words`` writes; return the folder after it."""
    words = _strip_prefixes(words)
    if not words:
        return here
    name = os.path.basename(words[0][0])
    args = words[1:]
    if name in ("cd", "pushd"):
        return _cd(args, here)
    if name == "popd":
        return None
    if name == "tee":
        for word in _operands(args):
            _add(targets, here, word)
    elif name == "sed":
        for word in _sed_files(args):
            _add(targets, here, word)
    elif name in ("mv", "cp"):
        _move_targets(args, here, targets)
    return here


def _strip_prefixes(words: list[Word]) -> list[Word]:
    i = 0
    while i < len(words):
        text = words[i][0]
        head, equals, _ = text.partition("=")
        if equals and head.isidentifier():
            i += 1  # NAME=value before the command
        elif os.path.basename(text) in _PREFIXES:
            i += 1
            while i < len(words) and words[i][0].startswith("-"):
                i += 2 if words[i][0] in _PREFIX_ARGS else 1
        else:
            break
    return words[i:]


def _cd(args: list[Word], here: str | None) -> str | None:
    operands = [w for w in args if not w[0].startswith("-") or w[0] == "-"]
    if not operands:
        return os.path.expanduser("~")
    text, dynamic, glob = operands[0]
    if dynamic or glob or text == "-":
        return None
    text = os.path.expanduser(text) if text.startswith("~") else text
    if os.path.isabs(text):
        return os.path.normpath(text)
    return None if here is None else os.path.normpath(os.path.join(here, text))


def _operands(args: list[Word]) -> list[Word]:
    out, options = [], True
    for word in args:
        if options and word[0] == "--":
            options = False
        elif not (options and word[0].startswith("-") and word[0] != "-"):
            out.append(word)
    return out


def _sed_files(args: list[Word]) -> list[Word]:
    """The files of a ``sed`` that edits in place (none otherwise)."""
    in_place = script = False
    files: list[Word] = []
    i = 0
    while i < len(args):
        text = args[i][0]
        if text == "--":
            files.extend(args[i + 1:] if script else args[i + 2:])
            break
        if text.startswith("--"):
            option, _, _ = text.partition("=")
            in_place = in_place or option == "--in-place"
            if option in ("--expression", "--file"):
                script = True
                i += 1 if "=" not in text else 0
            elif option == "--line-length" and "=" not in text:
                i += 1
        elif text.startswith("-") and len(text) > 1:
            for k, flag in enumerate(text[1:], start=1):
                if flag == "i":
                    in_place = True
                    if k == len(text) - 1 and i + 1 < len(args) and args[i + 1][0] == "":
                        i += 1  # BSD: `-i ''`
                    break  # the rest of the word is the backup suffix
                if flag in "efl":
                    script = script or flag != "l"
                    if k == len(text) - 1:
                        i += 1  # the script, script file or length is the next word
                    break
        elif not script:
            script = True  # the first operand is the script
        else:
            files.append(args[i])
        i += 1
    return files if in_place else []


def _move_targets(args: list[Word], here: str | None, targets: list[str]) -> None:
    """``mv``/``cp``: the destination file(s)."""
    folder: Word | None = None
    no_folder = False
    operands: list[Word] = []
    i, options = 0, True
    while i < len(args):
        text = args[i][0]
        if options and text == "--":
            options = False
        elif options and text.startswith("--"):
            option, equals, value = text.partition("=")
            if option == "--target-directory":
                folder = (value, args[i][1], args[i][2]) if equals else (
                    args[i + 1] if i + 1 < len(args) else None)
                i += 0 if equals else 1
            elif option == "--no-target-directory":
                no_folder = True
            elif option == "--suffix" and not equals:
                i += 1
        elif options and text.startswith("-") and len(text) > 1:
            flags = text[1:]
            if "T" in flags:
                no_folder = True
            for k, flag in enumerate(flags):
                if flag in "tS":
                    value = flags[k + 1:]
                    if flag == "t":
                        folder = (value, args[i][1], args[i][2]) if value else (
                            args[i + 1] if i + 1 < len(args) else None)
                    i += 0 if value else 1
                    break
        else:
            operands.append(args[i])
        i += 1
    if folder is not None:
        sources = operands
    elif len(operands) >= 2:
        folder, sources = operands[-1], operands[:-1]
        if no_folder or not (len(sources) > 1 or folder[0].endswith("/")
                             or _is_folder(folder, here)):
            _add(targets, here, folder)
            return
    else:
        return
    for source in sources:
        name = os.path.basename(os.path.normpath(source[0]))
        if not source[1] and name and name not in (".", ".."):
            _add(targets, here, folder, name)


def _is_folder(word: Word, here: str | None) -> bool:
    text, dynamic, _ = word
    if dynamic or (here is None and not os.path.isabs(text)):
        return False
    return os.path.isdir(os.path.join(here or "", os.path.expanduser(text)))
