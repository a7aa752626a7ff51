"""The component under Pulumi's mocks: exactly which resources, named how, parented and ordered.

Each test runs the real program (``openelb_component.program.main``) with a stack's keys.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pulumi
import pytest

from openelb_component.desired.workloads import (
    rollout_metadata,
    rollout_timeout,
    speaker_nodes_digest,
)
from tests.support.harness import (
    FakeCluster,
    assert_registers_the_desired_state,
    preview_diff,
    run_program,
    run_program_capturing,
)

COMPONENT_URN = (
    "urn:pulumi:test::openelb-ha::pulumi:pulumi:Stack$openelb-ha:index:OpenElbHa::openelb-ha"
)
NODE_SELECTOR = {"kubernetes.io/os": "linux", "lb.kubesphere.io/v1alpha1": "openelb"}
MEMBERSHIP = "openelb-ha/membership"
MANAGER_LABELS = {"app": "openelb-manager", "control-plane": "openelb-manager"}
DEV = {"topology": {"kind": "single-router", "nodes": ["worker-p002", "master1"], "replicas": 2}}
PROD: dict[str, Any] = {
    "topology": {
        "kind": "multi-leaf",
        "replicasPerLeaf": 2,
        "leaves": [
            {
                "name": "leaf1",
                "nodes": ["master1", "worker-p001"],
                "peer": {"address": "192.168.0.5", "asn": 50001},
            },
            {
                "name": "leaf2",
                "nodes": ["worker-p002", "worker-p003"],
                "peer": {"address": "192.168.1.5", "asn": 50001},
            },
        ],
    }
}
CONTROLLER_LABELS = {"app": "openelb", "component": "controller"}
# Every object is applied under the stable field manager (desired/ownership.py).
MANAGED = {"pulumi.com/patchFieldManager": "openelb-ha"}


# What ends Pulumi's wait for a two-replica Deployment patch (desired/workloads.py
# ``deployment_rolled_out``): the controller's status for the patched generation, complete.
TWO_REPLICAS_ROLLED_OUT = (
    '["jsonpath={.status.replicas}=2", "jsonpath={.status.updatedReplicas}=2", '
    '"jsonpath={.status.availableReplicas}=2", '
    '"jsonpath={.status.conditions[?(@.type==\\"Progressing\\")].reason}=NewReplicaSetAvailable"]'
)


def workload_metadata(
    name: str, wait_for: str | None = None, own: dict[str, str] | None = None
) -> dict[str, Any]:
    """A workload patch's metadata: forced, under openelb-ha, with its rollout wait (5 minutes),
    on a Deployment the conditions that end it, and the project's own annotations (``own``)."""
    wait = {"pulumi.com/waitFor": wait_for} if wait_for else {}
    return {
        "name": name,
        "namespace": "openelb-system",
        "annotations": {
            "pulumi.com/timeoutSeconds": "300",
            **wait,
            **(own or {}),
            **MANAGED,
            "pulumi.com/patchForce": "true",
        },
    }


DEV_V06: dict[str, Any] = {"openelb": {"version": "0.6"}, **DEV}
PROD_V06: dict[str, Any] = {"openelb": {"version": "0.6", "controllerReplicas": 3}, **PROD}


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:test::openelb-ha::openelb-ha:index:OpenElbHa${typ}::{name}"


def membership_of(workload: dict[str, Any]) -> str:
    """The workload's membership hash: 16 hex digits (when it changes: test_moves)."""
    value = workload["spec"]["template"]["metadata"]["annotations"][MEMBERSHIP]
    assert isinstance(value, str) and re.fullmatch(r"[0-9a-f]{16}", value), value
    return value


def listed_nodes_only(nodes: list[str]) -> dict[str, Any]:
    """One term per node: the API server takes one value per ``metadata.name`` requirement."""
    terms = [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
        for node in nodes
    ]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    }


def node_patch(name: str, rack: str | None = None) -> dict[str, Any]:
    labels = {"lb.kubesphere.io/v1alpha1": "openelb"}
    if rack:
        labels["openelb.kubesphere.io/rack"] = rack
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": MANAGED},
    }


def pdb(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "openelb-system", "annotations": MANAGED},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }


def test_single_router_registers_node_labels_and_the_manager_patch() -> None:
    run = run_program(DEV)
    # Registration order is the engine's (asynchronous); apply order comes from dependencies.
    assert sorted((r.type, r.name) for r in run.resources) == [
        ("kubernetes:apps/v1:DeploymentPatch", "openelb-ha-workload"),
        ("kubernetes:core/v1:NodePatch", "openelb-ha-node-master1"),
        ("kubernetes:core/v1:NodePatch", "openelb-ha-node-worker-p002"),
        ("kubernetes:policy/v1:PodDisruptionBudget", "openelb-ha-pdb"),
        ("openelb-ha:index:OpenElbHa", "openelb-ha"),
    ]
    assert run.named("openelb-ha-node-master1").inputs == node_patch("master1")
    assert run.named("openelb-ha-pdb").inputs == pdb("openelb-ha-manager", MANAGER_LABELS)
    workload = run.named("openelb-ha-workload").inputs
    membership = membership_of(workload)  # the helper checks its form: 16 hex digits
    assert workload == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": workload_metadata("openelb-manager", TWO_REPLICAS_ROLLED_OUT),
        "spec": {
            "replicas": 2,
            "minReadySeconds": 30,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "template": {
                "metadata": {"annotations": {MEMBERSHIP: membership}},
                "spec": {
                    "nodeSelector": NODE_SELECTOR,
                    "affinity": listed_nodes_only(["master1", "worker-p002"]),
                },
            },
        },
    }


def test_multi_leaf_adds_rack_labels_spread_constraint_and_one_bgp_peer_per_leaf() -> None:
    run = run_program(PROD)
    assert sorted(run.names()) == [
        "openelb-ha",
        "openelb-ha-bgppeer-192-168-0-5",
        "openelb-ha-bgppeer-192-168-1-5",
        "openelb-ha-node-master1",
        "openelb-ha-node-worker-p001",
        "openelb-ha-node-worker-p002",
        "openelb-ha-node-worker-p003",
        "openelb-ha-pdb",
        "openelb-ha-workload",
    ]
    assert run.named("openelb-ha-node-worker-p002").inputs == node_patch("worker-p002", "leaf2")
    workload = run.named("openelb-ha-workload").inputs
    assert workload["spec"]["replicas"] == 4
    assert workload["spec"]["template"]["spec"] == {
        "nodeSelector": NODE_SELECTOR,
        "affinity": listed_nodes_only(["master1", "worker-p001", "worker-p002", "worker-p003"]),
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "openelb.kubesphere.io/rack",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": MANAGER_LABELS},
            }
        ],
    }
    peer = run.named("openelb-ha-bgppeer-192-168-0-5")
    assert peer.type == "kubernetes:network.kubesphere.io/v1alpha2:BgpPeer"
    assert peer.inputs == {
        "apiVersion": "network.kubesphere.io/v1alpha2",
        "kind": "BgpPeer",
        "metadata": {"name": "openelb-ha-peer-192-168-0-5", "annotations": MANAGED},
        "spec": {
            "conf": {"peerAs": 50001, "neighborAddress": "192.168.0.5"},
            "afiSafis": [
                {
                    "config": {
                        "family": {"afi": "AFI_IP", "safi": "SAFI_UNICAST"},
                        "enabled": True,
                    },
                    "addPaths": {"config": {"sendMax": 10}},
                }
            ],
            # The leaf's rack and the HA label: constant whatever nodes join, leave or move.
            "nodeSelector": {
                "matchLabels": {
                    "openelb.kubesphere.io/rack": "leaf1",
                    "lb.kubesphere.io/v1alpha1": "openelb",
                },
            },
        },
    }


def test_every_child_is_parented_to_the_component() -> None:
    run = run_program(PROD)
    component, *children = run.registrations
    assert component.urn == COMPONENT_URN
    assert component.parent.endswith("pulumi:pulumi:Stack::openelb-ha-test")
    assert children and all(child.parent == COMPONENT_URN for child in children)


def test_patches_wait_for_the_read_of_their_target_and_peers_for_their_rack_labels() -> None:
    run = run_program(PROD)
    node_patch_urn = urn("kubernetes:core/v1:NodePatch", "openelb-ha-node-master1")
    # Everything also waits for the announcing workload's read: the BgpConf gate
    # (desired/bgpconf_change.py) decides from it whether up may apply anything.
    gate = urn("kubernetes:apps/v1:Deployment", "openelb-ha-workload-existing")
    assert run.named("openelb-ha-node-master1").dependencies == sorted(
        [urn("kubernetes:core/v1:Node", "openelb-ha-node-master1-existing"), gate]
    )
    assert run.named("openelb-ha-bgppeer-192-168-0-5").dependencies == sorted(
        [node_patch_urn, urn("kubernetes:core/v1:NodePatch", "openelb-ha-node-worker-p001"), gate]
    )
    assert run.named("openelb-ha-workload").dependencies == sorted(
        [urn("kubernetes:apps/v1:Deployment", "openelb-ha-workload-existing")]
        + [
            urn("kubernetes:core/v1:NodePatch", f"openelb-ha-node-{n}")
            for n in ("master1", "worker-p001", "worker-p002", "worker-p003")
        ]
    )


def test_reads_target_exactly_the_patched_objects() -> None:
    run = run_program(PROD)
    assert sorted((r.type, r.read_id) for r in run.reads) == [
        ("kubernetes:apps/v1:Deployment", "openelb-system/openelb-manager"),
        ("kubernetes:core/v1:Node", "master1"),
        ("kubernetes:core/v1:Node", "worker-p001"),
        ("kubernetes:core/v1:Node", "worker-p002"),
        ("kubernetes:core/v1:Node", "worker-p003"),
    ]


@pytest.mark.parametrize(
    ("config", "existing", "missing", "never_registered"),
    [
        (
            DEV,
            [("Node", "master1"), ("Deployment", "openelb-system/openelb-manager")],
            "worker-p002",
            ["openelb-ha-node-worker-p002", "openelb-ha-workload", "openelb-ha-pdb"],
        ),
        (
            DEV_V06,
            [
                ("Node", "master1"),
                ("Node", "worker-p002"),
                ("DaemonSet", "openelb-system/openelb-speaker"),
            ],
            "openelb-system/openelb-controller",
            ["openelb-ha-controller", "openelb-ha-pdb"],
        ),
    ],
    ids=["v0.5-node", "v0.6-controller"],
)
def test_a_target_missing_from_the_cluster_is_never_created_nor_budgeted(
    config: dict[str, Any],
    existing: list[tuple[str, str]],
    missing: str,
    never_registered: list[str],
) -> None:
    group = {"Node": "core/v1", "Deployment": "apps/v1", "DaemonSet": "apps/v1"}
    cluster = FakeCluster({(f"kubernetes:{group[kind]}:{kind}", id_) for kind, id_ in existing})
    run, error = run_program_capturing(config, cluster=cluster)
    assert error is not None and f"{missing!r} does not exist" in str(error)
    assert not set(never_registered) & set(run.names())


@pytest.mark.parametrize(
    ("config", "warned"),
    [
        ({"topology": {"kind": "single-router", "nodes": ["a"]}}, True),
        ({"topology": {"kind": "single-router", "nodes": ["a", "b"], "replicas": 1}}, True),
        ({"topology": {**PROD["topology"], "replicasPerLeaf": 1}}, True),
        (DEV, False),
        (PROD, False),
    ],
    ids=["one-node", "one-replica", "one-per-leaf", "dev", "prod"],
)
def test_a_single_replica_is_allowed_but_warned_about(config: dict[str, Any], warned: bool) -> None:
    run = run_program(config)
    assert any("not highly available" in w for w in run.warnings) is warned
    assert_registers_the_desired_state(run, config)


def test_resource_names_do_not_depend_on_list_order() -> None:
    leaves: list[dict[str, Any]] = PROD["topology"]["leaves"]
    reordered = {
        "topology": {
            **PROD["topology"],
            "leaves": [{**leaf, "nodes": leaf["nodes"][::-1]} for leaf in leaves[::-1]],
        }
    }

    assert preview_diff(run_program(PROD), run_program(reordered)).changed == []


def test_an_unknown_stack_key_stops_the_program() -> None:
    """A typo of a key the program reads (``adpot``) must not be silently ignored."""
    run, error = run_program_capturing({**DEV, "adpot": True})
    assert isinstance(error, pulumi.RunError)
    assert "adpot = (a boolean, not shown): unknown key; did you mean 'adopt'?" in str(error)
    assert run.registrations == []


def test_a_secret_stack_value_is_never_echoed_in_the_error() -> None:
    config = {"topology": {**DEV["topology"], "replicas": "hunter2"}}
    run, error = run_program_capturing(config, secret_keys=["topology"])
    assert isinstance(error, pulumi.RunError)
    assert "topology.replicas = [secret]" in str(error)
    assert "hunter2" not in str(error)
    assert run.registrations == []


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"topology": {"kind": "single-router", "nodes": ["a"], "replicas": 2}},
        {"topology": {**PROD["topology"], "replicasPerLeaf": 3}},
        {"openelb": {"mode": "layer2"}, **PROD},
        {"topology": "not json"},
        {"openelb": {"version": "0.6"}, "topology": {**DEV["topology"], "replicas": 1}},
        {"openelb": {"version": "0.6", "controllerReplicas": 0}, **DEV},
        {"openelb": {"version": "0.6", "controllerReplicas": 3}, **DEV},
        {"openelb": {"version": 0.6}, "topology": {"kind": "single-router", "nodes": ["a"]}},
        {"openelb": {"version": "0.6", "podDisruptionBudget": "no"}, **DEV},
    ],
    ids=[
        "missing-topology",
        "replicas",
        "leaf-size",
        "layer2-multi-leaf",
        "plain-string",
        "v06-replicas-below-nodes",
        "v06-zero-controllers",
        "v06-controllers-above-nodes",
        "v06-default-controllers-above-one-node",
        "pdb-not-a-boolean",
    ],
)
def test_bad_config_raises_run_error_and_registers_nothing(config: dict[str, Any]) -> None:
    run, error = run_program_capturing(config)
    assert isinstance(error, pulumi.RunError)
    assert str(error).startswith("openelb-ha: the stack configuration has")
    assert run.registrations == []


def test_v06_patches_the_speaker_daemonset_and_the_controller_and_budgets_the_controller() -> None:
    run = run_program(DEV_V06)
    assert sorted((r.type, r.name) for r in run.resources) == [
        ("kubernetes:apps/v1:DaemonSetPatch", "openelb-ha-workload"),
        ("kubernetes:apps/v1:DeploymentPatch", "openelb-ha-controller"),
        ("kubernetes:core/v1:NodePatch", "openelb-ha-node-master1"),
        ("kubernetes:core/v1:NodePatch", "openelb-ha-node-worker-p002"),
        ("kubernetes:policy/v1:PodDisruptionBudget", "openelb-ha-pdb"),
        ("openelb-ha:index:OpenElbHa", "openelb-ha"),
    ]
    speaker = run.named("openelb-ha-workload").inputs
    # No membership in the template: the DaemonSet itself follows the labelled nodes, so a
    # node joining or leaving restarts no speaker (only per-rack ASNs do: test_moves). The
    # listed nodes' digest is on the DaemonSet itself, so that a join still makes up wait.
    listed = speaker_nodes_digest(["master1", "worker-p002"])
    assert speaker == {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": workload_metadata("openelb-speaker", own={"openelb-ha/speaker-nodes": listed}),
        "spec": {
            "minReadySeconds": 30,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"spec": {"nodeSelector": NODE_SELECTOR}},
        },
    }
    assert run.named("openelb-ha-controller").inputs == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": workload_metadata("openelb-controller", TWO_REPLICAS_ROLLED_OUT),
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "spec": {
                    "nodeSelector": NODE_SELECTOR,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": CONTROLLER_LABELS},
                        }
                    ],
                }
            },
        },
    }
    assert run.named("openelb-ha-pdb").inputs == pdb("openelb-ha-controller", CONTROLLER_LABELS)
    assert run.outputs["replicas"] == 2
    assert run.outputs["controller_replicas"] == 2


def test_v06_multi_leaf_has_rack_labels_and_peers_but_no_spread_on_the_daemonset() -> None:
    run = run_program(PROD_V06)
    assert run.named("openelb-ha-node-worker-p002").inputs == node_patch("worker-p002", "leaf2")
    template = run.named("openelb-ha-workload").inputs["spec"]["template"]
    assert template["spec"] == {"nodeSelector": NODE_SELECTOR}
    # Membership rolls the speakers (test_moves); no BgpConf in PROD_V06, so no BgpConf hash.
    assert list(template["metadata"]["annotations"]) == [MEMBERSHIP]
    controller = run.named("openelb-ha-controller").inputs["spec"]
    assert controller["replicas"] == 3
    # One controller per node (required) and, preferably, not all in one rack.
    assert controller["template"]["spec"]["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": CONTROLLER_LABELS},
        },
        {
            "maxSkew": 1,
            "topologyKey": "openelb.kubesphere.io/rack",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": CONTROLLER_LABELS},
        },
    ]
    assert {r.name for r in run.of_type("kubernetes:network.kubesphere.io/v1alpha2:BgpPeer")} == {
        "openelb-ha-bgppeer-192-168-0-5",
        "openelb-ha-bgppeer-192-168-1-5",
    }
    assert run.outputs["replicas"] == 4  # one speaker per listed node
    assert run.outputs["controller_replicas"] == 3


def test_v06_order_labels_then_workloads_then_the_budget() -> None:
    run = run_program(DEV_V06)
    node_patches = [
        urn("kubernetes:core/v1:NodePatch", f"openelb-ha-node-{n}")
        for n in ("master1", "worker-p002")
    ]
    assert run.named("openelb-ha-workload").dependencies == sorted(
        [urn("kubernetes:apps/v1:DaemonSet", "openelb-ha-workload-existing"), *node_patches]
    )
    gate = urn("kubernetes:apps/v1:DaemonSet", "openelb-ha-workload-existing")
    assert run.named("openelb-ha-controller").dependencies == sorted(
        [
            urn("kubernetes:apps/v1:Deployment", "openelb-ha-controller-existing"),
            *node_patches,
            gate,
        ]
    )
    assert run.named("openelb-ha-pdb").dependencies == sorted(
        [urn("kubernetes:apps/v1:DeploymentPatch", "openelb-ha-controller"), gate]
    )
    assert sorted((r.type, r.read_id) for r in run.reads if "apps" in r.type) == [
        ("kubernetes:apps/v1:DaemonSet", "openelb-system/openelb-speaker"),
        ("kubernetes:apps/v1:Deployment", "openelb-system/openelb-controller"),
    ]


@pytest.mark.parametrize("config", [DEV, DEV_V06], ids=["v0.5", "v0.6"])
def test_the_budget_can_be_turned_off(config: dict[str, Any]) -> None:
    off = {**config, "openelb": {**config.get("openelb", {}), "podDisruptionBudget": False}}
    assert preview_diff(run_program(config), run_program(off)).deleted == ["openelb-ha-pdb"]


def test_controller_replicas_is_ignored_with_a_warning_under_v05() -> None:
    run = run_program({"openelb": {"controllerReplicas": 5}, **DEV})
    assert run.warnings == [
        "openelb.controllerReplicas is ignored with OpenELB 0.5: the openelb-manager is also "
        "the controller and its replica count comes from the topology; it applies to version 0.6"
    ]
    assert run.named("openelb-ha-workload").inputs["spec"]["replicas"] == 2
    assert run.outputs["controller_replicas"] == 2


def test_one_controller_replica_is_allowed_but_warned_about() -> None:
    run = run_program({"openelb": {"version": "0.6", "controllerReplicas": 1}, **DEV})
    assert len(run.warnings) == 1 and "openelb-controller replica" in run.warnings[0]
    assert run.named("openelb-ha-controller").inputs["spec"]["replicas"] == 1


@pytest.mark.parametrize(
    ("version", "nodes", "timeouts"),
    [
        ("0.5", 2, {"workload": "300"}),
        ("0.5", 10, {"workload": "900"}),
        ("0.5", 11, {"workload": "1200"}),
        ("0.6", 12, {"workload": "1200", "controller": "300"}),
        ("0.6", 40, {"workload": "3600", "controller": "300"}),
    ],
    ids=[
        "two-replicas-fail-in-five-minutes",
        "ten-pods",
        "eleven-replicas",
        "twelve-speakers-two-controllers",
        "forty-speakers",
    ],
)
def test_every_rollout_gets_a_wait_sized_to_its_pods(
    version: str, nodes: int, timeouts: dict[str, str]
) -> None:
    """Pods are replaced one at a time and Pulumi's wait never ends early on a stuck pod
    (a Deployment's ``waitFor`` wait: internal/awaiter.go:47-96@v4.25.0; the DaemonSet's:
    daemonset.go:129-183@v4.32.0): 60 seconds a pod plus the
    minReadySeconds the patch sets (30 by default on the announcing workload, none on the
    controller), at least 180, in whole 5 minutes. A 40-node roll is not cut at Pulumi's
    default 10 minutes, and a stuck two-replica roll fails after 5."""
    names = [f"node-{index:02}" for index in range(nodes)]
    run = run_program(
        {"openelb": {"version": version}, "topology": {"kind": "single-router", "nodes": names}}
    )
    for key, expected in timeouts.items():
        metadata = run.named(f"openelb-ha-{key}").inputs["metadata"]
        assert metadata["annotations"]["pulumi.com/timeoutSeconds"] == expected, key


@pytest.mark.parametrize(
    ("version", "nodes", "replicas"),
    [
        ("0.5", 2, {"workload": 2}),
        ("0.5", 11, {"workload": 11}),
        ("0.6", 12, {"controller": 2}),
    ],
    ids=["two-manager-replicas", "eleven-manager-replicas", "two-controllers-twelve-speakers"],
)
def test_a_deployment_s_wait_ends_only_when_its_controller_reports_it_rolled_out(
    version: str, nodes: int, replicas: dict[str, int]
) -> None:
    """pulumi-kubernetes' own Deployment wait can pass on a status the controller wrote for the
    previous generation (desired/workloads.py ``deployment_rolled_out``); each Deployment patch
    names the status that ends it instead: every pod present, updated and available, and the
    controller's NewReplicaSetAvailable. The speaker DaemonSet keeps the built-in wait."""
    names = [f"node-{index:02}" for index in range(nodes)]
    run = run_program(
        {"openelb": {"version": version}, "topology": {"kind": "single-router", "nodes": names}}
    )
    for key, count in replicas.items():
        annotations = run.named(f"openelb-ha-{key}").inputs["metadata"]["annotations"]
        assert json.loads(annotations["pulumi.com/waitFor"]) == [
            f"jsonpath={{.status.replicas}}={count}",
            f"jsonpath={{.status.updatedReplicas}}={count}",
            f"jsonpath={{.status.availableReplicas}}={count}",
            'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}=NewReplicaSetAvailable',
        ], key
    if version == "0.6":
        speaker = run.named("openelb-ha-workload").inputs["metadata"]["annotations"]
        assert "pulumi.com/waitFor" not in speaker


@pytest.mark.parametrize(
    ("pods", "min_ready_seconds", "seconds"),
    [(2, 0, 300), (2, 30, 300), (10, 30, 900), (40, 30, 3600), (1, 600, 900)],
    ids=["two", "two-min-ready-30", "ten-min-ready-30", "forty-min-ready-30", "one-slow"],
)
def test_min_ready_seconds_adds_to_each_pods_share(
    pods: int, min_ready_seconds: int, seconds: int
) -> None:
    """A pod counts as available only minReadySeconds after it is ready, and the next one is
    replaced only then: the wait reads the value the patch sets (openelb.minReadySeconds)."""
    assert rollout_timeout(pods, min_ready_seconds) == seconds
    spec = {"minReadySeconds": min_ready_seconds}
    assert rollout_metadata("DaemonSet", spec, pods) == {
        "annotations": {"pulumi.com/timeoutSeconds": str(seconds)}
    }


@pytest.mark.parametrize(
    ("config", "workload_kind"),
    [
        ({"openelb": {"minReadySeconds": 0}, **DEV}, "DeploymentPatch"),
        ({"openelb": {"version": "0.6", "minReadySeconds": 0}, **DEV}, "DaemonSetPatch"),
        ({"openelb": {"minReadySeconds": 90}, **DEV}, "DeploymentPatch"),
    ],
    ids=["v05-zero", "v06-zero", "v05-ninety"],
)
def test_min_ready_seconds_is_written_to_the_announcing_workload_even_when_zero(
    config: dict[str, Any], workload_kind: str
) -> None:
    # Written even at 0 (the API default): the value then holds whatever the installer set.
    run = run_program(config)
    workload = run.named("openelb-ha-workload")
    assert workload.type == f"kubernetes:apps/v1:{workload_kind}"
    assert workload.inputs["spec"]["minReadySeconds"] == config["openelb"]["minReadySeconds"]


def test_other_nodes_get_only_the_rack_label_and_are_no_replicas() -> None:
    config = copy.deepcopy(PROD)
    config["topology"]["leaves"][1]["otherNodes"] = ["worker-p009"]
    run = run_program(config)
    assert run.named("openelb-ha-node-worker-p009").inputs == {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "worker-p009",
            "labels": {"openelb.kubesphere.io/rack": "leaf2"},
            "annotations": MANAGED,
        },
    }
    # Read first like every node: a mistyped name fails instead of creating a bogus Node.
    reads = {read.name: read.read_id for read in run.reads}
    assert reads["openelb-ha-node-worker-p009-existing"] == "worker-p009"
    assert run.outputs["nodes"] == ["master1", "worker-p001", "worker-p002", "worker-p003"]
    assert run.outputs["replicas"] == 4
