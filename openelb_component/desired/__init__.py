"""Desired state: pure functions from a validated config to the objects to apply (no Pulumi)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable

from openelb_component.config import MultiLeafTopology, SingleRouterTopology, StackConfig
from openelb_component.desired.bgp import BGP_CONF_KEY, bgp_conf, bgp_peer
from openelb_component.desired.model import DesiredObject, DesiredState, Manifest
from openelb_component.desired.nodes import node_key, node_patches
from openelb_component.desired.workloads import NODE_SELECTOR, manager_patch

__all__ = ["DesiredObject", "DesiredState", "Manifest", "desired_state"]

SINGLE_REPLICA_WARNING = (
    "one OpenELB replica is not highly available: while its node drains or reboots no "
    "LoadBalancer IP is announced; run at least 2 replicas on 2 nodes"
)
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"


def _rack_of_node(config: StackConfig) -> dict[str, str | None]:
    topology = config.topology
    if isinstance(topology, SingleRouterTopology):
        return dict.fromkeys(topology.nodes)
    return {node: leaf.name for leaf in topology.leaves for node in leaf.nodes}


def _forced(obj: DesiredObject) -> DesiredObject:
    """The patch taking ownership of fields other managers (kubectl edit/label/scale) set."""
    manifest = copy.deepcopy(obj.manifest)
    manifest["metadata"].setdefault("annotations", {})[PATCH_FORCE_ANNOTATION] = "true"
    return dataclasses.replace(obj, manifest=manifest)


def _adopting(objects: Iterable[DesiredObject], adopt: bool) -> list[DesiredObject]:
    return [_forced(obj) if adopt and obj.action == "patch" else obj for obj in objects]


def desired_state(config: StackConfig) -> DesiredState:
    topology = config.topology
    rack_of_node = _rack_of_node(config)
    objects: list[DesiredObject] = node_patches(rack_of_node)
    node_keys = [obj.key for obj in objects]
    nodes_by_leaf: dict[str, tuple[str, ...]] = {}
    warnings: list[str] = []
    leaves = (
        sorted(topology.leaves, key=lambda leaf: leaf.name)
        if isinstance(topology, MultiLeafTopology)
        else []
    )
    if config.bgp is not None:
        objects.append(bgp_conf(config.bgp, leaves, node_keys))
    conf_keys = [BGP_CONF_KEY] if config.bgp is not None else []

    if isinstance(topology, MultiLeafTopology):
        nodes_by_leaf = {leaf.name: tuple(sorted(leaf.nodes)) for leaf in leaves}
        replicas = topology.replicas_per_leaf * len(leaves)
        min_per_leaf = topology.replicas_per_leaf
        objects.append(
            manager_patch(config.openelb.namespace, replicas, node_keys, True, rack_of_node)
        )
        objects += [
            bgp_peer(
                leaf,
                leaf.peer,
                sorted(node for node, rack in rack_of_node.items() if rack != leaf.name),
                [*(node_key(n) for n in sorted(leaf.nodes)), *conf_keys],
                leaf.name in config.bgp_passwords,
            )
            for leaf in leaves
            if leaf.peer is not None
        ]
    else:
        replicas = topology.effective_replicas
        min_per_leaf = replicas
        objects.append(
            manager_patch(config.openelb.namespace, replicas, node_keys, False, rack_of_node)
        )

    if min_per_leaf < 2:
        warnings.append(SINGLE_REPLICA_WARNING)
    return DesiredState(
        objects=tuple(_adopting(objects, config.adopt)),
        nodes=tuple(sorted(rack_of_node)),
        nodes_by_leaf=nodes_by_leaf,
        replicas=replicas,
        node_selector=dict(NODE_SELECTOR),
        bgp_peers=tuple(obj.name for obj in objects if obj.kind == "BgpPeer"),
        warnings=tuple(warnings),
    )
