"""The lab's models and instruments without a fabric (run by `make test`): the Kubernetes
rollout model driving fake speakers, the figures computed from router samples, the verdicts,
and the text a person reads."""

from __future__ import annotations

import ipaddress
import itertools
import threading
import time
from types import SimpleNamespace
from typing import cast

import pytest

from openelb_component.lab import kube
from openelb_component.lab.fabric import Fabric, RouterView
from openelb_component.lab.layout import LabLeaf, LabNode, Layout
from openelb_component.lab.measure import LeafStats, PowerLoss, Sample, Sampler, leaf_stats
from openelb_component.lab.report import render_text
from openelb_component.lab.scenarios.base import Lab, LabOptions, LabResult, LeafResult, Phase
from openelb_component.lab.speakers import Speakers
from openelb_component.lab.verdicts import Allowance, outages

# --- the rollout model, on fake speakers, in fast time -----------------------------------------

FAST = kube.KubeTiming(pod_start_seconds=0.2, probe_period_seconds=0.3, first_probe_seconds=0.05)


class FakeSpeakers:
    """Records what the pods do to the speakers, in order; a speaker answers its readiness
    probe ``answers_after`` seconds after its start."""

    def __init__(self, answers_after: float = 0.0) -> None:
        self.log: list[tuple[str, str]] = []
        self.started: dict[str, float] = {}
        self.answers_after = answers_after
        self.probes: list[tuple[str, float, bool]] = []
        """(node, when, answer) of every readiness probe, in order."""
        self.lock = threading.Lock()

    def start_pod(self, node: str) -> None:
        with self.lock:
            self.log.append(("start", node))
            self.started[node] = time.monotonic()

    def stop_pod(self, node: str) -> None:
        with self.lock:
            self.log.append(("stop", node))
            self.started.pop(node, None)

    def probe(self, node: str) -> bool:
        now = time.monotonic()
        started = self.started.get(node)
        answer = started is not None and now - started >= self.answers_after
        self.probes.append((node, now, answer))
        return answer


def workload(
    kind: str, pods: FakeSpeakers, leaves: dict[str, list[str]], running: list[str], **kw: float
) -> kube.Workload:
    return kube.Workload(
        kind=kind,  # type: ignore[arg-type]
        pods_of=pods,
        leaves=leaves,
        running=running,
        min_ready_seconds=kw.get("min_ready", 0.0),
        max_unavailable=int(kw.get("max_unavailable", 1)),
        max_surge=int(kw.get("max_surge", 0)),
        timing=FAST,
        event=lambda _: None,
    )


def test_a_daemonset_replaces_one_pod_at_a_time_each_after_the_last_is_available() -> None:
    pods = FakeSpeakers()
    ds = workload("DaemonSet", pods, {"l1": ["a1", "a2"], "l2": ["b1"]}, ["a1", "a2", "b1"])
    ds.roll(deadline=20)
    assert pods.log == [
        ("stop", "a1"),
        ("start", "a1"),
        ("stop", "a2"),
        ("start", "a2"),
        ("stop", "b1"),
        ("start", "b1"),
    ]
    assert ds.running_nodes == ["a1", "a2", "b1"]


def test_a_daemonset_waits_min_ready_seconds_and_a_second_before_the_next_pod() -> None:
    """daemon_controller.go:664-670@v1.37.2: requeued minReadySeconds + 1 s after Ready."""
    pods = FakeSpeakers()
    ds = workload("DaemonSet", pods, {"l1": ["a1", "a2"]}, ["a1", "a2"], min_ready=0.5)
    times: dict[str, float] = {}
    original = pods.stop_pod

    def stop(node: str) -> None:
        times[node] = time.monotonic()
        original(node)

    pods.stop_pod = stop  # type: ignore[method-assign]
    ds.roll(deadline=20)
    # a1: stop, 0.2 s start, 0.05 s first probe, then 0.5 + 1 s before a2 stops
    assert times["a2"] - times["a1"] >= 0.2 + 0.05 + 0.5 + kube.DAEMONSET_REQUEUE_SECONDS


def test_readiness_is_probed_every_period_until_the_speaker_answers() -> None:
    """The pod is Ready at the first probe the speaker answers, never before; the probes before
    it failed and came a whole period apart. Only lower bounds on time: a loaded machine delays
    every sleep, so the test holds whatever the load (no timed assertions)."""
    pods = FakeSpeakers(answers_after=0.4)
    ds = workload("DaemonSet", pods, {"l1": ["a1"]}, ["a1"])
    ds.roll(deadline=20)
    (pod,) = ds.pods
    probes = [(when, answer) for node, when, answer in pods.probes if node == "a1"]
    answered = [when for when, answer in probes if answer]
    assert answered, "the speaker answered no probe"
    assert pod.ready_at is not None
    assert pod.ready_at >= answered[0]
    assert pod.ready_at - pods.started["a1"] >= pods.answers_after
    before = [when for when, _ in probes if when < answered[0]]
    assert all(not answer for when, answer in probes if when < answered[0])
    times = [*before, answered[0]]
    assert all(
        later - earlier >= FAST.probe_period_seconds * 0.99
        for earlier, later in itertools.pairwise(times)
    )


def test_a_deployment_surges_onto_a_free_node_and_scales_down_in_the_same_sync() -> None:
    """replicas 2 on a leaf of three nodes, maxSurge 1, maxUnavailable 1: the first sync both
    creates a new pod, which lands on the free node (deployment_util.go:817-836@v1.37.2), and
    deletes an old one, since 2 available leave 1 to spare (rolling.go:193-221)."""
    pods = FakeSpeakers()
    deploy = workload("Deployment", pods, {"l1": ["a1", "a2", "a3"]}, ["a1", "a2"], max_surge=1)
    deploy.roll(deadline=20)
    assert pods.log[:2] == [("stop", "a1"), ("start", "a3")]
    assert len(deploy.running_nodes) == 2


def test_a_deployment_without_a_free_node_deletes_before_it_starts() -> None:
    pods = FakeSpeakers()
    deploy = workload("Deployment", pods, {"l1": ["a1", "a2"]}, ["a1", "a2"], max_surge=1)
    deploy.roll(deadline=20)
    assert pods.log[0][0] == "stop"
    assert sorted(deploy.running_nodes) == ["a1", "a2"]


@pytest.mark.parametrize(
    ("l2_free", "placed"),
    [(True, "b2"), (False, None)],
    ids=["the-emptier-leaf-takes-it", "it-waits-rather-than-skew-the-leaves"],
)
def test_a_pending_pod_goes_only_where_the_rack_spread_allows(
    l2_free: bool, placed: str | None
) -> None:
    """l1 runs two pods and has spare nodes, l2 runs one: a pod in l1 would make the skew 2
    (filtering.go:346-360@v1.37.2), so the pod goes to l2's free node, or waits for one."""
    pods = FakeSpeakers()
    deploy = workload(
        "Deployment", pods, {"l1": ["a1", "a2", "a3"], "l2": ["b1", "b2"]}, ["a1", "a2", "b1"]
    )
    if not l2_free:
        deploy.pods.append(kube.Pod("terminating", 0, "b2", "terminating", 0.0, deleted=True))
    pending = kube.Pod("new", 1, None, "pending", time.monotonic())
    deploy.pods.append(pending)
    deploy._schedule(time.monotonic())
    assert pending.node == placed
    pending.deleted = True  # its start thread, if any, ends without starting anything


RACKS = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"], "c": ["c1", "c2"]}
"""The racks stack's layout: replicasPerLeaf 2, and rack-a has a spare node."""


@pytest.mark.parametrize(
    ("max_surge", "running", "per_leaf"),
    [
        (2, ["a1", "a2", "b1", "b2", "c1", "c2"], {"a": 3, "b": 2, "c": 1}),
        (2, ["a2", "a3", "b1", "b2", "c1", "c2"], {"a": 3, "b": 2, "c": 1}),
        (0, ["a1", "a2", "b1", "b2", "c1", "c2"], {"a": 2, "b": 2, "c": 2}),
        (0, ["a2", "a3", "b1", "b2", "c1", "c2"], {"a": 2, "b": 2, "c": 2}),
    ],
    ids=[
        "api-default-surge-ends-uneven",
        "api-default-surge-ends-uneven-from-other-nodes",
        "no-surge-ends-even",
        "no-surge-ends-even-from-other-nodes",
    ],
)
def test_a_rollout_with_surge_can_leave_the_leaves_uneven_and_one_without_ends_even(
    max_surge: int, running: list[str], per_leaf: dict[str, int]
) -> None:
    """The 0.5 manager's rollout on the racks layout. With the API default maxSurge (25% of 6:
    2) the surge pod takes rack-a's spare node while the old pods still count in the spread,
    and the old pods stopped afterwards are chosen without regard to leaves: rack-c ends with
    one replica (a real scheduler did the same in make cluster-test). With maxSurge 0, the
    manager's strategy (desired/workloads.py ``MANAGER_STRATEGY``), each new pod goes to the
    leaf its predecessor left."""
    pods = FakeSpeakers()
    deploy = workload("Deployment", pods, RACKS, running, max_surge=max_surge)
    deploy.roll(deadline=30)
    assert {
        leaf: sum(1 for node in deploy.running_nodes if node in nodes)
        for leaf, nodes in RACKS.items()
    } == per_leaf


@pytest.mark.parametrize(
    ("kind", "replicas", "value", "surge"),
    [
        ("Deployment", 4, None, 1),
        ("Deployment", 5, None, 2),
        ("Deployment", 4, "50%", 2),
        ("DaemonSet", 4, None, 0),
        ("Deployment", 4, 0, 0),
    ],
    ids=["deployment-25%-of-4", "deployment-25%-of-5-rounds-up", "50%", "daemonset", "set-0"],
)
def test_max_surge_resolves_as_the_controllers_do(
    kind: str, replicas: int, value: int | str | None, surge: int
) -> None:
    assert kube.max_surge_of(kind, replicas, value) == surge


# --- figures from samples ----------------------------------------------------------------------

LEAF = LabLeaf(
    name="leaf1",
    index=0,
    namespace="oelab1-r0",
    subnet=ipaddress.IPv4Network("192.0.2.0/29"),
    router_address="192.0.2.1",
    frr_config="",
    bird_config="",
    members=("a1", "a2"),
    speakers=("a1", "a2"),
    announced=("198.51.100.1",),
    expected_next_hops=("192.0.2.2", "192.0.2.3"),
)
A1, A2 = "192.0.2.2", "192.0.2.3"


def sample(at: float, hops: set[str], sessions: set[str] | None = None) -> Sample:
    view = RouterView(
        frozenset(sessions if sessions is not None else hops),
        {"198.51.100.1": frozenset(hops)},
    )
    return Sample(at, {"leaf1": view})


def test_a_gap_and_its_recovery_are_measured_between_samples() -> None:
    samples = [sample(0, {A1, A2}), sample(1, {A2}), sample(2, set()), sample(6.5, {A1})]
    assert leaf_stats(samples, LEAF, 2) == LeafStats(2, min_paths=0, longest_gap=4.5)


def test_a_next_hop_to_a_node_without_power_is_a_blackhole_not_a_path() -> None:
    """a1 loses power at 1 s: its next hop is installed until 91 s; usable paths are a2's."""
    loss = PowerLoss("a1", A1, start=1.0)
    samples = [
        sample(0, {A1, A2}),
        sample(1, {A1, A2}),
        sample(50, {A1, A2}),
        sample(91, {A2}, sessions={A2}),
        sample(95, {A2}, sessions={A2}),
    ]
    stats = leaf_stats(samples, LEAF, 2, [loss])
    assert stats == LeafStats(2, min_paths=1, blackhole=90.0, session_down_after={"a1": 90.0})


def test_a_blackhole_still_there_at_the_end_is_said() -> None:
    loss = PowerLoss("a1", A1, start=0.0)
    stats = leaf_stats([sample(0, {A1, A2}), sample(100, {A1, A2}, {A2})], LEAF, 2, [loss])
    assert (stats.blackhole, stats.blackhole_open) == (100.0, True)


# --- verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stats", "allowance", "problems"),
    [
        (LeafStats(2, min_paths=1), Allowance(), []),
        (
            LeafStats(2, min_paths=0, longest_gap=4.97),
            Allowance(),
            ["leaf leaf1 (2 speakers): no path for 4.97 s, allowed 0 s"],
        ),
        (LeafStats(1, min_paths=0, longest_gap=4.97), Allowance(), []),
        (LeafStats(2, min_paths=0, longest_gap=3.0), Allowance(gap_seconds=5), []),
        (
            LeafStats(2, min_paths=1, blackhole=89.7),
            Allowance(0, 10),
            [
                "leaf leaf1 (2 speakers): forwarded to a node without power for 89.70 s, "
                "allowed 10 s"
            ],
        ),
        (
            LeafStats(3, min_paths=2, blackhole=100.0, blackhole_open=True),
            Allowance(0, 10),
            [
                "leaf leaf1 (3 speakers): forwarded to a node without power for 100.00 s "
                "(still at the end), allowed 10 s"
            ],
        ),
        (
            LeafStats(2, min_paths=0, longest_gap=0.04),
            Allowance(),
            ["leaf leaf1 (2 speakers): no path for 0.04 s, allowed 0 s"],
        ),
    ],
    ids=[
        "a-path-throughout",
        "a-gap",
        "one-speaker-not-judged",
        "within-an-allowance",
        "blackhole",
        "blackhole-still-open",
        "the-shortest-gap-is-an-outage",
    ],
)
def test_ok_is_never_given_over_an_outage(
    stats: LeafStats, allowance: Allowance, problems: list[str]
) -> None:
    assert outages({"leaf1": stats}, allowance) == problems


# --- the text a person reads -------------------------------------------------------------------


def result_with(stats: LeafStats, allowance: Allowance, password: bool = True) -> LabResult:
    phase = Phase({"leaf1": stats}, allowance, 12.0, {"minReadySeconds": 0})
    phase.problems = outages(phase.leaves, allowance)
    return LabResult(
        stack="prod",
        scenario="rolling-restart",
        ok=not phase.problems,
        leaves={
            "leaf1": LeafResult(
                expected=["a1", "a2"],
                established=["a1", "a2"],
                paths={"198.51.100.1": [A1, A2]},
                wrong_next_hops={},
                password=password,
                router_address="192.0.2.1",
            )
        },
        measured=phase,
        events=[(0.0, "rollout of the DaemonSet"), (5.2, "a1: new pod's container started")],
        details={"longestSampleIntervalSeconds": 0.06, "runSeconds": 61.2},
        problems=phase.problems,
        node_of_address={A1: "a1", A2: "a2"},
    )


def test_the_text_says_how_long_a_leaf_was_without_a_path_and_that_it_recovered() -> None:
    text = render_text(result_with(LeafStats(2, min_paths=0, longest_gap=4.97), Allowance()))
    assert text.splitlines()[0] == (
        "lab: stack prod, scenario rolling-restart (the announcing workload's rollout): NOT OK"
    )
    assert "leaf leaf1 (router 192.0.2.1, sessions with TCP MD5): 2 of 2 expected" in text
    assert "  during the scenario: lost every usable path; recovered after 4.97 s" in text
    assert "      5.2 s  a1: new pod's container started" in text
    assert "problem: leaf leaf1 (2 speakers): no path for 4.97 s, allowed 0 s" in text
    assert "also: routers sampled at worst every 0.06 s; the run took 61.2 s" in text
    assert "{" not in text  # no raw Python dict


def test_the_text_never_says_ok_over_an_outage() -> None:
    ok = render_text(result_with(LeafStats(2, min_paths=1), Allowance(), password=False))
    assert "scenario rolling-restart (the announcing workload's rollout): ok" in ok
    assert "TCP MD5" not in ok
    assert "at least 1 usable path(s), never without one" in ok
    outage = render_text(result_with(LeafStats(2, min_paths=0, longest_gap=0.1), Allowance()))
    assert ": ok" not in outage


# --- a lab's timers end with it ------------------------------------------------------------------


class DecidingSpeakers:
    """Speakers that read Node readiness themselves (the real mode): records each NotReady the
    lab writes."""

    decides = True

    def __init__(self) -> None:
        self.not_ready_calls: list[list[str]] = []

    def not_ready(self, nodes: list[str]) -> None:
        self.not_ready_calls.append(nodes)


@pytest.mark.parametrize(
    ("ended_first", "calls"),
    [(False, [["n1"]]), (True, [])],
    ids=["due-while-the-lab-runs-it-is-written", "due-after-the-lab-ended-nothing-happens"],
)
def test_a_not_ready_due_after_the_lab_ended_reaches_nothing(
    ended_first: bool, calls: list[list[str]]
) -> None:
    """A power loss schedules the Node's NotReady a grace period later; a scenario that ends
    first (0.6's node-failure ends within its hold timer) tears down the control plane, and the
    write then failed against a kubeconfig that was gone (seen in a real-mode run)."""
    speakers = DecidingSpeakers()
    lab = Lab(
        cast(Layout, SimpleNamespace(nodes=[])),
        cast(Fabric, None),
        cast(Sampler, None),
        LabOptions(timing=kube.KubeTiming(node_monitor_grace_seconds=0.05)),
        speakers=cast(Speakers, speakers),
    )
    if ended_first:
        lab.ended.set()
    lab._not_ready([cast(LabNode, SimpleNamespace(name="n1"))])
    assert speakers.not_ready_calls == calls
