"""Who owns the fields this project writes: one stable field manager, and where it forces.

Every object is applied by Server-Side Apply under the field manager ``openelb-ha``
(``config.names.PROJECT``), set with the annotation ``pulumi.com/patchFieldManager``. Without
it pulumi-kubernetes mints a random ``pulumi-kubernetes-<8 hex>`` per resource and keeps it
only in Pulumi state (``fieldManagerName``, provider/pkg/provider/provider.go:2883-2907@v4.32.0:
annotation first, then state, then ``resource.NewUniqueName``), so a lost state orphans it and
the kubectl runbook could never share it. Changing the manager of an existing resource is
clean: the update applies under the new name, then relinquishes the old one
(provider.go:2392-2393 and :2510-2522@v4.32.0).

Forcing (``pulumi.com/patchForce: "true"``, read per resource by ``patchForce``,
provider/pkg/await/await.go:1031-1063@v4.32.0, and passed as the apply's ``force``, await.go:191
and :662) moves a conflicting field to us instead of failing the apply. It is scoped by object:

- the **workload patches** always force. ``kubectl apply -f openelb.yaml`` leaves the manager
  ``kubectl-client-side-apply`` owning the workloads' atomic ``nodeSelector`` and the defaulted
  ``replicas``, so an unforced first ``up`` conflicts on every stack. The fields in these
  patches (replicas, nodeSelector, node affinity, spread constraints, this project's template
  annotations, the rollout strategy) are exactly what this project exists to manage; forcing
  the annotation on these resources, not the provider-wide ``enablePatchForce``, keeps the
  takeover to them;
- **nodes, the BgpConf and the BgpPeers** carry the annotation only with
  ``openelb-ha:adopt: true``: a conflict there means a person chose another rack, ASN or router,
  which a review must see. Adopting, a BgpPeer is a forced patch that takes over a hand-made
  peer of the same name (``adopted``) instead of a create that fails on it. The provider forces
  anyway, annotation or not, an apply to an object without ``managedFields`` and some previews
  (``patchForce``, await.go:1038-1061@v4.32.0), so "only with adopt" holds for objects that
  record their managers (docs/operations.md).

The objects the project creates (BgpPeers, the budget) are created client-side under the
manager ``pulumi-kubernetes`` by pulumi-kubernetes 4.29 and later (await.go:241-252@v4.32.0) and
reach ``openelb-ha`` at their first update (``fixCSAFieldManagers``, await.go:858-928); 4.25.0
applies them under ``openelb-ha`` from the start (await.go:187-230@v4.25.0, shown by make e2e).

The force is per resource, not per field, which is why each workload patch holds only the
fields this project manages (see ``workloads.py``).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from openelb_component.config import names
from openelb_component.desired.model import DesiredObject

FIELD_MANAGER = names.PROJECT
"""The Server-Side Apply field manager of every object this project applies, and of the
runbook's kubectl commands."""
PULUMI_ANNOTATIONS = "pulumi.com/"
"""Prefix of the annotations that steer Pulumi (field manager, force, timeout): the provider
writes them to the object too, but nothing else reads them."""
FIELD_MANAGER_ANNOTATION = f"{PULUMI_ANNOTATIONS}patchFieldManager"
PATCH_FORCE_ANNOTATION = f"{PULUMI_ANNOTATIONS}patchForce"
WORKLOAD_KINDS = ("Deployment", "DaemonSet")


def forces_by_default(obj: DesiredObject) -> bool:
    """A workload patch: its fields are this project's to manage, so it takes them over."""
    return obj.action == "patch" and obj.kind in WORKLOAD_KINDS


def is_forced(obj: DesiredObject) -> bool:
    annotations = obj.manifest["metadata"].get("annotations") or {}
    return annotations.get(PATCH_FORCE_ANNOTATION) == "true"


def without_pulumi_annotations(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as kubectl or another field manager sees what matters: Pulumi's own
    annotations dropped, and the ``annotations`` key with them when nothing else is left."""
    annotations = {
        k: v
        for k, v in (metadata.get("annotations") or {}).items()
        if not k.startswith(PULUMI_ANNOTATIONS)
    }
    rest = {k: v for k, v in metadata.items() if k != "annotations"}
    return {**rest, "annotations": annotations} if annotations else rest


def _annotated(obj: DesiredObject, force: bool) -> DesiredObject:
    # Copied along the path it changes only: the rest of the manifest is shared, never changed
    # (a deep copy of every node's manifest was most of the desired state's time at 10,000).
    metadata = dict(obj.manifest["metadata"])
    annotations = metadata["annotations"] = dict(metadata.get("annotations", {}))
    annotations[FIELD_MANAGER_ANNOTATION] = FIELD_MANAGER
    if force:
        annotations[PATCH_FORCE_ANNOTATION] = "true"
    return dataclasses.replace(obj, manifest={**obj.manifest, "metadata": metadata})


LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
"""Where a client-side ``kubectl apply`` keeps the whole object it applied: a hand-made BgpPeer's
password included."""


def adopted(obj: DesiredObject) -> DesiredObject:
    """A BgpPeer taken over from whoever made it: a forced Server-Side Apply patch instead of a
    create, and its ``last-applied-configuration`` emptied.

    A create of an object that exists fails with AlreadyExists since pulumi-kubernetes 4.29
    (client-side create, provider/pkg/await/await.go:243-252 and :276-291@v4.32.0); a patch is an
    apply that creates or takes over (await.go:190). ``pulumi import`` is no way out: it stores
    the live object, password included, in plaintext (no secret markers without inputs,
    provider/pkg/provider/provider.go:2122-2124, :3467-3500@v4.32.0). The annotation holds the
    password of a peer made with ``kubectl apply``; the forced patch owns it from then on, as an
    empty string, so neither the cluster nor Pulumi's state keeps that copy."""
    manifest = copy.deepcopy(obj.manifest)
    manifest["metadata"].setdefault("annotations", {})[LAST_APPLIED_ANNOTATION] = ""
    return dataclasses.replace(
        obj,
        action="patch",
        manifest=manifest,
        on_destroy="its fields are released (the object, made by hand, is not deleted, but left "
        "without the fields this project set: `kubectl delete bgppeer` removes it)",
    )


def with_ownership(objects: Iterable[DesiredObject], adopt: bool) -> list[DesiredObject]:
    """Every object under the stable field manager; the workload patches forced always, every
    other patch only when the stack adopts, and then the BgpPeers become forced patches too.
    Objects this project creates never force: they are its own from the start."""
    owned: list[DesiredObject] = []
    for obj in objects:
        if adopt and obj.kind == "BgpPeer":
            obj = adopted(obj)
        owned.append(_annotated(obj, forces_by_default(obj) or (adopt and obj.action == "patch")))
    return owned
