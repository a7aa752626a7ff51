"""Rules that relate several keys of the stack configuration.

They run on the raw configuration, tolerating malformed parts (a rule skips what it cannot
read; the models report the malformation), so one run reports a bad node name in one leaf and a
duplicate leaf name in another together.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from openelb_component.errors import Problem


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


def check_single_router(topology: Mapping[str, Any]) -> Iterator[Problem]:
    nodes = topology.get("nodes")
    yield from _duplicate_nodes(("topology", "nodes"), nodes)
    replicas = _count(topology.get("replicas"))
    distinct = {node for _, node in _strings(nodes)}
    if replicas is not None and distinct and replicas > len(distinct):
        yield Problem(
            ("topology", "replicas"),
            f"more replicas than the {len(distinct)} listed nodes; OpenELB runs at most one "
            "replica per node (host network and required pod anti-affinity), so the extra "
            f"replicas would stay Pending: list more nodes or set replicas to {len(distinct)} "
            "or fewer",
            replicas,
        )


def check_multi_leaf(topology: Mapping[str, Any]) -> Iterator[Problem]:
    leaves = topology.get("leaves")
    if not isinstance(leaves, list):
        return
    per_leaf = _count(topology.get("replicasPerLeaf", 2))
    leaf_of_node: dict[str, tuple[int, str]] = {}
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
        distinct: set[str] = set()
        for node_index, node in _strings(nodes):
            other_index, other_label = leaf_of_node.setdefault(node, (leaf_index, label))
            if other_index != leaf_index:
                yield Problem(
                    (*loc, "nodes", node_index),
                    f"node is already in leaf {other_label!r} (leaves[{other_index}]); a node is "
                    "cabled to one leaf router, so list it under one leaf only",
                    node,
                )
            distinct.add(node)
        if per_leaf is not None and distinct and len(distinct) < per_leaf:
            yield Problem(
                (*loc, "nodes"),
                f"leaf {label!r} has {len(distinct)} node(s) but replicasPerLeaf is {per_leaf}; "
                "each leaf needs one node per replica (one replica per node): add nodes to "
                "this leaf or lower replicasPerLeaf",
                sorted(distinct),
            )


def check_mode(openelb: Mapping[str, Any], topology: Mapping[str, Any]) -> Iterator[Problem]:
    mode = openelb.get("mode")
    if topology.get("kind") == "multi-leaf" and mode in ("layer2", "vip"):
        yield Problem(
            ("openelb", "mode"),
            f"{mode} mode needs every node on one Layer 2 network, which a multi-leaf topology "
            "does not have; use mode bgp, or topology kind single-router",
            mode,
        )


def check_version(openelb: Mapping[str, Any]) -> Iterator[Problem]:
    version = openelb.get("version")
    if str(version) == "0.6":
        yield Problem(
            ("openelb", "version"),
            "the OpenELB 0.6 layout (openelb-speaker DaemonSet + openelb-controller) is not "
            'supported yet; use "0.5" with the openelb-manager Deployment',
            version,
        )


def cross_field_problems(raw: Mapping[str, Any]) -> list[Problem]:
    openelb = _mapping(raw.get("openelb"))
    topology = _mapping(raw.get("topology"))
    problems = [*check_version(openelb), *check_mode(openelb, topology)]
    if topology.get("kind") == "single-router":
        problems += check_single_router(topology)
    elif topology.get("kind") == "multi-leaf":
        problems += check_multi_leaf(topology)
    return problems
