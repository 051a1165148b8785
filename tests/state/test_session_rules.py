"""state.session_rules against the pydantic models it stands in for.

The models in state.documents are the reference. The hand-written rules must describe
exactly their fields (so that a field added to a model fails here until the rules know
it), must accept only documents pydantic accepts, and must accept every document that
needs no conversion; whatever they do not accept is decided by pydantic itself, so
the CLI's answer (and its one-line error) is always pydantic's.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from state import session_rules
from state.documents import DOCUMENT_MODELS, validate_document
from state.errors import InvalidValueError
from state.session_rules import MODELS, Model, fits, validate_session_document
from state.sessions import new_session_state

# -- the rules describe the models' fields exactly ---------------------------------------------


def _describe(model: type[BaseModel]) -> dict[str, Any]:
    """A pydantic model as kinds, in session_rules' terms; fails on anything else."""
    assert model.model_config.get("extra") == "allow"
    decorators = model.__pydantic_decorators__
    assert not decorators.field_validators and not decorators.model_validators, model
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        assert field.metadata == [] and field.alias is None, (model, name)  # no constraints
        fields[name] = _kind(field.annotation)
    required = tuple(n for n, f in model.model_fields.items() if f.is_required())
    return {"fields": fields, "required": required}


def _kind(annotation: Any) -> Any:
    if annotation is int:
        return "int"
    if annotation is str:
        return "str"
    if annotation == str | None:
        return "str?"
    if annotation == dict[str, dict[str, Any]]:
        return "dict[str, dict]"
    if annotation == list[dict[str, Any]]:
        return "list[dict]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _describe(annotation)
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is dict and args[0] is str and isinstance(
            args[1], type) and issubclass(args[1], BaseModel):
        return ("dict[str, model]", _describe(args[1]))
    raise AssertionError(f"session_rules has no kind for {annotation!r}")


def _table(model: Model) -> dict[str, Any]:
    def kind(k: Any) -> Any:
        if isinstance(k, Model):
            return _table(k)
        if isinstance(k, tuple):
            return (k[0], _table(k[1]))
        return k

    return {"fields": {n: kind(k) for n, k in model.fields.items()},
            "required": model.required}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_rules_are_the_models_fields(name: str) -> None:
    assert _table(MODELS[name]) == _describe(DOCUMENT_MODELS[name])


# -- random documents: the rules never accept what pydantic refuses ------------------------------

_NAMES = ["a", "status", "id", "", "x\ud800", "caf\u00e9", "session_id", "tasks"]
_name = st.sampled_from(_NAMES) | st.text(max_size=4)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", "1", " 2 ", "1.0", "1e3", "x", "\ud800", "\u00e9"])
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_name, inner, max_size=3),
    max_leaves=10,
)
#: Values no field converts: an int field refuses them unless they are ints.
_unconvertible = st.recursive(
    st.none() | st.integers() | st.sampled_from(["x", "", "one", 0.5, math.nan, -2.25, "\ud800"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_name, inner, max_size=2),
    max_leaves=4,
)


def _right(kind: Any, strict: bool, only: bool) -> st.SearchStrategy[Any]:
    """Values of the kind's own type; ``only``: everything below them right too."""
    if isinstance(kind, Model):
        return _doc(kind, strict, only)
    if isinstance(kind, tuple):
        return st.dictionaries(_name, _value(kind[1], strict, only), max_size=3)
    objects = st.dictionaries(_name, _any(strict), max_size=3)
    if not only:
        objects = objects | _any(strict)
    return {
        "int": st.integers(),
        "str": st.text(max_size=5) | st.just("\ud800"),
        "str?": st.none() | st.text(max_size=5),
        "dict[str, dict]": st.dictionaries(_name, objects, max_size=3),
        "list[dict]": st.lists(objects, max_size=3),
    }[kind]


def _any(strict: bool) -> st.SearchStrategy[Any]:
    return _unconvertible if strict else _json


def _value(kind: Any, strict: bool, only: bool = False) -> st.SearchStrategy[Any]:
    if only:
        return _right(kind, strict, only)
    return st.one_of(_right(kind, strict, only), _right(kind, strict, only), _any(strict))


def _doc(model: Model, strict: bool, only: bool = False) -> st.SearchStrategy[Any]:
    known = st.fixed_dictionaries({}, optional={n: _value(k, strict, only)
                                                for n, k in model.fields.items()})
    names = _name.filter(lambda n: n not in model.fields)
    if only:
        names = names.filter(lambda n: "\ud800" not in n)
    extra = st.dictionaries(names, _any(strict), max_size=2)
    return st.tuples(known, extra).map(lambda t: {**t[1], **t[0]})


@st.composite
def _one_wrong(draw: Any, model: Model, strict: bool) -> Any:
    """A document right everywhere but (maybe) at one typed place, picked at random."""
    doc = draw(_doc(model, strict, only=True))
    places = list(_places(model, doc))
    if places:
        container, key = draw(st.sampled_from(places))
        container[key] = draw(_any(strict))
    return doc


def _places(model: Model, doc: dict[str, Any]) -> Any:
    for name, kind in model.fields.items():
        if name not in doc:
            continue
        yield doc, name
        value = doc[name]
        if isinstance(kind, Model):
            yield from _places(kind, value)
        elif isinstance(kind, tuple):
            for item in value:
                yield value, item
                yield from _places(kind[1], value[item])
        elif kind == "dict[str, dict]":
            yield from ((value, item) for item in value)
        elif kind == "list[dict]":
            yield from ((value, i) for i in range(len(value)))


def _case(strict: bool) -> st.SearchStrategy[tuple[str, Any]]:
    return st.sampled_from(sorted(MODELS)).flatmap(lambda name: st.tuples(
        st.just(name), _doc(MODELS[name], strict) | _one_wrong(MODELS[name], strict)))


def _pydantic_accepts(name: str, doc: Any) -> bool:
    try:
        DOCUMENT_MODELS[name].model_validate(doc)
    except ValidationError:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(_case(strict=False))
def test_what_the_rules_accept_pydantic_accepts(case: tuple[str, Any]) -> None:
    name, doc = case
    if fits(MODELS[name], doc):
        assert _pydantic_accepts(name, doc), doc


@settings(max_examples=500, deadline=None)
@given(_case(strict=True))
def test_without_conversions_both_accept_and_refuse_the_same_documents(
        case: tuple[str, Any]) -> None:
    name, doc = case
    assert fits(MODELS[name], doc) == _pydantic_accepts(name, doc), doc


def _outcome(validate: Any, key: str, doc: Any) -> str | None:
    try:
        validate(key, doc)
    except InvalidValueError as exc:
        return str(exc)
    return None


@settings(max_examples=300, deadline=None)
@given(_case(strict=False))
def test_the_cli_check_answers_as_the_model_with_its_message(case: tuple[str, Any]) -> None:
    name, doc = case
    key = f"sessions/s1/{name}"
    assert _outcome(validate_session_document, key, doc) == _outcome(validate_document, key, doc)


# -- the documents Orchestra writes take the fast path --------------------------------------------


def test_real_session_documents_fit_without_pydantic() -> None:
    state = new_session_state("s1", mode="development", project="p", at=1.0)
    state.update(schema_version=1, version=7, custom={"any": ["thing"]})
    state["active_work"]["agents"] = {
        "a1": {"agent_type": "general-purpose", "status": "busy", "n": 1}}
    tasks = {"schema_version": 1, "version": 3, "tasks": {
        "1": {"id": "1", "subject": "Write", "status": "in_progress", "owner": None,
              "history": [{"at": "2026-01-01T00:00:00Z", "status": "pending"}],
              "blocks": ["2"]},
        "2": {"subject": "Test"}}}
    assert fits(session_rules.SESSION_STATE, state)
    assert fits(session_rules.TASKS, tasks)


@pytest.mark.parametrize(("name", "doc"), [
    ("state.json", {"session_id": "s", "version": True}),  # pydantic reads true as 1
    ("state.json", {"session_id": "s", "schema_version": "1"}),
    ("tasks.json", {"version": 2.0}),
])
def test_values_pydantic_converts_are_left_to_pydantic(name: str, doc: dict[str, Any]) -> None:
    assert not fits(MODELS[name], doc)
    validate_session_document(f"sessions/s/{name}", doc)  # accepted, as pydantic does


def test_a_refusal_is_pydantics_one_line() -> None:
    with pytest.raises(InvalidValueError) as info:
        validate_session_document("sessions/s/state.json",
                                  {"session_id": "s", "active_work": {"agents": {"a": 1}}})
    assert str(info.value) == ("sessions/s/state.json: active_work.agents.a: Input should be "
                               "a valid dictionary; nothing written")
