"""Overlapping ``eips``: which entries are refused, and which earlier entry each names.

The rule (``config/rules.py: check_eips``) runs in O(n log n) (``config/overlaps.py``); it must
name exactly what the pairwise comparison of every entry's networks named, which is kept below
as the reference and compared on generated lists.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openelb_component import ConfigError
from openelb_component.config.loading import load_config
from openelb_component.config.models import IpNetwork, eip_networks
from openelb_component.config.overlaps import first_overlaps

DEV = {"topology": {"kind": "single-router", "nodes": ["master1", "worker-p002"]}}


OVERLAP = re.compile(
    r"overlaps eips\[(\d+)\]; OpenELB refuses overlapping Eips, so list each Eip's "
    r"spec\.address once"
)


def refused(eips: list[Any]) -> dict[int, int]:
    """eips index -> the earlier index its overlap problem names (other problems left out);
    each problem carries the entry's own value."""
    try:
        load_config({**DEV, "eips": eips})
    except ConfigError as error:
        found = {}
        for problem in error.problems:
            if match := OVERLAP.fullmatch(problem.message):
                key, index = problem.loc
                assert (key, problem.value) == ("eips", eips[int(index)])
                found[int(index)] = int(match[1])
        return found
    return {}


CASES: list[tuple[str, list[Any], dict[int, int]]] = [
    ("adjacent-cidrs", ["198.51.100.0/25", "198.51.100.128/25"], {}),
    ("adjacent-ranges", ["198.51.100.1-198.51.100.9", "198.51.100.10-198.51.100.20"], {}),
    (
        "range-ends-where-next-starts",
        ["198.51.100.1-198.51.100.10", "198.51.100.10-198.51.100.20"],
        {1: 0},
    ),
    ("cidr-nested-in-earlier", ["198.51.100.0/24", "198.51.100.64/26"], {1: 0}),
    ("cidr-holding-earlier", ["198.51.100.64/26", "198.51.100.0/24"], {1: 0}),
    ("address-inside-range", ["198.51.100.10-198.51.100.20", "198.51.100.15"], {1: 0}),
    ("range-holding-address", ["198.51.100.15", "198.51.100.10-198.51.100.20"], {1: 0}),
    ("range-across-cidr-end", ["198.51.100.0/25", "198.51.100.120-198.51.100.130"], {1: 0}),
    ("range-just-after-cidr", ["198.51.100.0/25", "198.51.100.128-198.51.100.130"], {}),
    ("cidr-with-host-bits-is-its-network", ["198.51.100.7/24", "198.51.100.200"], {1: 0}),
    (
        "identical-entries-name-the-first",
        ["198.51.100.7", "198.51.100.7", "198.51.100.7"],
        {1: 0, 2: 0},
    ),
    (
        # Entry 2 holds entry 0 (which starts inside it) and starts inside entry 1: the first wins.
        "lowest-index-wins-either-way",
        ["198.51.100.150", "198.51.100.0/25", "198.51.100.100-198.51.100.200"],
        {2: 0},
    ),
    (
        "only-the-overlapping-one-is-named",
        ["198.51.100.0/26", "198.51.100.128/25", "198.51.100.100-198.51.100.200"],
        {2: 1},
    ),
    (
        # A refused entry still counts: a later one overlapping only it names it.
        "refused-entry-still-counts",
        ["198.51.100.0/25", "198.51.100.100-198.51.100.200", "198.51.100.150"],
        {1: 0, 2: 1},
    ),
    (
        "ipv4-and-ipv6-apart",
        ["2001:db8::/64", "198.51.100.0/24", "2001:db8::5", "198.51.100.7"],
        {2: 0, 3: 1},
    ),
    # 198.51.100.0/24 and ::c633:6400/120 are the same integers in two families.
    ("same-integers-other-family", ["198.51.100.0/24", "::c633:6400/120"], {}),
    (
        # Up to 250 networks each when split into CIDRs; one interval each here.
        "wide-ipv6-ranges-adjacent",
        ["2001:db8::1-2001:db8::ffff:ffff:ffff:fffe", "2001:db8::ffff:ffff:ffff:ffff"],
        {},
    ),
    (
        "wide-ipv6-range-and-cidr",
        ["2001:db8::1-2001:db8::ffff:ffff:ffff:fffe", "2001:db8::/64"],
        {1: 0},
    ),
    (
        "malformed-entries-skipped",
        ["198.51.100.0/24", "not an address", 7, "198.51.100.1"],
        {3: 0},
    ),
]


@pytest.mark.parametrize(("eips", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_overlapping_eips_name_the_first_earlier_entry(
    eips: list[Any], expected: dict[int, int]
) -> None:
    assert refused(eips) == expected
    assert reference(eips) == expected


def reference(eips: list[Any]) -> dict[int, int]:
    """The rule as it was written before (quadratic): every network of each entry against every
    network of each earlier one, in list order."""
    seen: list[tuple[int, IpNetwork]] = []
    found: dict[int, int] = {}
    for index, value in enumerate(eips):
        if not isinstance(value, str):
            continue
        try:
            networks = eip_networks(value)
        except ValueError:
            continue
        clash = next(
            (
                other_index
                for other_index, other in seen
                for network in networks
                if network.version == other.version and network.overlaps(other)
            ),
            None,
        )
        if clash is not None:
            found[index] = clash
        seen += [(index, network) for network in networks]
    return found


def _v4(offset: int) -> str:
    return str(ipaddress.IPv4Address("198.51.100.0") + offset)


def _v6(offset: int) -> str:
    return str(ipaddress.IPv6Address("2001:db8::") + offset)


@st.composite
def eip(draw: st.DrawFn) -> str:
    """One Eip address in a small space (so entries often touch): one address, a CIDR, or a
    first-last range, IPv4 or IPv6."""
    address = draw(st.sampled_from([_v4, _v6]))
    form = draw(st.sampled_from(["address", "cidr", "range"]))
    first = draw(st.integers(0, 255))
    if form == "address":
        return address(first)
    if form == "cidr":
        length = draw(st.integers(0, 6))
        prefix = (32 if address is _v4 else 128) - length
        return f"{address(first)}/{prefix}"
    return f"{address(first)}-{address(first + draw(st.integers(0, 40)))}"


@settings(max_examples=200)
@given(st.lists(eip(), max_size=30))
def test_the_rule_names_what_the_pairwise_comparison_named(eips: list[str]) -> None:
    assert refused(eips) == reference(eips)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 12)), max_size=40))
def test_first_overlaps_is_the_lowest_earlier_interval_sharing_a_point(
    pairs: list[tuple[int, int]],
) -> None:
    intervals = [(start, start + length) for start, length in pairs]
    expected = [
        next(
            (j for j, (s, e) in enumerate(intervals[:i]) if max(s, start) <= min(e, end)),
            None,
        )
        for i, (start, end) in enumerate(intervals)
    ]
    assert first_overlaps(intervals) == expected


def test_first_overlaps_of_nothing_and_of_one() -> None:
    assert first_overlaps([]) == []
    assert first_overlaps([(5, 5)]) == [None]
