"""Validate objects against the real schemas: Kubernetes' own, and OpenELB's CRDs.

The offline plan checks what it renders with these at run time, and the tests use them too.
"""

from __future__ import annotations

import copy
import functools
import json
import operator
import re
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jsonschema
from referencing import Registry, Resource

from openelb_component.plan import upstream, verdicts


def strict_crd_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD schema that rejects unknown fields instead of silently pruning them.

    The API server drops unknown fields of a structural schema without a word, so a typo like
    ``peerAS`` would be applied as nothing; here it fails the test instead.
    """
    schema = copy.deepcopy(schema)

    def tighten(node: Any) -> None:
        if not isinstance(node, dict):
            return
        properties = node.get("properties")
        if isinstance(properties, dict):
            if "additionalProperties" not in node and not node.get(
                "x-kubernetes-preserve-unknown-fields"
            ):
                node["additionalProperties"] = False
            for child in properties.values():
                tighten(child)
        for key in ("items", "additionalProperties"):
            tighten(node.get(key))

    tighten(schema)
    return schema


def crd_validator(documents: list[dict[str, Any]], api_version: str, kind: str) -> Any:
    cached = _CRD_VALIDATORS.get((id(documents), api_version, kind))
    if cached is not None and cached[0] is documents:
        return cached[1]
    for crd_api_version, crd_kind, schema in upstream.crd_schemas(documents):
        if (crd_api_version, crd_kind) == (api_version, kind):
            validator = jsonschema.Draft7Validator(strict_crd_schema(schema))
            _CRD_VALIDATORS[(id(documents), api_version, kind)] = (documents, validator)
            return validator
    raise LookupError(f"the manifest has no CRD serving {kind} {api_version}")


_CRD_VALIDATORS: dict[tuple[int, str, str], tuple[list[dict[str, Any]], Any]] = {}
"""Validators by the manifest's documents (the list itself kept, so its id stays its own):
one per kind, not one per BgpPeer of a 500-leaf stack."""


def crd_errors(documents: list[dict[str, Any]], obj: dict[str, Any]) -> list[str]:
    validator = crd_validator(documents, obj["apiVersion"], obj["kind"])
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(obj)
    ]


def _schema_folder(version: str) -> Traversable:
    return (
        resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / f"v{version}.0-local-strict"
    )


@functools.cache
def kubernetes_definitions(version: str) -> dict[str, Any]:
    """The OpenAPI definitions of one Kubernetes release, as kubernetes-validate ships them (the
    strict variant: unknown fields are errors)."""
    document: dict[str, Any] = json.loads(
        (_schema_folder(version) / "_definitions.json").read_text()
    )
    return document


@functools.cache
def _kubernetes_schema(version: str, api_version: str, kind: str) -> tuple[Any, Registry[Any]]:
    # kubernetes-validate's own file naming: apps/v1 -> apps-v1, rbac.authorization.k8s.io/v1 ->
    # rbac-v1, v1 -> v1. Read once per kind and release: reading the definitions is the slow part.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = json.loads(
        (_schema_folder(version) / f"{kind.lower()}-{group_version}.json").read_text()
    )
    registry: Registry[Any] = Resource.from_contents(kubernetes_definitions(version)) @ (
        Resource.from_contents(schema) @ Registry()
    )
    return schema, registry


@functools.cache
def kubernetes_validator(version: str, api_version: str, kind: str) -> jsonschema.Validator:
    schema, registry = _kubernetes_schema(version, api_version, kind)
    return jsonschema.Draft202012Validator(schema, registry=registry)


@functools.cache
def _root(version: str, api_version: str, kind: str) -> verdicts.Schema:
    schema, registry = _kubernetes_schema(version, api_version, kind)
    return verdicts.Schema(schema, registry.resolver(schema["$id"]))


@functools.cache
def _looks(version: str, api_version: str, kind: str, shape: int) -> verdicts.Looks:
    return verdicts.looks(_SKELETONS[shape], _root(version, api_version, kind))


@functools.cache
def _looks_in_any(
    versions: tuple[str, ...], api_version: str, kind: str, shape: int
) -> verdicts.Looks:
    return functools.reduce(
        operator.or_, (_looks(version, api_version, kind, shape) for version in versions)
    )


_SKELETONS: list[verdicts.Skeleton] = []
_SKELETON_IDS: dict[verdicts.Skeleton, int] = {}
"""Each skeleton seen, numbered: hashed once per object, not once per release and lookup."""

_VALID_EVERYWHERE: set[tuple[tuple[str, ...], str, str, int, tuple[Any, ...]]] = set()
"""Like ``_VALID``, for objects valid in every release of a tuple of releases."""

_VALID: set[tuple[str, str, str, int, tuple[Any, ...]]] = set()
"""(release, apiVersion, kind, skeleton number, constrained scalars) of the objects found valid:
an object that agrees with one on all of these is valid too (``verdicts.py``)."""


def kubernetes_errors_by_release(
    obj: dict[str, Any], versions: Sequence[str] = upstream.KUBERNETES_VERSIONS
) -> dict[str, list[str]]:
    """``kubernetes_errors`` for each release; alike objects are validated once per release,
    and each list by one item of each kind (``verdicts.py``): the errors of an invalid object
    are its own."""
    leaves: list[Any] = []
    skeleton = verdicts.skeleton(obj, leaves)
    shape = _SKELETON_IDS.get(skeleton)
    if shape is None:
        shape = _SKELETON_IDS[skeleton] = len(_SKELETONS)
        _SKELETONS.append(skeleton)
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    unknown = [version for version in versions if version not in upstream.KUBERNETES_VERSIONS]
    if unknown:
        raise ValueError(f"Kubernetes {unknown[0]} is not one of {upstream.KUBERNETES_VERSIONS}")
    # Valid in every release like an object seen before: one lookup, not one per release.
    seen = _looks_in_any(tuple(versions), api_version, kind, shape)
    everywhere = (tuple(versions), api_version, kind, shape, _at(leaves, seen.constrained))
    if everywhere in _VALID_EVERYWHERE:
        return {version: [] for version in versions}
    # The object with its lists reduced, for every release at once (see verdicts.reduced).
    reduced = verdicts.reduced(obj, skeleton, leaves, seen)
    errors: dict[str, list[str]] = {}
    for version in versions:
        constrained = _looks(version, api_version, kind, shape).constrained
        key = (version, api_version, kind, shape, _at(leaves, constrained))
        if key not in _VALID:
            errors[version] = _errors(obj, reduced, version, api_version, kind)
            if errors[version]:
                continue
            _VALID.add(key)
        errors[version] = []
    if not any(errors.values()):
        _VALID_EVERYWHERE.add(everywhere)
    return errors


def _at(leaves: Sequence[Any], positions: Sequence[int]) -> tuple[Any, ...]:
    return tuple(leaves[i] for i in positions)


def _errors(
    obj: dict[str, Any], reduced: dict[str, Any], version: str, api_version: str, kind: str
) -> list[str]:
    validator = kubernetes_validator(version, api_version, kind)
    if validator.is_valid(reduced):
        return []
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is None:  # cannot happen: a reduced object is valid when the whole one is
        return []
    return [f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"]


def kubernetes_errors(obj: dict[str, Any], version: str) -> list[str]:
    """Strict validation (unknown fields are errors) against one Kubernetes release's schema."""
    return kubernetes_errors_by_release(obj, [version])[version]
