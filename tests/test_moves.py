"""Membership changes as a preview would show them (two runs under mocks, compared).

OpenELB ignores rack-label changes (docs/design.md §3), so a move must show up in the spec of
exactly the two affected BgpPeers; a dropped node must roll the v0.5 manager (a Deployment keeps
a pod whose nodeSelector stops matching) and leave its own leaf's peer; reordering the stack file
must change nothing.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.harness import FakeCluster, Run, preview_diff, run_program

LEAVES = {
    "leaf1": ["n1", "n2", "n3"],
    "leaf2": ["n4", "n5", "n6"],
    "leaf3": ["n7", "n8"],
}


def stack(leaves: dict[str, list[str]], local_asns: bool = False, **extra: Any) -> dict[str, Any]:
    """Every leaf with its own router; with ``local_asns`` each also speaks its own ASN."""
    return {
        "topology": {
            "kind": "multi-leaf",
            "leaves": [
                {
                    "name": name,
                    "nodes": nodes,
                    "peer": {"address": f"10.0.{name[-1]}.1", "asn": 65000},
                    **({"localAsn": 64600 + int(name[-1])} if local_asns else {}),
                }
                for name, nodes in leaves.items()
            ],
        },
        **extra,
    }


def run(leaves: dict[str, list[str]], local_asns: bool = False, **extra: Any) -> Run:
    return run_program(stack(leaves, local_asns, **extra), cluster=FakeCluster())


def moved(node: str, source: str, target: str) -> dict[str, list[str]]:
    leaves = copy.deepcopy(LEAVES)
    leaves[source].remove(node)
    leaves[target].append(node)
    return leaves


def selector(run: Run, leaf: str) -> Any:
    return run.named(f"openelb-ha-bgppeer-{leaf}").inputs["spec"]["nodeSelector"]


V06: dict[str, Any] = {"openelb": {"version": "0.6"}}
BGP: dict[str, Any] = {"bgp": {"as": 64512}}


@pytest.mark.parametrize(
    ("extra", "local_asns", "workload_rolls"),
    [
        # v0.5: a replica is placed by the rack spread, and reads its rack's ASN, only at start.
        ({}, False, True),
        (BGP, True, True),
        # v0.6: the speakers follow the labels by themselves; they restart only when a node's
        # per-rack ASN changes (the controller, which reads no rack, never does).
        (V06, False, False),
        ({**V06, **BGP}, True, True),
    ],
    ids=["v0.5", "v0.5-per-rack-asn", "v0.6", "v0.6-per-rack-asn"],
)
def test_moving_a_node_changes_its_patch_and_exactly_the_two_affected_peers(
    extra: dict[str, Any], local_asns: bool, workload_rolls: bool
) -> None:
    before = run(LEAVES, local_asns, **extra)
    after = run(moved("n3", "leaf1", "leaf2"), local_asns, **extra)
    diff = preview_diff(before, after)
    assert (diff.created, diff.deleted) == ([], [])
    assert diff.updated == [
        "openelb-ha-bgppeer-leaf1",
        "openelb-ha-bgppeer-leaf2",
        "openelb-ha-node-n3",
        *(["openelb-ha-workload"] if workload_rolls else []),
    ]
    # The old leaf's peer no longer lists n3, whatever its rack label still says; the new
    # leaf's peer lists it and waits for its new rack label.
    assert "n3" not in selector(after, "leaf1")["matchExpressions"][0]["values"]
    assert "n3" in selector(after, "leaf2")["matchExpressions"][0]["values"]
    n3_patch = after.urn_of("openelb-ha-node-n3")
    assert n3_patch in after.named("openelb-ha-bgppeer-leaf2").dependencies
    assert after.named("openelb-ha-node-n3").inputs["metadata"]["labels"] == {
        "lb.kubesphere.io/v1alpha1": "openelb",
        "openelb.kubesphere.io/rack": "leaf2",
        "openelb-ha/node": "n3",
    }


def test_a_moved_node_leaves_its_old_leaf_before_and_after_its_labels_change() -> None:
    after = run(moved("n3", "leaf1", "leaf2"))
    old_rack = {"openelb.kubesphere.io/rack": "leaf1", "openelb-ha/node": "n3"}
    new_rack = {**old_rack, "openelb.kubesphere.io/rack": "leaf2"}
    for labels in (old_rack, new_rack):
        assert not matches(selector(after, "leaf1"), labels)
        assert not matches(selector(after, "leaf3"), labels)
    assert matches(selector(after, "leaf2"), new_rack)


def test_dropping_a_node_changes_its_patch_the_workload_and_its_own_leafs_peer() -> None:
    """No peer spec can change on every move yet on no drop (docs/behaviour.md, "When nodes move,
    join or leave"): a drop takes the node off its own leaf's peer, and no other peer changes."""
    leaves = copy.deepcopy(LEAVES)
    leaves["leaf1"].remove("n3")
    before, after = run(LEAVES), run(leaves)
    diff = preview_diff(before, after)
    assert (diff.created, diff.deleted) == ([], ["openelb-ha-node-n3"])
    assert diff.updated == ["openelb-ha-bgppeer-leaf1", "openelb-ha-workload"]
    old, new = selector(before, "leaf1"), selector(after, "leaf1")
    assert old["matchExpressions"][0]["values"] == ["n1", "n2", "n3"]
    assert new["matchExpressions"][0]["values"] == ["n1", "n2"]
    # Its session with leaf1's router closes now, before Pulumi releases its labels (last).
    assert not matches(new, {"openelb.kubesphere.io/rack": "leaf1", "openelb-ha/node": "n3"})
    # The rolled pods cannot land on n3 again, although Pulumi removes its labels only after
    # every update (deletes come last).
    affinity = after.named("openelb-ha-workload").inputs["spec"]["template"]["spec"]["affinity"]
    (term,) = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert term == {
        "matchFields": [
            {"key": "metadata.name", "operator": "In", "values": sorted(all_nodes(leaves))}
        ]
    }
    assert membership(before) != membership(after)


def test_v06_speakers_do_not_restart_when_a_node_joins_or_leaves() -> None:
    joined = copy.deepcopy(LEAVES)
    joined["leaf3"].append("n9")
    before, after = run(LEAVES, **V06), run(joined, **V06)
    assert preview_diff(before, after).updated == ["openelb-ha-bgppeer-leaf3"]
    assert preview_diff(after, before).updated == ["openelb-ha-bgppeer-leaf3"]


def test_adding_a_node_changes_its_patch_the_workload_and_its_own_leafs_peer() -> None:
    leaves = copy.deepcopy(LEAVES)
    leaves["leaf3"].append("n9")
    diff = preview_diff(run(LEAVES), run(leaves))
    assert (diff.created, diff.deleted) == (["openelb-ha-node-n9"], [])
    assert diff.updated == ["openelb-ha-bgppeer-leaf3", "openelb-ha-workload"]


def test_a_long_node_name_is_listed_by_a_valid_label_value() -> None:
    node = "worker-" + "a" * 60 + ".rack-a.example.com"
    leaves = {"leaf1": ["n1", node], "leaf2": ["n4", "n5"]}
    after = run(leaves)
    (value,) = [v for v in selector(after, "leaf1")["matchExpressions"][0]["values"] if v != "n1"]
    assert len(value) <= 63 and value.startswith("worker-aaaa")
    labels = after.named(f"openelb-ha-node-{node}").inputs["metadata"]["labels"]
    assert matches(selector(after, "leaf1"), labels)
    assert not matches(selector(after, "leaf2"), labels)


def test_adding_a_node_back_rolls_the_workload_to_the_same_pod_template() -> None:
    leaves = copy.deepcopy(LEAVES)
    leaves["leaf1"].remove("n3")
    first, dropped, again = run(LEAVES), run(leaves), run(LEAVES)
    assert membership(first) != membership(dropped)
    assert membership(first) == membership(again)


def test_reordering_nodes_and_leaves_changes_nothing() -> None:
    reordered = {name: nodes[::-1] for name, nodes in reversed(LEAVES.items())}
    assert list(reordered) != list(LEAVES)
    assert preview_diff(run(LEAVES), run(reordered)).changed == []


def all_nodes(leaves: dict[str, list[str]]) -> list[str]:
    return [node for nodes in leaves.values() for node in nodes]


def membership(run: Run) -> str:
    annotations = run.named("openelb-ha-workload").inputs["spec"]["template"]["metadata"]
    value: str = annotations["annotations"]["openelb-ha/membership"]
    return value


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector as metav1.LabelSelectorAsSelector evaluates it (In/NotIn suffice here)."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present = labels.get(expression["key"]) in expression["values"]
        if present != (expression["operator"] == "In"):
            return False
    return True
