"""BgpPeer objects: one per leaf router, selecting only that leaf's nodes (multi-router guide)."""

from __future__ import annotations

import ipaddress

from openelb_component import names
from openelb_component.config import Leaf, Peer
from openelb_component.desired.model import DesiredObject, Manifest

BGP_API_VERSION = "network.kubesphere.io/v1alpha2"


def bgp_peer_key(leaf: str) -> str:
    return f"bgppeer-{leaf}"


def bgp_peer_name(leaf: str) -> str:
    return names.object_name_for("openelb-ha", leaf)


def _address_family(peer: Peer) -> Manifest:
    afi = "AFI_IP" if ipaddress.ip_address(peer.address).version == 4 else "AFI_IP6"
    return {
        "config": {"family": {"afi": afi, "safi": "SAFI_UNICAST"}, "enabled": True},
        # Advertise up to 10 paths per prefix so the router can ECMP across every replica of
        # the leaf instead of picking one (the guide's value).
        "addPaths": {"config": {"sendMax": 10}},
    }


def bgp_peer(leaf: Leaf, peer: Peer, node_keys: list[str]) -> DesiredObject:
    return DesiredObject(
        key=bgp_peer_key(leaf.name),
        action="create",
        manifest={
            "apiVersion": BGP_API_VERSION,
            "kind": "BgpPeer",
            "metadata": {"name": bgp_peer_name(leaf.name)},
            "spec": {
                "conf": {"peerAs": peer.asn, "neighborAddress": peer.address},
                "afiSafis": [_address_family(peer)],
                "nodeSelector": {"matchLabels": {names.RACK_LABEL: leaf.name}},
            },
        },
        # OpenELB evaluates a BgpPeer's nodeSelector only when the peer's spec changes, and never
        # notices rack labels added later (DESIGN §3): the labels must be in place first.
        depends_on=tuple(node_keys),
        on_destroy="deleted: the replicas close their sessions with this router",
    )
