"""Live-looking objects, as an API server returns them: values plus ``metadata.managedFields``.

``fieldsV1`` is written as the server writes it (``f:<field>``, ``k:{...}`` for keyed list
items, ``.`` for a map itself, ``{}`` for a whole owned value such as an atomic map).
"""

from __future__ import annotations

import copy
from typing import Any

Fields = dict[str, Any]


def entry(manager: str, operation: str, fields: Fields, api_version: str = "v1") -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": "2026-11-01T10:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


def labels_fields(*keys: str) -> Fields:
    return {"f:metadata": {"f:labels": {".": {}, **{f"f:{key}": {} for key in keys}}}}


def node(name: str, labels: dict[str, str], *entries: dict[str, Any]) -> dict[str, Any]:
    """A Node as ``kubectl get node NAME -o json --show-managed-fields`` prints it (trimmed:
    the kubelet's own entry and status are what make real ones large, see bench/)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **labels},
            "managedFields": [
                entry("kubelet", "Update", labels_fields("kubernetes.io/hostname")),
                *entries,
            ],
        },
        "spec": {"podCIDR": "10.244.0.0/24"},
    }


# What `kubectl apply -f openelb.yaml` (client-side) leaves: the manager
# kubectl-client-side-apply, operation Update, owning every field of the manifest, and the
# fields the API server defaulted at creation (spec.replicas among them).
INSTALLER = "kubectl-client-side-apply"


def installed(workload: dict[str, Any]) -> dict[str, Any]:
    """An upstream workload as it is live after a client-side ``kubectl apply``."""
    live = copy.deepcopy(workload)
    spec = live["spec"]
    if live["kind"] == "Deployment":
        spec.setdefault("replicas", 1)
    template_spec = spec["template"]["spec"]
    spec_fields: Fields = {
        "f:template": {
            "f:spec": {
                "f:nodeSelector": {},
                "f:containers": {'k:{"name":"openelb-manager"}': {".": {}}},
            }
        }
    }
    if "replicas" in spec:
        spec_fields["f:replicas"] = {}
    if "strategy" in spec:
        spec_fields["f:strategy"] = {"f:rollingUpdate": {"f:maxUnavailable": {}}, "f:type": {}}
    template_spec.setdefault("nodeSelector", {"kubernetes.io/os": "linux"})
    live["metadata"]["managedFields"] = [
        entry(INSTALLER, "Update", {"f:spec": spec_fields}, "apps/v1"),
        entry(
            "kube-controller-manager",
            "Update",
            {"f:status": {"f:replicas": {}}},
            "apps/v1",
        ),
    ]
    return live
