"""The OpenELB workload patch: where the replicas run and how many there are.

v0.5 runs one ``openelb-manager`` Deployment (DESIGN §2). Its required pod anti-affinity on the
hostname and its host ports allow one replica per node, which the config checks guarantee.
"""

from __future__ import annotations

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


def manager_patch(
    namespace: str, replicas: int, node_keys: list[str], spread_over_racks: bool
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
                "template": {"spec": pod_spec},
            },
        },
        depends_on=tuple(node_keys),
        must_exist=True,
        on_destroy="replicas, nodeSelector and spread constraint are released: fields no other "
        "manager owns return to the installer's values on the next apply of the upstream "
        "manifest, or are removed; the Deployment itself stays",
    )
