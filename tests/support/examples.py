"""The example configurations tests share (the stack files themselves: harness.stack_files)."""

from __future__ import annotations

import copy
from typing import Any

TWO_LEAVES: dict[str, Any] = {
    "kind": "multi-leaf",
    "leaves": [
        {
            "name": "leaf1",
            "nodes": ["master1", "worker-p001"],
            "peer": {"address": "192.168.0.5", "asn": 65001},
            "localAsn": 64601,
        },
        {
            "name": "leaf2",
            "nodes": ["worker-p002", "worker-p003"],
            "peer": {"address": "192.168.1.5", "asn": 65001},
        },
    ],
}
"""Two leaf routers, two nodes under each; leaf1 has its own ASN."""


def multi_leaf(**extra: Any) -> dict[str, Any]:
    """``TWO_LEAVES`` with a BgpConf (AS 64600), as a fresh copy the caller may change."""
    return {"topology": copy.deepcopy(TWO_LEAVES), "bgp": {"as": 64600}, **extra}


def fabric(version: str = "0.5", **bgp: Any) -> dict[str, Any]:
    """Two leaves of two nodes (n1, n2 under 192.0.2.1; n3, n4 under 198.51.100.1) on OpenELB
    ``version``; ``bgp`` as given (none: no BgpConf managed)."""
    config: dict[str, Any] = {
        "openelb": {"version": version},
        "topology": {
            "kind": "multi-leaf",
            "leaves": [
                {
                    "name": "leaf1",
                    "nodes": ["n1", "n2"],
                    "peer": {"address": "192.0.2.1", "asn": 65001},
                },
                {
                    "name": "leaf2",
                    "nodes": ["n3", "n4"],
                    "peer": {"address": "198.51.100.1", "asn": 65001},
                },
            ],
        },
    }
    if bgp:
        config["bgp"] = bgp
    return config


def edited(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``config`` with one key set, e.g. ``topology.leaves.0.localAsn``."""
    copied = copy.deepcopy(config)
    *parents, last = path.split(".")
    target: Any = copied
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    target[int(last) if last.isdigit() else last] = value
    return copied
