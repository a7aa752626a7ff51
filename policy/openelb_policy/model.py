"""What the policy rules read: the resources a stack registers, and the facts derived from them.

CrossGuard hands each resource over as type, name and properties. Properties are read through
``Mapping`` and ``Sequence`` only, because CrossGuard wraps them in proxies that raise on values
still unknown during a preview; a fact then touches only the fields it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Copied from openelb_component.config.names, because the pack runs in its own virtualenv
# without the project installed; a test keeps the two equal.
HA_LABEL = "lb.kubesphere.io/v1alpha1"
RACK_LABEL = "openelb.kubesphere.io/rack"
LEAF_LABEL = "openelb-ha/leaf"
"""Names a node's leaf when the rack label holds the node's own name (``bgp.nextHops: node``)."""
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"
# Labels this project sets on nodes: a nodeSelector key outside them (kubernetes.io/os) is the
# cluster's own and assumed to match.
OWN_NODE_LABELS = (HA_LABEL, RACK_LABEL, LEAF_LABEL)

NODE_PATCH = "kubernetes:core/v1:NodePatch"
DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
DAEMONSET_PATCH = "kubernetes:apps/v1:DaemonSetPatch"
BGP_PEER = "kubernetes:network.kubesphere.io/v1alpha2:BgpPeer"
# With adopt, a BgpPeer is a forced patch that takes over a hand-made peer of the same name.
BGP_PEER_PATCH = f"{BGP_PEER}Patch"
BGP_CONF_PATCH = "kubernetes:network.kubesphere.io/v1alpha2:BgpConfPatch"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"

# Workloads whose pods hold the BGP sessions (v0.5 manager, v0.6 speaker): under several leaf
# routers they count per leaf. The v0.6 controller only reconciles, so it counts in total.
ANNOUNCING = frozenset({"openelb-manager", "openelb-speaker"})

# How the engine marks a secret value on the wire (pulumi sdk/go/common/resource/properties.go).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # noqa: S105 - a marker, not a password
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a marker, not a password

MIN_REPLICAS = 2


@dataclass(frozen=True)
class Resource:
    """One resource of the stack, as CrossGuard's stack validation sees it."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str | None = None


@dataclass(frozen=True)
class Violation:
    message: str
    urn: str | None = None
    """The resource at fault; None when the stack as a whole is."""


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def at(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _count(value: Any) -> int | None:
    # The wire format has only doubles: 2.0 is a replica count, True is not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


@dataclass(frozen=True)
class WorkloadFacts:
    """An OpenELB Deployment or DaemonSet as this stack's patch shapes it."""

    kind: str
    name: str
    namespace: str
    urn: str | None
    replicas: int | None
    """spec.replicas of a Deployment patch; None for a DaemonSet or when the patch leaves it."""
    node_selector: Mapping[str, str]
    spread_over_racks: bool
    """A DoNotSchedule topology spread constraint on the label naming the leaf (the rack label,
    or the leaf label with one rack per node): replicas split evenly over the leaves."""

    @property
    def title(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _spreads_over_racks(pod_spec: Mapping[str, Any]) -> bool:
    constraints = pod_spec.get("topologySpreadConstraints")
    if not isinstance(constraints, Sequence) or isinstance(constraints, str):
        return False
    return any(
        at(c, "topologyKey") in (RACK_LABEL, LEAF_LABEL)
        and at(c, "whenUnsatisfiable") == "DoNotSchedule"
        for c in constraints
    )


def _workload(resource: Resource) -> WorkloadFacts:
    kind = "Deployment" if resource.type == DEPLOYMENT_PATCH else "DaemonSet"
    pod_spec = mapping(at(resource.props, "spec", "template", "spec"))
    return WorkloadFacts(
        kind=kind,
        name=str(at(resource.props, "metadata", "name")),
        namespace=str(at(resource.props, "metadata", "namespace") or "default"),
        urn=resource.urn,
        replicas=_count(at(resource.props, "spec", "replicas")) if kind == "Deployment" else None,
        node_selector={str(k): str(v) for k, v in mapping(pod_spec.get("nodeSelector")).items()},
        spread_over_racks=_spreads_over_racks(pod_spec),
    )


@dataclass(frozen=True)
class TopologyFacts:
    """What the stack's objects say about placement: node labels, workloads, BGP peers."""

    node_labels: Mapping[str, Mapping[str, str]]
    """Every node the stack patches -> its labels."""
    workloads: tuple[WorkloadFacts, ...]
    bgp_peers: tuple[Resource, ...]

    @property
    def racks(self) -> dict[str, list[str]]:
        """Leaf -> its nodes, sorted; empty when no node names a leaf. A leaf is named by the
        leaf label where nodes carry it, else by the rack label, except a rack label holding the
        node's own name on every node (one rack per node, under a single router)."""
        labels = self.node_labels
        key = LEAF_LABEL if any(LEAF_LABEL in own for own in labels.values()) else RACK_LABEL
        racked = {node: own[key] for node, own in labels.items() if key in own}
        if key == RACK_LABEL and racked and all(rack == node for node, rack in racked.items()):
            return {}
        racks: dict[str, list[str]] = {}
        for node in sorted(racked):
            racks.setdefault(racked[node], []).append(node)
        return racks

    @property
    def multi_leaf(self) -> bool:
        return bool(self.racks)

    def eligible_nodes(self, workload: WorkloadFacts) -> list[str] | None:
        """The patched nodes whose labels satisfy the workload's nodeSelector, or None when the
        selector does not use any label this project sets (placement is not this stack's)."""
        own = {k: v for k, v in workload.node_selector.items() if k in OWN_NODE_LABELS}
        if not own:
            return None
        return sorted(
            node
            for node, labels in self.node_labels.items()
            if all(labels.get(k) == v for k, v in own.items())
        )

    def replicas_per_leaf(self, workload: WorkloadFacts) -> dict[str, int] | None:
        """Leaf -> replicas guaranteed to run under it, or None when nothing guarantees any.

        A DaemonSet runs one pod on every eligible node. A Deployment with the rack spread
        constraint (maxSkew 1) gives every leaf replicas // leaves, capped by the leaf's
        eligible nodes (one replica per node).
        """
        eligible = self.eligible_nodes(workload)
        if eligible is None:
            return None
        by_leaf = {leaf: [n for n in nodes if n in eligible] for leaf, nodes in self.racks.items()}
        if workload.kind == "DaemonSet":
            return {leaf: len(nodes) for leaf, nodes in by_leaf.items()}
        if workload.replicas is None or not workload.spread_over_racks or not by_leaf:
            return None
        share = workload.replicas // len(by_leaf)
        return {leaf: min(share, len(nodes)) for leaf, nodes in by_leaf.items()}

    def total_replicas(self, workload: WorkloadFacts) -> int | None:
        if workload.kind == "DaemonSet":
            eligible = self.eligible_nodes(workload)
            return None if eligible is None else len(eligible)
        return workload.replicas


def topology_of(resources: Sequence[Resource]) -> TopologyFacts:
    node_labels: dict[str, Mapping[str, str]] = {}
    for resource in resources:
        if resource.type == NODE_PATCH:
            name = str(at(resource.props, "metadata", "name"))
            labels = mapping(at(resource.props, "metadata", "labels"))
            node_labels[name] = {str(k): str(v) for k, v in labels.items()}
    return TopologyFacts(
        node_labels=node_labels,
        workloads=tuple(
            _workload(r) for r in resources if r.type in (DEPLOYMENT_PATCH, DAEMONSET_PATCH)
        ),
        bgp_peers=tuple(r for r in resources if r.type in (BGP_PEER, BGP_PEER_PATCH)),
    )


def per_leaf_applies(topology: TopologyFacts, workload: WorkloadFacts) -> bool:
    return topology.multi_leaf and workload.name in ANNOUNCING
