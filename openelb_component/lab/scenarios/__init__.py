"""The lab's scenarios, by family: the fabric as built (``basic``), failures (``failures``),
rollouts (``rollouts``) and changes of the applied objects (``changes``); ``base`` holds the run
they share (a ``Session`` builds fabrics, a ``Lab`` is one running) and what they report."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from openelb_component.lab.scenarios import basic, changes, failures, rollouts
from openelb_component.lab.scenarios.base import (
    CONVERGE_TIMEOUT,
    LabOptions,
    LabResult,
    LeafResult,
    Phase,
    Session,
)

RUNNERS: Mapping[str, Callable[[Session], LabResult]] = {
    "steady": basic.steady,
    "node-failure": failures.node_failure,
    "pod-failure": failures.pod_failure,
    "rolling-restart": rollouts.rolling_restart,
    "manual-guide": rollouts.manual_guide,
    "wrong-password": basic.wrong_password,
    "membership-change": changes.membership_change,
    "bgpconf-change": changes.bgpconf_change,
}
SCENARIOS = tuple(RUNNERS)

__all__ = [
    "CONVERGE_TIMEOUT",
    "RUNNERS",
    "SCENARIOS",
    "LabOptions",
    "LabResult",
    "LeafResult",
    "Phase",
    "Session",
]
