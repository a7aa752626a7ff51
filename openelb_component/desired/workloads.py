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


def membership_template(rack_of_node: Mapping[str, str | None]) -> Manifest:
    """Pod-template fields that change exactly when the set of listed nodes, or a node's leaf,
    changes (sorted: reordering the stack file changes nothing), so the workload rolls then.

    - a node affinity on the listed node names (``matchFields metadata.name``, the field the
      DaemonSet controller itself uses; no label involved): a v0.5 Deployment keeps a pod whose
      nodeSelector stops matching (IgnoredDuringExecution), and Pulumi removes a dropped node's
      labels only after every update, i.e. after the roll, so without it a rolled pod could land
      on the dropped node again and keep announcing;
    - an annotation hashing (node, leaf): a replica reads its rack (its asPerRack ASN) only when
      it starts, and the rack spread re-places replicas only when they start.

    A v0.6 DaemonSet removes its pod from a node that stops matching by itself, so there the
    affinity only restates that; the annotation is still needed after a move between leaves.
    """
    membership = sorted((node, rack or "") for node, rack in rack_of_node.items())
    digest = hashlib.sha256(json.dumps(membership).encode()).hexdigest()[:16]
    term = {"key": "metadata.name", "operator": "In", "values": sorted(rack_of_node)}
    return {
        "metadata": {"annotations": {MEMBERSHIP_ANNOTATION: digest}},
        "spec": {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchFields": [term]}]
                    }
                }
            }
        },
    }


def manager_patch(
    namespace: str,
    replicas: int,
    node_keys: list[str],
    spread_over_racks: bool,
    rack_of_node: Mapping[str, str | None],
) -> DesiredObject:
    membership = membership_template(rack_of_node)
    pod_spec: Manifest = {"nodeSelector": dict(NODE_SELECTOR), **membership["spec"]}
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
                "template": {"metadata": membership["metadata"], "spec": pod_spec},
            },
        },
        depends_on=tuple(node_keys),
        must_exist=True,
        on_destroy="replicas, nodeSelector, node affinity, spread constraint and the membership "
        "annotation are released: fields no other manager owns return to the installer's values "
        "on the next apply of the upstream manifest, or are removed (the pod template changes, "
        "so the pods roll once); the Deployment itself stays",
    )
