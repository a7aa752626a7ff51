"""What a cluster's users add for OpenELB to announce: an Eip per ``eips`` range, and per Eip one
LoadBalancer Service whose endpoints are kwok pods.

The Service asks for the address the model's speakers announce (``spec.loadBalancerIP``, which
both releases honour: pkg/controllers/lb/controller.go:408-409@v0.5.1,
pkg/controllers/ipam/ipam.go:229@v0.6.0), so the routers are read for the same address in both
modes. It carries OpenELB's annotations (``lb.kubesphere.io/v1alpha1: openelb``, the protocol
and the Eip: pkg/constant/constant.go:9-10,31,33@v0.6.0) and the default
``externalTrafficPolicy: Cluster``, under which the next hops are every ready Node
(pkg/controllers/lb/controller.go:448-453@v0.5.1) or every Node, ready or not
(pkg/speaker/manager.go:394-397@v0.6.0), of the speaker's rack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

API_VERSION = "network.kubesphere.io/v1alpha2"
NAMESPACE = "default"
BACKEND = "lab-backend"
BACKEND_REPLICAS = 2


def eip_name(index: int) -> str:
    return f"lab-eip-{index}"


def eip(index: int, address: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Eip",
        "metadata": {"name": eip_name(index)},
        "spec": {"address": address, "protocol": "bgp"},
    }


def service(index: int, load_balancer_ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": eip_name(index),
            "namespace": NAMESPACE,
            "annotations": {
                "lb.kubesphere.io/v1alpha1": "openelb",
                "protocol.openelb.kubesphere.io/v1alpha1": "bgp",
                "eip.openelb.kubesphere.io/v1alpha2": eip_name(index),
            },
        },
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerIP": load_balancer_ip,
            "selector": {"app": BACKEND},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    }


def backend() -> dict[str, Any]:
    """The pods behind every Service: kwok runs them on its Nodes (no container starts)."""
    labels = {"app": BACKEND}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": BACKEND, "namespace": NAMESPACE},
        "spec": {
            "replicas": BACKEND_REPLICAS,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "web", "image": "lab.invalid/web:1"}],
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


def manifests(ranges: Sequence[str], addresses: Sequence[str]) -> list[dict[str, Any]]:
    """The backend, then each range's Eip and its Service (asking for ``addresses[i]``)."""
    out = [backend()]
    for index, (address_range, address) in enumerate(zip(ranges, addresses, strict=True)):
        out += [eip(index, address_range), service(index, address)]
    return out
