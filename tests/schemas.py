"""Validate generated objects against the real schemas: Kubernetes' own, and OpenELB's CRDs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from openelb_component import upstream


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


def kubernetes_errors(obj: dict[str, Any], version: str) -> list[str]:
    """Strict validation (unknown fields are errors) against one Kubernetes release's schema."""
    try:
        kubernetes_validate.validate(obj, f"{version}.0", strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(str(p) for p in error.path)}: {error.message}"]
    return []


def merged(base: Any, patch: Any) -> Any:
    """The object after a patch whose maps merge and whose lists replace (no strategic keys).

    Enough to validate a patch on top of the upstream workload: the patches here add whole lists.
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merged(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(patch)


def definitions(version: str) -> dict[str, Any]:
    """One Kubernetes release's OpenAPI definitions, as ``kubernetes-validate`` ships them."""
    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    document: dict[str, Any] = json.loads(
        (root / f"v{version}.0-local" / "_definitions.json").read_text()
    )
    return dict(document["$defs"])
