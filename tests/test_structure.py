"""desired/structure.py against the real schemas: every map and list of every Node, Deployment
and DaemonSet patch the example stacks apply (adopting or not) merges as the table says, per
Kubernetes 1.37's OpenAPI (kubernetes-validate)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openelb_component.desired import desired_state
from openelb_component.desired.structure import Relationship, relationship
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.schemas import kubernetes_definitions
from openelb_component.plan.stackfile import read_stack
from tests.support.harness import ROOT

STACKS = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
KUBERNETES = "1.37"
GROUPS = {"v1": "io.k8s.api.core.v1", "apps/v1": "io.k8s.api.apps.v1"}
PREDICTED = ("Node", "Deployment", "DaemonSet")
"""The kinds whose conflicts are predicted: what the program reads before patching."""


def containers(value: Any, atomic: Any, path: str = "") -> Iterator[tuple[str, bool]]:
    """(path, is a list) of every map and list in ``value`` (list items ``[]``), not descending
    into those ``atomic(path, is_list)`` says are atomic: what is inside is part of their value."""
    if isinstance(value, dict):
        yield path, False
        if not atomic(path, False):
            for key, item in value.items():
                yield from containers(item, atomic, f"{path}.{key}")
    elif isinstance(value, list):
        yield path, True
        if not atomic(path, True):
            for item in value:
                yield from containers(item, atomic, f"{path}[]")


def _steps(path: str) -> list[str]:
    return [step for step in path.replace("[]", ".[]").split(".") if step]


def schema_relationship(schema: dict[str, Any], path: str, resolve: Any) -> Relationship:
    """What the schema says about the field at ``path``; ``resolve`` follows a ``$ref``."""
    node = resolve(schema)
    for step in _steps(path):
        if step == "[]":
            node = resolve(node["items"])
        elif step in (node.get("properties") or {}):
            node = resolve(node["properties"][step])
        else:
            node = resolve(node["additionalProperties"])
    if "items" in node or "array" in node.get("type", ()):
        if node.get("x-kubernetes-list-type") == "map":
            return tuple(node["x-kubernetes-list-map-keys"])
        assert node.get("x-kubernetes-list-type", "atomic") == "atomic", (path, node)
        return "atomic"
    return "atomic" if node.get("x-kubernetes-map-type") == "atomic" else "granular"


def kubernetes_schema(api_version: str, kind: str) -> tuple[dict[str, Any], Any]:
    definitions = kubernetes_definitions(KUBERNETES)["$defs"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = {
                **definitions[node["$ref"].rsplit("/", 1)[1]],
                **{k: v for k, v in node.items() if k != "$ref"},
            }
        return node

    return definitions[f"{GROUPS[api_version]}.{kind}"], resolve


def applied(stack: Path) -> Iterator[tuple[str, Any]]:
    for adopt in (False, True):
        config = load_stack_config(read_stack(stack)).model_copy(update={"adopt": adopt})
        for obj in desired_state(config).objects:
            if obj.action == "patch" and obj.kind in PREDICTED:
                yield obj.api_version, obj


@pytest.mark.parametrize("stack", STACKS, ids=lambda path: path.stem.removeprefix("Pulumi."))
def test_every_applied_map_and_list_merges_as_the_schema_says(stack: Path) -> None:
    checked = 0
    for api_version, obj in applied(stack):
        schema, resolve = kubernetes_schema(api_version, obj.kind)

        def atomic(path: str, is_list: bool) -> bool:
            return schema_relationship(schema, path, resolve) == "atomic"  # noqa: B023

        for path, is_list in containers(obj.body, atomic):
            expected = schema_relationship(schema, path, resolve)
            assert relationship(obj.kind, path, is_list) == expected, (obj.kind, path)
            checked += 1
    assert checked > 0
