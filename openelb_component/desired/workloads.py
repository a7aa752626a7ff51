"""The OpenELB workload patch: where the replicas run and how many there are.

v0.5 runs one ``openelb-manager`` Deployment (DESIGN §2). Its required pod anti-affinity on the
hostname and its host ports allow one replica per node, which the config checks guarantee.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from openelb_component import names
from openelb_component.desired.model import DesiredObject, Manifest


@dataclass(frozen=True)
class Workload:
    """An upstream OpenELB workload, as its install manifest declares it."""

    kind: str
    name: str
    pod_labels: Mapping[str, str]
    """The pod template's labels (checked against the upstream manifests in the tests)."""


MANAGER_V05 = Workload(
    kind="Deployment",
    name="openelb-manager",
    pod_labels={"app": "openelb-manager", "control-plane": "openelb-manager"},
)

WORKLOAD_KEY = "workload"

NODE_SELECTOR: Mapping[str, str] = {
    names.OS_LABEL: "linux",
    names.HA_LABEL: names.HA_LABEL_VALUE,
}


def rack_spread(workload: Workload) -> Manifest:
    """Spread replicas evenly over racks; with equal counts per leaf every leaf gets its share.

    DoNotSchedule makes it a guarantee rather than a preference: a replica that cannot keep the
    leaves within one of each other stays Pending instead of piling onto one leaf.
    """
    return {
        "maxSkew": 1,
        "topologyKey": names.RACK_LABEL,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": dict(workload.pod_labels)},
    }


MEMBERSHIP_ANNOTATION = "openelb-ha/membership"


def membership_annotations(rack_of_node: Mapping[str, str | None]) -> dict[str, str]:
    """A pod-template annotation that changes exactly when the set of listed nodes, or a node's
    leaf, changes, so the workload rolls then, and never because the stack file was reordered.

    Why a roll: a v0.5 Deployment keeps a pod on a node that no longer matches its nodeSelector
    (IgnoredDuringExecution), so a dropped node would keep announcing; and a replica reads its
    rack (asPerRack ASN) only at start, and is re-placed by the rack spread only when it starts.
    (A v0.6 DaemonSet removes its pod from a node that stops matching by itself; it still needs
    the roll for a node that changed leaf with per-leaf ASNs.)
    """
    membership = sorted((node, rack or "") for node, rack in rack_of_node.items())
    digest = hashlib.sha256(json.dumps(membership).encode()).hexdigest()[:16]
    return {MEMBERSHIP_ANNOTATION: digest}


def manager_patch(
    namespace: str,
    replicas: int,
    node_keys: list[str],
    spread_over_racks: bool,
    annotations: Mapping[str, str],
) -> DesiredObject:
    pod_spec: Manifest = {"nodeSelector": dict(NODE_SELECTOR)}
    if spread_over_racks:
        pod_spec["topologySpreadConstraints"] = [rack_spread(MANAGER_V05)]
    return DesiredObject(
        key=WORKLOAD_KEY,
        action="patch",
        manifest={
            "apiVersion": "apps/v1",
            "kind": MANAGER_V05.kind,
            "metadata": {"name": MANAGER_V05.name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                # Upstream's value, restated so the guarantee does not depend on the installer:
                # one replica at a time is replaced, so replicas-1 keep announcing and the rollout
                # cannot deadlock on host ports and the one-per-node anti-affinity. No scale to 0.
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {"metadata": {"annotations": dict(annotations)}, "spec": pod_spec},
            },
        },
        depends_on=tuple(node_keys),
        must_exist=True,
        on_destroy="replicas, nodeSelector, spread constraint and the membership annotation are "
        "released: fields no other manager owns return to the installer's values on the next "
        "apply of the upstream manifest, or are removed (the pod template changes, so the pods "
        "roll once); the Deployment itself stays",
    )
