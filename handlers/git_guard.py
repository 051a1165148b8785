"""The git guard: before a Bash git command rewrites or switches a working tree in which
another live session has work at stake, the claims policy decides (see handlers.claims).

Imported by :mod:`handlers.claims` only for a Bash command line holding ``git``. Three steps:

1. :func:`prepare` reads the line (:mod:`handlers.git_commands`): no process is started,
   and a line with no git command that could change a checkout ends here;
2. :meth:`Guard.gather` — only when another session is live — asks git itself, within
   :data:`GIT_SECONDS` for all of it: the working tree each call affects (``git rev-parse
   --show-toplevel --git-dir --git-common-dir``, with the call's ``-C``, ``GIT_DIR`` and
   ``GIT_WORK_TREE``), the repository's worktrees and their branches (``git worktree
   list``), aliases (``git config alias.*``), which claimed files are still changed
   (``git status`` of just those files) and the stash entries (``refs/stash`` is shared by
   every worktree);
3. :meth:`Guard.stakes`, called under the claims log's lock with the project's current
   claims (:func:`state.claims.claim_step`), says what each call would take from whom.

What is at stake for another live session (never the session's own work):

* files it changed (its claims, confirmed or still being written) that ``git status``
  says are uncommitted, in the working tree the command affects — for a call that can
  destroy or sweep them (stash, checkout/switch, restore, reset --hard/--merge/--keep,
  clean -f, rebase, merge, pull, cherry-pick, revert, am, bisect, rm/mv of its files,
  add -A/add ./commit -a sweeping them into this session's commit), narrowed to the
  call's pathspecs, to new (untracked) files for ``clean``, to changes of tracked files for
  ``stash`` (without ``-u``), ``reset --hard``, ``restore``, ``rm``, ``mv`` and
  ``commit -a``;
* its branch, when it is in the middle of a turn in that working tree and the call moves
  the branch (checkout/switch, reset, rebase, pull, merge...), even with nothing
  uncommitted;
* its stash entries, for ``stash pop``/``drop``/``clear`` run in any worktree;
* its checkout, for ``git worktree remove``/``move`` of the worktree it works in;
* its branch, for ``git branch -D``/``-d``/``-m``/``-f`` of the branch it is on;
* any git command it is running in that working tree right now (let through, not
  finished).

A line the guard cannot read (a folder from a variable, ``xargs git``...), a folder that
is not a repository, or git not answering in time: silence, as without a guard, and a
line in the drift log (``orchestra drift``) for what could not be read.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from handlers.git_commands import Effect, GitCall
    from hooks.context import HandlerContext
    from state.claims import ClaimTable
    from state.persistence.storage import Storage

__all__ = ["GIT_SECONDS", "Guard", "Stake", "after_git", "prepare"]

#: Seconds all the git processes of one guard decision may take together.
GIT_SECONDS = 1.0
#: The events of a turn: a session whose last event is one of these is in the middle of one.
TURN_EVENTS = frozenset((
    "UserPromptSubmit", "UserPromptExpansion", "PreToolUse", "PostToolUse",
    "PostToolUseFailure", "PostToolBatch", "PermissionRequest", "PermissionDenied",
    "SubagentStart", "SubagentStop", "TaskCreated", "TaskCompleted", "PreSkillShellCommand",
    "Elicitation", "ElicitationResult", "CwdChanged", "MessageDisplay", "PreCompact",
    "PostCompact"))
_ALIAS_DEPTH = 5
#: git calls of one line the guard looks at (a generated line may hold thousands).
MAX_CALLS = 50
_MAX_FILES_SHOWN = 6


class GitTimeout(Exception):
    """git did not answer within the guard's time."""


class Git:
    """Runs git with a shared deadline, without a terminal, never taking the index lock.

    On POSIX with ``os.posix_spawnp`` (Linux, macOS) git is started directly, reading its
    output through a pipe with ``select``: importing :mod:`subprocess` would cost this
    hook more than a git process does. Elsewhere :mod:`subprocess` runs it.
    """

    def __init__(self, seconds: float) -> None:
        import time

        self._clock = time.monotonic
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.runs = 0
        self._env: dict[str, str] | None = None

    def run(self, args: list[str], cwd: str, env: dict[str, str] | None = None) -> str | None:
        """git's stdout, or None when it fails (not a repository, no such ref...)."""
        left = self.deadline - self._clock()
        if left <= 0:
            raise GitTimeout
        if self._env is None:
            self._env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")
                         or k in ("GIT_EXEC_PATH", "GIT_CONFIG_NOSYSTEM")}
            self._env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0",
                              "LC_ALL": "C"})
        full = {**self._env, **env} if env else self._env
        # -C, not a working directory: posix_spawn cannot change it.
        argv = ["git", "-C", cwd, "-c", "core.fsmonitor=false", *args]
        self.runs += 1
        try:
            if hasattr(os, "posix_spawnp"):
                code, out = _spawn(argv, full, left)
            else:
                code, out = _subprocess(argv, full, left)
        except (OSError, ValueError):  # no git, the folder is gone, a NUL or lone surrogate
            return None
        if code != 0:
            return None
        return out.decode("utf-8", "surrogateescape")


def _spawn(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """(exit code, stdout) of ``argv``; :class:`GitTimeout` after ``timeout`` seconds."""
    import select
    import time

    deadline = time.monotonic() + timeout
    read, write = os.pipe()
    null_in = os.open(os.devnull, os.O_RDONLY)
    null_out = os.open(os.devnull, os.O_WRONLY)
    try:
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=[
            (os.POSIX_SPAWN_DUP2, null_in, 0), (os.POSIX_SPAWN_DUP2, write, 1),
            (os.POSIX_SPAWN_DUP2, null_out, 2)])
    finally:
        os.close(write)
        os.close(null_in)
        os.close(null_out)
    chunks = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read], [], [], left)[0]:
                raise GitTimeout
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except BaseException:  # out of time, or the handler interrupted at its limit (runner)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(read)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks)


def _subprocess(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, bytes]:
    import subprocess

    try:
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GitTimeout from None
    return done.returncode, done.stdout


class Tree:
    """A working tree: its top folder, git folder, the repository's common git folder, its
    branch, and the other worktrees nested inside it (Claude Code's .claude/worktrees)."""

    __slots__ = ("branch", "common", "exclude", "git_dir", "top")

    def __init__(self, top: str, git_dir: str, common: str) -> None:
        self.top = top
        self.git_dir = git_dir
        self.common = common
        self.branch: str | None = None
        self.exclude: list[str] = []

    def holds(self, path: str) -> bool:
        return _inside(path, self.top) and not any(_inside(path, x) for x in self.exclude)


def _real(path: str) -> str:
    try:
        return os.path.normcase(os.path.realpath(path))
    except (OSError, ValueError):
        return os.path.normcase(os.path.normpath(path))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class Other:
    """Another live session, as the guard sees it."""

    __slots__ = ("cwd", "mid_turn", "project", "sid", "status", "top")

    def __init__(self, sid: str, project: str | None, cwd: str | None, status: str,
                 mid_turn: bool) -> None:
        self.sid = sid
        self.project = project
        self.cwd = cwd
        self.status = status
        self.mid_turn = mid_turn
        self.top: str | None = None  # the worktree its folder is in


class Stake:
    """What one git call would take from one other session."""

    __slots__ = ("call", "files", "session", "tree", "why")

    def __init__(self, session: str, call: str, tree: str, why: str,
                 files: list[str] | None = None) -> None:
        self.session = session
        self.call = call
        self.tree = tree
        self.why = why
        self.files = files or []

    def as_record(self) -> dict[str, Any]:
        return {"session": self.session, "call": self.call[:200], "tree": self.tree[:1000],
                "why": self.why[:300], "files": [f[:500] for f in self.files[:20]]}


class Risky:
    """A git call that may change a working tree, with the tree it affects."""

    __slots__ = ("call", "cwd", "effects", "tree")

    def __init__(self, call: GitCall, effects: list[Effect], tree: Tree | None = None) -> None:
        self.call = call
        self.effects = effects
        self.tree = tree
        self.cwd = _real(call.cwd) if call.cwd else ""


def prepare(command: str, cwd: str | None) -> Guard | None:
    """A :class:`Guard` for ``command``, or None when it runs no git command that could
    change a working tree and holds nothing unreadable (no process is started here)."""
    from handlers.git_commands import classify, git_calls, is_builtin

    calls, problems = git_calls(command, cwd)
    candidates: list[tuple[GitCall, list[Effect]]] = []
    for call in calls[:MAX_CALLS]:
        effects = classify(call)
        maybe_alias = call.sub is not None and not is_builtin(call.sub)
        if not effects and not maybe_alias:
            continue  # read-only: status, diff, log, show, fetch, stash list, branch -a...
        if call.problem:
            problems.append(call.problem)
            continue
        candidates.append((call, effects))
    if not candidates and not problems:
        return None
    return Guard(command, candidates, problems)


class Guard:
    """The git side of one Bash PreToolUse (see the module docstring)."""

    def __init__(self, command: str, candidates: list[tuple[GitCall, list[Effect]]],
                 problems: list[str]) -> None:
        self.command = command
        self.candidates = candidates
        #: What could not be read (logged for ``orchestra drift``).
        self.problems = problems
        self.risky: list[Risky] = []
        self.others: dict[str, Other] = {}
        self.trees: dict[str, Tree] = {}  # top -> tree
        self._where: dict[tuple[str, tuple[tuple[str, str], ...]], Tree | None] = {}
        self.worktrees: dict[str, dict[str, str | None]] = {}  # common -> {top: branch}
        self.status: dict[str, dict[str, str]] = {}  # top -> {real path: XY}
        self.stash_entries: dict[str, list[str]] = {}  # common -> shas, newest first
        self.stash_files: dict[str, list[str]] = {}  # sha -> the files the entry holds
        self.other_tables: list[ClaimTable] = []
        self.prefetched: set[str] = set()  # claimed paths whose status was asked
        self.git: Git | None = None

    @property
    def active(self) -> bool:
        return bool(self.risky)

    # -- before the lock: ask git -------------------------------------------------------

    def gather(self, ctx: HandlerContext, sid: str, project: str | None,
               read_own: Callable[[], ClaimTable] | None = None,
               seconds: float = GIT_SECONDS) -> bool:
        """Find the other live sessions, then (only if there are any) ask git. True when a
        call may take something from one of them; then :meth:`stakes` decides.
        ``read_own``: the own project's claims as they are now (a first look: the
        decision reads them again under the lock)."""
        if not self.candidates:
            return False
        self.others = _live_sessions(ctx, sid)
        if not self.others:
            return False  # nobody else: nothing at stake, and no git started
        own = read_own() if read_own is not None else None
        self.git = Git(min(GIT_SECONDS, seconds))
        try:
            self._resolve()
            if not self.risky:
                return False
            self._map_worktrees()
            self._read_other_claims(ctx, project)
            self._read_status(own)
            self._read_stashes(own)
        except GitTimeout:
            self.problems.append(f"git did not answer within {self.git.seconds:g} s")
            self.risky = []
            return False
        return True

    def _tree(self, call: GitCall) -> Tree | None:
        assert self.git is not None and call.cwd is not None
        where = (call.cwd, tuple(sorted(call.env.items())))
        if where in self._where:
            return self._where[where]
        out = self.git.run(["rev-parse", "--path-format=absolute", "--show-toplevel",
                            "--git-dir", "--git-common-dir"], call.cwd, call.env)
        lines = (out or "").splitlines()
        tree = None
        if len(lines) >= 3:  # else not in a repository (or a bare one): nothing to guard
            top = _real(lines[0])
            tree = self.trees.get(top)
            if tree is None:
                tree = self.trees[top] = Tree(top, _real(lines[1]), _real(lines[2]))
        self._where[where] = tree
        return tree

    def _resolve(self) -> None:
        """Trees of the calls, with aliases expanded (git config alias.*, looked up only
        for a subcommand git does not have)."""
        from handlers.git_commands import classify, expand_alias, git_calls, is_builtin

        queue = [(call, effects, 0) for call, effects in self.candidates]
        while queue:
            call, effects, depth = queue.pop(0)
            if call.cwd is None:
                continue
            tree = self._tree(call)
            if tree is None:
                continue
            if call.sub is not None and not is_builtin(call.sub):
                if depth >= _ALIAS_DEPTH:
                    self.problems.append("git aliases nested too deeply")
                    continue
                value = self._alias(call, call.sub)
                if value is None:
                    continue  # not an alias: a command git does not have
                expanded, shell = expand_alias(call, value)
                if expanded is not None:
                    queue.append((expanded, classify(expanded), depth + 1))
                elif shell is not None:
                    calls, problems = git_calls(shell, tree.top)  # run from the top
                    self.problems.extend(problems)
                    for inner in calls:
                        if inner.problem:
                            self.problems.append(inner.problem)
                        else:
                            queue.append((inner, classify(inner), depth + 1))
                continue
            if effects:
                self.risky.append(Risky(call, effects, tree))

    def _alias(self, call: GitCall, name: str) -> str | None:
        for config in reversed(call.configs):
            key, _sep, value = config.partition("=")
            if key.lower() == f"alias.{name.lower()}":
                return value
        assert self.git is not None and call.cwd is not None
        out = self.git.run(["config", "--get", f"alias.{name}"], call.cwd, call.env)
        return out.rstrip("\n") if out else None

    def _map_worktrees(self) -> None:
        """Every worktree of each repository involved, with its branch; which one each
        other session's folder is in."""
        assert self.git is not None
        tops: list[tuple[str, str | None]] = []
        for tree in list(self.trees.values()):
            if tree.common in self.worktrees:
                continue
            found = _worktrees(tree.common)
            if found is None:  # a layout the files do not tell: ask git
                found = {}
                top: str | None = None
                out = self.git.run(["worktree", "list", "--porcelain"], tree.top)
                for line in (out or "").splitlines():
                    if line.startswith("worktree "):
                        top = _real(line[len("worktree "):])
                        found[top] = None
                    elif line.startswith("branch ") and top is not None:
                        found[top] = line[len("branch "):].removeprefix("refs/heads/")
            if tree.top not in found:
                found[tree.top] = _head_branch(tree.git_dir)
            self.worktrees[tree.common] = found
            tops.extend(found.items())
        for tree in self.trees.values():
            branches = self.worktrees.get(tree.common, {})
            tree.branch = branches.get(tree.top)
            tree.exclude = [t for t in branches if t != tree.top and _inside(t, tree.top)]
        ordered = sorted({t for t, _b in tops}, key=len, reverse=True)
        for other in self.others.values():
            if other.cwd:
                other.top = next((t for t in ordered if _inside(other.cwd, t)), None)

    def _branch_of(self, top: str | None) -> str | None:
        for found in self.worktrees.values():
            if top in found:
                return found[top]
        return None

    def _read_other_claims(self, ctx: HandlerContext, project: str | None) -> None:
        """The claims of the other live sessions' projects (the own project's are read
        under the lock, in :meth:`stakes`)."""
        from state.claims import read_table

        projects = {o.project for o in self.others.values() if o.project} - {project}
        for name in sorted(projects):
            self.other_tables.append(read_table(ctx.store, name, window=None, at=ctx.now,
                                                config=ctx.config))

    def _read_status(self, own: ClaimTable | None) -> None:
        """``git status`` of the claimed files of others in the trees involved."""
        assert self.git is not None
        tables = [*self.other_tables, *([own] if own is not None else [])]
        wanted: dict[str, list[str]] = {}
        for table in tables:
            for claim in table.claims():
                if claim["session"] not in self.others:
                    continue
                path = _real(claim["path"])
                for tree in self.trees.values():
                    if tree.holds(path):
                        wanted.setdefault(tree.top, []).append(path)
                        self.prefetched.add(path)
        for top, paths in wanted.items():
            relative = sorted({os.path.relpath(p, top) for p in paths})[:500]
            out = self.git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all",
                                "--no-renames", "--", *relative], top)
            codes: dict[str, str] = {}
            for entry in (out or "").split("\0"):
                if len(entry) > 3:
                    codes[_real(os.path.join(top, entry[3:]))] = entry[:2]
            self.status[top] = codes

    def _read_stashes(self, own: ClaimTable | None) -> None:
        """The stash entries of each repository, when a call pops or drops one, and the
        files of those that other sessions made."""
        assert self.git is not None
        owned = {sha for t in [*self.other_tables, *([own] if own is not None else [])]
                 for sha, r in t.stashes.items() if r["session"] in self.others}
        if not owned:
            return
        for risky in self.risky:
            tree = risky.tree
            if tree is None or tree.common in self.stash_entries:
                continue
            if any(e.stash is not None for e in risky.effects):
                out = self.git.run(["log", "-g", "--format=%H", "refs/stash", "--"], tree.top)
                entries = self.stash_entries[tree.common] = (out or "").split()
                for sha in [e for e in entries if e in owned][:5]:
                    names = self.git.run(["diff", "--name-only", "-z", f"{sha}^1", sha, "--"],
                                         tree.top)
                    self.stash_files[sha] = [n for n in (names or "").split("\0") if n]

    # -- under the lock: decide ---------------------------------------------------------

    def stakes(self, own: ClaimTable | None) -> list[Stake]:
        """What each call would take from the other live sessions, given the own
        project's claims as they are now (read under the lock)."""
        tables = [*self.other_tables, *([own] if own is not None else [])]
        claims = [c for t in tables for c in t.claims() if c["session"] in self.others]
        running = [op for t in tables for op in t.git.values() if op["session"] in self.others]
        stashes = {sha: r for t in tables for sha, r in t.stashes.items()
                   if r["session"] in self.others}
        found: list[Stake] = []
        for risky in self.risky:
            tree = risky.tree
            assert tree is not None
            text = _shown(risky.call)
            for effect in risky.effects:
                found.extend(self._effect_stakes(risky, effect, tree, text, claims, running,
                                                 stashes))
        return _merge(found)

    def _effect_stakes(self, risky: Risky, effect: Effect, tree: Tree, text: str,
                       claims: list[dict[str, Any]], running: list[dict[str, Any]],
                       stashes: dict[str, dict[str, Any]]) -> list[Stake]:
        found: list[Stake] = []
        if effect.scope is not None:
            by_session: dict[str, list[str]] = {}
            for claim in claims:
                path = _real(claim["path"])
                if not tree.holds(path) or not _matches(path, effect, risky, tree):
                    continue
                what = self._changed(claim, path, tree, effect.scope)
                if what:
                    shown = os.path.relpath(path, tree.top)
                    by_session.setdefault(claim["session"], []).append(f"{shown} ({what})")
            for session, files in by_session.items():
                found.append(Stake(session, text, tree.top, "has uncommitted changes there",
                                   sorted(set(files))))
            for op in running:
                top = op.get("tree")
                if isinstance(top, str) and _real(top) == tree.top and (
                        effect.paths is None or effect.moves_branch):
                    found.append(Stake(op["session"], text, tree.top,
                                       f"is running `{op['git']}` there right now"))
        if effect.moves_branch:
            for other in self.others.values():
                if other.top == tree.top and other.mid_turn:
                    branch = tree.branch or "a detached HEAD"
                    found.append(Stake(other.sid, text, tree.top,
                                       f"is in the middle of a turn on branch {branch}"))
        if effect.stash is not None:
            entries = self.stash_entries.get(tree.common, [])
            if effect.stash == "all":
                targeted = list(enumerate(entries))
            elif isinstance(effect.stash, int) and effect.stash < len(entries):
                targeted = [(effect.stash, entries[effect.stash])]
            else:
                targeted = []
            for index, sha in targeted:
                owner = stashes.get(sha)
                if owner is not None:
                    found.append(Stake(owner["session"], text, tree.top,
                                       f"made the stash entry stash@{{{index}}} "
                                       f"({sha[:10]}), shared by every worktree",
                                       self.stash_files.get(sha, [])))
        if effect.worktree is not None and risky.call.cwd is not None:
            target = _real(os.path.join(risky.call.cwd, os.path.expanduser(effect.worktree)))
            for other in self.others.values():
                if other.cwd and _inside(other.cwd, target):
                    found.append(Stake(other.sid, text, target, "works in that worktree",
                                       _files_of(claims, other.sid, target)))
            for claim in claims:
                path = _real(claim["path"])
                if _inside(path, target):
                    found.append(Stake(claim["session"], text, target,
                                       "has changes in that worktree",
                                       [os.path.relpath(path, target)]))
        if effect.branches:
            names = {b for b in (tree.branch if n == "HEAD" else n for n in effect.branches)
                     if b is not None}
            for other in self.others.values():
                on = self._branch_of(other.top)
                if on is None or on not in names:
                    continue
                where = other.top or tree.top
                files = _files_of(claims, other.sid, where)
                if files or other.mid_turn:  # a branch with nothing on it in flight: free
                    found.append(Stake(other.sid, text, where, f"is on branch {on}", files))
        return found

    def _changed(self, claim: dict[str, Any], path: str, tree: Tree, scope: str) -> str | None:
        """How the claimed file is changed, if the call's scope can take it; else None."""
        if claim.get("state") == "provisional":
            return f"being written by {claim.get('tool')} now"
        if path not in self.prefetched:
            return "changed moments ago"  # claimed after git was asked: assume it is
        code = self.status.get(tree.top, {}).get(path)
        if code is None:
            return None  # clean: committed, or changed back
        untracked = code == "??"
        if scope == "untracked" and not untracked:
            return None
        if scope == "tracked" and untracked:
            return None
        if scope == "staged" and code[0] in " ?":
            return None
        return _describe_code(code)

    # -- the claim, and the record ------------------------------------------------------

    def op_records(self, sid: str, tool_use_id: str | None, at: float) -> list[dict[str, Any]]:
        """The provisional git operations to record when the command is let through."""
        if not tool_use_id:
            return []
        records = []
        for top in sorted({r.tree.top for r in self.risky if r.tree is not None}):
            tree = self.trees[top]
            calls = "; ".join(_shown(r.call) for r in self.risky if r.tree is tree)
            records.append({"ts": round(at, 6), "session": sid, "git": calls[:300],
                            "tree": top, "exclude": tree.exclude[:50],
                            "tool_use_id": tool_use_id[:200], "provisional": True})
        return records


def _worktrees(common: str) -> dict[str, str | None] | None:
    """top -> branch of every worktree of the repository whose common git folder is
    ``common``, from what git keeps there (``worktrees/<name>/gitdir`` and ``HEAD``): what
    ``git worktree list`` prints, without starting it. None for a layout it does not
    cover (a bare repository, a git folder apart from its main worktree)."""
    if os.path.basename(common) != ".git":
        return None
    try:
        with open(os.path.join(common, "config"), "rb") as fh:
            if b"bare = true" in fh.read():
                return None
    except OSError:
        return None
    found: dict[str, str | None] = {_real(os.path.dirname(common)): _head_branch(common)}
    folder = os.path.join(common, "worktrees")
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for name in names:
        try:
            with open(os.path.join(folder, name, "gitdir"), encoding="utf-8") as fh:
                dot_git = fh.read().strip()
        except (OSError, UnicodeDecodeError):
            continue
        if dot_git and os.path.exists(dot_git):  # gone: `git worktree prune` material
            found[_real(os.path.dirname(dot_git))] = _head_branch(os.path.join(folder, name))
    return found


def _head_branch(git_dir: str) -> str | None:
    """The branch ``HEAD`` names in ``git_dir`` (None: detached)."""
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8") as fh:
            head = fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return head[len("ref: refs/heads/"):] if head.startswith("ref: refs/heads/") else None


def _files_of(claims: list[dict[str, Any]], sid: str, folder: str) -> list[str]:
    """The files ``sid`` changed (claims) inside ``folder``, relative to it."""
    found = []
    for claim in claims:
        path = _real(claim["path"])
        if claim["session"] == sid and _inside(path, folder):
            found.append(os.path.relpath(path, folder) + " (changed)")
    return sorted(set(found))


def _shown(call: GitCall) -> str:
    return call.text if len(call.text) <= 80 else call.text[:77] + "..."


def _describe_code(code: str) -> str:
    if code == "??":
        return "new file"
    if "D" in code:
        return "deleted"
    if code[0] not in " ?" and code[1] == " ":
        return "staged"
    if "U" in code or code in ("AA", "DD"):
        return "conflicted"
    return "modified"


def _matches(path: str, effect: Effect, risky: Risky, tree: Tree) -> bool:
    """Is ``path`` among the files the effect's pathspecs name (all when it has none)?"""
    if effect.paths is None or any(_dynamic(p) for p in effect.paths):
        return True
    includes = [p for p in effect.paths if not p.startswith((":!", ":^", ":(exclude"))]
    if not includes:
        return True  # only exclusions: everything else
    for spec in includes:
        base = risky.cwd or tree.top
        if spec.startswith(":/"):
            base, spec = tree.top, spec[2:]
        elif spec.startswith(":("):
            magic, _sep, spec = spec[2:].partition(")")
            if "top" in magic:
                base = tree.top
        full = os.path.normcase(os.path.normpath(os.path.join(base, spec or ".")))
        if any(c in spec for c in "*?["):
            import fnmatch

            if fnmatch.fnmatchcase(path, full) or fnmatch.fnmatchcase(path, full + os.sep + "*"):
                return True
        elif _inside(path, full) or _inside(path, _real(full)):
            return True
    return False


def _dynamic(spec: str) -> bool:
    return "$" in spec or "`" in spec


def _merge(stakes: list[Stake]) -> list[Stake]:
    """One stake per (session, call, why), files joined."""
    merged: dict[tuple[str, str, str], Stake] = {}
    for stake in stakes:
        key = (stake.session, stake.call, stake.why)
        if key in merged:
            merged[key].files = sorted(set(merged[key].files) | set(stake.files))
        else:
            merged[key] = stake
    return list(merged.values())


def _live_sessions(ctx: HandlerContext, sid: str) -> dict[str, Other]:
    """The other sessions, of any project, that are live (neither ended nor stale)."""
    from state.paths import is_id, session_key
    from state.session_info import last_heartbeat, session_status, waits_in_silence

    store = ctx.store
    config = ctx.config
    stale = float(config["presence"]["idle_seconds"])
    found: dict[str, Other] = {}
    with store.reading():
        for name in store.list_children("sessions"):
            if name == sid or not is_id(name):
                continue
            beat = last_heartbeat(store, name)
            at = beat.get("at")
            waiting = waits_in_silence(beat, config, ctx.now)  # silent, yet still there
            if not isinstance(at, int | float) or (ctx.now - at >= stale and not waiting):
                continue  # stale (or never seen): its work is not at stake
            state = store.read(session_key(name, "state.json")) or {}
            status, _age = session_status(state, beat, config, ctx.now)
            if status == "ended" or (status == "stale" and not waiting):
                continue
            cwd = _where(state)
            project = state.get("project")
            found[name] = Other(name, project if isinstance(project, str) else None,
                                _real(cwd) if cwd else None, status, _mid_turn(beat, status))
    return found


def _where(state: dict[str, Any]) -> str | None:
    """The folder a session works in now: its ``cwd`` (kept current by SessionStart,
    CwdChanged and EnterWorktree/ExitWorktree), else its checkout."""
    cwd = state.get("cwd")
    if isinstance(cwd, str) and cwd and "\0" not in cwd:
        return cwd
    checkout = state.get("checkout")
    path = checkout.get("path") if isinstance(checkout, dict) else None
    return path if isinstance(path, str) and path and "\0" not in path else None


def _mid_turn(beat: dict[str, Any], status: str) -> bool:
    """Is the session in the middle of a turn (between a prompt and its Stop)? From the
    activity its hooks record (:mod:`handlers.heartbeat`): working, or waiting for a
    permission; else from its last event."""
    activity = beat.get("activity")
    if isinstance(activity, dict) and isinstance(activity.get("state"), str):
        state = activity["state"]
        waiting = activity.get("waiting")
        return state == "working" or (state == "waiting" and isinstance(waiting, dict)
                                      and waiting.get("for") == "permission")
    return status == "active" and beat.get("event") in TURN_EVENTS


# -- describing the decision --------------------------------------------------------------


def describe_session(store: Storage, sid: str, config: dict[str, Any], at: float) -> str:
    """``session <id> (<name>; <what it is doing>)`` from :func:`state.sessions.session_summary`."""
    from state.sessions import session_summary

    summary = session_summary(store, sid, config, at) or {}
    details = []
    for key in ("name", "claude_name", "session_name"):
        value = summary.get(key)
        if isinstance(value, str) and value:
            details.append(value[:80])
            break
    if summary.get("current_task"):
        details.append(f"task {str(summary['current_task'])[:80]!r}")
    doing = summary.get("doing")  # what it is doing or waits for (issue 21)
    if isinstance(doing, str) and doing:
        details.append(f"now {doing[:160]}")
    elif summary.get("last_tool"):
        details.append(f"last tool {summary['last_tool']}")
    if summary.get("status"):
        details.append(str(summary["status"]))
    agent = summary.get("agent")
    shown = f"session {sid}"
    if isinstance(agent, str) and agent:  # Claude Code, Codex CLI, Gemini CLI (issue 26)
        from hooks.agents import DISPLAY

        shown += f" ({DISPLAY.get(agent, agent)})"
    return shown + (f" ({'; '.join(details)})" if details else "")


def reason(stakes: list[Stake], store: Storage, config: dict[str, Any], at: float) -> str:
    """The reason people (and Claude) read: whose work, which files, which commands would
    take it, and how to avoid it."""
    described: dict[str, str] = {}
    # tree -> session -> why -> (calls, files)
    groups: dict[str, dict[str, dict[str, tuple[list[str], list[str]]]]] = {}
    for stake in stakes:
        calls, files = groups.setdefault(stake.tree, {}).setdefault(
            stake.session, {}).setdefault(stake.why, ([], []))
        if stake.call not in calls:
            calls.append(stake.call)
        files.extend(f for f in stake.files if f not in files)
    parts = []
    for tree, sessions in groups.items():
        lines = []
        for sid, whys in sessions.items():
            who = described.get(sid)
            if who is None:
                who = described[sid] = describe_session(store, sid, config, at)
            items = []
            for why, (calls, files) in whys.items():
                shown = files[:_MAX_FILES_SHOWN]
                more = len(files) - len(shown)
                listed = (": " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")
                          ) if shown else ""
                items.append(f"{why} ({', '.join(f'`{c}`' for c in calls)}){listed}")
            lines.append(f"{who} " + "; and ".join(items))
        parts.append(f"In {tree}, " + " | ".join(lines))
    top = stakes[0].tree if stakes else "."
    name = os.path.basename(top.rstrip(os.sep)) or "repo"
    return ("Another session would lose work to this git command. "
            + ". ".join(parts)
            + ". Let it finish (or commit) first, or do this in a separate working tree: "
            f"`git worktree add ../{name}-2 -b <new-branch>` and run it there (in Claude "
            "Code: EnterWorktree).")


# -- after the command: commits end claims, stashes get an owner --------------------------


def after_git(event: Any, ctx: HandlerContext, sid: str, project: str) -> None:
    """PostToolUse of a Bash line with git: a commit ends the claims on the files it took
    that are unchanged since; a stash entry made gets its owner; a git operation recorded
    at PreToolUse ends."""
    from handlers.git_commands import classify, git_calls, is_builtin

    command = event.tool_input.get("command")
    if not isinstance(command, str):
        return
    calls, _problems = git_calls(command, event.cwd)
    readable = [c for c in calls if c.problem is None and c.cwd is not None]
    commits = [c for c in readable if c.sub == "commit"]
    stashes = [c for c in readable if c.sub == "stash" and any(
        e.family == "stash" for e in classify(c))]
    # What PreToolUse may have recorded as a git operation under way ends with the call.
    recorded = any(classify(c) or (c.sub and not is_builtin(c.sub)) for c in readable)
    if recorded and event.tool_use_id:
        from state.claims import drop_claims

        drop_claims(ctx.store, project, sid, event.tool_use_id)
    if not commits and not stashes:
        return
    git = Git(GIT_SECONDS)
    try:
        for call in commits[:3]:
            _committed(ctx, git, call, project)
        for call in stashes[:1]:
            _stashed(ctx, git, call, sid, project)
    except GitTimeout:
        ctx.log.warning(f"git did not answer within {GIT_SECONDS:g} s after `{call.text[:80]}`")


def _committed(ctx: HandlerContext, git: Git, call: GitCall, project: str) -> None:
    """Release the claims (any session's, in this working tree) on the files of HEAD's
    commit that are unchanged since."""
    assert call.cwd is not None
    out = git.run(["rev-parse", "--path-format=absolute", "--show-toplevel", "HEAD"],
                  call.cwd, call.env)
    if out is None or len(out.split("\n")) < 2:
        return
    top_raw, sha = out.split("\n")[:2]
    top = _real(top_raw)
    files = git.run(["diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "-z",
                     "HEAD"], top)
    if not files:
        return
    committed = {_real(os.path.join(top, f)) for f in files.split("\0") if f}
    from state.claims import read_table, release_claims

    table = read_table(ctx.store, project, window=None, at=ctx.now, config=ctx.config)
    held = [c for c in table.confirmed.values() if _real(c["path"]) in committed]
    if not held:
        return
    relative = sorted({os.path.relpath(_real(c["path"]), top) for c in held})
    status = git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all",
                      "--no-renames", "--", *relative], top)
    if status is None:
        return
    dirty = {_real(os.path.join(top, e[3:])) for e in status.split("\0") if len(e) > 3}
    for claim in held:
        if _real(claim["path"]) not in dirty:
            release_claims(ctx.store, project, claim["session"], claim["file"],
                           reason="committed", commit=sha[:40])


def _stashed(ctx: HandlerContext, git: Git, call: GitCall, sid: str, project: str) -> None:
    """Record that ``sid`` made the newest stash entry, if it is new."""
    assert call.cwd is not None
    out = git.run(["rev-parse", "--path-format=absolute", "--git-common-dir", "refs/stash"],
                  call.cwd, call.env)
    if out is None:
        return
    lines = out.split("\n")
    if len(lines) < 2 or not lines[1]:
        return
    common, sha = _real(lines[0]), lines[1]
    from state.claims import read_table, record_stash

    table = read_table(ctx.store, project, window=None, at=ctx.now, config=ctx.config)
    if sha not in table.stashes:
        record_stash(ctx.store, project, sid, sha, common)
