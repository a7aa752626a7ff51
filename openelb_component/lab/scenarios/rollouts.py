"""Rollouts: the workload's own (``rolling-restart``), and OpenELB's manual procedure
(``manual-guide``, a baseline).

Both replace pods as Kubernetes does (``kube.py``): a new pod's speaker starts
``pod_start_seconds`` after its predecessor stopped, kubelet probes its readiness, and the
controller moves on once it has been Ready for ``minReadySeconds``.
"""

from __future__ import annotations

import time

from openelb_component.lab.scenarios.base import (
    LabResult,
    Session,
    converge,
    converged_first,
)
from openelb_component.lab.verdicts import Allowance

EDIT_SECONDS = 30.0
"""manual-guide: the operator's pause between scaling to 0 and back up (``kubectl edit`` of the
BgpConf or a BgpPeer and saving it). An assumption: give yours with ``--edit-seconds``."""


def rolling_restart(session: Session) -> LabResult:
    """Every speaker replaced as the workload's rollout does (``maxUnavailable`` and, for a
    Deployment, ``maxSurge``, each new pod available after ``minReadySeconds``); when that is
    not 0, the same roll follows with 0 (the earlier default), a baseline for comparison."""
    with session.lab() as lab:
        failed = converged_first(lab, "rolling-restart")
        if failed:
            return failed
        assert lab.workload is not None  # noqa: S101 - up() made it
        workload = lab.workload
        speakers = lab.speakers_by_leaf()
        settings = {
            "workload": workload.kind,
            "maxUnavailable": workload.max_unavailable,
            "maxSurge": workload.max_surge,
            "minReadySeconds": workload.min_ready_seconds,
        }
        since = lab.begin()
        workload.roll()
        took = converge(lab)
        phase = lab.phase(since, lab.allowance(Allowance()), speakers, settings)
        comparisons = {}
        if workload.min_ready_seconds > 0:
            workload.min_ready_seconds = 0
            speakers = lab.speakers_by_leaf()
            started = lab.begin()
            lab.event("for comparison: the same rollout with minReadySeconds 0")
            workload.roll()
            converge(lab)
            comparisons["withoutMinReadySeconds"] = lab.phase(
                started,
                Allowance(baseline=True),
                speakers,
                {**settings, "minReadySeconds": 0},
                "minReadySeconds 0",
            )
        result = lab.result("rolling-restart", phase)
    result.comparisons = comparisons
    result.details["settledAfterLastSeconds"] = took
    return result


def manual_guide(session: Session) -> LabResult:
    """OpenELB's manual procedure, a baseline: every speaker stops (scale to 0), the operator
    edits for ``--edit-seconds``, every pod is created again (scale back up)."""
    edit = session.options.edit_seconds
    edit = EDIT_SECONDS if edit is None else edit
    with session.lab() as lab:
        failed = converged_first(lab, "manual-guide")
        if failed:
            return failed
        assert lab.workload is not None  # noqa: S101 - up() made it
        speakers = lab.speakers_by_leaf()
        nodes = [lab.layout.node(name) for name in lab.workload.running_nodes]
        since = lab.begin()
        lab.event("scaled to 0: every speaker pod deleted")
        for node in nodes:
            lab.workload.pod_ends(node.name)
        lab.workload.wait_gone()
        lab.event(f"the operator edits for {edit:g} s")
        time.sleep(edit)
        lab.event("scaled back up")
        lab.workload.recreate([n.name for n in nodes])
        lab.workload.settle()
        took = converge(lab)
        phase = lab.phase(
            since, lab.allowance(Allowance(baseline=True)), speakers, {"editSeconds": edit}
        )
        result = lab.result("manual-guide", phase)
    result.details["settledAfterScaleUpSeconds"] = took
    return result
