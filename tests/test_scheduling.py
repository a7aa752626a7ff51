"""The plan's scheduler model: where replicas land under one-per-node and hard spreads.

``place`` is incremental (a heap of node groups; ``plan/scheduling.py``); the one-replica-at-a-
time rule it implements is kept below, written plainly, as the reference both are held to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openelb_component.plan.scheduling import place

RACK, ZONE, HOST = "rack", "zone", "kubernetes.io/hostname"


def spread(key: str, max_skew: int = 1) -> dict[str, Any]:
    return {"topologyKey": key, "maxSkew": max_skew, "whenUnsatisfiable": "DoNotSchedule"}


def reference(
    replicas: int,
    eligible: Mapping[str, Mapping[str, str]],
    capacity: int,
    spreads: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, int], int]:
    """The rule as it was written before (quadratic or worse): every replica, every node, every
    domain recounted."""
    nodes = {
        node: labels
        for node, labels in eligible.items()
        if all(s.get("topologyKey") in labels for s in spreads)
    }
    pods = dict.fromkeys(nodes, 0)

    def fits(node: str) -> bool:
        if pods[node] >= capacity:
            return False
        for s in spreads:
            key = str(s["topologyKey"])
            counts: dict[str, int] = {}
            for other, labels in nodes.items():
                counts[labels[key]] = counts.get(labels[key], 0) + pods[other]
            if counts[nodes[node][key]] + 1 - min(counts.values()) > int(s.get("maxSkew", 1)):
                return False
        return True

    for placed in range(replicas):
        candidates = sorted((pods[node], node) for node in nodes if fits(node))
        if not candidates:
            return pods, replicas - placed
        pods[candidates[0][1]] += 1
    return pods, 0


def racks(**members: str) -> dict[str, dict[str, str]]:
    """Nodes by rack: racks(a="a1 a2", b="b1")."""
    return {
        node: {RACK: rack, HOST: node} for rack, names in members.items() for node in names.split()
    }


CASES: list[
    tuple[str, int, dict[str, dict[str, str]], int, list[dict[str, Any]], dict[str, int], int]
] = [
    (
        "one-per-node-uneven-racks",
        5,
        racks(a="a1 a2 a3", b="b1", c="c1"),
        1,
        [spread(RACK)],
        {"a1": 1, "a2": 1, "a3": 0, "b1": 1, "c1": 1},
        1,
    ),
    (
        "no-spread-fewest-pods-first",
        3,
        racks(a="n1 n2"),
        3,
        [],
        {"n1": 2, "n2": 1},
        0,
    ),
    (
        "a-node-without-the-key-is-never-used",
        2,
        {"x": {RACK: "a"}, "y": {}},
        1,
        [spread(RACK)],
        {"x": 1},
        1,
    ),
    (
        "max-skew-two",
        4,
        racks(a="a1 a2 a3", b="b1"),
        1,
        [spread(RACK, 2)],
        {"a1": 1, "a2": 1, "a3": 1, "b1": 1},
        0,
    ),
    (
        "max-skew-zero-places-nothing",
        2,
        racks(a="a1", b="b1"),
        1,
        [spread(RACK, 0)],
        {"a1": 0, "b1": 0},
        2,
    ),
    (
        "two-spreads-both-honoured",
        4,
        {
            "a1": {RACK: "a", ZONE: "z1"},
            "a2": {RACK: "a", ZONE: "z2"},
            "b1": {RACK: "b", ZONE: "z1"},
            "b2": {RACK: "b", ZONE: "z2"},
        },
        1,
        [spread(RACK), spread(ZONE)],
        {"a1": 1, "a2": 1, "b1": 1, "b2": 1},
        0,
    ),
    (
        # The v0.6 controller's spread over hostnames, without a one-pod-per-node rule.
        "hostname-spread-wraps-around",
        4,
        racks(a="n1 n2 n3"),
        4,
        [spread(HOST)],
        {"n1": 2, "n2": 1, "n3": 1},
        0,
    ),
    ("no-nodes", 2, {}, 1, [], {}, 2),
    ("no-replicas", 0, racks(a="n1"), 1, [spread(RACK)], {"n1": 0}, 0),
]


@pytest.mark.parametrize(
    ("replicas", "nodes", "capacity", "spreads", "pods", "pending"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_placement(
    replicas: int,
    nodes: dict[str, dict[str, str]],
    capacity: int,
    spreads: list[dict[str, Any]],
    pods: dict[str, int],
    pending: int,
) -> None:
    assert place(replicas, nodes, capacity, spreads) == (pods, pending)
    assert reference(replicas, nodes, capacity, spreads) == (pods, pending)


@st.composite
def scheduling_problem(
    draw: st.DrawFn,
) -> tuple[int, dict[str, dict[str, str]], int, list[dict[str, Any]]]:
    """Up to 12 nodes in up to 4 racks and 2 zones (a label sometimes missing), up to 3 hard
    spreads with maxSkew 0 to 3, a capacity of 1 to 4 pods per node, 0 to 16 replicas."""
    nodes: dict[str, dict[str, str]] = {}
    for index in range(draw(st.integers(0, 12))):
        labels = {HOST: f"n{index:02d}"}
        if rack := draw(st.sampled_from(["a", "b", "c", "d", None])):
            labels[RACK] = rack
        if zone := draw(st.sampled_from(["z1", "z2", None])):
            labels[ZONE] = zone
        nodes[f"n{index:02d}"] = labels
    spreads = draw(
        st.lists(
            st.builds(spread, st.sampled_from([RACK, ZONE, HOST]), st.integers(0, 3)),
            max_size=3,
        )
    )
    return draw(st.integers(0, 16)), nodes, draw(st.integers(1, 4)), spreads


@settings(max_examples=200)
@given(scheduling_problem())
def test_place_agrees_with_the_one_replica_at_a_time_rule(
    problem: tuple[int, dict[str, dict[str, str]], int, list[dict[str, Any]]],
) -> None:
    assert place(*problem) == reference(*problem)
