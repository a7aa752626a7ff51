"""The lab's result as a person reads it: per leaf, what the router has and what it went through,
in sentences with durations; what happened when; the verdict and why. And progress lines while
a long scenario runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from openelb_component.lab.measure import LeafStats
from openelb_component.lab.scenarios.base import LabResult, Phase, Session
from openelb_component.lab.verdicts import VERDICT_FROM_SPEAKERS, Allowance

PROGRESS_EVERY = 5.0
"""Seconds between two progress lines while nothing else is said."""

TITLES = {
    "steady": "the fabric as built, watched",
    "node-failure": "one node per leaf loses power",
    "pod-failure": "one speaker pod per leaf ends and is replaced",
    "rolling-restart": "the announcing workload's rollout",
    "manual-guide": "OpenELB's manual procedure (scale to 0, edit, scale up)",
    "wrong-password": "the first leaf's router has another TCP MD5 password",
    "membership-change": "a node joins the first leaf",
    "bgpconf-change": "a BgpConf change",
}


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _names(addresses: Any, names: Mapping[str, str]) -> str:
    return ", ".join(f"{a} ({names[a]})" if a in names else str(a) for a in addresses)


def _leaf_figures(stats: LeafStats) -> str:
    """One sentence: paths, gap, blackhole, sessions of nodes without power."""
    parts = []
    if stats.min_paths is None:
        return "not measured"
    if stats.min_paths > 0:
        parts.append(f"at least {stats.min_paths} usable path(s), never without one")
    elif stats.gap_open:
        parts.append(
            f"lost every usable path and was still without one after {_seconds(stats.longest_gap)}"
        )
    else:
        parts.append(f"lost every usable path; recovered after {_seconds(stats.longest_gap)}")
    if stats.blackhole or stats.blackhole_open:
        if stats.blackhole_open:
            parts.append(
                f"forwarded to a node without power for {_seconds(stats.blackhole)} and still "
                "did when the lab stopped watching"
            )
        else:
            parts.append(
                f"forwarded to a node without power for {_seconds(stats.blackhole)}, then stopped"
            )
    for node, after in stats.session_down_after.items():
        if after is None:
            parts.append(f"kept {node}'s session to the end")
        else:
            parts.append(f"dropped {node}'s session after {_seconds(after)}")
    return "; ".join(parts)


def _phase_lines(phase: Phase, indent: str = "  ") -> list[str]:
    lines = []
    for name, stats in phase.leaves.items():
        lines.append(f"{indent}leaf {name} ({stats.speakers} speakers): {_leaf_figures(stats)}")
    return lines


def _allowance(allowance: Allowance) -> str:
    text = (
        f"allowed on a leaf of {VERDICT_FROM_SPEAKERS} or more speakers: "
        f"{allowance.gap_seconds:g} s without a path, {allowance.blackhole_seconds:g} s "
        "forwarding to a node without power"
    )
    return text + (" (a baseline: shown for comparison)" if allowance.baseline else "")


DETAILS = {
    "longestSampleIntervalSeconds": "routers sampled at worst every {} s",
    "runSeconds": "the run took {} s",
    "convergedAfterSeconds": "converged {} s after the routers started",
    "settledAfterSeconds": "settled {} s after the last step",
    "settledAfterLastSeconds": "settled {} s after the last step",
    "settledAfterScaleUpSeconds": "settled {} s after the last pod was Ready",
    "podEnded": "pods ended on {}",
    "powerLost": "lost power: {}",
    "watchedSeconds": "watched for {} s",
    "announcementsBack": "announcements back: {}",
    "change": "the change: {}",
    "minReadySeconds": "minReadySeconds {}",
}
"""How the scenario's extra figures read in the text (the JSON keeps the keys)."""


def _details(details: Mapping[str, Any]) -> str:
    parts = []
    for key, value in details.items():
        if key in ("refusedSpeakers", "faultedLeaf") or value is None:
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        parts.append(DETAILS.get(key, key + " {}").format(value))
    return "; ".join(parts)


def _settings(settings: Mapping[str, Any]) -> str:
    skip = {"leaves", "problems", "ok"}
    parts = []
    for key, value in settings.items():
        if key in skip or value in (None, [], {}):
            continue
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        parts.append(f"{key} {value}")
    return ", ".join(parts)


def _run_settings(settings: Mapping[str, Any]) -> str:
    text = (
        f"OpenELB {settings.get('openelb')}; routers {settings.get('router', 'frr').upper()}; "
        f"Kubernetes timing: a replaced pod starts {settings.get('podStartSeconds'):g} s after "
        f"the old one stopped, readiness probed {settings.get('firstProbeAfterSeconds'):g} s "
        f"after start then every {settings.get('readinessProbePeriodSeconds'):g} s, a silent "
        f"node NotReady after {settings.get('nodeMonitorGraceSeconds'):g} s"
    )
    if settings.get("overrides"):
        text += "; overrides: " + ", ".join(settings["overrides"])
    return text


def render_text(result: LabResult) -> str:
    names = result.node_of_address
    status = "ok" if result.ok else "NOT OK"
    title = TITLES.get(result.scenario, result.scenario)
    lines = [f"lab: stack {result.stack}, scenario {result.scenario} ({title}): {status}"]
    if result.settings:
        lines.append("  " + _run_settings(result.settings))
    measured = result.measured
    if measured:
        lines.append("  " + _allowance(measured.allowance))
    for leaf_name, leaf in result.leaves.items():
        md5 = ", sessions with TCP MD5" if leaf.password else ""
        header = f"leaf {leaf_name} (router {leaf.router_address}{md5})"
        if leaf_name == result.faulted_leaf:
            refused = result.details.get("refusedSpeakers", [])
            state = (
                "no session, as the scenario intends"
                if not leaf.established
                else f"{len(leaf.established)} session(s), although it should have none"
            )
            lines.append(
                f"{header}: {state}: the router was given another MD5 password, so it refuses "
                f"the signed connections of its {len(refused)} speaker(s) ({', '.join(refused)})"
            )
            continue
        established = ", ".join(leaf.established) or "none"
        lines.append(
            f"{header}: {len(leaf.established)} of {len(leaf.expected)} expected session(s) "
            f"established ({established})"
        )
        for address, hops in leaf.paths.items():
            wrong = leaf.wrong_next_hops.get(address, [])
            text = f"  {address}: {len(hops)} path(s)"
            if hops:
                text += " via " + _names(hops, names)
            if wrong:
                text += f"; received next hops off {leaf_name}'s link: " + _names(wrong, names)
            lines.append(text)
        if measured and leaf_name in measured.leaves:
            lines.append("  during the scenario: " + _leaf_figures(measured.leaves[leaf_name]))
    if measured and measured.settings:
        lines.append("the change: " + _settings(measured.settings))
    if result.events:
        lines.append("what happened (seconds after the change began):")
        lines += [f"  {round(at, 1) + 0.0:7.1f} s  {what}" for at, what in result.events]
    for name, phase in result.comparisons.items():
        kind = "baseline" if phase.allowance.baseline else "comparison"
        lines.append(
            f"{kind} {name} ({_settings(phase.settings) or 'as above'}), {_seconds(phase.seconds)}:"
        )
        lines += _phase_lines(phase)
        if phase.problems:
            lines += [f"  outage: {p}" for p in phase.problems]
    extra = _details(result.details)
    if extra:
        lines.append("also: " + extra)
    verdict = "ok" if result.ok else "NOT OK"
    if measured:
        within = not measured.problems
        lines.append(
            f"verdict: {verdict}"
            + (": within the allowance" if within and result.ok else "")
            + (f" ({(measured.allowance.baseline and 'baseline') or 'the product'})")
        )
    lines += [f"problem: {p}" for p in result.problems]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines) + "\n"


class Progress:
    """Prints a line whenever something happens and, every ``PROGRESS_EVERY`` seconds while
    nothing does, what the routers have now."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.session: Session | None = None
        """Set once the run's session exists."""
        self.write = write
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._last = time.monotonic()

    def say(self, line: str) -> None:
        self._last = time.monotonic()
        self.write(line)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            lab = self.session.current if self.session else None
            if lab is None or time.monotonic() - self._last < PROGRESS_EVERY:
                continue
            sample = lab.sampler.latest()
            if sample is None:
                continue
            parts = []
            dead = {loss.address for loss in lab.losses if loss.end is None}
            for leaf in lab.layout.leaves:
                view = sample.views[leaf.name]
                hops = [view.next_hops.get(a, frozenset()) for a in leaf.announced]
                paths = min((len(h) for h in hops), default=0)
                to_dead = max((len(h & dead) for h in hops), default=0)
                parts.append(
                    f"{leaf.name} {len(view.established)}/{len(lab.running_speakers(leaf))} "
                    f"sessions, {paths} path(s)"
                    + (f" ({to_dead} to a node without power)" if to_dead else "")
                )
            self.say(f"[{time.monotonic() - lab.origin:6.1f} s] " + "; ".join(parts))

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
