"""The lab's layout: which namespaces, addresses, passwords and configurations a stack gets.

Pure (no process runs here): the stack's desired state is translated into documentation
addresses only (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), then the model of OpenELB's
speakers (``routers/openelb.py``) and the router configurations (``routers/configs.py``) are
computed on the translated state, so the lab runs exactly what the program applies, at other
addresses:

- every leaf router gets its own link, a subnet of one documentation /24, shared by the leaf's
  nodes (a bridge in the router's namespace): a next hop in another rack is off-link, as in a
  real fabric;
- the router's address stands in for ``peer.address`` in the leaf's BgpPeer;
- every node of the leaf (``otherNodes`` too: they are next hops) gets an address on it; nodes
  that run a speaker get a namespace;
- ``eips`` ranges inside a documentation range are kept, others are replaced by a documentation
  range of their own, and each speaker announces one address of every range of its session's
  family (a documentation address when the stack has no ``eips``);
- passwords: the stack's are never read; a leaf with one gets a lab password, the same on both
  sides (the wrong-password scenario changes the router's).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from openelb_component.config import names
from openelb_component.config.models import IpNetwork, StackConfig, eip_networks
from openelb_component.desired import DesiredObject, DesiredState
from openelb_component.routers import configs, openelb

DOC_V4 = tuple(
    ipaddress.IPv4Network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
"""RFC 5737 documentation ranges: the only IPv4 addresses the lab uses."""


class LabError(Exception):
    """The stack cannot be built in the lab (e.g. too many nodes per leaf for its ranges)."""


@dataclass(frozen=True)
class Faults:
    """Deliberate mistakes, to show the lab catches them."""

    router_password: Mapping[str, str] = field(default_factory=dict)
    """Leaf -> the password its router uses instead of the speakers' one."""
    router_remote_as: Mapping[str, int] = field(default_factory=dict)
    """Leaf -> the remote AS its router expects instead of the speakers' one."""
    peer_selector: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    """Leaf -> a nodeSelector that replaces its BgpPeer's (as if the applied peer said so)."""


@dataclass(frozen=True)
class LabNode:
    name: str
    leaf: str
    address: str
    namespace: str | None
    """None for a node that can run no speaker (an otherNode): only an address on the link."""
    speaker: openelb.Speaker | None
    """How OpenELB configures this node's GoBGP, for every node that may run a speaker (0.5:
    every listed node of the leaf, where the manager's pods may land)."""
    starts: bool = False
    """Its speaker runs when the lab starts (0.5: the manager's replicas, by name)."""
    joins: bool = False
    """Not in the stack the lab starts from: a node the scenario adds (membership-change)."""
    rack: str = ""
    """The node's rack label: its leaf, or with ``bgp.nextHops: node`` its own name; which
    speakers announce it as a next hop (``openelb.next_hops``)."""


@dataclass(frozen=True)
class LabLeaf:
    name: str
    index: int
    namespace: str
    subnet: ipaddress.IPv4Network
    router_address: str
    frr_config: str
    bird_config: str
    members: tuple[str, ...]
    """Every node on the leaf's link (its nodes and otherNodes)."""
    speakers: tuple[str, ...]
    """The nodes of this leaf that run a speaker when the lab starts: the sessions the router
    should have then."""
    announced: tuple[str, ...]
    """The addresses announced to this router (of its session's family)."""
    expected_next_hops: tuple[str, ...]
    """The next hops a correct fabric gives the router: its own rack's nodes."""
    not_carried: tuple[str, ...] = ()
    """eips ranges of another address family than this router's session."""
    bird_protocols: Mapping[str, str] = field(default_factory=dict)
    """Node -> the name of its ``protocol bgp`` in ``bird_config`` (``birdc show protocols``)."""
    candidates: tuple[str, ...] = ()
    """The nodes of this leaf that may run a speaker (have a namespace)."""
    initial_frr_config: str = ""
    initial_bird_config: str = ""
    """The router's configuration when the lab starts: ``frr_config``/``bird_config`` unless the
    scenario changes it (membership-change starts from the stack before the change)."""
    frr_merge: str = ""
    """What `router-config --dialect frr` prints for the stack (no ``--whole``): the text an
    operator pastes into a running router, as membership-change does."""
    password: bool = False
    """Its sessions use TCP MD5."""


@dataclass(frozen=True)
class Layout:
    stack: str
    version: str
    prefix: str
    leaves: tuple[LabLeaf, ...]
    nodes: tuple[LabNode, ...]
    passwords: Mapping[str, str]
    """Secret name -> the lab's password for it (speakers' side)."""
    assumed_bgp_conf: bool
    eip_map: Mapping[str, str]
    """Stack eips range -> the lab range standing in for it (when it had to be replaced)."""
    rollout: openelb.Rollout
    notes: tuple[str, ...] = ()

    def node(self, name: str) -> LabNode:
        return next(node for node in self.nodes if node.name == name)

    @property
    def speaker_nodes(self) -> tuple[LabNode, ...]:
        """The nodes whose speaker runs when the lab starts."""
        return tuple(node for node in self.nodes if node.starts)

    def leaf(self, name: str) -> LabLeaf:
        return next(leaf for leaf in self.leaves if leaf.name == name)


DOC_V6 = ipaddress.IPv6Network("2001:db8::/32")


def _inside_doc(net: IpNetwork) -> bool:
    if isinstance(net, ipaddress.IPv4Network):
        return any(net.subnet_of(doc) for doc in DOC_V4)
    return net.subnet_of(DOC_V6)


def _lab_eips(config: StackConfig) -> tuple[list[list[IpNetwork]], dict[str, str], list[str]]:
    """The lab's eips ranges (each as its networks, documentation ranges only), what replaced
    what, and the notes."""
    if config.eips is None:
        return [], {}, []
    ranges: list[list[IpNetwork]] = []
    replaced: dict[str, str] = {}
    spare = list(ipaddress.IPv4Network("203.0.113.128/25").subnets(new_prefix=29))
    for value in config.eips:
        networks = eip_networks(value)
        if all(_inside_doc(net) for net in networks):
            ranges.append(networks)
            continue
        if networks[0].version == 6:
            stand_in: IpNetwork = ipaddress.IPv6Network(f"2001:db8:ffff:{len(replaced):x}::/64")
        else:
            stand_in = spare.pop(0)
        replaced[value] = str(stand_in)
        ranges.append([stand_in])
    notes = [
        f"eips {old} is outside the documentation ranges: the lab uses {new} in its place"
        for old, new in replaced.items()
    ]
    return ranges, replaced, notes


def _link_range(eips: Sequence[IpNetwork]) -> ipaddress.IPv4Network:
    for doc in DOC_V4:
        if not any(isinstance(net, ipaddress.IPv4Network) and net.overlaps(doc) for net in eips):
            return doc
    raise LabError(
        "every IPv4 documentation range holds an eips range, so the lab has none left for its "
        "links; leave one of 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 free"
    )


def _announced(ranges: Sequence[Sequence[IpNetwork]], link: ipaddress.IPv4Network) -> list[str]:
    """One address of every range: a CIDR's first host, a first-last range's first address; a
    documentation address when the stack has no eips."""
    if not ranges:
        spare = next(doc for doc in DOC_V4 if doc != link)
        return [str(spare[1])]
    out = []
    for networks in ranges:
        first = networks[0]
        out.append(str(first[1] if len(networks) == 1 and first.num_addresses > 2 else first[0]))
    return out


def _with_neighbor(peer: DesiredObject, address: str, selector: object | None) -> DesiredObject:
    manifest = {**peer.manifest, "spec": {**peer.manifest["spec"]}}
    manifest["spec"]["conf"] = {**manifest["spec"]["conf"], "neighborAddress": address}
    if selector is not None:
        manifest["spec"]["nodeSelector"] = selector
    return dataclasses.replace(peer, manifest=manifest)


def namespace_prefix(pid: int) -> str:
    """Unique per run: the lab's own process id."""
    return f"oelab{pid}"


def lab_state(
    state: DesiredState,
    router_address: Mapping[str, str],
    faults: Faults,
) -> tuple[DesiredState, list[openelb.LeafPeer]]:
    """The state as the lab applies it: each BgpPeer points at the lab's router (also what
    ``lab --openelb real`` applies to its control plane)."""
    lab_peers = {
        p.peer.name: openelb.LeafPeer(
            p.leaf,
            _with_neighbor(p.peer, router_address[p.leaf], faults.peer_selector.get(p.leaf)),
        )
        for p in openelb.bgp_peers(state)
        if p.leaf in router_address
    }
    applied = dataclasses.replace(
        state,
        objects=tuple(
            lab_peers[obj.name].peer if obj.kind == "BgpPeer" and obj.name in lab_peers else obj
            for obj in state.objects
        ),
    )
    return applied, list(lab_peers.values())


@dataclass(frozen=True)
class RouterTexts:
    router: configs.LeafRouter
    frr: str
    """``router-config --dialect frr --whole``: the lab router's whole configuration."""
    bird: str
    """``router-config --dialect bird --whole``."""
    frr_merge: str
    """``router-config --dialect frr``: to merge into a running router."""


def _routers(
    config: StackConfig,
    state: DesiredState,
    lab_eips: Sequence[IpNetwork] | None,
    addresses: Mapping[str, str],
    router_address: Mapping[str, str],
    passwords: Mapping[str, str],
    faults: Faults,
) -> dict[str, RouterTexts]:
    """Leaf -> its router's configurations as router-config prints them for this stack, at the
    lab's addresses, with the lab's passwords and the faults."""
    applied, _ = lab_state(state, router_address, faults)
    lab_config = config.model_copy(
        update={"eips": None if lab_eips is None else [str(net) for net in lab_eips]}
    )
    out = {}
    for router in configs.leaf_routers(lab_config, applied, dict(addresses)):
        router_passwords = dict(passwords)
        if router.leaf in faults.router_password and router.password_secret is None:
            router = dataclasses.replace(router, password_secret=f"fault.{router.leaf}")
        if router.password_secret is not None and router.leaf in faults.router_password:
            router_passwords[router.password_secret] = faults.router_password[router.leaf]
        if router.leaf in faults.router_remote_as:
            router = dataclasses.replace(
                router,
                neighbors=tuple(
                    dataclasses.replace(n, remote_as=faults.router_remote_as[router.leaf])
                    for n in router.neighbors
                ),
            )
        out[router.leaf] = RouterTexts(
            router,
            # Standalone files: the lab's routers have no configuration of their own.
            configs.render_frr(router, router_passwords, whole=True),
            configs.render_bird(router, router_passwords, whole=True),
            configs.render_frr(router, router_passwords),
        )
    return out


def build_layout(
    stack: str,
    config: StackConfig,
    state: DesiredState,
    pid: int,
    faults: Faults | None = None,
    initial: tuple[StackConfig, DesiredState] | None = None,
) -> Layout:
    """The lab for ``config``; with ``initial``, the lab starts as that stack had it (its
    speakers running, its router configurations), for a scenario that then changes to
    ``config``. Addresses are planned for ``config``: a node that joins keeps its address."""
    faults = faults or Faults()
    prefix = namespace_prefix(pid)
    eip_ranges, eip_map, notes = _lab_eips(config)
    eips = [net for networks in eip_ranges for net in networks]
    link = _link_range(eips)
    racks = openelb.leaf_members(state)
    peers = openelb.bgp_peers(state)
    if not peers:
        return Layout(
            stack=stack,
            version=config.openelb.version,
            prefix=prefix,
            leaves=(),
            nodes=(),
            passwords={},
            assumed_bgp_conf=False,
            eip_map=eip_map,
            rollout=openelb.rollout(state),
            notes=tuple(notes),
        )
    leaf_names = [p.leaf for p in peers]
    biggest = max(len(racks.get(leaf, ())) for leaf in leaf_names)
    prefix_len = 32 - max(2, (biggest + 3 - 1).bit_length())  # network, router, broadcast
    subnets = list(link.subnets(new_prefix=prefix_len))
    if len(subnets) < len(peers):
        raise LabError(
            f"{len(peers)} leaves of up to {biggest} nodes do not fit in {link}; the lab "
            "supports fewer or smaller leaves"
        )
    addresses: dict[str, str] = {}
    router_address: dict[str, str] = {}
    for index, leaf in enumerate(leaf_names):
        hosts = list(subnets[index].hosts())
        router_address[leaf] = str(hosts[0])
        for offset, node in enumerate(racks.get(leaf, ()), start=1):
            addresses[node] = str(hosts[offset])
    applied, lab_peer_list = lab_state(state, router_address, faults)
    conf = openelb.bgp_conf(applied, lab_peer_list)
    labels = openelb.node_labels(applied)
    start_config, start_state = initial or (config, state)
    eligible = _speaker_eligible(config, state)
    eligible_at_start = _speaker_eligible(start_config, start_state)
    running = {
        n for nodes in openelb.speaker_nodes(start_config, start_state).values() for n in nodes
    }
    secret_names = sorted(
        {n.password_secret for p in lab_peer_list if (n := openelb.neighbor(p)).password_secret}
    )
    passwords = {name: f"lab-{secrets.token_hex(6)}" for name in secret_names}

    nodes: list[LabNode] = []
    for index, (name, node_labels) in enumerate(sorted(labels.items())):
        address = addresses.get(name)
        if address is None:
            continue  # a node of a leaf without a peer: not in the lab
        leaf = next(leaf for leaf, members in racks.items() if name in members)
        model_node = openelb.Node(name, node_labels, address)
        speaker = openelb.speaker(model_node, conf, lab_peer_list) if name in eligible else None
        nodes.append(
            LabNode(
                name,
                leaf,
                address,
                f"{prefix}-n{index}" if speaker else None,
                speaker,
                starts=speaker is not None and name in running,
                joins=speaker is not None and name not in eligible_at_start,
                rack=node_labels.get(names.RACK_LABEL, ""),
            )
        )

    routers = _routers(
        config,
        state,
        eips if config.eips is not None else None,
        addresses,
        router_address,
        passwords,
        faults,
    )
    initial_routers = (
        routers
        if initial is None
        else _routers(
            *initial,
            eips if initial[0].eips is not None else None,
            addresses,
            router_address,
            passwords,
            faults,
        )
    )
    if conf.assumed:
        notes.append(
            f"the stack does not manage the BgpConf: the lab's speakers use AS {conf.spec['as']} "
            "and OpenELB's defaults (no asPerRack, router ID = node address, port 179), as a "
            "BgpConf made by hand from OpenELB's sample would"
        )
    leaves: list[LabLeaf] = []
    for index, leaf_name in enumerate(leaf_names):
        if leaf_name not in routers:
            continue
        texts = routers[leaf_name]
        router = texts.router
        version = 4 if router.family == "ipv4-unicast" else 6
        own = [networks for networks in eip_ranges if networks[0].version == version]
        other = [
            value
            for value in (config.eips or [])
            if all(net.version != version for net in eip_networks(value))
        ]
        members = tuple(racks.get(leaf_name, ()))
        mine = [node for node in nodes if node.leaf == leaf_name]
        at_start = initial_routers.get(leaf_name, texts)
        # What the leaf's speakers announce when every node is up (SetBalancer): its rack's
        # nodes, or with one rack per node the speakers' own nodes; a node that joins in the
        # scenario counts (its speaker runs by the end).
        hops = {
            hop
            for node in mine
            if node.speaker is not None and (node.starts or node.joins)
            for hop in openelb.next_hops(
                node.speaker.rack, _model_nodes(nodes), config.openelb.version
            )
        }
        leaves.append(
            LabLeaf(
                name=leaf_name,
                index=len(leaves),
                namespace=f"{prefix}-r{len(leaves)}",
                subnet=subnets[index],
                router_address=router_address[leaf_name],
                frr_config=texts.frr,
                bird_config=texts.bird,
                members=members,
                speakers=tuple(sorted(n.name for n in mine if n.starts)),
                announced=tuple(_announced(own, link)) if version == 4 else (),
                expected_next_hops=tuple(addresses[m] for m in members if addresses[m] in hops),
                not_carried=tuple(other),
                bird_protocols=dict(configs.router_bird_symbols(router).protocols),
                candidates=tuple(sorted(n.name for n in mine if n.speaker)),
                initial_frr_config=at_start.frr,
                initial_bird_config=at_start.bird,
                frr_merge=texts.frr_merge,
                password=router.password_secret is not None,
            )
        )
    return Layout(
        stack=stack,
        version=config.openelb.version,
        prefix=prefix,
        leaves=tuple(leaves),
        nodes=tuple(nodes),
        passwords=passwords,
        assumed_bgp_conf=conf.assumed,
        eip_map=eip_map,
        rollout=openelb.rollout(state if initial is None else initial[1]),
        notes=tuple(notes),
    )


def _speaker_eligible(config: StackConfig, state: DesiredState) -> set[str]:
    """Nodes that may run a speaker: 0.6 every listed node (the DaemonSet's); 0.5 every listed
    node of a leaf (the manager's pods may land on any: its nodeSelector is the HA label)."""
    if config.openelb.version == "0.6":
        return {n for nodes in openelb.speaker_nodes(config, state).values() for n in nodes}
    return {n for nodes in state.nodes_by_leaf.values() for n in nodes} or set(state.nodes)


def _model_nodes(
    nodes: Sequence[LabNode], ready: Mapping[str, bool] | None = None
) -> list[openelb.Node]:
    """The lab's nodes as OpenELB's speakers read them (rack label, address, readiness)."""
    return [
        openelb.Node(n.name, {names.RACK_LABEL: n.rack}, n.address, (ready or {}).get(n.name, True))
        for n in nodes
    ]


def gobgpd_toml(speaker: openelb.Speaker, passwords: Mapping[str, str]) -> str:
    """gobgpd's configuration file for one speaker: the global settings OpenELB's BgpConf
    reconcile gives it (``ToGoBgpGlobalConf``) and one neighbor per selected BgpPeer
    (``ToGoBgpPeer``: its ``localAs`` and ``timers`` too), with the add-paths send count
    OpenELB's default address family sets."""
    lines = [
        "[global.config]",
        f"  as = {speaker.asn}",
        f'  router-id = "{speaker.router_id}"',
        f"  port = {speaker.listen_port}",
    ]
    for n in speaker.neighbors:
        lines += [
            "[[neighbors]]",
            "  [neighbors.config]",
            f'    neighbor-address = "{n.address}"',
            f"    peer-as = {n.peer_as}",
        ]
        if n.local_as is not None:
            lines.append(f"    local-as = {n.local_as}")
        if n.password_secret is not None:
            lines.append(f'    auth-password = "{passwords[n.password_secret]}"')
        if n.timers is not None:
            lines += [
                "  [neighbors.timers.config]",
                f"    hold-time = {n.timers.hold_time}",
                f"    keepalive-interval = {n.timers.keepalive_interval}",
                f"    connect-retry = {n.timers.connect_retry}",
            ]
        if n.remote_port != openelb.BGP_PORT:
            lines += ["  [neighbors.transport.config]", f"    remote-port = {n.remote_port}"]
        lines += [
            "  [[neighbors.afi-safis]]",
            "    [neighbors.afi-safis.config]",
            f'      afi-safi-name = "{n.family}"',
        ]
        if n.send_max:
            lines += [
                "    [neighbors.afi-safis.add-paths.config]",
                f"      send-max = {n.send_max}",
            ]
    return "\n".join(lines) + "\n"


def path_identifier(next_hop: str) -> int:
    """``getPathIdentifier`` (pkg/speaker/bgp/path.go:20-24@v0.5.1): FNV-32a of the address."""
    value = 0x811C9DC5
    for byte in next_hop.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def announcements(
    layout: Layout, node: LabNode, ready: Mapping[str, bool] | None = None
) -> list[tuple[str, str]]:
    """(address, next hop) pairs one speaker announces: every announced address of its leaf
    router's session, with the next hops OpenELB chooses (``openelb.next_hops``)."""
    assert node.speaker is not None  # noqa: S101 - callers pass speaker nodes only
    hops = openelb.next_hops(node.speaker.rack, _model_nodes(layout.nodes, ready), layout.version)
    leaves = {n.leaf for n in node.speaker.neighbors}
    addresses = [a for leaf in layout.leaves if leaf.name in leaves for a in leaf.announced]
    return [(address, hop) for address in dict.fromkeys(addresses) for hop in hops]
