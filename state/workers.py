"""Workers that Orchestra starts (``orchestra spawn``) and stops (``orchestra stop``).

A worker is a session registered ahead (id, role ``worker``, project, task) and then
started as a background Claude Code session on that id: by default a detached
``claude -p PROMPT --session-id ID`` (the ``print`` launcher); ``claude --bg`` (the ``bg``
launcher) when the project asks for it, though Claude Code 2.1.332 chooses a background
session's id itself (it ignores ``--session-id``), so the worker is registered once its
id is known. Its ``state.json`` keeps a ``spawn`` record: launcher, pid (this machine),
parent, permission mode, worktree, log file.

Guards, all checked before anything starts:

* **opt-in per project**: ``spawn.enabled`` (config, off by default);
* **a cap**: at most ``spawn.max_workers`` live workers per project, counted and
  registered under the plan's lock, so parallel spawns cannot overshoot;
* **workers cannot spawn**: not from a session whose role is worker, nor from a process
  a worker runs (``ORCHESTRA_WORKER`` in its environment);
* **never above the parent's permission mode**: the parent's mode is the one its last
  event reported (its heartbeat; ``default`` when none of its events said); the worker
  gets the lower of that and the one asked for (``--permission-mode``, else
  ``spawn.permission_mode``), and tools are
  pre-approved only as far as that mode would allow them;
* **no way around them**: ``--claude-arg`` refuses the Claude Code options that would
  lift the worker's permissions, change its identity or hide it from the hooks
  (:data:`_REFUSED_ARGS`);
* **worktrees**: ``--worktree`` runs it in its own ``git worktree`` (branch
  ``orchestra/<id>``), removed when it ends with nothing uncommitted, kept and reported
  otherwise.
"""

from __future__ import annotations

import os
import sys

from state.clock import iso, now
from state.errors import ConflictError, InvalidValueError, NotFoundError, StateError
from state.paths import session_key, validate_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.storage import Storage

# Each function imports what it uses: subprocess, the plan and the sessions only when a
# worker is started or stopped (views read the registry of workers).
__all__ = [
    "MODES",
    "cap_mode",
    "cleanup_worktree",
    "parent_mode",
    "spawn_workers",
    "stop_worker",
]

#: Permission modes from the least to the most a session may do unasked. ``manual`` is
#: 2.1.332's name for ``default``; ``dontAsk`` denies whatever is not pre-approved.
MODES = ("plan", "dontAsk", "default", "acceptEdits", "auto", "bypassPermissions")
_RANK = {**{m: i for i, m in enumerate(MODES)}, "manual": MODES.index("default")}
#: Tools a worker is allowed without asking, by the least mode that allows them unasked.
_TOOL_MODE = {"Read": "plan", "Glob": "plan", "Grep": "plan", "Edit": "acceptEdits",
              "Write": "acceptEdits", "MultiEdit": "acceptEdits", "NotebookEdit": "acceptEdits"}
#: The one tool every worker needs: reporting through the orchestra command.
REPORT_TOOL = "Bash(orchestra *)"

WORKER_ENV = "ORCHESTRA_WORKER"
#: Variables of the parent's session that must not reach the worker: it is its own session.
_PARENT_ONLY = ("ORCHESTRA_SESSION_ID", "CLAUDE_CODE_SESSION_ID", "CLAUDECODE",
                "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_ENV_FILE", "CLAUDE_PROJECT_DIR")


class SpawnRefused(ConflictError):
    """A guard said no (spawning off, the cap, a worker spawning, a permission mode)."""


#: Claude Code options that ``--claude-arg`` must not pass, and why: each would lift the
#: worker above the permission mode and tools spawn gave it, give it another identity than
#: the session registered for it, or hide it from Orchestra's hooks.
_REFUSED_ARGS = {
    **dict.fromkeys(("--dangerously-skip-permissions", "--allow-dangerously-skip-permissions",
                     "--permission-mode", "--allowedTools", "--allowed-tools",
                     "--permission-prompts", "--permission-prompt-tool", "--settings",
                     "--setting-sources", "--agent", "--agents"),
                    "it would change what the worker may do unasked (spawn sets that: "
                    "--permission-mode, spawn.allowed_tools)"),
    **dict.fromkeys(("--session-id", "-r", "--resume", "-c", "--continue", "--fork-session",
                     "--from-pr", "--teleport", "--cloud", "--remote-control", "--bg",
                     "--background", "-p", "--print", "-w", "--worktree", "--tmux",
                     "--desktop"),
                    "it would start another session than the worker spawn registers "
                    "(spawn sets that: --launcher, --worktree)"),
    **dict.fromkeys(("--bare", "--safe-mode"),
                    "the worker would run without Orchestra's hooks"),
}


def check_claude_args(extra: list[str]) -> list[str]:
    """``extra`` (``--claude-arg``), or SpawnRefused naming the first option a worker must
    not get (:data:`_REFUSED_ARGS`)."""
    for arg in extra:
        if not isinstance(arg, str):
            raise InvalidValueError("--claude-arg takes text")
        name = arg.split("=", 1)[0].strip()
        if not name.startswith("--") and len(name) > 2:  # -rID, -pc: joined to the next
            name = name[:2]
        reason = _REFUSED_ARGS.get(name)
        if reason is not None:
            raise SpawnRefused(f"--claude-arg {name} is refused: {reason}")
    return list(extra)


def parent_mode(store: Storage, parent: str | None) -> str | None:
    """The permission mode the parent session's last event reported; ``default`` for a
    parent session none of whose events said (nothing shows it may do more); None with no
    parent session (spawned from a terminal: a person asks)."""
    if parent is None:
        return None
    from state.sessions import last_heartbeat

    mode = last_heartbeat(store, parent).get("mode")
    return mode if mode in _RANK else "default"


def cap_mode(wanted: str, parent: str | None) -> str:
    """``wanted``, lowered to ``parent``'s mode when that is lower."""
    if wanted not in _RANK:
        raise InvalidValueError(f"invalid permission mode {wanted!r}: use one of "
                                f"{', '.join(MODES)}")
    if parent is None or _RANK[wanted] <= _RANK[parent]:
        return "default" if wanted == "manual" else wanted
    return parent if parent != "manual" else "default"


def allowed_tools(tools: list[str], mode: str) -> list[str]:
    """The pre-approved tools a worker in ``mode`` gets: those the mode allows unasked
    anyway, and the orchestra command (how it reports); never more."""
    out = [REPORT_TOOL]
    for tool in tools:
        base = tool.split("(", 1)[0]
        need = _TOOL_MODE.get(base, "bypassPermissions" if base != "Bash" else "auto")
        if (tool == REPORT_TOOL or _RANK[mode] >= _RANK[need]) and tool not in out:
            out.append(tool)
    return out


# -- the registry of live workers ---------------------------------------------------------


def live_workers(store: Storage, project: str, config: dict[str, Any],
                 at: float) -> list[dict[str, Any]]:
    from state.sessions import list_sessions

    out = []
    for summary in list_sessions(store, project=project):
        if summary["status"] not in ("active", "idle"):
            continue
        state = store.read(session_key(summary["session_id"], "state.json")) or {}
        if isinstance(state.get("spawn"), dict):
            out.append({**summary, "spawn": state["spawn"]})
    return out


def _guard(store: Storage, project: str, parent: str | None, config: dict[str, Any]) -> None:
    from state.config import project_config
    from state.sessions import role_of

    settings = project_config(config, project).get("spawn") or {}
    if not settings.get("enabled"):
        raise SpawnRefused(
            f"spawning workers is off for project {project} (the default): a person turns it on "
            f"with `orchestra shared set-config projects.{project}.spawn.enabled true`, and so "
            "consents to Orchestra starting Claude Code sessions (see docs/workers.md)")
    if os.environ.get(WORKER_ENV):
        raise SpawnRefused("a worker cannot spawn workers (this process runs in a worker "
                           f"session: {WORKER_ENV} is set)")
    if parent is not None:
        state = store.read(session_key(parent, "state.json")) or {}
        if role_of(state, config)["role"] == "worker" or isinstance(state.get("spawn"), dict):
            raise SpawnRefused(f"session {parent} is a worker: workers cannot spawn workers")


# -- spawning ----------------------------------------------------------------------------


def _prompt(project: str, task: dict[str, Any] | None) -> str:
    report = ("report progress with `orchestra task progress <id> <0-100>`, finish with "
              "`orchestra task done <id>`, or if you cannot, `orchestra task block <id> --note "
              "\"why\"`; then stop.")
    if task is not None:
        return (f"You are an Orchestra worker session of project {project}. Your assignment "
                "is in Orchestra's context for this session (its id, title and description). "
                f"Do it in this folder; {report}")
    return (f"You are an Orchestra worker session of project {project}. Run `orchestra task "
            "next` to take your task (it prints the task's id, title and description), do it "
            f"in this folder; {report}")


def spawn_workers(store: Storage, project: str, *, count: int = 1, task_id: str | None = None,
                  worktree: bool = False, permission_mode: str | None = None,
                  skills: list[str] | None = None, claude: str | None = None,
                  launcher: str | None = None, model: str | None = None,
                  extra_args: list[str] | None = None, cwd: str | None = None,
                  parent: str | None = None, config: dict[str, Any] | None = None,
                  dry_run: bool = False) -> list[dict[str, Any]]:
    """Register and start ``count`` workers (one, given ``task_id``); what was started."""
    import uuid

    from state.config import load_config, project_config
    from state.plan import _change, assign_task, get_task, normalize_id

    config = config if config is not None else load_config(store)
    settings = project_config(config, project).get("spawn") or {}
    if count < 1 or count > 64:
        raise InvalidValueError("--count must be from 1 to 64")
    if task_id is not None and count != 1:
        raise InvalidValueError("--task gives one task to one worker; --count N starts N "
                                "workers that each take theirs with `orchestra task next`")
    extra = check_claude_args(extra_args or [])
    _guard(store, project, parent, config)
    if skills is not None:  # as the registration will, so that a dry run says so too
        from state.sessions import check_role

        check_role(store, "worker", skills, None)
    task = get_task(store, project, task_id) if task_id is not None else None
    if task is not None:
        if task.get("status") == "done":
            raise ConflictError(f"task {task['id']} is done")
        holder = task.get("assignee") if task.get("assignee_type") == "session" else None
        if holder and holder != parent:
            raise ConflictError(f"task {task['id']} is with session {holder}: hand it off "
                                "first (orchestra task handoff), or pick another")
    mode = cap_mode(permission_mode or str(settings.get("permission_mode") or "acceptEdits"),
                    parent_mode(store, parent))
    if mode == "plan":
        raise SpawnRefused("the parent session is in plan mode: a worker could not change "
                           "anything; leave plan mode first")
    tools = allowed_tools([str(t) for t in settings.get("allowed_tools") or []], mode)
    how = launcher or str(settings.get("launcher") or "print")
    if how not in ("print", "bg"):
        raise InvalidValueError(f"invalid launcher {how!r}: print or bg")
    binary = _claude_binary(claude, settings)
    folder = os.path.abspath(cwd or os.getcwd())
    limit = int(settings.get("max_workers") or 3)
    at = now()

    plans: list[dict[str, Any]] = []

    def register(doc: dict[str, Any]) -> None:  # under the plan's lock: check and count
        live = live_workers(store, project, config, at)
        if len(live) + count > limit:
            raise SpawnRefused(
                f"project {project} has {len(live)} live worker(s) of at most {limit} "
                f"(spawn.max_workers); {count} more would be too many: stop one (orchestra "
                "stop <session>) or raise the cap")
        if dry_run:
            return
        from state.sessions import create_session

        for _ in range(count):
            sid = str(uuid.uuid4())
            record = {"launcher": how, "parent": parent, "permission_mode": mode,
                      "allowed_tools": tools, "requested_at": iso(at), "cwd": folder,
                      "task": task["id"] if task else None, "state": "registered"}
            create_session(store, mode="worker", project=project, session_id=sid,
                           role="worker", skills=skills, extra={"spawn": record})
            plans.append({"session_id": sid, **record})

    _change(store, project, register)
    if dry_run:
        return [{"session_id": "(new)", "launcher": how, "permission_mode": mode,
                 "allowed_tools": tools, "task": task["id"] if task else None, "cwd": folder,
                 "worktree": worktree, "claude": binary, "claude_args": extra,
                 "prompt": _prompt(project, task)}
                for _ in range(count)]
    started = []
    for plan in plans:
        sid = plan["session_id"]
        try:
            where = _make_worktree(folder, sid) if worktree else None
            if task is not None:
                assign_task(store, project, normalize_id(task["id"]), by=parent or "cli",
                            to_session=sid, reason="spawned for it", config=config)
            info = _launch(store, sid, binary, how, mode, tools, model, extra,
                           where or folder, project, task, parent)
            if where:
                info["worktree"] = where
            _record(store, sid, {**info, "state": "started", "started_at": iso()})
            if how == "bg" and info.get("claude_session_id"):
                _adopt(store, project, sid, str(info["claude_session_id"]),
                       {"state": "started", "started_at": iso()})
                sid = str(info["claude_session_id"])
            started.append({**plan, **info, "session_id": sid})
        except (OSError, StateError, ValueError) as exc:
            _abandon(store, project, sid, f"could not start: {exc}")
            raise StateError(f"worker {sid} could not start: {exc}") from None
    return started


def _claude_binary(given: str | None, settings: dict[str, Any]) -> str:
    import shutil

    name = given or settings.get("claude") or "claude"
    found = shutil.which(str(name))
    if found is None:
        raise NotFoundError(f"no Claude Code command {name!r} on PATH (pass --claude PATH, or "
                            "set spawn.claude in the config)")
    return found


def _child_env(sid: str, parent: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PARENT_ONLY}
    env[WORKER_ENV] = sid
    if parent:
        env["ORCHESTRA_SPAWNED_BY"] = parent
    return env


def _log_path(sid: str) -> str:
    from state.paths import root

    folder = os.path.join(root(), "logs", "workers")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return os.path.join(folder, f"{validate_id(sid, 'session id')}.log")


def _launch(store: Storage, sid: str, binary: str, how: str, mode: str, tools: list[str],
            model: str | None, extra: list[str], folder: str, project: str,
            task: dict[str, Any] | None, parent: str | None) -> dict[str, Any]:
    import subprocess

    from state.paths import root
    from state.persistence.machine import machine_id

    prompt = _prompt(project, task)
    args = [binary, "--bg", prompt] if how == "bg" else [binary, "-p", prompt,
                                                         "--session-id", sid]
    args += ["--permission-mode", mode, "--allowedTools", *tools]
    if mode == "bypassPermissions":
        args.append("--allow-dangerously-skip-permissions")
    if model:
        args += ["--model", model]
    args += extra
    log = _log_path(sid)
    env = _child_env(sid, parent)
    if how == "bg":
        done = subprocess.run(args, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(done.stdout + done.stderr)
        bg_id = _bg_id(done.stdout + "\n" + done.stderr)
        if done.returncode != 0 or bg_id is None:
            raise StateError(f"claude --bg exited {done.returncode}: "
                             f"{(done.stderr or done.stdout).strip()[-300:]}")
        return {"bg_id": bg_id, "claude_session_id": _bg_session(binary, bg_id, folder, env),
                "machine": machine_id(root()), "log": log}
    flags: dict[str, Any] = {}
    if sys.platform == "win32":
        flags["creationflags"] = (subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
                                  | subprocess.DETACHED_PROCESS)  # type: ignore[attr-defined]
    else:
        flags["start_new_session"] = True
    with open(log, "ab") as out:
        child = subprocess.Popen(args, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT, **flags)
    return {"pid": child.pid, "machine": machine_id(root()), "log": log}


def _bg_session(binary: str, bg_id: str, folder: str, env: dict[str, str]) -> str | None:
    """The full session id of the background session ``bg_id`` (``claude agents --json``)."""
    import json
    import subprocess
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = subprocess.run([binary, "agents", "--json", "--all"], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, check=False)
        try:
            listed = json.loads(done.stdout or "[]")
        except ValueError:
            listed = []
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, dict) and entry.get("id") == bg_id:
                sid = entry.get("sessionId")
                return sid if isinstance(sid, str) else None
        time.sleep(0.5)
    return None


def _adopt(store: Storage, project: str, placeholder: str, real: str,
           info: dict[str, Any]) -> None:
    """``claude --bg`` chose the session's id itself: the registered placeholder's role,
    task and spawn record move to it, and the placeholder ends."""
    from state.plan import handoff_task, plan_tasks
    from state.sessions import create_session, end_session

    real = validate_id(real, "session id")
    spawn = (store.read(session_key(placeholder, "state.json")) or {}).get("spawn") or {}
    record = {**spawn, **info, "replaces": placeholder}
    if store.exists(session_key(real, "state.json")):
        with store.transaction(session_key(real, "state.json"), create=False) as doc:
            doc.update(role="worker", project=project, spawn=record)
    else:
        create_session(store, mode="worker", project=project, session_id=real, role="worker",
                       extra={"spawn": record})
    for tid, task in plan_tasks(store, project).items():
        if task.get("assignee") == placeholder and task.get("status") != "done":
            handoff_task(store, project, tid, to_session=real, by=placeholder,
                         note="the background session Orchestra started")
    _record(store, placeholder, {"state": "replaced", "replaced_by": real})
    end_session(store, placeholder, reason=f"replaced by {real}")


def _bg_id(text: str) -> str | None:
    import re

    found = re.search(r"backgrounded\s*[·:-]\s*([0-9a-f]{6,})", text)
    return found.group(1) if found else None


def _record(store: Storage, sid: str, fields: dict[str, Any]) -> None:
    with store.transaction(session_key(sid, "state.json"), create=False) as doc:
        spawn = doc.get("spawn")
        if isinstance(spawn, dict):
            spawn.update(fields)


def _abandon(store: Storage, project: str, sid: str, why: str) -> None:
    """A worker that could not start: ended, its task back in the pool."""
    from contextlib import suppress

    from state.plan import return_to_pool
    from state.sessions import end_session

    with suppress(StateError, OSError):
        _record(store, sid, {"state": "failed", "error": why[:300]})
        end_session(store, sid, reason="spawn failed")
        return_to_pool(store, project, only=sid, ending="spawn failed")


# -- worktrees --------------------------------------------------------------------------


def _git(args: list[str], cwd: str) -> str:
    import subprocess

    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise StateError(f"git {' '.join(args[:3])}: {done.stderr.strip()[-300:]}")
    return done.stdout


def _make_worktree(folder: str, sid: str) -> str:
    top = _git(["rev-parse", "--show-toplevel"], folder).strip()
    short = sid.split("-")[0]
    where = os.path.join(top, ".claude", "worktrees", f"orchestra-{short}")
    _git(["worktree", "add", "-b", f"orchestra/{short}", where, "HEAD"], top)
    return where


def cleanup_worktree(store: Storage, sid: str) -> dict[str, Any] | None:
    """Remove the worker's worktree if nothing in it is uncommitted; else keep it and say
    what is there. None when the worker has no worktree (or it is gone already)."""
    state = store.read(session_key(sid, "state.json")) or {}
    spawn: dict[str, Any] = state["spawn"] if isinstance(state.get("spawn"), dict) else {}
    where = spawn.get("worktree")
    if not isinstance(where, str) or spawn.get("worktree_state") == "removed":
        return None
    if not os.path.isdir(where):
        _record(store, sid, {"worktree_state": "removed"})
        return {"path": where, "state": "removed"}
    try:
        dirty = [line[3:] for line in _git(["status", "--porcelain"], where).splitlines()
                 if line.strip()]
    except StateError as exc:
        return {"path": where, "state": "kept", "error": str(exc)}
    if dirty:
        report = {"path": where, "state": "kept", "uncommitted": dirty[:50]}
        _record(store, sid, {"worktree_state": "kept", "uncommitted": dirty[:50]})
        return report
    top = _git(["rev-parse", "--git-common-dir"], where).strip()
    repo = os.path.dirname(os.path.abspath(os.path.join(where, top)))
    _git(["worktree", "remove", where], repo)
    _record(store, sid, {"worktree_state": "removed"})
    return {"path": where, "state": "removed",
            "branch": f"orchestra/{sid.split('-')[0]} (kept: it may hold commits)"}


# -- stopping ---------------------------------------------------------------------------


def stop_worker(store: Storage, sid: str, *, by: str | None = None, force: bool = False,
                claude: str | None = None, wait: float = 10.0) -> dict[str, Any]:
    """Stop a worker Orchestra started: end its process, end the session, return its open
    tasks to the pool, release its tool instances, clean its worktree."""
    from state.capacity import release_session
    from state.paths import root
    from state.persistence.machine import machine_id
    from state.plan import return_to_pool
    from state.sessions import end_session, require_session

    validate_id(sid, "session id")
    state = require_session(store, sid)
    spawn = state.get("spawn")
    if not isinstance(spawn, dict):
        raise SpawnRefused(f"session {sid} was not started by orchestra spawn: orchestra stop "
                           "only stops the workers it started (end others in their terminal)")
    if by is not None and by != sid:
        caller = store.read(session_key(by, "state.json")) or {}
        if isinstance(caller.get("spawn"), dict):
            raise SpawnRefused("a worker cannot stop other workers")
    report: dict[str, Any] = {"stopped": sid}
    pid = spawn.get("pid")
    if isinstance(pid, int) and spawn.get("machine") not in (None, machine_id(root())):
        report["process"] = f"runs on {spawn.get('machine')}: stop it there"
    elif isinstance(pid, int):
        report["process"] = _terminate(pid, force=force, wait=wait, sid=sid)
    elif spawn.get("bg_id"):
        report["process"] = _stop_bg(str(spawn["bg_id"]), claude)
    if state.get("status") != "ended":
        end_session(store, sid, reason="stopped")
    project = state.get("project")
    if isinstance(project, str):
        report["returned"] = [t["id"] for t in return_to_pool(
            store, project, only=sid, ending="stopped by orchestra stop")]
    release_session(store, sid)
    report["worktree"] = cleanup_worktree(store, sid)
    _record(store, sid, {"state": "stopped", "stopped_at": iso(), "stopped_by": by})
    return report


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        import subprocess

        done = subprocess.run(["tasklist", "/FI", f"PID eq {pid}"], capture_output=True,
                              text=True, check=False)
        return str(pid) in done.stdout
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own child, not reaped yet) is as good as gone
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[-1][:1] != "Z"
    except OSError:
        return True


def _still_the_worker(pid: int, sid: str) -> bool:
    """Is process ``pid`` still worker ``sid``'s, not another that got its pid since the
    worker ended? Where the system shows a process's environment (Linux ``/proc``), the
    worker's has ``ORCHESTRA_WORKER=<sid>``; elsewhere, or unreadable, it is taken to be."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read().split(b"\0")
    except OSError:
        return True
    return f"{WORKER_ENV}={sid}".encode() in environ


def _terminate(pid: int, *, force: bool, wait: float, sid: str | None = None) -> str:
    import signal
    import time

    if not _alive(pid):
        return f"pid {pid} had ended"
    if sid is not None and not _still_the_worker(pid, sid):  # never signal a stranger
        return f"pid {pid} had ended (another process has that pid now: not signalled)"
    if sys.platform == "win32":
        import subprocess

        subprocess.run(["taskkill", "/PID", str(pid), "/T", *(["/F"] if force else [])],
                       capture_output=True, check=False)
        return f"pid {pid} stopped"
    try:  # the worker leads its own process group (start_new_session): end all of it
        os.killpg(pid, signal.SIGKILL if force else signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return f"pid {pid} had ended"
    deadline = time.monotonic() + wait
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
        return f"pid {pid} killed (it did not end within {wait:g}s of SIGTERM)"
    return f"pid {pid} stopped"


def _stop_bg(bg_id: str, claude: str | None) -> str:
    import shutil
    import subprocess

    binary = shutil.which(claude or "claude")
    if binary is None:
        return f"claude not on PATH: run `claude stop {bg_id}`"
    done = subprocess.run([binary, "stop", bg_id], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)
    return f"claude stop {bg_id}: exit {done.returncode}"
