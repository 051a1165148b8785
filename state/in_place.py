"""``state_manager get`` and ``set`` of one member of a large ``state.json``, in its bytes.

A session's ``state.json`` can grow to megabytes (thousands of subagents). Parsing it
costs about 4 ms a megabyte in a fresh process and encoding it 6 more, so a ``get``
or ``set`` of one member spent most of its time on the rest. Where the store vouches
for the layout of the bytes (:mod:`state.persistence.spans`), these functions touch only the member.

Each returns :data:`~state.persistence.spans.MISSING` / False when it cannot give exactly what the
usual way gives — the document is not stamped, the path crosses an array or a member
that is not there, the change is one the model's rules must look at as a whole... —
and the caller then does it the usual way, which also words every error. So the
answers, the bytes written and the errors are the usual way's; tests compare them.

This is the session view's side of the in-place path: which document a view path lives
in, which members the view makes, what a set must keep (the identity). The store's side
(:meth:`~state.persistence.filestore.FileStorage.member_transaction`,
:mod:`state.persistence.spans`) knows no session: whether a changed member still fits
the model it asks the rules it was opened with.
"""

from __future__ import annotations

from state.errors import InvalidPathError, NotFoundError
from state.persistence.filestore import FileStorage
from state.persistence.spans import MISSING, Untrusted
from state.persistence.storage import same_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from state.persistence.spans import LaidOut
    from state.persistence.storage import Storage

# Each function imports what it uses: a get or set in place runs in a fresh CLI process,
# where a get needs neither the JSONPath parser nor the session view.
__all__ = ["get_in_place", "query_in_place", "set_in_place"]

#: At most this many member paths are looked up for one query (``$['a','b']['c','d']``...).
_MAX_PATHS = 64

#: Members of the session view that are not state.json's own (see state.view).
_VIEW_MADE = ("version", "metrics")


def get_in_place(store: Storage, session_id: str, parts: list[str]) -> Any:
    """The value at the view path ``parts``, or MISSING: read the view the usual way."""
    if not isinstance(store, FileStorage) or not parts or parts[0] in _VIEW_MADE or (
            parts[0] == "active_work" and parts[1:2] in ([], ["tasks"])):
        return MISSING
    from state.paths import session_key
    from state.query import get_path
    from state.sessions import STATE

    laid = store.read_laid_out(session_key(session_id, STATE))
    if laid is None:
        return MISSING
    try:
        where = laid.locate(parts)
        value = laid.value(where)
        if value is MISSING:
            return MISSING  # the usual way says "path not found" in its words
        value = get_path(value, parts[where.depth:])
    except (Untrusted, NotFoundError):
        return MISSING
    _read_tasks(store, session_id)
    return value


def query_in_place(store: Storage, session_id: str, text: str) -> Any:
    """The matches of the JSONPath ``text`` in the session view, or MISSING: query the
    view the usual way.

    Only a query that starts with names (``$.active_work['current_epic','x']...``) and
    whose filters never look at ``$``: the members those names select are looked up
    in the bytes, put in a document of their own, and the whole query runs on that —
    the rest of the query only sees what below them, so it finds what it would have
    found in the whole view. ``active_work.tasks`` comes from tasks.json, as in the
    view: ``$.active_work.tasks[?@.status=='pending']`` reads only that file (and the
    stamp of state.json, which vouches that the session's state is sound).
    """
    if not isinstance(store, FileStorage):
        return MISSING
    from state.jsonpath import nodes as n
    from state.jsonpath import parse
    from state.jsonpath.walk import queries

    query = parse(text)  # a query that is not RFC 9535 raised already (jsonpath_reads)
    names: list[list[str]] = []
    for segment in query.segments:
        if segment.descendant or not all(isinstance(s, n.Name) for s in segment.selectors):
            break
        names.append([s.name for s in segment.selectors if isinstance(s, n.Name)])
    if not names or any(q.root == "$" for q in queries(query)):
        return MISSING
    first = names[0]
    if any(name in _VIEW_MADE for name in first) or ("active_work" in first
                                                      and len(names) < 2):
        return MISSING  # the view makes those (version, metrics, active_work.tasks)
    paths: list[list[str]] = [[]]
    for step in names:
        paths = [[*path, name] for path in paths for name in step]
        if len(paths) > _MAX_PATHS:
            return MISSING
    from state.paths import session_key
    from state.sessions import STATE

    laid = store.read_laid_out(session_key(session_id, STATE))
    if laid is None:
        return MISSING
    found: dict[str, Any] = {}
    from_tasks = [path for path in paths if path[:2] == ["active_work", "tasks"]]
    try:
        for path in paths:
            if path[:2] == ["active_work", "tasks"]:
                continue
            where = laid.locate(path)
            value = laid.value(where)
            if value is MISSING:
                continue
            holder = found
            for name in path[:where.depth - 1]:
                holder = holder.setdefault(name, {})
            holder[path[where.depth - 1]] = value
    except Untrusted:
        return MISSING
    tasks_doc = _read_tasks(store, session_id)
    if from_tasks:  # as session_view puts them: {} when tasks.json has none
        found.setdefault("active_work", {})["tasks"] = (tasks_doc or {}).get("tasks", {})
    from state.query import jsonpath_query

    return jsonpath_query(found, text)


def _read_tasks(store: Storage, session_id: str) -> dict[str, Any] | None:
    """tasks.json, read as the session view reads it whatever the path: a corrupt one is
    moved aside with a warning, a symlinked one refused (UnsafePathError)."""
    from state.paths import session_key
    from state.sessions import TASKS

    return store.read(session_key(session_id, TASKS))


def set_in_place(store: Storage, session_id: str, parts: list[str], value: Any) -> bool:
    """Set ``value`` at the state.json path ``parts`` (as :func:`state.query.set_path`
    would, version bumped, nothing written if nothing changes); False: not done, do
    it the usual way."""
    from state.paths import session_key
    from state.query import set_path
    from state.sessions import IDENTITY_FIELDS, STATE
    from state.view import route

    if not isinstance(store, FileStorage) or not parts or parts[0] in IDENTITY_FIELDS or (
            parts[0] == "active_work" and len(parts) < 2):
        return False
    try:
        key, parts = route(session_id, parts)
    except InvalidPathError:
        return False  # the usual way says why
    if key != session_key(session_id, STATE):
        return False
    try:
        with store.member_transaction(key) as laid:
            if laid is None:  # (a stamp vouches for no active_work.tasks in state.json)
                return False
            where = laid.locate(parts)
            head = parts[:where.depth]
            old = laid.value(where)
            # set_path changes what it is given: a second copy, parsed again (cheap: the
            # value of one member), keeps ``old`` for the no-change check.
            holder: dict[str, Any] = {} if old is MISSING else {head[-1]: laid.value(where)}
            try:
                set_path(holder, [head[-1], *parts[where.depth:]], value)
            except InvalidPathError:
                return False  # the usual way names the whole path
            new = holder[head[-1]]
            if old is not MISSING and same_json(new, old):  # by type too: 1 is not true
                identity = _identity(laid)
            else:
                # The store writes it only if the model's rules accept the member (else
                # Untrusted: pydantic decides the usual way, and words the error).
                laid.replace(where, new)
                identity = _identity(laid)
    except Untrusted:
        return False
    from state.sessions import remember_identity

    remember_identity(store, identity)  # as the usual way does after every set
    return True


def _identity(laid: LaidOut) -> dict[str, Any]:
    """The members :func:`state.sessions.remember_identity` reads (unchanged by a set
    that goes through here)."""
    from state.sessions import IDENTITY_FIELDS

    found = {}
    for name in IDENTITY_FIELDS:
        value = laid.member(name)
        if value is not MISSING:
            found[name] = value
    return found
