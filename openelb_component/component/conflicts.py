"""Conflicts reported at preview, from what the program's reads return.

The program reads every node and workload before patching it (to prove it exists); the read's
outputs are the live object, ``metadata.managedFields`` included (a ``get`` returns the object
as the cluster has it: pulumi-kubernetes provider/pkg/await/await.go:395-398@v4.32.0). A read
runs in ``pulumi preview`` too, so a field that ``up`` would stop on is named there, before
anything is applied, where the provider itself would say nothing (``desired/conflicts.py``).

An unforced conflict is a warning (the ``up`` workflow stops on it); a forced takeover is only
information, since ``up`` resolves it by design.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _tables

from openelb_component.desired import DesiredObject
from openelb_component.desired.conflicts import conflicts


def wire(value: Any) -> Any:
    """A read's outputs back as the API server's JSON.

    The SDK hands a ``get``'s outputs over with every field name that pulumi-kubernetes' name
    table knows turned to Python style (``managedFields`` -> ``managed_fields``, ``podCIDR`` ->
    ``pod_cidr``); the same generated table, read backwards, restores them. Map keys (labels,
    ``fieldsV1``'s ``f:...`` entries) are not in it and stay as they are.
    """
    if isinstance(value, dict):
        # dict.items, not value.items: an output type with a field named ``items`` (a volume's
        # configMap.items) shadows the method.
        return {
            _tables.SNAKE_TO_CAMEL_CASE_TABLE.get(str(key), str(key)): wire(item)
            for key, item in dict.items(value)
        }
    if isinstance(value, list):
        return [wire(item) for item in value]
    return value


Read = k8s.core.v1.Node | k8s.apps.v1.Deployment | k8s.apps.v1.DaemonSet
"""What ``Node.get`` / ``Deployment.get`` / ``DaemonSet.get`` return."""


def report(component: pulumi.Resource, obj: DesiredObject, live: Mapping[str, Any]) -> list[str]:
    """Log every field of ``obj``'s patch that conflicts on the live object (``live``: the
    read's outputs the patch applies to, ``metadata`` with its ``managedFields`` and, for a
    workload, ``spec``), and return the unforced ones' messages."""
    found = conflicts(obj, wire(dict(live)))
    for conflict in found:
        log = pulumi.log.info if conflict.forced else pulumi.log.warn
        log(conflict.message(), resource=component)
    return [conflict.message() for conflict in found if not conflict.forced]
