"""The stack configuration: what is accepted, with which defaults, and every refusal.

Errors are asserted as data: (key path, value shown) pairs, plus a word of the fix.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from openelb_component import ConfigError
from openelb_component.config.loading import load_config
from openelb_component.config.models import MultiLeafTopology, SingleRouterTopology

DEV = {"topology": {"kind": "single-router", "nodes": ["master1", "worker-p002"]}}
PEER = {"address": "10.0.0.1", "asn": 65001}


def multi_leaf(**topology: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "multi-leaf",
        "leaves": [
            {
                "name": "leaf1",
                "nodes": ["master1", "worker-p001"],
                "peer": {"address": "192.168.0.5", "asn": 50001},
            },
            {"name": "leaf2", "nodes": ["worker-p002", "worker-p003"]},
        ],
    }
    return {"topology": {**base, **topology}}


def problems_of(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [(p.path, p.shown) for p in caught.value.problems]


def test_defaults_of_a_minimal_single_router_stack() -> None:
    config = load_config(DEV)
    assert config.openelb.version == "0.5"
    assert config.openelb.namespace == "openelb-system"
    assert config.openelb.mode == "bgp"
    assert isinstance(config.topology, SingleRouterTopology)
    assert config.topology.replicas is None
    assert config.topology.effective_replicas == 2


def test_defaults_of_the_v06_keys() -> None:
    config = load_config({**DEV, "openelb": {"version": "0.6"}})
    assert config.openelb.version == "0.6"
    assert config.openelb.controller_replicas == 2
    assert config.openelb.pod_disruption_budget is True


def test_defaults_of_a_multi_leaf_stack() -> None:
    config = load_config(multi_leaf())
    assert isinstance(config.topology, MultiLeafTopology)
    assert config.topology.replicas_per_leaf == 2
    assert config.topology.leaves[1].peer is None
    assert config.all_nodes == ["master1", "worker-p001", "worker-p002", "worker-p003"]


@pytest.mark.parametrize(
    ("raw", "check"),
    [
        ({**DEV, "openelb": {"version": 0.5}}, lambda c: c.openelb.version == "0.5"),
        ({**DEV, "openelb": {"mode": "layer2"}}, lambda c: c.openelb.mode == "layer2"),
        ({**DEV, "openelb": {"mode": "vip"}}, lambda c: c.openelb.mode == "vip"),
        ({**DEV, "openelb": {"namespace": "lb"}}, lambda c: c.openelb.namespace == "lb"),
        ({**DEV, "openelb": {"version": 0.6}}, lambda c: c.openelb.version == "0.6"),
        (
            {"openelb": {"version": "0.6"}, "topology": {**DEV["topology"], "replicas": 2}},
            lambda c: c.topology.replicas == 2,
        ),
        (
            {
                **multi_leaf(replicasPerLeaf=2),
                "openelb": {"version": "0.6", "controllerReplicas": 4},
            },
            lambda c: c.openelb.controller_replicas == 4,
        ),
        (
            {**DEV, "openelb": {"version": "0.5", "controllerReplicas": 9}},
            lambda c: c.openelb.controller_replicas == 9,  # ignored under 0.5, with a warning
        ),
        (
            {**DEV, "openelb": {"podDisruptionBudget": False}},
            lambda c: c.openelb.pod_disruption_budget is False,
        ),
        (
            {"topology": {"kind": "single-router", "nodes": ["a"], "replicas": 1}},
            lambda c: c.topology.effective_replicas == 1,
        ),
        (
            {"topology": {"kind": "single-router", "nodes": ["node-1.rack.example.com"]}},
            lambda c: c.all_nodes == ["node-1.rack.example.com"],
        ),
        (multi_leaf(replicasPerLeaf=1), lambda c: c.topology.replicas_per_leaf == 1),
        (
            multi_leaf(leaves=[{"name": "Rack_A.1", "nodes": ["a", "b"]}]),
            lambda c: c.topology.leaves[0].name == "Rack_A.1",
        ),
        (
            multi_leaf(
                leaves=[
                    {
                        "name": "l",
                        "nodes": ["a", "b"],
                        "peer": {"address": "fd00::5", "asn": 4294967295},
                    }
                ]
            ),
            lambda c: c.topology.leaves[0].peer.address == "fd00::5",
        ),
        (
            # Every form of an Eip's spec.address (api/v1alpha2/eip_types.go:76-103@v0.5.1).
            {
                **DEV,
                "eips": [
                    "198.51.100.7",
                    "198.51.100.64/26",
                    "203.0.113.10-203.0.113.20",
                    "2001:db8::/64",
                    "192.0.2.130/25",  # host bits set: Go's net.ParseCIDR masks them
                ],
            },
            lambda c: c.eips is not None and len(c.eips) == 5,
        ),
        (DEV, lambda c: c.eips is None),
        (
            {**DEV, "bgp": {"as": 64600, "timers": {"holdTime": 3, "keepaliveInterval": 1}}},
            lambda c: (c.timers.hold_time, c.timers.keepalive_interval) == (3, 1),
        ),
        (
            {**DEV, "bgp": {"as": 64600, "timers": {"holdTime": 90, "keepaliveInterval": 30}}},
            lambda c: c.timers.keepalive_interval * 3 == c.timers.hold_time,
        ),
        (
            {
                **multi_leaf(leaves=[{"name": "l", "nodes": ["a", "b"], "otherNodes": ["c"]}]),
                "bgp": {"as": 64600, "nextHops": "rack"},
            },
            lambda c: c.next_hops == "rack" and c.topology.leaves[0].other_nodes == ["c"],
        ),
        (
            {"topology": {"kind": "single-router", "nodes": ["n" * 63]}, "bgp": {"as": 1}},
            lambda c: c.next_hops == "node",
        ),
        (
            {**DEV, "bgp": {"as": 64600}, "acceptBgpConfChange": "0123456789abcdef"},
            lambda c: c.accept_bgp_conf_change == "0123456789abcdef",
        ),
    ],
    ids=[
        "version-as-yaml-number",
        "layer2-mode",
        "vip-mode",
        "custom-namespace",
        "v06-as-yaml-number",
        "v06-replicas-equal-to-nodes",
        "v06-controllers-up-to-all-nodes",
        "v05-ignores-controller-replicas",
        "pdb-off",
        "single-replica-allowed",
        "fqdn-node-name",
        "one-replica-per-leaf",
        "leaf-name-any-label-value",
        "ipv6-peer-and-largest-asn",
        "eips-every-form",
        "eips-optional",
        "shortest-timers",
        "keepalive-a-third",
        "other-nodes-with-racks",
        "node-name-of-63-characters",
        "acknowledgement",
    ],
)
def test_valid_inputs(raw: dict[str, Any], check: Any) -> None:
    assert check(load_config(raw))


BAD_INPUTS: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("missing-topology", {}, [("topology", "(missing)")]),
    ("missing-kind", {"topology": {"nodes": ["a"]}}, [("topology.kind", "(missing)")]),
    (
        "unknown-kind",
        {"topology": {"kind": "spine", "nodes": ["a"]}},
        [("topology.kind", "'spine'")],
    ),
    ("unknown-version", {**DEV, "openelb": {"version": "0.4"}}, [("openelb.version", "'0.4'")]),
    ("unknown-mode", {**DEV, "openelb": {"mode": "arp"}}, [("openelb.mode", "'arp'")]),
    (
        "bad-namespace",
        {**DEV, "openelb": {"namespace": "OpenELB"}},
        [("openelb.namespace", "'OpenELB'")],
    ),
    ("typo-at-top-level", {**DEV, "topolgy": {}}, [("topolgy", "(a mapping, not shown)")]),
    ("typo-in-openelb", {**DEV, "openelb": {"mod": "bgp"}}, [("openelb.mod", "(text, not shown)")]),
    (
        "typo-replica",
        {"topology": {"kind": "single-router", "nodes": ["a", "b"], "replica": 2}},
        [("topology.replica", "(a number, not shown)")],
    ),
    (
        "typo-in-leaf-and-peer",
        multi_leaf(
            leaves=[
                {
                    "name": "l",
                    "node": ["a"],
                    "nodes": ["a", "b"],
                    "peer": {"address": "10.0.0.1", "asn": 1, "as": 2},
                }
            ]
        ),
        [
            ("topology.leaves[0].peer.as", "(a number, not shown)"),
            ("topology.leaves[0].node", "(a list, not shown)"),
        ],
    ),
    (
        "empty-node-list",
        {"topology": {"kind": "single-router", "nodes": []}},
        [("topology.nodes", "[]")],
    ),
    (
        "duplicate-node",
        {"topology": {"kind": "single-router", "nodes": ["a", "b", "a"]}},
        [("topology.nodes[2]", "'a'")],
    ),
    (
        "invalid-node-names",
        {"topology": {"kind": "single-router", "nodes": ["Master1", "worker_1", "-x", "ok"]}},
        [
            ("topology.nodes[0]", "'Master1'"),
            ("topology.nodes[1]", "'worker_1'"),
            ("topology.nodes[2]", "'-x'"),
        ],
    ),
    (
        "node-name-not-text",
        {"topology": {"kind": "single-router", "nodes": [7]}},
        [("topology.nodes[0]", "7")],
    ),
    (
        "zero-replicas",
        {"topology": {"kind": "single-router", "nodes": ["a", "b"], "replicas": 0}},
        [("topology.replicas", "0")],
    ),
    (
        "more-replicas-than-nodes",
        {"topology": {"kind": "single-router", "nodes": ["a", "b"], "replicas": 3}},
        [("topology.replicas", "3")],
    ),
    (
        "replicas-as-text",
        {"topology": {"kind": "single-router", "nodes": ["a", "b"], "replicas": "2"}},
        [("topology.replicas", "'2'")],
    ),
    ("no-leaves", multi_leaf(leaves=[]), [("topology.leaves", "[]")]),
    (
        "node-in-two-leaves",
        multi_leaf(
            leaves=[{"name": "l1", "nodes": ["a", "b"]}, {"name": "l2", "nodes": ["c", "a"]}]
        ),
        [("topology.leaves[1].nodes[1]", "'a'")],
    ),
    (
        "other-node-also-a-member-of-its-leaf",
        multi_leaf(
            leaves=[
                {"name": "l1", "nodes": ["a", "b"], "otherNodes": ["c", "a"]},
                {"name": "l2", "nodes": ["d", "e"]},
            ]
        ),
        [("topology.leaves[0].otherNodes[1]", "'a'")],
    ),
    (
        "other-node-in-two-leaves",
        multi_leaf(
            leaves=[
                {"name": "l1", "nodes": ["a", "b"], "otherNodes": ["x"]},
                {"name": "l2", "nodes": ["c", "d"], "otherNodes": ["x"]},
            ]
        ),
        [("topology.leaves[1].otherNodes[0]", "'x'")],
    ),
    (
        "member-of-one-leaf-other-node-of-another",
        multi_leaf(
            leaves=[
                {"name": "l1", "nodes": ["a", "b"]},
                {"name": "l2", "nodes": ["c", "d"], "otherNodes": ["a"]},
            ]
        ),
        [("topology.leaves[1].otherNodes[0]", "'a'")],
    ),
    (
        "other-node-listed-twice-and-badly-named",
        multi_leaf(
            leaves=[
                {"name": "l1", "nodes": ["a", "b"], "otherNodes": ["x", "x", "Bad_Name"]},
                {"name": "l2", "nodes": ["c", "d"]},
            ]
        ),
        [
            ("topology.leaves[0].otherNodes[2]", "'Bad_Name'"),
            ("topology.leaves[0].otherNodes[1]", "'x'"),
        ],
    ),
    (
        "negative-min-ready-seconds",
        {**DEV, "openelb": {"minReadySeconds": -1}},
        [("openelb.minReadySeconds", "-1")],
    ),
    (
        "min-ready-seconds-as-text",
        {**DEV, "openelb": {"minReadySeconds": "30"}},
        [("openelb.minReadySeconds", "'30'")],
    ),
    (
        "duplicate-leaf-names",
        multi_leaf(
            leaves=[{"name": "l1", "nodes": ["a", "b"]}, {"name": "l1", "nodes": ["c", "d"]}]
        ),
        [("topology.leaves[1].name", "'l1'")],
    ),
    (
        "leaf-name-not-a-label-value",
        multi_leaf(
            leaves=[{"name": "leaf 1", "nodes": ["a", "b"]}, {"name": "-l", "nodes": ["c", "d"]}]
        ),
        [("topology.leaves[0].name", "'leaf 1'"), ("topology.leaves[1].name", "'-l'")],
    ),
    (
        "leaf-smaller-than-replicas-per-leaf",
        multi_leaf(replicasPerLeaf=3),
        [
            ("topology.leaves[0].nodes", "['master1', 'worker-p001']"),
            ("topology.leaves[1].nodes", "['worker-p002', 'worker-p003']"),
        ],
    ),
    ("zero-replicas-per-leaf", multi_leaf(replicasPerLeaf=0), [("topology.replicasPerLeaf", "0")]),
    (
        "multi-leaf-in-layer2",
        {**multi_leaf(), "openelb": {"mode": "layer2"}},
        [("openelb.mode", "'layer2'")],
    ),
    (
        "layer2-with-v06",
        {**DEV, "openelb": {"version": "0.6", "mode": "layer2"}},
        [("openelb.mode", "'layer2'")],
    ),
    (
        "vip-with-v06",
        {**DEV, "openelb": {"version": 0.6, "mode": "vip"}},
        [("openelb.mode", "'vip'")],
    ),
    (
        "multi-leaf-in-vip",
        {**multi_leaf(), "openelb": {"mode": "vip"}},
        [("openelb.mode", "'vip'")],
    ),
    (
        "bad-peer-addresses",
        multi_leaf(
            leaves=[
                {"name": "l1", "nodes": ["a", "b"], "peer": {"address": "192.168.0.256", "asn": 1}},
                {"name": "l2", "nodes": ["c", "d"], "peer": {"address": "10.0.0.0/24", "asn": 1}},
            ]
        ),
        [
            ("topology.leaves[0].peer.address", "'192.168.0.256'"),
            ("topology.leaves[1].peer.address", "'10.0.0.0/24'"),
        ],
    ),
    (
        "asn-out-of-range",
        multi_leaf(
            leaves=[
                {"name": "l1", "nodes": ["a", "b"], "peer": {"address": "10.0.0.1", "asn": 0}},
                {
                    "name": "l2",
                    "nodes": ["c", "d"],
                    "peer": {"address": "10.0.0.2", "asn": 4294967296},
                },
            ]
        ),
        [("topology.leaves[0].peer.asn", "0"), ("topology.leaves[1].peer.asn", "4294967296")],
    ),
    (
        "peer-without-asn",
        multi_leaf(leaves=[{"name": "l", "nodes": ["a", "b"], "peer": {"address": "10.0.0.1"}}]),
        [("topology.leaves[0].peer.asn", "(missing)")],
    ),
    ("topology-not-an-object", {"topology": "single-router"}, [("topology", "'single-router'")]),
    ("unknown-stack-key", {**DEV, "adpot": True}, [("adpot", "(a boolean, not shown)")]),
    (
        "names-with-a-trailing-newline",
        {
            "openelb": {"namespace": "openelb-system\n"},
            "topology": {"kind": "single-router", "nodes": ["master1\n", "b"]},
        },
        [("openelb.namespace", "'openelb-system\\n'"), ("topology.nodes[0]", "'master1\\n'")],
    ),
    (
        "leaf-name-with-a-trailing-newline",
        multi_leaf(leaves=[{"name": "leaf1\n", "nodes": ["a", "b"]}]),
        [("topology.leaves[0].name", "'leaf1\\n'")],
    ),
    (
        "one-router-for-two-leaves",
        multi_leaf(
            leaves=[
                {"name": "l1", "nodes": ["a", "b"], "peer": {"address": "fd00::5", "asn": 1}},
                {"name": "l2", "nodes": ["c", "d"], "peer": {"address": "fd00:0::5", "asn": 1}},
            ]
        ),
        [("topology.leaves[1].peer.address", "'fd00:0::5'")],
    ),
    (
        "v06-replicas-below-nodes",
        {"openelb": {"version": "0.6"}, "topology": {**DEV["topology"], "replicas": 1}},
        [("topology.replicas", "1")],
    ),
    (
        "v06-replicas-above-nodes",
        {"openelb": {"version": "0.6"}, "topology": {**DEV["topology"], "replicas": 3}},
        [("topology.replicas", "3")],
    ),
    (
        "controller-replicas-zero",
        {**DEV, "openelb": {"version": "0.6", "controllerReplicas": 0}},
        [("openelb.controllerReplicas", "0")],
    ),
    (
        "controller-replicas-as-text",
        {**DEV, "openelb": {"version": "0.6", "controllerReplicas": "2"}},
        [("openelb.controllerReplicas", "'2'")],
    ),
    (
        "v06-controllers-above-nodes",
        {**DEV, "openelb": {"version": "0.6", "controllerReplicas": 3}},
        [("openelb.controllerReplicas", "3")],
    ),
    (
        "v06-controllers-above-multi-leaf-nodes",
        {**multi_leaf(), "openelb": {"version": "0.6", "controllerReplicas": 5}},
        [("openelb.controllerReplicas", "5")],
    ),
    (
        "v06-default-controllers-above-one-node",
        {"openelb": {"version": "0.6"}, "topology": {"kind": "single-router", "nodes": ["a"]}},
        [("openelb.controllerReplicas", "(missing)")],
    ),
    (
        "pdb-as-text",
        {**DEV, "openelb": {"podDisruptionBudget": "false"}},
        [("openelb.podDisruptionBudget", "'false'")],
    ),
    (
        "eips-malformed",
        {
            **DEV,
            "eips": [
                "198.51.100.0/33",
                "198.51.100.20-198.51.100.10",
                "198.51.100.1-2001:db8::1",
                "a range",
                7,
            ],
        },
        [
            ("eips[0]", "'198.51.100.0/33'"),
            ("eips[1]", "'198.51.100.20-198.51.100.10'"),
            ("eips[2]", "'198.51.100.1-2001:db8::1'"),
            ("eips[3]", "'a range'"),
            ("eips[4]", "7"),
        ],
    ),
    ("eips-empty", {**DEV, "eips": []}, [("eips", "[]")]),
    (
        "timers-out-of-range",
        {
            **DEV,
            "bgp": {
                "as": 1,
                "timers": {"holdTime": 2, "keepaliveInterval": 0, "connectRetry": 65536},
            },
        },
        [
            ("bgp.timers.holdTime", "2"),
            ("bgp.timers.keepaliveInterval", "0"),
            ("bgp.timers.connectRetry", "65536"),
        ],
    ),
    (
        "keepalive-over-a-third",
        {**DEV, "bgp": {"as": 1, "timers": {"holdTime": 9, "keepaliveInterval": 4}}},
        [("bgp.timers.keepaliveInterval", "4")],
    ),
    (
        "timers-as-text",
        {**DEV, "bgp": {"as": 1, "timers": {"holdTime": "9", "bgpPeers": "yes"}}},
        [("bgp.timers.holdTime", "'9'"), ("bgp.timers.bgpPeers", "'yes'")],
    ),
    (
        "unknown-next-hops",
        {**DEV, "bgp": {"as": 1, "nextHops": "leaf"}},
        [("bgp.nextHops", "'leaf'")],
    ),
    (
        "other-nodes-with-one-rack-per-node",
        {
            **multi_leaf(leaves=[{"name": "l", "nodes": ["a", "b"], "otherNodes": ["c"]}]),
            "bgp": {"as": 1},
        },
        [("topology.leaves[0].otherNodes", "['c']")],
    ),
    (
        "node-name-too-long-for-a-rack-label",
        {"topology": {"kind": "single-router", "nodes": ["n" * 64]}, "bgp": {"as": 1}},
        [("topology.nodes[0]", repr("n" * 64))],
    ),
    (
        "local-asn-without-a-peer-with-one-rack-per-node",
        {
            **multi_leaf(leaves=[{"name": "l", "nodes": ["a", "b"], "localAsn": 64601}]),
            "bgp": {"as": 1},
        },
        [("topology.leaves[0].localAsn", "64601")],
    ),
    (
        "acknowledgement-not-a-digest",
        {**DEV, "acceptBgpConfChange": "yes, go ahead"},
        [("acceptBgpConfChange", "'yes, go ahead'")],
    ),
    (
        "eips-overlap",
        {**DEV, "eips": ["198.51.100.0/24", "203.0.113.0/24", "198.51.100.10-198.51.100.20"]},
        [("eips[2]", "'198.51.100.10-198.51.100.20'")],
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_inputs_are_all_reported_with_path_and_value(
    raw: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert problems_of(raw) == expected


def test_every_problem_of_a_stack_is_reported_at_once() -> None:
    raw = {
        "openelb": {"version": "0.9", "mode": "layer2"},
        "topology": {
            "kind": "multi-leaf",
            "replicasPerLeaf": 2,
            "leaves": [
                {"name": "l1", "nodes": ["Bad_Name", "b"]},
                {"name": "l1", "nodes": ["b"], "peer": {"address": "x", "asn": -1}},
            ],
        },
    }
    assert [path for path, _ in problems_of(raw)] == [
        "openelb.version",
        "topology.leaves[0].nodes[0]",
        "topology.leaves[1].peer.address",
        "topology.leaves[1].peer.asn",
        "openelb.mode",
        "topology.leaves[1].name",
        "topology.leaves[1].nodes[0]",
        "topology.leaves[1].nodes",
    ]


@pytest.mark.parametrize(
    ("raw", "fix_words"),
    [
        ({}, "configuration reference"),
        ({**DEV, "openelb": {"mod": "bgp"}}, "did you mean 'mode'"),
        # A key written where it is not valid is named with where it belongs.
        (
            {"topology": {**DEV["topology"], "peer": {"address": "192.0.2.1", "asn": 65001}}},
            "'peer' is not a key here; it belongs under topology.leaves[] (kind: multi-leaf): "
            "move it there or remove it",
        ),
        (
            {**DEV, "bgp": {"as": 64600, "holdTime": 9}},
            "'holdTime' is not a key here; it belongs under bgp.timers",
        ),
        (
            {**DEV, "openelb": {"nodes": ["a"]}},
            "'nodes' is not a key here; it belongs under topology with kind: single-router or "
            "topology.leaves[] (kind: multi-leaf)",
        ),
        ({"topology": {"kind": "single-router", "nodes": ["a"], "replicas": 2}}, "stay Pending"),
        ({"topology": {"kind": "single-router", "nodes": ["A"]}}, "kubectl get nodes"),
        (
            multi_leaf(leaves=[{"name": "l1", "nodes": ["a"]}, {"name": "l2", "nodes": ["a"]}]),
            "list it under one leaf only",
        ),
        ({**multi_leaf(), "openelb": {"mode": "vip"}}, "one Layer 2 network"),
        (
            {**DEV, "openelb": {"version": "0.6", "mode": "layer2"}},
            "args upstream to --enable-layer2=true",
        ),
        (
            {**DEV, "openelb": {"version": "0.6", "mode": "vip"}},
            "args upstream to --enable-keepalived-vip=true",
        ),
        (
            {"openelb": {"version": "0.6"}, "topology": {**DEV["topology"], "replicas": 1}},
            "DaemonSet, which runs exactly one speaker on every listed node",
        ),
        (
            {"openelb": {"version": "0.6"}, "topology": {"kind": "single-router", "nodes": ["a"]}},
            "(the default 2) than the 1 listed nodes",
        ),
        ({**DEV, "openelb": {"podDisruptionBudget": "no"}}, "use true (default) or false"),
        ({**DEV, "eips": ["10.0.0.0/33"]}, "copy the spec.address of an Eip object"),
        ({**DEV, "eips": ["10.0.0.0/8", "10.1.0.0/16"]}, "overlaps eips[0]"),
        (
            {**DEV, "bgp": {"as": 1, "timers": {"holdTime": 9, "keepaliveInterval": 4}}},
            "use at most 3, or raise holdTime",
        ),
        (
            {
                **multi_leaf(leaves=[{"name": "l", "nodes": ["a", "b"], "otherNodes": ["c"]}]),
                "bgp": {"as": 1},
            },
            "or set bgp.nextHops: rack",
        ),
        ({**DEV, "acceptBgpConfChange": "yes"}, "copy the 16 hexadecimal digits"),
    ],
    ids=[
        "missing",
        "typo",
        "key-of-a-leaf-under-one-router",
        "timer-outside-timers",
        "topology-key-under-openelb",
        "pending",
        "node-name",
        "two-leaves",
        "l2-mode",
        "v06-layer2",
        "v06-vip",
        "v06-daemonset",
        "default-controllers",
        "pdb-boolean",
        "eip-form",
        "eip-overlap",
        "keepalive",
        "other-nodes",
        "acknowledgement",
    ],
)
def test_each_message_says_how_to_fix_it(raw: dict[str, Any], fix_words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    assert any(fix_words in problem.message for problem in caught.value.problems)
    assert str(caught.value).startswith("openelb-ha: the stack configuration has")


def test_defaults_of_the_bgp_keys() -> None:
    config = load_config(DEV)
    assert (config.bgp, config.adopt, config.bgp_passwords) == (None, False, {})
    assert (config.next_hops, config.accept_bgp_conf_change) == ("rack", None)
    bgp = load_config({**DEV, "bgp": {"as": 64600}}).bgp
    assert bgp is not None
    assert (bgp.as_, bgp.listen_port, bgp.router_id, bgp.next_hops) == (64600, None, None, "node")
    timers = bgp.timers
    assert (timers.hold_time, timers.keepalive_interval, timers.connect_retry) == (9, 3, 5)
    assert timers.bgp_peers is False


def test_a_loaded_password_is_never_shown_by_the_config() -> None:
    raw = multi_leaf(leaves=[{"name": "l", "nodes": ["a", "b"], "peer": PEER, "localAsn": 7}])
    config = load_config({**raw, "bgp": {"as": 1}, "bgpPasswords": {"l": "pw-123456"}})
    assert config.bgp_passwords["l"].get_secret_value() == "pw-123456"
    assert "pw-123456" not in repr(config) + str(config) + config.model_dump_json()
    assert isinstance(config.topology, MultiLeafTopology)
    assert config.topology.leaves[0].local_asn == 7


def test_plaintext_passwords_are_refused_only_when_read_from_a_stack() -> None:
    raw = {
        **multi_leaf(leaves=[{"name": "l", "nodes": ["a", "b"], "peer": PEER}]),
        "bgpPasswords": {"l": "pw-123456"},
    }
    assert load_config(raw).bgp_passwords  # built in code: no stack file to leak from
    assert load_config(raw, stack_secret_keys=["bgpPasswords"]).bgp_passwords
    with pytest.raises(ConfigError) as caught:
        load_config(raw, stack_secret_keys=[])
    assert caught.value.paths == ["bgpPasswords"]
    assert "pw-123456" not in str(caught.value)


def test_an_unknown_stack_key_suggests_the_known_one() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({**DEV, "bgpPassword": {"leaf1": "x"}})
    assert "did you mean 'bgpPasswords'?" in str(caught.value)


def test_every_subpackage_is_shipped_by_pip_install() -> None:
    """``pip install git+<repo>`` must give the package as it runs here, subpackages included."""
    import tomllib

    from tests.support.harness import ROOT

    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    packages = [
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "openelb_component").rglob("__init__.py")
    ]
    assert "openelb_component.desired" in packages
    patterns = find["find"]["include"]
    assert all(any(fnmatch.fnmatch(name, p) for p in patterns) for name in packages)
