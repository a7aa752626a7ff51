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

import bisect
import functools
import sys
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
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
    """``value``'s skeleton; its scalars are appended to ``leaves`` in the skeleton's order.
    Equal parts are one object (interned), so the items of a long list are told apart or alike
    by identity, without hashing each again."""
    if isinstance(value, dict):
        shape: Skeleton = (
            "{",
            tuple([(key, skeleton(item, leaves)) for key, item in value.items()]),
        )
    elif isinstance(value, list):
        shape = ("[", tuple([skeleton(item, leaves) for item in value]))
    else:
        leaves.append(value)
        return sys.intern(type(value).__name__)
    return _INTERNED.setdefault(shape, shape)


_INTERNED: dict[Skeleton, Skeleton] = {}


@dataclass(frozen=True)
class Looks:
    """What a schema looks at in the objects of one skeleton, beyond their skeleton."""

    constrained: tuple[int, ...]
    """Positions (in ``skeleton``'s ``leaves``, sorted) of the scalars whose value the schema
    looks at beyond their type: not a string, or a string whose schema says more than a type
    (an ``enum``, a ``format``, a ``pattern``, ...). A subtree under a keyword not known here
    counts whole."""
    whole: frozenset[int]
    """The lists (by their node's place in the skeleton, counted depth first) whose schema is
    not taken apart, so that no item may be left out of them."""

    def __or__(self, other: Looks) -> Looks:
        constrained = tuple(sorted({*self.constrained, *other.constrained}))
        return Looks(constrained, self.whole | other.whole)


@functools.cache
def _size(shape: Skeleton) -> tuple[int, int]:
    """(nodes, scalars) of a skeleton."""
    if not isinstance(shape, tuple):
        return 1, 1
    nodes, scalars = 1, 0
    for child in shape[1]:
        child_nodes, child_scalars = _size(child[1] if shape[0] == "{" else child)
        nodes, scalars = nodes + child_nodes, scalars + child_scalars
    return nodes, scalars


def looks(shape: Skeleton, schema: Schema) -> Looks:
    """What ``schema`` looks at in objects whose skeleton is ``shape``."""
    constrained: list[int] = []
    whole: list[int] = []
    _looks(shape, schema, 0, 0, constrained, whole)
    return Looks(tuple(constrained), frozenset(whole))


def _looks(
    shape: Skeleton,
    schema: Schema,
    node: int,
    scalar: int,
    constrained: list[int],
    whole: list[int],
) -> tuple[int, int]:
    """Returns the (node, scalar) positions after the subtree."""
    if not isinstance(shape, tuple):
        if not (schema.anything or (schema.known and shape == "str")):
            constrained.append(scalar)
        return node + 1, scalar + 1
    kind, children = shape
    if kind == "{":
        node += 1
        for key, child in children:
            sub = schema.property(key) if schema.known else schema
            node, scalar = _looks(child, sub, node, scalar, constrained, whole)
        return node, scalar
    if not (schema.known or schema.anything):
        whole.append(node)
    node += 1
    # A list's items share a schema: each kind of item is walked once (a node list is long).
    items = schema.items() if schema.known else schema
    walked: dict[int, tuple[list[int], list[int], int, int]] = {}
    last: Skeleton = None
    for child in children:
        if child is not last:  # consecutive items are mostly alike: no lookup then
            if id(child) not in walked:  # by identity: skeletons are interned
                child_constrained: list[int] = []
                child_whole: list[int] = []
                _looks(child, items, 0, 0, child_constrained, child_whole)
                walked[id(child)] = (child_constrained, child_whole, *_size(child))
            entry, last = walked[id(child)], child
        child_constrained, child_whole, child_nodes, child_scalars = entry
        if child_constrained:
            constrained.extend(scalar + position for position in child_constrained)
        if child_whole:
            whole.extend(node + position for position in child_whole)
        node, scalar = node + child_nodes, scalar + child_scalars
    return node, scalar


def reduced(value: Any, shape: Skeleton, leaves: Sequence[Any], seen: Looks) -> Any:
    """``value`` (of skeleton ``shape``, scalars ``leaves``) with each list kept to its first
    item of each kind: two items are of one kind when their skeletons are equal and so are
    their scalars at ``seen.constrained``. Every list outside ``seen.whole`` is valid exactly
    when one item of each kind is, so the reduced value is valid exactly when ``value`` is (for
    every schema ``seen`` was gathered from)."""
    out, _, _ = _reduced(value, shape, leaves, seen, 0, 0)
    return out


def _reduced(
    value: Any, shape: Skeleton, leaves: Sequence[Any], seen: Looks, node: int, scalar: int
) -> tuple[Any, int, int]:
    if not isinstance(shape, tuple):
        return value, node + 1, scalar + 1
    kind, children = shape
    if kind == "{":
        out: dict[Any, Any] = {}
        node += 1
        for (key, child), item in zip(children, value.values(), strict=True):
            out[key], node, scalar = _reduced(item, child, leaves, seen, node, scalar)
        return out, node, scalar
    keep_all = node in seen.whole
    node += 1
    items: list[Any] = []
    kinds: set[tuple[int, tuple[Any, ...]]] = set()
    last: Skeleton = None
    for child, item in zip(children, value, strict=True):
        if child is not last:
            size, last = _size(child), child
        child_nodes, child_scalars = size
        end = scalar + child_scalars
        if not keep_all:
            first = bisect.bisect_left(seen.constrained, scalar)
            stop = bisect.bisect_left(seen.constrained, end)
            # By identity: skeletons are interned, and a nested tuple's hash is not cached.
            item_kind = (id(child), tuple(leaves[i] for i in seen.constrained[first:stop]))
            if item_kind in kinds:
                node, scalar = node + child_nodes, end
                continue
            kinds.add(item_kind)
        kept, node, scalar = _reduced(item, child, leaves, seen, node, scalar)
        items.append(kept)
    return items, node, scalar
