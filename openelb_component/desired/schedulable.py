"""Why a listed node cannot take a new OpenELB pod, read from the Node the program reads anyway.

A workload patch's rollout waits for its new pods (``workloads.rollout_timeout``). When no
listed node can take them, ``pulumi up`` waits until that timeout and then fails with "failed
to fully initialize or become live: timed out waiting for the condition" (a Deployment's
``waitFor`` wait, ``workloads.deployment_rolled_out``), naming no reason: pulumi-kubernetes
reports a Pending pod's scheduling message only as a status (provider/pkg/await/checker/pod/
check.go:40-57 ``podScheduled``@v4.32.0, in the DaemonSet's wait), and a ``waitFor`` wait prints
only the conditions it waits for and the workload's Warning events (``make e2e`` shows it, with
pulumi-kubernetes v4.25.0). So the program names the reason itself, in the preview and in the
``up``, from what it reads of each listed node:

- cordoned: ``spec.unschedulable`` (``kubectl cordon``, a drain); the scheduler places no new
  pod there;
- not Ready: the ``Ready`` condition is not ``True``; the node lifecycle controller taints such
  a node ``NoSchedule`` and a pod started there would not become Ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def placement_problems(
    spec: Mapping[str, Any] | None, status: Mapping[str, Any] | None
) -> list[str]:
    """What keeps a new pod off this node, as short phrases (none: it can take one)."""
    problems: list[str] = []
    if (spec or {}).get("unschedulable") is True:
        problems.append("cordoned (spec.unschedulable)")
    conditions = (status or {}).get("conditions")
    if isinstance(conditions, list):
        ready = [c for c in conditions if isinstance(c, Mapping) and c.get("type") == "Ready"]
        if ready and ready[0].get("status") != "True":
            reason = ready[0].get("reason")
            problems.append(f"not Ready ({reason})" if reason else "not Ready")
    return problems


def placement_warning(
    node: str, spec: Mapping[str, Any] | None, status: Mapping[str, Any] | None
) -> str | None:
    """The warning for a listed node that cannot take a new OpenELB pod, or None."""
    problems = placement_problems(spec, status)
    if not problems:
        return None
    return (
        f"Node {node} is {' and '.join(problems)}: no new OpenELB pod can start there. If no "
        "listed node can take the pods a workload patch rolls out, `pulumi up` waits until the "
        "patch's pulumi.com/timeoutSeconds and then fails without naming this reason; uncordon "
        "or repair the node, or take it out of the stack, before applying."
    )
