"""The fabric as the stack builds it: ``steady``, and ``wrong-password`` (a mistake the lab must
catch)."""

from __future__ import annotations

import time

from openelb_component.lab.layout import Faults
from openelb_component.lab.scenarios.base import (
    LabResult,
    Session,
    converge,
    settle,
)
from openelb_component.lab.verdicts import Allowance
from openelb_component.routers import openelb

STEADY_WATCH = 1.0
"""steady: how long the settled fabric is watched."""
FAULT_SETTLE = 8.0
"""wrong-password: how long the faulted leaf is watched staying down."""
WRONG_PASSWORD = "wrong-lab-password"  # noqa: S105 - the lab's deliberate fault, no secret


def steady(session: Session) -> LabResult:
    with session.lab() as lab:
        lab.up()
        took, converged, _ = settle(lab)
        since = lab.begin()
        time.sleep(STEADY_WATCH)  # the measured window: the settled fabric
        result = lab.result("steady", lab.phase(since, lab.allowance(Allowance())))
    result.details["convergedAfterSeconds"] = round(took, 2) if converged else None
    return result


def wrong_password(session: Session) -> LabResult:
    """The first leaf's router has another password: it must have no session, the others all
    theirs (``ok`` means exactly that)."""
    peers = openelb.bgp_peers(session.state)
    faults = session.options.faults or Faults(router_password={peers[0].leaf: WRONG_PASSWORD})
    with session.lab(faults=faults) as lab:
        lab.up()
        faulted = lab.layout.leaves[0].name
        refused = lab.running_speakers(lab.layout.leaves[0])
        converge(lab, skip={faulted})
        since = lab.begin()
        time.sleep(FAULT_SETTLE)  # the measured window: the faulted leaf stays down
        phase = lab.phase(since, lab.allowance(Allowance()))
        # The faulted leaf is meant to have no path: it is reported, not judged.
        phase.problems = [p for p in phase.problems if not p.startswith(f"leaf {faulted} ")]
        result = lab.result("wrong-password", phase, {faulted: []})
    result.faulted_leaf = faulted
    result.details.update(faultedLeaf=faulted, refusedSpeakers=refused)
    leaf = result.leaves[faulted]
    if leaf.established == [] and not any(leaf.wrong_next_hops.values()):
        result.problems = [p for p in result.problems if not p.startswith(f"leaf {faulted}:")]
        result.ok = not result.problems
    return result
