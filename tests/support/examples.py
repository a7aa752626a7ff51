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
