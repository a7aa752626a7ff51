"""Every stack in stacks/ runs through the whole program under mocks.

The example stacks have hand-written expectations in EXPECTED. A stack added for a cluster needs
none: its outputs are compared with the desired state computed from its config without Pulumi
(``derived_expectations``), so adding a stack file breaks nothing here and is still tested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openelb_component.desired import desired_state
from openelb_component.desired.state import CONTROLLER_REPLICAS_IGNORED_WARNING
from openelb_component.plan.stackfile import stack_name
from tests.support.harness import (
    STACKS_DIR,
    applied,
    loaded_config,
    preview_diff,
    run_program,
    stack_config,
    stack_files,
)

STACKS = stack_files()

NODE_SELECTOR = {"kubernetes.io/os": "linux", "lb.kubesphere.io/v1alpha1": "openelb"}

EXPECTED: dict[str, dict[str, Any]] = {
    "dev": {
        "nodes": ["master1", "worker-p002"],
        "nodes_by_leaf": {},
        "replicas": 2,
        "controller_replicas": 2,  # the v0.5 manager is the controller too
        "node_selector": NODE_SELECTOR,
        "bgp_peers": [],
    },
    "dev-v06": {
        "nodes": ["master1", "worker-p002"],
        "nodes_by_leaf": {},
        "replicas": 2,  # speakers: one per listed node
        "controller_replicas": 2,
        "node_selector": NODE_SELECTOR,
        "bgp_peers": [],
    },
    "prod": {
        "nodes": ["master1", "worker-p001", "worker-p002", "worker-p003"],
        "nodes_by_leaf": {
            "leaf1": ["master1", "worker-p001"],
            "leaf2": ["worker-p002", "worker-p003"],
        },
        "replicas": 4,
        "controller_replicas": 4,
        "node_selector": NODE_SELECTOR,
        "bgp_peers": ["openelb-ha-peer-192-168-0-5", "openelb-ha-peer-192-168-1-5"],
    },
    "prod-v06": {
        "nodes": ["master1", "worker-p001", "worker-p002", "worker-p003", "worker-p004"],
        "nodes_by_leaf": {
            "leaf1": ["master1", "worker-p001"],
            "leaf2": ["worker-p002", "worker-p003", "worker-p004"],
        },
        "replicas": 5,  # every listed node runs a speaker, 3 under leaf2
        "controller_replicas": 3,
        "node_selector": NODE_SELECTOR,
        "bgp_peers": ["openelb-ha-peer-192-168-0-5", "openelb-ha-peer-192-168-1-5"],
    },
    "racks": {
        "nodes": ["node-a1", "node-a2", "node-a3", "node-b1", "node-b2", "node-c1", "node-c2"],
        "nodes_by_leaf": {
            "rack-a": ["node-a1", "node-a2", "node-a3"],
            "rack-b": ["node-b1", "node-b2"],
            "rack-c": ["node-c1", "node-c2"],
        },
        "replicas": 6,
        "controller_replicas": 6,
        "node_selector": {"kubernetes.io/os": "linux", "lb.kubesphere.io/v1alpha1": "openelb"},
        "bgp_peers": [
            "openelb-ha-peer-10-1-0-1",
            "openelb-ha-peer-10-2-0-1",
            "openelb-ha-peer-10-3-0-1",
        ],
    },
}


def derived_expectations(stack: Path) -> dict[str, Any]:
    """What the program must export for a stack without an EXPECTED entry: its desired state."""
    state = desired_state(loaded_config(stack_config(stack)))
    return {
        "nodes": list(state.nodes),
        "nodes_by_leaf": {leaf: list(nodes) for leaf, nodes in state.nodes_by_leaf.items()},
        "replicas": state.replicas,
        "controller_replicas": state.controller_replicas,
        "node_selector": dict(state.node_selector),
        "bgp_peers": list(state.bgp_peers),
    }


def test_every_expectation_is_of_a_stack_file() -> None:
    assert set(EXPECTED) <= {stack_name(path) for path in STACKS}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_derived_expectations_are_the_hand_written_ones(name: str) -> None:
    """The derivation a new stack relies on gives exactly what the examples spell out."""
    assert derived_expectations(STACKS_DIR / f"Pulumi.{name}.yaml") == EXPECTED[name]


@pytest.mark.parametrize("stack", STACKS, ids=[stack_name(p) for p in STACKS])
def test_stack_runs_and_exports_what_it_declares(stack: Path) -> None:
    # On a cluster this stack was applied to before: nothing to warn about.
    config = stack_config(stack)
    run = run_program(config, cluster=applied(run_program(config)))
    outputs = dict(run.outputs)
    router_configs = outputs.pop("router_configs")
    expected = EXPECTED.get(stack_name(stack)) or derived_expectations(stack)
    assert outputs == expected
    # One router per BgpPeer (their contents: tests/test_routers.py).
    assert len(router_configs) == len(outputs["bgp_peers"])
    assert all(sorted(texts) == ["bird", "frr"] for texts in router_configs.values())
    # The examples warn about nothing; a stack added for a cluster warns what `validate` says.
    if stack_name(stack) in EXPECTED:
        assert run.warnings == []
    else:
        assert run.warnings == list(desired_state(loaded_config(config)).warnings)


OTHER_LINE = {"0.5": "0.6", "0.6": "0.5"}
WORKLOAD_TYPE = {
    "0.5": "kubernetes:apps/v1:DeploymentPatch",
    "0.6": "kubernetes:apps/v1:DaemonSetPatch",
}


@pytest.mark.parametrize("stack", STACKS, ids=[stack_name(p) for p in STACKS])
def test_a_stack_switches_openelb_line_by_changing_only_version(stack: Path) -> None:
    config = stack_config(stack)
    version = str(config.get("openelb", {}).get("version", "0.5"))
    switched = {**config, "openelb": {**config.get("openelb", {}), "version": OTHER_LINE[version]}}
    before, after = run_program(config), run_program(switched)

    # Node labels and BgpPeers stay as they are; only the OpenELB workloads and the budget move.
    assert set(preview_diff(before, after).changed) == {
        "openelb-ha-workload",
        "openelb-ha-controller",
        "openelb-ha-pdb",
    }
    for run, line in ((before, version), (after, OTHER_LINE[version])):
        assert run.named("openelb-ha-workload").type == WORKLOAD_TYPE[line]
        assert run.named("openelb-ha-pdb").inputs["kind"] == "PodDisruptionBudget"
        assert ("openelb-ha-controller" in run.names()) is (line == "0.6")
        assert set(run.warnings) <= {CONTROLLER_REPLICAS_IGNORED_WARNING}
