"""The control plane fixture itself (openelb_component/lab/cluster/): real etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok, driven with the real kubectl.

What the other real-cluster tests rely on, checked here: Nodes registered as a kubelet would and
kept Ready with their InternalIP; Deployments and DaemonSets that roll with pods becoming Ready;
the scheduler's verdicts (a pod nothing can take stays Pending, with its reason); identities
whose RBAC is exactly what their Roles grant; OpenELB installed from its upstream manifests by
``kubectl apply``; and nothing left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openelb_component.lab import leftovers
from openelb_component.lab.cluster import ControlPlane, KubectlError, NodeSpec
from openelb_component.plan import upstream
from tests.support.cluster import started
from tests.support.manifests import upstream_documents

# One control plane for the module: its tests stay on one xdist worker (make cluster-test).
pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("test_cluster")]

NODES = [
    NodeSpec("cp-node-1", "192.0.2.11", {"openelb.kubesphere.io/rack": "rack-a"}),
    NodeSpec("cp-node-2", "192.0.2.12", {"openelb.kubesphere.io/rack": "rack-b"}),
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[ControlPlane]:
    for control_plane in started():
        control_plane.add_nodes(NODES)
        yield control_plane


def apply(cluster: ControlPlane, document: dict[str, Any]) -> None:
    cluster.kubectl.apply_json(document, "--server-side", "--field-manager=test")


def deployment(name: str, replicas: int, pod_spec: dict[str, Any]) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "example.invalid/c:1"}], **pod_spec},
            },
        },
    }


def test_nodes_are_registered_as_by_a_kubelet_and_ready(cluster: ControlPlane) -> None:
    node = cluster.kubectl.json("get", "node", "cp-node-1")
    assert node["metadata"]["labels"] == {
        "kubernetes.io/hostname": "cp-node-1",
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "openelb.kubesphere.io/rack": "rack-a",
    }
    assert {"type": "InternalIP", "address": "192.0.2.11"} in node["status"]["addresses"]
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert [c["status"] for c in ready] == ["True"]
    entries = {(e["manager"], e["operation"]): e for e in node["metadata"]["managedFields"]}
    kubelet = entries[("kubelet", "Update")]["fieldsV1"]["f:metadata"]["f:labels"]
    assert "f:openelb.kubesphere.io/rack" in kubelet


def test_a_deployment_rolls_out_spread_by_the_real_scheduler(cluster: ControlPlane) -> None:
    """Required anti-affinity on the rack label: one replica per rack, each Ready."""
    anti_affinity = {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": {"app": "spread"}},
                        "topologyKey": "openelb.kubesphere.io/rack",
                    }
                ]
            }
        }
    }
    apply(cluster, deployment("spread", 2, anti_affinity))
    cluster.kubectl.run("rollout", "status", "deployment/spread", "--timeout=60s", timeout=90)
    pods = cluster.kubectl.json("get", "pods", "-l", "app=spread")["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["cp-node-1", "cp-node-2"]
    assert all(p["status"]["phase"] == "Running" for p in pods)


def test_a_pod_no_node_can_take_stays_pending_with_the_schedulers_reason(
    cluster: ControlPlane,
) -> None:
    apply(cluster, deployment("nowhere", 1, {"nodeSelector": {"openelb.kubesphere.io/rack": "z"}}))
    deadline = time.monotonic() + 30
    reasons: list[str] = []
    while time.monotonic() < deadline and not reasons:
        events = cluster.kubectl.json(
            "get", "events", "--field-selector", "reason=FailedScheduling"
        )["items"]
        reasons = [e["message"] for e in events if "nowhere" in e["involvedObject"]["name"]]
        time.sleep(0.5)
    assert reasons, "no FailedScheduling event"
    assert "didn't match Pod's node affinity/selector" in reasons[0]
    pods = cluster.kubectl.json("get", "pods", "-l", "app=nowhere")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Pending"]


def test_a_daemonset_runs_a_ready_pod_on_every_node(cluster: ControlPlane) -> None:
    labels = {"app": "everywhere"}
    apply(
        cluster,
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "everywhere", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "hostNetwork": True,
                        "containers": [{"name": "c", "image": "example.invalid/c:1"}],
                    },
                },
            },
        },
    )
    # Not `kubectl rollout status`: it reports done as soon as the controller has observed the
    # DaemonSet, and a first sync that counts no node yet (seen once in CI, under load) says
    # desiredNumberScheduled 0. What the test asks is the pods themselves, so it waits for them.
    wanted = [("cp-node-1", "192.0.2.11"), ("cp-node-2", "192.0.2.12")]
    deadline = time.monotonic() + 90
    placed: list[tuple[str, str]] = []
    while time.monotonic() < deadline:
        pods = cluster.kubectl.json("get", "pods", "-l", "app=everywhere")["items"]
        # A hostNetwork pod gets its node's InternalIP (kwok's pod-ready stage).
        placed = sorted(
            (p["spec"].get("nodeName", ""), p["status"].get("podIP", ""))
            for p in pods
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions", [])
            )
        )
        if placed == wanted:
            break
        time.sleep(0.5)
    status = cluster.kubectl.json("get", "daemonset", "everywhere")["status"]
    assert placed == wanted, f"DaemonSet status: {status}"


def test_a_service_account_gets_what_its_role_grants_and_nothing_more(
    cluster: ControlPlane,
) -> None:
    cluster.kubectl.run("create", "serviceaccount", "reader", "-n", "default")
    reader = cluster.kubectl.as_identity(
        cluster.kubeconfig_for_service_account("default", "reader")
    )
    with pytest.raises(KubectlError, match="Forbidden"):
        reader.run("get", "nodes")
    cluster.kubectl.run(
        "create", "clusterrole", "node-reader", "--verb=get,list", "--resource=nodes"
    )
    cluster.kubectl.run(
        "create",
        "clusterrolebinding",
        "reader-nodes",
        "--clusterrole=node-reader",
        "--serviceaccount=default:reader",
    )
    assert reader.run("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout == (
        "system:serviceaccount:default:reader"
    )
    assert "cp-node-1" in reader.run("get", "nodes", "-o", "name").stdout
    with pytest.raises(KubectlError, match="Forbidden"):
        reader.run("label", "node", "cp-node-1", "x=y")


def test_a_user_kubeconfig_authenticates_with_its_groups(cluster: ControlPlane) -> None:
    user = cluster.kubectl.as_identity(cluster.kubeconfig_for_user("alice", ("team-a",)))
    info = json.loads(user.run("auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]
    assert info["username"] == "alice"
    assert "team-a" in info["groups"]


@pytest.mark.parametrize("version", sorted(upstream.RELEASES), ids=lambda v: f"openelb-{v}")
def test_openelb_installs_from_its_upstream_manifest_with_kubectl_apply(
    cluster: ControlPlane, version: str
) -> None:
    documents = upstream_documents(version)  # skips, saying why, without the manifests
    # One OpenELB per cluster: the two releases share names (openelb-system, the CRDs).
    cluster.kubectl.run(
        "delete", "namespace", "openelb-system", "--ignore-not-found", "--wait=true", timeout=120
    )
    installed = cluster.install_openelb(upstream.manifest_path(version))
    expected = sorted(
        (d["kind"], d["metadata"]["name"])
        for d in documents
        if d["kind"] in ("Deployment", "DaemonSet")
    )
    assert sorted((kind, name) for kind, _, name in installed.workloads) == expected
    assert sorted(kind for kind, _ in installed.webhooks_removed) == sorted(
        d["kind"] for d in documents if d["kind"].endswith("WebhookConfiguration")
    )
    for kind, namespace, name in installed.workloads:
        live = cluster.kubectl.json("get", kind.lower(), name, "-n", namespace)
        managers = {(e["manager"], e["operation"]) for e in live["metadata"]["managedFields"]}
        # What the conflict prediction assumes of an install by kubectl apply (DESIGN.md §7).
        assert ("kubectl-client-side-apply", "Update") in managers
        assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]
    crds = cluster.kubectl.json("get", "crd")["items"]
    assert {"bgppeers.network.kubesphere.io", "bgpconfs.network.kubesphere.io"} <= {
        c["metadata"]["name"] for c in crds
    }


def test_a_killed_run_leaves_nothing_after_the_next_cleanup() -> None:
    """SIGKILL of the process that started a control plane: every daemon dies with it, and the
    next start's cleanup (lab/leftovers.py) removes its folder."""
    script = (
        "import os, sys\n"
        "from openelb_component.lab.cluster import ControlPlane\n"
        "with ControlPlane() as cluster:\n"
        "    pids = [c.daemon.popen.pid for c in cluster._components]\n"
        "    print(' '.join(map(str, pids)), cluster.folder, flush=True)\n"
        "    sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as run:
        assert run.stdout is not None
        *pids, folder = run.stdout.readline().split()
        assert len(pids) == 5
        os.kill(run.pid, signal.SIGKILL)
        run.wait(10)
    deadline = time.monotonic() + 20
    alive = [int(p) for p in pids]
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if Path(f"/proc/{p}").exists() and not _zombie(p)]
        time.sleep(0.2)
    assert alive == []
    # Any run's start may do the cleanup first (they share the records): then it is gone already.
    cleanup = leftovers.cleanup_dead_runs()
    assert not Path(folder).exists(), cleanup.render()
    assert not list(leftovers.records_dir().glob(f"controlplane-{run.pid}-*.json"))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return False
