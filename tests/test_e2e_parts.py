"""The end-to-end run's pure parts (``make e2e`` itself needs the built tools): comparing live
objects with the plan, when a rollout is complete, managedFields ownership, the stack edits a
user makes, the BgpConf-change acknowledgement, the project copy's pin, and the report's
shape."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e import bgpconf, checks, fields, project, variants
from e2e.engine import Completed
from e2e.report import Report
from openelb_component.desired import DesiredObject
from openelb_component.plan.stackfile import stack_path

ROOT = Path(__file__).resolve().parents[1]


def _stack(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load(stack_path(name, ROOT / "stacks").read_text())["config"])


# --- comparing with the plan -------------------------------------------------------------------

LIVE = {
    "metadata": {"name": "n", "labels": {"a": "1", "b": "2"}},
    "spec": {"tolerations": [{"key": "x", "effect": "NoSchedule"}, {"key": "y"}], "replicas": 2},
}


@pytest.mark.parametrize(
    ("desired", "found"),
    [
        ({"metadata": {"labels": {"a": "1"}}}, []),
        ({"metadata": {"labels": {"a": "2"}}}, ["metadata.labels.a: wanted '2', found '1'"]),
        ({"metadata": {"labels": {"c": "3"}}}, ["metadata.labels.c: wanted '3', missing"]),
        ({"spec": {"tolerations": [{"key": "y"}]}}, []),
        (
            {"spec": {"tolerations": [{"key": "z"}]}},
            [
                "spec.tolerations.0: wanted {'key': 'z'}, no such item in "
                "[{'key': 'x', 'effect': 'NoSchedule'}, {'key': 'y'}]"
            ],
        ),
        ({"spec": {"replicas": {"x": 1}}}, ["spec.replicas: wanted a map, found 2"]),
    ],
    ids=["subset", "other-value", "missing-key", "list-item-found", "list-item-missing", "type"],
)
def test_differences_name_each_value_the_cluster_lacks(desired: Any, found: list[str]) -> None:
    assert fields.differences(desired, LIVE) == found


def test_secret_paths_are_left_to_their_own_check() -> None:
    desired = {"spec": {"conf": {"authPassword": "[secret]", "peerAs": 1}}}
    live = {"spec": {"conf": {"authPassword": "the-real-one", "peerAs": 1}}}
    assert fields.differences(desired, live, skip=[("spec", "conf", "authPassword")]) == []


OWNED = {
    "metadata": {
        "managedFields": [
            {
                "manager": "kubectl-label",
                "operation": "Update",
                "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}}}},
            },
            {
                "manager": "openelb-ha",
                "operation": "Apply",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}},
                    "f:spec": {"f:template": {"f:spec": {"f:nodeSelector": {}}}},
                },
            },
        ]
    }
}


@pytest.mark.parametrize(
    ("manager", "operation", "path", "expected"),
    [
        ("openelb-ha", "Apply", ("metadata", "labels", "b"), True),
        ("openelb-ha", "Apply", ("metadata", "labels", "c"), False),
        ("openelb-ha", "Update", ("metadata", "labels", "a"), False),
        ("kubectl-label", "Update", ("metadata", "labels", "a"), True),
        # an atomic map is owned whole: its keys are not listed
        ("openelb-ha", "Apply", ("spec", "template", "spec", "nodeSelector", "k"), True),
        ("openelb-ha", "Apply", ("spec", "replicas"), False),
    ],
    ids=["own-label", "other-label", "wrong-operation", "co-owner", "atomic-map", "not-set"],
)
def test_ownership_is_read_from_the_managers_fields(
    manager: str, operation: str, path: tuple[str, ...], expected: bool
) -> None:
    assert fields.owned(OWNED, manager, path, operation) is expected


def test_unowned_lists_each_set_field_the_manager_lacks() -> None:
    manifest = {"metadata": {"name": "n", "labels": {"a": "1", "c": "3"}}}
    assert fields.unowned(OWNED, "openelb-ha", manifest) == ["metadata.labels.c"]


# --- when a rollout is complete ------------------------------------------------------------------


def _deployment(progressing: str = "NewReplicaSetAvailable", **status: int) -> dict[str, Any]:
    counts = {"updatedReplicas": 2, "availableReplicas": 2, "replicas": 2, **status}
    conditions = [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]
    conditions.append({"type": "Progressing", "status": "True", "reason": progressing})
    return {
        "metadata": {"generation": 2},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2, **counts, "readyReplicas": 2, "conditions": conditions},
    }


def _daemonset(**status: int) -> dict[str, Any]:
    counts = {
        "desiredNumberScheduled": 3,
        "updatedNumberScheduled": 3,
        "numberReady": 3,
        "numberAvailable": 3,
        **status,
    }
    return {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, **counts}}


@pytest.mark.parametrize(
    ("kind", "live", "found"),
    [
        ("Deployment", _deployment(), []),
        (
            # Ready but not yet available for minReadySeconds: the provider's refresh would
            # call it "failed to initialize" (what made a preview-no-change fail under load).
            "Deployment",
            _deployment(progressing="ReplicaSetUpdated", availableReplicas=0),
            [
                "rollout incomplete: updated/available/all (2, 0, 2), replicas 2",
                "rollout incomplete: Progressing ReplicaSetUpdated",
            ],
        ),
        (
            "Deployment",
            _deployment(progressing="ReplicaSetUpdated", replicas=3),
            [
                "rollout incomplete: updated/available/all (2, 2, 3), replicas 2",
                "rollout incomplete: Progressing ReplicaSetUpdated",
            ],
        ),
        (
            "Deployment",
            {**_deployment(), "metadata": {"generation": 3}},
            ["rollout not observed by its controller"],
        ),
        ("DaemonSet", _daemonset(), []),
        (
            "DaemonSet",
            _daemonset(numberAvailable=2),
            ["rollout incomplete: updated/ready/available (3, 3, 2), desired 3"],
        ),
    ],
    ids=[
        "deployment-complete",
        "deployment-ready-not-available",
        "deployment-old-pod-left",
        "deployment-new-generation-unseen",
        "daemonset-complete",
        "daemonset-pod-not-available",
    ],
)
def test_a_rollout_is_complete_only_as_the_providers_refresh_judges_it(
    kind: str, live: dict[str, Any], found: list[str]
) -> None:
    assert checks.incomplete(kind, live) == found


# --- a preview writes nothing ------------------------------------------------------------------

SPEAKER = DesiredObject(
    key="speaker",
    action="patch",
    manifest={
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "openelb-speaker", "namespace": "openelb-system"},
    },
    on_destroy="",
)
APPLY = {"manager": "openelb-ha", "operation": "Apply", "fieldsV1": {"f:spec": {}}}
STATUS = {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"}


def _speaker(version: str, number_ready: int, status_time: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "openelb-speaker",
            "resourceVersion": version,
            "generation": 1,
            "managedFields": [APPLY, {**STATUS, "time": status_time}],
        },
        "spec": {"minReadySeconds": 10, **spec},
        "status": {"numberReady": number_ready},
    }


def _seen(live: dict[str, Any]) -> dict[str, checks.Written]:
    view = checks.Cluster(read=lambda *_: live, pods=lambda *_: [], node_names=list)
    return checks.versions(view, [SPEAKER])


@pytest.mark.parametrize(
    ("after", "found"),
    [
        (_speaker("639", 0, "t0"), []),
        # What failed CI once: the DaemonSet controller counting pods that had just become ready.
        (_speaker("654", 3, "t1"), []),
        (
            _speaker("654", 0, "t0", minReadySeconds=0),
            [
                "DaemonSet openelb-system/openelb-speaker: written during a preview"
                " (resourceVersion 639 -> 654, not only its status)"
            ],
        ),
    ],
    ids=["untouched", "only-the-controller-wrote-status", "spec-written"],
)
def test_a_preview_is_judged_by_everything_but_the_status_controllers_write(
    after: dict[str, Any], found: list[str]
) -> None:
    assert checks.unchanged(_seen(_speaker("639", 0, "t0")), _seen(after)) == found


def test_a_preview_that_deletes_an_object_is_a_write() -> None:
    before = _seen(_speaker("639", 0, "t0"))
    view = checks.Cluster(read=lambda *_: None, pods=lambda *_: [], node_names=list)
    assert checks.unchanged(before, checks.versions(view, [SPEAKER])) == [
        "DaemonSet openelb-system/openelb-speaker: written during a preview"
        " (resourceVersion 639 -> None, not only its status)"
    ]


# --- the stack edits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "leaf", "left", "nodes_after"),
    [
        ("dev", None, "worker-p002", ["master1", "worker-join"]),
        ("prod", "leaf1", "worker-p001", ["master1", "worker-join"]),
        ("racks", "rack-a", "node-a3", ["node-a1", "node-a2", "worker-join"]),
    ],
    ids=["single-router", "multi-leaf", "three-racks"],
)
def test_a_node_joins_and_one_leaves(
    stack: str, leaf: str | None, left: str, nodes_after: list[str]
) -> None:
    config = _stack(stack)
    change = variants.membership_change(config, "worker-join")
    assert (change.joined, change.left, change.leaf) == ("worker-join", left, leaf)
    first = variants.leaves(change.config)[0]
    assert list(first.nodes) == nodes_after
    assert variants.leaves(config)[0].nodes[-1] == left  # the original is untouched


def test_a_joining_node_already_listed_is_refused() -> None:
    with pytest.raises(ValueError, match="master1 is already in the stack"):
        variants.membership_change(_stack("dev"), "master1")


def test_brownfield_adopts_and_names_the_hand_made_peer() -> None:
    adopted = variants.brownfield(_stack("prod"))
    assert adopted[variants.ADOPT] is True
    leaves = adopted[variants.TOPOLOGY]["leaves"]
    assert leaves[0]["peer"]["name"] == variants.HAND_MADE_PEER
    assert "name" not in leaves[1]["peer"]
    assert variants.without_adopt(adopted)[variants.ADOPT] is False


def test_brownfield_of_a_stack_without_routers_only_adopts() -> None:
    adopted = variants.brownfield(_stack("dev"))
    assert adopted[variants.ADOPT] is True
    assert adopted[variants.TOPOLOGY] == _stack("dev")[variants.TOPOLOGY]


def test_every_node_of_a_stack_is_listed_for_the_cluster() -> None:
    assert variants.listed_nodes(_stack("racks")) == [
        "node-a1",
        "node-a2",
        "node-a3",
        "node-b1",
        "node-b2",
        "node-c1",
        "node-c2",
    ]


# --- the BgpConf-change acknowledgement -----------------------------------------------------


def _said(text: str, returncode: int = 0) -> Completed:
    return Completed(("preview",), returncode, text, "", 1.0)


@pytest.mark.parametrize(
    ("said", "digest"),
    [
        (
            "warning: ... pulumi up applies this change only with "
            "openelb-ha:acceptBgpConfChange: 26c2cc1557ea1742 (pulumi config set "
            "acceptBgpConfChange 26c2cc1557ea1742); that digest fits this change only",
            "26c2cc1557ea1742",
        ),
        ("Resources:\n    5 unchanged\n", None),
        ("pulumi config set acceptBgpConfChange 26C2", None),
    ],
    ids=["change-pending", "no-change", "not-a-digest"],
)
def test_the_digest_is_read_from_what_the_preview_printed(said: str, digest: str | None) -> None:
    assert bgpconf.printed(_said(said)) == digest


@pytest.mark.parametrize(
    ("digest", "commands"),
    [
        (
            "26c2cc1557ea1742",
            [
                ("config", "set", "acceptBgpConfChange", "26c2cc1557ea1742"),
                ("up", "--yes"),
                ("config", "rm", "acceptBgpConfChange"),
            ],
        ),
        (None, [("up", "--yes")]),
    ],
    ids=["acknowledged-then-removed", "nothing-to-acknowledge"],
)
def test_up_is_run_as_the_docs_tell_a_user(
    digest: str | None, commands: list[tuple[str, ...]]
) -> None:
    ran: list[tuple[str, ...]] = []

    def pulumi(*args: str) -> Completed:
        ran.append(args)
        return Completed(args, 0, "", "", 1.0)

    up, settings = bgpconf.acknowledged_up(pulumi, digest, "--yes")
    assert ran == commands
    assert up.args == ("up", "--yes")
    assert [done.args for done in settings] == [c for c in commands if c[0] == "config"]


# --- the project copy --------------------------------------------------------------------------


def test_the_copy_pins_the_sdk_of_the_provider_built() -> None:
    text = "pulumi==3.272.0\npulumi-kubernetes==4.34.2\npydantic==2.14.4\n"
    pinned = project.pinned_requirements(text, "4.25.0")
    assert "pulumi-kubernetes==4.25.0" in pinned.splitlines()
    assert "pulumi-kubernetes==4.34.2" not in pinned
    assert pinned.startswith("pulumi==3.272.0\n# e2e: ")


def test_requirements_without_the_pin_are_refused() -> None:
    with pytest.raises(ValueError, match="pins no pulumi-kubernetes"):
        project.pinned_requirements("pulumi==3.272.0\n")


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (("bgpPasswords", "leaf1"), "bgpPasswords.leaf1"),
        (("bgpPasswords", "rack.a"), 'bgpPasswords["rack.a"]'),
    ],
    ids=["plain", "dotted-leaf"],
)
def test_config_paths_are_written_as_the_cli_reads_them(path: tuple[str, ...], shown: str) -> None:
    assert project.cli_path(path) == shown


def test_secure_values_are_found_by_path() -> None:
    assert list(project.secure_paths(_stack("prod"))) == [("openelb-ha:bgpPasswords", "leaf1")]


def test_a_stack_edit_keeps_the_secure_values_the_cli_wrote(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    path = stack_path("s", tmp_path / "stacks")
    path.write_text(
        yaml.safe_dump(
            {
                "encryptionsalt": "v1:salt",
                "config": {
                    "openelb-ha:adopt": True,
                    "openelb-ha:bgpPasswords": {"leaf1": {"secure": "v1:written-by-the-cli"}},
                },
            }
        )
    )
    edited = {
        "openelb-ha:adopt": False,
        "openelb-ha:bgpPasswords": {"leaf1": {"secure": "v1:the-repository-example"}},
    }
    project.update_stack_file(tmp_path, "s", edited)
    assert yaml.safe_load(path.read_text()) == {
        "encryptionsalt": "v1:salt",
        "config": {
            "openelb-ha:adopt": False,
            "openelb-ha:bgpPasswords": {"leaf1": {"secure": "v1:written-by-the-cli"}},
        },
    }


# --- the report ---------------------------------------------------------------------------------


def test_the_report_prints_a_line_per_step_and_writes_the_agreed_shape(tmp_path: Path) -> None:
    out = io.StringIO()
    report = Report(out=out, versions={"pulumi": "v3.276.0"})
    report.step("dev", "preview", [], 1.23)
    report.step("dev", "up", ["pulumi up: exited 1: boom", "second line"], 2.0)
    report.conflicts = {"agree": 9, "disagree": []}
    report.write(tmp_path / "e2e-report.json")
    written = json.loads((tmp_path / "e2e-report.json").read_text())
    assert written["versions"] == {"pulumi": "v3.276.0"}
    assert written["stacks"] == {"dev": {"preview": "ok", "up": "pulumi up: exited 1: boom"}}
    assert written["conflicts"] == {"agree": 9, "disagree": []}
    assert report.failed() == ["dev up: pulumi up: exited 1: boom"]
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["ok", "dev", "preview", "1.2", "s"]
    assert lines[1].split()[:3] == ["FAIL", "dev", "up"]
    assert lines[3].strip() == "second line"
