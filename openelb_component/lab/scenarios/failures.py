"""Failures: a node losing power (``node-failure``) and a speaker pod ending (``pod-failure``).

A power loss: nothing closes the TCP sessions. The node's link goes down and its speaker is
frozen (it sends nothing, not even a FIN or a CEASE), so the router keeps the node's paths until
its hold timer expires (the hold time both sides negotiated: the smaller one), and the other
speakers of the rack keep announcing the dead node as a next hop: 0.5 until the Node is NotReady
(``Lab.power_off``), 0.6 for as long as it is down (no Node watch,
pkg/speaker/manager.go:394-397@v0.6.0). The lab watches until every router has dropped the dead
node's sessions and, on 0.5, the NotReady withdrawal has happened, plus ``AFTER_TIMEOUT``.
"""

from __future__ import annotations

import time

from openelb_component.lab.scenarios.base import (
    LabResult,
    Session,
    converge,
    converged_first,
    first_speakers,
)
from openelb_component.lab.verdicts import POWER_LOSS_BLACKHOLE, Allowance

AFTER_TIMEOUT = 5.0
"""How long the lab keeps watching once the dead node's sessions have timed out."""
WATCH_MARGIN = 30.0
"""The watch ends at the longest hold time (or NotReady) plus this, timed out or not."""


def node_failure(session: Session) -> LabResult:
    """One node per leaf (its first speaker's) loses power and stays down."""
    with session.lab() as lab:
        failed = converged_first(lab, "node-failure")
        if failed:
            return failed
        victims = first_speakers(lab)
        holds = {
            leaf.name: lab.fabric.hold_times(leaf).get(node.address)
            for leaf, node in zip(lab.layout.leaves, victims, strict=False)
        }
        speakers = lab.speakers_by_leaf()
        since = lab.begin()
        lab.power_off(victims)
        known = [h for h in holds.values() if h is not None]
        longest = max(known, default=90.0)
        if lab.layout.version == "0.5":
            longest = max(longest, lab.timing.node_monitor_grace_seconds)
        deadline = since + longest + WATCH_MARGIN
        dead = {node.address for node in victims}
        timed_out_at = None
        while time.monotonic() < deadline:
            latest = lab.sampler.latest()
            gone = latest is not None and not any(
                dead & view.established for view in latest.views.values()
            )
            withdrawn = lab.layout.version != "0.5" or not any(lab.ready[v.name] for v in victims)
            if gone and timed_out_at is None:
                timed_out_at = time.monotonic()
                lab.event("every router has dropped the dead nodes' sessions (hold timer)")
            if gone and withdrawn and time.monotonic() - (timed_out_at or 0) > AFTER_TIMEOUT:
                break
            time.sleep(0.1)
        phase = lab.phase(
            since,
            lab.allowance(Allowance(0.0, POWER_LOSS_BLACKHOLE)),
            speakers,
            {"holdTimeSeconds": holds},
        )
        result = lab.result("node-failure", phase)
    result.details.update(
        powerLost=[v.name for v in victims], watchedSeconds=round(phase.seconds, 2)
    )
    if lab.layout.version == "0.6":
        result.notes.append(
            "0.6 speakers keep announcing a node that is down (no Node watch, "
            "pkg/speaker/manager.go:394-397@v0.6.0): its leaf forwards to it until it returns"
        )
    elif lab.layout.rollout.kind == "Deployment":
        result.notes.append(
            "the 0.5 manager's pod on a dead node is evicted only after the NotReady toleration "
            "(300 s by default), so its replacement comes later than the lab watches"
        )
    return result


def pod_failure(session: Session) -> LabResult:
    """One speaker pod per leaf ends (the node stays up and Ready, so its next hop stays
    usable); its controller replaces it as Kubernetes does."""
    with session.lab() as lab:
        failed = converged_first(lab, "pod-failure")
        if failed:
            return failed
        assert lab.workload is not None  # noqa: S101 - up() made it
        victims = first_speakers(lab)
        speakers = lab.speakers_by_leaf()
        since = lab.begin()
        for node in victims:
            lab.workload.pod_ends(node.name)
        lab.workload.settle()
        took = converge(lab)
        phase = lab.phase(since, lab.allowance(Allowance()), speakers)
        result = lab.result("pod-failure", phase)
    result.details.update(podEnded=[v.name for v in victims], settledAfterSeconds=took)
    return result
