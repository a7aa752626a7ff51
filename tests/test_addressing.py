"""Two mistakes a valid stack can make, each a warning wherever a stack is judged: a BGP leaf
without ``peer``, and ``eips`` that contain the network's own addresses (desired/addressing.py).

The rules as tables of stacks and the exact warnings; then the same warning from ``validate``,
from ``plan`` (with the node addresses of ``--nodes``) and from the program under mocks (with
the node addresses its Node reads find).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from openelb_component import cli
from openelb_component.component.args import OpenElbHaArgs, TopologyKind
from openelb_component.component.openelb_ha import OpenElbHa
from openelb_component.config.loading import load_config
from openelb_component.desired import desired_state
from openelb_component.desired.addressing import eips_warning, node_addresses
from openelb_component.plan.build import build_plan
from openelb_component.plan.nodesfile import nodes_by_name
from openelb_component.plan.render import RENDERERS
from openelb_component.plan.stackfile import read_stack
from tests.support.examples import TWO_LEAVES
from tests.support.harness import FakeCluster, run_program, run_under_mocks

NO_PEER = "add peer: {address: <the leaf router's address>, asn: <its ASN>} to the leaf"
INSIDE = "OpenELB hands out every address of an Eip, from the first one on"


def multi_leaf(*peers: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    leaves = [
        {"name": f"leaf{i}", "nodes": [f"n{i}a", f"n{i}b"], **({"peer": p} if p else {})}
        for i, p in enumerate(peers, start=1)
    ]
    return {"topology": {"kind": "multi-leaf", "leaves": leaves}, "bgp": {"as": 64600}, **extra}


def peer(address: str) -> dict[str, Any]:
    return {"address": address, "asn": 65001}


def new_warnings(raw: dict[str, Any]) -> list[str]:
    """The warnings of this module's two rules (others, such as eips missing, left out)."""
    warnings = desired_state(load_config(raw)).warnings
    return [w for w in warnings if NO_PEER in w or INSIDE in w]


# --- a leaf without a peer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (multi_leaf(peer("192.0.2.1"), peer("192.0.2.2")), []),
        (
            multi_leaf(peer("192.0.2.1"), None),
            ["no peer for leaf leaf2 (topology.leaves[1])"],
        ),
        (
            multi_leaf(None, peer("192.0.2.2"), None),
            ["no peer for leaf leaf1 (topology.leaves[0]), leaf3 (topology.leaves[2])"],
        ),
        # Without `bgp` the speakers still peer by BgpPeer: the same warning (and another).
        (
            {k: v for k, v in multi_leaf(peer("192.0.2.1"), None).items() if k != "bgp"},
            ["no peer for leaf leaf2 (topology.leaves[1])"],
        ),
        # One router for every node: its BgpPeer is not this stack's to make.
        ({"topology": {"kind": "single-router", "nodes": ["a", "b"]}}, []),
    ],
    ids=[
        "every-leaf-has-one",
        "second-leaf-without",
        "two-leaves-without",
        "no-bgp-key",
        "single-router",
    ],
)
def test_a_bgp_leaf_without_peer_is_named(raw: dict[str, Any], expected: list[str]) -> None:
    found = [w for w in new_warnings(raw) if NO_PEER in w]
    assert len(found) == len(expected)
    for warning, start in zip(found, expected, strict=True):
        assert warning.startswith(start)
        assert "pkg/controllers/bgp/bgppeer_controller.go:86-98,121@v0.5.1" in warning


# --- eips that contain the network's own addresses ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "inside"),
    [
        (multi_leaf(peer("192.0.2.1"), peer("192.0.2.2"), eips=["198.51.100.0/24"]), None),
        (
            multi_leaf(peer("10.0.0.5"), peer("10.0.1.5"), eips=["10.0.0.0/16"]),
            "leaf leaf1's router (topology.leaves[0].peer.address) 10.0.0.5 is in 10.0.0.0/16; "
            "leaf leaf2's router (topology.leaves[1].peer.address) 10.0.1.5 is in 10.0.0.0/16",
        ),
        (
            multi_leaf(
                peer("192.0.2.1"),
                peer("192.0.2.2"),
                eips=["198.51.100.0/25", "192.0.2.2-192.0.2.9"],
            ),
            "leaf leaf2's router (topology.leaves[1].peer.address) 192.0.2.2 is in "
            "192.0.2.2-192.0.2.9",
        ),
        (
            {
                "topology": {"kind": "single-router", "nodes": ["a", "b"]},
                "bgp": {"as": 64600, "routerId": "198.51.100.1"},
                "eips": ["198.51.100.0/24"],
            },
            "the router ID (bgp.routerId) 198.51.100.1 is in 198.51.100.0/24",
        ),
        (
            multi_leaf(peer("2001:db8::1"), peer("2001:db8:1::1"), eips=["2001:db8::/64"]),
            "leaf leaf1's router (topology.leaves[0].peer.address) 2001:db8::1 is in 2001:db8::/64",
        ),
        # Just outside: the range ends before the router.
        (multi_leaf(peer("192.0.2.10"), peer("192.0.2.11"), eips=["192.0.2.0/29"]), None),
    ],
    ids=["apart", "routers-in-a-cidr", "router-in-a-range", "router-id", "ipv6", "just-outside"],
)
def test_eips_that_contain_a_router_or_the_router_id_are_named(
    raw: dict[str, Any], inside: str | None
) -> None:
    found = [w for w in new_warnings(raw) if INSIDE in w]
    if inside is None:
        assert found == []
    else:
        (warning,) = found
        assert warning.startswith(
            f"openelb-ha:eips contain the network's own addresses: {inside}. OpenELB hands out"
        )
        assert "pkg/controllers/ipam/ipam.go:374-386@v0.5.1" in warning


def test_many_node_addresses_inside_are_counted_after_the_first_five() -> None:
    config = load_config(multi_leaf(peer("192.0.2.1"), peer("192.0.2.2"), eips=["10.0.0.0/8"]))
    addresses = {f"node-{i:02}": f"10.0.0.{i}" for i in range(12)}
    addresses["elsewhere"] = "192.0.2.77"
    addresses["not-an-address"] = "10.0.0.1%$(reboot)"
    warning = eips_warning(config, node_addresses(addresses))
    assert warning is not None
    assert warning.startswith(
        "openelb-ha:eips contain the network's own addresses: "
        "node node-00's InternalIP 10.0.0.0 is in 10.0.0.0/8; "
        "node node-01's InternalIP 10.0.0.1 is in 10.0.0.0/8; "
        "node node-02's InternalIP 10.0.0.2 is in 10.0.0.0/8; "
        "node node-03's InternalIP 10.0.0.3 is in 10.0.0.0/8; "
        "node node-04's InternalIP 10.0.0.4 is in 10.0.0.0/8 and 7 more. "
    )
    assert "reboot" not in warning


# --- where the warnings show ---------------------------------------------------------------------

PEERLESS_COVERING = multi_leaf(peer("10.0.0.5"), None, eips=["10.0.0.0/16"])


def stack_file(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"config": {f"openelb-ha:{k}": v for k, v in raw.items()}}))
    return path


def test_validate_shows_both_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = stack_file(tmp_path / "Pulumi.mine.yaml", PEERLESS_COVERING)
    assert cli.main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "no peer for leaf leaf2 (topology.leaves[1])" in out
    assert "leaf leaf1's router (topology.leaves[0].peer.address) 10.0.0.5 is in 10.0.0.0/16" in out


def test_the_plan_adds_the_nodes_of_the_nodes_file(tmp_path: Path) -> None:
    raw = {"topology": TWO_LEAVES, "bgp": {"as": 64600}, "eips": ["192.0.2.0/24"]}
    stack = read_stack(stack_file(tmp_path / "Pulumi.mine.yaml", raw))
    nodes = {
        "kind": "List",
        "items": [
            {
                "kind": "Node",
                "metadata": {"name": name},
                "status": {"addresses": [{"type": "InternalIP", "address": address}]},
            }
            for name, address in (("master1", "192.0.2.11"), ("worker-p002", "10.0.1.11"))
        ],
    }
    summary = RENDERERS["markdown"](build_plan(stack, nodes=nodes_by_name(nodes)))
    (line,) = [line for line in summary.splitlines() if INSIDE in line]
    assert line.startswith(
        "- openelb-ha:eips contain the network's own addresses: node master1's InternalIP "
        "192.0.2.11 is in 192.0.2.0/24. "
    )
    # Without the nodes file the plan cannot know it.
    assert INSIDE not in RENDERERS["markdown"](build_plan(stack))


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_the_program_warns_with_its_node_reads(preview: bool) -> None:
    raw = {**PEERLESS_COVERING}
    # Every read Node has a status, as from a real cluster (under mocks a preview takes a
    # missing one for unknown).
    addresses = {"n1a": "10.0.0.21", "n1b": "172.16.0.2", "n2a": "172.16.1.1", "n2b": "172.16.1.2"}
    cluster = FakeCluster(node_addresses=addresses)
    run = run_program(raw, cluster=cluster, preview=preview)
    assert [w.split(":", 1)[0] for w in run.warnings if NO_PEER in w] == [
        "no peer for leaf leaf2 (topology.leaves[1])"
    ]
    inside = [w.split(". OpenELB", 1)[0] for w in run.warnings if INSIDE in w]
    assert inside == [
        "openelb-ha:eips contain the network's own addresses: leaf leaf1's router "
        "(topology.leaves[0].peer.address) 10.0.0.5 is in 10.0.0.0/16",
        "openelb-ha:eips contain the network's own addresses: node n1a's InternalIP 10.0.0.21 "
        "is in 10.0.0.0/16",
    ]


def test_the_component_warns_for_any_program_that_uses_it() -> None:
    """A library user's program gets the same warnings as this project's own program."""
    leaves = [
        {"name": "leaf1", "nodes": ["n1a", "n1b"], "peer": {"address": "10.0.0.5", "asn": 65001}},
        {"name": "leaf2", "nodes": ["n2a", "n2b"]},
    ]
    args = {
        "topology": {"kind": TopologyKind.MULTI_LEAF, "leaves": leaves},
        "bgp": {"as_": 64600},
        "eips": ["10.0.0.0/16"],
    }
    # The cluster is at this BgpConf already (a first run needs acceptBgpConfChange).
    stack = {
        "topology": {"kind": "multi-leaf", "leaves": leaves},
        "bgp": {"as": 64600},
        "eips": ["10.0.0.0/16"],
    }
    run, error = run_under_mocks(
        lambda: OpenElbHa("lib", cast(OpenElbHaArgs, args)), {}, bgp_conf_of=stack
    )
    assert error is None
    assert [w.split(":", 1)[0] for w in run.warnings if NO_PEER in w] == [
        "no peer for leaf leaf2 (topology.leaves[1])"
    ]
    assert len([w for w in run.warnings if INSIDE in w]) == 1
