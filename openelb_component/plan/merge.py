"""Strategic merge patch, driven by the patch strategies in Kubernetes' own OpenAPI schemas.

The plan applies each workload patch to a real workload (the upstream manifest or the user's live
object) and checks the result, so the merge must be the one ``kubectl patch --type strategic``
does: maps merge key by key (``null`` removes a key), a list merges by its
``x-kubernetes-patch-merge-key`` when its ``x-kubernetes-patch-strategy`` says ``merge``
(containers by name, topologySpreadConstraints by topologyKey), and every other list is replaced
(tolerations, for one, are atomic). The strategies are read from the schemas kubernetes-validate
ships, so they are Kubernetes' own rather than a copy kept here.

Where the schema says nothing (custom resources) lists are replaced, as in a JSON merge patch.

Server-Side Apply, which the Pulumi component uses, differs from a strategic merge on one thing
these patches touch: a map the schema marks ``x-kubernetes-map-type: atomic`` (a pod's
``nodeSelector``) is owned and replaced whole, where a strategic merge would merge it key by
key. ``as_applied`` marks such maps with the strategic-merge directive ``$patch: replace``, so
the runbook's ``kubectl patch`` and the plan's check give exactly what the apply gives.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from openelb_component.plan import upstream
from openelb_component.plan.schemas import kubernetes_definitions

Schema = dict[str, Any]
_DELETE = {"$patch": "delete"}


def _definitions() -> dict[str, Schema]:
    """The OpenAPI definitions of the newest Kubernetes release the project validates against."""
    definitions: dict[str, Schema] = kubernetes_definitions(upstream.KUBERNETES_VERSIONS[-1])[
        "$defs"
    ]
    return definitions


def _resolve(schema: Schema | None) -> Schema | None:
    while schema is not None and "$ref" in schema:
        schema = _definitions().get(str(schema["$ref"]).rsplit("/", 1)[-1])
    return schema


@functools.cache
def object_schema(api_version: str, kind: str) -> Schema | None:
    """The schema of a built-in kind (``apps/v1`` ``Deployment``), None for custom resources."""
    group, _, version = api_version.rpartition("/")
    for schema in _definitions().values():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if (gvk.get("group", ""), gvk.get("version"), gvk.get("kind")) == (
                group,
                version,
                kind,
            ):
                return schema
    return None


def _child(schema: Schema | None, key: str) -> Schema | None:
    schema = _resolve(schema)
    if schema is None:
        return None
    properties = schema.get("properties") or {}
    if key in properties:
        return dict(properties[key])
    extra = schema.get("additionalProperties")
    return dict(extra) if isinstance(extra, dict) else None


def _merge_key(schema: Schema | None) -> str | None:
    """The key a list merges by, or None when the list is replaced as a whole."""
    if schema is None or "merge" not in str(schema.get("x-kubernetes-patch-strategy", "")):
        return None
    key = schema.get("x-kubernetes-patch-merge-key")
    return str(key) if key else None


def _items(schema: Schema | None) -> Schema | None:
    items = schema.get("items") if schema is not None else None
    return dict(items) if isinstance(items, dict) else None


def _merge_list(base: list[Any], patch: list[Any], schema: Schema | None) -> list[Any]:
    key = _merge_key(schema)
    if key is None or not all(isinstance(item, dict) and key in item for item in base + patch):
        return copy.deepcopy(patch)
    item_schema = _items(schema)
    # kubectl's order: the patch's items in patch order, then the items only the base has.
    base_by_key = {item[key]: item for item in base}
    out = [
        _merge(base_by_key.get(item[key], {}), item, item_schema)
        for item in patch
        if item.get("$patch") != "delete"
    ]
    patched = {item[key] for item in patch}
    out += [copy.deepcopy(item) for item in base if item[key] not in patched]
    return out


def _merge(base: Any, patch: Any, schema: Schema | None) -> Any:
    if isinstance(patch, dict) and patch.get("$patch") == "replace":
        return {key: copy.deepcopy(value) for key, value in patch.items() if key != "$patch"}
    if isinstance(base, dict) and isinstance(patch, dict):
        out = {key: copy.deepcopy(value) for key, value in base.items()}
        for key, value in patch.items():
            if key == "$patch":
                continue
            if value is None:
                out.pop(key, None)
            elif key in base:
                out[key] = _merge(base[key], value, _child(schema, key))
            else:
                out[key] = (
                    _merge({}, value, _child(schema, key))
                    if isinstance(value, dict)
                    else (copy.deepcopy(value))
                )
        return out
    if isinstance(base, list) and isinstance(patch, list):
        return _merge_list(base, patch, _resolve(schema) or schema)
    return copy.deepcopy(patch)


def strategic_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` after ``patch``, as ``kubectl patch --type strategic`` computes it."""
    schema = object_schema(str(base.get("apiVersion", "")), str(base.get("kind", "")))
    result: dict[str, Any] = _merge(base, patch, schema)
    return result


def _inverse(base: Any, patch: Any, schema: Schema | None) -> Any:
    if isinstance(patch, dict) and patch.get("$patch") == "replace":
        return {**copy.deepcopy(base), "$patch": "replace"} if isinstance(base, dict) else None
    if isinstance(base, dict) and isinstance(patch, dict):
        out: dict[str, Any] = {}
        for key, value in patch.items():
            if key not in base:
                out[key] = None
            elif base[key] != value:
                out[key] = _inverse(base[key], value, _child(schema, key))
        return out
    schema = _resolve(schema) or schema
    key = _merge_key(schema)
    if isinstance(base, list) and isinstance(patch, list) and key is not None:
        present = {item.get(key) for item in base if isinstance(item, dict)}
        return [{key: item[key], **_DELETE} for item in patch if item.get(key) not in present] + [
            item for item in base if any(p.get(key) == item.get(key) for p in patch)
        ]
    return copy.deepcopy(base)


def inverse_patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The strategic patch that takes ``strategic_merge(base, patch)`` back to ``base``: keys the
    patch added are removed (``null``, or ``$patch: delete`` for items of merging lists), values
    it changed get their old value back."""
    schema = object_schema(str(base.get("apiVersion", "")), str(base.get("kind", "")))
    result: dict[str, Any] = _inverse(base, patch, schema)
    return result


def _as_applied(patch: Any, base: Any, schema: Schema | None) -> Any:
    schema = _resolve(schema) or schema
    if not isinstance(patch, dict):
        return patch
    base_map = base if isinstance(base, dict) else {}
    out = {
        key: _as_applied(value, base_map.get(key), _child(schema, key))
        for key, value in patch.items()
    }
    # kubectl drops a map marked `replace` that the object does not have yet; a map the object
    # lacks is simply added, which is the same as replacing it.
    if schema is not None and schema.get("x-kubernetes-map-type") == "atomic" and base_map:
        out["$patch"] = "replace"
    return out


def as_applied(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The strategic patch that changes ``base`` as a Server-Side Apply of ``patch`` does:
    every atomic map ``base`` already has is replaced whole (``$patch: replace``)."""
    schema = object_schema(str(base.get("apiVersion", "")), str(base.get("kind", "")))
    result: dict[str, Any] = _as_applied(patch, base, schema)
    return result
