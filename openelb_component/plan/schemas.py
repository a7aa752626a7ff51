"""Validate objects against the real schemas: Kubernetes' own, and OpenELB's CRDs.

The offline plan checks what it renders with these at run time, and the tests use them too.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jsonschema
from referencing import Registry, Resource

from openelb_component.plan import upstream


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
    for crd_api_version, crd_kind, schema in upstream.crd_schemas(documents):
        if (crd_api_version, crd_kind) == (api_version, kind):
            return jsonschema.Draft7Validator(strict_crd_schema(schema))
    raise LookupError(f"the manifest has no CRD serving {kind} {api_version}")


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
def _kubernetes_validator(version: str, api_version: str, kind: str) -> jsonschema.Validator:
    # kubernetes-validate's own file naming: apps/v1 -> apps-v1, rbac.authorization.k8s.io/v1 ->
    # rbac-v1, v1 -> v1. Built once per kind and release: reading the definitions is the slow part.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = json.loads(
        (_schema_folder(version) / f"{kind.lower()}-{group_version}.json").read_text()
    )
    registry: Registry[Any] = Resource.from_contents(kubernetes_definitions(version)) @ (
        Resource.from_contents(schema) @ Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def kubernetes_errors(obj: dict[str, Any], version: str) -> list[str]:
    """Strict validation (unknown fields are errors) against one Kubernetes release's schema."""
    if version not in upstream.KUBERNETES_VERSIONS:
        raise ValueError(f"Kubernetes {version} is not one of {upstream.KUBERNETES_VERSIONS}")
    validator = _kubernetes_validator(version, str(obj["apiVersion"]), str(obj["kind"]))
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is None:
        return []
    return [f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"]
