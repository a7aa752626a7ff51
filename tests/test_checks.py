"""The checks of the result fail where the cluster would misbehave, and skip saying why."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from openelb_component.config import names
from openelb_component.desired import DesiredState
from openelb_component.plan import upstream
from openelb_component.plan.build import build_plan
from openelb_component.plan.checks import CheckResult, verify
from openelb_component.plan.merge import strategic_merge
from openelb_component.plan.scheduling import admits, place
from openelb_component.plan.sources import Base, Sources, upstream_sources
from openelb_component.plan.stackfile import read_stack
from tests.support.manifests import upstream_documents

PROD = Path("stacks/Pulumi.prod.yaml")
DEV = Path("stacks/Pulumi.dev.yaml")


def state_of(path: Path) -> DesiredState:
    return build_plan(read_stack(path)).state


def with_workload(state: DesiredState, change: dict[str, Any]) -> DesiredState:
    """The state with its workload patch changed (as a bug in desired/ would change it)."""
    objects = tuple(
        dataclasses.replace(obj, manifest=strategic_merge(obj.manifest, change))
        if obj.key == "workload"
        else obj
        for obj in state.objects
    )
    return dataclasses.replace(state, objects=objects)


def workload_checks(state: DesiredState, sources: Sources | None = None) -> dict[str, CheckResult]:
    sources = sources or Sources(upstream_documents("0.5"))
    return {
        c.name: c
        for c in verify(state, sources).checks
        if c.subject == "Deployment openelb-manager"
    }


def test_the_stacks_pass_every_check() -> None:
    for path in (DEV, PROD):
        checks = workload_checks(state_of(path))
        assert {name: c.status for name, c in checks.items()} == {
            "schema": "pass",
            "nodeSelector": "pass",
            "schedulable": "pass",
            "rollout": "pass",
        }
    # One rack per node (bgp.nextHops: node): the spread is over the leaf label.
    assert "per openelb-ha/leaf: leaf1 2, leaf2 2" in checks["schedulable"].detail


def test_a_workload_without_the_ha_label_or_the_node_list_admits_unlisted_nodes() -> None:
    # Either alone keeps pods on the listed nodes; without both, any Linux node will do.
    unpinned = {"nodeSelector": {names.HA_LABEL: None}, "affinity": None}
    state = with_workload(state_of(DEV), {"spec": {"template": {"spec": unpinned}}})
    check = workload_checks(state)["nodeSelector"]
    assert check.status == "fail"
    assert check.detail.startswith("admits (any unlisted node) beyond the list")


def test_more_replicas_than_eligible_nodes_stay_pending() -> None:
    check = workload_checks(with_workload(state_of(DEV), {"spec": {"replicas": 3}}))["schedulable"]
    assert (check.status, check.detail.split(" on ")[0]) == (
        "fail",
        "1 of 3 replicas would stay Pending",
    )


def test_the_spread_constraint_limits_each_leaf() -> None:
    rack = names.RACK_LABEL
    nodes = {f"a{i}": {rack: "leaf1"} for i in range(3)} | {"b0": {rack: "leaf2"}}
    spread = {"topologyKey": rack, "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}
    # Four nodes, one per node: without the constraint all four fit ...
    assert place(4, nodes, 1, [])[1] == 0
    # ... with it, leaf1 may run only one more than leaf2's single node.
    pods, pending = place(4, nodes, 1, [spread])
    assert (sum(pods.values()), pending) == (3, 1)


def test_a_rollout_that_cannot_replace_any_replica_fails() -> None:
    no_unavailable = {"spec": {"strategy": {"rollingUpdate": {"maxUnavailable": 0}}}}
    check = workload_checks(with_workload(state_of(DEV), no_unavailable))["rollout"]
    assert check.status == "fail" and "deadlocks" in check.detail
    recreate = {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": None}}}
    assert workload_checks(with_workload(state_of(DEV), recreate))["rollout"].status == "fail"


def test_a_live_workload_replaces_the_upstream_one() -> None:
    live = upstream.find(upstream_documents("0.5"), "Deployment", "openelb-manager")
    live = strategic_merge(live, {"spec": {"template": {"spec": {"hostNetwork": False}}}})
    live["spec"]["template"]["spec"]["affinity"] = {}
    sources = Sources(None, "no manifest", {("Deployment", "openelb-manager"): Base("live", live)})
    result = verify(state_of(DEV), sources)
    assert result.bases["workload"].source == "live"
    assert result.results["workload"]["spec"]["template"]["spec"]["hostNetwork"] is False
    # Without the manifest the workload is still checked; only the BGP CRDs could not be.
    assert all(c.status == "pass" for c in result.checks)


def test_without_the_manifests_the_checks_are_skipped_saying_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(upstream.ENV_VAR, str(tmp_path))
    result = verify(state_of(PROD), upstream_sources("0.5", {}))
    skipped = [(c.subject, c.name) for c in result.checks if c.status == "skip"]
    assert skipped == [
        ("BgpConf default", "CRD schema"),  # prod manages its BgpConf (asPerRack per leaf)
        ("Deployment openelb-manager", "schema, nodeSelector, schedulable, rollout"),
        ("BgpPeer openelb-ha-peer-192-168-0-5", "CRD schema"),
        ("BgpPeer openelb-ha-peer-192-168-1-5", "CRD schema"),
    ]
    reason = next(c.detail for c in result.checks if c.status == "skip")
    assert str(tmp_path) in reason and upstream.ENV_VAR in reason
    assert not result.failed


@pytest.mark.parametrize(
    ("node", "labels", "admitted"),
    [
        ("worker-1", {}, True),
        ("worker-9", {}, False),
        ("worker-1", {"gpu": "yes"}, False),
    ],
    ids=["listed-by-name", "not-listed", "name-listed-but-label-refused"],
)
def test_required_node_affinity_checks_names_and_labels(
    node: str, labels: dict[str, str], admitted: bool
) -> None:
    term = {
        "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["worker-1"]}],
        "matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}],
    }
    pod_spec = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
            }
        }
    }
    assert admits(pod_spec, node, labels) is admitted


def _named(node: str) -> dict[str, Any]:
    return {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}


@pytest.mark.parametrize(
    ("node", "labels", "admitted"),
    [
        ("worker-1", {}, True),
        ("worker-2", {"gpu": "yes"}, True),
        ("worker-3", {"rack": "a"}, True),
        ("worker-3", {}, False),
        ("worker-4", {"rack": "b"}, False),
    ],
    ids=[
        "first-named-term",
        "second-named-term-labels-ignored",
        "unnamed-but-label-term-matches",
        "unnamed-and-no-term-matches",
        "unnamed-label-term-refuses",
    ],
)
def test_node_affinity_terms_are_ored_one_node_per_term(
    node: str, labels: dict[str, str], admitted: bool
) -> None:
    """The API server takes one value per metadata.name requirement, so a node list is one
    term per node (desired/workloads.py); any term admitting the node is enough."""
    terms = [
        _named("worker-1"),
        _named("worker-2"),
        {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["a"]}]},
    ]
    pod_spec = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
            }
        }
    }
    assert admits(pod_spec, node, labels) is admitted
