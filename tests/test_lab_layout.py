"""The lab's layout, without running anything: which addresses, namespaces, configurations and
announcements a stack gets. Pure, so it runs in `make test` (the lab itself: tests/test_lab.py).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from openelb_component.config.loading import load_config
from openelb_component.desired import desired_state
from openelb_component.lab.layout import (
    DOC_V4,
    Faults,
    LabError,
    announcements,
    build_layout,
    gobgpd_toml,
    path_identifier,
)

PID = 4242
STACK_PASSWORD = "not-used-by-the-lab"  # noqa: S105 - the test's own fake password


def layout_of(raw: dict[str, Any], faults: Faults | None = None) -> Any:
    config = load_config(raw)
    return build_layout("test", config, desired_state(config), PID, faults)


def leaves(*sizes: int, **extra: Any) -> dict[str, Any]:
    return {
        "openelb": {"version": "0.6"},
        "bgp": {"as": 64600},
        "topology": {
            "kind": "multi-leaf",
            "replicasPerLeaf": 1,
            "leaves": [
                {
                    "name": f"leaf{i}",
                    "nodes": [f"n{i}-{j}" for j in range(size)],
                    "peer": {"address": f"10.{i}.0.1", "asn": 65001},
                }
                for i, size in enumerate(sizes)
            ],
        },
        **extra,
    }


def documentation(address: str) -> bool:
    return any(ipaddress.ip_address(address) in net for net in DOC_V4)


def test_every_address_is_a_documentation_address_and_every_name_the_run_s() -> None:
    layout = layout_of(leaves(2, 3, eips=["10.20.0.0/16"]))
    addresses = [leaf.router_address for leaf in layout.leaves] + [n.address for n in layout.nodes]
    assert all(documentation(a) for a in addresses)
    assert all(documentation(a) for leaf in layout.leaves for a in leaf.announced)
    namespaces = [leaf.namespace for leaf in layout.leaves] + [
        n.namespace for n in layout.nodes if n.namespace
    ]
    assert all(ns.startswith(f"oelab{PID}-") for ns in namespaces)
    assert len(set(namespaces)) == len(namespaces) == 2 + 5
    # the stack's own range is replaced, and the lab says so
    assert layout.eip_map == {"10.20.0.0/16": "203.0.113.128/29"}
    assert any("10.20.0.0/16" in note for note in layout.notes)
    # the speakers peer with the lab's router, not with the stack's 10.0.0.1
    speaker = layout.node("n0-0").speaker
    assert [n.address for n in speaker.neighbors] == [layout.leaves[0].router_address]
    assert " bgp router-id 192.0.2.1" in layout.leaves[0].frr_config.splitlines()


def test_each_leaf_gets_its_own_link_and_only_its_nodes() -> None:
    layout = layout_of(leaves(2, 3))
    first, second = layout.leaves
    assert (str(first.subnet), str(second.subnet)) == ("192.0.2.0/29", "192.0.2.8/29")
    assert first.expected_next_hops == ("192.0.2.2", "192.0.2.3")
    assert second.expected_next_hops == ("192.0.2.10", "192.0.2.11", "192.0.2.12")
    assert not set(first.expected_next_hops) & set(second.expected_next_hops)


def test_a_stack_too_big_for_a_documentation_range_is_refused() -> None:
    with pytest.raises(LabError, match="do not fit"):
        layout_of(leaves(*[20] * 9))


@pytest.mark.parametrize(
    ("eips", "announced"),
    [
        (None, ("198.51.100.1",)),  # no eips: a documentation address
        (["198.51.100.0/24"], ("198.51.100.1",)),  # a CIDR: its first host
        (["203.0.113.10-203.0.113.20"], ("203.0.113.10",)),  # a range: its first address
        (["203.0.113.7"], ("203.0.113.7",)),
        (["198.51.100.0/25", "2001:db8::/64"], ("198.51.100.1",)),  # IPv6: not carried
    ],
    ids=["none", "cidr", "range", "address", "other-family"],
)
def test_one_address_of_every_range_is_announced(
    eips: list[str] | None, announced: tuple[str, ...]
) -> None:
    extra = {} if eips is None else {"eips": eips}
    (leaf,) = layout_of(leaves(2, **extra)).leaves
    assert leaf.announced == announced
    assert leaf.not_carried == (("2001:db8::/64",) if eips and "2001:db8::/64" in eips else ())


@pytest.mark.parametrize(
    ("next_hops", "announced"),
    [
        ("rack", [("198.51.100.1", "192.0.2.2"), ("198.51.100.1", "192.0.2.3")]),
        ("node", [("198.51.100.1", "192.0.2.2")]),
    ],
    ids=["its-rack", "its-own-node"],
)
def test_a_speaker_announces_its_rack_s_nodes_with_openelb_s_path_ids(
    next_hops: str, announced: list[tuple[str, str]]
) -> None:
    layout = layout_of({**leaves(2, 2), "bgp": {"as": 64600, "nextHops": next_hops}})
    node = layout.node("n0-0")
    assert announcements(layout, node) == announced
    # getPathIdentifier is FNV-1a, 32 bits (the published test vector for "a")
    assert path_identifier("a") == 0xE40C292C


def test_gobgpd_is_configured_as_openelb_configures_its_speaker() -> None:
    raw = leaves(2)
    raw["bgp"] = {
        "as": 64600,
        "listenPort": 17900,
        "timers": {"holdTime": 6, "keepaliveInterval": 2, "connectRetry": 7, "bgpPeers": True},
    }
    raw["topology"]["leaves"][0]["localAsn"] = 64601
    raw["bgpPasswords"] = {"leaf0": STACK_PASSWORD}
    layout = layout_of(raw)
    toml = gobgpd_toml(layout.node("n0-0").speaker, layout.passwords)
    password = layout.passwords["bgpPasswords.leaf0"]
    assert password.startswith("lab-")  # the stack's value is never read
    assert STACK_PASSWORD not in toml + layout.leaves[0].frr_config
    assert toml.splitlines() == [
        "[global.config]",
        "  as = 64600",
        '  router-id = "192.0.2.2"',
        "  port = 17900",
        "[[neighbors]]",
        "  [neighbors.config]",
        '    neighbor-address = "192.0.2.1"',
        "    peer-as = 65001",
        "    local-as = 64601",
        f'    auth-password = "{password}"',
        "  [neighbors.timers.config]",
        "    hold-time = 6",
        "    keepalive-interval = 2",
        "    connect-retry = 7",
        "  [[neighbors.afi-safis]]",
        "    [neighbors.afi-safis.config]",
        '      afi-safi-name = "ipv4-unicast"',
        "    [neighbors.afi-safis.add-paths.config]",
        "      send-max = 10",
    ]
    frr = layout.leaves[0].frr_config.splitlines()
    assert f" neighbor OPENELB password {password}" in frr
    assert " neighbor OPENELB remote-as 64601" in frr
    assert " neighbor OPENELB timers 2 6" in frr


def test_faults_change_only_the_router_or_the_peer_they_name() -> None:
    faults = Faults(
        router_password={"leaf0": "other"},
        router_remote_as={"leaf1": 64999},
        peer_selector={"leaf2": {"matchLabels": {"openelb.kubesphere.io/rack": "nowhere"}}},
    )
    layout = layout_of(leaves(2, 2, 2), faults)
    frr = [leaf.frr_config.splitlines() for leaf in layout.leaves]
    assert " neighbor OPENELB password other" in frr[0]
    assert not any("password" in line for line in frr[1] + frr[2])  # the stack sets none
    assert " neighbor OPENELB remote-as 64999" in frr[1]
    assert " neighbor OPENELB remote-as 64600" in frr[0]
    assert layout.node("n1-0").speaker.neighbors  # leaf1's peer still selects its nodes
    assert layout.node("n2-0").speaker.neighbors == ()  # leaf2's selects none
    # ...so leaf2's router, configured for the nodes OpenELB would peer from, has no neighbor
    assert not any(line.startswith(" neighbor 192.0.2.") for line in frr[2])
