"""Node labels: the HA label on every listed node; in a multi-leaf topology also the rack label
(OpenELB's; the leaf's BgpPeer selects both). A leaf's
``otherNodes`` get the rack label only: OpenELB's speakers, once they know their rack, announce
only nodes carrying their rack label as next hops (``SetBalancer``,
pkg/speaker/bgp/path.go:181-201@v0.5.1), and no HA label keeps every OpenELB pod off them."""

from __future__ import annotations

from collections.abc import Mapping

from openelb_component.config import names
from openelb_component.desired.model import DesiredObject


def node_key(node: str) -> str:
    return f"node-{node}"


def node_labels(
    rack_of_node: Mapping[str, str | None], rack_of_other_node: Mapping[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """Node -> the labels this project owns on it, for nodes in sorted order."""
    labels: dict[str, dict[str, str]] = {}
    for node, rack in rack_of_node.items():
        labels[node] = {names.HA_LABEL: names.HA_LABEL_VALUE}
        if rack is not None:
            labels[node][names.RACK_LABEL] = rack
    for node, rack in (rack_of_other_node or {}).items():
        labels[node] = {names.RACK_LABEL: rack}
    return dict(sorted(labels.items()))


def node_patches(
    rack_of_node: Mapping[str, str | None], rack_of_other_node: Mapping[str, str] | None = None
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
        for node, labels in node_labels(rack_of_node, rack_of_other_node).items()
    ]
