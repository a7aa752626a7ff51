"""Rules that relate several keys of the stack configuration.

They run on the raw configuration, tolerating malformed parts (a rule skips what it cannot
read; the models report the malformation), so one run reports a bad node name in one leaf and a
duplicate leaf name in another together.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from openelb_component.config import names
from openelb_component.config.addresses import parse_address
from openelb_component.config.errors import Problem
from openelb_component.config.models import (
    BgpSettings,
    BgpTimers,
    MultiLeafTopology,
    OpenElbSettings,
    eip_networks,
)
from openelb_component.config.overlaps import Interval, first_overlaps
from openelb_component.config.secrets import PASSWORDS_KEY, password_config_path


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: Any) -> list[tuple[int, str]]:
    """The (index, item) pairs of a list that are strings; anything else yields nothing."""
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, str)]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _duplicate_nodes(loc: tuple[str | int, ...], nodes: Any) -> Iterator[Problem]:
    first_index: dict[str, int] = {}
    for index, node in _strings(nodes):
        if node in first_index:
            yield Problem(
                (*loc, index),
                f"node listed twice (first at {loc[-1]}[{first_index[node]}]); list each node once",
                node,
            )
        else:
            first_index[node] = index


def _default(model: type[BaseModel], field: str) -> Any:
    """A key's default, read from the model that applies it (never repeated here)."""
    return model.model_fields[field].default


def _version(openelb: Mapping[str, Any]) -> str:
    # As the model reads it: `version: 0.6` in YAML is a float.
    return str(openelb.get("version", _default(OpenElbSettings, "version")))


def _distinct_nodes(topology: Mapping[str, Any]) -> set[str]:
    """Every node the topology lists (readable parts only), whatever its kind."""
    if topology.get("kind") == "single-router":
        return {node for _, node in _strings(topology.get("nodes"))}
    leaves = topology.get("leaves")
    if not isinstance(leaves, list):
        return set()
    return {node for leaf in leaves for _, node in _strings(_mapping(leaf).get("nodes"))}


def check_single_router(topology: Mapping[str, Any], version: str) -> Iterator[Problem]:
    nodes = topology.get("nodes")
    yield from _duplicate_nodes(("topology", "nodes"), nodes)
    replicas = _count(topology.get("replicas"))
    distinct = {node for _, node in _strings(nodes)}
    if replicas is None or not distinct:
        return
    if version == "0.6" and replicas != len(distinct):
        yield Problem(
            ("topology", "replicas"),
            "OpenELB 0.6 announces from the openelb-speaker DaemonSet, which runs exactly one "
            "speaker on every listed node and has no replica count, so replicas can only equal "
            f"the number of listed nodes ({len(distinct)}): leave replicas out (or set it to "
            f"{len(distinct)}) and list exactly the nodes that should announce",
            replicas,
        )
    elif replicas > len(distinct):
        yield Problem(
            ("topology", "replicas"),
            f"more replicas than the {len(distinct)} listed nodes; OpenELB runs at most one "
            "replica per node (host network and required pod anti-affinity), so the extra "
            f"replicas would stay Pending: list more nodes or set replicas to {len(distinct)} "
            "or fewer",
            replicas,
        )


OTHER_NODES_KEY = "otherNodes"

_Placement = tuple[int, str, str]
"""Where a node is listed: (leaf index, how to name the leaf, ``nodes`` or ``otherNodes``)."""


def _node_placed_twice(
    placed: dict[str, _Placement], node: str, here: _Placement, loc: tuple[str | int, ...]
) -> Iterator[Problem]:
    """A node is cabled to one leaf router, and either runs OpenELB there or does not."""
    first = placed.setdefault(node, here)
    if first == here:
        return  # listed twice in the same list: _duplicate_nodes reports it
    first_index, first_label, first_key = first
    if first_index == here[0]:
        yield Problem(
            loc,
            f"node is also in this leaf's {first_key}; a node either runs OpenELB (nodes) or "
            f"only carries the rack label ({OTHER_NODES_KEY}): keep it in one of the two lists",
            node,
        )
    else:
        yield Problem(
            loc,
            f"node is already in leaf {first_label!r} (leaves[{first_index}]"
            f"{'' if first_key == 'nodes' else '.' + first_key}); a "
            "node is cabled to one leaf router, so list it under one leaf only",
            node,
        )


def check_multi_leaf(topology: Mapping[str, Any]) -> Iterator[Problem]:
    leaves = topology.get("leaves")
    if not isinstance(leaves, list):
        return
    per_leaf = _count(
        topology.get("replicasPerLeaf", _default(MultiLeafTopology, "replicas_per_leaf"))
    )
    leaf_of_node: dict[str, _Placement] = {}
    first_leaf_index: dict[str, int] = {}
    for leaf_index, raw_leaf in enumerate(leaves):
        leaf = _mapping(raw_leaf)
        loc: tuple[str | int, ...] = ("topology", "leaves", leaf_index)
        name = leaf.get("name")
        label = name if isinstance(name, str) else f"leaves[{leaf_index}]"
        if isinstance(name, str):
            if name in first_leaf_index:
                yield Problem(
                    (*loc, "name"),
                    f"leaf name used twice (first at leaves[{first_leaf_index[name]}]); give "
                    "every leaf router its own name",
                    name,
                )
            else:
                first_leaf_index[name] = leaf_index
        nodes = leaf.get("nodes")
        yield from _duplicate_nodes((*loc, "nodes"), nodes)
        yield from _duplicate_nodes((*loc, OTHER_NODES_KEY), leaf.get(OTHER_NODES_KEY))
        distinct = {node for _, node in _strings(nodes)}
        for key in ("nodes", OTHER_NODES_KEY):
            for node_index, node in _strings(leaf.get(key)):
                yield from _node_placed_twice(
                    leaf_of_node, node, (leaf_index, label, key), (*loc, key, node_index)
                )
        if per_leaf is not None and distinct and len(distinct) < per_leaf:
            yield Problem(
                (*loc, "nodes"),
                f"leaf {label!r} has {len(distinct)} node(s) but replicasPerLeaf is {per_leaf}; "
                "each leaf needs one node per replica (one replica per node): add nodes to "
                "this leaf or lower replicasPerLeaf",
                sorted(distinct),
            )
    yield from _duplicate_peer_addresses(leaves)
    yield from _duplicate_peer_names(leaves)


def _normalized_address(value: Any) -> str | None:
    """The canonical text of a router address, as OpenELB compares them; None when the model
    refuses it (and reports it)."""
    try:
        return str(parse_address(value))
    except ValueError:
        return None


def _duplicate_peer_addresses(leaves: list[Any]) -> Iterator[Problem]:
    """OpenELB keys BGP neighbors by address: two BgpPeers for one address overwrite each
    other on every replica, and each reconcile of one removes the other's session."""
    first_leaf: dict[str, int] = {}
    for leaf_index, raw_leaf in enumerate(leaves):
        peer = _mapping(_mapping(raw_leaf).get("peer"))
        address = _normalized_address(peer.get("address"))
        if address is None:
            continue
        if address in first_leaf:
            yield Problem(
                ("topology", "leaves", leaf_index, "peer", "address"),
                f"the same router address as leaves[{first_leaf[address]}].peer; OpenELB keys "
                "BGP neighbors by address, so two peers for one address would keep replacing "
                "each other: give each leaf its own router's address",
                peer.get("address"),
            )
        else:
            first_leaf[address] = leaf_index


def _duplicate_peer_names(leaves: list[Any]) -> Iterator[Problem]:
    """One BgpPeer object per router: two routers named alike would be one object."""
    first_leaf: dict[str, int] = {}
    for leaf_index, raw_leaf in enumerate(leaves):
        name = _mapping(_mapping(raw_leaf).get("peer")).get("name")
        if not isinstance(name, str):
            continue
        if name in first_leaf:
            yield Problem(
                ("topology", "leaves", leaf_index, "peer", "name"),
                f"the same BgpPeer name as leaves[{first_leaf[name]}].peer; each router has its "
                "own BgpPeer: give each the name of its own hand-made peer, or leave name out",
                name,
            )
        else:
            first_leaf[name] = leaf_index


_SPEAKER_FLAG = {"layer2": "--enable-layer2", "vip": "--enable-keepalived-vip"}
"""The v0.6.0 speaker flag that registers each non-BGP speaker; both default to false
(pkg/speaker/layer2/options.go:17-28, pkg/speaker/vip/options.go:13-24@v0.6.0), and the
upstream manifest states them false (openelb.yaml@v0.6.0, openelb-speaker args)."""


def check_mode(openelb: Mapping[str, Any], topology: Mapping[str, Any]) -> Iterator[Problem]:
    mode = openelb.get("mode")
    if topology.get("kind") == "multi-leaf" and mode in ("layer2", "vip"):
        yield Problem(
            ("openelb", "mode"),
            f"{mode} mode needs every node on one Layer 2 network, which a multi-leaf topology "
            "does not have; use mode bgp, or topology kind single-router",
            mode,
        )
    if _version(openelb) == "0.6" and isinstance(mode, str) and mode in _SPEAKER_FLAG:
        # The program does not manage the speaker's args: an atomic list the installer owns
        # (every patch of it would conflict) and tied to one release's flags (docs/behaviour.md).
        flag = _SPEAKER_FLAG[mode]
        yield Problem(
            ("openelb", "mode"),
            f"OpenELB 0.6's upstream openelb-speaker runs with {flag}=false, so no {mode} Eip is "
            "ever announced (the speaker refuses it: no registered speaker, "
            "pkg/speaker/manager.go:123-125@v0.6.0); use mode bgp with 0.6, or version 0.5. "
            f"Enabling {mode} in 0.6 means changing the DaemonSet openelb-speaker's container "
            f"args upstream to {flag}=true (Helm values or the install manifest), which this "
            "program does not manage",
            mode,
        )


def check_controller(openelb: Mapping[str, Any], topology: Mapping[str, Any]) -> Iterator[Problem]:
    """v0.6: the controller runs on the listed nodes, its replicas spread one per node."""
    given = "controllerReplicas" in openelb
    replicas = _count(
        openelb.get("controllerReplicas", _default(OpenElbSettings, "controller_replicas"))
    )
    distinct = _distinct_nodes(topology)
    if replicas is not None and distinct and replicas > len(distinct):
        what = "controller replicas" if given else f"controller replicas (the default {replicas})"
        yield Problem(
            ("openelb", "controllerReplicas"),
            f"more {what} than the {len(distinct)} listed nodes; openelb-controller runs only "
            "on the listed nodes, one replica per node, so extra replicas would share a node "
            "and add no availability: list more nodes or set controllerReplicas to "
            f"{len(distinct)} or fewer",
            replicas,
            has_value=given,
        )


def _leaves(topology: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any], str]]:
    """(index, leaf, how to name it) of a multi-leaf topology; nothing for any other."""
    leaves = topology.get("leaves")
    if topology.get("kind") != "multi-leaf" or not isinstance(leaves, list):
        return []
    out = []
    for index, raw_leaf in enumerate(leaves):
        leaf = _mapping(raw_leaf)
        name = leaf.get("name")
        out.append((index, leaf, name if isinstance(name, str) else f"leaves[{index}]"))
    return out


def check_bgp(
    raw: Mapping[str, Any], openelb: Mapping[str, Any], topology: Mapping[str, Any]
) -> Iterator[Problem]:
    bgp = raw.get("bgp")
    mode = openelb.get("mode")
    if bgp is not None and mode in ("layer2", "vip"):
        yield Problem(
            ("bgp",),
            f"BGP settings are only read in bgp mode and openelb.mode is {mode}; remove bgp, "
            "or use mode bgp",
            bgp,
        )
    global_as = _count(_mapping(bgp).get("as"))
    for index, leaf, label in _leaves(topology):
        loc: tuple[str | int, ...] = ("topology", "leaves", index)
        local_asn = leaf.get("localAsn")
        if local_asn is not None and bgp is None:
            yield Problem(
                (*loc, "localAsn"),
                f"leaf {label!r} has a localAsn but openelb-ha:bgp is not set; per-leaf ASNs "
                "live in the BgpConf that bgp manages: add bgp: {as: <ASN>}, or remove localAsn",
                local_asn,
            )
        effective = _count(local_asn) if local_asn is not None else global_as
        peer_asn = _count(_mapping(leaf.get("peer")).get("asn"))
        if effective is not None and effective == peer_asn:
            source = "its localAsn" if local_asn is not None else "bgp.as"
            yield Problem(
                (*loc, "peer", "asn"),
                f"leaf {label!r} would peer with its router from the same ASN {effective} "
                f"({source}); OpenELB needs the local ASN to differ from the peer's: fix "
                f"peer.asn, or give leaf {label!r} another localAsn",
                peer_asn,
            )


def check_timers(bgp: Mapping[str, Any]) -> Iterator[Problem]:
    """Two keepalives may be lost before the hold time runs out (RFC 4271 4.4 suggests a third
    of it); with less, one late keepalive drops every path of the node."""
    timers = _mapping(bgp.get("timers"))
    hold = _count(timers.get("holdTime", _default(BgpTimers, "hold_time")))
    keepalive = _count(timers.get("keepaliveInterval", _default(BgpTimers, "keepalive_interval")))
    if hold is not None and keepalive is not None and keepalive * 3 > hold:
        yield Problem(
            ("bgp", "timers", "keepaliveInterval"),
            f"more than a third of holdTime ({hold} s): a session would drop after one lost "
            f"keepalive; use at most {max(1, hold // 3)}, or raise holdTime",
            keepalive,
        )


def _next_hops(bgp: Any) -> str | None:
    """``bgp.nextHops`` as the model reads it (its default), None without ``bgp``."""
    if not isinstance(bgp, Mapping):
        return None
    value = bgp.get("nextHops", _default(BgpSettings, "next_hops"))
    return value if isinstance(value, str) else None


def _nodes_of(topology: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(key path, name) of every node that runs OpenELB, whatever the topology kind."""
    if topology.get("kind") == "single-router":
        for index, node in _strings(topology.get("nodes")):
            yield ("topology", "nodes", index), node
    for index, leaf, _ in _leaves(topology):
        for node_index, node in _strings(leaf.get("nodes")):
            yield ("topology", "leaves", index, "nodes", node_index), node


def check_next_hops(bgp: Any, topology: Mapping[str, Any]) -> Iterator[Problem]:
    """``nextHops: node`` puts each node's own name into its rack label, and leaves no place for
    nodes without a speaker or for a per-leaf ASN without a BgpPeer to carry it."""
    if _next_hops(bgp) != "node":
        return
    for loc, node in _nodes_of(topology):
        if len(node) > 63 and names.is_dns1123_subdomain(node):
            yield Problem(
                loc,
                f"with bgp.nextHops: node a node's name becomes the value of its rack label "
                f"{names.RACK_LABEL}, at most 63 characters (this one has {len(node)}); set "
                "bgp.nextHops: rack",
                node,
            )
    for index, leaf, label in _leaves(topology):
        leaf_loc: tuple[str | int, ...] = ("topology", "leaves", index)
        other = leaf.get("otherNodes")
        if isinstance(other, list) and other:
            yield Problem(
                (*leaf_loc, "otherNodes"),
                f"with bgp.nextHops: node every speaker announces only its own node, so the "
                f"nodes of leaf {label!r} without a speaker are never next hops; remove "
                "otherNodes (list a node under nodes to make it a next hop), or set "
                "bgp.nextHops: rack",
                other,
            )
        if leaf.get("localAsn") is not None and leaf.get("peer") is None:
            yield Problem(
                (*leaf_loc, "localAsn"),
                f"with bgp.nextHops: node a leaf's own ASN is its BgpPeer's conf.localAs, and "
                f"leaf {label!r} has no peer; add its peer, or remove localAsn",
                leaf.get("localAsn"),
            )


def check_eips(raw: Mapping[str, Any]) -> Iterator[Problem]:
    """Overlapping ranges: OpenELB's Eip webhook refuses an Eip that overlaps another
    (``IsOverlap``, api/v1alpha2/eip_types.go:159-187@v0.5.1), so two overlapping entries cannot
    both be the address of a real Eip. Each entry is named with the first earlier one it
    overlaps, found in O(n log n) (``overlaps.py``)."""
    entries: dict[int, tuple[int, str, Interval]] = {}
    for index, value in _strings(raw.get("eips")):
        try:
            networks = eip_networks(value)
        except ValueError:
            continue  # the model reports it
        # An entry's networks are contiguous (one CIDR, or the CIDRs of one first-last range).
        first, last = int(networks[0].network_address), int(networks[-1].broadcast_address)
        entries[index] = (networks[0].version, value, (first, last))
    clashes: dict[int, int] = {}
    for version in (4, 6):
        indexes = [index for index, entry in entries.items() if entry[0] == version]
        found = first_overlaps([entries[index][2] for index in indexes])
        clashes.update(
            (index, indexes[earlier])
            for index, earlier in zip(indexes, found, strict=True)
            if earlier is not None
        )
    for index in sorted(clashes):
        yield Problem(
            ("eips", index),
            f"overlaps eips[{clashes[index]}]; OpenELB refuses overlapping Eips, so list each "
            "Eip's spec.address once",
            entries[index][1],
        )


def check_passwords(
    raw: Mapping[str, Any],
    topology: Mapping[str, Any],
    stack_secret_keys: Collection[str] | None,
) -> Iterator[Problem]:
    """Passwords are never shown: every problem here is rendered as ``[secret]``."""
    passwords = raw.get(PASSWORDS_KEY)
    if passwords is None:
        return
    named = sorted(key for key in _mapping(passwords) if isinstance(key, str))
    if stack_secret_keys is not None and PASSWORDS_KEY not in stack_secret_keys:
        commands = "; ".join(
            f"pulumi config set --secret --path '{password_config_path(leaf)}' <password>"
            for leaf in named or ["<leaf>"]
        )
        yield Problem(
            (PASSWORDS_KEY,),
            f"stored in plaintext in the stack file; BGP passwords must be Pulumi secrets: "
            f"remove it (pulumi config rm {PASSWORDS_KEY}), then run {commands}",
            secret=True,
        )
    has_peer = {label: leaf.get("peer") is not None for _, leaf, label in _leaves(topology)}
    for leaf_name in named:
        if leaf_name not in has_peer:
            yield Problem(
                (PASSWORDS_KEY, leaf_name),
                f"no leaf named {leaf_name!r} in topology.leaves; use the name of a leaf with a "
                "peer, or remove this password",
                secret=True,
            )
        elif has_peer.get(leaf_name) is False:
            yield Problem(
                (PASSWORDS_KEY, leaf_name),
                f"leaf {leaf_name!r} has no peer, so there is no BGP session to protect; add a "
                "peer to that leaf, or remove this password",
                secret=True,
            )


def cross_field_problems(
    raw: Mapping[str, Any], stack_secret_keys: Collection[str] | None = None
) -> list[Problem]:
    """Every cross-key problem; passwords last, after the rest of the topology."""
    openelb = _mapping(raw.get("openelb"))
    topology = _mapping(raw.get("topology"))
    version = _version(openelb)
    problems = list(check_mode(openelb, topology))
    if topology.get("kind") == "single-router":
        problems += check_single_router(topology, version)
    elif topology.get("kind") == "multi-leaf":
        problems += check_multi_leaf(topology)
    if version == "0.6":
        # Under 0.5 controllerReplicas is ignored (with a warning): there is no controller.
        problems += check_controller(openelb, topology)
    problems += check_bgp(raw, openelb, topology)
    if isinstance(raw.get("bgp"), Mapping):
        problems += check_timers(raw["bgp"])
    problems += check_next_hops(raw.get("bgp"), topology)
    problems += check_eips(raw)
    problems += check_passwords(raw, topology, stack_secret_keys)
    return problems
