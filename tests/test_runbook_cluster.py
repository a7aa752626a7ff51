"""The kubectl runbook (``plan --format kubectl``) run with the real kubectl against a real
control plane, for every example stack and a brownfield variant of each.

Each run gets a fresh control plane with the stack's nodes (kwok, Ready) and OpenELB installed
from its upstream manifest by ``kubectl apply``. Brownfield, as OpenELB's guide leaves a cluster:
the nodes labelled by hand (``kubectl label``), a BgpConf and one BgpPeer per router made with
``kubectl apply``, and the stack adopting them (``adopt: true``, each leaf's ``peer.name`` the
hand-made peer's). Then ``sh runbook apply`` and ``sh runbook rollback``, with the objects and
their managedFields checked after each: the labels, the workloads' fields (rolled out, pods Ready
and placed by the real scheduler), the budget, the BgpConf and the BgpPeers (the password from
the environment); and rollback gives back exactly what was there before apply.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from openelb_component.desired import DesiredObject
from openelb_component.desired.ownership import FIELD_MANAGER, PULUMI_ANNOTATIONS
from openelb_component.desired.structure import relationship
from openelb_component.lab.cluster import ControlPlane, NodeSpec
from openelb_component.plan import upstream
from openelb_component.plan.build import Plan, build_plan
from openelb_component.plan.runbook import CONFIRM_VARIABLE, secret_variables
from openelb_component.plan.stackfile import read_stack
from tests.support.cluster import started
from tests.support.harness import ROOT
from tests.support.manifests import upstream_documents

pytestmark = pytest.mark.cluster

STACKS = sorted(p.stem.removeprefix("Pulumi.") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
LB_LABEL = "lb.kubesphere.io/v1alpha1"
RACK = "openelb.kubesphere.io/rack"
HAND_AS = 65432
"""The hand-made BgpConf's and BgpPeers' AS: differs from every stack's, so adopting takes over."""


# --- the stack, as a user runs it ----------------------------------------------------------


def stack_copy(stack: str, folder: Path, brownfield: bool) -> Path:
    """A project folder with the stack file (brownfield: adopting the hand-made peers)."""
    (folder / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    if brownfield:
        config = document["config"]
        config["openelb-ha:adopt"] = True
        for leaf in config["openelb-ha:topology"].get("leaves", []):
            if "peer" in leaf:
                leaf["peer"]["name"] = f"bgppeer-{leaf['name']}"
    path = folder / "stacks" / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def runbook(project: Path, stack: str) -> Path:
    """``python -m openelb_component plan --stack STACK --format kubectl``, in the project."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openelb_component",
            "plan",
            "--stack",
            stack,
            "--format",
            "kubectl",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    script = project / "runbook.sh"
    script.write_text(done.stdout)
    return script


def passwords(plan: Plan) -> dict[str, str]:
    names = {name for obj in plan.state.objects for name in obj.secrets.values()}
    return {variable: f"pw-{variable.lower()}" for variable in secret_variables(names).values()}


def run(
    cluster: ControlPlane, script: Path, step: str, env: dict[str, str], succeed: bool = True
) -> subprocess.CompletedProcess[str]:
    kubectl = cluster.kubectl
    done = subprocess.run(
        ["sh", str(script), step],
        cwd=script.parent,
        env={
            "PATH": f"{kubectl.binary.parent}:/usr/bin:/bin",
            "HOME": str(script.parent),
            **kubectl.env(),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert (done.returncode == 0) == succeed, f"sh runbook {step}:\n{done.stdout}\n{done.stderr}"
    return done


# --- the cluster before the runbook --------------------------------------------------------


def prepare(cluster: ControlPlane, plan: Plan, brownfield: bool) -> None:
    nodes = [NodeSpec(name, f"192.0.2.{10 + index}") for index, name in enumerate(plan.state.nodes)]
    cluster.add_nodes(nodes)
    cluster.install_openelb(upstream.manifest_path(plan.config.openelb.version))
    if not brownfield:
        return
    # OpenELB's guide: label the nodes, make the BgpConf and a BgpPeer per router.
    by_leaf = plan.state.nodes_by_leaf
    for leaf, names in by_leaf.items():
        labels = [f"{LB_LABEL}=openelb"] + ([f"{RACK}={leaf}"] if len(by_leaf) > 1 else [])
        cluster.kubectl.run("label", "--overwrite", "node", *names, *labels)
    hand_made = [
        {
            "apiVersion": "network.kubesphere.io/v1alpha2",
            "kind": "BgpConf",
            "metadata": {"name": "default"},
            "spec": {"as": HAND_AS, "listenPort": 17900, "routerId": "192.0.2.1"},
        }
    ]
    for obj in plan.state.objects:
        if obj.kind == "BgpPeer":
            peer = copy.deepcopy(obj.manifest)
            peer["metadata"] = {"name": obj.name}
            peer["spec"]["conf"]["peerAs"] = HAND_AS
            peer["spec"]["conf"].pop("authPassword", None)
            hand_made.append(peer)
    for document in hand_made:
        cluster.kubectl.apply_json(document)


def snapshot(cluster: ControlPlane, plan: Plan) -> dict[str, Any]:
    """What apply may change, as it is now: every object of the plan (or None)."""
    found: dict[str, Any] = {}
    for obj in plan.state.objects:
        namespace = ["-n", obj.namespace] if obj.namespace else []
        done = cluster.kubectl.run(
            "get",
            resource(obj),
            obj.name,
            *namespace,
            "-o",
            "json",
            "--ignore-not-found",
            "--show-managed-fields",
        )
        found[obj.key] = json.loads(done.stdout) if done.stdout.strip() else None
    return found


def resource(obj: DesiredObject) -> str:
    group = obj.api_version.rpartition("/")[0]
    return f"{obj.kind.lower()}.{group}" if "." in group else obj.kind.lower()


# --- the checks ----------------------------------------------------------------------------


def applied_values(wanted: Any, live: Any, kind: str, path: str = "") -> list[str]:
    """Where ``live`` does not hold what the patch sets (atomic maps and lists whole, granular
    ones key by key, keyed lists item by item: desired/structure.py)."""
    shape = relationship(kind, path, isinstance(wanted, list))
    if isinstance(wanted, dict) and shape == "granular" and isinstance(live, dict):
        return [
            miss
            for key, value in wanted.items()
            for miss in applied_values(value, live.get(key), kind, f"{path}.{key}")
        ]
    if isinstance(wanted, list) and isinstance(shape, tuple) and isinstance(live, list):

        def key(item: Any) -> tuple[Any, ...]:
            return tuple(item.get(k) for k in shape)

        live_items = {key(item): item for item in live}
        return [
            miss
            for item in wanted
            for miss in applied_values(item, live_items.get(key(item)), kind, f"{path}[]")
        ]
    return [] if wanted == live else [f"{path}: {live!r} is not {wanted!r}"]


def owned_by(live: dict[str, Any], manager: str, operation: str) -> dict[str, Any]:
    for entry in live["metadata"].get("managedFields") or []:
        if (entry["manager"], entry["operation"]) == (manager, operation):
            fields: dict[str, Any] = entry["fieldsV1"]
            return fields
    return {}


def without_pulumi(manifest: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(manifest)
    for metadata in (
        body["metadata"],
        body.get("spec", {}).get("template", {}).get("metadata", {}),
    ):
        annotations = {
            k: v
            for k, v in (metadata.get("annotations") or {}).items()
            if not k.startswith(PULUMI_ANNOTATIONS)
        }
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations", None)
    return body


def label_owners(node: dict[str, Any], key: str) -> set[tuple[str, str]]:
    return {
        (entry["manager"], entry["operation"])
        for entry in node["metadata"].get("managedFields") or []
        if f"f:{key}" in entry["fieldsV1"].get("f:metadata", {}).get("f:labels", {})
    }


def check_label_owners(obj: DesiredObject, before: Any, after: Any) -> None:
    """``kubectl label --field-manager=openelb-ha`` is an Update: it owns the labels it changed,
    and a label that already had the stack's value (labelled by hand) stays its maker's."""
    for key, value in obj.manifest["metadata"]["labels"].items():
        if before["metadata"]["labels"].get(key) == value:
            assert label_owners(after, key) == label_owners(before, key), (obj.name, key)
        else:
            assert label_owners(after, key) == {(FIELD_MANAGER, "Update")}, (obj.name, key)


def check_applied(
    cluster: ControlPlane, plan: Plan, env: dict[str, str], before: dict[str, Any]
) -> None:
    live = snapshot(cluster, plan)
    for obj in plan.state.objects:
        current = live[obj.key]
        assert current is not None, f"{obj.kind} {obj.object_id} missing after apply"
        wanted = without_pulumi(obj.with_secrets(obj.manifest, _secret_values(obj, env)))
        misses = applied_values(
            {k: v for k, v in wanted.items() if k in ("metadata", "spec")},
            {k: v for k, v in current.items() if k in ("metadata", "spec")},
            obj.kind,
        )
        assert misses == [], f"{obj.kind} {obj.object_id}"
        if obj.kind == "Node":
            check_label_owners(obj, before[obj.key], current)
        elif obj.kind in ("Deployment", "DaemonSet"):
            owned = owned_by(current, FIELD_MANAGER, "Update")
            assert "f:spec" in owned, f"{obj.object_id}: no field owned by the runbook's patch"
            check_pods(cluster, plan, obj, current)
        else:
            # kubectl apply --server-side --field-manager=openelb-ha
            assert owned_by(current, FIELD_MANAGER, "Apply"), f"{obj.kind} {obj.object_id}"


def _secret_values(obj: DesiredObject, env: dict[str, str]) -> dict[str, str]:
    variables = secret_variables(obj.secrets.values())
    return {name: env[variables[name]] for name in obj.secrets.values()}


def check_pods(cluster: ControlPlane, plan: Plan, obj: DesiredObject, workload: Any) -> None:
    """Rolled out: the pods Ready, on the stack's nodes, the replicas the stack gives each leaf
    (placed by the real scheduler from the patch's affinity and spread)."""
    selector = ",".join(f"{k}={v}" for k, v in workload["spec"]["selector"]["matchLabels"].items())
    pods = cluster.kubectl.json(
        "get",
        "pods",
        "-n",
        str(obj.namespace),
        "-l",
        selector,
        "--field-selector=status.phase=Running",
    )["items"]
    live_pods = [p for p in pods if "deletionTimestamp" not in p["metadata"]]
    nodes = [p["spec"]["nodeName"] for p in live_pods]
    assert set(nodes) <= set(plan.state.nodes), obj.object_id
    if obj.kind == "DaemonSet":
        assert sorted(nodes) == sorted(plan.state.nodes)
        return
    if obj.key == "workload":
        per_leaf = {
            leaf: sum(1 for n in nodes if n in names)
            for leaf, names in plan.state.nodes_by_leaf.items()
        }
        assert per_leaf == dict(plan.state.replicas_by_leaf), obj.object_id


def check_rolled_back(before: dict[str, Any], after: dict[str, Any], plan: Plan) -> None:
    for obj in plan.state.objects:
        old, new = before[obj.key], after[obj.key]
        if old is None:
            assert new is None, f"{obj.kind} {obj.object_id} left by rollback"
            continue
        assert new is not None, f"{obj.kind} {obj.object_id} deleted by rollback"
        assert comparable(new, obj.kind) == comparable(old, obj.kind), obj.object_id


def comparable(live: dict[str, Any], kind: str) -> dict[str, Any]:
    """What apply could change and rollback must restore: labels, annotations but kubectl's
    bookkeeping (the revision, last-applied), and the spec."""
    metadata = live["metadata"]
    annotations = {
        k: v
        for k, v in (metadata.get("annotations") or {}).items()
        if k
        not in ("deployment.kubernetes.io/revision", "deprecated.daemonset.template.generation")
    }
    return {"labels": metadata.get("labels"), "annotations": annotations, "spec": live.get("spec")}


# --- the runs --------------------------------------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[ControlPlane]:
    yield from started()


@pytest.mark.parametrize("brownfield", [False, True], ids=["greenfield", "brownfield"])
@pytest.mark.parametrize("stack", STACKS)
def test_the_runbook_applies_and_rolls_back_on_a_real_cluster(
    cluster: ControlPlane, tmp_path: Path, stack: str, brownfield: bool
) -> None:
    upstream_documents("0.5")  # skips, saying why, without the upstream manifests
    path = stack_copy(stack, tmp_path, brownfield)
    plan = build_plan(read_stack(path))
    prepare(cluster, plan, brownfield)
    before = snapshot(cluster, plan)
    script = runbook(tmp_path, stack)
    env = passwords(plan)

    if any(obj.kind == "BgpConf" for obj in plan.state.objects):
        # Not at a terminal and not confirmed: apply stops before the BgpConf (a change there
        # restarts BGP on every speaker at once), leaving it as it was; run again to go on.
        stopped = run(cluster, script, "apply", env, succeed=False)
        assert "stopped before the BgpConf" in stopped.stderr
        assert snapshot(cluster, plan)["bgpconf"] == before["bgpconf"]
    run(cluster, script, "apply", {**env, CONFIRM_VARIABLE: "yes"})
    check_applied(cluster, plan, env, before)

    run(cluster, script, "rollback", {**env, CONFIRM_VARIABLE: "yes"})
    check_rolled_back(before, snapshot(cluster, plan), plan)
