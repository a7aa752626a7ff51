"""A listed node that cannot take a new OpenELB pod is named in the preview and the `up`: the
provider's rollout wait would time out without saying why (desired/schedulable.py; shown with
the real engine by `make e2e`'s stuck rollout)."""

from __future__ import annotations

from typing import Any

import pytest

from openelb_component.desired.schedulable import placement_problems, placement_warning
from tests.support.harness import FakeCluster, run_program

READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}
NOT_READY = {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]}
UNKNOWN = {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]}


@pytest.mark.parametrize(
    ("spec", "status", "problems"),
    [
        ({}, READY, []),
        (None, None, []),
        ({"unschedulable": False}, READY, []),
        ({"unschedulable": True}, READY, ["cordoned (spec.unschedulable)"]),
        ({}, NOT_READY, ["not Ready (KubeletNotReady)"]),
        ({}, UNKNOWN, ["not Ready (NodeStatusUnknown)"]),
        ({}, {"conditions": [{"type": "Ready", "status": "False"}]}, ["not Ready"]),
        (
            {"unschedulable": True},
            NOT_READY,
            ["cordoned (spec.unschedulable)", "not Ready (KubeletNotReady)"],
        ),
        # no Ready condition reported yet: nothing is claimed
        ({}, {"conditions": [{"type": "MemoryPressure", "status": "False"}]}, []),
        ({"unschedulable": "yes"}, {"conditions": "garbage"}, []),
    ],
    ids=[
        "ready",
        "nothing-read",
        "uncordoned",
        "cordoned",
        "not-ready",
        "status-unknown",
        "not-ready-no-reason",
        "cordoned-and-not-ready",
        "no-ready-condition",
        "malformed",
    ],
)
def test_what_keeps_a_new_pod_off_a_node(
    spec: dict[str, Any] | None, status: dict[str, Any] | None, problems: list[str]
) -> None:
    assert placement_problems(spec, status) == problems


def test_the_warning_names_the_node_the_reason_and_the_consequence() -> None:
    assert placement_warning("worker-p002", {"unschedulable": True}, READY) == (
        "Node worker-p002 is cordoned (spec.unschedulable): no new OpenELB pod can start "
        "there. If no listed node can take the pods a workload patch rolls out, `pulumi up` "
        "waits until the patch's pulumi.com/timeoutSeconds and then fails without naming this "
        "reason; uncordon or repair the node, or take it out of the stack, before applying."
    )
    assert placement_warning("worker-p002", {}, READY) is None


def _node(name: str, spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {}}, "spec": spec, "status": status}


CONFIG = {"topology": {"kind": "single-router", "nodes": ["master1", "worker-p002"]}}


def test_a_cordoned_listed_node_is_warned_about_in_the_preview() -> None:
    live = {
        ("kubernetes:core/v1:Node", "master1"): _node("master1", {}, READY),
        ("kubernetes:core/v1:Node", "worker-p002"): _node(
            "worker-p002", {"unschedulable": True}, READY
        ),
    }
    run = run_program(CONFIG, cluster=FakeCluster(live=live), preview=True)
    assert [w for w in run.warnings if w.startswith("Node ")] == [
        placement_warning("worker-p002", {"unschedulable": True}, READY)
    ]


def test_schedulable_nodes_give_no_warning() -> None:
    live = {
        ("kubernetes:core/v1:Node", name): _node(name, {}, READY)
        for name in ("master1", "worker-p002")
    }
    run = run_program(CONFIG, cluster=FakeCluster(live=live))
    assert not [w for w in run.warnings if w.startswith("Node ")]
