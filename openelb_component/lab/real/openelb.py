"""``RealOpenElb``: OpenELB's own binaries for one lab run, against a real control plane.

In order (``start``): a control plane (``lab/cluster``) with one Node per lab node (its lab
address as InternalIP); OpenELB installed from the upstream manifest with ``kubectl apply``; the
stack applied by the kubectl runbook the plan prints (``plan/runbook.py``: the same objects, in
the same order, as ``pulumi up``), for the lab's state (BgpPeers pointing at the lab's routers,
the lab's passwords); per ``eips`` range an Eip and a LoadBalancer Service on kwok pods
(``services``). With 0.6 the controller then runs in a namespace of its own and assigns the
Services their addresses. The speakers (0.6) or manager replicas (0.5) are started and stopped
by the scenario, one per node, in the node's namespace (``start_speaker``), each reaching the API
server over the loopback link of ``apilink``, as its pod's ServiceAccount.

``close`` stops every process this object started and the control plane, and removes their
folders and namespaces; the run's record (``leftovers``) has each of them until then.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from openelb_component.config.models import StackConfig
from openelb_component.desired import DesiredState
from openelb_component.lab import gotools
from openelb_component.lab.cluster.controlplane import ControlPlane
from openelb_component.lab.cluster.nodes import NodeSpec
from openelb_component.lab.cluster.process import Daemon
from openelb_component.lab.fabric import LabUnavailable
from openelb_component.lab.leftovers import Run, remove_namespace
from openelb_component.lab.real import controller, manager, node, services, speaker
from openelb_component.lab.real.binaries import Binaries
from openelb_component.lab.real.pod import Pod
from openelb_component.plan import upstream
from openelb_component.plan.build import Plan
from openelb_component.plan.checks import verify
from openelb_component.plan.runbook import CONFIRM_VARIABLE, render_kubectl, secret_variables
from openelb_component.plan.sources import upstream_sources

SERVICE_ACCOUNTS = {"0.5": "openelb-admission", "0.6": "openelb-speaker"}
"""The ServiceAccount each release's speaker pods run as (openelb.yaml:1210@v0.5.1,
:1249@v0.6.0)."""
CONTROLLER_ACCOUNT = "openelb-controller"  # openelb.yaml:1155@v0.6.0
PROBE_TIMEOUT = 1.0
"""The readiness probe's ``timeoutSeconds`` (openelb.yaml:1188@v0.5.1, :1228@v0.6.0)."""
START_TIMEOUT = 60.0
ADDRESS_TIMEOUT = 120.0
LINK_TIMEOUT = 10.0
RUNBOOK_TIMEOUT = 600.0
SPEC_TIMEOUT = 120.0


class RealOpenElbError(LabUnavailable):
    """The real OpenELB could not be set up: the message says which step and why."""


@dataclass(frozen=True)
class LabNodeSpec:
    """A lab node as the real OpenELB needs it."""

    name: str
    address: str
    namespace: str | None
    """Its network namespace when it runs a speaker, else None (a Node with no speaker)."""


class RealOpenElb:
    def __init__(
        self,
        binaries: Binaries,
        nodes: Sequence[LabNodeSpec],
        record: Run,
        folder: Path,
        prefix: str,
    ) -> None:
        self.binaries = binaries
        self.version = binaries.version
        self.nodes = {spec.name: spec for spec in nodes}
        self.record = record
        self.folder = folder
        self.prefix = prefix
        self.cluster = ControlPlane(record)
        self.speakers: dict[str, Pod] = {}
        self.stopped: list[Pod] = []
        """Pods stopped during the run, for their events."""
        self.links: dict[str, Daemon] = {}
        self.controller: Daemon | None = None
        self.controller_namespace = f"{prefix}-ctl"
        self._namespaces: list[str] = []
        self._kubeconfig = Path()
        self._started = False
        self._epoch = time.monotonic()
        # Every process is started from this one thread, alive for the whole run: a process
        # gets SIGTERM when the thread that started it ends (cluster/process.py, PR_SET_PDEATHSIG),
        # and the lab starts speakers from short-lived worker threads.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="real-openelb")
        self.gobgp = gotools.binary("gobgp-v2", "gobgp")

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> RealOpenElb:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(
        self,
        stack: str,
        config: StackConfig,
        state: DesiredState,
        passwords: Mapping[str, str],
        eip_ranges: Sequence[str],
        addresses: Sequence[str],
    ) -> None:
        """Control plane, OpenELB's objects, the stack, the Services; with 0.6 the controller,
        until every Service has its address. No speaker runs yet. ``RealOpenElbError`` names
        the step that failed."""
        try:
            self._start(stack, config, state, passwords, eip_ranges, addresses)
        except (RealOpenElbError, KeyboardInterrupt):
            raise
        except Exception as error:  # the control plane's, kubectl's, openssl's own errors
            raise RealOpenElbError(f"real OpenELB could not be set up: {error}") from error

    def _start(
        self,
        stack: str,
        config: StackConfig,
        state: DesiredState,
        passwords: Mapping[str, str],
        eip_ranges: Sequence[str],
        addresses: Sequence[str],
    ) -> None:
        self.cluster.__enter__()
        self._started = True
        self.cluster.add_nodes(NodeSpec(spec.name, spec.address) for spec in self.nodes.values())
        self.cluster.install_openelb(upstream.manifest_path(self.version))
        self.apply_state(stack, config, state, passwords)
        for document in services.manifests(eip_ranges, addresses):
            self.cluster.kubectl.apply_json(document, "--server-side", "--field-manager=lab")
        self._kubeconfig = self.cluster.kubeconfig_for_service_account(
            node.NAMESPACE, SERVICE_ACCOUNTS[self.version]
        )
        if self.version == "0.6":
            self._start_controller()
            self.wait_addresses(len(eip_ranges))

    def close(self) -> None:
        for pod in self.speakers.values():
            pod.stop()
        for daemon in self.links.values():
            daemon.stop()
        if self.controller is not None:
            self.controller.stop()
        self.speakers.clear()
        self.links.clear()
        for namespace in self._namespaces:
            remove_namespace(namespace)
            self.record.forget_namespace(namespace)
        self._namespaces.clear()
        if self._started:
            self.cluster.stop()
            self._started = False
        self._spawner.shutdown(wait=True)

    def _spawn(self, daemon: Daemon) -> None:
        self._spawner.submit(daemon.start).result()

    # --- the cluster's contents ------------------------------------------------------------

    def apply_state(
        self, stack: str, config: StackConfig, state: DesiredState, passwords: Mapping[str, str]
    ) -> None:
        """The stack's objects, applied by the plan's kubectl runbook (``sh runbook apply``)."""
        plan = Plan(stack, config, state, verify(state, upstream_sources(self.version, {})))
        folder = self.folder / f"runbook-{time.monotonic_ns()}"
        folder.mkdir(parents=True)
        script = folder / "runbook.sh"
        script.write_text(render_kubectl(plan))
        kubectl = self.cluster.kubectl
        names = {name for obj in state.objects for name in obj.secrets.values()}
        env = {
            "PATH": f"{kubectl.binary.parent}:/usr/bin:/bin",
            "HOME": str(folder),
            **kubectl.env(),
            **{variable: passwords[name] for name, variable in secret_variables(names).items()},
            # The operator's consent to a BgpConf write (the lab's scenarios are that consent).
            CONFIRM_VARIABLE: "yes",
        }
        done = subprocess.run(
            ["sh", str(script), "apply"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUNBOOK_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RealOpenElbError(
                f"the runbook's apply failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
            )

    def wait_spec(self, resource: str, name: str, spec: Mapping[str, object]) -> bool:
        """Until the cluster's ``resource``/``name`` has ``spec`` (every field of it), or
        ``SPEC_TIMEOUT``: a runbook running beside the scenario has written it."""
        deadline = time.monotonic() + SPEC_TIMEOUT
        while time.monotonic() < deadline:
            done = self.cluster.kubectl.run("get", resource, name, "-o", "json", check=False)
            if done.returncode == 0 and _contains(json.loads(done.stdout).get("spec"), spec):
                return True
            time.sleep(0.2)
        return False

    def service_addresses(self) -> dict[str, list[str]]:
        """Service name -> the addresses in its ``status.loadBalancer.ingress``."""
        listed = self.cluster.kubectl.json("get", "services", "-n", services.NAMESPACE)
        return {
            item["metadata"]["name"]: [
                entry.get("ip", "")
                for entry in ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress")
                or []
            ]
            for item in listed["items"]
            if item["spec"].get("type") == "LoadBalancer"
        }

    def bgp_peer_statuses(self) -> dict[str, dict[str, Any]]:
        """BgpPeer name -> its ``status`` as the speakers wrote it (each speaker its own
        ``nodesPeerStatus`` entry: pkg/speaker/bgp/peers.go:31-62@v0.5.1,
        pkg/speaker/bgp/bgp/peers.go:31-62@v0.6.0)."""
        listed = self.cluster.kubectl.json("get", "bgppeers.network.kubesphere.io")
        return {item["metadata"]["name"]: item.get("status") or {} for item in listed["items"]}

    def wait_addresses(self, count: int, timeout: float = ADDRESS_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            given = [name for name, ips in self.service_addresses().items() if ips]
            if len(given) >= count:
                return
            if time.monotonic() > deadline:
                raise RealOpenElbError(
                    f"OpenELB gave {len(given)} of {count} Services an address in "
                    f"{timeout:.0f} s; see {self.folder}"
                )
            time.sleep(0.5)

    def set_not_ready(self, names: Sequence[str]) -> None:
        """What the node lifecycle controller writes when a node stops renewing its Lease:
        ``Ready`` Unknown, "Kubelet stopped posting node status."
        (pkg/controller/nodelifecycle/node_lifecycle_controller.go:1020-1023@v1.37.2). kwok
        renews every Lease of this control plane, so the lab writes it, at the modelled moment;
        kwok's
        heartbeat then leaves the Node alone (it only acts on Ready nodes,
        node-heartbeat-with-lease.yaml@v0.8.0)."""
        for name in names:
            condition = {
                "type": "Ready",
                "status": "Unknown",
                "reason": "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status.",
            }
            patch = {"status": {"conditions": [condition]}}
            self.cluster.kubectl.run(
                "patch",
                "node",
                name,
                "--subresource=status",
                "--type=strategic",
                "-p",
                json.dumps(patch),
            )

    # --- processes -------------------------------------------------------------------------

    def _own_namespace(self, name: str) -> None:
        self.record.namespace(name)
        subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
        self._namespaces.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)

    def _link(self, namespace: str) -> None:
        """The namespace's loopback link to the API server (``apilink``), once."""
        if namespace in self.links and self.links[namespace].running:
            return
        port = int(self.cluster.server.rsplit(":", 1)[1])
        log = self.folder / f"apilink-{namespace}.log"
        daemon = Daemon(
            f"API link into {namespace}",
            [sys.executable, "-m", "openelb_component.lab.real.apilink", str(port), namespace],
            log,
            self.record,
            {"PYTHONPATH": str(Path(__file__).resolve().parents[3])},
        )
        self._spawn(daemon)
        daemon.wait_ready(lambda: log.exists() and "ready" in log.read_text(), LINK_TIMEOUT)
        self.links[namespace] = daemon

    def _start_controller(self) -> None:
        self._own_namespace(self.controller_namespace)
        self._link(self.controller_namespace)
        kubeconfig = self.cluster.kubeconfig_for_service_account(node.NAMESPACE, CONTROLLER_ACCOUNT)
        self.controller = controller.controller(
            self.binaries.path("controller"),
            self.controller_namespace,
            kubeconfig,
            self.folder / "controller",
            self.record,
        )
        self._spawn(self.controller)

    def start_speaker(self, name: str) -> None:
        """The node's speaker (0.6) or manager replica (0.5) pod, as the kubelet runs it."""
        spec = self.nodes[name]
        if spec.namespace is None:
            raise RealOpenElbError(f"node {name} runs no speaker in this lab")
        namespace = spec.namespace
        self._link(namespace)
        folder = self.folder / f"node-{name}"
        make = speaker.speaker if self.version == "0.6" else manager.manager
        binary = self.binaries.path("speaker" if self.version == "0.6" else "manager")
        pod = Pod(
            name,
            lambda: make(binary, name, namespace, self._kubeconfig, folder, self.record),
            self._spawn,
        )
        pod.start()
        self.speakers[name] = pod

    def stop_speaker(self, name: str, graceful: bool = True) -> None:
        """The pod stops: SIGTERM (the kubelet's stop), or SIGKILL."""
        pod = self.speakers.pop(name, None)
        if pod is not None:
            pod.stop(graceful)
            self.stopped.append(pod)

    def freeze_speaker(self, name: str) -> None:
        """A power loss: the process stops dead (SIGSTOP), nothing is sent."""
        pod = self.speakers.get(name)
        if pod is not None and pod.daemon is not None and pod.daemon.popen is not None:
            os.kill(pod.daemon.popen.pid, signal.SIGSTOP)

    def running(self, name: str) -> bool:
        pod = self.speakers.get(name)
        return pod is not None and pod.running

    def ready(self, name: str) -> bool:
        """The pod's readiness probe: ``gobgp -p 50051 global`` answers within 1 s."""
        spec = self.nodes[name]
        if spec.namespace is None or not self.running(name):
            return False
        argv = node.in_namespace(spec.namespace, [str(self.gobgp), "-p", "50051", "global"])
        try:
            done = subprocess.run(argv, capture_output=True, timeout=PROBE_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def announced(self, name: str) -> int | None:
        """How many paths the node's speaker holds in its RIB to announce (``gobgp global rib``),
        None when it does not answer. A speaker whose sessions are up can hold none: the
        routers then see the rack's next hops only from the other speakers."""
        spec = self.nodes[name]
        if spec.namespace is None or not self.running(name):
            return None
        argv = node.in_namespace(
            spec.namespace, [str(self.gobgp), "-p", "50051", "global", "rib", "-a", "ipv4", "-j"]
        )
        try:
            done = subprocess.run(argv, capture_output=True, timeout=5, check=False, text=True)
        except subprocess.TimeoutExpired:
            return None
        if done.returncode != 0:
            return None
        table = json.loads(done.stdout or "{}") or {}
        return sum(len(paths) for paths in table.values())

    def wait_ready(self, name: str, timeout: float = START_TIMEOUT) -> None:
        """Until the probe passes (a container that exits meanwhile is restarted by its pod)."""
        deadline = time.monotonic() + timeout
        while not self.ready(name):
            if name not in self.speakers:
                raise RealOpenElbError(f"the speaker pod of {name} is gone")
            if time.monotonic() > deadline:
                pod = self.speakers[name]
                tail = pod.daemon.tail() if pod.daemon is not None else ""
                raise RealOpenElbError(f"{name}: not ready after {timeout:.0f} s:\n{tail}")
            time.sleep(0.1)

    def pod_events(self) -> dict[str, list[str]]:
        """Per node, what its pods did (started, exited N, stopped), seconds since ``since``."""
        out: dict[str, list[str]] = {}
        for pod in [*self.stopped, *self.speakers.values()]:
            out.setdefault(pod.name, []).extend(
                f"{event.what} at {event.at - self._epoch:.1f} s" for event in pod.events
            )
        return out


def _contains(live: object, wanted: object) -> bool:
    """``wanted`` is ``live`` or inside it (maps compared key by key, the rest by value)."""
    if isinstance(wanted, Mapping):
        return isinstance(live, Mapping) and all(
            _contains(live.get(key), value) for key, value in wanted.items()
        )
    return live == wanted


def lab_nodes(entries: Iterable[tuple[str, str, str | None]]) -> list[LabNodeSpec]:
    return [LabNodeSpec(name, address, namespace) for name, address, namespace in entries]
