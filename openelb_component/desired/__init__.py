"""Desired state: pure functions from a validated config to the objects to apply (no Pulumi)."""

from __future__ import annotations

from openelb_component.config import MultiLeafTopology, SingleRouterTopology, StackConfig
from openelb_component.desired.bgp import bgp_peer
from openelb_component.desired.model import DesiredObject, DesiredState, Manifest
from openelb_component.desired.nodes import node_key, node_patches
from openelb_component.desired.workloads import NODE_SELECTOR, manager_patch

__all__ = ["DesiredObject", "DesiredState", "Manifest", "desired_state"]

SINGLE_REPLICA_WARNING = (
    "one OpenELB replica is not highly available: while its node drains or reboots no "
    "LoadBalancer IP is announced; run at least 2 replicas on 2 nodes"
)


def _rack_of_node(config: StackConfig) -> dict[str, str | None]:
    topology = config.topology
    if isinstance(topology, SingleRouterTopology):
        return dict.fromkeys(topology.nodes)
    return {node: leaf.name for leaf in topology.leaves for node in leaf.nodes}


def desired_state(config: StackConfig) -> DesiredState:
    topology = config.topology
    rack_of_node = _rack_of_node(config)
    objects: list[DesiredObject] = node_patches(rack_of_node)
    node_keys = [obj.key for obj in objects]
    nodes_by_leaf: dict[str, tuple[str, ...]] = {}
    warnings: list[str] = []

    if isinstance(topology, MultiLeafTopology):
        leaves = sorted(topology.leaves, key=lambda leaf: leaf.name)
        nodes_by_leaf = {leaf.name: tuple(sorted(leaf.nodes)) for leaf in leaves}
        replicas = topology.replicas_per_leaf * len(leaves)
        min_per_leaf = topology.replicas_per_leaf
        objects.append(manager_patch(config.openelb.namespace, replicas, node_keys, True))
        objects += [
            bgp_peer(leaf, leaf.peer, [node_key(n) for n in sorted(leaf.nodes)])
            for leaf in leaves
            if leaf.peer is not None
        ]
    else:
        replicas = topology.effective_replicas
        min_per_leaf = replicas
        objects.append(manager_patch(config.openelb.namespace, replicas, node_keys, False))

    if min_per_leaf < 2:
        warnings.append(SINGLE_REPLICA_WARNING)
    return DesiredState(
        objects=tuple(objects),
        nodes=tuple(sorted(rack_of_node)),
        nodes_by_leaf=nodes_by_leaf,
        replicas=replicas,
        node_selector=dict(NODE_SELECTOR),
        bgp_peers=tuple(obj.name for obj in objects if obj.kind == "BgpPeer"),
        warnings=tuple(warnings),
    )
