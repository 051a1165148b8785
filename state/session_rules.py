"""The models of the session documents (``state.json``, ``tasks.json``), checked without
pydantic when a CLI changes them.

``state_manager set``, ``merge`` and ``delete`` validate the whole document they
change, and pydantic costs about 40 ms to import and 100 ms to build its models: most
of such a call, several times the rest of it. The pydantic models in
:mod:`state.documents` stay the reference; this module only *accepts* a document
whose every typed value has exactly its field's type — an ``int`` that is an int,
not ``true`` or ``"3"``; a ``str`` or ``None`` where the field allows it; objects and
arrays where the model has them; and, as pydantic requires of the names of unknown
members, names that are valid Unicode (no lone surrogate). Anything else, a value
pydantic would convert as well as one it refuses, goes to the pydantic model, which
decides and words the error. So the answer is always pydantic's, and a test compares
:data:`MODELS` with the models' fields, so that a field added to a model cannot be
missed here.

Documents are JSON (what ``json.loads`` returns, changed by JSON values): every key
is a string.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["MODELS", "Model", "fits", "fits_document", "fits_member", "fits_stored_member",
           "validate_session_document"]


class Model:
    """A pydantic model's fields: name -> kind, one of "int", "str", "str?" (a string or
    None), "dict[str, dict]", "list[dict]", another :class:`Model` (a nested model) or
    ("dict[str, model]", Model); ``required``: the fields without a default."""

    __slots__ = ("fields", "required")

    def __init__(self, fields: dict[str, Any], required: tuple[str, ...] = ()) -> None:
        self.fields = fields
        self.required = required


ACTIVE_WORK = Model({
    "current_epic": "str?",
    "current_sprint": "str?",
    "agents": "dict[str, dict]",
})
SESSION_STATE = Model({
    "schema_version": "int",
    "version": "int",
    "session_id": "str",
    "mode": "str",
    "project": "str?",
    "status": "str",
    "created_at": "str?",
    "updated_at": "str?",
    "ended_at": "str?",
    "active_work": ACTIVE_WORK,
}, required=("session_id",))
TASK = Model({
    "id": "str?",
    "subject": "str?",
    "description": "str?",
    "status": "str",
    "owner": "str?",
    "history": "list[dict]",
})
TASKS = Model({
    "schema_version": "int",
    "version": "int",
    "tasks": ("dict[str, model]", TASK),
})

#: Document name -> its model, as :data:`state.documents.DOCUMENT_MODELS` names them.
MODELS: dict[str, Model] = {"state.json": SESSION_STATE, "tasks.json": TASKS}


def validate_session_document(key: str, doc: dict[str, Any]) -> None:
    """:func:`state.documents.validate_document`, without pydantic for a session
    document that plainly fits its model (see the module docstring)."""
    model = MODELS.get(key.rsplit("/", 1)[-1])
    if model is not None and fits(model, doc):
        return
    from state.documents import validate_document  # pydantic: ~140 ms, only when needed

    validate_document(key, doc)


def fits_document(key: str, doc: dict[str, Any]) -> bool:
    """True if ``doc``, stored at ``key``, is a session document that plainly fits its
    model and that ``state_manager`` would write as it is (it refuses a ``state.json``
    with its own copy of ``active_work.tasks``, which the session view hides); False
    for any other document: nothing to vouch for (see :mod:`state.persistence.spans`)."""
    name = key.rsplit("/", 1)[-1]
    model = MODELS.get(name)
    if model is None or not fits(model, doc):
        return False
    return name != "state.json" or "tasks" not in doc.get("active_work", {})


def fits_stored_member(key: str, parts: list[str], value: Any) -> bool:
    """:func:`fits_member` for the document stored at ``key`` (False for a document
    without a model here: nothing to vouch for)."""
    model = MODELS.get(key.rsplit("/", 1)[-1])
    return model is not None and fits_member(model, parts, value)


def fits_member(model: Model, parts: list[str], value: Any) -> bool:
    """Given a document that fits ``model`` and holds an object at each of ``parts[:-1]``,
    does it still fit once the member ``parts`` is ``value``? (What :func:`fits` of the
    changed document says, without walking the rest of it.)"""
    kind: Any = model
    for i, name in enumerate(parts):
        last = i + 1 == len(parts)
        if isinstance(kind, Model):
            field = kind.fields.get(name)
            if field is None:  # an unknown member: only its name is checked
                return _unicode(name)
            if last:
                return _fits_kind(field, value)
            kind = field
        elif type(kind) is tuple:  # ("dict[str, model]", model): name is an item's key
            if last:
                return fits(kind[1], value)
            kind = kind[1]
        elif kind in ("dict[str, dict]", "list[dict]"):
            return type(value) is dict if last else True  # inside an item: anything goes
        else:  # inside a scalar field: the document holds no object there
            return False
    return False


def fits(model: Model, doc: Any) -> bool:
    """True if ``doc`` plainly fits ``model``: pydantic would accept it unchanged."""
    if type(doc) is not dict:
        return False
    fields = model.fields
    for name, value in doc.items():
        kind = fields.get(name)
        if kind is None:
            if not _unicode(name):  # an unknown member: kept, only its name is checked
                return False
        elif not _fits_kind(kind, value):
            return False
    return all(name in doc for name in model.required)


def _fits_kind(kind: Any, value: Any) -> bool:
    if type(kind) is str:
        return _SIMPLE[kind](value)
    if type(kind) is tuple:  # ("dict[str, model]", model)
        inner = kind[1]
        return type(value) is dict and all(fits(inner, item) for item in value.values())
    return fits(kind, value)


def _unicode(name: str) -> bool:
    """The name is valid Unicode (pydantic refuses a lone surrogate there)."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_SIMPLE: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: type(v) is int,
    "str": lambda v: type(v) is str,
    "str?": lambda v: v is None or type(v) is str,
    "dict[str, dict]": lambda v: type(v) is dict and all(type(i) is dict for i in v.values()),
    "list[dict]": lambda v: type(v) is list and all(type(i) is dict for i in v),
}
