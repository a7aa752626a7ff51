"""The HA guard rails as plain functions over the resources a stack registers.

Each rule takes the stack's resources (type, name, properties, as CrossGuard hands them over)
and the policy's config, and returns violations: no Pulumi runtime, no CLI, so the tests feed
them what the real component registers under mocks. Properties are read through ``Mapping`` and
``Sequence`` only, because CrossGuard wraps them in proxies that raise on values still unknown
during a preview; a rule then touches only the fields it needs.

Every rule works from the Kubernetes objects themselves (node labels, the workload's replicas,
nodeSelector and spread constraint), not from the stack config, so it also holds for stacks
written by hand or by another program.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# Copied from openelb_component.config.names, because the pack runs in its own virtualenv
# without the project installed; a test keeps the two equal.
HA_LABEL = "lb.kubesphere.io/v1alpha1"
RACK_LABEL = "openelb.kubesphere.io/rack"
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"
# Labels this project sets on nodes: a nodeSelector key outside them (kubernetes.io/os) is the
# cluster's own and assumed to match.
OWN_NODE_LABELS = (HA_LABEL, RACK_LABEL)

NODE_PATCH = "kubernetes:core/v1:NodePatch"
DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
DAEMONSET_PATCH = "kubernetes:apps/v1:DaemonSetPatch"
BGP_PEER = "kubernetes:network.kubesphere.io/v1alpha2:BgpPeer"
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


def _at(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _count(value: Any) -> int | None:
    # The wire format has only doubles: 2.0 is a replica count, True is not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


@dataclass(frozen=True)
class Workload:
    """An OpenELB Deployment or DaemonSet as this stack's patch shapes it."""

    kind: str
    name: str
    namespace: str
    urn: str | None
    replicas: int | None
    """spec.replicas of a Deployment patch; None for a DaemonSet or when the patch leaves it."""
    node_selector: Mapping[str, str]
    spread_over_racks: bool
    """A DoNotSchedule topology spread constraint on the rack label: replicas split evenly."""

    @property
    def title(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _spreads_over_racks(pod_spec: Mapping[str, Any]) -> bool:
    constraints = pod_spec.get("topologySpreadConstraints")
    if not isinstance(constraints, Sequence) or isinstance(constraints, str):
        return False
    return any(
        _at(c, "topologyKey") == RACK_LABEL and _at(c, "whenUnsatisfiable") == "DoNotSchedule"
        for c in constraints
    )


def _workload(resource: Resource) -> Workload:
    kind = "Deployment" if resource.type == DEPLOYMENT_PATCH else "DaemonSet"
    pod_spec = _mapping(_at(resource.props, "spec", "template", "spec"))
    return Workload(
        kind=kind,
        name=str(_at(resource.props, "metadata", "name")),
        namespace=str(_at(resource.props, "metadata", "namespace") or "default"),
        urn=resource.urn,
        replicas=_count(_at(resource.props, "spec", "replicas")) if kind == "Deployment" else None,
        node_selector={str(k): str(v) for k, v in _mapping(pod_spec.get("nodeSelector")).items()},
        spread_over_racks=_spreads_over_racks(pod_spec),
    )


@dataclass(frozen=True)
class Topology:
    """What the stack's objects say about placement: node labels, workloads, BGP peers."""

    node_labels: Mapping[str, Mapping[str, str]]
    """Every node the stack patches -> its labels."""
    workloads: tuple[Workload, ...]
    bgp_peers: tuple[Resource, ...]

    @property
    def racks(self) -> dict[str, list[str]]:
        """Rack label value -> its nodes, sorted; empty when no node carries a rack label."""
        racks: dict[str, list[str]] = {}
        for node in sorted(self.node_labels):
            rack = self.node_labels[node].get(RACK_LABEL)
            if rack is not None:
                racks.setdefault(rack, []).append(node)
        return racks

    @property
    def multi_leaf(self) -> bool:
        return bool(self.racks)

    def eligible_nodes(self, workload: Workload) -> list[str] | None:
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

    def replicas_per_leaf(self, workload: Workload) -> dict[str, int] | None:
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

    def total_replicas(self, workload: Workload) -> int | None:
        if workload.kind == "DaemonSet":
            eligible = self.eligible_nodes(workload)
            return None if eligible is None else len(eligible)
        return workload.replicas


def topology_of(resources: Sequence[Resource]) -> Topology:
    node_labels: dict[str, Mapping[str, str]] = {}
    for resource in resources:
        if resource.type == NODE_PATCH:
            name = str(_at(resource.props, "metadata", "name"))
            labels = _mapping(_at(resource.props, "metadata", "labels"))
            node_labels[name] = {str(k): str(v) for k, v in labels.items()}
    return Topology(
        node_labels=node_labels,
        workloads=tuple(
            _workload(r) for r in resources if r.type in (DEPLOYMENT_PATCH, DAEMONSET_PATCH)
        ),
        bgp_peers=tuple(r for r in resources if r.type == BGP_PEER),
    )


def _per_leaf_applies(topology: Topology, workload: Workload) -> bool:
    return topology.multi_leaf and workload.name in ANNOUNCING


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
        if _per_leaf_applies(topology, workload):
            per_leaf = topology.replicas_per_leaf(workload)
            if per_leaf is None:
                violations.append(
                    Violation(
                        f"production stack: nothing keeps {MIN_REPLICAS} replicas of "
                        f"{workload.title} under each leaf: it needs a replica count, a "
                        "nodeSelector on the labelled nodes and a DoNotSchedule topology spread "
                        f"constraint on {RACK_LABEL}",
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
        selector = _mapping(_at(peer.props, "spec", "nodeSelector"))
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            violations.append(
                Violation(
                    f"BgpPeer {_at(peer.props, 'metadata', 'name')} has no nodeSelector in a "
                    "multi-leaf topology: replicas under every leaf would peer with this "
                    f"router; select its leaf with matchLabels {{{RACK_LABEL}: <leaf>}}",
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
        password = _at(peer.props, "spec", "conf", "authPassword")
        if password is not None and not is_secret(password):
            violations.append(
                Violation(
                    f"BgpPeer {_at(peer.props, 'metadata', 'name')}: spec.conf.authPassword is "
                    "not a Pulumi secret, so it is stored and shown in plain text; set it with "
                    "`pulumi config set --secret`",
                    peer.urn,
                )
            )
    return violations


def _forces(resource: Resource) -> str | None:
    """How this resource takes field ownership from other managers, if it does."""
    if resource.type.startswith("kubernetes:") and resource.type.endswith("Patch"):
        annotations = _mapping(_at(resource.props, "metadata", "annotations"))
        if str(annotations.get(PATCH_FORCE_ANNOTATION)).lower() == "true":
            return f'annotation {PATCH_FORCE_ANNOTATION}: "true"'
    if resource.type == KUBERNETES_PROVIDER:
        if str(resource.props.get("enablePatchForce")).lower() == "true":
            return "provider option enablePatchForce"
    return None


def no_patch_force(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """Forcing takes fields from every other manager (kubectl, the installer) without a conflict
    to review; only a stack adopting a hand-configured cluster may do it."""
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
        if _per_leaf_applies(topology, workload) and per_leaf is not None:
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


# --- the pack's contents ----------------------------------------------------------------------

Check = Callable[[Sequence[Resource], Mapping[str, Any]], list[Violation]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    enforcement: Literal["mandatory", "advisory"]
    check: Check
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON Schema of each config property the rule reads (CrossGuard policy config)."""


RULES: tuple[Rule, ...] = (
    Rule(
        "openelb-ha-production-replicas",
        "A production stack runs at least 2 OpenELB replicas, at least 2 under every leaf.",
        "mandatory",
        production_replicas,
        {"production": {"type": "boolean", "default": False}},
    ),
    Rule(
        "openelb-ha-replicas-fit-nodes",
        "OpenELB replicas never exceed the nodes labelled for them (one per node).",
        "mandatory",
        replicas_fit_nodes,
    ),
    Rule(
        "openelb-ha-bgppeer-node-selector",
        "In a multi-leaf topology every BgpPeer selects its leaf's nodes.",
        "mandatory",
        bgp_peers_select_nodes,
    ),
    Rule(
        "openelb-ha-bgp-password-secret",
        "A BgpPeer's authPassword is a Pulumi secret.",
        "mandatory",
        bgp_passwords_are_secret,
    ),
    Rule(
        "openelb-ha-no-patch-force",
        "No patch forces field ownership unless the stack adopts a hand-configured cluster.",
        "mandatory",
        no_patch_force,
        {"adopt": {"type": "boolean", "default": False}},
    ),
    Rule(
        "openelb-ha-single-replica",
        "A single OpenELB replica (in total or under a leaf) is not highly available.",
        "advisory",
        single_replica,
    ),
)
