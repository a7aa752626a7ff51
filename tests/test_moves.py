"""Membership changes as a preview would show them (two runs under mocks, compared).

A BgpPeer spec change resets every session of that leaf's router at once (GoBGP UpdatePeer,
docs/behaviour.md), so no join, leave or move may change a BgpPeer: the peers select the rack
and HA labels only. Membership reaches the speakers by rolling them (a pod-template annotation),
one at a time, for exactly the changes in the table of docs/behaviour.md ("Which membership
changes roll the speakers"); reordering the stack file changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.harness import FakeCluster, Run, preview_diff, run_program

Leaves = dict[str, list[str]]
LEAVES: Leaves = {
    "leaf1": ["n1", "n2", "n3"],
    "leaf2": ["n4", "n5", "n6"],
    "leaf3": ["n7", "n8"],
}


def stack(
    leaves: Leaves, local_asns: bool = False, others: Leaves | None = None, **extra: Any
) -> dict[str, Any]:
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
                    **({"otherNodes": (others or {})[name]} if (others or {}).get(name) else {}),
                }
                for name, nodes in leaves.items()
            ],
        },
        **extra,
    }


def run(
    leaves: Leaves, local_asns: bool = False, others: Leaves | None = None, **extra: Any
) -> Run:
    return run_program(stack(leaves, local_asns, others, **extra), cluster=FakeCluster())


def edited(edit: Callable[[Leaves], object], leaves: Leaves = LEAVES) -> Leaves:
    copied = copy.deepcopy(leaves)
    edit(copied)
    return copied


def move(leaves: Leaves) -> None:
    leaves["leaf1"].remove("n3")
    leaves["leaf2"].append("n3")


def join(leaves: Leaves) -> None:
    leaves["leaf3"].append("n9")


def leave(leaves: Leaves) -> None:
    leaves["leaf1"].remove("n3")


def selector(run: Run, leaf: str) -> Any:
    (peer,) = [
        r
        for r in run.of_type("kubernetes:network.kubesphere.io/v1alpha2:BgpPeer")
        if r.inputs["spec"]["nodeSelector"]["matchLabels"]["openelb.kubesphere.io/rack"] == leaf
    ]
    return peer.inputs["spec"]["nodeSelector"]


V06: dict[str, Any] = {"openelb": {"version": "0.6"}}
BGP: dict[str, Any] = {"bgp": {"as": 64512}}


@dataclass(frozen=True)
class Change:
    edit: Callable[[Leaves], object]
    version: dict[str, Any]
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    why: str = ""


# Resource names without the component's "openelb-ha-" prefix. No row updates a BgpPeer.
CHANGES: dict[str, Change] = {
    "join-v0.5": Change(
        join,
        {},
        created=("node-n9",),
        updated=("workload",),
        why="the manager's pods list their nodes (leave safety), so a join rolls them; the "
        "rolled replicas also announce n9 as a next hop",
    ),
    "leave-v0.5": Change(
        leave,
        {},
        updated=("workload",),
        deleted=("node-n3",),
        why="a Deployment keeps a pod on a node that stops matching: the roll moves it off n3",
    ),
    "move-v0.5": Change(
        move,
        {},
        updated=("node-n3", "workload"),
        why="n3's replica keeps its old rack, ASN and router until it restarts",
    ),
    "join-v0.6": Change(
        join,
        V06,
        created=("node-n9",),
        updated=("workload",),
        why="a template cannot tell a join from the second half of a move",
    ),
    "leave-v0.6": Change(
        leave,
        V06,
        updated=("workload",),
        deleted=("node-n3",),
        why="a template cannot tell a leave from the first half of a move",
    ),
    "move-v0.6": Change(
        move,
        V06,
        updated=("node-n3", "workload"),
        why="no Node watch in a v0.6.0 speaker: n3's speaker keeps leaf1's router, leaf1's "
        "speakers keep announcing n3",
    ),
    "move-v0.6-with-bgp": Change(
        move,
        {**V06, **BGP},
        updated=("node-n3", "workload"),
        why="as above; asPerRack lists leaves, not nodes, so the BgpConf does not change",
    ),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_membership_changes_roll_the_speakers_and_change_no_bgp_peer(change: Change) -> None:
    before = run(LEAVES, **change.version)
    after = run(edited(change.edit), **change.version)
    diff = preview_diff(before, after)

    def named(keys: tuple[str, ...]) -> list[str]:
        return sorted(f"openelb-ha-{key}" for key in keys)

    assert (diff.created, diff.updated, diff.deleted) == (
        named(change.created),
        named(change.updated),
        named(change.deleted),
    ), change.why
    assert membership(before) != membership(after)


@pytest.mark.parametrize(
    ("before_nodes", "after_nodes"),
    [
        pytest.param(["n1", "n2"], ["n1", "n2", "n3"], id="a join"),
        pytest.param(["n1", "n2", "n3"], ["n1", "n2"], id="a leave"),
        pytest.param(["n1", "n2"], ["n3", "n4"], id="every node replaced"),
    ],
)
def test_a_v06_single_router_stack_rolls_no_speaker_but_up_waits_for_the_daemonset(
    before_nodes: list[str], after_nodes: list[str]
) -> None:
    """No rack: a speaker's peering, ASN and next hops (every node, pkg/speaker/manager.go:
    394-397@v0.6.0) do not depend on which nodes are listed, so the pod template stays and no
    speaker restarts. The DaemonSet patch is still updated, on its own annotation only, so
    Pulumi waits for every scheduled speaker (the joining ones) to be available before it
    releases the leaving nodes' labels at the end (``speaker_nodes_digest``)."""

    def single(nodes: list[str]) -> dict[str, Any]:
        return {**V06, "topology": {"kind": "single-router", "nodes": nodes}}

    before = run_program(single(before_nodes), cluster=FakeCluster())
    after = run_program(single(after_nodes), cluster=FakeCluster())
    assert preview_diff(before, after).updated == ["openelb-ha-workload"]
    old, new = (run.named("openelb-ha-workload").inputs for run in (before, after))
    assert old["spec"] == new["spec"]
    assert "metadata" not in new["spec"]["template"]
    changed = {
        key
        for key in {**old["metadata"]["annotations"], **new["metadata"]["annotations"]}
        if old["metadata"]["annotations"].get(key) != new["metadata"]["annotations"].get(key)
    }
    assert changed <= {"openelb-ha/speaker-nodes", "pulumi.com/timeoutSeconds"}
    assert "openelb-ha/speaker-nodes" in changed


def test_a_moved_node_is_selected_by_its_new_leafs_peer_only_through_its_labels() -> None:
    after = run(edited(move))
    labels = after.named("openelb-ha-node-n3").inputs["metadata"]["labels"]
    assert labels == {"lb.kubesphere.io/v1alpha1": "openelb", "openelb.kubesphere.io/rack": "leaf2"}
    assert [leaf for leaf in LEAVES if matches(selector(after, leaf), labels)] == ["leaf2"]
    # The peer's spec is the same before and after; the selector is constant per leaf.
    assert selector(after, "leaf2") == {
        "matchLabels": {
            "openelb.kubesphere.io/rack": "leaf2",
            "lb.kubesphere.io/v1alpha1": "openelb",
        }
    }


def test_other_nodes_are_never_selected_by_a_peer_and_roll_the_speakers_when_they_change() -> None:
    others = {"leaf1": ["o1"]}
    before, after = run(LEAVES), run(LEAVES, others=others)
    o1 = after.named("openelb-ha-node-o1").inputs["metadata"]["labels"]
    assert o1 == {"openelb.kubesphere.io/rack": "leaf1"}
    assert not any(matches(selector(after, leaf), o1) for leaf in LEAVES)
    # o1 becomes a next hop of leaf1's speakers only when they restart.
    diff = preview_diff(before, after)
    assert (diff.created, diff.updated) == (["openelb-ha-node-o1"], ["openelb-ha-workload"])


def test_a_stack_without_other_nodes_keeps_its_membership_hash() -> None:
    # The hash of a stack that does not use otherNodes is the one it had before the key existed
    # (tests/golden/prod.yaml): upgrading the program rolls nothing for it.
    leaves = {"leaf1": ["master1", "worker-p001"], "leaf2": ["worker-p002", "worker-p003"]}
    assert membership(run(leaves)) == "c71e89eed0d02456"


def test_a_dropped_node_cannot_get_a_rolled_pod_although_its_labels_go_last() -> None:
    leaves = edited(leave)
    after = run(leaves)
    affinity = after.named("openelb-ha-workload").inputs["spec"]["template"]["spec"]["affinity"]
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
        for node in sorted(all_nodes(leaves))
    ]


def test_adding_a_node_back_rolls_the_workload_to_the_same_pod_template() -> None:
    first, dropped, again = run(LEAVES), run(edited(leave)), run(LEAVES)
    assert membership(first) != membership(dropped)
    assert membership(first) == membership(again)


@pytest.mark.parametrize("extra", [{}, V06], ids=["v0.5", "v0.6"])
def test_reordering_nodes_and_leaves_changes_nothing(extra: dict[str, Any]) -> None:
    reordered = {name: nodes[::-1] for name, nodes in reversed(LEAVES.items())}
    assert list(reordered) != list(LEAVES)
    assert preview_diff(run(LEAVES, **extra), run(reordered, **extra)).changed == []


def all_nodes(leaves: Leaves) -> list[str]:
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
