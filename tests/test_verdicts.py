"""What a schema's verdict can depend on (``plan/verdicts.py``), held to the validator itself.

The plan validates alike objects once and long lists by one item of each kind; both rest on
two claims checked here on generated values and schemas: objects of one skeleton that agree on
the scalars a schema looks at share its verdict, and a value with its lists reduced is valid
exactly when the whole value is.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from referencing import Registry

from openelb_component.plan import verdicts

NAME = {"type": "string"}
SCHEMAS: dict[str, dict[str, Any]] = {
    "object-of-strings": {
        "type": "object",
        "properties": {"name": NAME, "labels": {"type": "object", "additionalProperties": NAME}},
        "additionalProperties": False,
        "required": ["name"],
    },
    "list-of-objects": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"key": NAME, "values": {"type": "array", "items": NAME}},
            "additionalProperties": False,
        },
    },
    "enum-and-pattern": {
        "type": "object",
        "properties": {
            "operator": {"type": "string", "enum": ["In", "NotIn"]},
            "name": {"type": "string", "pattern": "^[a-z]+$"},
        },
    },
    "unique-items": {"type": "array", "uniqueItems": True, "items": NAME},
    "min-and-max-items": {"type": "array", "minItems": 2, "maxItems": 3, "items": NAME},
    "one-of-int-or-string": {
        "type": "array",
        "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    },
}


@functools.cache
def schema(name: str) -> tuple[jsonschema.Validator, verdicts.Schema]:
    contents = SCHEMAS[name]
    return jsonschema.Draft202012Validator(contents), verdicts.Schema(
        contents, Registry().resolver()
    )


def reduced(value: Any, name: str) -> Any:
    leaves: list[Any] = []
    shape = verdicts.skeleton(value, leaves)
    return verdicts.reduced(value, shape, leaves, verdicts.looks(shape, schema(name)[1]))


REDUCTIONS = [
    (
        "items-of-one-kind",
        "list-of-objects",
        [{"key": "a", "values": ["x", "y"]}, {"key": "b", "values": ["z", "w"]}],
        [{"key": "a", "values": ["x"]}],
    ),
    (
        "items-of-two-skeletons",
        "list-of-objects",
        [{"key": "a"}, {"key": "b", "values": []}, {"key": "c"}],
        [{"key": "a"}, {"key": "b", "values": []}],
    ),
    ("unique-items-kept-whole", "unique-items", ["a", "a", "b"], ["a", "a", "b"]),
    ("item-counts-kept-whole", "min-and-max-items", ["a", "b", "c", "d"], ["a", "b", "c", "d"]),
    ("one-of-items-by-value", "one-of-int-or-string", ["a", "a", 1, 1.5], ["a", 1, 1.5]),
]


@pytest.mark.parametrize(
    ("name", "value", "expected"), [c[1:] for c in REDUCTIONS], ids=[c[0] for c in REDUCTIONS]
)
def test_reduced_lists(name: str, value: Any, expected: Any) -> None:
    assert reduced(value, name) == expected


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([1.5, 2.0]),
    st.sampled_from(["", "a", "b", "In", "NotIn", "x1"]),
)
KEYS = st.sampled_from(["name", "labels", "key", "values", "operator", "other"])
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200)
@given(st.sampled_from(sorted(SCHEMAS)), VALUES)
def test_a_reduced_value_is_valid_exactly_when_the_value_is(name: str, value: Any) -> None:
    validator, _ = schema(name)
    assert validator.is_valid(reduced(value, name)) == validator.is_valid(value)


@settings(max_examples=200)
@given(st.sampled_from(sorted(SCHEMAS)), VALUES, st.data())
def test_values_agreeing_on_what_the_schema_looks_at_share_its_verdict(
    name: str, value: Any, data: st.DataObject
) -> None:
    """Another value of the same skeleton: every scalar the schema does not look at replaced
    by another of the same type."""
    validator, compiled = schema(name)
    leaves: list[Any] = []
    shape = verdicts.skeleton(value, leaves)
    constrained = set(verdicts.looks(shape, compiled).constrained)
    others = [
        leaf
        if index in constrained or not isinstance(leaf, str)
        else data.draw(st.sampled_from(["", "a", "In", "zz"]))
        for index, leaf in enumerate(leaves)
    ]
    other = _rebuilt(value, iter(others))
    assert verdicts.skeleton(other, []) == shape
    assert validator.is_valid(other) == validator.is_valid(value)


def _rebuilt(value: Any, leaves: Any) -> Any:
    """``value`` with its scalars taken in order from ``leaves``."""
    if isinstance(value, dict):
        return {key: _rebuilt(item, leaves) for key, item in value.items()}
    if isinstance(value, list):
        return [_rebuilt(item, leaves) for item in value]
    return next(leaves)
