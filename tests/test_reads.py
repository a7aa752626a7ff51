"""What the program does with each read (``component/reads.py``): one callback per read, and
what a preview that does not know a read's output makes of it.

The cost itself is measured by ``make bench`` (docs/benchmarks.md), never timed here; these
tests pin its cause: how many Outputs the program's own code builds per read.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

from tests.support.harness import FakeCluster, run_program

PACKAGE = "openelb_component."
NODE = "kubernetes:core/v1:Node"
MANAGER = "kubernetes:apps/v1:Deployment"


def topology(nodes: int) -> dict[str, Any]:
    names = [f"worker-{index:03d}" for index in range(nodes)]
    return {
        "topology": {
            "kind": "multi-leaf",
            "leaves": [
                {
                    "name": "leaf1",
                    "nodes": names[::2],
                    "peer": {"address": "192.0.2.1", "asn": 65001},
                },
                {
                    "name": "leaf2",
                    "nodes": names[1::2],
                    "peer": {"address": "192.0.2.2", "asn": 65001},
                },
            ],
        }
    }


@pytest.fixture
def own_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How often this project's code (not the SDK's) calls ``Output.apply`` and ``Output.all``
    and makes an ``Output`` itself."""
    counts: Counter[str] = Counter()
    apply, gather, make = pulumi.Output.apply, pulumi.Output.all, pulumi.Output.__init__

    def counted(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if sys._getframe(1).f_globals.get("__name__", "").startswith(PACKAGE):
                counts[name] += 1
            return call(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(pulumi.Output, "apply", counted("apply", apply))
    monkeypatch.setattr(pulumi.Output, "all", staticmethod(counted("all", gather)))
    monkeypatch.setattr(pulumi.Output, "__init__", counted("Output", make))
    yield counts


def test_a_node_read_costs_no_output_apply_or_output_all_of_the_programs_own(
    own_calls: Counter[str],
) -> None:
    run_program(topology(4))
    four = Counter(own_calls)
    own_calls.clear()
    run_program(topology(12))
    # 8 more nodes, and not one more Output of the program's own: one coroutine awaits every
    # read's metadata, spec (cordoned?) and status, and the component's outputs are computed
    # from its one Output.
    assert own_calls == four
    # One for every read's findings, one per component output that is known from the stack
    # alone (nodes, nodesByLeaf, replicas, controllerReplicas, nodeSelector, bgpPeers).
    assert four["Output"] == 1 + 6


ADDRESSES = {f"worker-{index:03d}": f"198.51.100.{index + 10}" for index in range(4)}


@pytest.mark.parametrize(
    ("preview", "expected"),
    [(True, rpc.UNKNOWN), (False, "known")],
    ids=["preview-unknown", "update-known"],
)
def test_a_node_read_without_a_status_leaves_router_configs_unknown_in_a_preview(
    preview: bool, expected: str
) -> None:
    """A preview resolves an output a read did not return as unknown: the router configs wait
    for every node's address, as when they were gathered from whole statuses, while the field
    conflicts are still reported: a node patch sets only metadata, so a node's conflicts wait
    for its metadata alone (they also waited for its spec before; a real read always has one)."""
    addresses = dict(ADDRESSES)
    del addresses["worker-003"]
    # Every read returns the object's metadata and spec; worker-003's has no status.
    live = {
        (NODE, name): {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
        for name in ADDRESSES
    }
    live[(MANAGER, "openelb-system/openelb-manager")] = {"metadata": {}, "spec": {}}
    cluster = FakeCluster(live=live, node_addresses=addresses)
    run = run_program(topology(4), cluster=cluster, preview=preview)
    configs = run.registered_outputs["routerConfigs"]
    assert (configs if configs == rpc.UNKNOWN else "known") == expected
    assert run.registered_outputs["fieldConflicts"] == []
    if not preview:
        # Outside a preview a node without an InternalIP is rendered without one.
        assert "neighbor 198.51.100.11 peer-group OPENELB" in configs["leaf2"]["frr"]
        assert "198.51.100.13" not in configs["leaf2"]["frr"]
