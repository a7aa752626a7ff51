"""Leaf-router BGP configurations (FRR and BIRD 2) matching what OpenELB's speakers will do.

One router per leaf with a ``peer``: a neighbor for every node whose speaker peers with it (the
BgpPeer's nodeSelector, evaluated as OpenELB does), remote AS = the AS that node's speaker uses,
local AS = ``peer.asn``, the TCP MD5 password, the speakers' listen port, ECMP over the leaf's
nodes, and an import filter accepting only host routes inside ``eips``. Nothing is exported to
the speakers: they need no routes, and OpenELB's GoBGP would keep every route it is sent.

Made to be merged into a live router's configuration: by default no FRR ``bgp router-id``
(changing a production router's ID resets every session on it) and, for BIRD, no ``router id``
and no global protocols (``device``, ``kernel``), which an existing ``bird.conf`` already has.
``whole=True`` adds them for a standalone file (the lab's routers run it). Every line is built
from checked tokens (``routers/syntax.py``).

Pure: the caller supplies node addresses and password texts. A node without an address, or a
secret without a value, is a placeholder no parser accepts; an address that is not a plain one
(a Node's status is the cluster's text) leaves the node out, and ``notes`` names it. Everything
OpenELB decides comes from ``routers/openelb.py``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from openelb_component.config.addresses import Address, IpNetwork, endpoint
from openelb_component.config.models import StackConfig, eip_networks
from openelb_component.desired import DesiredState
from openelb_component.routers import openelb
from openelb_component.routers import syntax as s
from openelb_component.routers.syntax import Comment, Line, Token

DIALECTS = ("frr", "bird")
MAX_PATHS = 16
"""The ECMP ceiling every router configuration sets (FRR ``maximum-paths``, BIRD ``merge paths
on limit``): fixed, so a node joining a rack needs no router change. A rack with more nodes
spreads over 16 of them at a time, and another takes over from a failed one. 16 is within the
multipath build limit of common FRR packages (Debian's FRR 8.4 is built with
``--enable-multipath=256``, as ``vtysh --help`` prints); raise it on routers that allow more."""

ASSUMED_LINK_PREFIX = {4: 24, 6: 64}
"""The subnet a leaf router shares with its nodes, as far as the warning about sessions that
cannot come up assumes it (the stack does not say the link's prefix length)."""


@dataclass(frozen=True)
class RouterNeighbor:
    node: str
    address: str | None
    """The node's InternalIP (canonical text); None when unknown (a placeholder is printed)."""
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
    timers: openelb.Timers
    """``bgp.timers``: the router's hold time is what both ends use (the smaller one wins), so a
    powered-off node's paths leave after at most that long, whatever GoBGP's own setting."""
    left_out: tuple[str, ...] = ()
    """Nodes of this leaf whose InternalIP is not a plain address: no neighbor line."""


@dataclass(frozen=True)
class RenderedLeaf:
    leaf: str
    text: str


def _version(family: openelb.Family) -> int:
    return 4 if family == "ipv4-unicast" else 6


def usable_addresses(addresses: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Node -> canonical address for the InternalIPs a router can peer with, and the nodes
    whose InternalIP is not one (a zone, a prefix, loopback, any other text): never rendered."""
    usable: dict[str, str] = {}
    refused: list[str] = []
    for node, text in addresses.items():
        try:
            usable[node] = str(endpoint(text))
        except ValueError:
            refused.append(node)
    return usable, sorted(refused)


def leaf_routers(
    config: StackConfig, state: DesiredState, addresses: Mapping[str, str]
) -> list[LeafRouter]:
    """The router of every leaf with a peer; ``addresses`` maps node -> InternalIP as read."""
    usable, refused = usable_addresses(addresses)
    peers = openelb.bgp_peers(state)
    conf = openelb.bgp_conf(state, peers)
    labels = openelb.node_labels(state)
    nodes = [
        openelb.Node(name, node_labels, usable.get(name)) for name, node_labels in labels.items()
    ]
    speakers = {node.name: openelb.speaker(node, conf, peers) for node in nodes}
    eips = [net for value in config.eips or [] for net in eip_networks(value)]
    timers = openelb.Timers(
        config.timers.hold_time, config.timers.keepalive_interval, config.timers.connect_retry
    )
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
                        address=usable.get(name),
                        remote_as=None if conf.assumed else _remote_as(speakers[name], peer.name),
                        port=speakers[name].listen_port,
                    )
                    for name in members
                    if name not in refused
                ),
                password_secret=neighbor.password_secret,
                accepted=None
                if config.eips is None
                else tuple(net for net in eips if net.version == version),
                max_paths=MAX_PATHS,
                timers=timers,
                left_out=tuple(name for name in members if name in refused),
            )
        )
    return routers


def _remote_as(speaker: openelb.Speaker, bgp_peer: str) -> int:
    """The AS a node's speaker uses towards this router: its BgpPeer's ``localAs``
    (``bgp.nextHops: node`` puts a leaf's own ASN there), else the speaker's global AS."""
    own = next(n for n in speaker.neighbors if n.bgp_peer == bgp_peer)
    return own.local_as or speaker.asn


def _outside_link(router: LeafRouter) -> list[tuple[str, str]]:
    """(node, address) of the neighbors not in the router's assumed link subnet."""
    router_address = ipaddress.ip_address(router.address)
    link = ipaddress.ip_network(
        f"{router_address}/{ASSUMED_LINK_PREFIX[router_address.version]}", strict=False
    )
    return [
        (n.node, n.address)
        for n in router.neighbors
        if n.address is not None and ipaddress.ip_address(n.address) not in link
    ]


def notes(config: StackConfig, routers: Sequence[LeafRouter], state: DesiredState) -> list[str]:
    """What the user must know about the printed configurations (stderr of router-config)."""
    out: list[str] = []
    missing = sorted({n.node for r in routers for n in r.neighbors if n.address is None})
    if missing:
        out.append(
            "node addresses are placeholders (<InternalIP of NODE>, which no router parser "
            "accepts): give --nodes FILE with the output of `kubectl get nodes -o json`, or "
            f"substitute each node's InternalIP by hand ({', '.join(missing)})"
        )
    out += address_warnings(routers)
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


def address_warnings(routers: Sequence[LeafRouter]) -> list[str]:
    """Node addresses a router cannot use or likely cannot reach; shared by router-config's
    notes and the program's warnings."""
    out: list[str] = []
    for router in routers:
        for node in router.left_out:
            out.append(
                f"leaf {router.leaf}: node {node} has no neighbor line in its router's "
                "configuration: its InternalIP is not a plain IPv4 or IPv6 address a router "
                "can peer with (a zone, a prefix, loopback or other text); fix the Node's "
                "address (kubectl get node -o wide)"
            )
        outside = _outside_link(router)
        if outside:
            prefix = ASSUMED_LINK_PREFIX[ipaddress.ip_address(router.address).version]
            listed = ", ".join(f"{node} ({address})" for node, address in outside)
            out.append(
                f"leaf {router.leaf}: {listed} not in the /{prefix} of its router "
                f"{router.address}: the BgpPeer sets no ebgpMultihop, so GoBGP sends with TTL 1 "
                "(pkg/server/fsm.go:513-517@v2.23.0) and the session comes up only when the "
                "router is directly connected to the node; check the peer and node addresses"
            )
    return out


def _accepted(router: LeafRouter) -> tuple[IpNetwork, ...]:
    if router.accepted is not None:
        return router.accepted
    return (ipaddress.ip_network("0.0.0.0/0" if _version(router.family) == 4 else "::/0"),)


def _neighbor_token(n: RouterNeighbor) -> Token:
    if n.address is None:
        return s.placeholder(f"InternalIP of {n.node}")
    return s.address(endpoint(n.address))


def _router_address(router: LeafRouter) -> Address:
    return endpoint(router.address)


def _header(router: LeafRouter, whole: bool) -> list[Comment]:
    how = (
        "a whole, standalone configuration"
        if whole
        else "to merge into the router's configuration (--whole prints a standalone file)"
    )
    return [
        s.comment(f"leaf {router.leaf}"),
        s.comment(
            f"openelb-ha router-config: leaf router {router.leaf} for BgpPeer {router.bgp_peer}"
        ),
        s.comment(how),
    ]


# --- FRR -------------------------------------------------------------------------------------

_FRR_GROUP = "OPENELB"


def _frr_name(leaf: str, what: str) -> Token:
    return s.frr_name(f"OPENELB-{leaf}-{what}")


def _frr_neighbor(n: RouterNeighbor, per_neighbor_as: bool) -> list[Line]:
    """One node's lines. The speakers' listen port is set on each neighbor, never on the peer
    group: FRR copies a group's flags to a member through a 32-bit variable, so a member never
    holds ``PEER_FLAG_PORT`` (bit 33) and every ``neighbor GROUP port N``, the same port again
    included, sets it on every member and resets each one's session
    (``bgpd/bgpd.c:2629-2655, 4531-4535, 4588-4611, 4291``, ``bgpd/bgpd.h:1353``@frr-8.4.4,
    fixed in 9.0); and it never copies the group's port itself to a member
    (``peer_port_set``, ``bgpd/bgpd.c:5473-5477``), so a member is dialled on 179 whatever the
    group says. A neighbor's own ``port`` line, applied again with the same port, changes
    nothing (``bgpd/bgpd.c:4531-4535``)."""
    neighbor, address = s.syntax("neighbor"), _neighbor_token(n)
    lines = [
        s.line(1, neighbor, address, s.syntax("peer-group"), s.frr_name(_FRR_GROUP)),
        s.line(1, neighbor, address, s.syntax("description"), s.words(f"openelb-ha node {n.node}")),
    ]
    if per_neighbor_as and n.remote_as is not None:
        lines.append(s.line(1, neighbor, address, s.syntax("remote-as"), s.number(n.remote_as)))
    if n.port != openelb.BGP_PORT:
        lines.append(s.line(1, neighbor, address, s.syntax("port"), s.number(n.port)))
    return lines


def render_frr(router: LeafRouter, passwords: Mapping[str, str], whole: bool = False) -> str:
    """FRR (``vtysh``/``frr.conf``) configuration of one leaf router; a secret missing from
    ``passwords`` is a placeholder."""
    version = _version(router.family)
    ip = s.syntax("ip" if version == 4 else "ipv6")
    afi = s.syntax("ipv4" if version == 4 else "ipv6")
    neighbor = s.syntax("neighbor")
    group = s.frr_name(_FRR_GROUP)
    remote_as = {n.remote_as for n in router.neighbors}
    lines: list[Line | Comment] = [*_header(router, whole)]
    lines.append(s.line(0, s.syntax("router"), s.syntax("bgp"), s.number(router.asn)))
    router_address = _router_address(router)
    if whole and router_address.version == 4:
        # A standalone bgpd without zebra has no interface to take its ID from.
        lines.append(s.line(1, s.syntax("bgp"), s.syntax("router-id"), s.address(router_address)))
    lines.append(s.line(1, neighbor, group, s.syntax("peer-group")))
    if len(remote_as) == 1 and None not in remote_as:
        (asn,) = remote_as
        assert asn is not None  # noqa: S101 - checked just above; for the type checker
        lines.append(s.line(1, neighbor, group, s.syntax("remote-as"), s.number(asn)))
    elif not router.neighbors or None in remote_as:
        lines.append(s.line(1, neighbor, group, s.syntax("remote-as"), s.syntax("external")))
    if router.password_secret is not None:
        value = passwords.get(router.password_secret)
        password = (
            s.frr_password(value)
            if value is not None
            else s.placeholder(f"BGP password of leaf {router.leaf}")
        )
        lines.append(s.line(1, neighbor, group, s.syntax("password"), password))
    timers = router.timers
    lines += [
        s.line(
            1,
            neighbor,
            group,
            s.syntax("timers"),
            s.number(timers.keepalive_interval),
            s.number(timers.hold_time),
        ),
        s.line(
            1,
            neighbor,
            group,
            s.syntax("timers"),
            s.syntax("connect"),
            s.number(timers.connect_retry),
        ),
    ]
    for n in router.neighbors:
        lines += _frr_neighbor(n, per_neighbor_as=len(remote_as) > 1)
    lines += [
        s.line(1, s.syntax("address-family"), afi, s.syntax("unicast")),
        # ECMP over the leaf's nodes: each is a next hop the speakers announce.
        s.line(2, s.syntax("maximum-paths"), s.number(router.max_paths)),
        s.line(2, neighbor, group, s.syntax("activate")),
        s.line(
            2, neighbor, group, s.syntax("route-map"), _frr_name(router.leaf, "IN"), s.syntax("in")
        ),
        s.line(
            2,
            neighbor,
            group,
            s.syntax("route-map"),
            _frr_name(router.leaf, "OUT"),
            s.syntax("out"),
        ),
        s.line(1, s.syntax("exit-address-family")),
        s.line(0, s.syntax("exit")),
    ]
    host = 32 if version == 4 else 128
    prefix_list = _frr_name(router.leaf, "EIPS")
    entries: list[list[Token]] = [
        [s.syntax("permit"), s.network(net), s.syntax("ge"), s.number(host)]
        for net in _accepted(router)
    ] or [[s.syntax("deny"), s.syntax("any")]]
    lines += [
        s.line(
            0, ip, s.syntax("prefix-list"), prefix_list, s.syntax("seq"), s.number(seq * 5), entry
        )
        for seq, entry in enumerate(entries, start=1)
    ]
    lines += [
        s.line(
            0, s.syntax("route-map"), _frr_name(router.leaf, "IN"), s.syntax("permit"), s.number(10)
        ),
        s.line(1, s.syntax("match"), ip, s.syntax("address"), s.syntax("prefix-list"), prefix_list),
        s.line(0, s.syntax("exit")),
        s.line(
            0, s.syntax("route-map"), _frr_name(router.leaf, "OUT"), s.syntax("deny"), s.number(10)
        ),
        s.line(0, s.syntax("exit")),
    ]
    return s.render(lines, "!", indent_width=1)


# --- BIRD ------------------------------------------------------------------------------------


def _bird_slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


@dataclass(frozen=True)
class BirdSymbols:
    """The symbols of one leaf router's BIRD configuration, distinct by construction."""

    import_filter: str
    template: str
    kernel: str
    protocols: Mapping[str, str]
    """Node -> the name of its ``protocol bgp``."""


def bird_symbols(leaf: str, nodes: Sequence[str]) -> BirdSymbols:
    """Readable symbols (``openelb_<leaf>_<node>``, other characters as ``_``); a symbol that
    two names would share after that mapping (``w-1``, ``w.1``), that another symbol of the file
    already is (a node named ``import``), or that exceeds BIRD's 64 characters, ends in a hash
    of its own name instead."""
    base = _bird_slug(f"openelb_{leaf}")
    wanted = {
        ("filter", "import"): f"{base}_import",
        ("template", "speaker"): f"{base}_speaker",
        ("kernel", "kernel"): f"{base}_kernel",
        **{("node", node): f"{base}_{_bird_slug(node)}" for node in sorted(set(nodes))},
    }
    counts: dict[str, int] = {}
    for symbol in wanted.values():
        counts[symbol] = counts.get(symbol, 0) + 1
    chosen: dict[tuple[str, str], str] = {}
    for key, symbol in wanted.items():
        is_node = key[0] == "node"
        if len(symbol) > s.BIRD_SYMBOL_MAX or (is_node and counts[symbol] > 1):
            suffix = "_" + _short_hash(f"{leaf}\0{key[0]}\0{key[1]}")
            symbol = symbol[: s.BIRD_SYMBOL_MAX - len(suffix)] + suffix
        chosen[key] = symbol
    if len(set(chosen.values())) != len(chosen):
        raise s.Unrenderable(f"BIRD symbols of leaf {leaf} collide even with hashes")
    return BirdSymbols(
        import_filter=chosen[("filter", "import")],
        template=chosen[("template", "speaker")],
        kernel=chosen[("kernel", "kernel")],
        protocols={key[1]: symbol for key, symbol in chosen.items() if key[0] == "node"},
    )


def router_bird_symbols(router: LeafRouter) -> BirdSymbols:
    return bird_symbols(router.leaf, [n.node for n in router.neighbors])


def render_bird(router: LeafRouter, passwords: Mapping[str, str], whole: bool = False) -> str:
    """BIRD 2 (``bird.conf``) configuration of one leaf router; a secret missing from
    ``passwords`` is a placeholder."""
    version = _version(router.family)
    channel = s.syntax("ipv4" if version == 4 else "ipv6")
    host = 32 if version == 4 else 128
    symbols = router_bird_symbols(router)
    semi, opening, closing = s.syntax(";"), s.syntax("{"), s.syntax("}")
    lines: list[Line | Comment] = [*_header(router, whole)]
    if whole:
        router_address = _router_address(router)
        if router_address.version == 4:
            lines.append(
                s.line(0, s.syntax("router"), s.syntax("id"), s.address(router_address), semi)
            )
        lines += [
            s.line(0, s.syntax("protocol"), s.syntax("device"), opening),
            s.line(0, closing),
            s.line(
                0, s.syntax("protocol"), s.syntax("kernel"), s.bird_symbol(symbols.kernel), opening
            ),
            s.line(
                1,
                channel,
                opening,
                s.syntax("export"),
                s.syntax("where"),
                s.syntax("source"),
                s.syntax("="),
                s.syntax("RTS_BGP"),
                semi,
                closing,
                semi,
            ),
            # ECMP over the leaf's nodes: each is a next hop the speakers announce.
            s.line(
                1,
                s.syntax("merge"),
                s.syntax("paths"),
                s.syntax("on"),
                s.syntax("limit"),
                s.number(router.max_paths),
                semi,
            ),
            s.line(0, closing),
        ]
    else:
        lines.append(
            s.comment(
                f"ECMP over the leaf's nodes: your kernel protocol needs `merge paths on limit "
                f"{router.max_paths};`"
            )
        )
    accepted = _accepted(router)
    if accepted:
        patterns: list[Token] = []
        for index, net in enumerate(accepted):
            if index:
                patterns.append(s.syntax(","))
            patterns.append(s.bird_prefix_pattern(net, host))
        condition = [s.syntax("net"), s.syntax("~"), s.syntax("["), *patterns, s.syntax("]")]
    else:
        condition = [s.syntax("false")]
    lines += [
        s.line(0, s.syntax("filter"), s.bird_symbol(symbols.import_filter), opening),
        s.line(1, s.syntax("if"), condition, s.syntax("then"), s.syntax("accept"), semi),
        s.line(1, s.syntax("reject"), semi),
        s.line(0, closing),
        s.line(0, s.syntax("template"), s.syntax("bgp"), s.bird_symbol(symbols.template), opening),
        s.line(1, s.syntax("local"), s.syntax("as"), s.number(router.asn), semi),
        s.line(1, s.syntax("hold"), s.syntax("time"), s.number(router.timers.hold_time), semi),
        s.line(
            1,
            s.syntax("keepalive"),
            s.syntax("time"),
            s.number(router.timers.keepalive_interval),
            semi,
        ),
        s.line(
            1,
            s.syntax("connect"),
            s.syntax("retry"),
            s.syntax("time"),
            s.number(router.timers.connect_retry),
            semi,
        ),
    ]
    if router.password_secret is not None:
        value = passwords.get(router.password_secret)
        password = (
            s.bird_password(value)
            if value is not None
            else s.placeholder(f"BGP password of leaf {router.leaf}")
        )
        lines.append(s.line(1, s.syntax("password"), password, semi))
    lines += [
        s.line(
            1,
            channel,
            opening,
            s.syntax("import"),
            s.syntax("filter"),
            s.bird_symbol(symbols.import_filter),
            semi,
            s.syntax("export"),
            s.syntax("none"),
            semi,
            s.syntax("add"),
            s.syntax("paths"),
            s.syntax("rx"),
            semi,
            closing,
            semi,
        ),
        s.line(0, closing),
    ]
    for n in router.neighbors:
        port = [s.syntax("port"), s.number(n.port)] if n.port != openelb.BGP_PORT else []
        remote = (
            [s.syntax("external")]
            if n.remote_as is None
            else [s.syntax("as"), s.number(n.remote_as)]
        )
        lines += [
            s.line(
                0,
                s.syntax("protocol"),
                s.syntax("bgp"),
                s.bird_symbol(symbols.protocols[n.node]),
                s.syntax("from"),
                s.bird_symbol(symbols.template),
                opening,
            ),
            s.line(1, s.syntax("description"), s.bird_string(f"openelb-ha node {n.node}"), semi),
            s.line(1, s.syntax("neighbor"), _neighbor_token(n), port, remote, semi),
            s.line(0, closing),
        ]
    return s.render(lines, "#", indent_width=2)


RENDERERS: Mapping[str, Callable[[LeafRouter, Mapping[str, str], bool], str]] = {
    "frr": render_frr,
    "bird": render_bird,
}


def render(
    routers: Sequence[LeafRouter],
    dialect: str,
    passwords: Mapping[str, str],
    whole: bool = False,
) -> list[RenderedLeaf]:
    renderer = RENDERERS[dialect]
    return [RenderedLeaf(router.leaf, renderer(router, passwords, whole)) for router in routers]
