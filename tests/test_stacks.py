"""Every example stack in stacks/ runs through the whole program under mocks.

A new stack file must get an entry in EXPECTED, so no example goes untested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openelb_component.stackfile import stack_name
from tests.harness import run_program, stack_config, stack_files

STACKS = stack_files()

EXPECTED: dict[str, dict[str, Any]] = {
    "dev": {
        "nodes": ["master1", "worker-p002"],
        "nodes_by_leaf": {},
        "replicas": 2,
        "node_selector": {"kubernetes.io/os": "linux", "lb.kubesphere.io/v1alpha1": "openelb"},
        "bgp_peers": [],
    },
    "prod": {
        "nodes": ["master1", "worker-p001", "worker-p002", "worker-p003"],
        "nodes_by_leaf": {
            "leaf1": ["master1", "worker-p001"],
            "leaf2": ["worker-p002", "worker-p003"],
        },
        "replicas": 4,
        "node_selector": {"kubernetes.io/os": "linux", "lb.kubesphere.io/v1alpha1": "openelb"},
        "bgp_peers": ["openelb-ha-leaf1", "openelb-ha-leaf2"],
    },
    "racks": {
        "nodes": ["node-a1", "node-a2", "node-a3", "node-b1", "node-b2", "node-c1", "node-c2"],
        "nodes_by_leaf": {
            "rack-a": ["node-a1", "node-a2", "node-a3"],
            "rack-b": ["node-b1", "node-b2"],
            "rack-c": ["node-c1", "node-c2"],
        },
        "replicas": 6,
        "node_selector": {"kubernetes.io/os": "linux", "lb.kubesphere.io/v1alpha1": "openelb"},
        "bgp_peers": ["openelb-ha-rack-a", "openelb-ha-rack-b", "openelb-ha-rack-c"],
    },
}


def test_every_stack_file_has_expectations() -> None:
    assert sorted(stack_name(path) for path in STACKS) == sorted(EXPECTED)


@pytest.mark.parametrize("stack", STACKS, ids=[stack_name(p) for p in STACKS])
def test_stack_runs_and_exports_what_it_declares(stack: Path) -> None:
    run = run_program(stack_config(stack))
    assert run.outputs == EXPECTED[stack_name(stack)]
    assert run.warnings == []
