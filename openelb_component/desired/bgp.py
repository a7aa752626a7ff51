"""BGP objects: the global ``BgpConf``, and one ``BgpPeer`` per leaf router selecting only that
leaf's nodes (multi-router guide).

OpenELB reacts to a BgpPeer only when its ``spec`` changes (docs/design.md §3), and each replica
then re-evaluates the peer's ``nodeSelector`` against its own node; it never notices a rack label
that changes later. So leaf membership is written into the spec itself: besides the rack label
(the guide's selector), a leaf's peer lists its member nodes by name (``openelb-ha/node In
[...]``, sorted). Then

- moving a node from leaf A to leaf B changes exactly A's and B's peers: A's no longer lists it,
  whatever its rack label still says, so its session with A's router closes at once; B's lists
  it and is updated only after the node's new rack label is in place;
- adding or dropping a node changes exactly its own leaf's peer (a dropped node's session closes
  before its labels are released, which Pulumi does last);
- reordering the stack file changes nothing.

This is the least a spec can change: any spec that notices a move must also notice a drop.
OpenELB converts the whole selector (``metav1.LabelSelectorAsSelector`` in ``peerMatchNode``),
so ``matchExpressions`` are honoured.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from openelb_component.config import names
from openelb_component.config.models import BgpSettings, Leaf, Peer
from openelb_component.config.secrets import REDACTED, password_config_path
from openelb_component.desired.model import DesiredObject, Manifest

BGP_API_VERSION = "network.kubesphere.io/v1alpha2"
BGP_CONF_KEY = "bgpconf"
BGP_CONF_NAME = "default"
"""The only BgpConf OpenELB reads."""
PASSWORD_PATH = ("spec", "conf", "authPassword")


def bgp_peer_key(leaf: str) -> str:
    return f"bgppeer-{leaf}"


def bgp_peer_name(leaf: str) -> str:
    return names.object_name_for(names.PROJECT, leaf)


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


def peer_node_selector(leaf: str, leaf_nodes: Sequence[str]) -> Manifest:
    """The rack label (the guide's selector) AND one of the leaf's listed nodes, by name."""
    return {
        "matchLabels": {names.RACK_LABEL: leaf},
        "matchExpressions": [
            {
                "key": names.MEMBER_LABEL,
                "operator": "In",
                "values": sorted(names.member_label_value(node) for node in leaf_nodes),
            }
        ],
    }


def bgp_peer(
    leaf: Leaf,
    peer: Peer,
    depends_on: Sequence[str],
    has_password: bool,
) -> DesiredObject:
    conf: Manifest = {"peerAs": peer.asn, "neighborAddress": peer.address}
    secrets: dict[tuple[str | int, ...], str] = {}
    if has_password:
        conf["authPassword"] = REDACTED
        secrets[PASSWORD_PATH] = password_secret_name(leaf.name)
    return DesiredObject(
        key=bgp_peer_key(leaf.name),
        action="create",
        manifest={
            "apiVersion": BGP_API_VERSION,
            "kind": "BgpPeer",
            "metadata": {"name": bgp_peer_name(leaf.name)},
            "spec": {
                "conf": conf,
                "afiSafis": [_address_family(peer)],
                "nodeSelector": peer_node_selector(leaf.name, leaf.nodes),
            },
        },
        # OpenELB evaluates a BgpPeer's nodeSelector only when the peer's spec changes, and never
        # notices rack labels added later (docs/design.md §3): this leaf's labels must be in place
        # first.
        # A node that left this leaf is no longer listed, so no wait for it is needed.
        depends_on=tuple(depends_on),
        secrets=secrets,
        on_destroy="deleted: the replicas close their sessions with this router",
    )


def bgp_conf(bgp: BgpSettings, leaves: Sequence[Leaf], node_keys: Sequence[str]) -> DesiredObject:
    """The BgpConf ``default``, applied as a patch: it may exist already (made by hand per the
    guide), and a Server-Side Apply patch takes it over without AlreadyExists, creates it when
    missing, and on destroy only releases its fields, never deleting the user's object."""
    spec: Manifest = {"as": bgp.as_}
    # Only what the stack sets: a value written here takes the field over (or conflicts), so an
    # unset port must not reset a hand-made BgpConf's port to 179.
    if bgp.listen_port is not None:
        spec["listenPort"] = bgp.listen_port
    if bgp.router_id is not None:
        spec["routerId"] = bgp.router_id
    per_rack = {leaf.name: leaf.local_asn for leaf in leaves if leaf.local_asn is not None}
    if per_rack:
        spec["asPerRack"] = dict(sorted(per_rack.items()))
    return DesiredObject(
        key=BGP_CONF_KEY,
        action="patch",
        manifest={
            "apiVersion": BGP_API_VERSION,
            "kind": "BgpConf",
            "metadata": {"name": BGP_CONF_NAME},
            "spec": spec,
        },
        # A replica reads its node's rack label when the BgpConf changes, to pick its asPerRack
        # ASN; labels added later are never noticed (docs/design.md §3), so they go first.
        depends_on=tuple(node_keys),
        on_destroy="its fields are released: as, listenPort, routerId and asPerRack entries no "
        "other field manager also set are removed; the BgpConf itself stays",
    )
