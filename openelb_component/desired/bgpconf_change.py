"""A BgpConf change: what it costs every leaf, how the program carries it out, and the
acknowledgement without which ``pulumi up`` refuses it.

Any change of the BgpConf's spec makes every speaker stop and restart BGP at the same moment
(StopBgp/StartBgp on every replica: pkg/speaker/bgp/conf.go:9-25@v0.5.1,
pkg/speaker/bgp/bgp/conf.go:11-35@v0.6.0), which closes every session and empties every RIB
(GoBGP pkg/server/server.go:2113-2115@v2.23.0): every leaf loses every path at once, whatever
the rollout settings. No change this program makes may do that silently, so:

- the announcing workload records what the last run applied (annotations ``openelb-ha/bgpconf``,
  the digest, and ``openelb-ha/bgpconf-spec``, the spec itself), and each run compares;
- a pending change is named in the preview, field by field, with each leaf's expected outage,
  and a digest of this very change (from what is recorded to what is applied);
- ``pulumi up`` refuses it unless ``openelb-ha:acceptBgpConfChange`` holds that digest, so an
  acknowledgement never covers a later, different change;
- on OpenELB 0.6, whose speakers announce again only when they restart, the run rolls them one
  at a time without ``minReadySeconds`` (they are all silent anyway, so no step of the roll can
  cost a path), never all at once: 0.6 speakers that start together race (``ROLL_STEP_SECONDS``
  has the account) and can stay silent until their next restart; the next run puts the stack's
  ``minReadySeconds`` back. On 0.5 the speakers announce again by themselves.

Pure: the component feeds it the live workload's annotations, the offline plan a ``--workload``
file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from openelb_component.config.models import BgpTimers
from openelb_component.desired.model import DesiredObject, DesiredState, Manifest
from openelb_component.desired.workloads import (
    BGP_CONF_ANNOTATION,
    BGP_CONF_SPEC_ANNOTATION,
    WORKLOAD_KEY,
    bgp_conf_digest,
)

ACCEPT_KEY = "acceptBgpConfChange"
"""The stack key holding the acknowledgement: ``openelb-ha:acceptBgpConfChange``."""

GOBGP_FIRST_DIAL_SECONDS = 10
"""GoBGP dials a neighbor a random 5 to 10 s after it is added (``connectLoop``:
``tick := minConnectRetryInterval`` = 5, timer ``rand.Intn(tick)+tick``,
pkg/server/fsm.go:39, :522-525@v2.23.0), whatever its connect-retry setting."""
POD_REPLACEMENT_SECONDS = 5
"""A replaced speaker's container starts this long after the old one stopped: the Kubernetes pod
startup SLO, 99th percentile 5 s from creation to containers started without an image pull
(kubernetes/community sig-scalability/slos/pod_startup_latency.md:7@1b77525), the lab's
default (docs/lab.md)."""
WORKLOAD_APPLIED_AFTER_SECONDS = 1
"""The speaker DaemonSet's patch follows the BgpConf's in the same ``up`` (it depends on it):
about a second later, the lab's assumption too (``lab/scenarios/changes.py``)."""
CHANGE_ROLL_MIN_READY_SECONDS = 0
"""``minReadySeconds`` of the speaker DaemonSet for the run that changes the BgpConf on 0.6."""
FIRST_PROBE_SECONDS = 1
"""A started speaker is Ready at its first readiness probe, about a second after it starts
(kubelet probes at its next relist, every 1 s: pkg/kubelet/prober/prober_manager.go:355-369,
pkg/kubelet/kubelet.go:215@v1.37.2; docs/lab.md's timing table)."""
OLD_SPEAKER_EXIT_SECONDS = 1
"""A stopped speaker exits on SIGTERM within about a second (the lab's runs of OpenELB's own
speakers; far inside their ``terminationGracePeriodSeconds`` 10, openelb.yaml:1250@v0.6.0)."""
ROLL_STEP_SECONDS = OLD_SPEAKER_EXIT_SECONDS + POD_REPLACEMENT_SECONDS + FIRST_PROBE_SECONDS
"""One step of the change's roll: the next speaker is stopped once the previous one is
available (Ready, with ``minReadySeconds`` 0 for this run), exits, and its successor starts
``POD_REPLACEMENT_SECONDS`` later.

Why one at a time and not every speaker at once (the design until 2026-12-03, fifth session):
a v0.6.0 speaker's BgpConf reconcile restarts its BGP server and then writes the BgpConf back
(pkg/speaker/bgp/bgpconf_controller.go:98-126@v0.6.0); speakers that start together write the
same object at once, and the one whose write is refused ("the object has been modified")
reconciles again, restarting BGP a second time after its Eip reconcile has announced and
recorded the Eip (pkg/speaker/manager.go:127-134@v0.6.0), so it announces nothing until its
next restart (:161-178). In the lab with OpenELB's own speakers, every run that started several
at once left some silent: three of five after the manual guide's scale to 0, one of two after
two pod failures in all three runs, and, in this very change with every speaker replaced at
once, all three of one leaf: 219 s without a path to the end of the run, where the preview had
said 12 s (docs/lab.md, "Real OpenELB", differences 2, 6 and 11). Steps of
``ROLL_STEP_SECONDS`` keep each speaker's start well apart from the previous one's write,
which follows its start within a fraction of a second (the speaker's own log)."""

Strategy = Literal["reannounce", "roll-without-waiting"]


@dataclass(frozen=True)
class Recorded:
    """What the live announcing workload says the last run applied."""

    digest: str | None
    """``openelb-ha/bgpconf``; None when no run of this program applied a BgpConf."""
    spec: Mapping[str, Any] | None = None
    """``openelb-ha/bgpconf-spec`` (written since the BgpConf-change acknowledgement exists);
    None when absent or unreadable."""


def recorded_from(annotations: Mapping[str, Any] | None) -> Recorded:
    """The record on a live workload's ``metadata.annotations`` (any other value: nothing)."""
    annotations = annotations if isinstance(annotations, Mapping) else {}
    digest = annotations.get(BGP_CONF_ANNOTATION)
    spec: Any = None
    text = annotations.get(BGP_CONF_SPEC_ANNOTATION)
    if isinstance(text, str):
        try:
            spec = json.loads(text)
        except ValueError:
            spec = None
    return Recorded(
        digest if isinstance(digest, str) else None,
        spec if isinstance(spec, Mapping) else None,
    )


def acknowledgement(recorded: str | None, applied: str | None) -> str:
    """The digest of one change, from the recorded BgpConf to the applied one: what
    ``acceptBgpConfChange`` must hold for ``pulumi up`` to apply it."""
    text = f"{recorded or 'none'}->{applied or 'none'}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LeafOutage:
    leaf: str
    """The leaf's name; "" for the one router of a single-router topology."""
    speakers: int
    seconds: int
    """The longest the leaf is expected to have no path."""


@dataclass(frozen=True)
class BgpConfChange:
    version: str
    recorded: Recorded
    applied: Mapping[str, Any] | None
    """The BgpConf spec this run applies; None when ``openelb-ha:bgp`` was removed (the fields
    this program set are released)."""
    acknowledgement: str
    strategy: Strategy
    outages: tuple[LeafOutage, ...]

    def describe(self) -> str:
        """The preview's account: what changes, how the program carries it out, each leaf's
        expected outage and the digest to acknowledge it with."""
        return (
            f"{self.what()}: every OpenELB speaker stops and restarts BGP at the same moment "
            f"(StopBgp/StartBgp, pkg/speaker/bgp/conf.go:9-25@v0.5.1, "
            f"pkg/speaker/bgp/bgp/conf.go:11-35@v0.6.0), so every leaf loses every path at "
            f"once. {self.how()} Expected outage: {self.per_leaf()}. pulumi up applies this "
            f"change only with openelb-ha:{ACCEPT_KEY}: {self.acknowledgement} (pulumi config "
            f"set {ACCEPT_KEY} {self.acknowledgement}); that digest fits this change only"
        )

    def what(self) -> str:
        if self.applied is None:
            return (
                "openelb-ha:bgp was removed, so the BgpConf fields this program set (as, "
                "listenPort, routerId, asPerRack) are released and the BgpConf changes"
            )
        wanted = _compact(self.applied)
        if self.recorded.digest is None:
            return (
                f"the BgpConf default is applied for the first time by this program (the "
                f"announcing workload has no openelb-ha/bgpconf record): spec {wanted}; if the "
                f"cluster's BgpConf differs (a hand-made one without asPerRack, for instance) "
                f"this is a BgpConf change (if there is no BgpConf yet, nothing announces today "
                f"and nothing goes dark)"
            )
        if self.recorded.spec is None:
            return (
                f"the BgpConf changes from the one the last run applied (digest "
                f"{self.recorded.digest}) to spec {wanted}"
            )
        changes = field_changes(self.recorded.spec, self.applied)
        return "the BgpConf changes: " + "; ".join(changes)

    def how(self) -> str:
        if self.strategy == "reannounce":
            return (
                "OpenELB 0.5 announces again by itself once the sessions are back "
                "(pkg/controllers/lb/controller.go:126-147@v0.5.1)."
            )
        return (
            "OpenELB 0.6 announces again only when a speaker restarts (pkg/speaker/manager.go:"
            "118-177@v0.6.0), so the roll this change causes brings the announcements back. "
            "This run rolls the speakers one at a time with minReadySeconds "
            f"{CHANGE_ROLL_MIN_READY_SECONDS} (they are all silent anyway, so no step costs a "
            "path), never all at once: 0.6 speakers started together race to write the "
            "BgpConf, and the loser can stay silent until its next restart (docs/lab.md). The "
            "next pulumi up restores the stack's minReadySeconds, so run it right after this "
            "one."
        )

    def per_leaf(self) -> str:
        return ", ".join(
            f"{outage.leaf or 'the router'} ({outage.speakers} speaker"
            f"{'' if outage.speakers == 1 else 's'}) up to about {outage.seconds} s"
            for outage in self.outages
        )


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """``key: old -> new`` for every top-level spec field that differs, sorted."""
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            shown_old = "unset" if old is None else _compact(old)
            shown_new = "unset" if new is None else _compact(new)
            changes.append(f"{key}: {shown_old} -> {shown_new}")
    return changes or ["the same fields (recorded under another digest)"]


def expected_outage_seconds(version: str, timers: BgpTimers, replaced_before: int = 0) -> int:
    """How long a leaf is expected to have no path after a BgpConf change, at most.

    Both ends dial: GoBGP within ``GOBGP_FIRST_DIAL_SECONDS`` of re-adding the neighbor, the
    router every ``timers.connect_retry`` seconds; the first to connect wins. 0.6 first waits
    for the workload patch and for the roll to reach one of the leaf's speakers: at worst after
    ``replaced_before`` other speakers (every speaker of the other leaves; the DaemonSet
    controller's order is not the leaves'), a ``ROLL_STEP_SECONDS`` each."""
    session = min(GOBGP_FIRST_DIAL_SECONDS, timers.connect_retry + 1)
    if version == "0.5":
        return session
    roll = replaced_before * ROLL_STEP_SECONDS + OLD_SPEAKER_EXIT_SECONDS + POD_REPLACEMENT_SECONDS
    return WORKLOAD_APPLIED_AFTER_SECONDS + roll + session


def pending_change(
    version: str,
    state: DesiredState,
    recorded: Recorded,
    timers: BgpTimers,
    speakers_by_leaf: Mapping[str, int],
) -> BgpConfChange | None:
    """The BgpConf change this run makes, or None. ``speakers_by_leaf``: leaf -> the speakers
    announcing to it (``""`` for a single router)."""
    applied_digest = state.bgp_conf_digest
    if applied_digest == recorded.digest:
        return None
    conf = next((obj for obj in state.objects if obj.kind == "BgpConf"), None)
    every_speaker = sum(speakers_by_leaf.values())
    return BgpConfChange(
        version=version,
        recorded=recorded,
        applied=None if conf is None else dict(conf.manifest["spec"]),
        acknowledgement=acknowledgement(recorded.digest, applied_digest),
        strategy="reannounce" if version == "0.5" else "roll-without-waiting",
        outages=tuple(
            LeafOutage(leaf, count, expected_outage_seconds(version, timers, every_speaker - count))
            for leaf, count in sorted(speakers_by_leaf.items())
        ),
    )


def refusal(change: BgpConfChange, given: str | None) -> str:
    """Why ``pulumi up`` does not apply a pending change with this acknowledgement."""
    if given is None:
        reason = f"openelb-ha:{ACCEPT_KEY} is not set"
    else:
        reason = (
            f"openelb-ha:{ACCEPT_KEY} is {given}, which acknowledges another BgpConf change, "
            "not this one"
        )
    described = change.describe()
    return (
        f"openelb-ha: nothing was applied: this run would change the BgpConf and {reason}. "
        f"{described[:1].upper()}{described[1:]}. If that outage is acceptable now, set "
        f"openelb-ha:{ACCEPT_KEY} to {change.acknowledgement} and run pulumi up again; to keep "
        "the cluster's BgpConf, undo the change in the stack (for a first run onto a BgpConf "
        "made by hand: make openelb-ha:bgp match it, or set bgp.nextHops: rack to keep the "
        "leaves' racks)"
    )


def stale_acknowledgement(given: str) -> str:
    return (
        f"openelb-ha:{ACCEPT_KEY} is {given} but this run changes no BgpConf (the change it "
        f"acknowledged was applied, or never made): remove it (pulumi config rm {ACCEPT_KEY}) so "
        "that it cannot be mistaken for the acknowledgement of a later change"
    )


def is_acknowledged(change: BgpConfChange, given: str | None) -> bool:
    return given == change.acknowledgement


def speakers_by_leaf(state: DesiredState) -> dict[str, int]:
    """Leaf -> the speakers announcing to it; a single-router topology's one router is ``""``."""
    if state.replicas_by_leaf:
        return dict(state.replicas_by_leaf)
    return {"": state.replicas}


def rolling_without_waiting(obj: DesiredObject) -> DesiredObject:
    """The 0.6 speaker DaemonSet patch for the run that changes the BgpConf: one speaker at a
    time (``maxUnavailable`` 1, stated again), each next one as soon as the previous is Ready
    (``minReadySeconds`` ``CHANGE_ROLL_MIN_READY_SECONDS``). The template change that rolls them
    is the ``openelb-ha/bgpconf`` pod annotation (``workloads.speaker_template_annotations``)."""
    spec: Manifest = {
        **obj.manifest["spec"],
        "minReadySeconds": CHANGE_ROLL_MIN_READY_SECONDS,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
    }
    return dataclasses.replace(obj, manifest={**obj.manifest, "spec": spec})


def carried_out(state: DesiredState, change: BgpConfChange | None) -> DesiredState:
    """The desired state for a run with this pending change: on 0.6 the speakers roll without
    waiting; otherwise as it is."""
    if change is None or change.strategy != "roll-without-waiting":
        return state
    objects = tuple(
        rolling_without_waiting(obj) if obj.key == WORKLOAD_KEY else obj for obj in state.objects
    )
    return dataclasses.replace(state, objects=objects)


def record_annotations(spec: Manifest | None) -> dict[str, str]:
    """The announcing workload's record of the BgpConf this run applies (on the workload's own
    metadata: changing it restarts nothing)."""
    if spec is None:
        return {}
    return {
        BGP_CONF_ANNOTATION: bgp_conf_digest(spec),
        BGP_CONF_SPEC_ANNOTATION: json.dumps(spec, sort_keys=True, separators=(",", ":")),
    }
