"""CheckResult the result, not just the patch: what each workload looks like after its patch.

Each workload patch is merged (strategic merge, ``merge.py``) onto the workload it patches -- the
user's live object when given, otherwise the upstream manifest of the configured OpenELB version
-- and the result is checked: valid for every Kubernetes release the project supports, its
nodeSelector admits exactly the listed nodes, every replica can be scheduled (one per node, the
rack spread constraint honoured), and a rollout cannot deadlock. BGP objects are checked against
the CRD schema of the configured version. A check that lacks what it needs is reported as
skipped, with the reason, never as passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from openelb_component.config import names
from openelb_component.desired import DesiredObject, DesiredState
from openelb_component.plan import merge, upstream
from openelb_component.plan.scheduling import (
    UNLISTED,
    hard_spreads,
    node_filter,
    one_per_node,
    place,
    resolve_int_or_percent,
    simulated_nodes,
)
from openelb_component.plan.schemas import crd_errors, kubernetes_errors_by_release
from openelb_component.plan.sources import (
    Base,
    Sources,
    base_for,
    is_workload_patch,
    patch_body,
    subject,
)

Status = Literal["pass", "fail", "skip"]
RESULT_CHECKS = "schema, nodeSelector, schedulable, rollout"
"""The checks of a patched workload, named together when none of them can run."""


@dataclass(frozen=True)
class CheckResult:
    subject: str
    """What was checked, e.g. ``Deployment openelb-manager``."""
    name: str
    status: Status
    detail: str


@dataclass(frozen=True)
class Verification:
    checks: tuple[CheckResult, ...]
    bases: Mapping[str, Base] = field(default_factory=dict)
    """Desired object key -> the workload its patch was applied to."""
    results: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """Desired object key -> the workload after the patch."""

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)


def _versions_text() -> str:
    versions = upstream.KUBERNETES_VERSIONS
    return f"Kubernetes {versions[0]} to {versions[-1]}"


def schema_check(obj: DesiredObject, full: dict[str, Any]) -> CheckResult:
    errors = kubernetes_errors_by_release(full)
    bad = {version: found for version, found in errors.items() if found}
    if not bad:
        return CheckResult(subject(obj), "schema", "pass", f"valid for {_versions_text()}")
    first = next(iter(bad.values()))[0]
    return CheckResult(subject(obj), "schema", "fail", f"invalid for {', '.join(bad)}: {first}")


def crd_check(obj: DesiredObject, sources: Sources) -> CheckResult:
    if sources.documents is None:
        return CheckResult(subject(obj), "CRD schema", "skip", sources.missing_reason)
    errors = crd_errors(sources.documents, obj.manifest)
    if errors:
        return CheckResult(subject(obj), "CRD schema", "fail", "; ".join(errors))
    return CheckResult(
        subject(obj), "CRD schema", "pass", "valid for the CRD in the upstream manifest"
    )


class PatchedWorkload:
    """A patched workload's facts the checks need."""

    def __init__(self, obj: DesiredObject, result: dict[str, Any], state: DesiredState) -> None:
        self.obj = obj
        spec = result.get("spec") or {}
        template = spec.get("template") or {}
        self.pod_spec: dict[str, Any] = template.get("spec") or {}
        self.pod_labels: dict[str, str] = (template.get("metadata") or {}).get("labels") or {}
        nodes = simulated_nodes(state)
        # The nodes that run OpenELB; a leaf's otherNodes carry the rack label only, and the
        # nodeSelector rightly rejects them.
        self.listed = sorted(state.nodes)
        admit = node_filter(self.pod_spec)
        self.admitted = sorted(n for n, labels in nodes.items() if admit(n, labels))
        # The nodes the replicas can run on: listed (simulated) nodes the filter admits.
        self.eligible = {n: nodes[n] for n in self.admitted if n != UNLISTED}
        self.is_daemonset = obj.kind == "DaemonSet"
        self.replicas = len(self.eligible) if self.is_daemonset else int(spec.get("replicas", 1))
        self.per_node = one_per_node(self.pod_spec, self.pod_labels)
        strategy = spec.get("updateStrategy" if self.is_daemonset else "strategy") or {}
        self.strategy = strategy


def node_selector_check(workload: PatchedWorkload) -> CheckResult:
    admitted = workload.admitted
    name = "nodeSelector"
    if admitted == workload.listed:
        return CheckResult(
            subject(workload.obj),
            name,
            "pass",
            f"admits exactly the listed nodes ({', '.join(admitted)}); unlisted nodes are "
            f"assumed to lack the {names.HA_LABEL} label",
        )
    extra = sorted(set(admitted) - set(workload.listed))
    missing = sorted(set(workload.listed) - set(admitted))
    return CheckResult(
        subject(workload.obj),
        name,
        "fail",
        f"admits {', '.join(extra) or 'no extra node'} beyond the list and rejects "
        f"{', '.join(missing) or 'no listed node'}",
    )


def schedulable_check(workload: PatchedWorkload) -> CheckResult:
    name = "schedulable"
    eligible = workload.eligible
    if workload.is_daemonset:
        return CheckResult(
            subject(workload.obj), name, "pass", f"one pod on each of {len(eligible)} node(s)"
        )
    capacity = 1 if workload.per_node else workload.replicas
    spreads = hard_spreads(workload.pod_spec, workload.pod_labels)
    pods, pending = place(workload.replicas, eligible, capacity, spreads)
    rule = "one per node (host network, hostname anti-affinity)" if workload.per_node else ""
    if pending:
        return CheckResult(
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
    return CheckResult(subject(workload.obj), name, "pass", detail)


def rollout_check(workload: PatchedWorkload) -> CheckResult:
    name = "rollout"
    kind = workload.strategy.get("type", "RollingUpdate")
    if kind == "Recreate":
        return CheckResult(
            subject(workload.obj),
            name,
            "fail",
            "strategy Recreate stops every replica before starting new ones: no LoadBalancer "
            "IP is announced meanwhile",
        )
    if kind == "OnDelete":
        return CheckResult(
            subject(workload.obj), name, "pass", "OnDelete: pods are replaced only when deleted"
        )
    rolling = workload.strategy.get("rollingUpdate") or {}
    default = "1" if workload.is_daemonset else "25%"
    unavailable = resolve_int_or_percent(
        rolling.get("maxUnavailable"), workload.replicas, default, round_up=False
    )
    spare = len(workload.eligible) - workload.replicas
    if unavailable < 1 and workload.per_node and spare < 1:
        return CheckResult(
            subject(workload.obj),
            name,
            "fail",
            f"maxUnavailable resolves to {unavailable} while every eligible node runs a "
            "replica and a node holds one replica at most: a new pod can never start, so the "
            "rollout deadlocks; set maxUnavailable to 1",
        )
    return CheckResult(
        subject(workload.obj),
        name,
        "pass",
        f"maxUnavailable {unavailable}: at least {max(workload.replicas - unavailable, 0)} of "
        f"{workload.replicas} replicas keep announcing during a rollout, no scale to 0",
    )


def _no_base(obj: DesiredObject, sources: Sources) -> CheckResult:
    if sources.documents is None:
        return CheckResult(subject(obj), RESULT_CHECKS, "skip", sources.missing_reason)
    # The configured version's manifest has no such workload: the patch would create a bogus one.
    return CheckResult(
        subject(obj),
        RESULT_CHECKS,
        "fail",
        f"the upstream manifest has no {obj.kind} {obj.name} to patch",
    )


def verify(state: DesiredState, sources: Sources) -> Verification:
    checks: list[CheckResult] = []
    bases: dict[str, Base] = {}
    results: dict[str, dict[str, Any]] = {}
    for obj in state.objects:
        if is_workload_patch(obj):
            base = base_for(obj, sources)
            if base is None:
                checks.append(_no_base(obj, sources))
                continue
            result = merge.strategic_merge(base.obj, patch_body(obj, base.obj))
            bases[obj.key], results[obj.key] = base, result
            workload = PatchedWorkload(obj, result, state)
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
