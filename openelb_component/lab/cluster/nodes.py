"""Nodes as a kubelet registers them: name, labels, InternalIP; kwok keeps them Ready.

A kubelet creates its Node with the well-known labels (``kubernetes.io/hostname``, ``os``,
``arch`` and the ``beta.kubernetes.io/`` pair: pkg/kubelet/kubelet_node_status.go:306-314@v1.37.2;
the controller manager would add the beta pair otherwise, nodelifecycle
node_lifecycle_controller.go:147-172) under the field manager
``kubelet`` (an Update), and its address in ``status.addresses``. The node here is created the
same way with ``kubectl create --field-manager=kubelet``, so its managedFields look like a real
cluster's; the API server keeps the status a create sends for Nodes
(pkg/registry/core/node/strategy.go:81-84@v1.37.2).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KUBELET = "kubelet"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True)
class NodeSpec:
    name: str
    internal_ip: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.name) > 253 or _NAME.fullmatch(self.name) is None:
            raise ValueError(f"node name {self.name!r} is not a DNS-1123 subdomain")
        ipaddress.ip_address(self.internal_ip)  # ValueError names the value

    def manifest(self) -> dict[str, Any]:
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
            **self.labels,
        }
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": labels},
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": self.internal_ip},
                    {"type": "Hostname", "address": self.name},
                ]
            },
        }
