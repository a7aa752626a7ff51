"""Pulumi state per node: what the program's reads bring into the state, measured under mocks.

    .venv/bin/python -m bench.state                  # the docs/benchmarks.md table
    .venv/bin/python -m bench.state --nodes 10 --images 50

Every node is read before its labels are patched (``Node.get``: the read proves it exists, and
its status and managedFields feed the router configs and the conflict warnings). A read stores
the whole live object as the read resource's outputs (pulumi-kubernetes ``checkpointObject``,
provider/pkg/provider/provider.go:3087-3121, called for reads at :2122-2124@v4.32.0), plus
``__inputs``, a second copy of its metadata and spec without managedFields (:2099-2112). So
the mocks' reads here return a Node as a kubelet reports it: ``status.images`` lists up to 50
images by default (kubelet ``NodeStatusMaxImages``, kubernetes
pkg/kubelet/apis/config/v1beta1/defaults.go ``SetDefaults_KubeletConfiguration``), each with
its names (tag and digest) and size, plus conditions, addresses, capacity, nodeInfo and the
managedFields of kubelet, the node controller and kubectl.

The figure measured is the JSON of what the mocks record for each node's read. The state also
holds the NodePatch's outputs, which are the Node as the apply returned it, whole again
(``checkpointObject(newInputs, initialized, ...)``, provider.go:1856@v4.32.0): estimated here as
one more copy of the live Node plus the patch's own inputs. No provider option trims outputs:
the only managedFields removals are on inputs (provider.go:2103, :2998), and the provider offers
no lighter read (its invokes are yaml decode, helm template, kustomize: provider.go:95-97).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NODE_TYPE = "kubernetes:core/v1:Node"


def _image(index: int) -> dict[str, Any]:
    repository = f"registry.example.com/platform/service-{index:02d}"
    digest = f"{index:02d}" * 32
    return {
        "names": [f"{repository}@sha256:{digest}", f"{repository}:v1.{index}.0"],
        "sizeBytes": 50_000_000 + index * 1_000_003,
    }


def _managed(manager: str, operation: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "v1",
        "time": "2026-11-01T10:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


def kubelet_node(name: str, index: int, images: int) -> dict[str, Any]:
    """A Node as the API server returns it for a typical worker."""
    conditions = [
        {
            "type": kind,
            "status": "False",
            "lastHeartbeatTime": "2026-11-29T09:00:00Z",
            "lastTransitionTime": "2026-11-01T10:00:00Z",
            "reason": f"KubeletHas{reason}",
            "message": f"kubelet has {reason.lower()}",
        }
        for kind, reason in (
            ("MemoryPressure", "SufficientMemory"),
            ("DiskPressure", "NoDiskPressure"),
            ("PIDPressure", "SufficientPID"),
        )
    ] + [
        {
            "type": "Ready",
            "status": "True",
            "lastHeartbeatTime": "2026-11-29T09:00:00Z",
            "lastTransitionTime": "2026-11-01T10:00:00Z",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
        }
    ]
    resources = {
        "cpu": "32",
        "ephemeral-storage": "479151816Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": "131811072Ki",
        "pods": "110",
    }
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "bare-metal",
        "topology.kubernetes.io/zone": "dc1",
    }
    status_fields: dict[str, Any] = {
        f"f:{key}": {} for key in ("allocatable", "capacity", "conditions", "images", "nodeInfo")
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"{index:08d}-0000-4000-8000-000000000000",
            "resourceVersion": str(1_000_000 + index),
            "creationTimestamp": "2026-11-01T10:00:00Z",
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
            },
            "managedFields": [
                _managed(
                    "kubelet",
                    "Update",
                    {"f:metadata": {"f:labels": {f"f:{k}": {} for k in labels}}},
                ),
                _managed("kubelet", "Update", {"f:status": status_fields}),
                _managed("kube-controller-manager", "Update", {"f:spec": {"f:podCIDR": {}}}),
            ],
        },
        "spec": {"podCIDR": f"10.244.{index % 256}.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": f"192.0.2.{index % 250 + 1}"},
                {"type": "Hostname", "address": name},
            ],
            "allocatable": resources,
            "capacity": resources,
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": [_image(i) for i in range(images)],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": f"{index:08d}-boot",
                "containerRuntimeVersion": "containerd://1.7.24",
                "kernelVersion": "6.1.0-28-amd64",
                "kubeProxyVersion": "v1.31.4",
                "kubeletVersion": "v1.31.4",
                "machineID": f"{index:032d}",
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": f"{index:08d}-uuid",
            },
        },
    }


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def measure(nodes: int, images: int) -> dict[str, float]:
    """Bytes per node, as the mocks record the reads (see the module docstring)."""
    from bench.bench import topology
    from openelb_component.component.program import main
    from tests.support.harness import FakeCluster, run_under_mocks

    config = topology(nodes, 1)
    names = [name for leaf in config["leaves"] for name in leaf["nodes"]]
    live = {(NODE_TYPE, name): kubelet_node(name, i, images) for i, name in enumerate(names)}
    run, error = run_under_mocks(main, {"topology": config}, cluster=FakeCluster(live=live))
    if error is not None:
        raise error
    reads = [run.state[f"openelb-ha-node-{name}-existing"] for name in names]
    patches = [r.inputs for r in run.resources if r.type == f"{NODE_TYPE}Patch"]
    read_bytes = sum(_size(read) for read in reads) / nodes
    images_bytes = sum(_size(read["status"]["images"]) for read in reads) / nodes
    managed_bytes = sum(_size(read["metadata"]["managedFields"]) for read in reads) / nodes
    inputs_copy = (
        sum(
            _size({k: v for k, v in read.items() if k in ("metadata", "spec")})
            - _size(read["metadata"]["managedFields"])
            for read in reads
        )
        / nodes
    )
    patch_inputs = sum(_size(p) for p in patches) / nodes
    return {
        "read": read_bytes,
        "images": images_bytes,
        "managed_fields": managed_bytes,
        # read outputs + their __inputs copy + the patch's outputs (the Node again) + its inputs
        "estimated": 2 * read_bytes + inputs_copy + 2 * patch_inputs,
    }


def table(sizes: Sequence[int], images: Sequence[int]) -> list[str]:
    rows = [
        "| nodes | images per node | read recorded, bytes/node | of it status.images "
        "| of it managedFields | estimated state, bytes/node |",
        "|" + " ---: |" * 6,
    ]
    for count in images:
        for nodes in sizes:
            m = measure(nodes, count)
            rows.append(
                f"| {nodes} | {count} | {m['read']:.0f} | {m['images']:.0f} "
                f"| {m['managed_fields']:.0f} | {m['estimated']:.0f} |"
            )
    return rows


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--images", type=int, nargs="+", default=[0, 50])
    args = parser.parse_args(argv)
    print("\n".join(table(args.nodes, args.images)))


if __name__ == "__main__":
    main(sys.argv[1:])
