"""Leaf-router BGP configurations (FRR and BIRD 2) matching what OpenELB's speakers will do.

One router per leaf with a ``peer``: a neighbor for every node whose speaker peers with it (the
BgpPeer's nodeSelector, evaluated as OpenELB does), remote AS = the AS that node's speaker uses,
local AS = ``peer.asn``, the TCP MD5 password, the speakers' listen port, ECMP over the leaf's
nodes, and an import filter accepting only host routes inside ``eips``. Nothing is exported to
the speakers: they need no routes, and OpenELB's GoBGP would keep every route it is sent.

Pure: the caller supplies node addresses and password texts (a real password, or a placeholder
when the value is not available or not to be shown). Everything OpenELB decides comes from
``routers/openelb.py``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from openelb_component.config.models import IpNetwork, StackConfig, eip_networks
from openelb_component.desired import DesiredState
from openelb_component.routers import openelb

DIALECTS = ("frr", "bird")
MAX_PATHS = 64
"""FRR's ``maximum-paths`` ceiling in Debian's build (MULTIPATH_NUM)."""


@dataclass(frozen=True)
class RouterNeighbor:
    node: str
    address: str | None
    """The node's InternalIP; None when unknown (a placeholder is printed)."""
    remote_as: int | None
    """The AS the node's speaker uses; None when the stack does not manage the BgpConf."""
    port: int
    """The port the node's speaker listens on (``BgpConf.spec.listenPort``)."""


@dataclass(frozen=True)
class LeafRouter:
    leaf: str
    bgp_peer: str
    asn: int
    address: str
    family: openelb.Family
    neighbors: tuple[RouterNeighbor, ...]
    password_secret: str | None
    accepted: tuple[IpNetwork, ...] | None
    """Networks whose host routes the router accepts; None: any host route (no ``eips``)."""
    max_paths: int


@dataclass(frozen=True)
class RenderedLeaf:
    leaf: str
    text: str


def placeholder_address(node: str) -> str:
    return f"NODE-IP-{node}"


def placeholder_password(secret_name: str) -> str:
    return f"REPLACE-WITH-{secret_name}"


def _version(family: openelb.Family) -> int:
    return 4 if family == "ipv4-unicast" else 6


def leaf_routers(
    config: StackConfig, state: DesiredState, addresses: Mapping[str, str]
) -> list[LeafRouter]:
    """The router of every leaf with a peer; ``addresses`` maps node -> InternalIP."""
    peers = openelb.bgp_peers(state)
    conf = openelb.bgp_conf(state, peers)
    labels = openelb.node_labels(state)
    nodes = [
        openelb.Node(name, node_labels, addresses.get(name)) for name, node_labels in labels.items()
    ]
    speakers = {node.name: openelb.speaker(node, conf, peers) for node in nodes}
    eips = [net for value in config.eips or [] for net in eip_networks(value)]
    # Every node with the leaf's rack label is a next hop, otherNodes too (SetBalancer).
    rack_members = openelb.rack_members(state)
    routers = []
    for leaf_peer in peers:
        peer = leaf_peer.peer
        neighbor = openelb.neighbor(leaf_peer)
        version = _version(neighbor.family)
        members = sorted(
            name
            for name, speaker in speakers.items()
            if any(n.bgp_peer == peer.name for n in speaker.neighbors)
        )
        routers.append(
            LeafRouter(
                leaf=neighbor.leaf,
                bgp_peer=peer.name,
                asn=neighbor.peer_as,
                address=neighbor.address,
                family=neighbor.family,
                neighbors=tuple(
                    RouterNeighbor(
                        node=name,
                        address=addresses.get(name),
                        remote_as=None if conf.assumed else speakers[name].asn,
                        port=speakers[name].listen_port,
                    )
                    for name in members
                ),
                password_secret=neighbor.password_secret,
                accepted=None
                if config.eips is None
                else tuple(net for net in eips if net.version == version),
                max_paths=max(1, min(MAX_PATHS, len(rack_members.get(neighbor.leaf, ())))),
            )
        )
    return routers


def notes(config: StackConfig, routers: Sequence[LeafRouter], state: DesiredState) -> list[str]:
    """What the user must know about the printed configurations (stderr of router-config)."""
    out: list[str] = []
    missing = sorted({n.node for r in routers for n in r.neighbors if n.address is None})
    if missing:
        out.append(
            "node addresses are placeholders (NODE-IP-<node>; in BIRD the NODE_<node> "
            "constants at the top): give --nodes FILE with the output of `kubectl get nodes -o "
            f"json`, or substitute each node's InternalIP by hand ({', '.join(missing)})"
        )
    if openelb.bgp_conf(state, openelb.bgp_peers(state)).assumed:
        out.append(
            "the stack does not manage the BgpConf (no openelb-ha:bgp), so the speakers' AS is "
            "the cluster's own: the neighbors use `remote-as external` (FRR) / `external` "
            "(BIRD), any AS other than the router's; the listen port is assumed to be 179"
        )
    if config.eips is None:
        out.append(
            "openelb-ha:eips is not set: the import filters accept any host route (/32, /128) "
            "from the nodes; set eips to your Eip objects' spec.address"
        )
    for router in routers:
        version = _version(router.family)
        skipped = [
            value
            for value in config.eips or []
            if all(net.version != version for net in eip_networks(value))
        ]
        if skipped:
            out.append(
                f"leaf {router.leaf}: eips {', '.join(skipped)} are not carried to this router: "
                f"its BgpPeer negotiates only {router.family} (an address family follows the "
                "neighbor address), so OpenELB cannot announce them to it"
            )
        if version == 6 and router.accepted != ():
            out.append(
                f"leaf {router.leaf}: OpenELB 0.5.1 and 0.6.0 announce IPv6 addresses with "
                "prefix length 32 (pkg/speaker/bgp/path.go:143@v0.5.1), which this filter for "
                "host routes (/128) refuses: IPv6 EIPs do not work with those releases"
            )
    return out


# --- FRR -------------------------------------------------------------------------------------

_FRR_GROUP = "OPENELB"


def _frr_name(leaf: str, what: str) -> str:
    return f"OPENELB-{leaf}-{what}"


def render_frr(router: LeafRouter, passwords: Mapping[str, str]) -> str:
    """FRR (``vtysh``/``frr.conf``) configuration of one leaf router."""
    version = _version(router.family)
    ip = "ip" if version == 4 else "ipv6"
    afi = "ipv4" if version == 4 else "ipv6"
    group = _FRR_GROUP
    remote_as = {n.remote_as for n in router.neighbors}
    ports = {n.port for n in router.neighbors}
    lines = [
        f"! leaf {router.leaf}",
        f"! openelb-ha router-config: leaf router {router.leaf} for BgpPeer {router.bgp_peer}",
        f"router bgp {router.asn}",
    ]
    if ipaddress.ip_address(router.address).version == 4:
        lines.append(f" bgp router-id {router.address}")
    lines += [f" neighbor {group} peer-group"]
    if len(remote_as) == 1 and None not in remote_as:
        lines.append(f" neighbor {group} remote-as {next(iter(remote_as))}")
    elif not router.neighbors or None in remote_as:
        lines.append(f" neighbor {group} remote-as external")
    if router.password_secret is not None:
        lines.append(f" neighbor {group} password {passwords[router.password_secret]}")
    if len(ports) == 1 and ports != {openelb.BGP_PORT}:
        lines.append(f" neighbor {group} port {next(iter(ports))}")
    for n in router.neighbors:
        address = n.address or placeholder_address(n.node)
        lines.append(f" neighbor {address} peer-group {group}")
        lines.append(f" neighbor {address} description openelb-ha node {n.node}")
        if len(remote_as) > 1 and n.remote_as is not None:
            lines.append(f" neighbor {address} remote-as {n.remote_as}")
        if len(ports) > 1 and n.port != openelb.BGP_PORT:
            lines.append(f" neighbor {address} port {n.port}")
    lines += [
        f" address-family {afi} unicast",
        # ECMP over every node of the leaf: each is a next hop the speakers announce.
        f"  maximum-paths {router.max_paths}",
        f"  neighbor {group} activate",
        f"  neighbor {group} route-map {_frr_name(router.leaf, 'IN')} in",
        f"  neighbor {group} route-map {_frr_name(router.leaf, 'OUT')} out",
        " exit-address-family",
        "exit",
    ]
    host = 32 if version == 4 else 128
    prefix_list = _frr_name(router.leaf, "EIPS")
    accepted = router.accepted
    if accepted is None:
        accepted = (ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0"),)
    entries = [f"permit {net} ge {host}" for net in accepted] or ["deny any"]
    lines += [
        f"{ip} prefix-list {prefix_list} seq {seq * 5} {entry}"
        for seq, entry in enumerate(entries, start=1)
    ]
    lines += [
        f"route-map {_frr_name(router.leaf, 'IN')} permit 10",
        f" match {ip} address prefix-list {prefix_list}",
        "exit",
        f"route-map {_frr_name(router.leaf, 'OUT')} deny 10",
        "exit",
    ]
    return "\n".join(lines) + "\n"


# --- BIRD ------------------------------------------------------------------------------------


def _bird_symbol(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def bird_protocol_name(leaf: str, node: str) -> str:
    """The BIRD protocol of one node's session on a leaf's router."""
    return f"{_bird_symbol(f'openelb_{leaf}')}_{_bird_symbol(node)}"


def _bird_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_bird(router: LeafRouter, passwords: Mapping[str, str]) -> str:
    """BIRD 2 (``bird.conf``) configuration of one leaf router."""
    version = _version(router.family)
    channel = "ipv4" if version == 4 else "ipv6"
    host = 32 if version == 4 else 128
    base = _bird_symbol(f"openelb_{router.leaf}")
    lines = [
        f"# leaf {router.leaf}",
        f"# openelb-ha router-config: leaf router {router.leaf} for BgpPeer {router.bgp_peer}",
    ]
    placeholders = [n for n in router.neighbors if n.address is None]
    # The unspecified address: parses, and can never be a real neighbor until replaced.
    unspecified = "0.0.0.0" if version == 4 else "::"  # noqa: S104
    for n in placeholders:
        lines.append(
            f"define NODE_{_bird_symbol(n.node)} = {unspecified};  # {n.node}'s InternalIP"
        )
    if version == 4:
        lines.append(f"router id {router.address};")
    accepted = router.accepted
    if accepted is None:
        accepted = (ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0"),)
    condition = (
        "net ~ [ " + ", ".join(f"{net}{{{host},{host}}}" for net in accepted) + " ]"
        if accepted
        else "false"
    )
    lines += [
        "protocol device {",
        "}",
        f"protocol kernel {base}_kernel {{",
        f"  {channel} {{ export where source = RTS_BGP; }};",
        # ECMP over every node of the leaf: each is a next hop the speakers announce.
        f"  merge paths on limit {router.max_paths};",
        "}",
        f"filter {base}_import {{",
        f"  if {condition} then accept;",
        "  reject;",
        "}",
        f"template bgp {base}_speaker {{",
        f"  local as {router.asn};",
    ]
    if router.password_secret is not None:
        lines.append(f"  password {_bird_string(passwords[router.password_secret])};")
    lines += [
        f"  {channel} {{ import filter {base}_import; export none; add paths rx; }};",
        "}",
    ]
    for n in router.neighbors:
        address = n.address or f"NODE_{_bird_symbol(n.node)}"
        port = f" port {n.port}" if n.port != openelb.BGP_PORT else ""
        remote = "external" if n.remote_as is None else f"as {n.remote_as}"
        lines += [
            f"protocol bgp {bird_protocol_name(router.leaf, n.node)} from {base}_speaker {{",
            f"  description {_bird_string('openelb-ha node ' + n.node)};",
            f"  neighbor {address}{port} {remote};",
            "}",
        ]
    return "\n".join(lines) + "\n"


RENDERERS: Mapping[str, Callable[[LeafRouter, Mapping[str, str]], str]] = {
    "frr": render_frr,
    "bird": render_bird,
}


def render(
    routers: Sequence[LeafRouter], dialect: str, passwords: Mapping[str, str]
) -> list[RenderedLeaf]:
    renderer = RENDERERS[dialect]
    return [RenderedLeaf(router.leaf, renderer(router, passwords)) for router in routers]
