"""A scheduler's view of the plan's nodes: which nodes a pod spec admits, and where replicas land.

Only the filters OpenELB's workloads meet are modelled (nodeSelector, required node affinity,
one pod per node through host ports or hostname anti-affinity, hard topology spread
constraints), each as kube-scheduler applies it; anything else is refused rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from openelb_component.config import names
from openelb_component.desired import DesiredState

UNLISTED = "(any unlisted node)"


def simulated_nodes(state: DesiredState) -> dict[str, dict[str, str]]:
    """Each listed node with the labels the plan gives it plus those every Linux node has, and
    one unlisted node (it carries neither the HA nor a rack label)."""
    nodes: dict[str, dict[str, str]] = {}
    for obj in state.objects:
        if obj.kind == "Node":
            labels = dict(obj.manifest["metadata"].get("labels") or {})
            nodes[obj.name] = {names.OS_LABEL: "linux", names.HOSTNAME_LABEL: obj.name, **labels}
    nodes[UNLISTED] = {names.OS_LABEL: "linux", names.HOSTNAME_LABEL: "unlisted"}
    return nodes


def _expression_admits(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, operator = expression.get("key"), expression.get("operator")
    values = expression.get("values") or []
    if operator == "In":
        return labels.get(str(key)) in values
    if operator == "NotIn":
        return labels.get(str(key)) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False  # Gt/Lt on node labels: not used by OpenELB; refuse rather than guess


def admits(pod_spec: Mapping[str, Any], node: str, labels: Mapping[str, str]) -> bool:
    """Whether the scheduler's node filter (nodeSelector, required node affinity: its
    ``matchExpressions`` on labels and ``matchFields`` on ``metadata.name``) passes."""
    selector = pod_spec.get("nodeSelector") or {}
    if any(labels.get(key) != value for key, value in selector.items()):
        return False
    required = (
        ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms")
    if not required:
        return True
    fields = {"metadata.name": node}
    return any(
        all(_expression_admits(e, labels) for e in term.get("matchExpressions") or [])
        and all(_expression_admits(e, fields) for e in term.get("matchFields") or [])
        for term in required
    )


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if not selector:
        return False
    match = selector.get("matchLabels") or {}
    return all(labels.get(key) == value for key, value in match.items()) and all(
        _expression_admits(e, labels) for e in selector.get("matchExpressions") or []
    )


def one_per_node(pod_spec: Mapping[str, Any], pod_labels: Mapping[str, str]) -> bool:
    """Host network with container ports, or required anti-affinity on the hostname that
    selects the workload's own pods: either allows one replica per node."""
    if pod_spec.get("hostNetwork") and any(
        container.get("ports") for container in pod_spec.get("containers") or []
    ):
        return True
    terms = ((pod_spec.get("affinity") or {}).get("podAntiAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or []
    return any(
        term.get("topologyKey") == names.HOSTNAME_LABEL
        and selects(term.get("labelSelector"), pod_labels)
        for term in terms
    )


def hard_spreads(
    pod_spec: Mapping[str, Any], pod_labels: Mapping[str, str]
) -> list[Mapping[str, Any]]:
    return [
        constraint
        for constraint in pod_spec.get("topologySpreadConstraints") or []
        if constraint.get("whenUnsatisfiable") == "DoNotSchedule"
        and selects(constraint.get("labelSelector"), pod_labels)
    ]


def place(
    replicas: int,
    eligible: Mapping[str, Mapping[str, str]],
    capacity: int,
    spreads: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, int], int]:
    """Schedule replicas one by one as the scheduler's filters would: a node with room whose
    every hard spread domain stays within maxSkew of the emptiest domain. Returns the pods per
    node and how many replicas found no node."""
    # Nodes without a hard constraint's topology key are filtered out by the scheduler.
    nodes = {
        node: labels
        for node, labels in eligible.items()
        if all(spread.get("topologyKey") in labels for spread in spreads)
    }
    pods = dict.fromkeys(nodes, 0)

    def domain_counts(key: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node, labels in nodes.items():
            counts[labels[key]] = counts.get(labels[key], 0) + pods[node]
        return counts

    def fits(node: str) -> bool:
        if pods[node] >= capacity:
            return False
        for spread in spreads:
            counts = domain_counts(str(spread["topologyKey"]))
            mine = counts[nodes[node][str(spread["topologyKey"])]]
            if mine + 1 - min(counts.values()) > int(spread.get("maxSkew", 1)):
                return False
        return True

    for placed in range(replicas):
        candidates = sorted((pods[node], node) for node in nodes if fits(node))
        if not candidates:
            return pods, replicas - placed
        pods[candidates[0][1]] += 1
    return pods, 0


def resolve_int_or_percent(value: Any, total: int, default: str, round_up: bool) -> int:
    value = default if value is None else value
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)
