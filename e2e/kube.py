"""The control plane as the checks read it: live objects by REST, as the admin.

Nodes get InternalIPs in 192.0.2.0/24 (documentation range), one per name, in order.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from e2e.checks import Cluster
from openelb_component.lab.cluster import ControlPlane, NodeSpec
from openelb_component.lab.cluster.api import object_path

FIRST_HOST = 11


def node_specs(names: Iterable[str]) -> list[NodeSpec]:
    specs = [NodeSpec(name, f"192.0.2.{FIRST_HOST + index}") for index, name in enumerate(names)]
    if len(specs) > 200:
        raise ValueError("more nodes than addresses in 192.0.2.0/24")
    return specs


def cluster_view(cluster: ControlPlane) -> Cluster:
    api = cluster.api

    def read(
        api_version: str, kind: str, name: str, namespace: str | None
    ) -> Mapping[str, Any] | None:
        answer = api.request("GET", object_path(api_version, kind, name, namespace))
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise RuntimeError(f"GET {kind} {name}: HTTP {answer.status}: {answer.body}")
        return dict(answer.body)

    def pods(namespace: str, labels: Mapping[str, str]) -> list[Mapping[str, Any]]:
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        path = f"/api/v1/namespaces/{urllib.parse.quote(namespace)}/pods"
        answer = api.request("GET", path, query={"labelSelector": selector})
        if answer.status != 200:
            raise RuntimeError(f"GET pods in {namespace}: HTTP {answer.status}: {answer.body}")
        return list(answer.body.get("items") or [])

    def node_names() -> list[str]:
        answer = api.request("GET", "/api/v1/nodes")
        if answer.status != 200:
            raise RuntimeError(f"GET nodes: HTTP {answer.status}: {answer.body}")
        return [str(item["metadata"]["name"]) for item in answer.body.get("items") or []]

    return Cluster(read=read, pods=pods, node_names=node_names)
