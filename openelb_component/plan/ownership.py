"""The plan's ownership check: which fields ``pulumi up`` would stop on, offline.

Run against the live objects the user gives (``--workload`` files, ``--nodes``), with the same
prediction the Pulumi program logs at preview (``desired/conflicts.py``). One check per patched
object that has a live object: fail for a conflict ``up`` would stop on, pass when there is
none or every one is taken over by a forced patch, skip when the file lacks
``metadata.managedFields`` (``kubectl get`` omits them without ``--show-managed-fields``).
Objects without a live object given get no ownership check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openelb_component.desired import DesiredObject, DesiredState
from openelb_component.desired.conflicts import conflicts
from openelb_component.plan.checks import CheckResult
from openelb_component.plan.nodesfile import has_managed_fields
from openelb_component.plan.sources import Base, subject

NAME = "ownership"


def _live_object(
    obj: DesiredObject,
    workloads: Mapping[tuple[str, str], Base],
    nodes: Mapping[str, dict[str, Any]],
) -> tuple[str, dict[str, Any]] | None:
    if obj.action != "patch":
        return None
    if obj.kind == "Node":
        node = nodes.get(obj.name)
        return None if node is None else ("the --nodes file", node)
    workload = workloads.get((obj.kind, obj.name))
    return None if workload is None else (workload.source, workload.obj)


def ownership_checks(
    state: DesiredState,
    workloads: Mapping[tuple[str, str], Base],
    nodes: Mapping[str, dict[str, Any]],
) -> list[CheckResult]:
    checks: list[CheckResult] = []
    for obj in state.objects:
        found = _live_object(obj, workloads, nodes)
        if found is None:
            continue
        source, live = found
        if not has_managed_fields(live):
            checks.append(
                CheckResult(
                    subject(obj),
                    NAME,
                    "skip",
                    f"{source} has no metadata.managedFields: get it with "
                    "`kubectl get ... -o json --show-managed-fields`",
                )
            )
            continue
        predicted = conflicts(obj, live)
        blocking = [c for c in predicted if not c.forced]
        if blocking:
            detail = " ".join(c.message() for c in blocking)
            checks.append(CheckResult(subject(obj), NAME, "fail", detail))
            continue
        taken = "; ".join(
            f"takes over {c.path} from {c.manager} ({c.operation})" for c in predicted
        )
        detail = taken or f"no field conflicts with another field manager in {source}"
        checks.append(CheckResult(subject(obj), NAME, "pass", detail))
    return checks
