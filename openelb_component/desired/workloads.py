"""The OpenELB workload patches: where the replicas run and how many there are.

v0.5 runs one ``openelb-manager`` Deployment (docs/design.md §2). Its required pod anti-affinity
on the hostname and its host ports allow one replica per node, which the config checks guarantee.

v0.6 splits it: the ``openelb-speaker`` DaemonSet announces (one speaker per admitted node, no
replica count) and the leader-elected ``openelb-controller`` Deployment assigns addresses. One
function per workload, so each can grow on its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from openelb_component.config import names
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


MEMBERSHIP_ANNOTATION = f"{names.PROJECT}/membership"


def membership_template(rack_of_node: Mapping[str, str | None]) -> Manifest:
    """Pod-template fields that change exactly when the set of listed nodes, or a node's leaf,
    changes (sorted: reordering the stack file changes nothing), so the workload rolls then.

    - a node affinity on the listed node names (``matchFields metadata.name``, the field the
      DaemonSet controller itself uses; no label involved): a v0.5 Deployment keeps a pod whose
      nodeSelector stops matching (IgnoredDuringExecution), and Pulumi removes a dropped node's
      labels only after every update, i.e. after the roll, so without it a rolled pod could land
      on the dropped node again and keep announcing;
    - an annotation hashing (node, leaf): a replica reads its rack (its asPerRack ASN) only when
      it starts, and the rack spread re-places replicas only when they start.

    A v0.6 DaemonSet removes its pod from a node that stops matching by itself, so the speakers
    get only ``rack_asn_annotation`` (see ``speaker_patch``).
    """
    membership = sorted((node, rack or "") for node, rack in rack_of_node.items())
    digest = hashlib.sha256(json.dumps(membership).encode()).hexdigest()[:16]
    term = {"key": "metadata.name", "operator": "In", "values": sorted(rack_of_node)}
    return {
        "metadata": {"annotations": {MEMBERSHIP_ANNOTATION: digest}},
        "spec": {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchFields": [term]}]
                    }
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
    min_ready_seconds: int,
) -> DesiredObject:
    membership = membership_template(rack_of_node)
    pod_spec: Manifest = {"nodeSelector": dict(NODE_SELECTOR), **membership["spec"]}
    if spread_over_racks:
        pod_spec["topologySpreadConstraints"] = [rack_spread(MANAGER_V05)]
    spec: Manifest = {
        "replicas": replicas,
        # Ready is not announcing (``gobgp global`` answers before any session is up): a new
        # replica must stay ready this long before the rollout stops the next one.
        "minReadySeconds": min_ready_seconds,
        # Upstream's value, restated so the guarantee does not depend on the installer:
        # one replica at a time is replaced, so replicas-1 keep announcing and the rollout
        # cannot deadlock on host ports and the one-per-node anti-affinity. No scale to 0.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {"metadata": membership["metadata"], "spec": pod_spec},
    }
    return _workload_patch(
        MANAGER_V05,
        WORKLOAD_KEY,
        namespace,
        spec,
        node_keys,
        pods=replicas,
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

    The awaiters never end early on Pending or crash-looping pods: they return on success or at
    the timeout (provider/pkg/await/deployment.go:306-352, daemonset.go:129-183@v4.32.0), so the
    timeout is how long a stuck rollout takes to fail. Sized to the rollout itself: each pod in
    turn, then its minReadySeconds before the next one starts (a pod counts as available only
    then), rounded up to ``TIMEOUT_STEP``. A 40-node DaemonSet gets 40 minutes, two replicas 5.
    """
    seconds = max(MIN_TIMEOUT, pods * (SECONDS_PER_POD + min_ready_seconds))
    return -(-seconds // TIMEOUT_STEP) * TIMEOUT_STEP


def rollout_metadata(spec: Manifest, pods: int) -> Manifest:
    """The ``pulumi.com/timeoutSeconds`` annotation (read by ``metadata.TimeoutDuration``,
    provider/pkg/metadata/overrides.go:53-66@v4.32.0; a ``customTimeouts`` resource option would
    override it, so the component sets none).

    ``min_ready_seconds`` is the value this patch sets, else 0 (the upstream manifests set none):
    the hook for ``openelb.minReadySeconds`` (issue 11), which puts it into the patch's spec.
    """
    min_ready = int(spec.get("minReadySeconds", 0))
    return {"annotations": {TIMEOUT_ANNOTATION: str(rollout_timeout(pods, min_ready))}}


def _workload_patch(
    workload: Workload,
    key: str,
    namespace: str,
    spec: Manifest,
    node_keys: list[str],
    pods: int,
    on_destroy: str,
) -> DesiredObject:
    return DesiredObject(
        key=key,
        action="patch",
        manifest={
            "apiVersion": "apps/v1",
            "kind": workload.kind,
            "metadata": {
                "name": workload.name,
                "namespace": namespace,
                **rollout_metadata(spec, pods),
            },
            "spec": spec,
        },
        # New pods must find labelled nodes, or they start Pending.
        depends_on=tuple(node_keys),
        must_exist=True,
        on_destroy=on_destroy,
    )


RACK_ASN_ANNOTATION = f"{names.PROJECT}/rack-asns"


def rack_asn_annotation(asn_of_node: Mapping[str, int]) -> Manifest:
    """Pod-template metadata that changes exactly when a node's per-rack ASN changes.

    A speaker reads its rack's ``asPerRack`` ASN only when it starts, so moving a node into or
    out of a leaf with its own ``localAsn`` must restart the speakers. Nothing else must: a
    DaemonSet removes its pod from a node it no longer admits by itself, and the leaf's BgpPeer
    stops selecting a dropped node at once, so joining or leaving restarts no speaker.
    """
    if not asn_of_node:
        return {}
    digest = hashlib.sha256(json.dumps(sorted(asn_of_node.items())).encode()).hexdigest()[:16]
    return {"annotations": {RACK_ASN_ANNOTATION: digest}}


def speaker_patch(
    namespace: str,
    node_keys: list[str],
    asn_of_node: Mapping[str, int],
    speakers: int,
    min_ready_seconds: int,
) -> DesiredObject:
    """v0.6 speakers run exactly on the labelled nodes: HA is the set of nodes, not a count."""
    template_metadata = rack_asn_annotation(asn_of_node)
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
        node_keys,
        pods=speakers,
        on_destroy="nodeSelector (atomic: owned whole), the rack-ASN annotation, minReadySeconds"
        " and updateStrategy are released: unless another manager owns the same "
        "nodeSelector it is removed, so speakers run on every node until the "
        "installer's manifest is re-applied server-side; the pod template changes, so"
        " they roll once, node by node; the DaemonSet itself stays",
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


def controller_patch(namespace: str, replicas: int, node_keys: list[str]) -> DesiredObject:
    """v0.6 controller: several leader-elected replicas, each on its own labelled node."""
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
                "topologySpreadConstraints": [host_spread(CONTROLLER_V06)],
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
        on_destroy="replicas, nodeSelector (atomic: owned whole) and spread constraint are "
        "released: what no other manager also owns is removed or reset (one replica, no "
        "nodeSelector until the installer's manifest is re-applied server-side); the "
        "Deployment itself stays",
    )
