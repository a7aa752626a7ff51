"""What OpenELB's BGP speakers do with the objects this project applies: the one model of it.

The leaf-router configurations (``routers/configs.py``) and the lab (``lab/``) both read OpenELB's
behaviour from here, so a router is configured for, and the lab's GoBGP speakers behave like,
the same speakers. Every rule cites the upstream file it follows, at the OpenELB tags v0.5.1 and
v0.6.0 (both pin GoBGP v2.23.0: go.mod:19@v0.5.1, go.mod:17@v0.6.0). Paths are the v0.5.1 ones;
v0.6.0 moved ``pkg/controllers/bgp/*`` to ``pkg/speaker/bgp/*`` and ``pkg/speaker/bgp/*.go`` to
``pkg/speaker/bgp/bgp/*.go`` with the same logic (line numbers given for both where they differ).

The model reads the desired state (the BgpConf, the BgpPeers and the node labels the program
applies), never the stack file, so what it predicts is what the applied objects make OpenELB do.
The lab's change scenarios compare two desired states with ``change_effects``.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openelb_component.config import names
from openelb_component.config.models import MultiLeafTopology, StackConfig
from openelb_component.desired import DesiredObject, DesiredState
from openelb_component.desired.bgp import BGP_CONF_NAME

Family = Literal["ipv4-unicast", "ipv6-unicast"]

UPSTREAM_TAG = {"0.5": "v0.5.1", "0.6": "v0.6.0"}
GOBGP_TAG = "v2.23.0"

BGP_PORT = 179
"""GoBGP's listen port when ``BgpConf.spec.listenPort`` is 0 or absent
(``SetDefaultGlobalConfigValues``, internal/pkg/config/default.go:275-281@v2.23.0), and the port
it dials on a neighbor without ``transport.remotePort`` (pkg/server/fsm.go:502-505@v2.23.0)."""

DEFAULT_SEND_MAX = 10
"""Add-paths sendMax of the address family OpenELB inserts when a BgpPeer has no ``afiSafis``
(``HandleBgpPeer``, pkg/speaker/bgp/peers.go:111-128@v0.5.1, peers.go:108-124@v0.6.0)."""

HOST_PREFIX_LENGTH = 32
"""OpenELB announces every address with prefix length 32, IPv6 too (``prefix := uint32(32)`` in
``setBalancer``, pkg/speaker/bgp/path.go:143@v0.5.1, path.go:139@v0.6.0): an IPv6 EIP reaches
the router as a /32 network, which a filter for host routes (/128) rightly refuses."""

ASSUMED_BGP_CONF: Mapping[str, Any] = {"as": 64512}
"""The BgpConf the model assumes when the stack does not manage it (no ``openelb-ha:bgp``): the
cluster's own, made by hand. OpenELB's sample (config/samples/network_v1alpha2_bgpconf.yaml@v0.5.1)
sets ``as``, ``listenPort`` and one ``routerId`` for every node; the model keeps only an ``as``
(a private ASN, replaced when a router uses it) and OpenELB's defaults for the rest. Everything
derived from it is reported as assumed."""


@dataclass(frozen=True)
class Node:
    """A Kubernetes Node as the speakers read it."""

    name: str
    labels: Mapping[str, str]
    address: str | None
    """The first ``InternalIP`` (``util.GetNodeIP``, pkg/util/util.go:44-52@v0.5.1): router ID
    and next hop. None when unknown (no ``--nodes`` file, a mock without status)."""
    ready: bool = True


@dataclass(frozen=True)
class Timers:
    """A BgpPeer's ``spec.timers.config`` in seconds (``TimersConfig``, strings in the CRD:
    api/v1alpha2/bgppeer_types.go:115-120@v0.5.1)."""

    hold_time: int
    keepalive_interval: int
    connect_retry: int


@dataclass(frozen=True)
class Neighbor:
    """A GoBGP neighbor one speaker adds for one BgpPeer (``ToGoBgpPeer``,
    api/v1alpha2/bgppeer_types.go:207-218@v0.5.1: the spec without ``nodeSelector``)."""

    bgp_peer: str
    """The BgpPeer object's name."""
    leaf: str
    address: str
    peer_as: int
    password_secret: str | None
    """Name of the secret holding ``spec.conf.authPassword`` (TCP MD5 on the listener and on
    dials: pkg/server/server.go:2811-2822 and fsm.go:506@v2.23.0), None without one."""
    family: Family
    send_max: int
    remote_port: int = BGP_PORT
    local_as: int | None = None
    """``conf.localAs``: the AS this neighbor's session uses instead of the global one (GoBGP
    defaults it to the global AS only when 0, internal/pkg/config/default.go:79-87@v2.23.0)."""
    timers: Timers | None = None
    """``spec.timers``; None leaves GoBGP's defaults (hold 90 s, keepalive a third of it,
    connect retry 120 s: internal/pkg/config/default.go:18-22, :116-124@v2.23.0)."""


@dataclass(frozen=True)
class Speaker:
    """One node's GoBGP as OpenELB configures it after the BgpConf and BgpPeer reconciles."""

    node: str
    asn: int
    router_id: str | None
    listen_port: int
    rack: str
    """``b.rack``: "" unless the BgpConf has ``asPerRack`` and the node a rack label; with "" the
    speaker announces every candidate node as a next hop."""
    neighbors: tuple[Neighbor, ...]


@dataclass(frozen=True)
class BgpConfView:
    spec: Mapping[str, Any]
    assumed: bool
    """True when the stack does not manage the BgpConf and ``ASSUMED_BGP_CONF`` stands in."""


@dataclass(frozen=True)
class Rollout:
    """How the announcing workload replaces its pods (a template change, ``kubectl rollout
    restart``)."""

    kind: Literal["Deployment", "DaemonSet"]
    max_unavailable: int
    """Pods the rollout may take down at once, a percentage resolved against the pods
    (``unavailable_pods``)."""
    min_ready_seconds: int
    """0 until the workload patch sets ``minReadySeconds`` (``openelb.minReadySeconds``): the
    next pod then stops as soon as the new one passes its readiness probe."""
    max_surge: int | str | None = None
    """As set (a number or a percentage), None when unset: the API's default then applies
    (a Deployment's 25%, a DaemonSet's 0)."""


@dataclass(frozen=True)
class Effect:
    """What a change of the applied objects makes the running speakers do."""

    kind: Literal["neighbor-reset", "neighbor-added", "neighbor-removed", "bgp-restart", "roll"]
    nodes: tuple[str, ...]
    leaf: str | None
    reason: str
    reannounces: bool = True
    """bgp-restart only: whether the speakers put their paths back by themselves."""
    source: str = field(default="")


# --- reading the desired state -------------------------------------------------------------


def bgp_conf(state: DesiredState, peers: Sequence[LeafPeer] = ()) -> BgpConfView:
    for obj in state.objects:
        if obj.kind == "BgpConf" and obj.name == BGP_CONF_NAME:
            return BgpConfView(dict(obj.manifest["spec"]), assumed=False)
    peer_asns = {int(p.peer.manifest["spec"]["conf"]["peerAs"]) for p in peers}
    asn = int(ASSUMED_BGP_CONF["as"])
    while asn in peer_asns:
        asn += 1
    return BgpConfView({**ASSUMED_BGP_CONF, "as": asn}, assumed=True)


@dataclass(frozen=True)
class LeafPeer:
    """A BgpPeer and the leaf it is for (peers are named by router address, not by leaf)."""

    leaf: str
    peer: DesiredObject


def bgp_peers(state: DesiredState) -> list[LeafPeer]:
    leaf_of = {name: leaf for leaf, name in state.peer_by_leaf.items()}
    return [
        LeafPeer(leaf_of.get(obj.name, obj.name), obj)
        for obj in state.objects
        if obj.kind == "BgpPeer"
    ]


def node_labels(state: DesiredState) -> dict[str, dict[str, str]]:
    """Node -> the labels the program applies (the only labels the model knows of)."""
    return {
        obj.name: dict(obj.manifest["metadata"].get("labels", {}))
        for obj in state.objects
        if obj.kind == "Node"
    }


def rack_members(state: DesiredState) -> dict[str, list[str]]:
    """Rack label value -> the nodes carrying it (a leaf's nodes and otherNodes), sorted."""
    members: dict[str, list[str]] = {}
    for node, labels in sorted(node_labels(state).items()):
        rack = labels.get(names.RACK_LABEL)
        if rack is not None:
            members.setdefault(rack, []).append(node)
    return members


def leaf_members(state: DesiredState) -> dict[str, list[str]]:
    """Leaf -> the nodes cabled to it, sorted: by this project's leaf label when the stack sets
    it (``nextHops: node``, where every node is a rack of its own), else by the rack label."""
    labels = node_labels(state)
    key = (
        names.LEAF_LABEL
        if any(names.LEAF_LABEL in node_labels for node_labels in labels.values())
        else names.RACK_LABEL
    )
    members: dict[str, list[str]] = {}
    for node, node_labels_ in sorted(labels.items()):
        leaf = node_labels_.get(key)
        if leaf is not None:
            members.setdefault(leaf, []).append(node)
    return members


# --- the rules -------------------------------------------------------------------------------


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """``peerMatchNode`` (pkg/controllers/bgp/bgppeer_controller.go:50-67@v0.5.1): no selector
    matches every node; otherwise ``metav1.LabelSelectorAsSelector`` semantics."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = set(expression.get("values") or [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _family(peer_spec: Mapping[str, Any]) -> Family:
    """The session's address family: the BgpPeer's ``afiSafis``, or OpenELB's default by the
    neighbor address (peers.go:111-128@v0.5.1)."""
    for afi_safi in peer_spec.get("afiSafis") or []:
        afi = afi_safi.get("config", {}).get("family", {}).get("afi")
        if afi == "AFI_IP6":
            return "ipv6-unicast"
        if afi == "AFI_IP":
            return "ipv4-unicast"
    address = ipaddress.ip_address(peer_spec["conf"]["neighborAddress"])
    return "ipv4-unicast" if address.version == 4 else "ipv6-unicast"


def _send_max(peer_spec: Mapping[str, Any]) -> int:
    afi_safis = peer_spec.get("afiSafis") or []
    if not afi_safis:
        return DEFAULT_SEND_MAX
    send_max = afi_safis[0].get("addPaths", {}).get("config", {}).get("sendMax", 0)
    return int(send_max)


def _timers(peer_spec: Mapping[str, Any]) -> Timers | None:
    config = (peer_spec.get("timers") or {}).get("config")
    if not config:
        return None
    return Timers(
        hold_time=int(config["holdTime"]),
        keepalive_interval=int(config["keepaliveInterval"]),
        connect_retry=int(config["connectRetry"]),
    )


def neighbor(leaf_peer: LeafPeer) -> Neighbor:
    peer = leaf_peer.peer
    spec = peer.manifest["spec"]
    conf = spec["conf"]
    password = next(
        (name for path, name in peer.secrets.items() if path[-1] == "authPassword"), None
    )
    return Neighbor(
        bgp_peer=peer.name,
        leaf=leaf_peer.leaf,
        address=str(conf["neighborAddress"]),
        peer_as=int(conf["peerAs"]),
        password_secret=password,
        family=_family(spec),
        send_max=_send_max(spec),
        remote_port=int(spec.get("transport", {}).get("remotePort") or BGP_PORT),
        local_as=int(conf["localAs"]) if conf.get("localAs") else None,
        timers=_timers(spec),
    )


def speaker(node: Node, conf: BgpConfView, peers: Sequence[LeafPeer]) -> Speaker:
    """One node's speaker after its BgpConf and BgpPeer reconciles.

    - AS and rack (pkg/controllers/bgp/bgpconf_controller.go:88-101@v0.5.1, :91-104@v0.6.0):
      with a rack label and ``asPerRack`` set, ``as = asPerRack[rack]`` when that is > 0, the
      rack is remembered (next-hop filter) and ``routerId`` is cleared, even when the rack has
      no ``asPerRack`` entry.
    - router ID (:102-104@v0.5.1): ``spec.routerId``, or the node's InternalIP when empty.
    - listen port: ``spec.listenPort``, GoBGP's 179 when 0 (``BGP_PORT``).
    - neighbors: every BgpPeer whose ``nodeSelector`` matches the node's labels (the BgpPeer
      reconcile and ``reconfigPeers``, bgppeer_controller.go:86-121, bgpconf_controller.go:124-153).
    """
    spec = conf.spec
    asn = int(spec["as"])
    router_id = spec.get("routerId")
    rack = ""
    per_rack = spec.get("asPerRack")
    node_rack = node.labels.get(names.RACK_LABEL, "")
    if node_rack and per_rack is not None:
        rack = node_rack
        asn = int(per_rack.get(rack) or asn)
        router_id = None
    if not router_id:
        router_id = node.address
    selected = [
        neighbor(p)
        for p in peers
        if selector_matches(p.peer.manifest["spec"].get("nodeSelector"), node.labels)
    ]
    return Speaker(
        node=node.name,
        asn=asn,
        router_id=router_id,
        listen_port=int(spec.get("listenPort") or BGP_PORT),
        rack=rack,
        neighbors=tuple(sorted(selected, key=lambda n: n.bgp_peer)),
    )


def announced_nodes(speaker_rack: str, nodes: Sequence[Node], version: str) -> list[Node]:
    """The nodes whose addresses one speaker announces (``next_hops``), address known or not."""
    return [
        node
        for node in nodes
        if (version != "0.5" or node.ready)
        and (not speaker_rack or node.labels.get(names.RACK_LABEL, "") == speaker_rack)
    ]


def next_hops(speaker_rack: str, nodes: Sequence[Node], version: str) -> list[str]:
    """The next hops one speaker announces for a Service with ``externalTrafficPolicy:
    Cluster`` (``SetBalancer``, pkg/speaker/bgp/path.go:181-201@v0.5.1, :177-200@v0.6.0).

    Candidates: v0.5.1 every Ready node (``getServiceNodes``, pkg/controllers/lb/controller.go:
    448-453); v0.6.0 every node, ready or not (pkg/speaker/manager.go:394-397@v0.6.0). A speaker
    that knows its rack keeps only nodes with that rack label (so never an unlabelled node);
    one without a rack keeps them all. The address is the node's InternalIP
    (``getNodeNextHop``, path.go:203-211@v0.5.1); each next hop is one add-paths path whose ID
    is a hash of the address (``getPathIdentifier``, path.go:20-24).
    """
    return [
        node.address
        for node in announced_nodes(speaker_rack, nodes, version)
        if node.address is not None
    ]


def speaker_nodes(config: StackConfig, state: DesiredState) -> dict[str, tuple[str, ...]]:
    """Leaf -> the nodes that run a speaker.

    v0.6: the speaker DaemonSet runs on every labelled node. v0.5: the manager Deployment's
    replicas, ``replicasPerLeaf`` per leaf under the rack spread constraint; which of a leaf's
    nodes get one is the scheduler's choice, and the model takes the first ones by name.
    """
    if not isinstance(config.topology, MultiLeafTopology):
        return {"": state.nodes[: state.replicas]}
    per_leaf = None if config.openelb.version == "0.6" else config.topology.replicas_per_leaf
    return {
        leaf: nodes if per_leaf is None else nodes[:per_leaf]
        for leaf, nodes in state.nodes_by_leaf.items()
    }


def rollout(state: DesiredState) -> Rollout:
    """The announcing workload's rollout: the v0.5.1 manager Deployment or the v0.6.0 speaker
    DaemonSet, ``maxUnavailable: 1`` (upstream openelb.yaml@v0.5.1 l.1137-1140; the DaemonSet's
    Kubernetes default at v0.6.0), and the patch's own settings where it sets them."""
    for obj in state.objects:
        if obj.kind == "DaemonSet" or (obj.kind == "Deployment" and obj.name == "openelb-manager"):
            spec = obj.manifest.get("spec", {})
            strategy = spec.get("updateStrategy") or spec.get("strategy") or {}
            rolling = strategy.get("rollingUpdate", {})
            kind: Literal["Deployment", "DaemonSet"] = (
                "DaemonSet" if obj.kind == "DaemonSet" else "Deployment"
            )
            return Rollout(
                kind=kind,
                max_unavailable=unavailable_pods(
                    kind, rolling.get("maxUnavailable", 1), state.replicas
                ),
                min_ready_seconds=int(spec.get("minReadySeconds", 0)),
                max_surge=rolling.get("maxSurge"),
            )
    return Rollout(kind="Deployment", max_unavailable=1, min_ready_seconds=0)


def unavailable_pods(kind: str, value: int | str, pods: int) -> int:
    """``maxUnavailable`` as a number of pods: a percentage of the pods, rounded up for a
    DaemonSet (``UnavailableCount``, pkg/controller/daemon/util/daemonset_util.go:153-162
    @v1.37.2) and down for a Deployment (``ResolveFenceposts``,
    pkg/controller/deployment/util/deployment_util.go:883-891@v1.37.2), by
    ``GetScaledValueFromIntOrPercent`` (k8s.io/apimachinery pkg/util/intstr/intstr.go:183-199
    @v0.37.2)."""
    if isinstance(value, int):
        return value
    percent = int(value.removesuffix("%"))
    scaled = percent * pods / 100
    return math.ceil(scaled) if kind == "DaemonSet" else math.floor(scaled)


REANNOUNCES_AFTER_BGP_RESTART = {"0.5": True, "0.6": False}
"""After StopBgp/StartBgp (an empty RIB): v0.5.1 Services are re-reconciled on the BgpConf
annotation the reconcile writes (pkg/controllers/lb/controller.go:126-147, eventhandler.go:
104-119), so paths come back; v0.6.0 announces an address only on first sight of its Eip or a
new ``status.used`` key (pkg/speaker/manager.go:118-177, 291-326@v0.6.0): nothing until the
speaker restarts."""

SENDS_CEASE_ON_STOP = {"0.5": False, "0.6": True}
"""A stopping pod: v0.5.1's BGP speaker never sees SIGTERM (its stop channel comes from
``RegisterSpeaker``, pkg/speaker/speaker.go:90-117), so the router sees the TCP connection
close; v0.6.0's stop channel derives from the signal context (pkg/speaker/manager.go:88-104)
and GoBGP's StopBgp sends a CEASE (pkg/speaker/bgp/bgp/gobgpd.go:27-38)."""


def change_effects(version: str, before: DesiredState, after: DesiredState) -> list[Effect]:
    """What the running speakers do when the applied objects change from ``before`` to
    ``after`` (for the lab's membership-change and bgpconf-change scenarios).

    - BgpPeer spec change: the predicate fires on any ``spec`` difference
      (bgppeer_controller.go:184-204@v0.5.1); each speaker whose node matches calls GoBGP
      ``UpdatePeer`` (peers.go:141-149), which at v2.23.0 compares an un-defaulted config with
      the stored one (pkg/server/server.go:2991-3000, 3031-3063; ``transport.localAddress``
      alone always differs) and so deletes and re-adds the neighbor: a reset of every session of
      that router at once. A node that no longer matches deletes the neighbor
      (bgppeer_controller.go:121); a newly matching node adds it (``UpdatePeer`` fails, then
      ``AddPeer``).
    - BgpConf spec change: every speaker runs StopBgp/StartBgp (pkg/speaker/bgp/conf.go:9-25)
      at about the same time, emptying its RIB (server.go:2113-2115@v2.23.0);
      ``REANNOUNCES_AFTER_BGP_RESTART`` says whether paths come back.
    - pod template change of the announcing workload: a rolling restart (``rollout``).
    """
    effects: list[Effect] = []
    tag = UPSTREAM_TAG[version]
    labels_before, labels_after = node_labels(before), node_labels(after)
    peers_before = {p.peer.name: p.peer for p in bgp_peers(before)}
    for leaf_peer in bgp_peers(after):
        peer = leaf_peer.peer
        old = peers_before.get(peer.name)
        if old is None or old.manifest["spec"] == peer.manifest["spec"]:
            continue
        old_selector = old.manifest["spec"].get("nodeSelector")
        new_selector = peer.manifest["spec"].get("nodeSelector")
        # A speaker reads its node's labels at reconcile time: the labels applied by then.
        kept, added, removed = [], [], []
        for node in sorted(set(labels_before) | set(labels_after)):
            was = selector_matches(old_selector, labels_before.get(node, {})) and (
                node in labels_before
            )
            now = selector_matches(new_selector, labels_after.get(node, {})) and (
                node in labels_after
            )
            if was and now:
                kept.append(node)
            elif now:
                added.append(node)
            elif was:
                removed.append(node)
        leaf = leaf_peer.leaf
        source = (
            f"pkg/speaker/bgp/peers.go:141-149@{tag}; pkg/server/server.go:3031-3063@{GOBGP_TAG}"
        )
        if kept:
            effects.append(
                Effect("neighbor-reset", tuple(kept), leaf, "BgpPeer spec changed", source=source)
            )
        if added:
            effects.append(
                Effect("neighbor-added", tuple(added), leaf, "BgpPeer now selects", source=source)
            )
        if removed:
            effects.append(
                Effect(
                    "neighbor-removed",
                    tuple(removed),
                    leaf,
                    "BgpPeer no longer selects",
                    source=f"pkg/controllers/bgp/bgppeer_controller.go:121@{tag}",
                )
            )
    conf_before, conf_after = _conf_spec(before), _conf_spec(after)
    if conf_before is not None and conf_after is not None and conf_before != conf_after:
        effects.append(
            Effect(
                "bgp-restart",
                tuple(labels_after),
                None,
                "BgpConf spec changed",
                reannounces=REANNOUNCES_AFTER_BGP_RESTART[version],
                source=f"pkg/speaker/bgp/conf.go:9-25@{tag}",
            )
        )
    if _template(before) != _template(after):
        effects.append(
            Effect(
                "roll",
                tuple(labels_after),
                None,
                "the announcing workload's pod template changed",
                source="Kubernetes rolling update (maxUnavailable)",
            )
        )
    return effects


def _conf_spec(state: DesiredState) -> Mapping[str, Any] | None:
    for obj in state.objects:
        if obj.kind == "BgpConf":
            return dict(obj.manifest["spec"])
    return None


def _template(state: DesiredState) -> Any:
    for obj in state.objects:
        if obj.kind == "DaemonSet" or (obj.kind == "Deployment" and obj.name == "openelb-manager"):
            return obj.manifest.get("spec", {}).get("template")
    return None


def internal_ips(document: Any) -> dict[str, str]:
    """Node name -> first ``InternalIP`` (``util.GetNodeIP``, pkg/util/util.go:44-52@v0.5.1) of
    ``kubectl get nodes -o json`` output (a List), or of one Node. ``ValueError`` when the
    document is neither. The addresses are the cluster's text, unchecked (a kubelet writes its
    own Node's status): ``routers/configs.py`` takes only plain ones; a null field counts as
    absent."""
    if not isinstance(document, Mapping):
        raise ValueError("not a JSON object; give the output of `kubectl get nodes -o json`")
    items = document.get("items") if document.get("kind") != "Node" else [document]
    if not isinstance(items, list):
        raise ValueError(
            "no `items` list of Node objects; give the output of `kubectl get nodes -o json`"
        )
    addresses: dict[str, str] = {}
    for item in items:
        if not isinstance(item, Mapping) or item.get("kind", "Node") != "Node":
            continue
        name = _mapping(item.get("metadata")).get("name")
        entries = _mapping(item.get("status")).get("addresses")
        for entry in entries if isinstance(entries, list) else []:
            entry = _mapping(entry)
            if isinstance(name, str) and entry.get("type") == "InternalIP":
                address = entry.get("address")
                if address is not None:  # any other type: not a plain address, named later
                    addresses[name] = address if isinstance(address, str) else repr(address)
                break
    return addresses


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
