"""The HA guard rails as plain functions over the resources a stack registers.

Each rule takes the stack's resources (``model.Resource``: type, name and properties, as
CrossGuard hands them over) and the policy's config, and returns violations: no Pulumi runtime,
no CLI, so the tests feed them what the real component registers under mocks.

Every rule works from the Kubernetes objects themselves (node labels, the workload's replicas,
nodeSelector and spread constraint), not from the stack config, so it also holds for stacks
written by hand or by another program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openelb_policy.model import (
    DAEMONSET_PATCH,
    DEPLOYMENT_PATCH,
    KUBERNETES_PROVIDER,
    LEAF_LABEL,
    MIN_REPLICAS,
    PATCH_FORCE_ANNOTATION,
    RACK_LABEL,
    Resource,
    Violation,
    at,
    is_secret,
    mapping,
    per_leaf_applies,
    topology_of,
)

# --- mandatory ------------------------------------------------------------------------------


def production_replicas(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> list[Violation]:
    """A production stack keeps announcing while any one node drains: >= 2 replicas, and in a
    multi-leaf topology >= 2 under every leaf."""
    if config.get("production") is not True:
        return []
    topology = topology_of(resources)
    violations: list[Violation] = []
    for workload in topology.workloads:
        if per_leaf_applies(topology, workload):
            per_leaf = topology.replicas_per_leaf(workload)
            if per_leaf is None:
                violations.append(
                    Violation(
                        f"production stack: nothing keeps {MIN_REPLICAS} replicas of "
                        f"{workload.title} under each leaf: it needs a replica count, a "
                        "nodeSelector on the labelled nodes and a DoNotSchedule topology spread "
                        f"constraint on {RACK_LABEL} (or {LEAF_LABEL}, where it names the leaf)",
                        workload.urn,
                    )
                )
                continue
            violations += [
                Violation(
                    f"production stack: leaf {leaf!r} gets {count} replica(s) of "
                    f"{workload.title}; run at least {MIN_REPLICAS} under every leaf "
                    "(topology.replicasPerLeaf, and that many labelled nodes per leaf) so a "
                    "node drain keeps the leaf's BGP sessions",
                    workload.urn,
                )
                for leaf, count in sorted(per_leaf.items())
                if count < MIN_REPLICAS
            ]
            continue
        total = topology.total_replicas(workload)
        if total is None or total < MIN_REPLICAS:
            shown = "an unset number of" if total is None else str(total)
            violations.append(
                Violation(
                    f"production stack: {workload.title} runs {shown} replica(s); run at least "
                    f"{MIN_REPLICAS} on {MIN_REPLICAS} nodes (topology.replicas) so a node drain "
                    "keeps LoadBalancer IPs announced",
                    workload.urn,
                )
            )
    return violations


def replicas_fit_nodes(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """One replica per node (required anti-affinity, host ports): replicas beyond the labelled
    nodes stay Pending, and so do a leaf's share beyond that leaf's nodes."""
    topology = topology_of(resources)
    violations: list[Violation] = []
    for workload in topology.workloads:
        eligible = topology.eligible_nodes(workload)
        if workload.replicas is None or eligible is None:
            continue
        if workload.replicas > len(eligible):
            violations.append(
                Violation(
                    f"{workload.title} runs {workload.replicas} replicas but only "
                    f"{len(eligible)} node(s) match its nodeSelector ({', '.join(eligible)}): "
                    "one replica per node, so the rest stay Pending; lower the replicas or "
                    "label more nodes",
                    workload.urn,
                )
            )
        racks = topology.racks
        if workload.spread_over_racks and racks:
            share = workload.replicas // len(racks)
            for leaf, nodes in sorted(racks.items()):
                fitting = [n for n in nodes if n in eligible]
                if len(fitting) < share:
                    violations.append(
                        Violation(
                            f"{workload.title}: the rack spread constraint puts {share} "
                            f"replicas under leaf {leaf!r}, which has {len(fitting)} eligible "
                            "node(s); the rest stay Pending; add nodes to the leaf or lower "
                            "the replicas per leaf",
                            workload.urn,
                        )
                    )
    return violations


def bgp_peers_select_nodes(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> list[Violation]:
    """Under several leaf routers a BgpPeer without a nodeSelector makes every replica peer with
    that router, including replicas under other leaves (OpenELB's multi-router guide)."""
    topology = topology_of(resources)
    if not topology.multi_leaf:
        return []
    violations: list[Violation] = []
    for peer in topology.bgp_peers:
        selector = mapping(at(peer.props, "spec", "nodeSelector"))
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            violations.append(
                Violation(
                    f"BgpPeer {at(peer.props, 'metadata', 'name')} has no nodeSelector in a "
                    "multi-leaf topology: replicas under every leaf would peer with this "
                    f"router; select its leaf with matchLabels {{{RACK_LABEL}: <leaf>}} (or "
                    f"{LEAF_LABEL}, where it names the leaf)",
                    peer.urn,
                )
            )
    return violations


def bgp_passwords_are_secret(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> list[Violation]:
    """A BGP password in plain text ends up in the state file and in every preview."""
    violations: list[Violation] = []
    for peer in topology_of(resources).bgp_peers:
        password = at(peer.props, "spec", "conf", "authPassword")
        if password is not None and not is_secret(password):
            violations.append(
                Violation(
                    f"BgpPeer {at(peer.props, 'metadata', 'name')}: spec.conf.authPassword is "
                    "not a Pulumi secret, so it is stored and shown in plain text; set it with "
                    "`pulumi config set --secret`",
                    peer.urn,
                )
            )
    return violations


# The workload patches take over the fields this project exists to manage on every stack
# (openelb_component/desired/ownership.py): forcing them is the design, not an exception.
FORCED_BY_DESIGN = (DEPLOYMENT_PATCH, DAEMONSET_PATCH)


def _forces(resource: Resource) -> str | None:
    """How this resource takes field ownership from other managers, if it does."""
    if resource.type in FORCED_BY_DESIGN:
        return None
    if resource.type.startswith("kubernetes:") and resource.type.endswith("Patch"):
        annotations = mapping(at(resource.props, "metadata", "annotations"))
        if str(annotations.get(PATCH_FORCE_ANNOTATION)).lower() == "true":
            return f'annotation {PATCH_FORCE_ANNOTATION}: "true"'
    if resource.type == KUBERNETES_PROVIDER:
        if str(resource.props.get("enablePatchForce")).lower() == "true":
            return "provider option enablePatchForce"
    return None


def no_patch_force(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """Forcing takes fields from every other manager (kubectl, the installer) without a conflict
    to review; only a stack adopting a hand-configured cluster may do it on nodes, the BgpConf
    or BgpPeers. The workload patches always force (``FORCED_BY_DESIGN``)."""
    if config.get("adopt") is True:
        return []
    violations: list[Violation] = []
    for resource in resources:
        how = _forces(resource)
        if how is not None:
            violations.append(
                Violation(
                    f"{resource.type} {resource.name} forces field ownership ({how}) but the "
                    "stack does not adopt: remove it, or set openelb-ha:adopt: true in the "
                    "stack and adopt: true in this policy's config",
                    resource.urn,
                )
            )
    return violations


# --- advisory -------------------------------------------------------------------------------


def single_replica(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """One replica anywhere (in total, or under a leaf) is not highly available."""
    topology = topology_of(resources)
    violations: list[Violation] = []
    for workload in topology.workloads:
        per_leaf = topology.replicas_per_leaf(workload)
        if per_leaf_applies(topology, workload) and per_leaf is not None:
            violations += [
                Violation(
                    f"leaf {leaf!r} has a single replica of {workload.title}: while its node "
                    "drains, that leaf's router loses every route",
                    workload.urn,
                )
                for leaf, count in sorted(per_leaf.items())
                if count == 1
            ]
            continue
        if topology.total_replicas(workload) == 1:
            violations.append(
                Violation(
                    f"{workload.title} runs a single replica: while its node drains or "
                    "reboots no LoadBalancer IP is announced",
                    workload.urn,
                )
            )
    return violations
