"""BGP objects: the global ``BgpConf``, and one ``BgpPeer`` per leaf router selecting only that
leaf's OpenELB nodes (multi-router guide).

``bgp.nextHops`` decides how a speaker learns its "rack", the nodes it announces as next hops
(``nodes.py``): ``rack`` writes every leaf's ASN into ``asPerRack`` and the BgpPeer selects the
rack label; ``node`` writes one ``asPerRack`` entry that no rack label can match (so every
speaker learns its rack, its own node, and speaks as ``bgp.as``), moves a leaf's ``localAsn``
to its BgpPeer's ``conf.localAs`` and selects the leaf by ``openelb-ha/leaf``: nodes joining,
leaving or moving never change the BgpConf.

A BgpPeer's spec never changes when nodes join, leave or move. Every spec change makes each
matching speaker call GoBGP's ``UpdatePeer`` (pkg/speaker/bgp/peers.go:141-149@v0.5.1) with a
peer config GoBGP v2.23.0 compares with its defaulted one (pkg/server/server.go:3031-3063); the
un-settable ``transport.localAddress`` alone always differs, so every session of that leaf's
router is reset at once (5 to 10 s without a path). So the selector names only labels whose
values never depend on membership: the rack label (the guide's selector) and the HA label, so
a leaf's ``otherNodes`` (rack label only) never peer even if some OpenELB pod ran there.
Membership reaches the speakers by rolling them instead (``workloads.membership_template``):
a speaker evaluates the selector when it starts (bgppeer_controller.go:86-98@v0.5.1).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from openelb_component.config import names
from openelb_component.config.models import (
    BgpSettings,
    BgpTimers,
    Leaf,
    MultiLeafTopology,
    NextHops,
    Peer,
    StackConfig,
)
from openelb_component.config.secrets import REDACTED, password_config_path
from openelb_component.desired.model import DesiredObject, Manifest

BGP_API_VERSION = "network.kubesphere.io/v1alpha2"
BGP_CONF_KEY = "bgpconf"
BGP_CONF_NAME = "default"
"""The only BgpConf OpenELB reads."""
PASSWORD_PATH = ("spec", "conf", "authPassword")


def router_slug(address: str) -> str:
    """A router's address as part of a name: ``10.1.0.1`` -> ``10-1-0-1``, ``2001:db8::1`` ->
    ``2001-db8--1``. Addresses are canonical (the config normalises them) and contain no
    ``-``, so two routers never share a slug."""
    return address.replace(".", "-").replace(":", "-")


def bgp_peer_key(address: str) -> str:
    """A peer's identity is its router's address, as it is OpenELB's: speakers add, update and
    delete GoBGP neighbors by ``neighborAddress`` (``DeletePeer`` by address,
    pkg/speaker/bgp/peers.go:136-140@v0.5.1, pkg/speaker/bgp/bgp/peers.go:146-150@v0.6.0).
    Keyed by leaf, a leaf rename created the new peer first and deleted the old one last, and
    that delete removed the neighbor the new peer had just added. Keyed by address, a rename or
    a router moving to another leaf is an update of the same object."""
    return f"bgppeer-{router_slug(address)}"


def former_bgp_peer_key(leaf: str) -> str:
    """The key a leaf's peer had before peers were keyed by router (a Pulumi alias keeps it)."""
    return f"bgppeer-{leaf}"


def bgp_peer_name(address: str) -> str:
    """``openelb-ha-peer-<router address>``: by address for the same reason as the key."""
    return f"{names.PROJECT}-peer-{router_slug(address)}"


def password_secret_name(leaf: str) -> str:
    """The secret holding a leaf's TCP MD5 password: its ``pulumi config --path``."""
    return password_config_path(leaf)


def _address_family(peer: Peer) -> Manifest:
    afi = "AFI_IP" if ipaddress.ip_address(peer.address).version == 4 else "AFI_IP6"
    return {
        "config": {"family": {"afi": afi, "safi": "SAFI_UNICAST"}, "enabled": True},
        # Advertise up to 10 paths per prefix so the router can ECMP across every replica of
        # the leaf instead of picking one (the guide's value).
        "addPaths": {"config": {"sendMax": 10}},
    }


def peer_node_selector(leaf: str, next_hops: NextHops = "rack") -> Manifest:
    """The label naming the leaf (the rack label, the guide's selector; with ``nextHops: node``
    this project's leaf label, the rack label then holding each node's own name) and the HA
    label: constant per leaf."""
    leaf_label = names.LEAF_LABEL if next_hops == "node" else names.RACK_LABEL
    return {"matchLabels": {leaf_label: leaf, names.HA_LABEL: names.HA_LABEL_VALUE}}


def peer_timers(timers: BgpTimers) -> Manifest:
    """``spec.timers`` of a BgpPeer: strings, as OpenELB's ``TimersConfig`` declares them
    (api/v1alpha2/bgppeer_types.go:115-120@v0.5.1) and its CRD requires; GoBGP's JSON decoding
    reads them as its uint64 fields (``ToGoBgpPeer``, bgppeer_types.go:207-218; gobgp.proto
    ``TimersConfig``@v2.23.0). GoBGP dials again no sooner than every 5 s whatever
    ``connectRetry`` says (pkg/server/fsm.go:496-499@v2.23.0)."""
    return {
        "config": {
            "holdTime": str(timers.hold_time),
            "keepaliveInterval": str(timers.keepalive_interval),
            "connectRetry": str(timers.connect_retry),
        }
    }


def bgp_peer(
    leaf: Leaf,
    peer: Peer,
    depends_on: Sequence[str],
    has_password: bool,
    bgp: BgpSettings | None = None,
) -> DesiredObject:
    next_hops: NextHops = "rack" if bgp is None else bgp.next_hops
    conf: Manifest = {"peerAs": peer.asn, "neighborAddress": peer.address}
    if next_hops == "node" and leaf.local_asn is not None:
        # GoBGP's per-neighbor local AS: the OPEN message, the 4-octet AS capability and the
        # AS_PATH use it instead of the global AS (pkg/server/fsm.go:722, :782-791;
        # internal/pkg/table/path.go:235-239; defaulted from the global AS only when 0,
        # internal/pkg/config/default.go:79-87@v2.23.0).
        conf["localAs"] = leaf.local_asn
    secrets: dict[tuple[str | int, ...], str] = {}
    if has_password:
        conf["authPassword"] = REDACTED
        secrets[PASSWORD_PATH] = password_secret_name(leaf.name)
    spec: Manifest = {
        "conf": conf,
        "afiSafis": [_address_family(peer)],
        "nodeSelector": peer_node_selector(leaf.name, next_hops),
    }
    if bgp is not None and bgp.timers.bgp_peers:
        spec["timers"] = peer_timers(bgp.timers)
    return DesiredObject(
        key=bgp_peer_key(peer.address),
        former_keys=(former_bgp_peer_key(leaf.name),),
        # A replacement (the one-off move to router-based names) must delete the old peer
        # before creating the new: deleting it after would remove the neighbor the new one
        # just added, by address, and no speaker would add it back.
        delete_before_replace=True,
        action="create",
        manifest={
            "apiVersion": BGP_API_VERSION,
            "kind": "BgpPeer",
            "metadata": {"name": peer.name or bgp_peer_name(peer.address)},
            "spec": spec,
        },
        # A speaker evaluates the nodeSelector when the peer is created and never notices rack
        # labels added later (docs/design.md §3): this leaf's labels must be in place first.
        depends_on=tuple(depends_on),
        secrets=secrets,
        on_destroy="deleted: the replicas close their sessions with this router",
    )


PER_NODE_RACKS = f"{names.PROJECT}/per-node-racks"
"""The one ``asPerRack`` key under ``nextHops: node``. A speaker learns its rack only when
``asPerRack`` is set (bgpconf_controller.go:94-101@v0.5.1, :97-104@v0.6.0), and an empty map is
not set for long: the reconcile writes the spec back through a Go map tagged ``omitempty``
(api/v1alpha2/bgpconf_types.go:62@v0.5.1, :63@v0.6.0; bgpconf_controller.go:111-116@v0.5.1,
:118-123@v0.6.0), which drops ``{}``, and the next reconcile finds no ``asPerRack`` and clears
every rack. So one entry stays, under a key no rack label can ever equal (a label value has no
``/``): every speaker then keeps ``bgp.as`` (``asPerRack[rack]`` is 0, which leaves ``as``
alone) and never needs a BgpConf change when a node joins, leaves or moves."""


def as_per_rack(bgp: BgpSettings, leaves: Sequence[Leaf]) -> dict[str, int]:
    """Every leaf's local ASN (its ``localAsn``, else ``bgp.as``), sorted by leaf; under
    ``nextHops: node`` the one ``PER_NODE_RACKS`` entry instead.

    Every leaf, not only those with their own ASN: a speaker learns its rack (and then announces
    only its own rack's nodes as next hops, ``SetBalancer`` in pkg/speaker/bgp/path.go:181-201
    @v0.5.1) only when ``asPerRack`` is set and its node has a rack label
    (pkg/controllers/bgp/bgpconf_controller.go:94-101@v0.5.1, :97-104@v0.6.0). Without it
    every speaker announces every node, other racks' nodes included, to its own leaf router.
    """
    if bgp.next_hops == "node":
        return {PER_NODE_RACKS: bgp.as_}
    return {leaf.name: leaf.local_asn or bgp.as_ for leaf in sorted(leaves, key=lambda x: x.name)}


def bgp_conf_spec(bgp: BgpSettings, leaves: Sequence[Leaf]) -> Manifest:
    """The BgpConf fields this stack sets. Only those: a value written here takes the field over
    (or conflicts), so an unset port must not reset a hand-made BgpConf's port to 179."""
    spec: Manifest = {"as": bgp.as_}
    if bgp.listen_port is not None:
        spec["listenPort"] = bgp.listen_port
    if bgp.router_id is not None:
        spec["routerId"] = bgp.router_id
    if leaves or bgp.next_hops == "node":
        spec["asPerRack"] = as_per_rack(bgp, leaves)
    return spec


def bgp_conf(bgp: BgpSettings, leaves: Sequence[Leaf], node_keys: Sequence[str]) -> DesiredObject:
    """The BgpConf ``default``, applied as a patch: it may exist already (made by hand per the
    guide), and a Server-Side Apply patch takes it over without AlreadyExists, creates it when
    missing, and on destroy only releases its fields, never deleting the user's object."""
    return DesiredObject(
        key=BGP_CONF_KEY,
        action="patch",
        manifest={
            "apiVersion": BGP_API_VERSION,
            "kind": "BgpConf",
            "metadata": {"name": BGP_CONF_NAME},
            "spec": bgp_conf_spec(bgp, leaves),
        },
        # A speaker reads its node's rack label when the BgpConf changes, to pick its asPerRack
        # ASN; labels added later are never noticed (docs/design.md §3), so they go first.
        depends_on=tuple(node_keys),
        on_destroy="its fields are released: as, listenPort, routerId and asPerRack entries no "
        "other field manager also set are removed; the BgpConf itself stays",
    )


MULTI_LEAF_WITHOUT_BGP_WARNING = (
    "a multi-leaf BGP stack without openelb-ha:bgp: the program cannot set BgpConf.spec.asPerRack, "
    "so no speaker learns its rack and every speaker announces every node as a next hop to its "
    "own leaf router, including nodes in other racks that the router cannot reach directly "
    "(SetBalancer, pkg/speaker/bgp/path.go:181-201@v0.5.1, :177-200@v0.6.0), and a node that "
    "loses power stays a next hop of the others (0.6: for as long as it is down); set "
    "openelb-ha:bgp: {as: <the cluster's ASN>} so the program manages the BgpConf and each "
    "speaker announces only its own node (bgp.nextHops: node)"
)
ROUTER_ID_IGNORED_WARNING = (
    "bgp.routerId is ignored on every node of a multi-leaf stack or with bgp.nextHops: node: "
    "with asPerRack set (which the program then writes) OpenELB clears the router ID of every "
    "node with a rack label and uses the node's InternalIP instead "
    "(pkg/controllers/bgp/bgpconf_controller.go:94-104@v0.5.1, "
    "pkg/speaker/bgp/bgpconf_controller.go:97-107@v0.6.0); remove routerId"
)


def bgp_warnings(config: StackConfig) -> list[str]:
    """What a BGP stack gets wrong without an error: see each message."""
    multi_leaf = isinstance(config.topology, MultiLeafTopology)
    if config.openelb.mode != "bgp" or (not multi_leaf and config.next_hops != "node"):
        return []
    if config.bgp is None:
        return [MULTI_LEAF_WITHOUT_BGP_WARNING]
    if config.bgp.router_id is not None:
        return [ROUTER_ID_IGNORED_WARNING]
    return []


BGP_CONF_CHANGE_UNKNOWN = (
    "the plan cannot tell whether the BgpConf changes without the live announcing workload, "
    "which records the BgpConf the last run applied (annotation openelb-ha/bgpconf): a change "
    "of openelb-ha:bgp, a leaf's localAsn or the set of leaves restarts BGP on every replica at "
    "once, and pulumi up applies it only with openelb-ha:acceptBgpConfChange set to the digest "
    "pulumi preview prints; give it with --workload (kubectl get <that workload> -o yaml), or "
    "read the warnings of pulumi preview, which compares by itself"
)
