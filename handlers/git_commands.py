"""Which git commands a Bash command line runs, where, and what each would do to a checkout.

Read, never run (:func:`git_calls`): every simple command of a list (``;``, ``&&``,
``||``, ``|``, ``&``, newlines, ``( ... )`` subshells, ``{ ...; }`` groups, the words
``if``/``then``/``do``...), following ``cd``/``pushd``/``popd``; leading ``NAME=value``
words (``GIT_DIR=.git``, ``GIT_WORK_TREE=..``) and the prefixes ``env`` (with ``-C``,
``-u``, ``-i`` and its own assignments), ``sudo``, ``nohup``, ``time``, ``command``,
``exec``, ``nice``, ``timeout``, ``stdbuf``; ``bash``/``sh``/``zsh``/``dash -c '...'``,
``eval '...'`` and command substitutions (``$(...)``, backquotes) are read as command
lines of their own. git's global options are understood: ``-C DIR`` (several, each
relative to the last), ``-c name=value``, ``--git-dir``, ``--work-tree``, ``--no-pager``...

:func:`classify` then says what a call would do (:class:`Effect`): which files of the
working tree it may rewrite or sweep into a commit, whether it moves the branch, which
stash entries and worktrees and branches it touches. Read-only commands (status, diff,
log, show, fetch, ``stash list``, ``branch -a``...) have no effect. A subcommand git does
not know is an alias (``git config alias.*``): :func:`expand_alias` turns it into what it
stands for, given the alias's value (looked up with git itself by the caller, only then).

What a line cannot tell is *unreadable*, never guessed: a git call whose folder comes
from a variable (``cd "$D" && git stash``), whose subcommand or ``-C`` folder is built
when the command runs, or which is run by ``xargs``, ``find -exec`` or a ``bash -c`` of
a variable. The guard stays silent about those and logs them for ``orchestra drift``.

Pure functions with no imports beyond :mod:`os` (and the tokenizer of
:mod:`handlers.bash_writes`): the caller checks that the line holds ``git`` at all.
"""

from __future__ import annotations

import os

from handlers.bash_writes import Word, _cd, _tokenize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Effect", "GitCall", "classify", "expand_alias", "git_calls", "is_builtin"]

#: Words that start a shell construct and are not the command itself.
_KEYWORDS = frozenset(("if", "then", "else", "elif", "fi", "do", "done", "while", "until",
                       "!", "{", "}", "time"))
#: Prefixes that run the rest of the words as a command, with the options that take a value.
_PREFIX_OPTIONS: dict[str, frozenset[str]] = {
    "sudo": frozenset(("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R")),
    "nohup": frozenset(),
    "time": frozenset(("-f", "-o")),
    "command": frozenset(),
    "exec": frozenset(("-a",)),
    "builtin": frozenset(),
    "nice": frozenset(("-n",)),
    "ionice": frozenset(("-c", "-n", "-p")),
    "stdbuf": frozenset(("-i", "-o", "-e")),
    "chronic": frozenset(),
}
_SHELLS = frozenset(("bash", "sh", "zsh", "dash", "ksh"))
#: Commands that run a command given to them in ways a line cannot follow.
_RUNNERS = frozenset(("xargs", "find", "parallel", "watch", "ssh", "git-sh"))
_MAX_DEPTH = 4


class GitCall:
    """One git invocation found on a command line."""

    __slots__ = ("args", "configs", "cwd", "env", "problem", "sub", "text")

    def __init__(self, cwd: str | None, env: dict[str, str], configs: list[str],
                 sub: str | None, args: list[str], problem: str | None = None) -> None:
        #: The folder git runs in (``cd`` and ``-C`` applied), None when the line cannot tell.
        self.cwd = cwd
        #: ``GIT_*`` variables set on the line (``GIT_DIR``/``GIT_WORK_TREE``, also from
        #: ``--git-dir``/``--work-tree``), folders made absolute.
        self.env = env
        #: ``-c name=value`` options (``alias.x=...`` among them).
        self.configs = configs
        self.sub = sub
        self.args = args
        #: Why the call cannot be read (a variable where a folder or subcommand should be).
        self.problem = problem
        self.text = " ".join(["git", *([sub] if sub else []), *args])[:300]

    def __repr__(self) -> str:
        return f"GitCall({self.text!r}, cwd={self.cwd!r}, env={self.env!r})"


def git_calls(command: str, cwd: str | None) -> tuple[list[GitCall], list[str]]:
    """Every git invocation of ``command`` run in folder ``cwd``, and what could not be read.

    The second list holds one short reason per place where git may run but the line
    cannot say how (``xargs git ...``, ``bash -c "$CMD"`` on a line naming git...).
    """
    calls: list[GitCall] = []
    problems: list[str] = []
    _walk(command, cwd, calls, problems, 0)
    return calls, problems


def _walk(command: str, cwd: str | None, calls: list[GitCall], problems: list[str],
          depth: int) -> None:
    if depth > _MAX_DEPTH:
        problems.append("commands nested too deeply")
        return
    for inner in _substitutions(command):
        if "git" in inner:
            # A substitution runs where the line is at that point; only the start is known
            # unless no `cd` comes before it.
            _walk(inner, cwd if not _has_cd(command) else None, calls, problems, depth + 1)
    here: str | None = cwd
    saved: list[str | None] = []
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
        if token in (">", ">>", ">|", "&>", "&>>", ">&", "<", "<&", "<>", "<<<", "<<", "<<-"):
            i += 2 if isinstance(following, tuple) else 1  # a redirection and its word
            continue
        here = _simple(words, here, calls, problems, depth)
        words = []
        if token == "(":
            saved.append(here)
        elif token == ")" and saved:
            here = saved.pop()
        i += 1
    _simple(words, here, calls, problems, depth)


def _has_cd(command: str) -> bool:
    return any(w in command for w in ("cd ", "pushd ", "popd", "cd\t"))


def _substitutions(command: str) -> list[str]:
    """The texts inside ``$(...)`` and backquotes (not inside single quotes)."""
    out: list[str] = []
    i, n = 0, len(command)
    single = double = False
    while i < n:
        c = command[i]
        if single:
            single = c != "'"
        elif c == "\\":
            i += 1
        elif c == "'" and not double:
            single = True
        elif c == '"':
            double = not double
        elif c == "$" and command.startswith("$(", i) and not command.startswith("$((", i):
            depth, j = 0, i + 1
            while j < n:
                if command[j] == "(":
                    depth += 1
                elif command[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append(command[i + 2:j])
            i = j
        elif c == "`":
            end = command.find("`", i + 1)
            if end < 0:
                break
            out.append(command[i + 1:end])
            i = end
        i += 1
    return out


def _simple(words: list[Word], here: str | None, calls: list[GitCall], problems: list[str],
            depth: int) -> str | None:
    """Note the git call of one simple command; return the folder after it."""
    env: dict[str, str] = {}
    i = 0
    while i < len(words):
        text, dynamic, _glob = words[i]
        name = os.path.basename(text)
        head, equals, value = text.partition("=")
        if text in _KEYWORDS:
            i += 1
        elif equals and head.isidentifier():
            if head.startswith("GIT_"):
                env[head] = "\0dynamic" if dynamic else value
            i += 1
        elif name == "env":
            i += 1
            while i < len(words) and words[i][0].startswith("-"):
                option = words[i][0]
                if option in ("-C", "--chdir") and i + 1 < len(words):
                    here = _cd([words[i + 1]], here)
                    i += 2
                    continue
                if option.startswith("--chdir="):
                    here = _cd([(option.split("=", 1)[1], words[i][1], words[i][2])], here)
                elif option in ("-u", "--unset", "-S", "--split-string"):
                    i += 1
                i += 1
        elif name == "timeout":
            i += 1
            while i < len(words) and words[i][0].startswith("-"):
                i += 2 if words[i][0] in ("-s", "-k", "--signal", "--kill-after") else 1
            i += 1  # the duration
        elif name in _PREFIX_OPTIONS:
            takes = _PREFIX_OPTIONS[name]
            i += 1
            while i < len(words) and words[i][0].startswith("-"):
                i += 2 if words[i][0] in takes else 1
        else:
            break
    words = words[i:]
    if not words:
        return here
    text, dynamic, _glob = words[0]
    name = os.path.basename(text)
    args = words[1:]
    if name in ("cd", "pushd"):
        return _cd(args, here)
    if name == "popd":
        return None
    if name in ("git", "git.exe"):
        calls.append(_git(args, here, env))
    elif name in _SHELLS:
        script = _shell_script(args)
        if script is not None:
            if script[1]:
                if any("git" in w[0] for w in args):
                    problems.append(f"{name} -c of a variable")
            else:
                _walk(script[0], here, calls, problems, depth + 1)
    elif name == "eval":
        if any(w[1] for w in args) and any("git" in w[0] for w in args):
            problems.append("eval of a variable")
        else:
            _walk(" ".join(w[0] for w in args), here, calls, problems, depth + 1)
    elif name in _RUNNERS and any(os.path.basename(w[0]) == "git" for w in args):
        problems.append(f"git run by {name}")
    elif dynamic and any(os.path.basename(w[0]) == "git" for w in args):
        problems.append("git run by a command built from a variable")
    return here


def _shell_script(args: list[Word]) -> tuple[str, bool] | None:
    """The script of ``bash -c SCRIPT`` (and whether it is built from a variable)."""
    for k, (text, _dynamic, _glob) in enumerate(args):
        if text.startswith("-") and "c" in text[1:] and not text.startswith("--"):
            if k + 1 < len(args):
                return args[k + 1][0], args[k + 1][1]
            return None
        if not text.startswith("-"):
            return None  # a script file: not read
    return None


#: git's global options that take a value (as the next word, or glued with ``=``).
_GLOBAL_WITH_VALUE = frozenset(("-C", "-c", "--git-dir", "--work-tree", "--namespace",
                                "--super-prefix", "--config-env", "--attr-source"))


def _git(args: list[Word], here: str | None, line_env: dict[str, str]) -> GitCall:
    """A :class:`GitCall` from the words after ``git``."""
    env = dict(line_env)
    configs: list[str] = []
    problem: str | None = None
    cwd = here
    i = 0
    while i < len(args):
        text, dynamic, _glob = args[i]
        if not text.startswith("-") or text == "-":
            break
        option, equals, glued = text.partition("=")
        if option in _GLOBAL_WITH_VALUE and not (option in ("-C", "-c") and equals):
            if equals:
                value, value_dynamic = glued, dynamic
            elif i + 1 < len(args):
                value, value_dynamic = args[i + 1][0], args[i + 1][1]
                i += 1
            else:
                value, value_dynamic = "", False
            if value_dynamic:
                problem = f"git {option} from a variable"
            elif option == "-C":
                if value:  # an empty -C is ignored by git
                    cwd = None if cwd is None and not os.path.isabs(value) else os.path.normpath(
                        os.path.join(cwd or "", os.path.expanduser(value)))
            elif option == "-c":
                configs.append(value)
            elif option == "--git-dir":
                env["GIT_DIR"] = value
            elif option == "--work-tree":
                env["GIT_WORK_TREE"] = value
        elif option == "--bare":
            env.setdefault("GIT_DIR", ".")
        i += 1
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE"):
        if name not in env:
            continue
        value = env[name]
        if value == "\0dynamic":
            problem = f"{name} from a variable"
            del env[name]
        elif not os.path.isabs(value):
            if cwd is None:
                problem = problem or f"{name} relative to an unknown folder"
            else:
                env[name] = os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))
    if cwd is None and problem is None:
        problem = "git in a folder the line does not name (cd to a variable, popd...)"
    rest = args[i:]
    if not rest:
        return GitCall(cwd, env, configs, None, [], problem)
    sub_text, sub_dynamic, _glob = rest[0]
    if sub_dynamic:
        problem = problem or "git subcommand from a variable"
    # A variable among the arguments stays as written (``$BRANCH``): flags still count, and
    # such a path matches no file (the guard then looks at the whole tree, see classify).
    return GitCall(cwd, env, configs, sub_text, [w[0] for w in rest[1:]], problem)


# -- what a call does ------------------------------------------------------------------


class Effect:
    """What one git call would do to the working trees of a repository.

    ``scope`` says which uncommitted files it can destroy or take: ``"all"`` (any change,
    new files too: switching branches, ``stash -u``, ``add -A``...), ``"tracked"``
    (changes to files git tracks: ``stash``, ``reset --hard``, ``restore``, ``rm``,
    ``commit -a``), ``"untracked"`` (new files: ``clean -f``), ``"staged"`` (a plain
    commit takes what is staged) or None (no files); ``paths`` narrows it to pathspecs
    (relative to the call's folder; None: the whole tree). ``moves_branch``: it moves the
    working tree's branch or HEAD (checkout/switch, reset, rebase, pull, merge...), which
    matters to another session in the middle of a turn there even with nothing
    uncommitted. ``stash``: the stash entries it pops or drops (``"all"``, or an index).
    ``worktree``: a worktree it removes or moves; ``branches``: branches it deletes,
    renames or forces.
    """

    __slots__ = ("branches", "family", "moves_branch", "paths", "scope", "stash", "worktree")

    def __init__(self, family: str, *, scope: str | None = None,
                 paths: list[str] | None = None, moves_branch: bool = False,
                 stash: int | str | None = None, worktree: str | None = None,
                 branches: Sequence[str] = ()) -> None:
        self.family = family
        self.scope = scope
        self.paths = paths
        self.moves_branch = moves_branch
        self.stash = stash
        self.worktree = worktree
        self.branches = tuple(branches)

    def __repr__(self) -> str:
        fields = {k: getattr(self, k) for k in self.__slots__ if getattr(self, k)}
        return f"Effect({fields})"


#: git's own commands (``git help -a``) and the usual external ones: any other subcommand is
#: an alias, or a command git does not have.
_BUILTINS = frozenset("""
add am annotate apply archimport archive bisect blame branch bugreport bundle cat-file
check-attr check-ignore check-mailmap check-ref-format checkout checkout-index cherry
cherry-pick citool clean clone column commit commit-graph commit-tree config count-objects
credential credential-cache credential-store cvsexportcommit cvsimport cvsserver daemon
describe diagnose diff diff-files diff-index diff-tree difftool fast-export fast-import
fetch fetch-pack filter-branch fmt-merge-msg for-each-ref for-each-repo format-patch fsck
fsck-objects fsmonitor--daemon gc get-tar-commit-id grep gui hash-object help hook
http-backend http-fetch http-push imap-send index-pack init init-db instaweb
interpret-trailers log ls-files ls-remote ls-tree mailinfo mailsplit maintenance merge
merge-base merge-file merge-index merge-one-file merge-ours merge-recursive merge-tree
mergetool mktag mktree multi-pack-index mv name-rev notes p4 pack-objects pack-redundant
pack-refs patch-id prune prune-packed pull push quiltimport range-diff read-tree rebase
receive-pack reflog remote repack replace replay request-pull rerere reset restore
rev-list rev-parse revert rm scalar send-email send-pack sh-i18n sh-setup shell shortlog
show show-branch show-index show-ref sparse-checkout stage stash status stripspace
submodule svn switch symbolic-ref tag unpack-file unpack-objects update-index update-ref
update-server-info upload-archive upload-pack var verify-commit verify-pack verify-tag
version web--browse whatchanged worktree write-tree lfs flow
""".split())  # noqa: SIM905 (a list of 160 quoted words would hide the names)


def is_builtin(sub: str) -> bool:
    return sub in _BUILTINS


def expand_alias(call: GitCall, value: str) -> tuple[GitCall | None, str | None]:
    """``call`` with its subcommand replaced by alias ``value``: (the new call, None), or
    (None, the shell command) for a ``!`` alias, which git runs from the top of the
    working tree with the call's arguments appended."""
    if value.startswith("!"):
        quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in call.args)
        return None, value[1:] + (" " + quoted if quoted else "")
    words = [w[0] for w in _tokenize(value) if isinstance(w, tuple)]
    if not words:
        return None, None
    new = GitCall(call.cwd, call.env, call.configs, words[0], [*words[1:], *call.args],
                  call.problem)
    return new, None


def classify(call: GitCall) -> list[Effect]:
    """What ``call`` would do (an empty list: nothing a guard cares about)."""
    sub = call.sub
    if sub is None:
        return []
    if sub == "checkout":
        return _checkout(call.args, call.cwd)
    handler = _CLASSIFIERS.get(sub)
    return handler(call.args) if handler is not None else []


def _split(args: list[str], with_value: str = "", long_with_value: Sequence[str] = ()
           ) -> tuple[set[str], list[str], list[str]]:
    """(options seen, operands before ``--``, paths after ``--``).

    Short options are split (``-fdx`` is ``-f -d -x``); those in ``with_value`` take the
    rest of the word or the next one, long ones in ``long_with_value`` the next word unless
    glued with ``=``. Options are recorded without their values (``--hard``, ``-f``).
    """
    options: set[str] = set()
    operands: list[str] = []
    after: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            after = args[i + 1:]
            break
        if word.startswith("--"):
            name, equals, _value = word.partition("=")
            options.add(name)
            if name in long_with_value and not equals:
                i += 1
        elif word.startswith("-") and len(word) > 1 and not word[1:].isdigit():
            for k, flag in enumerate(word[1:], start=1):
                options.add("-" + flag)
                if flag in with_value:
                    if k == len(word) - 1:
                        i += 1
                    break
        else:
            operands.append(word)
        i += 1
    return options, operands, after


def _stash(args: list[str]) -> list[Effect]:
    verb = args[0] if args and not args[0].startswith("-") else "push"
    rest = args[1:] if args and not args[0].startswith("-") else args
    if verb in ("list", "show", "create", "store"):
        return []
    if verb in ("push", "save"):
        options, operands, after = _split(rest, "m", ("--message", "--pathspec-from-file"))
        if options & {"-h", "--help"}:
            return []
        paths = after or (operands if verb == "push" else [])
        untracked = options & {"-u", "--include-untracked", "-a", "--all"}
        return [Effect("stash", scope="all" if untracked else "tracked", paths=paths or None)]
    if verb in ("pop", "apply", "drop", "branch"):
        options, operands, _after = _split(rest)
        ref = operands[1] if verb == "branch" and len(operands) > 1 else (
            operands[0] if verb != "branch" and operands else None)
        index = _stash_index(ref)
        effects = []
        if verb in ("pop", "apply", "branch"):
            effects.append(Effect(f"stash {verb}", scope="all", moves_branch=verb == "branch"))
        if verb in ("pop", "drop", "branch"):
            effects.append(Effect(f"stash {verb}", stash=index))
        return effects
    if verb == "clear":
        return [Effect("stash clear", stash="all")]
    return [Effect("stash", scope="all")]  # an option git may add later: be careful


def _stash_index(ref: str | None) -> int | str:
    """``stash@{2}`` or ``2`` -> 2; the newest entry (0) by default; "all" when unreadable."""
    if ref is None:
        return 0
    text = ref
    if text.startswith("stash@{") and text.endswith("}"):
        text = text[len("stash@{"):-1]
    return int(text) if text.isdigit() else "all"


def _checkout(args: list[str], cwd: str | None) -> list[Effect]:
    options, operands, after = _split(
        args, "bB", ("--conflict", "--orphan", "--pathspec-from-file", "--track"))
    if options & {"-h", "--help"}:
        return []
    creates = bool(options & {"-b", "-B", "--orphan"})
    if after or options & {"-p", "--patch", "--pathspec-from-file"}:
        return [Effect("checkout", scope="tracked", paths=after or ["."])]
    if creates:
        return [Effect("checkout -b", scope="all", moves_branch=True)]
    if not operands:
        return [Effect("checkout", scope="all", moves_branch=True)] if (
            options & {"--detach", "-f", "--force"}) else []
    if len(operands) > 1:  # a tree-ish, then paths
        return [Effect("checkout", scope="tracked", paths=operands[1:])]
    target = operands[0]
    if _names_files(target, cwd):
        return [Effect("checkout", scope="tracked", paths=[target])]
    return [Effect("checkout", scope="all", moves_branch=True)]


def _names_files(word: str, cwd: str | None) -> bool:
    """Does a lone checkout operand name files rather than a branch? git asks the
    repository; a line can ask the file system (a branch named like a folder of the
    tree is as ambiguous to git itself)."""
    if word in (".", "..", "*") or word.startswith((":/", ":(", "./", "../")) or "*" in word:
        return True
    return cwd is not None and os.path.lexists(os.path.join(cwd, word))


def _switch(args: list[str]) -> list[Effect]:
    options, _operands, _after = _split(args, "cC", ("--orphan", "--conflict", "--track"))
    if options & {"-h", "--help"}:
        return []
    return [Effect("switch", scope="all", moves_branch=True)]


def _restore(args: list[str]) -> list[Effect]:
    options, operands, after = _split(args, "s", ("--source", "--pathspec-from-file",
                                                  "--conflict"))
    if options & {"-h", "--help"}:
        return []
    if options & {"-S", "--staged"} and not options & {"-W", "--worktree"}:
        return []  # the index only: nothing in the working tree changes
    paths = [*operands, *after] or (["."] if "--pathspec-from-file" in options else [])
    return [Effect("restore", scope="tracked", paths=paths or ["."])]


def _reset(args: list[str]) -> list[Effect]:
    options, operands, after = _split(args, "", ("--pathspec-from-file",))
    if options & {"-h", "--help"}:
        return []
    if options & {"--hard", "--merge", "--keep"}:
        return [Effect("reset " + next(o for o in ("--hard", "--merge", "--keep")
                                       if o in options), scope="tracked", moves_branch=True)]
    if after or len(operands) > 1 or "--pathspec-from-file" in options or options & {
            "-p", "--patch"}:
        return []  # unstages paths: the working tree stays as it is
    if operands:  # --soft/--mixed to a commit: the branch moves under the changes
        return [Effect("reset", scope="all", moves_branch=True)]
    return []


def _clean(args: list[str]) -> list[Effect]:
    options, operands, after = _split(args, "e", ("--exclude",))
    if options & {"-n", "--dry-run", "-h", "--help"}:
        return []
    if not options & {"-f", "--force", "-i", "--interactive"}:
        return []  # git refuses to clean without -f (clean.requireForce)
    scope = "all" if options & {"-x", "-X"} else "untracked"
    return [Effect("clean -f", scope=scope, paths=[*operands, *after] or None)]


def _history(family: str, read_only: tuple[str, ...] = ()) -> _Classifier:
    def classify_(args: list[str]) -> list[Effect]:
        if any(a in read_only or a in ("-h", "--help") for a in args):
            return []
        return [Effect(family, scope="all", moves_branch=True)]

    return classify_


def _bisect(args: list[str]) -> list[Effect]:
    verb = args[0] if args else "help"
    if verb in ("log", "visualize", "view", "terms", "help", "replay") or verb.startswith(
            "-"):
        return []
    return [Effect("bisect", scope="all", moves_branch=True)]


def _worktree(args: list[str]) -> list[Effect]:
    if not args or args[0] not in ("remove", "move"):
        return []
    _options, operands, _after = _split(args[1:])
    if not operands:
        return []
    return [Effect(f"worktree {args[0]}", worktree=operands[0])]


def _branch(args: list[str]) -> list[Effect]:
    options, operands, _after = _split(
        args, "ut", ("--set-upstream-to", "--contains", "--no-contains", "--merged",
                     "--no-merged", "--points-at", "--sort", "--format", "--color",
                     "--column", "--track"))
    deletes = options & {"-d", "-D", "--delete"}
    moves = options & {"-m", "-M", "--move"}
    forces = options & {"-f", "--force"}
    if deletes:
        return [Effect("branch -D" if options & {"-D", "-f", "--force"} else "branch -d",
                       branches=operands)]
    if moves:  # with one name, the current branch is renamed
        return [Effect("branch -m", branches=operands[:1] if len(operands) > 1 else ["HEAD"])]
    if forces and operands:
        return [Effect("branch -f", branches=operands[:1])]
    return []


def _rm(args: list[str]) -> list[Effect]:
    options, operands, after = _split(args, "", ("--pathspec-from-file",))
    if options & {"-n", "--dry-run", "-h", "--help"}:
        return []
    return [Effect("rm", scope="tracked", paths=[*operands, *after] or None)]


def _mv(args: list[str]) -> list[Effect]:
    options, operands, after = _split(args)
    if options & {"-n", "--dry-run", "-h", "--help"}:
        return []
    operands = [*operands, *after]
    if len(operands) < 2:
        return []
    return [Effect("mv", scope="tracked", paths=operands[:-1])]


def _add(args: list[str]) -> list[Effect]:
    options, operands, after = _split(args, "", ("--chmod", "--pathspec-from-file"))
    if options & {"-n", "--dry-run", "-h", "--help"}:
        return []
    paths = [*operands, *after]
    if options & {"-u", "--update"}:
        return [Effect("add -u", scope="tracked", paths=paths or None)]
    if options & {"-A", "--all", "--no-ignore-removal"} and not paths:
        return [Effect("add -A", scope="all")]
    if not paths:
        return []
    return [Effect("add", scope="all", paths=paths)]


def _commit(args: list[str]) -> list[Effect]:
    options, operands, after = _split(
        args, "mFcCtu", ("--message", "--file", "--reuse-message", "--reedit-message",
                         "--template", "--author", "--date", "--cleanup", "--fixup",
                         "--squash", "--trailer", "--pathspec-from-file", "--untracked-files"))
    if options & {"-h", "--help", "--dry-run"}:
        return []
    paths = [*operands, *after]
    if paths:
        return [Effect("commit", scope="all", paths=paths)]
    if options & {"-a", "--all"}:
        return [Effect("commit -a", scope="tracked")]
    return [Effect("commit", scope="staged")]


if TYPE_CHECKING:
    from collections.abc import Callable

    _Classifier = Callable[[list[str]], list[Effect]]

_CLASSIFIERS: dict[str, _Classifier] = {
    "stash": _stash,
    "switch": _switch,
    "restore": _restore,
    "reset": _reset,
    "clean": _clean,
    "rebase": _history("rebase", ("--show-current-patch", "--edit-todo")),
    "merge": _history("merge"),
    "pull": _history("pull"),
    "cherry-pick": _history("cherry-pick"),
    "revert": _history("revert"),
    "am": _history("am", ("--show-current-patch",)),
    "bisect": _bisect,
    "worktree": _worktree,
    "branch": _branch,
    "rm": _rm,
    "mv": _mv,
    "add": _add,
    "stage": _add,
    "commit": _commit,
}
