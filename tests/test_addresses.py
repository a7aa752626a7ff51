"""Addresses as OpenELB reads them (Go's ``net.ParseIP``/``ParseCIDR``), and what the stack's
address keys refuse: every case that Python's ``ipaddress`` alone lets through."""

from __future__ import annotations

from typing import Any

import pytest

from openelb_component.config import addresses
from openelb_component.config.errors import ConfigError
from openelb_component.config.loading import load_config
from tests.support.examples import TWO_LEAVES

ACCEPTED = {
    "ipv4": ("192.0.2.5", "192.0.2.5"),
    "ipv6": ("2001:db8::1", "2001:db8::1"),
    "ipv6-uppercase": ("2001:DB8::1", "2001:db8::1"),
    "ipv6-long-form": ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    "ipv6-with-ipv4-tail": ("64:ff9b::192.0.2.5", "64:ff9b::c000:205"),
}
REFUSED = {
    "zone-command": "fe80::1%$(touch PWNED)",
    "zone-newline": "fe80::1%x\ny",
    "zone-plain": "fe80::1%eth0",
    "ipv4-mapped": "::ffff:192.0.2.5",
    "prefix": "192.0.2.5/32",
    "leading-zero": "192.0.2.05",
    "space": " 198.51.100.9",
    "other-digits": "١٩٢.0.2.5",
    "text": "router",
    "empty": "",
}


@pytest.mark.parametrize(("text", "canonical"), list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_a_plain_address_is_read_and_made_canonical(text: str, canonical: str) -> None:
    assert str(addresses.parse_address(text)) == canonical


@pytest.mark.parametrize("text", list(REFUSED.values()), ids=list(REFUSED))
def test_what_go_would_not_read_as_a_plain_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"plain IPv4 or IPv6|IPv4-mapped") as caught:
        addresses.parse_address(text)
    assert text not in str(caught.value) or not text


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("198.51.100.0/24", "198.51.100.0/24"),
        ("198.51.100.7/24", "198.51.100.0/24"),  # host bits: Go's ParseCIDR masks them
        ("2001:db8::1/64", "2001:db8::/64"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
    ids=["cidr", "host-bits", "ipv6", "everything"],
)
def test_a_cidr_is_read_as_go_parses_it(text: str, network: str) -> None:
    assert str(addresses.parse_network(text)) == network


@pytest.mark.parametrize(
    "text",
    [
        "198.51.100.0/255.255.255.0",
        "198.51.100.0/0.0.0.255",
        "198.51.100.0/024",
        "198.51.100.0/33",
        "198.51.100.0/+8",
        "fe80::%$(touch PWNED)/64",
        "198.51.100.0/24/24",
    ],
    ids=["netmask", "hostmask", "leading-zero", "too-long", "sign", "zone", "two-slashes"],
)
def test_what_go_would_not_read_as_a_cidr_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        addresses.parse_network(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0.0.0.0", "the unspecified address"),  # noqa: S104 - a value under test
        ("::", "the unspecified address"),
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("224.0.0.5", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("255.255.255.255", "the broadcast address"),
    ],
)
def test_an_address_that_cannot_be_a_neighbor_or_router_id(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{reason}, which cannot be a BGP neighbor"):
        addresses.endpoint(text)


# --- the stack keys --------------------------------------------------------------------------


def with_peer(address: Any, second: Any = "192.168.1.5") -> dict[str, Any]:
    leaves = [
        {**TWO_LEAVES["leaves"][0], "peer": {"address": address, "asn": 65001}},
        {**TWO_LEAVES["leaves"][1], "peer": {"address": second, "asn": 65002}},
    ]
    return {"topology": {**TWO_LEAVES, "leaves": leaves}, "bgp": {"as": 64600}}


def problems(raw: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [(p.path, p.shown, p.message) for p in caught.value.problems]


PEER = "topology.leaves[0].peer.address"


@pytest.mark.parametrize(
    ("raw", "path", "start"),
    [
        (with_peer("fe80::1%$(touch PWNED)"), PEER, "not a plain IPv4 or IPv6"),
        (with_peer("::ffff:192.168.1.5"), PEER, "an IPv4-mapped IPv6 address"),
        (with_peer("0.0.0.0"), PEER, "the unspecified address"),  # noqa: S104
        (with_peer("255.255.255.255"), PEER, "the broadcast address"),
        (with_peer("127.0.0.1"), PEER, "a loopback address"),
        (with_peer("224.0.0.5"), PEER, "a multicast address"),
        (
            {**with_peer("192.168.0.5"), "bgp": {"as": 64600, "routerId": "0.0.0.0"}},  # noqa: S104
            "bgp.routerId",
            "the unspecified address",
        ),
        (
            {**with_peer("192.168.0.5"), "eips": ["198.51.100.0/255.255.255.0"]},
            "eips[0]",
            "not an Eip address range (the prefix length must be",
        ),
        (
            {**with_peer("192.168.0.5"), "eips": ["198.51.100.0/0.0.0.255"]},
            "eips[0]",
            "not an Eip address range (the prefix length must be",
        ),
        (
            {**with_peer("192.168.0.5"), "eips": ["fe80::%x/64"]},
            "eips[0]",
            "not an Eip address range (not a plain IPv4",
        ),
    ],
    ids=[
        "peer-zone",
        "peer-ipv4-mapped",
        "peer-unspecified",
        "peer-broadcast",
        "peer-loopback",
        "peer-multicast",
        "router-id-unspecified",
        "eips-netmask",
        "eips-hostmask",
        "eips-zone",
    ],
)
def test_address_keys_refuse_what_openelb_or_a_router_cannot_use(
    raw: dict[str, Any], path: str, start: str
) -> None:
    found = [(shown, message) for p, shown, message in problems(raw) if p == path]
    assert len(found) == 1, problems(raw)
    assert found[0][1].startswith(start)


def test_one_router_written_twice_is_found_in_canonical_form() -> None:
    found = problems(with_peer("2001:db8::5", "2001:DB8:0::5"))
    assert [(p, shown) for p, shown, _ in found] == [
        ("topology.leaves[1].peer.address", "'2001:DB8:0::5'")
    ]
    assert found[0][2].startswith("the same router address as leaves[0].peer")
