"""Verdicts that mean what they say: a scenario is ``ok`` only when no leaf with two or more
speakers was without a path, or forwarded to a dead node, for longer than the scenario allows.

Allowances: 0 s for the product's own procedures (rollouts, membership and BgpConf changes) and
for a pod failure: with two speakers on a leaf, an outage there is a defect. A power loss allows
no gap either (the leaf's other speakers keep announcing) and ``POWER_LOSS_BLACKHOLE`` seconds
of forwarding to the dead node: the product's goal for detecting a dead node. Baselines (the
manual guide, the earlier design, a rollout without ``minReadySeconds``) are judged by
the same allowances and marked ``baseline``: they are what the product is compared with, and an
outage there is shown as one, never as ``ok``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openelb_component.lab.measure import LeafStats

POWER_LOSS_BLACKHOLE = 10.0
"""Seconds a router may keep forwarding to a node that lost power: the availability goal
"every router stops forwarding to a dead node within 10 s"."""
VERDICT_FROM_SPEAKERS = 2
"""A leaf with one speaker cannot keep a path while that one restarts: reported, not judged."""


@dataclass(frozen=True)
class Allowance:
    gap_seconds: float = 0.0
    blackhole_seconds: float = 0.0
    baseline: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "allowedGapSeconds": self.gap_seconds,
            "allowedBlackholeSeconds": self.blackhole_seconds,
            "baseline": self.baseline,
        }


def outages(stats: Mapping[str, LeafStats], allowance: Allowance, label: str = "") -> list[str]:
    """One problem per leaf (with two or more speakers) whose outage exceeds the allowance."""
    problems = []
    prefix = f"{label}: " if label else ""
    for name, leaf in stats.items():
        if leaf.speakers < VERDICT_FROM_SPEAKERS:
            continue
        found = []
        if leaf.longest_gap > allowance.gap_seconds or (
            leaf.min_paths == 0 and (allowance.gap_seconds == 0)
        ):
            found.append(
                f"no path for {leaf.longest_gap:.2f} s"
                + (" (still none at the end)" if leaf.gap_open else "")
                + f", allowed {allowance.gap_seconds:g} s"
            )
        if leaf.blackhole > allowance.blackhole_seconds:
            found.append(
                f"forwarded to a node without power for {leaf.blackhole:.2f} s"
                + (" (still at the end)" if leaf.blackhole_open else "")
                + f", allowed {allowance.blackhole_seconds:g} s"
            )
        if found:
            problems.append(f"{prefix}leaf {name} ({leaf.speakers} speakers): " + "; ".join(found))
    return problems
