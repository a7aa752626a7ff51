"""Check the result, not just the patch: what each workload looks like after its patch.

Each workload patch is merged (strategic merge, ``merge.py``) onto the workload it patches -- the
user's live object when given, otherwise the upstream manifest of the configured OpenELB version
-- and the result is checked: valid for every Kubernetes release the project supports, its
nodeSelector admits exactly the listed nodes, every replica can be scheduled (one per node, the
rack spread constraint honoured), and a rollout cannot deadlock. BGP objects are checked against
the CRD schema of the configured version. A check that lacks what it needs is reported as
skipped, with the reason, never as passed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openelb_component import merge, names, upstream
from openelb_component.desired import DesiredObject, DesiredState
from openelb_component.validation import crd_errors, kubernetes_errors

Status = Literal["pass", "fail", "skip"]
WORKLOAD_KINDS = ("Deployment", "DaemonSet")
UNLISTED = "(any unlisted node)"
RESULT_CHECKS = "schema, nodeSelector, schedulable, rollout"
"""The checks of a patched workload, named together when none of them can run."""


@dataclass(frozen=True)
class Check:
    subject: str
    """What was checked, e.g. ``Deployment openelb-manager``."""
    name: str
    status: Status
    detail: str


@dataclass(frozen=True)
class Base:
    """The workload a patch is applied to, and where it came from."""

    source: str
    obj: dict[str, Any]


@dataclass(frozen=True)
class Verification:
    checks: tuple[Check, ...]
    bases: Mapping[str, Base] = field(default_factory=dict)
    """Desired object key -> the workload its patch was applied to."""
    results: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """Desired object key -> the workload after the patch."""

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)


@dataclass(frozen=True)
class Sources:
    """What the checks are run against."""

    documents: list[dict[str, Any]] | None
    """The upstream manifest of the configured version, None when it is not available."""
    missing_reason: str = ""
    live: Mapping[tuple[str, str], Base] = field(default_factory=dict)
    """(kind, name) -> a live workload the user gave, which replaces the upstream one."""


def upstream_sources(version: str, live: Mapping[tuple[str, str], Base]) -> Sources:
    path = upstream.manifest_path(version)
    if not path.is_file():
        return Sources(
            None,
            f"the OpenELB {version} manifest is not at {path}; set {upstream.ENV_VAR} to a "
            f"folder holding {upstream.RELEASES[version]}/openelb.yaml",
            live,
        )
    return Sources(upstream.load_documents(path), live=live)


def subject(obj: DesiredObject) -> str:
    return f"{obj.kind} {obj.name}"


def is_workload_patch(obj: DesiredObject) -> bool:
    return obj.action == "patch" and obj.kind in WORKLOAD_KINDS


def patch_body(obj: DesiredObject, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The manifest as a strategic patch of an existing object, without its identity fields.

    Given the object it will patch, the patch changes it as the component's Server-Side Apply
    does: an atomic map (the nodeSelector) is replaced whole, not merged key by key.
    """
    return obj.body if base is None else merge.as_applied(dict(base), obj.body)


def _versions_text() -> str:
    versions = upstream.KUBERNETES_VERSIONS
    return f"Kubernetes {versions[0]} to {versions[-1]}"


def schema_check(obj: DesiredObject, full: dict[str, Any]) -> Check:
    errors = {version: kubernetes_errors(full, version) for version in upstream.KUBERNETES_VERSIONS}
    bad = {version: found for version, found in errors.items() if found}
    if not bad:
        return Check(subject(obj), "schema", "pass", f"valid for {_versions_text()}")
    first = next(iter(bad.values()))[0]
    return Check(subject(obj), "schema", "fail", f"invalid for {', '.join(bad)}: {first}")


def crd_check(obj: DesiredObject, sources: Sources) -> Check:
    if sources.documents is None:
        return Check(subject(obj), "CRD schema", "skip", sources.missing_reason)
    errors = crd_errors(sources.documents, obj.manifest)
    if errors:
        return Check(subject(obj), "CRD schema", "fail", "; ".join(errors))
    return Check(subject(obj), "CRD schema", "pass", "valid for the CRD in the upstream manifest")


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


def _selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
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
        and _selects(term.get("labelSelector"), pod_labels)
        for term in terms
    )


def _hard_spreads(
    pod_spec: Mapping[str, Any], pod_labels: Mapping[str, str]
) -> list[Mapping[str, Any]]:
    return [
        constraint
        for constraint in pod_spec.get("topologySpreadConstraints") or []
        if constraint.get("whenUnsatisfiable") == "DoNotSchedule"
        and _selects(constraint.get("labelSelector"), pod_labels)
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


def _resolve_int_or_percent(value: Any, total: int, default: str, round_up: bool) -> int:
    value = default if value is None else value
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


class _Workload:
    """A patched workload's facts the checks need."""

    def __init__(self, obj: DesiredObject, result: dict[str, Any], state: DesiredState) -> None:
        self.obj = obj
        spec = result.get("spec") or {}
        template = spec.get("template") or {}
        self.pod_spec: dict[str, Any] = template.get("spec") or {}
        self.pod_labels: dict[str, str] = (template.get("metadata") or {}).get("labels") or {}
        nodes = simulated_nodes(state)
        self.listed = sorted(node for node in nodes if node != UNLISTED)
        self.admitted = sorted(n for n, labels in nodes.items() if admits(self.pod_spec, n, labels))
        # The nodes the replicas can run on: listed (simulated) nodes the filter admits.
        self.eligible = {n: nodes[n] for n in self.admitted if n != UNLISTED}
        self.is_daemonset = obj.kind == "DaemonSet"
        self.replicas = len(self.eligible) if self.is_daemonset else int(spec.get("replicas", 1))
        self.per_node = one_per_node(self.pod_spec, self.pod_labels)
        strategy = spec.get("updateStrategy" if self.is_daemonset else "strategy") or {}
        self.strategy = strategy


def node_selector_check(workload: _Workload) -> Check:
    admitted = workload.admitted
    name = "nodeSelector"
    if admitted == workload.listed:
        return Check(
            subject(workload.obj),
            name,
            "pass",
            f"admits exactly the listed nodes ({', '.join(admitted)}); unlisted nodes are "
            f"assumed to lack the {names.HA_LABEL} label",
        )
    extra = sorted(set(admitted) - set(workload.listed))
    missing = sorted(set(workload.listed) - set(admitted))
    return Check(
        subject(workload.obj),
        name,
        "fail",
        f"admits {', '.join(extra) or 'no extra node'} beyond the list and rejects "
        f"{', '.join(missing) or 'no listed node'}",
    )


def schedulable_check(workload: _Workload) -> Check:
    name = "schedulable"
    eligible = workload.eligible
    if workload.is_daemonset:
        return Check(
            subject(workload.obj), name, "pass", f"one pod on each of {len(eligible)} node(s)"
        )
    capacity = 1 if workload.per_node else workload.replicas
    spreads = _hard_spreads(workload.pod_spec, workload.pod_labels)
    pods, pending = place(workload.replicas, eligible, capacity, spreads)
    rule = "one per node (host network, hostname anti-affinity)" if workload.per_node else ""
    if pending:
        return Check(
            subject(workload.obj),
            name,
            "fail",
            f"{pending} of {workload.replicas} replicas would stay Pending on {len(eligible)} "
            f"eligible node(s) {rule}".rstrip(),
        )
    detail = f"{workload.replicas} replicas on {len(eligible)} eligible node(s), {rule}".rstrip(
        ", "
    )
    for spread in spreads:
        key = str(spread["topologyKey"])
        per_domain: dict[str, int] = {}
        for node, count in pods.items():
            domain = eligible[node][key]
            per_domain[domain] = per_domain.get(domain, 0) + count
        shares = ", ".join(f"{domain} {count}" for domain, count in sorted(per_domain.items()))
        detail += f"; per {key}: {shares}"
    return Check(subject(workload.obj), name, "pass", detail)


def rollout_check(workload: _Workload) -> Check:
    name = "rollout"
    kind = workload.strategy.get("type", "RollingUpdate")
    if kind == "Recreate":
        return Check(
            subject(workload.obj),
            name,
            "fail",
            "strategy Recreate stops every replica before starting new ones: no LoadBalancer "
            "IP is announced meanwhile",
        )
    if kind == "OnDelete":
        return Check(
            subject(workload.obj), name, "pass", "OnDelete: pods are replaced only when deleted"
        )
    rolling = workload.strategy.get("rollingUpdate") or {}
    default = "1" if workload.is_daemonset else "25%"
    unavailable = _resolve_int_or_percent(
        rolling.get("maxUnavailable"), workload.replicas, default, round_up=False
    )
    spare = len(workload.eligible) - workload.replicas
    if unavailable < 1 and workload.per_node and spare < 1:
        return Check(
            subject(workload.obj),
            name,
            "fail",
            f"maxUnavailable resolves to {unavailable} while every eligible node runs a "
            "replica and a node holds one replica at most: a new pod can never start, so the "
            "rollout deadlocks; set maxUnavailable to 1",
        )
    return Check(
        subject(workload.obj),
        name,
        "pass",
        f"maxUnavailable {unavailable}: at least {max(workload.replicas - unavailable, 0)} of "
        f"{workload.replicas} replicas keep announcing during a rollout, no scale to 0",
    )


def _base(obj: DesiredObject, sources: Sources) -> Base | None:
    live = sources.live.get((obj.kind, obj.name))
    if live is not None:
        return live
    if sources.documents is None:
        return None
    try:
        found = upstream.find(sources.documents, obj.kind, obj.name)
    except LookupError:
        return None
    # The upstream manifest names its own namespace; the stack says where OpenELB really is.
    found = {**found, "metadata": {**found["metadata"], "namespace": obj.namespace}}
    return Base("the upstream manifest", found)


def _no_base(obj: DesiredObject, sources: Sources) -> Check:
    if sources.documents is None:
        return Check(subject(obj), RESULT_CHECKS, "skip", sources.missing_reason)
    # The configured version's manifest has no such workload: the patch would create a bogus one.
    return Check(
        subject(obj),
        RESULT_CHECKS,
        "fail",
        f"the upstream manifest has no {obj.kind} {obj.name} to patch",
    )


def verify(state: DesiredState, sources: Sources) -> Verification:
    checks: list[Check] = []
    bases: dict[str, Base] = {}
    results: dict[str, dict[str, Any]] = {}
    for obj in state.objects:
        if is_workload_patch(obj):
            base = _base(obj, sources)
            if base is None:
                checks.append(_no_base(obj, sources))
                continue
            result = merge.strategic_merge(base.obj, patch_body(obj, base.obj))
            bases[obj.key], results[obj.key] = base, result
            workload = _Workload(obj, result, state)
            checks += [
                schema_check(obj, result),
                node_selector_check(workload),
                schedulable_check(workload),
                rollout_check(workload),
            ]
        elif merge.object_schema(obj.api_version, obj.kind) is not None:
            checks.append(schema_check(obj, obj.manifest))
        else:
            checks.append(crd_check(obj, sources))
    return Verification(tuple(checks), bases, results)
