"""The pack's contents: every rule with its name, description, enforcement and config schema."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openelb_policy.model import Resource, Violation
from openelb_policy.rules import (
    bgp_passwords_are_secret,
    bgp_peers_select_nodes,
    no_patch_force,
    production_replicas,
    replicas_fit_nodes,
    single_replica,
)

RuleFunction = Callable[[Sequence[Resource], Mapping[str, Any]], list[Violation]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    enforcement: Literal["mandatory", "advisory"]
    check: RuleFunction
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON Schema of each config property the rule reads (CrossGuard policy config)."""


RULES: tuple[Rule, ...] = (
    Rule(
        "openelb-ha-production-replicas",
        "A production stack runs at least 2 OpenELB replicas, at least 2 under every leaf.",
        "mandatory",
        production_replicas,
        {"production": {"type": "boolean", "default": False}},
    ),
    Rule(
        "openelb-ha-replicas-fit-nodes",
        "OpenELB replicas never exceed the nodes labelled for them (one per node).",
        "mandatory",
        replicas_fit_nodes,
    ),
    Rule(
        "openelb-ha-bgppeer-node-selector",
        "In a multi-leaf topology every BgpPeer selects its leaf's nodes.",
        "mandatory",
        bgp_peers_select_nodes,
    ),
    Rule(
        "openelb-ha-bgp-password-secret",
        "A BgpPeer's authPassword is a Pulumi secret.",
        "mandatory",
        bgp_passwords_are_secret,
    ),
    Rule(
        "openelb-ha-no-patch-force",
        "No patch of a node, the BgpConf or a BgpPeer forces field ownership unless the stack "
        "adopts a hand-configured cluster; the workload patches always do.",
        "mandatory",
        no_patch_force,
        {"adopt": {"type": "boolean", "default": False}},
    ),
    Rule(
        "openelb-ha-single-replica",
        "A single OpenELB replica (in total or under a leaf) is not highly available.",
        "advisory",
        single_replica,
    ),
)
