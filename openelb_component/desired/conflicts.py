"""Server-Side Apply conflicts, predicted from a live object's ``metadata.managedFields``.

``pulumi preview`` cannot show them: a new Patch resource is not sent to the cluster in a
preview, its inputs are echoed back (pulumi-kubernetes provider/pkg/provider/provider.go:
1724-1735@v4.32.0, "Skip if: ... 3: The resource is a Patch resource"), and Diff compares the
inputs with Pulumi's state, not with the cluster (provider.go:1494, :1540). So a first ``up``,
a new node or a new stack would meet a conflict only in the middle of ``up``, after other
patches ran. (An *update* of an existing Patch is dry-run in a preview, await.go:662-669, so a
conflict there does fail the preview; the prediction covers both cases the same way.)

The rule is the API server's: applying a field conflicts when another field manager owns it
(by Apply or by Update, e.g. ``kubectl-client-side-apply``, ``kubectl-label``) and the apply
changes it; the same value is co-owned, without a conflict (structured-merge-diff
``merge/update.go:123-126``@v6.4.2). A manager is its name *and* its operation (apiserver
``BuildManagerIdentifier``: manager, operation, and for Update the apiVersion), so the runbook's
``kubectl label --field-manager=openelb-ha`` (an Update) is another manager than the component's
apply under the same name: only ``openelb-ha``'s Apply entry is this program's own.

Ownership is read from ``fieldsV1`` as the server writes it: ``f:<name>`` for a field,
``k:{...}`` for an item of a list keyed by its fields, ``v:<value>`` for an item of a set,
``.`` for a map or item itself, and an empty entry (``"f:nodeSelector": {}``) for a value owned
whole. What "changes" means depends on the field (``structure.py``): an atomic map or list (a
pod's ``nodeSelector``) changes as one value, so its owner conflicts with any other value; a
granular map (``metadata.labels``) or keyed list (``topologySpreadConstraints``) changes item by
item, so an owner of the container itself, e.g. a manager that applied ``labels: {}``, conflicts
only when it appears or disappears whole, never when a key is added to it (typed/compare.go:
132-138, :400-408, :453-461@v6.4.2). Checked against a real API server's answers
(tests/test_conflicts_replay.py).

An object without ``managedFields`` (made before Server-Side Apply tracked fields, or stripped)
is not ownerless: at its first apply the API server gives every field it has to the manager
``before-first-apply`` (an Update) and then applies, so a field with another value conflicts
(apimachinery ``pkg/util/managedfields/internal/skipnonapplied.go:76-92``@v0.37.2). The plan's
``kubectl get`` files are another matter: kubectl leaves managedFields out unless asked, so the
plan skips objects without them (plan/ownership.py).

Pure data in, data out: the Pulumi component calls it with what its reads return, and the
offline plan with ``kubectl get ... -o json`` files (``--workload``, ``--nodes``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openelb_component.desired.model import DesiredObject
from openelb_component.desired.ownership import (
    FIELD_MANAGER,
    is_forced,
    without_pulumi_annotations,
)
from openelb_component.desired.structure import relationship

_MISSING = object()
BEFORE_FIRST_APPLY = "before-first-apply"
"""The manager the API server gives an object's fields at its first apply when it has no
managedFields (skipnonapplied.go:47@v0.37.2)."""


@dataclass(frozen=True)
class Conflict:
    """A field this project applies that another field manager owns with another value."""

    subject: str
    """``Node worker-p001``, ``Deployment openelb-system/openelb-manager``."""
    path: str
    """The field as the API server names it in a conflict: ``.metadata.labels.<key>``."""
    manager: str
    operation: str
    """``Apply`` or ``Update``: with the name, what the API server tells managers apart by."""
    value: Any
    """The live value (``None`` when the field is unset)."""
    wanted: Any
    forced: bool
    """The patch forces: ``up`` takes the field over instead of stopping."""

    def message(self) -> str:
        current = json.dumps(self.value, sort_keys=True)
        wanted = json.dumps(self.wanted, sort_keys=True)
        head = (
            f"{self.subject}: field {self.path} is {current}, owned by field manager "
            f"{self.manager!r} ({self.operation}); this stack sets {wanted}"
        )
        if self.forced:
            return f"{head}. The patch forces, so `pulumi up` takes it over (no action needed)."
        return f"{head}. `pulumi up` would stop on this conflict. {self._fix()}"

    def _fix(self) -> str:
        if self.manager == FIELD_MANAGER:
            return (
                "That entry is the kubectl runbook's (kubectl writes as an Update, a manager of "
                "its own for the API server): set the stack to the live value, or set "
                "openelb-ha:adopt: true for this update."
            )
        if self.manager.startswith("pulumi-kubernetes-"):
            return (
                "That manager is this stack's own from before it used the field manager "
                f"{FIELD_MANAGER!r}: run `pulumi up` once without other changes (the provider "
                "hands its fields over), or set openelb-ha:adopt: true for this update."
            )
        if self.manager == BEFORE_FIRST_APPLY:
            return (
                "The object has no managedFields, so its first apply gives every field it has "
                "to the API server's manager 'before-first-apply': set the stack to the live "
                "value, or set openelb-ha:adopt: true for this update."
            )
        return (
            "Fix: set the stack to the live value if that is the intended one, or set "
            "openelb-ha:adopt: true to take the field over (review the preview first, then "
            "set adopt back to false)."
        )


def _subject(obj: DesiredObject) -> str:
    return f"{obj.kind} {obj.object_id}"


def _item_key(entry: str) -> dict[str, Any] | None:
    if not entry.startswith("k:"):
        return None
    key = json.loads(entry[2:])
    return key if isinstance(key, dict) else None


def _matches(item: Any, key: Mapping[str, Any]) -> bool:
    return isinstance(item, Mapping) and all(item.get(k) == v for k, v in key.items())


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, Mapping | list) and not value)


def _owned(
    applied: Any, live: Any, fields: Mapping[str, Any], path: str, kind: str, schema_path: str
) -> Iterator[tuple[str, Any, Any]]:
    """(path, live value, applied value) of every field in ``applied`` that ``fields`` (one
    manager's fieldsV1 at this level) owns and the apply changes."""
    container = isinstance(applied, Mapping | list)
    if (
        not container
        or (_empty(applied) and _empty(live))
        or relationship(kind, schema_path, isinstance(applied, list)) == "atomic"
    ):
        if applied != live:  # one value: a scalar, an atomic map or list, or empty on both sides
            yield path, live, applied
        return
    if live is None and (not fields or "." in fields):
        # This manager owns the container itself (``{}``, or ``"."`` beside its items) and the
        # apply makes it appear: a change of that path (compare.go:132-138).
        yield path, live, applied
    if isinstance(applied, list):
        live_items = live if isinstance(live, list) else []
        for entry, owned in fields.items():
            key = _item_key(entry)
            if key is None:
                continue
            for item in applied:
                if _matches(item, key):
                    live_item = next((i for i in live_items if _matches(i, key)), None)
                    yield from _owned(
                        item, live_item, owned, f"{path}[{entry[2:]}]", kind, f"{schema_path}[]"
                    )
        return
    live_map = live if isinstance(live, Mapping) else {}
    for name, value in applied.items():
        owned = fields.get(f"f:{name}", _MISSING)
        if owned is _MISSING:
            continue
        yield from _owned(
            value, live_map.get(name), owned, f"{path}.{name}", kind, f"{schema_path}.{name}"
        )


def _fields_of(value: Any, kind: str, schema_path: str = "") -> dict[str, Any]:
    """The fieldsV1 of a manager that set all of ``value``: what ``before-first-apply`` owns."""
    if not isinstance(value, Mapping | list) or _empty(value):
        return {}
    shape = relationship(kind, schema_path, isinstance(value, list))
    if isinstance(value, list):
        if not isinstance(shape, tuple):
            return {}
        return {
            "k:" + json.dumps({k: item[k] for k in shape}, separators=(",", ":")): _fields_of(
                item, kind, f"{schema_path}[]"
            )
            for item in value
            if isinstance(item, Mapping) and all(k in item for k in shape)
        }
    if shape == "atomic":
        return {}
    return {
        f"f:{name}": _fields_of(item, kind, f"{schema_path}.{name}")
        for name, item in value.items()
        if not _empty(item)  # a stored built-in object keeps no empty map or list
    }


def _managers(kind: str, live: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(manager, operation, fieldsV1) of every entry of ``live``'s managedFields, or the one the
    API server makes at the first apply of an object without any (module docstring)."""
    entries: Sequence[Any] = (live.get("metadata") or {}).get("managedFields") or []
    if not entries:
        owned = {k: v for k, v in live.items() if k in ("metadata", "spec")}
        metadata = owned.get("metadata") or {}
        owned["metadata"] = {k: v for k, v in metadata.items() if k in ("labels", "annotations")}
        return [(BEFORE_FIRST_APPLY, "Update", _fields_of(owned, kind))]
    return [
        (str(entry.get("manager", "")), str(entry.get("operation", "")), entry.get("fieldsV1"))
        for entry in entries
        if isinstance(entry, Mapping)
    ]


def _applied_fields(obj: DesiredObject) -> dict[str, Any]:
    """What the apply sends that a conflict can touch: the manifest without its identity
    fields and without Pulumi's own ``pulumi.com/`` annotations, which no one else sets."""
    body = obj.body
    metadata = without_pulumi_annotations(body.pop("metadata", {}))
    metadata = {k: v for k, v in metadata.items() if k not in ("name", "namespace")}
    return {**body, "metadata": metadata} if metadata else body


def conflicts(obj: DesiredObject, live: Mapping[str, Any]) -> list[Conflict]:
    """Every field of ``obj``'s apply that would conflict on ``live`` (the object as the API
    server returns it, ``metadata.managedFields`` included), sorted by path and manager."""
    applied = _applied_fields(obj)
    found: list[Conflict] = []
    for manager, operation, fields in _managers(obj.kind, live):
        ours = manager == FIELD_MANAGER and operation == "Apply"
        if ours or not isinstance(fields, Mapping):
            continue
        for path, value, wanted in _owned(applied, live, fields, "", obj.kind, ""):
            found.append(
                Conflict(_subject(obj), path, manager, operation, value, wanted, is_forced(obj))
            )
    return sorted(found, key=lambda c: (c.path, c.manager))
