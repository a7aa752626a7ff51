"""What the routers saw: samples of every router, and per leaf what they add up to.

A sampler thread reads every router at least every ``SAMPLE_INTERVAL`` (0.05 s; the longest
interval actually seen is reported): its Established sessions and, per announced address, the
next hops installed in its forwarding table (zebra's FIB, or the kernel table BIRD writes). Per
leaf and phase of a scenario:

- ``minPaths``: the fewest usable next hops any announced address had: installed, of the leaf's
  own rack, on a node that has power;
- ``longestGapSeconds``: the longest time an address had none;
- ``blackholeSeconds``: how long the router had a next hop installed that points at a node
  without power (the traffic hashed to it is lost), in total;
- ``sessionDownAfterSeconds``: per node that lost power, how long the router kept its session.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from openelb_component.lab.fabric import Fabric, RouterView
from openelb_component.lab.layout import LabLeaf

SAMPLE_INTERVAL = 0.05
MAX_SAMPLE_INTERVAL = 0.2


@dataclass(frozen=True)
class Sample:
    at: float
    views: Mapping[str, RouterView]


@dataclass(frozen=True)
class PowerLoss:
    """A node without power from ``start`` (monotonic) until ``end`` (None: still)."""

    node: str
    address: str
    start: float
    end: float | None = None

    def dead_at(self, moment: float) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


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
            previous = self.samples[-1] if self.samples else None
            if previous is not None:
                views = {
                    name: _carry_queued(view, previous.views[name]) for name, view in views.items()
                }
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

    def since(self, start: float, end: float | None = None) -> list[Sample]:
        return [s for s in self.samples if s.at >= start and (end is None or s.at <= end)]

    def longest_interval(self, since: float) -> float:
        times = [s.at for s in self.samples if s.at >= since]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def _carry_queued(view: RouterView, previous: RouterView) -> RouterView:
    """A route zebra is still writing keeps the kernel's previous next hops."""
    if not view.queued:
        return view
    hops = dict(view.next_hops)
    for address in view.queued:
        hops[address] = previous.next_hops.get(address, hops.get(address, frozenset()))
    return RouterView(view.established, hops, view.received, view.queued)


@dataclass
class LeafStats:
    """One leaf over one phase of a scenario."""

    speakers: int
    """Speakers of the leaf when the phase began (the verdict applies from 2)."""
    min_paths: int | None = None
    longest_gap: float = 0.0
    gap_open: bool = False
    """Still without a usable path at the phase's last sample."""
    blackhole: float = 0.0
    blackhole_open: bool = False
    """Still forwarding to a node without power at the phase's last sample."""
    session_down_after: dict[str, float | None] = field(default_factory=dict)
    """Node without power -> seconds until its session left the router (None: it had not)."""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "speakers": self.speakers,
            "minPaths": self.min_paths,
            "longestGapSeconds": round(self.longest_gap, 2),
            "blackholeSeconds": round(self.blackhole, 2),
        }
        if self.gap_open:
            out["stillWithoutPath"] = True
        if self.blackhole_open:
            out["stillForwardingToDeadNode"] = True
        if self.session_down_after:
            out["sessionDownAfterSeconds"] = {
                node: None if seconds is None else round(seconds, 2)
                for node, seconds in self.session_down_after.items()
            }
        return out


def leaf_stats(
    samples: Sequence[Sample],
    leaf: LabLeaf,
    speakers: int,
    losses: Sequence[PowerLoss] = (),
) -> LeafStats:
    stats = LeafStats(speakers)
    if not samples or not leaf.announced:
        return stats
    own = set(leaf.expected_next_hops)
    for address in leaf.announced:
        gap_started: float | None = None
        for sample in samples:
            dead = {loss.address for loss in losses if loss.dead_at(sample.at)}
            installed = sample.views[leaf.name].next_hops.get(address, frozenset())
            usable = (installed & own) - dead
            count = len(usable)
            stats.min_paths = count if stats.min_paths is None else min(stats.min_paths, count)
            if not usable and gap_started is None:
                gap_started = sample.at
            elif usable and gap_started is not None:
                stats.longest_gap = max(stats.longest_gap, sample.at - gap_started)
                gap_started = None
        if gap_started is not None:
            stats.longest_gap = max(stats.longest_gap, samples[-1].at - gap_started)
            stats.gap_open = True
    # Blackhole: the time between a sample with a dead next hop installed and the next one.
    for earlier, later in itertools.pairwise(samples):
        view = earlier.views[leaf.name]
        dead = {loss.address for loss in losses if loss.dead_at(earlier.at)}
        if any(view.next_hops.get(a, frozenset()) & dead for a in leaf.announced):
            stats.blackhole += later.at - earlier.at
    last = samples[-1]
    dead_now = {loss.address for loss in losses if loss.dead_at(last.at)}
    stats.blackhole_open = any(
        last.views[leaf.name].next_hops.get(a, frozenset()) & dead_now for a in leaf.announced
    )
    for loss in losses:
        if loss.address not in own:
            continue
        down = next(
            (
                s.at - loss.start
                for s in samples
                if s.at >= loss.start and loss.address not in s.views[leaf.name].established
            ),
            None,
        )
        stats.session_down_after[loss.node] = down
    return stats
