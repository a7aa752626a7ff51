"""A scheduler's view of the plan's nodes: which nodes a pod spec admits, and where replicas land.

Only the filters OpenELB's workloads meet are modelled (nodeSelector, required node affinity,
one pod per node through host ports or hostname anti-affinity, hard topology spread
constraints), each as kube-scheduler applies it; anything else is refused rather than guessed.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
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


def _membership(values: Any) -> Any:
    """A list of values as a set when every value hashes (a node list is 10,000 names long and
    is asked about every node), else as given."""
    if not isinstance(values, list):
        return values
    try:
        return frozenset(values)
    except TypeError:
        return values


def _expression_test(expression: Mapping[str, Any]) -> Callable[[Mapping[str, str]], bool]:
    key, operator = expression.get("key"), expression.get("operator")
    values = _membership(expression.get("values") or [])
    if operator == "In":
        return lambda labels: labels.get(str(key)) in values
    if operator == "NotIn":
        return lambda labels: labels.get(str(key)) not in values
    if operator == "Exists":
        return lambda labels: key in labels
    if operator == "DoesNotExist":
        return lambda labels: key not in labels
    return lambda labels: False  # Gt/Lt on node labels: not used by OpenELB; refuse, not guess


def _expression_admits(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    return _expression_test(expression)(labels)


def _names_one_node(fields: Sequence[Mapping[str, Any]]) -> bool:
    return (
        len(fields) == 1
        and fields[0].get("key") == "metadata.name"
        and fields[0].get("operator") == "In"
        and len(fields[0].get("values") or []) == 1
    )


def node_filter(pod_spec: Mapping[str, Any]) -> Callable[[str, Mapping[str, str]], bool]:
    """The scheduler's node filter for ``pod_spec`` (nodeSelector, required node affinity: its
    ``matchExpressions`` on labels and ``matchFields`` on ``metadata.name``), read once and
    asked for each node."""
    selector = list((pod_spec.get("nodeSelector") or {}).items())
    required = (
        ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms")
    # A term that only names one node (the API server allows one value per metadata.name
    # requirement, so a node list is one such term per node): a set, not a scan per node.
    named: set[str] = set()
    terms = []
    for term in required or []:
        fields = term.get("matchFields") or []
        if not term.get("matchExpressions") and _names_one_node(fields):
            named.add(str(fields[0]["values"][0]))
            continue
        terms.append(
            (
                [_expression_test(e) for e in term.get("matchExpressions") or []],
                [_expression_test(e) for e in fields],
            )
        )

    def admit(node: str, labels: Mapping[str, str]) -> bool:
        if any(labels.get(key) != value for key, value in selector):
            return False
        if not required or node in named:
            return True
        fields = {"metadata.name": node}
        return any(
            all(test(labels) for test in on_labels) and all(test(fields) for test in on_fields)
            for on_labels, on_fields in terms
        )

    return admit


def admits(pod_spec: Mapping[str, Any], node: str, labels: Mapping[str, str]) -> bool:
    """Whether the scheduler's node filter passes ``node`` (see ``node_filter``)."""
    return node_filter(pod_spec)(node, labels)


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


class _Spread:
    """One hard spread constraint while replicas are placed: the pods in each of its domains,
    and which domains are open (a pod there keeps it within maxSkew of the emptiest domain)."""

    def __init__(self, key: str, max_skew: int, domains: set[str]) -> None:
        self.key = key
        self.max_skew = max_skew
        self.count = dict.fromkeys(domains, 0)
        self.at_count: dict[int, set[str]] = {0: set(domains)}
        self.least = 0

    def is_open(self, domain: str) -> bool:
        # The scheduler's PodTopologySpread filter: own domain + 1 - the least <= maxSkew.
        return self.count[domain] + 1 - self.least <= self.max_skew

    def add_pod(self, domain: str) -> set[str]:
        """Count a pod in ``domain``; the domains whose verdict may have changed."""
        before = self.count[domain]
        self.count[domain] = before + 1
        self.at_count[before].discard(domain)
        self.at_count.setdefault(before + 1, set()).add(domain)
        changed = {domain}
        if before == self.least and not self.at_count[before]:
            # The emptiest domain filled up: the least rises by one, opening the domains that
            # were one pod too full.
            del self.at_count[before]
            self.least += 1
            changed |= self.at_count.get(self.least + self.max_skew - 1, set())
        return changed


def place(
    replicas: int,
    eligible: Mapping[str, Mapping[str, str]],
    capacity: int,
    spreads: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, int], int]:
    """Schedule replicas one by one as the scheduler's filters would: a node with room whose
    every hard spread domain stays within maxSkew of the emptiest domain, the node with the
    fewest pods first, then by name. Returns the pods per node and how many replicas found no
    node.

    Nodes sharing a domain in every spread are judged together (a group), so a step looks only
    at the groups whose verdict changed and at one heap: O(log n) per replica plus a pass over
    a domain's groups when it opens or closes, instead of every node and domain per replica
    (10,000 nodes took 28-81 s)."""
    # Nodes without a hard constraint's topology key are filtered out by the scheduler.
    nodes = {
        node: labels
        for node, labels in eligible.items()
        if all(spread.get("topologyKey") in labels for spread in spreads)
    }
    pods = dict.fromkeys(nodes, 0)
    if not nodes or replicas <= 0:
        return pods, max(replicas, 0)
    keys = [str(spread["topologyKey"]) for spread in spreads]
    groups: dict[tuple[str, ...], list[tuple[int, str]]] = {}
    for node, labels in nodes.items():
        if capacity > 0:
            groups.setdefault(tuple(labels[key] for key in keys), []).append((0, node))
    tracked = [
        _Spread(key, int(spread.get("maxSkew", 1)), {labels[key] for labels in nodes.values()})
        for key, spread in zip(keys, spreads, strict=True)
    ]
    # Per spread and domain, the groups in it; per group, how many of its domains are closed.
    members: list[dict[str, list[tuple[str, ...]]]] = [{} for _ in tracked]
    closed: dict[tuple[str, ...], int] = {}
    for group, waiting in groups.items():
        heapq.heapify(waiting)
        for domain, of_domain in zip(group, members, strict=True):
            of_domain.setdefault(domain, []).append(group)
        closed[group] = sum(not s.is_open(d) for s, d in zip(tracked, group, strict=True))
    open_now = [{d: s.is_open(d) for d in s.count} for s in tracked]
    # Each open group's lightest node; entries go stale and are skipped when popped.
    heap = [(*waiting[0], group) for group, waiting in groups.items() if not closed[group]]
    heapq.heapify(heap)
    for placed in range(replicas):
        while heap:
            count, node, group = heap[0]
            waiting = groups[group]
            if not closed[group] and waiting and waiting[0] == (count, node):
                break
            heapq.heappop(heap)
        else:
            return pods, replicas - placed
        pods[node] = count + 1
        if count + 1 < capacity:
            heapq.heapreplace(waiting, (count + 1, node))
        else:
            heapq.heappop(waiting)
        for index, (spread, domain) in enumerate(zip(tracked, group, strict=True)):
            for changed in spread.add_pod(domain):
                verdict = spread.is_open(changed)
                if verdict == open_now[index][changed]:
                    continue
                open_now[index][changed] = verdict
                for member in members[index][changed]:
                    closed[member] += -1 if verdict else 1
                    if not closed[member] and groups[member]:
                        heapq.heappush(heap, (*groups[member][0], member))
        if not closed[group] and waiting:
            heapq.heappush(heap, (*waiting[0], group))
    return pods, 0


def resolve_int_or_percent(value: Any, total: int, default: str, round_up: bool) -> int:
    value = default if value is None else value
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)
