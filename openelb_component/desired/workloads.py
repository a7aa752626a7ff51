"""The OpenELB workload patches: where the replicas run and how many there are.

v0.5 runs one ``openelb-manager`` Deployment (docs/design.md §2). Its required pod anti-affinity
on the hostname and its host ports allow one replica per node, which the config checks guarantee.

v0.6 splits it: the ``openelb-speaker`` DaemonSet announces (one speaker per admitted node, no
replica count) and the leader-elected ``openelb-controller`` Deployment assigns addresses. One
function per workload, so each can grow on its own.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from openelb_component.config import names
from openelb_component.config.models import NextHops
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

SPEAKER_V06 = Workload(
    kind="DaemonSet",
    name="openelb-speaker",
    pod_labels={"app": "openelb", "component": "speaker"},
)

CONTROLLER_V06 = Workload(
    kind="Deployment",
    name="openelb-controller",
    pod_labels={"app": "openelb", "component": "controller"},
)

WORKLOAD_KEY = "workload"
"""The workload that announces: v0.5 manager Deployment, v0.6 speaker DaemonSet."""
CONTROLLER_KEY = "controller"
"""v0.6 only: the controller Deployment."""

NODE_SELECTOR: Mapping[str, str] = {
    names.OS_LABEL: "linux",
    names.HA_LABEL: names.HA_LABEL_VALUE,
}


def leaf_label(next_hops: NextHops) -> str:
    """The node label naming a node's leaf: the rack label, or this project's leaf label when
    ``nextHops: node`` gives every node a rack of its own (``nodes.py``)."""
    return names.LEAF_LABEL if next_hops == "node" else names.RACK_LABEL


def rack_spread(workload: Workload, next_hops: NextHops = "rack") -> Manifest:
    """Spread replicas evenly over leaves; with equal counts per leaf every leaf gets its share.

    DoNotSchedule makes it a guarantee rather than a preference: a replica that cannot keep the
    leaves within one of each other stays Pending instead of piling onto one leaf. The key is the
    label naming the leaf: with one rack per node, spreading over racks would spread over nodes
    and no longer guarantee each leaf its replicas.
    """
    return {
        "maxSkew": 1,
        "topologyKey": leaf_label(next_hops),
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": dict(workload.pod_labels)},
    }


MANAGER_STRATEGY: Manifest = {
    "type": "RollingUpdate",
    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
}
"""The 0.5 manager's rollout: stop one replica, then start its successor.

No surge, because the rack spread counts the pods of every revision (a constraint without
``matchLabelKeys`` selects by labels alone, podtopologyspread/common.go:96-105@v1.37.2) and the
ReplicaSet picks which old pod to stop without looking at leaves
(controller_utils.go:843-893@v1.37.2). A surge pod is placed beside old pods that are stopped
afterwards, so a rollout could end 3/2/1 where the stack asks 2/2/2 (a real scheduler did, in
``make cluster-test``). Without surge each new pod is placed after its predecessor stopped: the
stopped pod's leaf is then the only one below the others, and maxSkew 1 allows that leaf alone
(a node passes when its leaf's count plus one, minus the lowest count, is at most maxSkew:
filtering.go:346-360@v1.37.2), so every step ends even. The spread counts no terminating pod
(common.go:150-154@v1.37.2): the stopped pod's leaf counts one less as soon as it is deleted
(its node stays taken until it is gone: host ports and the one-per-node anti-affinity).

Counting only the new revision (``matchLabelKeys: [pod-template-hash]``) was tried instead: a
new pod then may need a leaf whose free nodes old pods still hold, and the racks stack's
rollout did not finish in 5 minutes against a real control plane.
"""

MEMBERSHIP_ANNOTATION = f"{names.PROJECT}/membership"
BGP_CONF_ANNOTATION = f"{names.PROJECT}/bgpconf"
BGP_CONF_SPEC_ANNOTATION = f"{names.PROJECT}/bgpconf-spec"
BGP_PEERS_ANNOTATION = f"{names.PROJECT}/bgppeers"
SPEAKER_NODES_ANNOTATION = f"{names.PROJECT}/speaker-nodes"


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()[:16]


def membership_digest(
    rack_of_node: Mapping[str, str | None], rack_of_other_node: Mapping[str, str]
) -> str:
    """A hash of every (node, leaf), sorted: reordering the stack file changes nothing.

    ``otherNodes`` are appended only when there are some, so a stack without them keeps the
    hash it had before the key existed (and does not roll for nothing)."""
    membership: list[list[str]] = [[n, r or ""] for n, r in sorted(rack_of_node.items())]
    membership += [[n, r, "other"] for n, r in sorted(rack_of_other_node.items())]
    return _digest(membership)


def speaker_nodes_digest(nodes: Iterable[str]) -> str:
    """A hash of the listed nodes' names, sorted: the 0.6 DaemonSet's own annotation
    ``SPEAKER_NODES_ANNOTATION``, so that every join or leave updates the DaemonSet patch and
    ``pulumi up`` waits for its rollout before releasing a leaving node's labels.

    Without it a single-router 0.6 stack's join changed nothing but the joining node's labels
    (its pod template has no membership annotation: ``speaker_template_annotations``), Pulumi
    had nothing to wait for, and the leaving nodes' labels, released at the end of the same
    ``up``, stopped their speakers while the joining ones were still starting: replacing every
    node of the leaf in one edit left the router without a path for a pod start plus
    ``minReadySeconds`` (``make e2e`` measured the joining speaker's rollout ending 31 s after
    ``up`` returned). With it the DaemonSet patch is updated after the labels (it depends on
    them) and the provider's DaemonSet wait asks kstatus for every scheduled pod updated,
    ready and available (provider/pkg/await/daemonset.go:185, 220-223@v4.25.0), the joining
    node's among them. On the object, not the pod template: it rolls nothing."""
    return _digest(sorted(nodes))


def bgp_conf_digest(spec: Manifest) -> str:
    """A hash of the BgpConf spec this stack applies (keys sorted)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def membership_template(
    rack_of_node: Mapping[str, str | None], rack_of_other_node: Mapping[str, str]
) -> Manifest:
    """v0.5 pod-template fields that change exactly when a node joins, leaves or changes leaf
    (``otherNodes`` included), so the manager rolls then, one replica at a time.

    - an annotation hashing (node, leaf): a replica reads its rack, its asPerRack ASN and which
      BgpPeers select its node only when it starts (bgpconf_controller.go:88-104 and
      bgppeer_controller.go:86-98@v0.5.1: neither watches Node labels), its next hops are
      refreshed only on Service, Endpoints or Node readiness events
      (pkg/controllers/lb/controller.go:87-197@v0.5.1), and the rack spread re-places replicas
      only when they start;
    - a node affinity on the listed node names (``matchFields metadata.name``, the field the
      DaemonSet controller itself uses; no label involved), one term per node: the API server
      allows exactly one value in a ``metadata.name`` requirement ("must be only one value when
      `operator` is 'In' or 'NotIn' for node field selector",
      pkg/apis/core/validation/validation.go:5153-5161@v1.37.2; a real API server refused the
      one-term list), and terms are ORed. A Deployment keeps a pod whose
      nodeSelector stops matching (IgnoredDuringExecution), and Pulumi removes a dropped node's
      labels only after every update, i.e. after the roll, so without it a rolled pod could land
      on the dropped node again and keep announcing. Because it lists the nodes, a join rolls
      the manager too, which also makes every replica announce the new node.
    """
    terms = [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}
        for name in sorted(rack_of_node)
    ]
    return {
        "metadata": {
            "annotations": {
                MEMBERSHIP_ANNOTATION: membership_digest(rack_of_node, rack_of_other_node)
            }
        },
        "spec": {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
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
    rack_of_other_node: Mapping[str, str],
    min_ready_seconds: int,
    annotations: Mapping[str, str] | None = None,
    next_hops: NextHops = "rack",
) -> DesiredObject:
    """``annotations``: on the Deployment itself (not its pods): changing them rolls nothing."""
    membership = membership_template(rack_of_node, rack_of_other_node)
    pod_spec: Manifest = {"nodeSelector": dict(NODE_SELECTOR), **membership["spec"]}
    if spread_over_racks:
        pod_spec["topologySpreadConstraints"] = [rack_spread(MANAGER_V05, next_hops)]
    spec: Manifest = {
        "replicas": replicas,
        # Ready is not announcing (``gobgp global`` answers before any session is up): a new
        # replica must stay ready this long before the rollout stops the next one.
        "minReadySeconds": min_ready_seconds,
        # maxUnavailable 1 is upstream's value, restated so the guarantee does not depend on
        # the installer: one replica at a time is replaced, so replicas-1 keep announcing and
        # the rollout cannot deadlock on host ports and the one-per-node anti-affinity.
        # maxSurge 0 (the API default is 25%) keeps the leaves even, see ``MANAGER_STRATEGY``.
        "strategy": copy.deepcopy(MANAGER_STRATEGY),
        "template": {"metadata": membership["metadata"], "spec": pod_spec},
    }
    return _workload_patch(
        MANAGER_V05,
        WORKLOAD_KEY,
        namespace,
        spec,
        node_keys,
        pods=replicas,
        annotations=annotations,
        on_destroy="replicas, minReadySeconds, nodeSelector (atomic: owned whole), node "
        "affinity, spread constraint and the membership annotation are released: what"
        " no other manager also owns is removed or reset to the API default (1 "
        "replica; no nodeSelector until the installer's manifest is re-applied "
        "server-side), and the pods roll once; the Deployment itself stays",
    )


TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
SECONDS_PER_POD = 60
"""Rollout budget per replaced pod before its minReadySeconds: the old pod's grace period (10 s
upstream), scheduling, start, the first passing readiness probe (every 10 s upstream) and an
image pull if the node lacks the image. Pods are replaced one at a time (maxUnavailable 1)."""
MIN_TIMEOUT = 180
"""Floor of the budget: a small workload still gets time for one slow image pull."""
TIMEOUT_STEP = 300
"""The budget is rounded up to whole 5 minutes, so adding or dropping one node rarely changes
the workload patch (a change of this annotation alone updates the workload's metadata, not its
pod template: nothing restarts, but the preview shows it)."""
DEFAULT_TIMEOUT = 600
"""pulumi-kubernetes' own wait for a rollout when nothing is set, in seconds
(provider/pkg/await/deployment.go:105 ``DefaultDeploymentTimeoutMins = 10``,
provider/pkg/await/daemonset.go:42 ``_defaultDaemonSetTimeout = 10 * time.Minute``@v4.32.0)."""


def rollout_timeout(pods: int, min_ready_seconds: int) -> int:
    """How long Pulumi waits for this workload's rollout before failing the update.

    The waits never end early on Pending or crash-looping pods: they return on success or at
    the timeout (a Deployment's ``waitFor`` wait: internal/awaiter.go:47-96@v4.25.0; the
    DaemonSet's: daemonset.go:129-183@v4.32.0), so the
    timeout is how long a stuck rollout takes to fail. Sized to the rollout itself: each pod in
    turn, then its minReadySeconds before the next one starts (a pod counts as available only
    then), rounded up to ``TIMEOUT_STEP``. A 40-node DaemonSet gets 40 minutes, two replicas 5.
    """
    seconds = max(MIN_TIMEOUT, pods * (SECONDS_PER_POD + min_ready_seconds))
    return -(-seconds // TIMEOUT_STEP) * TIMEOUT_STEP


WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
ROLLED_OUT_FIELDS = ("replicas", "updatedReplicas", "availableReplicas")
"""Deployment status counts that equal ``spec.replicas`` once a rollout is complete: no old pod
left, every pod of the new template, each available (ready for minReadySeconds)."""
NEW_REPLICA_SET_AVAILABLE = (
    'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}=NewReplicaSetAvailable'
)
"""The Deployment controller's own word that the rollout is complete."""


def deployment_rolled_out(replicas: int) -> str:
    """The ``pulumi.com/waitFor`` value that ends Pulumi's wait for a Deployment patch only when
    the Deployment controller reports the patched generation rolled out.

    pulumi-kubernetes' built-in Deployment wait can end before the rollout has begun: it leaves
    its start-up wait on the first event whose own generation equals its observedGeneration,
    which may be an older object it then ignores as stale, and an event with the new generation
    but the controller's old revision annotation and status then counts as done (at revision 1
    no Progressing condition is needed, and the revision matches the last outputs') (provider/
    pkg/await/deployment.go:352-388, 409-430, 453-456, 711-717@v4.25.0; the same code at
    v4.32.0). ``make e2e`` saw ``up`` succeed with every listed node cordoned, and return up to
    a minute before a rollout completed. A ``waitFor`` annotation replaces that wait
    (await.go:447-472):
    every condition must hold at once (metadata/overrides.go:111-160), each ``jsonpath``
    condition ignores objects older than the patched one and any whose observedGeneration is
    behind (condition/observer.go:88-91, condition/jsonpath.go:44-51), all @v4.25.0 and the same
    at v4.32.0.
    What this drops: while it waits, Pulumi prints the Deployment's Warning events but no
    longer the new pods' container errors (the built-in wait's pod checks).
    """
    conditions = [f"jsonpath={{.status.{field}}}={replicas}" for field in ROLLED_OUT_FIELDS]
    return json.dumps([*conditions, NEW_REPLICA_SET_AVAILABLE])


def rollout_metadata(kind: str, spec: Manifest, pods: int) -> Manifest:
    """The ``pulumi.com/timeoutSeconds`` annotation (read by ``metadata.TimeoutDuration``,
    provider/pkg/metadata/overrides.go:53-66@v4.32.0; a ``customTimeouts`` resource option would
    override it, so the component sets none), and on a Deployment the ``pulumi.com/waitFor``
    conditions of ``deployment_rolled_out`` (a DaemonSet's built-in wait drops stale objects and
    asks kstatus, which checks observedGeneration: daemonset.go:185, 220-223@v4.25.0).

    ``min_ready_seconds`` is the value this patch sets, else 0 (the upstream manifests set none):
    the hook for ``openelb.minReadySeconds``, which puts it into the patch's spec.
    """
    min_ready = int(spec.get("minReadySeconds", 0))
    annotations = {TIMEOUT_ANNOTATION: str(rollout_timeout(pods, min_ready))}
    if kind == "Deployment":
        # The conditions compare the status with the spec's own count, so read it from there.
        annotations[WAIT_FOR_ANNOTATION] = deployment_rolled_out(int(spec["replicas"]))
    return {"annotations": annotations}


def _workload_patch(
    workload: Workload,
    key: str,
    namespace: str,
    spec: Manifest,
    depends_on: list[str],
    pods: int,
    on_destroy: str,
    annotations: Mapping[str, str] | None = None,
) -> DesiredObject:
    metadata: Manifest = {
        "name": workload.name,
        "namespace": namespace,
        **rollout_metadata(workload.kind, spec, pods),
    }
    if annotations:
        metadata["annotations"] = {**metadata.get("annotations", {}), **annotations}
    return DesiredObject(
        key=key,
        action="patch",
        manifest={
            "apiVersion": "apps/v1",
            "kind": workload.kind,
            "metadata": metadata,
            "spec": spec,
        },
        # New pods must find labelled nodes, or they start Pending.
        depends_on=tuple(depends_on),
        must_exist=True,
        on_destroy=on_destroy,
    )


def speaker_template_annotations(
    rack_of_node: Mapping[str, str | None],
    rack_of_other_node: Mapping[str, str],
    bgp_conf_spec: Manifest | None,
) -> dict[str, str]:
    """v0.6 pod-template annotations: a change of either rolls the speakers, node by node.

    - membership (multi-leaf only): a speaker reads its rack, its asPerRack ASN and its BgpPeers
      only when it starts (pkg/speaker/bgp/bgpconf_controller.go:91-107 and
      bgppeer_controller.go:85-97@v0.6.0), and has no Node watch at all, so the next hops it
      announces never follow a rack label change (pkg/speaker/manager.go@v0.6.0). A moved node
      needs its own speaker and both leaves' speakers restarted. A join or a leave alone would
      not (the DaemonSet starts or stops that node's speaker, and a new speaker announces its own
      node), but a pod template cannot tell a move from a leave plus a join, so every
      membership change rolls. A single-router topology has no rack: nothing to roll for.
    - the BgpConf spec: a BgpConf change makes every speaker run StopBgp/StartBgp at once, which
      empties its RIB (pkg/speaker/bgp/bgp/conf.go@v0.6.0, GoBGP server.go:2113-2115@v2.23.0),
      and a v0.6.0 speaker re-announces an address only on first sight of its Eip or a new
      ``status.used`` key (pkg/speaker/manager.go:118-177, 291-326@v0.6.0): the restart the
      annotation causes is what brings the announcements back.
    """
    annotations: dict[str, str] = {}
    if any(rack is not None for rack in rack_of_node.values()):
        annotations[MEMBERSHIP_ANNOTATION] = membership_digest(rack_of_node, rack_of_other_node)
    if bgp_conf_spec is not None:
        annotations[BGP_CONF_ANNOTATION] = bgp_conf_digest(bgp_conf_spec)
    return annotations


def speaker_patch(
    namespace: str,
    depends_on: list[str],
    annotations: Mapping[str, str],
    speakers: int,
    min_ready_seconds: int,
    workload_annotations: Mapping[str, str] | None = None,
) -> DesiredObject:
    """v0.6 speakers run exactly on the labelled nodes: HA is the set of nodes, not a count.
    ``annotations`` go on the pod template (they roll the speakers), ``workload_annotations``
    on the DaemonSet itself."""
    template_metadata = {"annotations": dict(annotations)} if annotations else {}
    spec: Manifest = {
        # As for the v0.5 manager: the next speaker stops only after this one has been ready
        # this long, i.e. had time to establish its sessions and announce.
        "minReadySeconds": min_ready_seconds,
        # Upstream sets no updateStrategy, so the API default applies (RollingUpdate,
        # maxUnavailable 1); stated here so a speaker change always rolls node by node and never
        # stops every speaker at once, whatever the installer or a later edit says. No maxSurge:
        # with host networking a second speaker cannot start on the same node anyway.
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            **({"metadata": template_metadata} if template_metadata else {}),
            "spec": {"nodeSelector": dict(NODE_SELECTOR)},
        },
    }
    return _workload_patch(
        SPEAKER_V06,
        WORKLOAD_KEY,
        namespace,
        spec,
        depends_on,
        pods=speakers,
        annotations=workload_annotations,
        on_destroy="nodeSelector (atomic: owned whole), the membership, speaker-nodes and "
        "BgpConf annotations, minReadySeconds and updateStrategy are released: unless another "
        "manager owns the same "
        "nodeSelector it is removed, so speakers run on every node until the installer's "
        "manifest is re-applied server-side; the pod template changes, so they roll once, node "
        "by node; the DaemonSet itself stays",
    )


def host_spread(workload: Workload) -> Manifest:
    """At most one replica more on any node than on the emptiest eligible node.

    Upstream's required anti-affinity term selects ``app In [openelb-controller]``, which matches
    no pod, so it places nothing. Replacing it would conflict: that list is atomic under
    Server-Side Apply and owned by the installer. A spread constraint is a separate list entry
    (a map list keyed by topologyKey and whenUnsatisfiable) that nobody else owns, so adding it
    never conflicts, and with replicas <= eligible nodes (checked) it puts each replica on its
    own node. Unlike required anti-affinity it also lets a rollout's surge pod start.
    """
    return {
        "maxSkew": 1,
        "topologyKey": names.HOSTNAME_LABEL,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": dict(workload.pod_labels)},
    }


def soft_rack_spread(workload: Workload, next_hops: NextHops = "rack") -> Manifest:
    """Prefer spreading replicas over racks, so one rack failing does not take every one.

    ScheduleAnyway: a preference. The controller does not announce, and the one-per-node
    constraint (``host_spread``) is the guarantee; a rack count that does not divide the
    replicas must not leave one Pending."""
    return {**rack_spread(workload, next_hops), "whenUnsatisfiable": "ScheduleAnyway"}


def controller_patch(
    namespace: str,
    replicas: int,
    node_keys: list[str],
    spread_over_racks: bool,
    next_hops: NextHops = "rack",
) -> DesiredObject:
    """v0.6 controller: several leader-elected replicas, each on its own labelled node, and in a
    multi-leaf stack preferably in different racks."""
    spread = [host_spread(CONTROLLER_V06)]
    if spread_over_racks:
        spread.append(soft_rack_spread(CONTROLLER_V06, next_hops))
    spec: Manifest = {
        "replicas": replicas,
        # Upstream's value, restated (co-owned, no conflict) so one replica at a time is replaced.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            "spec": {
                # The platform team's chosen OpenELB nodes, like the speakers. No membership
                # template: the controller neither announces nor reads its rack, so a node
                # joining, leaving or changing leaf need not restart it.
                "nodeSelector": dict(NODE_SELECTOR),
                "topologySpreadConstraints": spread,
            }
        },
    }
    return _workload_patch(
        CONTROLLER_V06,
        CONTROLLER_KEY,
        namespace,
        spec,
        node_keys,
        pods=replicas,
        on_destroy="replicas, nodeSelector (atomic: owned whole) and spread constraints are "
        "released: what no other manager also owns is removed or reset (one replica, no "
        "nodeSelector until the installer's manifest is re-applied server-side); the "
        "Deployment itself stays",
    )
