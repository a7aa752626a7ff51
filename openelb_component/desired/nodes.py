"""Node labels: the HA label on every listed node, and the rack label OpenELB reads.

Once a speaker knows its rack it announces only the nodes carrying its own rack label as next
hops (``SetBalancer``, pkg/speaker/bgp/path.go:181-201@v0.5.1, :177-200@v0.6.0), so the rack
label's value decides what a speaker announces:

- ``bgp.nextHops: rack`` (OpenELB's multi-router guide): the leaf's name; the leaf's BgpPeer
  selects it. A leaf's ``otherNodes`` get the rack label only, so the leaf's speakers announce
  them too, and no HA label keeps every OpenELB pod off them.
- ``bgp.nextHops: node``: the node's own name, so each speaker's rack holds its own node alone
  and it announces only that node; the leaf is named by ``openelb-ha/leaf`` instead, which the
  leaf's BgpPeer selects (docs/behaviour.md#next-hops-that-die-with-their-node).
"""

from __future__ import annotations

from collections.abc import Mapping

from openelb_component.config import names
from openelb_component.config.models import NextHops
from openelb_component.desired.model import DesiredObject


def node_key(node: str) -> str:
    return f"node-{node}"


def node_labels(
    rack_of_node: Mapping[str, str | None],
    rack_of_other_node: Mapping[str, str] | None = None,
    next_hops: NextHops = "rack",
) -> dict[str, dict[str, str]]:
    """Node -> the labels this project owns on it, for nodes in sorted order. ``rack_of_node``
    maps each node to its leaf (None under a single router)."""
    labels: dict[str, dict[str, str]] = {}
    for node, rack in rack_of_node.items():
        labels[node] = {names.HA_LABEL: names.HA_LABEL_VALUE}
        if next_hops == "node":
            labels[node][names.RACK_LABEL] = node
            if rack is not None:
                labels[node][names.LEAF_LABEL] = rack
        elif rack is not None:
            labels[node][names.RACK_LABEL] = rack
    for node, rack in (rack_of_other_node or {}).items():
        labels[node] = {names.RACK_LABEL: rack}
    return dict(sorted(labels.items()))


def node_patches(
    rack_of_node: Mapping[str, str | None],
    rack_of_other_node: Mapping[str, str] | None = None,
    next_hops: NextHops = "rack",
) -> list[DesiredObject]:
    return [
        DesiredObject(
            key=node_key(node),
            action="patch",
            manifest={
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": node, "labels": labels},
            },
            must_exist=True,
            on_destroy="the labels are removed from the node (unless another field manager, "
            "e.g. kubectl-label, also set them); the node itself stays",
        )
        for node, labels in node_labels(rack_of_node, rack_of_other_node, next_hops).items()
    ]
