"""Two address mistakes a valid stack can make, each a warning (validate, plan, preview).

- A multi-leaf BGP leaf without ``peer``: no BgpPeer of this stack selects its nodes, and an
  OpenELB speaker peers only with BgpPeers whose ``nodeSelector`` matches its node
  (``HandleBgpPeer(clone, !matchNode)``, pkg/controllers/bgp/bgppeer_controller.go:86-98,121
  @v0.5.1): its speakers announce to no router, unless a BgpPeer made by hand selects them.
- ``eips`` that contain a leaf router's address, the router ID or a node's InternalIP: OpenELB
  hands out every address of an Eip, from the first one on, with none excluded (``GetSize``,
  api/v1alpha2/eip_types.go:76-86@v0.5.1, :72-82@v0.6.0; the first unused one is assigned,
  pkg/controllers/ipam/ipam.go:374-386@v0.5.1, :99-111@v0.6.0), and announces it to the leaf
  routers as a host route via the speakers' nodes: the address would be a Service's as well.

Node addresses are known only with ``--nodes`` (plan, router-config) or from the program's Node
reads, so ``eips_warning`` takes them as an argument; ``desired_state`` passes none.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Mapping

from openelb_component.config.models import MultiLeafTopology, StackConfig, eip_networks

SHOWN = 5
"""Addresses named in the eips warning; the rest are counted."""

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def peerless_leaves_warning(config: StackConfig) -> str | None:
    topology = config.topology
    if not isinstance(topology, MultiLeafTopology) or config.openelb.mode != "bgp":
        return None
    peerless = [
        f"{leaf.name} (topology.leaves[{index}])"
        for index, leaf in enumerate(topology.leaves)
        if leaf.peer is None
    ]
    if not peerless:
        return None
    return (
        f"no peer for leaf {', '.join(peerless)}: no BgpPeer of this stack selects its nodes, "
        "and an OpenELB speaker peers only with the BgpPeers whose nodeSelector matches its "
        "node (pkg/controllers/bgp/bgppeer_controller.go:86-98,121@v0.5.1), so its speakers "
        "announce LoadBalancer IPs to no router unless a BgpPeer made by hand selects them; "
        "add peer: {address: <the leaf router's address>, asn: <its ASN>} to the leaf"
    )


def own_addresses(config: StackConfig) -> list[tuple[str, str]]:
    """(address, what it is) of the routers and the router ID the stack names."""
    found: list[tuple[str, str]] = []
    topology = config.topology
    if isinstance(topology, MultiLeafTopology):
        found += [
            (leaf.peer.address, f"leaf {leaf.name}'s router (topology.leaves[{i}].peer.address)")
            for i, leaf in enumerate(topology.leaves)
            if leaf.peer is not None
        ]
    if config.bgp is not None and config.bgp.router_id is not None:
        found.append((config.bgp.router_id, "the router ID (bgp.routerId)"))
    return found


def node_addresses(addresses: Mapping[str, str]) -> list[tuple[str, str]]:
    """(address, what it is) of nodes by their InternalIP."""
    return [(address, f"node {node}'s InternalIP") for node, address in sorted(addresses.items())]


class _Ranges:
    """The eips as sorted, disjoint integer intervals per IP version (overlapping eips are an
    error), so each address is looked up in O(log n)."""

    def __init__(self, eips: Iterable[str]) -> None:
        intervals: dict[int, list[tuple[int, int, str]]] = {4: [], 6: []}
        for eip in eips:
            for network in eip_networks(eip):
                first, last = int(network.network_address), int(network.broadcast_address)
                intervals[network.version].append((first, last, eip))
        self._intervals = {version: sorted(found) for version, found in intervals.items()}
        self._starts = {v: [first for first, _, _ in found] for v, found in self._intervals.items()}

    def containing(self, address: _Address) -> str | None:
        """The eip that contains ``address``, or None."""
        index = bisect.bisect_right(self._starts[address.version], int(address)) - 1
        if index < 0:
            return None
        _, last, eip = self._intervals[address.version][index]
        return eip if int(address) <= last else None


def eips_warning(config: StackConfig, named: Iterable[tuple[str, str]]) -> str | None:
    """The warning when an eip contains one of the ``named`` addresses (see the module)."""
    if config.eips is None:
        return None
    ranges = _Ranges(config.eips)
    inside: list[str] = []
    for text, what in named:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue  # not an address (a hostile InternalIP): never a config line, see configs
        eip = ranges.containing(address)
        if eip is not None:
            inside.append(f"{what} {address} is in {eip}")
    if not inside:
        return None
    more = f" and {len(inside) - SHOWN} more" if len(inside) > SHOWN else ""
    return (
        f"openelb-ha:eips contain the network's own addresses: {'; '.join(inside[:SHOWN])}"
        f"{more}. OpenELB hands out every address of an Eip, from the first one on, to "
        "LoadBalancer Services (api/v1alpha2/eip_types.go:76-86, "
        "pkg/controllers/ipam/ipam.go:374-386@v0.5.1) and announces it to the leaf routers as "
        "a host route via the nodes, so the address would be a Service's as well; take these "
        "addresses out of eips and out of the Eip objects (narrow the range, or split it "
        "around them)"
    )


def addressing_warnings(config: StackConfig) -> list[str]:
    """The warnings the stack's own text shows (no node addresses)."""
    found = [peerless_leaves_warning(config), eips_warning(config, own_addresses(config))]
    return [warning for warning in found if warning is not None]
