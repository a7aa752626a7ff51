"""Lab scenarios: what the routers see while the speakers go through a change, measured.

Every scenario first brings the fabric up (speakers first, then the routers, which then dial
them at once) and waits until it converges. A sampler thread reads every router at least every
``SAMPLE_INTERVAL`` (0.05 s; the longest interval actually seen is reported, and a note says
when it exceeded 0.2 s on a loaded machine): its Established sessions and, per announced
address, the next hops in its forwarding table. From the samples each scenario
reports, per leaf, the minimum number of usable paths (next hops in the leaf's own rack) and
the longest time the leaf had none.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from openelb_component.config.models import StackConfig
from openelb_component.desired import DesiredState
from openelb_component.lab.fabric import Fabric, RouterView
from openelb_component.lab.layout import LabLeaf, LabNode, Layout, announcements
from openelb_component.routers import openelb

SAMPLE_INTERVAL = 0.05
MAX_SAMPLE_INTERVAL = 0.2
CONVERGE_TIMEOUT = 30.0
"""A fabric that is not converged after this long is reported as it is (a mismatch)."""
FAULT_SETTLE = 8.0
"""How long a scenario with a deliberate fault watches the faulted leaf stay down."""
MANUAL_PAUSE = 5.0
"""The manual guide's `kubectl edit` between scaling to 0 and back up, in the lab."""
NODE_DOWN_HOLD = 3.0

SCENARIOS = (
    "steady",
    "node-failure",
    "rolling-restart",
    "manual-guide",
    "wrong-password",
    "membership-change",
    "bgpconf-change",
)


@dataclass(frozen=True)
class Sample:
    at: float
    views: Mapping[str, RouterView]


@dataclass
class LeafResult:
    expected: list[str]
    established: list[str]
    paths: dict[str, list[str]]
    wrong_next_hops: dict[str, list[str]]
    min_paths: int | None = None
    longest_gap: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.established == self.expected
            and not any(self.wrong_next_hops.values())
            and all(self.paths.values())
        )


@dataclass
class LabResult:
    stack: str
    scenario: str
    ok: bool
    leaves: dict[str, LeafResult]
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    node_of_address: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stack": self.stack,
            "leaves": {
                name: {
                    "expected": leaf.expected,
                    "established": leaf.established,
                    "paths": leaf.paths,
                    "wrongNextHops": {a: h for a, h in leaf.wrong_next_hops.items() if h},
                }
                for name, leaf in self.leaves.items()
            },
            "scenario": {
                "name": self.scenario,
                "minPaths": {name: leaf.min_paths for name, leaf in self.leaves.items()},
                "longestGapSeconds": round(
                    max((leaf.longest_gap for leaf in self.leaves.values()), default=0.0), 2
                ),
                "longestGapSecondsByLeaf": {
                    name: round(leaf.longest_gap, 2) for name, leaf in self.leaves.items()
                },
                **self.details,
            },
            "problems": self.problems,
            "notes": self.notes,
        }


class Sampler:
    """Reads every router in a background thread until stopped."""

    def __init__(self, fabric: Fabric) -> None:
        self.fabric = fabric
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(fabric.layout.leaves)))

    def _read(self, leaf: LabLeaf) -> RouterView:
        try:
            return self.fabric.router_view(leaf)
        except Exception:  # a router not up yet, or busy: it sees nothing
            return RouterView(frozenset(), {address: frozenset() for address in leaf.announced})

    def _loop(self) -> None:
        leaves = self.fabric.layout.leaves
        while not self._stop.is_set():
            started = time.monotonic()
            names = [leaf.name for leaf in leaves]
            views = dict(zip(names, self._pool.map(self._read, leaves), strict=True))
            self.samples.append(Sample(time.monotonic(), views))
            self._stop.wait(max(0.0, SAMPLE_INTERVAL - (time.monotonic() - started)))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True)

    def unchanged_for(self, seconds: float) -> bool:
        """The routers' view has been the same for at least ``seconds``."""
        if not self.samples or self.samples[-1].at - self.samples[0].at < seconds:
            return False
        last = self.samples[-1]
        for sample in reversed(self.samples):
            if sample.views != last.views:
                return False
            if last.at - sample.at >= seconds:
                return True
        return False

    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def wait(self, condition: Callable[[Sample], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        seen = len(self.samples)
        while time.monotonic() < deadline:
            if len(self.samples) > seen:
                seen = len(self.samples)
                if condition(self.samples[-1]):
                    return True
            time.sleep(0.02)
        return False

    def longest_interval(self, since: float) -> float:
        times = [s.at for s in self.samples if s.at >= since]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


class Lab:
    """One lab run: the fabric, the sampler and what the scenarios need."""

    def __init__(
        self,
        layout: Layout,
        fabric: Fabric,
        sampler: Sampler,
        converge_timeout: float = CONVERGE_TIMEOUT,
        config: StackConfig | None = None,
        state: DesiredState | None = None,
    ) -> None:
        self.layout = layout
        self.config = config
        """The stack and its desired state: what the change scenarios change."""
        self.state = state
        self.converge_timeout = converge_timeout
        self.fabric = fabric
        self.sampler = sampler
        self.by_address = {node.address: node.name for node in layout.nodes}
        self.ready = {node.name: True for node in layout.nodes}
        self.expected_down: dict[str, set[str]] = {}

    # --- actions --------------------------------------------------------------------------

    def start(self, nodes: Sequence[LabNode]) -> None:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(nodes)))) as pool:
            list(
                pool.map(
                    lambda node: self.fabric.start_speaker(
                        node, announcements(self.layout, node, self.ready)
                    ),
                    nodes,
                )
            )

    def stop(self, nodes: Sequence[LabNode]) -> None:
        cease = openelb.SENDS_CEASE_ON_STOP[self.layout.version]
        for node in nodes:
            self.fabric.stop_speaker(node, cease)

    def roll(self, min_ready_seconds: int | None = None) -> list[LabNode]:
        """Every speaker restarted as the workload's rollout does: ``maxUnavailable`` at a time,
        the next only when the new one is Ready (its API answers) plus ``minReadySeconds`` (the
        workload's, unless given). Returns the order."""
        rollout = self.layout.rollout
        wait = rollout.min_ready_seconds if min_ready_seconds is None else min_ready_seconds
        order = sorted(self.layout.speaker_nodes, key=lambda n: n.name)
        step = max(1, rollout.max_unavailable)
        for index in range(0, len(order), step):
            batch = order[index : index + step]
            self.stop(batch)
            self.start(batch)  # returns once each new speaker is Ready
            time.sleep(wait)
        return order

    def up(self) -> None:
        self.start(self.layout.speaker_nodes)
        for leaf in self.layout.leaves:
            self.fabric.start_router(leaf)

    # --- judging --------------------------------------------------------------------------

    def _every_leaf(
        self, sample: Sample, skip: set[str] | None, paths_ok: Callable[[LabLeaf, RouterView], bool]
    ) -> bool:
        """Every leaf (but ``skip``) has all its sessions up and paths that ``paths_ok``."""
        for leaf in self.layout.leaves:
            if skip and leaf.name in skip:
                continue
            view = sample.views.get(leaf.name)
            if view is None or self._established(view) != list(leaf.speakers):
                return False
            if not paths_ok(leaf, view):
                return False
        return True

    def converged(self, sample: Sample, skip: set[str] | None = None) -> bool:
        """Every router forwards over exactly its rack's nodes and receives nothing else."""

        def exact(leaf: LabLeaf, view: RouterView) -> bool:
            own = set(leaf.expected_next_hops)
            return all(
                view.next_hops.get(a, frozenset()) == own
                and not view.received.get(a, frozenset()) - own
                for a in leaf.announced
            )

        return self._every_leaf(sample, skip, exact)

    def announced_somewhere(self, sample: Sample, skip: set[str] | None = None) -> bool:
        """Every session up and every announced address has some path at its router."""
        return self._every_leaf(
            sample, skip, lambda leaf, view: all(view.next_hops.get(a) for a in leaf.announced)
        )

    def _established(self, view: RouterView) -> list[str]:
        return sorted(self.by_address.get(address, address) for address in view.established)

    def result(
        self, scenario: str, since: float, expected: Mapping[str, list[str]] | None = None
    ) -> LabResult:
        final = self.sampler.latest()
        leaves: dict[str, LeafResult] = {}
        samples = [s for s in self.sampler.samples if s.at >= since]
        for leaf in self.layout.leaves:
            view = final.views[leaf.name] if final else RouterView(frozenset(), {})
            own = set(leaf.expected_next_hops)
            paths = {a: sorted(view.next_hops.get(a, frozenset())) for a in leaf.announced}
            result = LeafResult(
                expected=list(expected[leaf.name])
                if expected and leaf.name in expected
                else list(leaf.speakers),
                established=self._established(view),
                paths=paths,
                # Sent by the speakers, though the router cannot use them (off its link).
                wrong_next_hops={
                    a: sorted(view.received.get(a, frozenset()) - own) for a in leaf.announced
                },
            )
            result.min_paths, result.longest_gap = usable_path_stats(samples, leaf)
            leaves[leaf.name] = result
        interval = self.sampler.longest_interval(since)
        problems = [
            f"leaf {name}: " + "; ".join(_leaf_problems(leaf, self.layout, name))
            for name, leaf in leaves.items()
            if not leaf.ok
        ]
        notes = list(self.layout.notes)
        if interval > MAX_SAMPLE_INTERVAL:
            notes.append(
                f"the routers were sampled only every {interval:.2f} s at worst (more than "
                f"{MAX_SAMPLE_INTERVAL} s): the gap figures are less precise"
            )
        return LabResult(
            stack=self.layout.stack,
            scenario=scenario,
            ok=not problems,
            leaves=leaves,
            details={"longestSampleIntervalSeconds": round(interval, 3)},
            notes=notes,
            problems=problems,
            node_of_address=dict(self.by_address),
        )


def usable_path_stats(samples: Sequence[Sample], leaf: LabLeaf) -> tuple[int | None, float]:
    """(minimum usable paths over every announced address and sample, longest time without
    one). A usable path is a next hop of this leaf's own rack."""
    if not samples or not leaf.announced:
        return None, 0.0
    own = set(leaf.expected_next_hops)
    minimum: int | None = None
    longest = 0.0
    for address in leaf.announced:
        gap_started: float | None = None
        for sample in samples:
            hops = sample.views[leaf.name].next_hops.get(address, frozenset()) & own
            minimum = len(hops) if minimum is None else min(minimum, len(hops))
            if not hops and gap_started is None:
                gap_started = sample.at
            elif hops and gap_started is not None:
                longest = max(longest, sample.at - gap_started)
                gap_started = None
        if gap_started is not None:
            longest = max(longest, samples[-1].at - gap_started)
    return minimum, longest


def _leaf_problems(leaf: LeafResult, layout: Layout, name: str) -> list[str]:
    out = []
    missing = sorted(set(leaf.expected) - set(leaf.established))
    extra = sorted(set(leaf.established) - set(leaf.expected))
    if missing:
        out.append(f"no session with {', '.join(missing)}")
    if extra:
        out.append(f"unexpected session with {', '.join(extra)}")
    for address, hops in leaf.wrong_next_hops.items():
        if hops:
            out.append(f"{address} has next hops outside the leaf: {', '.join(hops)}")
    for address, hops in leaf.paths.items():
        if not hops:
            out.append(f"no path to {address}")
    return out or ["mismatch"]


OBSERVE = 1.0
"""After a reset, a restart or a roll, how long to wait before waiting for convergence: the
routers notice a closed session within a sample or two, and waiting for convergence at once
would return before they did."""


def phase_stats(lab: Lab, since: float) -> dict[str, dict[str, Any]]:
    samples = [s for s in lab.sampler.samples if s.at >= since]
    out: dict[str, dict[str, Any]] = {}
    for leaf in lab.layout.leaves:
        minimum, gap = usable_path_stats(samples, leaf)
        out[leaf.name] = {
            "speakers": len(leaf.speakers),
            "minPaths": minimum,
            "longestGapSeconds": round(gap, 2),
        }
    return out


def leaves_left_without_path(stats: dict[str, dict[str, Any]]) -> list[str]:
    """Leaves with two or more speakers that had no usable path at some moment."""
    return [
        f"leaf {name}: {leaf['speakers']} speakers, yet no path for {leaf['longestGapSeconds']} s"
        for name, leaf in stats.items()
        if leaf["speakers"] >= 2 and leaf["minPaths"] == 0
    ]


# --- the scenarios -----------------------------------------------------------------------------


SETTLED_FOR = 2.0
"""A fabric whose sessions are all up and whose routers' view has not changed for this long is
settled, converged or not (a wrong next hop does not go away by waiting)."""
STEADY_WATCH = 1.0


def _settle(lab: Lab, skip: set[str] | None = None) -> tuple[float, bool, bool]:
    """Wait until converged, or settled short of it (every session up, every address with a
    path, nothing changing): (seconds waited, converged, settled)."""
    started = time.monotonic()
    deadline = started + lab.converge_timeout
    while time.monotonic() < deadline:
        latest = lab.sampler.latest()
        if latest is not None:
            if lab.converged(latest, skip):
                return time.monotonic() - started, True, True
            if lab.announced_somewhere(latest, skip) and lab.sampler.unchanged_for(SETTLED_FOR):
                return time.monotonic() - started, False, True
        time.sleep(0.05)
    return time.monotonic() - started, False, False


def steady(lab: Lab) -> LabResult:
    lab.up()
    took, converged, _ = _settle(lab)
    since = time.monotonic()
    time.sleep(STEADY_WATCH)  # the measured window: the settled fabric
    result = lab.result("steady", since)
    result.details["convergedAfterSeconds"] = round(took, 2) if converged else None
    return result


def converged_first(lab: Lab, name: str) -> LabResult | None:
    """Bring the fabric up; a result (the mismatch) when it does not even settle. A fabric
    that settles with a mismatch (e.g. off-link next hops) still runs the scenario: its gaps
    are measured, and its result reports the mismatch."""
    lab.up()
    _, _, settled = _settle(lab)
    return None if settled else lab.result(name, time.monotonic())


def converge(lab: Lab, skip: set[str] | None = None) -> float | None:
    """Seconds until settled again (converged or not), None when it never settles."""
    took, _, settled = _settle(lab, skip)
    return round(took, 2) if settled else None


def node_failure(lab: Lab) -> LabResult:
    """One speaker per leaf stops (its pod ends; the node itself stays Ready), then restarts."""
    failed = converged_first(lab, "node-failure")
    if failed:
        return failed
    since = time.monotonic()
    victims = [lab.layout.node(leaf.speakers[0]) for leaf in lab.layout.leaves if leaf.speakers]
    lab.stop(victims)
    time.sleep(NODE_DOWN_HOLD)
    lab.start(victims)
    took = converge(lab)
    result = lab.result("node-failure", since)
    result.details.update(
        stopped=[v.name for v in victims],
        downSeconds=NODE_DOWN_HOLD,
        settledAfterRestartSeconds=took,
    )
    return result


def rolling_restart(lab: Lab) -> LabResult:
    """Every speaker restarted as the workload's rollout does: ``maxUnavailable`` at a time,
    the next only when the new one is Ready (its API answers) plus ``minReadySeconds``."""
    failed = converged_first(lab, "rolling-restart")
    if failed:
        return failed
    rollout = lab.layout.rollout
    since = time.monotonic()
    order = lab.roll()
    took = converge(lab)
    result = lab.result("rolling-restart", since)
    stats = phase_stats(lab, since)
    result.details.update(
        workload=rollout.kind,
        maxUnavailable=rollout.max_unavailable,
        minReadySeconds=rollout.min_ready_seconds,
        order=[n.name for n in order],
        settledAfterLastSeconds=took,
        leaves=stats,
    )
    if rollout.min_ready_seconds > 0:
        # For comparison: the same roll as before issue 11 (no minReadySeconds).
        started = time.monotonic()
        lab.roll(min_ready_seconds=0)
        time.sleep(OBSERVE)
        converge(lab)
        result.details["withoutMinReadySeconds"] = {
            "minReadySeconds": 0,
            "leaves": phase_stats(lab, started),
        }
    return result


def manual_guide(lab: Lab) -> LabResult:
    """OpenELB's manual procedure: scale to 0 (every speaker stops), edit, scale back up."""
    failed = converged_first(lab, "manual-guide")
    if failed:
        return failed
    since = time.monotonic()
    nodes = list(lab.layout.speaker_nodes)
    lab.stop(nodes)
    time.sleep(MANUAL_PAUSE)
    lab.start(nodes)
    took = converge(lab)
    result = lab.result("manual-guide", since)
    result.details.update(
        pauseSeconds=MANUAL_PAUSE,
        settledAfterScaleUpSeconds=took,
    )
    return result


def wrong_password(lab: Lab) -> LabResult:
    """The first leaf's router has another password: it must have no session, the others all."""
    lab.up()
    faulted = lab.layout.leaves[0].name
    converge(lab, skip={faulted})
    since = time.monotonic()
    time.sleep(FAULT_SETTLE)  # the measured window: the faulted leaf stays down
    expected: dict[str, list[str]] = {faulted: []}
    result = lab.result("wrong-password", since, expected)
    result.details["faultedLeaf"] = faulted
    # The faulted leaf is expected to have no session, hence no path: that is not a problem.
    leaf = result.leaves[faulted]
    if leaf.established == [] and not any(leaf.wrong_next_hops.values()):
        result.problems = [p for p in result.problems if not p.startswith(f"leaf {faulted}:")]
        result.ok = not result.problems
    return result


RUNNERS: Mapping[str, Callable[[Lab], LabResult]] = {
    "steady": steady,
    "node-failure": node_failure,
    "rolling-restart": rolling_restart,
    "manual-guide": manual_guide,
    "wrong-password": wrong_password,
}
