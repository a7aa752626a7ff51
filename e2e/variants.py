"""What the end-to-end run changes in an example stack's config, as a user would: pure functions
over the stack file's ``config`` mapping (``openelb-ha:``-prefixed keys), tested offline.

- ``listed_nodes``: every node the stack names, leaf by leaf, so the cluster can have them.
- ``membership_change``: a node joins and one leaves, in one edit: the last node of the first
  leaf (or of the single router's list) is replaced by a new node, so every count the stack
  states (``replicas``, ``replicasPerLeaf``, ``controllerReplicas``) stays satisfiable.
- ``brownfield``: the stack as a cluster set up by hand with OpenELB's guide adopts it
  (docs/operations.md, "Adopting a cluster configured by hand"): ``adopt: true``, and the first
  leaf with a router names the hand-made BgpPeer as its ``peer.name``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openelb_component.config.names import PROJECT

TOPOLOGY = f"{PROJECT}:topology"
ADOPT = f"{PROJECT}:adopt"
BGP = f"{PROJECT}:bgp"
OPENELB = f"{PROJECT}:openelb"
HAND_MADE_PEER = "bgppeer-by-hand"
"""The name OpenELB's guide-following admin gave the BgpPeer (any name; this one is ours)."""


@dataclass(frozen=True)
class Leaf:
    name: str | None
    """None for a single-router topology."""
    nodes: tuple[str, ...]
    peer_address: str | None


def leaves(config: Mapping[str, Any]) -> list[Leaf]:
    topology = config[TOPOLOGY]
    if topology["kind"] == "multi-leaf":
        return [
            Leaf(
                str(leaf["name"]),
                tuple(str(node) for node in leaf["nodes"]),
                None if leaf.get("peer") is None else str(leaf["peer"]["address"]),
            )
            for leaf in topology["leaves"]
        ]
    return [Leaf(None, tuple(str(node) for node in topology["nodes"]), None)]


def listed_nodes(config: Mapping[str, Any]) -> list[str]:
    """Every node the topology lists, and its ``otherNodes``, in order."""
    topology = config[TOPOLOGY]
    names = [node for leaf in leaves(config) for node in leaf.nodes]
    names += [str(node) for node in topology.get("otherNodes") or []]
    return names


def openelb_version(config: Mapping[str, Any]) -> str:
    return str((config.get(OPENELB) or {}).get("version", "0.5"))


@dataclass(frozen=True)
class Membership:
    config: dict[str, Any]
    joined: str
    left: str
    leaf: str | None


def membership_change(config: Mapping[str, Any], joining: str) -> Membership:
    """The stack with the first leaf's last node replaced by ``joining`` (module docstring)."""
    changed = copy.deepcopy(dict(config))
    topology = changed[TOPOLOGY]
    if topology["kind"] == "multi-leaf":
        nodes = topology["leaves"][0]["nodes"]
        leaf = str(topology["leaves"][0]["name"])
    else:
        nodes = topology["nodes"]
        leaf = None
    if joining in listed_nodes(config):
        raise ValueError(f"{joining} is already in the stack")
    left = str(nodes[-1])
    nodes[-1] = joining
    return Membership(changed, joining, left, leaf)


def first_peered_leaf(config: Mapping[str, Any]) -> Leaf | None:
    return next((leaf for leaf in leaves(config) if leaf.peer_address is not None), None)


def brownfield(config: Mapping[str, Any]) -> dict[str, Any]:
    """The stack adopting what OpenELB's guide made by hand (module docstring)."""
    adopted = copy.deepcopy(dict(config))
    adopted[ADOPT] = True
    leaf = first_peered_leaf(config)
    if leaf is not None:
        for entry in adopted[TOPOLOGY]["leaves"]:
            if entry["name"] == leaf.name:
                entry["peer"]["name"] = HAND_MADE_PEER
    return adopted


def without_adopt(config: Mapping[str, Any]) -> dict[str, Any]:
    """After adopting, ``adopt`` goes back to false (docs/operations.md); ``peer.name`` stays."""
    changed = copy.deepcopy(dict(config))
    changed[ADOPT] = False
    return changed
