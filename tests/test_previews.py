"""Minimal previews: an edit of a stack changes exactly the resources it must, and nothing else.

Each scenario runs the program under mocks before and after one edit and compares the two runs
as ``pulumi preview`` would (tests/harness.preview_diff: by resource name and inputs). The
expected created / updated / deleted sets are the minimum for the edit, written out as data,
with the reason beside each.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from tests.support.harness import preview_diff, run_program

Config = dict[str, Any]


def peer(address: str) -> dict[str, Any]:
    return {"address": address, "asn": 50001}


MULTI_LEAF: Config = {
    "openelb": {"version": "0.5", "namespace": "openelb-system", "mode": "bgp"},
    "topology": {
        "kind": "multi-leaf",
        "replicasPerLeaf": 2,
        "leaves": [
            {
                "name": "leaf1",
                "nodes": ["master1", "worker-p001", "worker-p004"],
                "peer": peer("192.168.0.5"),
            },
            {
                "name": "leaf2",
                "nodes": ["worker-p002", "worker-p003", "worker-p005"],
                "peer": peer("192.168.1.5"),
            },
        ],
    },
}
SINGLE_ROUTER: Config = {
    "topology": {"kind": "single-router", "nodes": ["master1", "worker-p002", "worker-p003"]}
}


def edited(base: Config, edit: Callable[[Config], object]) -> Config:
    config = copy.deepcopy(base)
    edit(config)
    return config


def leaf(config: Config, name: str) -> dict[str, Any]:
    leaves: list[dict[str, Any]] = config["topology"]["leaves"]
    (found,) = [item for item in leaves if item["name"] == name]
    return found


def move(config: Config, node: str, source: str, target: str) -> None:
    leaf(config, source)["nodes"].remove(node)
    leaf(config, target)["nodes"].append(node)


def reverse_everything(config: Config) -> None:
    leaves = config["topology"]["leaves"]
    leaves.reverse()
    for item in leaves:
        item["nodes"].reverse()


@dataclass(frozen=True)
class Scenario:
    base: Config
    edit: Callable[[Config], object]
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    why: str = ""


# Resource names without the component's "openelb-ha-" prefix.
SCENARIOS: dict[str, Scenario] = {
    # No membership change touches a BgpPeer: its spec change would reset every session of the
    # leaf at once (docs/behaviour.md); the speakers learn membership by rolling instead.
    "add-node-to-leaf": Scenario(
        MULTI_LEAF,
        lambda c: leaf(c, "leaf2")["nodes"].append("worker-p006"),
        created=("node-worker-p006",),
        updated=("workload",),
        why="a new node's labels; the 0.5 manager's node list (its pods' node affinity) and "
        "membership hash, so it rolls; no BgpPeer; the replica count depends on leaves, not nodes",
    ),
    "remove-node": Scenario(
        MULTI_LEAF,
        lambda c: leaf(c, "leaf1")["nodes"].remove("worker-p004"),
        updated=("workload",),
        deleted=("node-worker-p004",),
        why="the dropped node's labels are released; the 0.5 manager rolls off it (a Deployment "
        "keeps a pod whose nodeSelector stops matching); no BgpPeer",
    ),
    "move-node-between-leaves": Scenario(
        MULTI_LEAF,
        lambda c: move(c, "worker-p004", "leaf1", "leaf2"),
        updated=("node-worker-p004", "workload"),
        why="the node's rack label; the manager rolls so the moved node's replica peers with its "
        "new router and every replica re-reads the next hops; no BgpPeer",
    ),
    "add-other-node": Scenario(
        MULTI_LEAF,
        lambda c: leaf(c, "leaf1").update(otherNodes=["worker-p009"]),
        created=("node-worker-p009",),
        updated=("workload",),
        why="the rack label on a node that runs no OpenELB; the speakers roll to announce it",
    ),
    "change-replicas": Scenario(
        SINGLE_ROUTER,
        lambda c: c["topology"].update(replicas=2),
        updated=("workload",),
        why="the replica count is only in the workload patch",
    ),
    "change-replicas-per-leaf": Scenario(
        MULTI_LEAF,
        lambda c: c["topology"].update(replicasPerLeaf=3),
        updated=("workload",),
        why="replicas = replicasPerLeaf x leaves, only in the workload patch",
    ),
    "add-node-default-replicas": Scenario(
        SINGLE_ROUTER,
        lambda c: c["topology"]["nodes"].append("worker-p004"),
        created=("node-worker-p004",),
        updated=("workload",),
        why="without `replicas`, one replica per listed node: the count follows the nodes",
    ),
    "add-leaf": Scenario(
        MULTI_LEAF,
        lambda c: c["topology"]["leaves"].append(
            {"name": "leaf3", "nodes": ["worker-p007", "worker-p008"], "peer": peer("10.0.3.1")}
        ),
        created=("node-worker-p007", "node-worker-p008", "bgppeer-10-0-3-1"),
        updated=("workload",),
        why="the new leaf's nodes and peer; replicas grow by replicasPerLeaf",
    ),
    "remove-leaf": Scenario(
        MULTI_LEAF,
        lambda c: c["topology"]["leaves"].pop(),
        updated=("workload",),
        deleted=("node-worker-p002", "node-worker-p003", "node-worker-p005", "bgppeer-192-168-1-5"),
        why="the leaf's nodes and peer go; replicas shrink by replicasPerLeaf",
    ),
    "change-peer-asn": Scenario(
        MULTI_LEAF,
        lambda c: leaf(c, "leaf1")["peer"].update(asn=65010),
        updated=("bgppeer-192-168-0-5", "workload"),
        why="one leaf router's settings are in its BgpPeer, and the announcing workload records "
        "its digest (annotation openelb-ha/bgppeers on the workload itself: nothing rolls) so "
        "that the preview can name the leaf whose sessions the change resets",
    ),
    "reorder-nodes-and-leaves": Scenario(
        MULTI_LEAF,
        reverse_everything,
        why="names come from node and leaf names, never list positions",
    ),
    "reorder-nodes-single-router": Scenario(
        SINGLE_ROUTER,
        lambda c: c["topology"]["nodes"].reverse(),
        why="names come from node names, never list positions",
    ),
    # A stack also holds keys of other namespaces; the provider reads kubernetes:context (which
    # kubeconfig context to use), the program must not. Under mocks there is no provider, so
    # this shows the program's own resources do not depend on it.
    "unrelated-key": Scenario(
        MULTI_LEAF,
        lambda c: c.update({"kubernetes:context": "prod-admin@prod"}),
        why="a key outside openelb-ha: nothing of this program depends on it",
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_a_preview_shows_exactly_the_minimal_change(scenario: Scenario) -> None:
    before = run_program(scenario.base)
    after = run_program(edited(scenario.base, scenario.edit))
    diff = preview_diff(before, after)

    def named(keys: tuple[str, ...]) -> list[str]:
        return sorted(f"openelb-ha-{key}" for key in keys)

    assert (diff.created, diff.updated, diff.deleted) == (
        named(scenario.created),
        named(scenario.updated),
        named(scenario.deleted),
    ), scenario.why


def test_the_unrelated_key_reaches_the_program_as_stack_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Guards the scenario above against testing nothing: while the program reads its own keys,
    # kubernetes:context is in the same stack configuration.
    seen: list[str | None] = []
    original = pulumi.Config.get

    def spy(self: pulumi.Config, key: str, *args: Any, **kwargs: Any) -> str | None:
        if key == "topology":
            seen.append(pulumi.Config("kubernetes").get("context"))
        value: str | None = original(self, key, *args, **kwargs)
        return value

    monkeypatch.setattr(pulumi.Config, "get", spy)
    run_program(edited(MULTI_LEAF, SCENARIOS["unrelated-key"].edit))
    assert seen == ["prod-admin@prod"]
