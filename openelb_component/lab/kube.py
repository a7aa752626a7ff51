"""Kubernetes' timing, modelled: pod replacement, kubelet's readiness probe, the DaemonSet and
Deployment rollouts, and a powered-off node turning NotReady.

The lab runs no Kubernetes: its speakers are processes. What Kubernetes would do between them is
modelled here, in real time, from the upstream code (Kubernetes v1.37.2, read from the module
``k8s.io/kubernetes@v1.37.2`` of the Go module proxy; OpenELB's manifests at v0.5.1/v0.6.0):

- a replaced pod runs again ``pod_start_seconds`` after the old one stopped: the Pod startup
  SLO, "99th percentile per cluster-day <= 5s" from pod creation to containers started
  (kubernetes/community ``sig-scalability/slos/pod_startup_latency.md:7``@1b77525), which
  kubelet's own density test also holds pods to at the median when created one after another
  (``test/e2e_node/density_test.go:243-246``); the old pod's exit is real (the speaker's own);
- readiness: kubelet probes a container as soon as it sees it started (a manual trigger,
  ``pkg/kubelet/prober/prober_manager.go:355-369``; it sees it at its next PLEG relist, every
  1 s, ``pkg/kubelet/kubelet.go:215``), then every ``periodSeconds`` from that probe
  (``prober/worker.go:186-201``): 10 s with OpenELB's probe ``gobgp -p 50051 global``
  (``openelb.yaml:1180-1189``@v0.5.1, ``:1221-1229``@v0.6.0). The probe is run for real, on
  the speaker, at those moments;
- a pod is available once Ready for ``minReadySeconds`` (``pkg/api/v1/pod/util.go:283-294``);
- the DaemonSet controller (maxSurge 0, its default, ``pkg/apis/apps/v1/defaults.go:89-91``)
  deletes old available pods while fewer than ``maxUnavailable`` nodes lack an available new
  pod (``pkg/controller/daemon/update.go:70-129``; it walks a Go map, so its real order is
  random: the lab takes nodes by name), creates a node's new pod once the old one is gone
  (``daemon_controller.go:859-862``, ``update.go:271-275``) and looks again
  ``minReadySeconds + 1 s`` after a pod turns Ready (``daemon_controller.go:664-670``);
- the Deployment controller scales the new ReplicaSet up to ``replicas + maxSurge`` pods
  (``pkg/controller/deployment/util/deployment_util.go:817-836``; maxSurge defaults to 25%,
  rounded up, ``pkg/apis/apps/v1/defaults.go:59-62``, ``deployment_util.go:883-901``) and the old
  ones down while more than ``replicas - maxUnavailable`` pods are available
  (``pkg/controller/deployment/rolling.go:193-221``); the ReplicaSet deletes not-ready pods
  first, then the most recently ready (``pkg/controller/controller_utils.go:843-893``), and
  counts a pod available ``minReadySeconds`` after Ready (``replicaset/replica_set.go:558-560``).
  Where a new pod lands is the scheduler's choice: the lab puts it on a free node (one manager
  per node: the manifest's required pod anti-affinity, ``openelb.yaml:1147-1156``@v0.5.1) of the
  leaf with the fewest pods (the rack spread constraint, maxSkew 1), by name;
- a node that loses power turns NotReady ``node_monitor_grace_seconds`` later (50 s,
  ``pkg/controller/nodelifecycle/config/v1alpha1/defaults.go:45-46``; really between 40 and 55 s,
  as its last lease renewal falls up to 10 s before and the controller looks every 5 s).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

POD_START_SECONDS = 5.0
"""A replaced pod's container starts this long after the old one stopped (the Pod startup SLO,
above); ``--pod-start-seconds`` sets another."""
PROBE_PERIOD_SECONDS = 10.0
"""OpenELB's readiness probe ``periodSeconds`` (openelb.yaml:1188@v0.5.1, :1228@v0.6.0)."""
FIRST_PROBE_SECONDS = 1.0
"""kubelet sees a started container at its next PLEG relist (every 1 s, kubelet.go:215@v1.37.2)
and probes it at once (prober_manager.go:355-369@v1.37.2)."""
NODE_MONITOR_GRACE_SECONDS = 50.0
"""A silent node is NotReady after this (nodelifecycle defaults.go:45-46@v1.37.2)."""
DAEMONSET_REQUEUE_SECONDS = 1.0
"""The DaemonSet controller looks again ``minReadySeconds`` plus this after a pod turns Ready
(daemon_controller.go:664-670@v1.37.2: "Add a second to avoid milliseconds skew")."""
MAX_SKEW = 1
"""The 0.5 manager's rack spread constraint (``desired/workloads.py``, ``rack_spread``)."""
CONTROLLER_LOOP = 0.1
"""How often the lab's controllers look at the pods (a watch reacts within milliseconds)."""
ROLL_TIMEOUT = 1800.0
LONG_AGO = 86400.0


@dataclass(frozen=True)
class KubeTiming:
    """The timing a run uses; every default is cited above."""

    pod_start_seconds: float = POD_START_SECONDS
    probe_period_seconds: float = PROBE_PERIOD_SECONDS
    first_probe_seconds: float = FIRST_PROBE_SECONDS
    node_monitor_grace_seconds: float = NODE_MONITOR_GRACE_SECONDS

    def as_json(self) -> dict[str, float]:
        return {
            "podStartSeconds": self.pod_start_seconds,
            "readinessProbePeriodSeconds": self.probe_period_seconds,
            "firstProbeAfterSeconds": self.first_probe_seconds,
            "nodeMonitorGraceSeconds": self.node_monitor_grace_seconds,
        }


class SpeakerPods(Protocol):
    """What a pod's lifecycle does to its node's speaker (``speakers.py``)."""

    def start_pod(self, node: str) -> None: ...

    def stop_pod(self, node: str) -> None: ...

    def probe(self, node: str) -> bool: ...


Phase = Literal["pending", "starting", "running", "terminating"]


@dataclass
class Pod:
    name: str
    revision: int
    node: str | None
    phase: Phase
    created: float
    ready_at: float | None = None
    deleted: bool = False


@dataclass
class Workload:
    """The announcing workload's pods on the lab's nodes, driven as its controller drives them.

    ``kind``: DaemonSet (one pod per candidate node) or Deployment (``replicas`` pods placed on
    free candidate nodes). ``leaves``: leaf -> its candidate nodes, in order."""

    kind: Literal["Deployment", "DaemonSet"]
    pods_of: SpeakerPods
    leaves: Mapping[str, Sequence[str]]
    running: Sequence[str]
    """Nodes whose pod runs (Ready) when the lab starts."""
    min_ready_seconds: float
    max_unavailable: int
    max_surge: int
    timing: KubeTiming
    event: Callable[[str], None]
    replicas: int = 0
    pods: list[Pod] = field(default_factory=list)
    revision: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _count: int = 0

    def __post_init__(self) -> None:
        # The running pods have been available long since (as in a cluster before a change).
        long_ago = time.monotonic() - LONG_AGO
        for node in self.running:
            self.pods.append(Pod(self._name(), 0, node, "running", long_ago, ready_at=long_ago))
        self.replicas = len(self.running)

    def _name(self) -> str:
        self._count += 1
        return f"pod-{self._count}"

    # --- one pod's life ------------------------------------------------------------------

    def _spawn(self, action: Callable[[], None]) -> None:
        threading.Thread(target=action, daemon=True).start()

    def delete(self, pod: Pod) -> None:
        """The pod is deleted: its speaker stops (as the version does on SIGTERM), then it is
        gone and its node free."""
        pod.phase = "terminating"
        pod.deleted = True
        self.event(f"{pod.node}: pod deleted, speaker stopping")

        def stop() -> None:
            if pod.node is not None:
                self.pods_of.stop_pod(pod.node)
            with self._lock:
                self.pods.remove(pod)

        self._spawn(stop)

    def _run(self, pod: Pod, after: float) -> None:
        """The pod's container starts ``after`` seconds from now, then kubelet probes it."""
        assert pod.node is not None  # noqa: S101 - scheduled
        node = pod.node
        pod.phase = "starting"

        def life() -> None:
            time.sleep(after)
            if pod.deleted:
                return
            self.pods_of.start_pod(node)
            pod.phase = "running"
            self.event(f"{node}: new pod's container started")
            time.sleep(self.timing.first_probe_seconds)
            deadline = time.monotonic() + ROLL_TIMEOUT
            while not pod.deleted and time.monotonic() < deadline:
                if self.pods_of.probe(node):
                    pod.ready_at = time.monotonic()
                    self.event(f"{node}: readiness probe passed, pod Ready")
                    return
                time.sleep(self.timing.probe_period_seconds)

        self._spawn(life)

    def _available(self, pod: Pod, now: float) -> bool:
        """As the controller sees it: Ready for ``minReadySeconds``, noticed when it looks."""
        if pod.ready_at is None or pod.deleted:
            return False
        if self.min_ready_seconds == 0:
            return True
        delay = self.min_ready_seconds
        if self.kind == "DaemonSet":
            delay += DAEMONSET_REQUEUE_SECONDS
        return pod.ready_at + delay <= now

    # --- the controllers -------------------------------------------------------------------

    def _on(self, node: str) -> list[Pod]:
        return [p for p in self.pods if p.node == node]

    def _daemonset_step(self, now: float) -> bool:
        """One sync of the DaemonSet controller (maxSurge 0); True when the rollout is done."""
        unavailable = 0
        candidates: list[Pod] = []
        done = True
        for nodes in self.leaves.values():
            for node in nodes:
                pods = self._on(node)
                live = [p for p in pods if not p.deleted]
                new = [p for p in live if p.revision == self.revision]
                old = [p for p in live if p.revision != self.revision]
                if not pods:
                    # The old pod is gone: the manage loop creates the new one.
                    pod = Pod(self._name(), self.revision, node, "pending", now)
                    self.pods.append(pod)
                    self._run(pod, self.timing.pod_start_seconds)
                    unavailable += 1
                    done = False
                elif not live or (old and new):
                    unavailable += 1
                    done = False
                elif new:
                    if not self._available(new[0], now):
                        unavailable += 1
                        done = False
                else:
                    done = False
                    if self._available(old[0], now):
                        candidates.append(old[0])
                    else:
                        unavailable += 1
        for pod in candidates[: max(0, self.max_unavailable - unavailable)]:
            self.delete(pod)
        return done

    def _schedule(self, now: float) -> None:
        """Pending pods onto free nodes, as the scheduler's filters allow: one manager per node
        (the required pod anti-affinity; a node whose old pod still terminates holds its host
        ports) and the rack spread constraint, maxSkew 1 over the leaves, counting no
        terminating pod (podtopologyspread/filtering.go:346-360, common.go:150-154@v1.37.2).
        Among the nodes left, the leaf with the fewest pods, then by name (the scores')."""
        for pod in [p for p in self.pods if p.phase == "pending" and p.node is None]:
            taken = {p.node for p in self.pods if p.node is not None}
            counts = {
                leaf: sum(1 for p in self.pods if p.node in nodes and not p.deleted)
                for leaf, nodes in self.leaves.items()
            }
            low = min(counts.values(), default=0)
            free = [
                (counts[leaf], node)
                for leaf, nodes in self.leaves.items()
                if len(self.leaves) < 2 or counts[leaf] + 1 - low <= MAX_SKEW
                for node in nodes
                if node not in taken
            ]
            if not free:
                return
            _, node = min(free)
            pod.node = node
            # It starts pod_start_seconds after its creation if it found a node at once, else
            # after the node it waited for was freed (now).
            waited = now - pod.created > 2 * CONTROLLER_LOOP
            start = self.timing.pod_start_seconds
            self._run(pod, start if waited else max(0.0, pod.created + start - now))

    def _deployment_step(self, now: float) -> bool:
        """One sync of the Deployment controller (rolling update) and its ReplicaSets."""
        live = [p for p in self.pods if not p.deleted]
        new = [p for p in live if p.revision == self.revision]
        old = [p for p in live if p.revision != self.revision]
        if not old and len(new) == self.replicas and all(self._available(p, now) for p in new):
            return True
        # reconcileNewReplicaSet: up to replicas + maxSurge pods in all.
        grow = min(self.replicas + self.max_surge - len(live), self.replicas - len(new))
        for _ in range(max(0, grow)):
            self.pods.append(Pod(self._name(), self.revision, None, "pending", now))
        self._schedule(now)
        # reconcileOldReplicaSets: keep replicas - maxUnavailable available.
        live = [p for p in self.pods if not p.deleted]
        available = sum(1 for p in live if self._available(p, now))
        min_available = self.replicas - self.max_unavailable
        new_unavailable = sum(
            1 for p in live if p.revision == self.revision and not self._available(p, now)
        )
        old = [p for p in live if p.revision != self.revision]
        room = min(available - min_available, len(live) - min_available - new_unavailable)
        # The ReplicaSet deletes not-ready pods first, then the most recently ready.
        old.sort(key=lambda p: (p.ready_at is not None, -(p.ready_at or 0.0), p.node or ""))
        for pod in old[: max(0, room)]:
            self.delete(pod)
        return False

    def step(self, now: float) -> bool:
        with self._lock:
            if self.kind == "DaemonSet":
                return self._daemonset_step(now)
            return self._deployment_step(now)

    def roll(self, deadline: float = ROLL_TIMEOUT) -> None:
        """A pod-template change: every pod replaced as the controller does it; returns when
        every pod is new and available (or raises ``TimeoutError``)."""
        with self._lock:
            self.revision += 1
        self.event(
            f"rollout of the {self.kind}: maxUnavailable {self.max_unavailable}"
            + (f", maxSurge {self.max_surge}" if self.kind == "Deployment" else "")
            + f", minReadySeconds {self.min_ready_seconds:g}"
        )
        self.settle(deadline)

    def settle(self, deadline: float = ROLL_TIMEOUT) -> None:
        """Run the controller until every pod is current and available."""
        end = time.monotonic() + deadline
        while not self.step(time.monotonic()):
            if time.monotonic() > end:
                raise TimeoutError(f"the {self.kind} did not settle within {deadline:g} s")
            time.sleep(CONTROLLER_LOOP)

    def pod_ends(self, node: str) -> None:
        """The pod on ``node`` ends (deleted, evicted, crashed): its controller replaces it."""
        with self._lock:
            for pod in self._on(node):
                if not pod.deleted:
                    self.delete(pod)

    def wait_gone(self, timeout: float = 30.0) -> None:
        """Until every deleted pod has stopped."""
        end = time.monotonic() + timeout
        while any(p.deleted for p in self.pods) and time.monotonic() < end:
            time.sleep(CONTROLLER_LOOP)

    def recreate(self, nodes: Sequence[str]) -> None:
        """New pods on ``nodes`` at once (a scale back up), each starting after the pod start
        time."""
        now = time.monotonic()
        with self._lock:
            for node in nodes:
                pod = Pod(self._name(), self.revision, node, "pending", now)
                self.pods.append(pod)
                self._run(pod, self.timing.pod_start_seconds)

    def add_node(self, leaf: str, node: str) -> None:
        """A node joins a leaf: a DaemonSet starts a pod on it; a Deployment may place one."""
        with self._lock:
            self.leaves = {**self.leaves, leaf: [*self.leaves.get(leaf, ()), node]}

    @property
    def running_nodes(self) -> list[str]:
        return sorted(p.node for p in self.pods if p.node and p.phase == "running")


def max_surge_of(kind: str, replicas: int, value: int | str | None) -> int:
    """The rollout's maxSurge as the controllers resolve it: a DaemonSet's defaults to 0, a
    Deployment's to 25% of replicas, rounded up (defaults.go:59-62, 89-91;
    deployment_util.go:883-888@v1.37.2)."""
    if value is None:
        value = "25%" if kind == "Deployment" else 0
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)
