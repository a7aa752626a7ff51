"""One lab run: the fabric, its speakers, its Kubernetes model and its measurements, and what a
scenario reports.

Every scenario first brings the fabric up (speakers first, then the routers, which then dial
them at once) and waits until it converges. It then changes something and reports, per leaf,
the final sessions and paths and, over the change, the ``measure`` figures, judged by the
scenario's ``verdicts.Allowance``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openelb_component.config.models import StackConfig
from openelb_component.desired import DesiredState
from openelb_component.lab import kube, leftovers
from openelb_component.lab.fabric import Fabric, RouterView
from openelb_component.lab.layout import (
    Faults,
    LabLeaf,
    LabNode,
    Layout,
    announcements,
    build_layout,
)
from openelb_component.lab.logs import save_logs
from openelb_component.lab.measure import (
    MAX_SAMPLE_INTERVAL,
    LeafStats,
    PowerLoss,
    Sample,
    Sampler,
    leaf_stats,
)
from openelb_component.lab.speakers import ModelledSpeakers, Speakers
from openelb_component.lab.verdicts import Allowance, outages

CONVERGE_TIMEOUT = 30.0
"""A fabric that is not converged after this long is reported as it is (a mismatch)."""
SETTLED_FOR = 2.0
"""A fabric whose sessions are all up and whose routers' view has not changed for this long is
settled, converged or not (a wrong next hop does not go away by waiting)."""
SETTLE_TIMEOUT = 180.0
"""After a change, how long the lab waits for the fabric to settle: a session whose dial the
router has backed off from returns when GoBGP dials, up to its connect-retry (120 s here)."""
OBSERVE = 1.0
"""After a change, how long to wait before waiting for convergence: the routers notice a
closed session within a sample or two, and waiting at once would return before they did."""


@dataclass(frozen=True)
class LabOptions:
    """How a run is made: everything a scenario's figures depend on besides the stack."""

    router: str = "frr"
    faults: Faults | None = None
    converge_timeout: float = CONVERGE_TIMEOUT
    timing: kube.KubeTiming = field(default_factory=kube.KubeTiming)
    edit_seconds: float | None = None
    """manual-guide: the operator's pause between scaling down and up (its own default)."""
    allowed_gap_seconds: float | None = None
    allowed_blackhole_seconds: float | None = None
    """The scenario's allowance instead of its own (to judge another target)."""
    progress: Callable[[str], None] | None = None
    """Called with a line whenever something happens, and every few seconds."""
    speakers: Callable[[Fabric, Layout], Speakers] | None = None
    """What runs on a node as its speaker (``speakers.py``); None: ``ModelledSpeakers``."""
    openelb: str = "model"
    """``model``: GoBGP configured by the model of OpenELB; ``real``: OpenELB's own binaries
    against a control plane (``lab/real/``)."""
    openelb_binaries: Path | None = None
    """Where the real mode finds OpenELB's binaries (``lab/real/binaries.py``)."""
    logs: Path | None = None
    """Where to keep every lab's process logs (``lab --logs``; ``logs.py``); None: nowhere."""


@dataclass
class Phase:
    """One measured stretch of a scenario: the change itself, or a comparison."""

    leaves: dict[str, LeafStats]
    allowance: Allowance
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)
    """What this phase used (``minReadySeconds``, the design, ...)."""
    problems: list[str] = field(default_factory=list)
    start: float = 0.0
    """When it began (monotonic)."""

    def as_json(self) -> dict[str, Any]:
        return {
            **self.settings,
            **self.allowance.as_json(),
            "ok": not self.problems,
            "seconds": round(self.seconds, 2),
            "leaves": {name: stats.as_json() for name, stats in self.leaves.items()},
            "problems": self.problems,
        }


@dataclass
class LeafResult:
    """What one router has at the end, and over the scenario."""

    expected: list[str]
    established: list[str]
    paths: dict[str, list[str]]
    wrong_next_hops: dict[str, list[str]]
    min_paths: int | None = None
    longest_gap: float = 0.0
    blackhole: float = 0.0
    password: bool = False
    """The sessions use TCP MD5."""
    router_address: str = ""

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
    measured: Phase | None = None
    """The scenario's own change (None for a run that never got that far)."""
    comparisons: dict[str, Phase] = field(default_factory=dict)
    """Name -> the same kind of change made otherwise (baselines, earlier designs)."""
    settings: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[float, str]] = field(default_factory=list)
    """(seconds after the change began, what happened)."""
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    node_of_address: dict[str, str] = field(default_factory=dict)
    faulted_leaf: str | None = None
    """wrong-password: the leaf whose router was given another password."""

    def as_json(self) -> dict[str, Any]:
        measured = self.measured
        allowance = measured.allowance if measured else Allowance()
        scenario: dict[str, Any] = {
            "name": self.scenario,
            **allowance.as_json(),
            "minPaths": {name: leaf.min_paths for name, leaf in self.leaves.items()},
            "longestGapSeconds": round(
                max((leaf.longest_gap for leaf in self.leaves.values()), default=0.0), 2
            ),
            "longestGapSecondsByLeaf": {
                name: round(leaf.longest_gap, 2) for name, leaf in self.leaves.items()
            },
            "blackholeSeconds": {
                name: round(leaf.blackhole, 2) for name, leaf in self.leaves.items()
            },
        }
        if measured:
            scenario["leaves"] = {n: s.as_json() for n, s in measured.leaves.items()}
            scenario["seconds"] = round(measured.seconds, 2)
            scenario.update(measured.settings)
        if self.comparisons:
            scenario["comparisons"] = {n: p.as_json() for n, p in self.comparisons.items()}
        if self.events:
            scenario["events"] = [{"at": round(t, 2), "what": what} for t, what in self.events]
        scenario.update(self.details)
        return {
            "ok": self.ok,
            "stack": self.stack,
            "settings": self.settings,
            "leaves": {
                name: {
                    "expected": leaf.expected,
                    "established": leaf.established,
                    "paths": leaf.paths,
                    "wrongNextHops": {a: h for a, h in leaf.wrong_next_hops.items() if h},
                    "md5": leaf.password,
                }
                for name, leaf in self.leaves.items()
            },
            "scenario": scenario,
            "problems": self.problems,
            "notes": self.notes,
        }


class Lab:
    """One fabric, running: its speakers, their pods as Kubernetes would run them, what the
    routers saw and what happened when."""

    def __init__(
        self,
        layout: Layout,
        fabric: Fabric,
        sampler: Sampler,
        options: LabOptions,
        config: StackConfig | None = None,
        state: DesiredState | None = None,
        speakers: Speakers | None = None,
    ) -> None:
        self.layout = layout
        self.fabric = fabric
        self.sampler = sampler
        self.options = options
        self.timing = options.timing
        self.converge_timeout = options.converge_timeout
        self.config = config
        """The stack and its desired state: what the change scenarios change."""
        self.state = state
        self.speakers: Speakers = speakers or ModelledSpeakers(fabric, layout)
        self.by_address = {node.address: node.name for node in layout.nodes}
        self.ready = {node.name: True for node in layout.nodes}
        """Node -> Ready: the 0.5 speakers announce only Ready nodes."""
        self.losses: list[PowerLoss] = []
        self.events: list[tuple[float, str]] = []
        """(monotonic time, what happened)."""
        self.origin = time.monotonic()
        """Event times count from here (reset when the scenario's change begins)."""
        self.workload: kube.Workload | None = None
        self._lock = threading.Lock()
        self._begun = False
        self.ended = threading.Event()
        """Set when the lab is torn down: timers still pending (a NotReady due after the scenario
        ended) do nothing then, rather than reach a control plane that is gone."""

    # --- what happened ------------------------------------------------------------------

    def begin(self) -> float:
        """A measured phase begins now; events count from the first one (the change)."""
        now = time.monotonic()
        if not self._begun:
            self.origin, self._begun = now, True
        return now

    def event(self, what: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.events.append((now, what))
        if self.options.progress:
            self.options.progress(f"[{now - self.origin:6.1f} s] {what}")

    # --- speakers and pods --------------------------------------------------------------

    def paths(self, node: LabNode) -> list[tuple[str, str]]:
        """What OpenELB makes this node's speaker announce (the model's decisions)."""
        return announcements(self.layout, node, self.ready)

    def start(self, nodes: Sequence[LabNode], paths: bool = True) -> None:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(nodes)))) as pool:
            list(pool.map(lambda n: self.speakers.start(n, self.paths(n) if paths else []), nodes))

    def stop(self, nodes: Sequence[LabNode]) -> None:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(nodes)))) as pool:
            list(pool.map(self.speakers.stop, nodes))

    # kube.SpeakerPods: what a pod's life does to its node's speaker.
    def start_pod(self, node: str) -> None:
        self.speakers.start(self.layout.node(node), self.paths(self.layout.node(node)))

    def stop_pod(self, node: str) -> None:
        self.speakers.stop(self.layout.node(node))

    def probe(self, node: str) -> bool:
        return self.speakers.probe(self.layout.node(node))

    def up(self) -> None:
        """Speakers of the nodes that start with one, then the routers (which dial them)."""
        self.start(self.layout.speaker_nodes)
        for leaf in self.layout.leaves:
            config = leaf.initial_bird_config if self.fabric.router == "bird" else None
            self.fabric.start_router(leaf, config or leaf.initial_frr_config or None)
        rollout = self.layout.rollout
        replicas = len(self.layout.speaker_nodes)
        self.workload = kube.Workload(
            kind=rollout.kind,
            pods_of=self,
            # Nodes that join later are not the workload's until the scenario adds them.
            leaves={
                leaf.name: [n for n in leaf.candidates if not self.layout.node(n).joins]
                for leaf in self.layout.leaves
            },
            running=[node.name for node in self.layout.speaker_nodes],
            min_ready_seconds=rollout.min_ready_seconds,
            max_unavailable=rollout.max_unavailable,
            max_surge=kube.max_surge_of(rollout.kind, replicas, rollout.max_surge),
            timing=self.timing,
            event=self.event,
        )

    def running_speakers(self, leaf: LabLeaf) -> list[str]:
        """The leaf's nodes whose speaker runs now (a Deployment's pods may have moved)."""
        dead = {loss.node for loss in self.losses if loss.end is None}
        if self.workload is None:
            return [n for n in leaf.speakers if n not in dead]
        running = set(self.workload.running_nodes) - dead
        return sorted(n for n in leaf.candidates if n in running)

    def power_off(self, nodes: Sequence[LabNode]) -> None:
        """The nodes lose power: links down, speakers frozen (no FIN, no CEASE). On 0.5 the
        surviving speakers drop them as next hops once they are NotReady; 0.6 never does."""
        start = time.monotonic()
        for node in nodes:
            self.fabric.link(node, up=False)
            self.speakers.freeze(node)
            self.losses.append(PowerLoss(node.name, node.address, start))
        self.event(
            f"{', '.join(n.name for n in nodes)} lose power: links down, speakers frozen "
            "(no FIN, no CEASE)"
        )
        if self.layout.version == "0.5" or self.speakers.decides:
            threading.Thread(target=self._not_ready, args=(nodes,), daemon=True).start()

    def _not_ready(self, nodes: Sequence[LabNode]) -> None:
        """After the node monitor's grace period the nodes are NotReady; OpenELB 0.5.1's
        Service controller reconciles on the Node's readiness change
        (pkg/controllers/lb/controller.go:149-169@v0.5.1) and announces only Ready nodes
        (``getServiceNodes``, :448-453): each live speaker withdraws the dead next hops."""
        if self.ended.wait(self.timing.node_monitor_grace_seconds):
            return
        dead = {node.name for node in nodes}
        if self.speakers.decides:
            # Real OpenELB reads the Node from the API server and decides for itself.
            self.speakers.not_ready(sorted(dead))
            self.event(
                f"{', '.join(sorted(dead))} NotReady after "
                f"{self.timing.node_monitor_grace_seconds:g} s (written to the API server)"
            )
            return
        before = {n.name: self.paths(n) for n in self.layout.nodes if n.speaker}
        for name in dead:
            self.ready[name] = False
        self.event(
            f"{', '.join(sorted(dead))} NotReady after {self.timing.node_monitor_grace_seconds:g}"
            " s: the 0.5 speakers withdraw them as next hops"
        )
        live = [
            n
            for n in self.layout.nodes
            if n.speaker and n.name not in dead and self.fabric.running(n.namespace or "")
        ]
        for node in live:
            gone = [p for p in before[node.name] if p not in self.paths(node)]
            if gone:
                self.speakers.withdraw(node, gone)
        self.event("0.5 speakers withdrew the NotReady next hops")

    # --- judging --------------------------------------------------------------------------

    def _established(self, view: RouterView) -> list[str]:
        return sorted(self.by_address.get(address, address) for address in view.established)

    def _every_leaf(
        self, sample: Sample, skip: set[str] | None, paths_ok: Callable[[LabLeaf, RouterView], bool]
    ) -> bool:
        """Every leaf (but ``skip``) has all its sessions up and paths that ``paths_ok``."""
        for leaf in self.layout.leaves:
            if skip and leaf.name in skip:
                continue
            view = sample.views.get(leaf.name)
            if view is None or self._established(view) != self.running_speakers(leaf):
                return False
            if not paths_ok(leaf, view):
                return False
        return True

    def converged(self, sample: Sample, skip: set[str] | None = None) -> bool:
        """Every router forwards over exactly its rack's live nodes, receives nothing else."""
        dead = {loss.address for loss in self.losses if loss.end is None}

        def exact(leaf: LabLeaf, view: RouterView) -> bool:
            own = set(leaf.expected_next_hops) - dead
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

    def speakers_by_leaf(self) -> dict[str, int]:
        return {leaf.name: len(self.running_speakers(leaf)) for leaf in self.layout.leaves}

    def phase(
        self,
        since: float,
        allowance: Allowance,
        speakers: Mapping[str, int] | None = None,
        settings: Mapping[str, Any] | None = None,
        label: str = "",
    ) -> Phase:
        """The figures from ``since`` to now, judged by ``allowance`` (the scenario's own
        unless the run's options give another)."""
        samples = self.sampler.since(since)
        counts = speakers or self.speakers_by_leaf()
        stats = {
            leaf.name: leaf_stats(samples, leaf, counts[leaf.name], self.losses)
            for leaf in self.layout.leaves
        }
        phase = Phase(stats, allowance, time.monotonic() - since, dict(settings or {}), start=since)
        phase.problems = outages(stats, allowance, label)
        return phase

    def allowance(self, own: Allowance) -> Allowance:
        """The scenario's allowance, or the one the run's options give."""
        gap, blackhole = self.options.allowed_gap_seconds, self.options.allowed_blackhole_seconds
        return Allowance(
            own.gap_seconds if gap is None else gap,
            own.blackhole_seconds if blackhole is None else blackhole,
            own.baseline,
        )

    def result(
        self,
        scenario: str,
        measured: Phase | None = None,
        expected: Mapping[str, list[str]] | None = None,
    ) -> LabResult:
        """The final state of every router, with the scenario's phase: ``ok`` when every
        router has what it should and no leaf's outage exceeded the allowance."""
        final = self.sampler.latest()
        leaves: dict[str, LeafResult] = {}
        for leaf in self.layout.leaves:
            view = final.views[leaf.name] if final else RouterView(frozenset(), {})
            own = set(leaf.expected_next_hops)
            stats = measured.leaves.get(leaf.name) if measured else None
            leaves[leaf.name] = LeafResult(
                expected=list(expected[leaf.name])
                if expected and leaf.name in expected
                else self.running_speakers(leaf),
                established=self._established(view),
                paths={a: sorted(view.next_hops.get(a, frozenset())) for a in leaf.announced},
                # Sent by the speakers, though the router cannot use them (off its link).
                wrong_next_hops={
                    a: sorted(view.received.get(a, frozenset()) - own) for a in leaf.announced
                },
                min_paths=stats.min_paths if stats else None,
                longest_gap=stats.longest_gap if stats else 0.0,
                blackhole=stats.blackhole if stats else 0.0,
                password=leaf.password,
                router_address=leaf.router_address,
            )
        dead = {loss.address for loss in self.losses if loss.end is None}
        problems = [
            f"leaf {name}: " + "; ".join(_leaf_problems(leaf, dead))
            for name, leaf in leaves.items()
            if not _leaf_ok(leaf, dead)
        ]
        if measured:
            problems += measured.problems
        observed, silent = self.speakers.observations({loss.node for loss in self.losses})
        problems += silent
        notes = list(self.layout.notes)
        interval = self.sampler.longest_interval(measured.start if measured else self.origin)
        if interval > MAX_SAMPLE_INTERVAL:
            notes.append(
                f"the routers were sampled only every {interval:.2f} s at worst (more than "
                f"{MAX_SAMPLE_INTERVAL} s): the figures are less precise"
            )
        return LabResult(
            stack=self.layout.stack,
            scenario=scenario,
            ok=not problems,
            leaves=leaves,
            measured=measured,
            events=[(at - self.origin, what) for at, what in self.events],
            details={
                "longestSampleIntervalSeconds": round(interval, 3),
                **({"openelb": observed} if observed else {}),
            },
            notes=notes,
            problems=problems,
            node_of_address=dict(self.by_address),
        )


def _leaf_ok(leaf: LeafResult, dead: set[str]) -> bool:
    live_paths = all(set(hops) - dead for hops in leaf.paths.values())
    return (
        leaf.established == leaf.expected and not any(leaf.wrong_next_hops.values()) and live_paths
    )


def _leaf_problems(leaf: LeafResult, dead: set[str]) -> list[str]:
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
        if not set(hops) - dead:
            out.append(f"no path to {address}" + (" on a live node" if hops else ""))
    return out or ["mismatch"]


# --- waiting ---------------------------------------------------------------------------------


def settle(
    lab: Lab, skip: set[str] | None = None, timeout: float | None = None
) -> tuple[float, bool, bool]:
    """Wait until converged, or settled short of it (every session up, every address with a
    path, nothing changing): (seconds waited, converged, settled)."""
    started = time.monotonic()
    deadline = started + (lab.converge_timeout if timeout is None else timeout)
    while time.monotonic() < deadline:
        latest = lab.sampler.latest()
        if latest is not None:
            if lab.converged(latest, skip):
                return time.monotonic() - started, True, True
            if lab.announced_somewhere(latest, skip) and lab.sampler.unchanged_for(SETTLED_FOR):
                return time.monotonic() - started, False, True
        time.sleep(0.05)
    return time.monotonic() - started, False, False


def converge(lab: Lab, skip: set[str] | None = None) -> float | None:
    """After a change: seconds until settled again (converged or not), None when it never
    settles within ``SETTLE_TIMEOUT``."""
    time.sleep(OBSERVE)
    took, _, settled = settle(lab, skip, max(lab.converge_timeout, SETTLE_TIMEOUT))
    return round(took + OBSERVE, 2) if settled else None


def converged_first(lab: Lab, name: str) -> LabResult | None:
    """Bring the fabric up; a result (the mismatch) when it does not even settle. A fabric
    that settles with a mismatch (e.g. off-link next hops) still runs the scenario: its gaps
    are measured, and its result reports the mismatch."""
    lab.up()
    took, converged, settled = settle(lab)
    silent = lab.speakers.silent()
    if silent:
        # Real OpenELB 0.6 started all at once can keep its sessions and lose its paths
        # (docs/lab.md, "Real OpenELB"): as advised there, each such speaker is restarted
        # alone, so the scenario starts from a fabric where every speaker announces.
        lab.event(f"after the start {', '.join(silent)} announce nothing: each restarted alone")
        for name in silent:
            node = lab.layout.node(name)
            lab.speakers.stop(node)
            lab.speakers.start(node, lab.paths(node))
            lab.speakers.wait_announcing(node)
        took, converged, settled = settle(lab)
    if settled:
        lab.event(f"fabric {'converged' if converged else 'settled'} after {took:.1f} s")
        return None
    return lab.result(name)


# --- sessions: a fabric per lab -------------------------------------------------------------


@dataclass
class Session:
    """What a scenario may build labs from: the stack, the run's options and its record."""

    stack: str
    config: StackConfig
    state: DesiredState
    options: LabOptions
    record: leftovers.Run
    current: Lab | None = None
    """The lab running now (for progress lines)."""
    labs_built: int = 0
    """Labs whose logs were kept (``--logs``): each one's go to ``lab<N>``, in build order."""
    kept_logs: list[Path] = field(default_factory=list)

    @contextlib.contextmanager
    def lab(
        self,
        config: StackConfig | None = None,
        state: DesiredState | None = None,
        initial: tuple[StackConfig, DesiredState] | None = None,
        faults: Faults | None = None,
    ) -> Iterator[Lab]:
        """A fabric for the stack (or ``config``/``state``), removed when the block ends."""
        config = config or self.config
        state = state or self.state
        faults = faults or self.options.faults
        layout = build_layout(self.stack, config, state, os.getpid(), faults, initial)
        start_config, start_state = initial or (config, state)
        with Fabric(layout, self.record, self.options.router) as fabric:
            fabric.build()
            with contextlib.ExitStack() as real:
                make = self.options.speakers or ModelledSpeakers
                log_folders = {"lab": fabric.workdir}
                if self.options.openelb == "real":
                    # Only here: the real mode needs the control plane's modules.
                    from openelb_component.lab.real.speakers import real_speakers

                    openelb = real.enter_context(
                        real_speakers(
                            layout,
                            fabric,
                            self.record,
                            self.options.openelb_binaries,
                            self.stack,
                            start_config,
                            start_state,
                            faults or Faults(),
                        )
                    )
                    log_folders["control-plane"] = openelb.real.cluster.folder
                    speakers: Speakers = openelb
                else:
                    speakers = make(fabric, layout)
                with Sampler(fabric) as sampler:
                    self.current = Lab(
                        layout, fabric, sampler, self.options, config, state, speakers
                    )
                    lab = self.current
                    try:
                        yield lab
                    finally:
                        lab.ended.set()
                        self.current = None
                        if self.options.logs is not None:
                            # While everything still runs: the folders go when the block ends.
                            self.labs_built += 1
                            target = self.options.logs / f"lab{self.labs_built}"
                            self.kept_logs.extend(save_logs(log_folders, target))


def first_speakers(lab: Lab) -> list[LabNode]:
    """One running speaker per leaf (its first by name): the nodes a failure scenario hits."""
    out = []
    for leaf in lab.layout.leaves:
        running = lab.running_speakers(leaf)
        if running:
            out.append(lab.layout.node(running[0]))
    return out
