"""File claims: which session changed which file, per project, and which writes are under way.

Every Write/Edit/NotebookEdit (and recognisable Bash write) appends one line
to ``projects/<id>/claims.jsonl``. Finding claims costs a bounded read however long the
history: once the live segment holds more than :data:`CHECKPOINT_BYTES` (32 KB), the check
that finds it so rotates it, and the new live segment starts with one **checkpoint** line
whose records replay to the same claims (:func:`checkpoint_records`: every claim still
held, of any age, each git operation under way and each stash; those of ended sessions
left out). A reader takes the checkpoint, the lines the old segment got after it was cut
and the live segment (:func:`state.persistence.storage.assemble_log`). Where a checkpoint
cannot be made (a file system without hard links), the log is renamed at
:data:`SEGMENT_BYTES` and read as its two newest segments. Kinds of lines (all with ``ts``
and ``session``, but the checkpoint, which has no ``session``, so readers of the history
pass it by):

* a **provisional claim** (``"provisional": true``, ``tool_use_id``): written by
  :func:`claim_step` at PreToolUse, in the same step, under the same lock, as the check
  that let the write through, so two sessions checking the same file at the same moment
  cannot both be let through. It holds until the call's result: the **confirmed claim**
  that PostToolUse writes with the same ``tool_use_id`` replaces it; a **drop**
  (``"drop": tool_use_id``; ``"*"``: all of the session's, at its Stop) written at
  PostToolUseFailure or PermissionDenied removes it. Never on a timer: a permission
  prompt can wait for minutes;
* a **confirmed claim** (``file``, ``path``, ``tool``): live while younger than
  ``claims.window_seconds``;
* a **git operation** (``"git": "stash"``, ``tree``): a risky git command the guard let
  through, provisional like a claim on every file of that working tree until its result;
* a **release** (``"release": true``, optional ``file``, ``reason``): ends the session's
  claims (on that file) — at SessionEnd, by ``session_manager release``, or when a commit
  took the file and it is unchanged since (``"reason": "committed"``);
* a **stash** (``"stash": sha``, ``repo``): the session made that stash entry
  (``refs/stash`` is shared by every worktree of a repository).

Every claim also ends when its session is ended or stale (no heartbeat past the stale
threshold, ``presence.idle_seconds``) — but not while it waits for a person (a permission
prompt sends nothing until it is answered), up to ``presence.stale_seconds``.

A claim names its file twice (:func:`claim_file`):

* ``file`` — the identity that claims are compared by: the real path (symlinks
  resolved) relative to the project's root, with ``/`` separators
  (``src/app.py``), so that the same file of a project checked out at different
  places — two machines — is one claim; a file outside the project keeps its
  absolute real path;
* ``path`` — the absolute real path the claiming session saw, for people (and for the
  git guard, which tells working trees apart by it).

The project's root (:func:`project_root`): ``projects.<id>.root`` from the
config, else the folder the session's project was taken from (its
``project_dir``, recorded at its first event: ``$CLAUDE_PROJECT_DIR`` or ``cwd``),
else ``$CLAUDE_PROJECT_DIR``, else the session's ``cwd``.
"""

from __future__ import annotations

import os

from state.clock import iso, now
from state.paths import project_key, session_key
from state.persistence.storage import Storage

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays off the dispatcher's hot path
    from collections.abc import Callable, Iterable
    from typing import Any

__all__ = ["ClaimTable", "checkpoint_records", "claim_file", "claim_step", "claims_table",
           "drop_claims",
           "live_claims", "project_root", "read_table", "record_claim", "record_stash",
           "release_claims"]

CLAIMS = "claims.jsonl"
#: Past this, a check rotates the log with a checkpoint (the live segment's size beyond it).
CHECKPOINT_BYTES = 32 * 1024
#: Past this, the log is renamed where no checkpoint can be made.
SEGMENT_BYTES = 256 * 1024
#: A line's ``ts`` beyond this (a hand-made 1e308, NaN) is no time: the line is skipped.
_TS_BOUND = 1e11


def project_root(config: dict[str, Any], project: str,
                 state: dict[str, Any] | None = None) -> str | None:
    """The folder claims of ``project`` are relative to (see the module docstring)."""
    projects = config.get("projects")
    settings = projects.get(project) if isinstance(projects, dict) else None
    root = settings.get("root") if isinstance(settings, dict) else None
    if isinstance(root, str) and root:
        return os.path.expanduser(root)
    state = state or {}
    for folder in (state.get("project_dir"), os.environ.get("CLAUDE_PROJECT_DIR"),
                   state.get("cwd")):
        if isinstance(folder, str) and folder and os.path.isabs(folder):
            return folder
    return None


def claim_file(path: str, root: str | None) -> tuple[str, str]:
    """(``file``, ``path``) of a claim on ``path`` (absolute): see the module docstring."""
    try:
        real = os.path.realpath(path)
        base = os.path.realpath(root).rstrip(os.sep) + os.sep if root else None
    except (OSError, ValueError):  # a NUL, a loop: compare the text as it is
        return path, path
    if base is not None and os.path.normcase(real).startswith(os.path.normcase(base)):
        return real[len(base):].replace(os.sep, "/"), real
    return real, real


def claim_record(session_id: str, file: str, *, tool: str, path: str | None = None,
                 at: float | None = None, tool_use_id: str | None = None,
                 provisional: bool = False) -> dict[str, Any]:
    """The log line of a claim (see the module docstring)."""
    record: dict[str, Any] = {"ts": round(now() if at is None else at, 6),
                              "session": session_id, "file": file[:4096],
                              "path": (path or file)[:4096], "tool": tool[:64]}
    if tool_use_id:
        record["tool_use_id"] = tool_use_id[:200]
    if provisional:
        record["provisional"] = True
    return record


def record_claim(store: Storage, project: str, session_id: str, file: str, *, tool: str,
                 path: str | None = None, at: float | None = None,
                 tool_use_id: str | None = None) -> None:
    """Claim ``file`` (its identity, from :func:`claim_file`; ``path`` is for display);
    with ``tool_use_id``, this confirms the provisional claims of that call."""
    # Only a step rotates the log, under its lock (see Storage.log_step): one is taken here
    # when no check did it for long (claims.policy off). Files only: a stat is cheap there.
    key = project_key(project, CLAIMS)
    store.append(key, claim_record(session_id, file, tool=tool, path=path, at=at,
                                   tool_use_id=tool_use_id))
    if store.keeps_stamps and store.size(key) > 4 * CHECKPOINT_BYTES:
        moment = now() if at is None else at

        def make(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            from state.config import load_config  # rare: only when it rotates

            return checkpoint_records(store, records, at=moment, config=load_config(store))

        store.log_step(key, lambda records: [], max_bytes=SEGMENT_BYTES,
                       checkpoint=(CHECKPOINT_BYTES, make))


def release_claims(store: Storage, project: str, session_id: str,
                   file: str | None = None, *, reason: str | None = None,
                   commit: str | None = None) -> None:
    """End ``session_id``'s claims (on ``file`` only, if given; all, also the provisional
    ones, if not)."""
    record: dict[str, Any] = {"ts": round(now(), 6), "session": session_id, "release": True}
    if file is not None:
        record["file"] = file
    if reason:
        record["reason"] = reason
    if commit:
        record["commit"] = commit
    store.append(project_key(project, CLAIMS), record)


def drop_claims(store: Storage, project: str, session_id: str, tool_use_id: str) -> None:
    """Drop the provisional claims (and git operation) of one call — ``"*"``: all of the
    session's — whose write did not happen or is over."""
    store.append(project_key(project, CLAIMS), {"ts": round(now(), 6), "session": session_id,
                                                "drop": tool_use_id[:200]})


def record_stash(store: Storage, project: str, session_id: str, sha: str, repo: str) -> None:
    """``session_id`` made the stash entry ``sha`` in the repository whose common git
    folder is ``repo``."""
    store.append(project_key(project, CLAIMS), {"ts": round(now(), 6), "session": session_id,
                                                "stash": sha[:64], "repo": repo[:4096]})


def _file(record: dict[str, Any]) -> Any:
    """A record's identity; lines written before ``file`` existed only have ``path``."""
    return record.get("file", record.get("path"))


def _recent_records(store: Storage, key: str) -> list[dict[str, Any]]:
    return store.read_recent(key)


class ClaimTable:
    """The claims of one project at one moment (see :func:`claims_table`)."""

    __slots__ = ("confirmed", "earlier", "git", "pending", "stashes", "statuses")

    def __init__(self) -> None:
        #: (file, session) -> the session's newest confirmed claim on the file
        self.confirmed: dict[tuple[str, str], dict[str, Any]] = {}
        #: (session, tool_use_id) -> the provisional claims of that call
        self.pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
        #: (session, tool_use_id) -> a git operation under way
        self.git: dict[tuple[str, str], dict[str, Any]] = {}
        #: stash entry sha -> the record of the session that made it
        self.stashes: dict[str, dict[str, Any]] = {}
        #: session -> status (active, idle...) of every session holding something
        self.statuses: dict[str, str] = {}
        #: (file, session) -> earlier confirmed claims that a window could still show, each
        #: younger than every later one (filled only for a checkpoint: see claims_table)
        self.earlier: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def claims(self) -> list[dict[str, Any]]:
        """Every claim held: confirmed and provisional, oldest first."""
        found = list(self.confirmed.values())
        for batch in self.pending.values():
            found.extend(batch)
        return sorted(found, key=lambda c: c["ts"])

    def holders(self, file: str, since: float | None = None) -> list[dict[str, Any]]:
        """The claims on ``file`` (confirmed ones from ``since`` on), newest first."""
        return sorted((c for c in self.claims() if c["file"] == file and (
            since is None or c["state"] == "provisional" or c["ts"] >= since)),
            key=lambda c: -c["ts"])

    def newest(self, since: float | None = None) -> dict[str, dict[str, Any]]:
        """file -> its newest claim (the session that changed it last); confirmed claims
        older than ``since`` do not count."""
        latest: dict[str, dict[str, Any]] = {}
        for claim in self.claims():  # oldest first: a newer claim replaces an older one
            if since is None or claim["state"] == "provisional" or claim["ts"] >= since:
                latest[claim["file"]] = claim
        return latest


def claims_table(records: list[dict[str, Any]], *, window: float | None,
                 at: float, earlier: bool = False) -> ClaimTable:
    """What ``records`` (a claims log, oldest first) say is held at ``at``: confirmed
    claims younger than ``window`` seconds (any age with None), provisional claims and
    git operations whatever their age. Sessions are not checked here (see
    :func:`read_table`). ``earlier``: also keep in ``table.earlier`` the confirmed claims
    a later one replaced but a window could still show (a clock set back: a later line
    with an older ``ts``), so that a checkpoint replays the same under any window."""
    threshold = at - window if window is not None else float("-inf")
    table = ClaimTable()
    chains = table.earlier if earlier else None
    for record in records:
        ts = record.get("ts")
        session = record.get("session")
        if not isinstance(ts, int | float) or isinstance(ts, bool) or not isinstance(
                session, str) or not -_TS_BOUND < ts < _TS_BOUND:  # (NaN: False)
            continue
        if "drop" in record:
            _drop(table, session, record["drop"])
            continue
        if record.get("release"):
            _release(table, session, _file(record))
            continue
        tool_use_id = record.get("tool_use_id")
        if not isinstance(tool_use_id, str):
            tool_use_id = None
        if "stash" in record:
            sha = record["stash"]
            if isinstance(sha, str) and sha:
                table.stashes[sha] = {"session": session, "stash": sha, "ts": ts,
                                      "repo": record.get("repo"), "at": None}
            continue
        if "git" in record:
            if record.get("provisional") and tool_use_id:
                table.git[session, tool_use_id] = {
                    "session": session, "git": str(record["git"])[:300], "ts": ts, "at": None,
                    "tree": record.get("tree"), "exclude": record.get("exclude") or [],
                    "tool_use_id": tool_use_id, "state": "provisional"}
            continue
        target = _file(record)
        if not isinstance(target, str):
            continue
        shown = record.get("path")
        claim = {"session": session, "file": target,
                 "path": shown if isinstance(shown, str) else target,
                 "tool": record.get("tool"), "ts": ts, "at": None}
        if tool_use_id:
            claim["tool_use_id"] = tool_use_id
        if record.get("provisional"):
            if tool_use_id:
                claim["state"] = "provisional"
                table.pending.setdefault((session, tool_use_id), []).append(claim)
            continue
        if tool_use_id:  # the call's result: its provisional claims are now this one
            table.pending.pop((session, tool_use_id), None)
        if ts >= threshold:
            claim["state"] = "confirmed"
            if chains is not None:
                _chain(chains, table.confirmed.get((target, session)), target, session, ts)
            table.confirmed[target, session] = claim
    # "at" (the time as text) only for what is held: most lines of the log are not
    for held in (*table.confirmed.values(), *table.git.values(), *table.stashes.values()):
        held["at"] = iso(held["ts"])
    for batch in table.pending.values():
        for claim in batch:
            claim["at"] = iso(claim["ts"])
    return table


def _drop(table: ClaimTable, session: str, tool_use_id: Any) -> None:
    if tool_use_id == "*":
        for key in [k for k in table.pending if k[0] == session]:
            del table.pending[key]
        for key in [k for k in table.git if k[0] == session]:
            del table.git[key]
    elif isinstance(tool_use_id, str):
        table.pending.pop((session, tool_use_id), None)
        table.git.pop((session, tool_use_id), None)


def _chain(chains: dict[tuple[str, str], list[dict[str, Any]]],
           replaced: dict[str, Any] | None, file: str, session: str, ts: float) -> None:
    """Keep ``replaced`` (the claim a newer one on ``(file, session)`` at ``ts`` replaces)
    while it is younger than every later claim: the one a window would then show."""
    chain = chains.get((file, session))
    if replaced is not None:
        if chain is None:
            chain = chains[file, session] = []
        chain.append(replaced)
    while chain and chain[-1]["ts"] <= ts:
        chain.pop()


def _release(table: ClaimTable, session: str, file: Any) -> None:
    for key in [k for k in table.confirmed if k[1] == session and file in (None, k[0])]:
        del table.confirmed[key]
        table.earlier.pop(key, None)
    if file is None:
        _drop(table, session, "*")


def read_table(store: Storage, project: str, *, window: float | None,
               at: float | None = None, records: list[dict[str, Any]] | None = None,
               config: dict[str, Any] | None = None, files: Iterable[str] | None = None,
               live: str | None = None) -> ClaimTable:
    """The claims of ``project`` held by live sessions (neither ended nor stale).
    ``records``: the log as already read (under :func:`claim_step`'s lock).

    ``files``: only the claims on these files (and git operations) will be looked at —
    a check of one write — so only the sessions holding those are looked up (two reads
    each); the claims of the others stay in the table unchecked. ``live``: a session
    known to be live (the one whose event is being dispatched), never looked up."""
    moment = now() if at is None else at
    if records is None:
        records = _recent_records(store, project_key(project, CLAIMS))
    table = claims_table(records, window=window, at=moment)
    statuses = table.statuses
    if live is not None:
        statuses[live] = "active"
    wanted = _holders(table, None if files is None else set(files)) - statuses.keys()
    if wanted:
        if config is None:
            from state.config import load_config  # with sessions: not on every claim's path

            config = load_config(store)
        statuses.update(_statuses(store, wanted, config, moment))
    gone = {sid for sid, status in statuses.items() if status in ("ended", "stale")}
    if gone:
        _forget(table, gone)
    for claim in table.claims():
        status = statuses.get(claim["session"])
        if status is not None:
            claim["session_status"] = status
    return table


def _holders(table: ClaimTable, files: set[str] | None = None) -> set[str]:
    """The sessions that hold something in ``table`` (with ``files``: a claim on one of
    them, or a git operation)."""
    if files is not None:
        return {s for f, s in table.confirmed if f in files} | {
            c["session"] for batch in table.pending.values() for c in batch
            if c["file"] in files} | {s for s, _t in table.git}
    return {s for _f, s in table.confirmed} | {s for s, _t in table.pending} | {
        s for s, _t in table.git} | {r["session"] for r in table.stashes.values()}


def _statuses(store: Storage, sessions: set[str], config: dict[str, Any],
              moment: float) -> dict[str, str]:
    """session -> its status at ``moment`` (``waiting for a person`` for one that is stale
    but silent because it waits for an answer)."""
    from state.session_info import last_heartbeat, session_status, waits_in_silence

    statuses = {}
    for sid in sessions:
        state = store.read(session_key(sid, "state.json")) or {}
        beat = last_heartbeat(store, sid)
        statuses[sid] = session_status(state, beat, config, moment)[0]
        if statuses[sid] == "stale" and waits_in_silence(beat, config, moment):
            statuses[sid] = "waiting for a person"  # silent, not gone: its ask may come back
    return statuses


def _silent_for(store: Storage, sid: str, at: float) -> float:
    """Seconds since the session's last heartbeat (0 without one: nothing is known of it,
    so nothing is dropped)."""
    from state.session_info import last_heartbeat

    last = last_heartbeat(store, sid).get("at")
    if not isinstance(last, int | float) or isinstance(last, bool):
        return 0.0
    return at - float(last)


def _stale_after(config: dict[str, Any]) -> float:
    presence = config.get("presence")
    value = presence.get("stale_seconds") if isinstance(presence, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return 6 * 3600.0


def _forget(table: ClaimTable, gone: set[str]) -> None:
    """Take what the sessions ``gone`` hold out of ``table``."""
    for key in [k for k in table.confirmed if k[1] in gone]:
        del table.confirmed[key]
        table.earlier.pop(key, None)
    for key in [k for k in table.pending if k[0] in gone]:
        del table.pending[key]
    for key in [k for k in table.git if k[0] in gone]:
        del table.git[key]
    for sha in [s for s, r in table.stashes.items() if r["session"] in gone]:
        del table.stashes[sha]


def checkpoint_records(store: Storage, records: list[dict[str, Any]], *, at: float,
                       config: dict[str, Any], statuses: dict[str, str] | None = None
                       ) -> list[dict[str, Any]]:
    """The fewest claim lines that replay (:func:`claims_table`, under any window) to what
    ``records`` hold: confirmed claims of any age, then git operations, provisional claims
    and stashes, each in the order the table keeps them. Sessions that have ended hold
    nothing and are left out, and so are those without a heartbeat for longer than
    ``presence.stale_seconds`` (crashed: nothing would ever end their claims); a session
    stale for less is kept (it may only be waiting for a person, or back soon).
    ``statuses``: those already known (a check's own table)."""
    table = claims_table(records, window=None, at=at, earlier=True)
    known = dict(statuses or {})
    known.update(_statuses(store, _holders(table) - known.keys(), config, at))
    gone = {sid for sid, status in known.items() if status == "ended"
            or (status == "stale" and _silent_for(store, sid, at) > _stale_after(config))}
    if gone:
        _forget(table, gone)
    out: list[dict[str, Any]] = []
    for key, claim in table.confirmed.items():
        out.extend(_claim_line(c) for c in table.earlier.get(key, ()))
        out.append(_claim_line(claim))
    for op in table.git.values():
        line = {"ts": op["ts"], "session": op["session"], "git": op["git"],
                "tree": op["tree"], "tool_use_id": op["tool_use_id"], "provisional": True}
        if op["exclude"]:
            line["exclude"] = op["exclude"]
        out.append(line)
    for batch in table.pending.values():
        out.extend(_claim_line(claim, provisional=True) for claim in batch)
    out.extend({"ts": r["ts"], "session": r["session"], "stash": r["stash"],
                "repo": r["repo"]} for r in table.stashes.values())
    return out


def _claim_line(claim: dict[str, Any], *, provisional: bool = False) -> dict[str, Any]:
    line = {"ts": claim["ts"], "session": claim["session"], "file": claim["file"],
            "path": claim["path"], "tool": claim["tool"]}
    if "tool_use_id" in claim:
        line["tool_use_id"] = claim["tool_use_id"]
    if provisional:
        line["provisional"] = True
    return line


def live_claims(store: Storage, project: str, *, window: float,
                at: float | None = None) -> dict[str, dict[str, Any]]:
    """file -> newest live claim ``{session, file, path, tool, ts, at, state, held,
    session_status}`` (any session); ``held`` says why it is still held."""
    from state.config import load_config  # with sessions: not on every claim's path

    moment = now() if at is None else at
    config = load_config(store)
    table = read_table(store, project, window=window, at=moment, config=config)
    stale_after = config["presence"]["idle_seconds"]
    latest = table.newest()
    for claim in latest.values():
        claim["held"] = held_because(claim, window, stale_after)
        if claim.get("state") == "confirmed":
            claim["until"] = iso(claim["ts"] + window)
    return latest


def held_because(claim: dict[str, Any], window: float, stale_after: float) -> str:
    """One sentence: why ``claim`` is still held, and what ends it."""
    who = f"session {claim['session']} ({claim.get('session_status', '?')})"
    if claim.get("state") == "provisional":
        return (f"provisional: {who} was let through to write it with {claim.get('tool')} "
                f"at {claim['at']} and that call has not finished; its result confirms the "
                "claim, a failure or a denied permission drops it, and so do the session's "
                f"next Stop, its end and {int(stale_after)} s without a heartbeat (longer "
                "while it waits for a person)")
    return (f"{who} changed it with {claim.get('tool')} at {claim['at']}; held until "
            f"{iso(claim['ts'] + window)} (claims.window_seconds {int(window)}), or until "
            "the file is committed unchanged, the session ends or it has no heartbeat for "
            f"{int(stale_after)} s (longer while it waits for a person)")


def claim_step(store: Storage, project: str,
               decide: Callable[[ClaimTable], list[dict[str, Any]]], *,
               window: float | None, at: float, config: dict[str, Any],
               timeout: float | None = None, files: Iterable[str] | None = None,
               live: str | None = None) -> str | None:
    """Check and claim in one step: under the claims log's lock, ``decide`` gets the
    project's current claims (live sessions only) and returns the lines to append
    (provisional claims, a git operation), which are written before the lock is let go.
    ``files`` and ``live``: as for :func:`read_table` (a ``decide`` that looks only at
    those files' claims and at git operations).

    Returns None, or a note when the decision could not be made on current data (a
    PostgreSQL server that did not answer in time: the local copy was used), for the
    reason shown to people. ``timeout``: the most the step may wait (for the lock, or
    for the server).
    """

    known: dict[str, str] = {}

    def step(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        table = read_table(store, project, window=window, at=at, records=records,
                           config=config, files=files, live=live)
        known.update(table.statuses)
        if live is not None:
            known.pop(live, None)  # assumed, not looked up: the checkpoint looks it up
        return decide(table)

    def make(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return checkpoint_records(store, records, at=at, config=config, statuses=known)

    return store.log_step(project_key(project, CLAIMS), step, max_bytes=SEGMENT_BYTES,
                          timeout=timeout, checkpoint=(CHECKPOINT_BYTES, make))
