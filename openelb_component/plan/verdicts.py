"""What a JSON Schema's verdict on an object can depend on, so that alike objects are validated
once and a long list of alike items is validated by one of each kind.

The plan validates every object against 13 Kubernetes releases' schemas. A stack of 10,000 nodes
has 10,000 node patches that differ only in names and label values, and a workload whose node
affinity lists all 10,000 names; validated one by one that took minutes.

Only schemas made of the keywords in ``_STRUCTURE`` (and annotations the validator ignores) are
taken apart. Under them an object's verdict depends on its keys, on the JSON type of each value,
on each list item's verdict (not on how many there are, nor their order: no ``minItems``,
``uniqueItems`` or ``contains``), and on the text of a string only where that string's own schema
says more than its type (an ``enum``, a ``format``, a ``pattern``, ...). Any other keyword keeps
its whole subtree as it is.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$schema", "$id"})
_STRUCTURE = frozenset({"type", "properties", "additionalProperties", "items", "required"})

Skeleton = Hashable
"""An object without its scalars: its keys, its lists' items, each scalar's Python type."""


class Schema:
    """A subschema with the resolver its ``$ref``s are read with; references followed once."""

    def __init__(self, contents: Any, resolver: Any) -> None:
        self.contents, self.resolver = _followed(contents, resolver)
        keywords = (
            {k for k in self.contents if k not in _ANNOTATIONS and not k.startswith("x-")}
            if isinstance(self.contents, dict)
            else None
        )
        self.anything = self.contents is True or keywords == set()
        """Every value is valid."""
        self.known = keywords is not None and keywords <= _STRUCTURE
        """Made of ``_STRUCTURE`` keywords only: taken apart below."""
        self._children: dict[str, Schema] = {}

    def _child(self, name: str, contents: Any) -> Schema:
        child = self._children.get(name)
        if child is None:
            child = self._children[name] = Schema(contents, self.resolver)
        return child

    def property(self, key: str) -> Schema:
        properties = self.contents.get("properties") or {}
        if key in properties:
            return self._child(f"p:{key}", properties[key])
        return self._child("additional", self.contents.get("additionalProperties", True))

    def items(self) -> Schema:
        return self._child("items", self.contents.get("items", True))


def _followed(contents: Any, resolver: Any) -> tuple[Any, Any]:
    while isinstance(contents, dict) and "$ref" in contents:
        if any(k not in _ANNOTATIONS and not k.startswith("x-") for k in contents if k != "$ref"):
            return {"$ref beside other keywords": contents}, resolver  # both apply: not modelled
        resolved = resolver.lookup(contents["$ref"])
        contents, resolver = resolved.contents, resolved.resolver
    return contents, resolver


def skeleton(value: Any, leaves: list[Any]) -> Skeleton:
    """``value``'s skeleton; its scalars are appended to ``leaves`` in the skeleton's order."""
    if isinstance(value, dict):
        return ("{", tuple((key, skeleton(item, leaves)) for key, item in value.items()))
    if isinstance(value, list):
        return ("[", tuple(skeleton(item, leaves) for item in value))
    leaves.append(value)
    return type(value).__name__


def constrained(shape: Skeleton, schema: Schema) -> tuple[int, ...]:
    """The positions (in ``skeleton``'s ``leaves``) of the scalars whose value the schema looks
    at beyond their type. Objects of one skeleton that agree on these share a verdict."""
    out: list[int] = []
    _constrained(shape, schema, 0, out)
    return tuple(out)


def _constrained(shape: Skeleton, schema: Schema, first: int, out: list[int]) -> int:
    """Returns the position after the subtree's last scalar."""
    if not isinstance(shape, tuple):
        if not (schema.anything or (schema.known and shape == "str")):
            out.append(first)
        return first + 1
    kind, children = shape
    if kind == "{":
        for key, child in children:
            first = _constrained(
                child, schema.property(key) if schema.known else schema, first, out
            )
        return first
    # A list's items share a schema: each kind of item is walked once (a node list is long).
    items = schema.items() if schema.known else schema
    walked: dict[Skeleton, tuple[list[int], int]] = {}
    for child in children:
        if child not in walked:
            relative: list[int] = []
            walked[child] = relative, _constrained(child, items, 0, relative)
        relative, width = walked[child]
        if relative:
            out.extend(first + position for position in relative)
        first += width
    return first


def reduced(value: Any, schema: Schema) -> tuple[Hashable, Any]:
    """``value`` with each list kept to its first item of every kind, and the kind of ``value``
    itself: values of one kind share a verdict, so the reduced value is valid exactly when the
    whole one is."""
    if schema.anything:
        return ("any",), value
    if not schema.known:
        return ("=", json.dumps(value, sort_keys=True, default=repr)), value
    if isinstance(value, dict):
        parts = {key: reduced(item, schema.property(str(key))) for key, item in value.items()}
        kind = ("{", tuple((key, part[0]) for key, part in parts.items()))
        return kind, {key: part[1] for key, part in parts.items()}
    if isinstance(value, list):
        first_of_kind: dict[Hashable, Any] = {}
        items = schema.items()
        for item in value:
            item_kind, item_value = reduced(item, items)
            first_of_kind.setdefault(item_kind, item_value)
        return ("[", tuple(first_of_kind)), list(first_of_kind.values())
    if isinstance(value, str):
        return ("str",), value
    return ("=", type(value).__name__, json.dumps(value, default=repr)), value
