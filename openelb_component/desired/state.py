"""The desired state of a whole stack: nodes, workloads, BGP objects, PodDisruptionBudgets."""

from __future__ import annotations

from openelb_component.config.models import MultiLeafTopology, SingleRouterTopology, StackConfig
from openelb_component.desired import peer_resets
from openelb_component.desired.addressing import addressing_warnings
from openelb_component.desired.bgp import bgp_conf, bgp_peer, bgp_peer_name, bgp_warnings
from openelb_component.desired.bgpconf_change import record_annotations
from openelb_component.desired.model import DesiredObject, DesiredState
from openelb_component.desired.nodes import node_key, node_patches
from openelb_component.desired.ownership import with_ownership
from openelb_component.desired.pdb import pod_disruption_budget
from openelb_component.desired.workloads import (
    CONTROLLER_V06,
    MANAGER_V05,
    NODE_SELECTOR,
    SPEAKER_NODES_ANNOTATION,
    bgp_conf_digest,
    controller_patch,
    manager_patch,
    speaker_nodes_digest,
    speaker_patch,
    speaker_template_annotations,
)

SINGLE_REPLICA_WARNING = (
    "one OpenELB replica is not highly available: while its node drains or reboots no "
    "LoadBalancer IP is announced; run at least 2 replicas on 2 nodes"
)
SINGLE_CONTROLLER_WARNING = (
    "one openelb-controller replica is not highly available: while its node drains or reboots "
    "no new LoadBalancer IP is assigned (the speakers keep announcing the assigned ones); set "
    "openelb.controllerReplicas to 2 or more"
)
CONTROLLER_REPLICAS_IGNORED_WARNING = (
    "openelb.controllerReplicas is ignored with OpenELB 0.5: the openelb-manager is also the "
    "controller and its replica count comes from the topology; it applies to version 0.6"
)

EIPS_MISSING_WARNING = (
    "openelb-ha:eips is not set: the leaf-router configurations (router-config, the "
    "routerConfigs output) then accept any host route (/32, /128) the nodes announce; set eips "
    "to the spec.address of every Eip object so that a router accepts only those addresses"
)


def _rack_of_node(config: StackConfig) -> dict[str, str | None]:
    topology = config.topology
    if isinstance(topology, SingleRouterTopology):
        return dict.fromkeys(topology.nodes)
    return {node: leaf.name for leaf in topology.leaves for node in leaf.nodes}


def _rack_of_other_node(config: StackConfig) -> dict[str, str]:
    """A leaf's ``otherNodes``: cabled to it, not running OpenELB."""
    topology = config.topology
    if isinstance(topology, SingleRouterTopology):
        return {}
    return {node: leaf.name for leaf in topology.leaves for node in leaf.other_nodes}


def desired_state(config: StackConfig) -> DesiredState:
    topology = config.topology
    settings = config.openelb
    namespace = settings.namespace
    rack_of_node = _rack_of_node(config)
    rack_of_other_node = _rack_of_other_node(config)
    next_hops = config.next_hops
    objects: list[DesiredObject] = node_patches(rack_of_node, rack_of_other_node, next_hops)
    node_keys = [obj.key for obj in objects]
    warnings: list[str] = [*bgp_warnings(config), *addressing_warnings(config)]
    leaves = (
        sorted(topology.leaves, key=lambda leaf: leaf.name)
        if isinstance(topology, MultiLeafTopology)
        else []
    )
    conf = None if config.bgp is None else bgp_conf(config.bgp, leaves, node_keys)
    if conf is not None:
        objects.append(conf)
    conf_keys = [] if conf is None else [conf.key]
    conf_digest = None if conf is None else bgp_conf_digest(conf.manifest["spec"])
    # On the announcing workload itself (rolls nothing): what the next run compares with.
    peers = [
        bgp_peer(
            leaf,
            leaf.peer,
            [*(node_key(n) for n in sorted(leaf.nodes)), *conf_keys],
            leaf.name in config.bgp_passwords,
            config.bgp,
        )
        for leaf in leaves
        if leaf.peer is not None
    ]
    recorded = {
        **record_annotations(None if conf is None else conf.manifest["spec"]),
        **peer_resets.record_annotations(peers),
    }
    multi_leaf = isinstance(topology, MultiLeafTopology)

    if settings.version == "0.6":
        # One speaker per listed node; the fewest speakers under one router decides HA.
        replicas = len(rack_of_node)
        min_per_router = min((len(leaf.nodes) for leaf in leaves), default=replicas)
        controller = controller_patch(
            namespace, settings.controller_replicas, node_keys, multi_leaf, next_hops
        )
        annotations = speaker_template_annotations(
            rack_of_node, rack_of_other_node, None if conf is None else conf.manifest["spec"]
        )
        recorded[SPEAKER_NODES_ANNOTATION] = speaker_nodes_digest(rack_of_node)
        # After the BgpConf: its change restarts BGP on every speaker at once, and only the
        # roll that follows makes v0.6 speakers announce again.
        speaker = speaker_patch(
            namespace,
            [*node_keys, *conf_keys],
            annotations,
            len(rack_of_node),
            settings.min_ready_seconds,
            recorded,
        )
        objects += [speaker, controller]
        replicated, replicated_key = CONTROLLER_V06, controller.key
        controller_replicas = settings.controller_replicas
        if controller_replicas < 2:
            warnings.append(SINGLE_CONTROLLER_WARNING)
    else:
        if isinstance(topology, MultiLeafTopology):
            min_per_router = topology.replicas_per_leaf
            replicas = min_per_router * len(leaves)
        else:
            replicas = min_per_router = topology.effective_replicas
        manager = manager_patch(
            namespace,
            replicas,
            node_keys,
            multi_leaf,
            rack_of_node,
            rack_of_other_node,
            settings.min_ready_seconds,
            recorded,
            next_hops,
        )
        objects.append(manager)
        replicated, replicated_key = MANAGER_V05, manager.key
        controller_replicas = replicas
        if "controller_replicas" in settings.model_fields_set:
            warnings.append(CONTROLLER_REPLICAS_IGNORED_WARNING)

    if settings.pod_disruption_budget:
        objects.append(pod_disruption_budget(replicated, namespace, replicated_key))

    objects += peers

    if config.eips is None and any(leaf.peer is not None for leaf in leaves):
        warnings.append(EIPS_MISSING_WARNING)
    if min_per_router < 2:
        warnings.insert(0, SINGLE_REPLICA_WARNING)
    return DesiredState(
        objects=tuple(with_ownership(objects, config.adopt)),
        nodes=tuple(sorted(rack_of_node)),
        nodes_by_leaf={leaf.name: tuple(sorted(leaf.nodes)) for leaf in leaves},
        replicas=replicas,
        # 0.6 runs a speaker on every listed node; 0.5 spreads replicasPerLeaf over each leaf.
        replicas_by_leaf={
            leaf.name: len(leaf.nodes) if settings.version == "0.6" else min_per_router
            for leaf in leaves
        },
        peer_by_leaf={
            leaf.name: leaf.peer.name or bgp_peer_name(leaf.peer.address)
            for leaf in leaves
            if leaf.peer
        },
        controller_replicas=controller_replicas,
        node_selector=dict(NODE_SELECTOR),
        bgp_peers=tuple(obj.name for obj in objects if obj.kind == "BgpPeer"),
        warnings=tuple(warnings),
        bgp_conf_digest=conf_digest,
    )
