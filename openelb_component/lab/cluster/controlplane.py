"""``ControlPlane``: a real Kubernetes control plane on loopback, for one test run.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, built from Go modules
(``make tools``; e2e/tools/{etcd,kubernetes,kwok}), started in that order, each waited for, and
stopped in reverse; the real kubectl of the same release to talk to it::

    with ControlPlane() as cluster:
        cluster.add_nodes([NodeSpec("worker-1", "192.0.2.11", {"rack": "a"})])
        cluster.install_openelb(upstream.manifest_path("0.5"))
        cluster.kubectl.run("get", "pods", "-A")
        kubeconfig = cluster.kubeconfig_for_service_account("openelb-ha", "deployer")

Everything lives in one folder, ``$TMPDIR/oecp<pid>-*`` (certificates, etcd's data, logs,
kubeconfigs), removed on exit and on failure. The daemons die with the thread that started
them (process.py), and the run keeps a record (lab/leftovers.py) of its processes and folder:
every start first removes what runs killed before their cleanup left
(``leftovers.cleanup_dead_runs``, also ``python -m openelb_component lab --cleanup``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from openelb_component.lab import gotools, leftovers
from openelb_component.lab.cluster import kubeconfig, probes
from openelb_component.lab.cluster.api import Api
from openelb_component.lab.cluster.apiserver import ApiServer
from openelb_component.lab.cluster.controllermanager import ControllerManager
from openelb_component.lab.cluster.etcd import Etcd
from openelb_component.lab.cluster.kubectl import Kubectl
from openelb_component.lab.cluster.kwok import Kwok, stage_files
from openelb_component.lab.cluster.nodes import KUBELET, NodeSpec
from openelb_component.lab.cluster.openelb import Installed, install
from openelb_component.lab.cluster.pki import Authority
from openelb_component.lab.cluster.process import Recorder
from openelb_component.lab.cluster.scheduler import Scheduler

NODE_READY_TIMEOUT = 60
TOKEN_DURATION = "2h"  # noqa: S105 - a lifetime, not a secret
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def binaries() -> dict[str, Path]:
    """Every binary the control plane runs; ``gotools.ToolUnavailable`` naming the build
    command when one is not built."""
    return {
        # go build names a /v3 package after the element before the version: etcd is "server".
        "etcd": gotools.binary("etcd", "server"),
        "kube-apiserver": gotools.binary("kubernetes", "kube-apiserver"),
        "kube-controller-manager": gotools.binary("kubernetes", "kube-controller-manager"),
        "kube-scheduler": gotools.binary("kubernetes", "kube-scheduler"),
        "kubectl": gotools.binary("kubernetes", "kubectl"),
        "kwok": gotools.binary("kwok", "kwok"),
    }


class ControlPlane:
    """A control plane for the ``with`` block (module docstring)."""

    def __init__(self, recorder: Recorder | None = None) -> None:
        """``recorder``: a run record to add this control plane's processes and folder to
        (a caller's own ``leftovers.Run``); by default the control plane keeps one of its own."""
        self._own_record: leftovers.Run | None = None
        self.recorder: Recorder | None = recorder
        self.cleanup: leftovers.Cleanup | None = None
        """What the start removed of earlier runs killed before they could clean up."""
        self.folder = Path()
        self.server = ""
        self.admin_kubeconfig = Path()
        self._components: list[Etcd | ApiServer | ControllerManager | Scheduler | Kwok] = []
        self._pki: Authority | None = None
        self._kubectl: Kubectl | None = None
        self._api: Api | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        tools = binaries()  # before anything is created: a missing tool leaves nothing behind
        stages = stage_files()
        self.cleanup = leftovers.cleanup_dead_runs()
        if self.recorder is None:
            self.recorder = self._own_record = leftovers.Run("controlplane")
        self.folder = Path(tempfile.mkdtemp(prefix=f"oecp{os.getpid()}-"))
        self.recorder.folder(self.folder)
        try:
            self._start(tools, stages)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _start(self, tools: dict[str, Path], stages: list[Path]) -> None:
        recorder = self._recorder()
        pki = self._pki = Authority(self.folder / "pki")
        serving = pki.serving("serving")
        service_accounts = pki.signing_key("service-accounts")
        admin = pki.client("admin", ("system:masters",))
        tls = probes.client_context(str(pki.ca.cert), str(admin.cert), str(admin.key))

        etcd = Etcd(tools["etcd"], self.folder / "etcd")
        self._components.append(etcd)
        etcd.start(recorder)
        apiserver = ApiServer(
            tools["kube-apiserver"],
            self.folder / "kube-apiserver",
            etcd.url,
            pki.ca.cert,
            serving,
            service_accounts,
            tls,
        )
        self._components.append(apiserver)
        apiserver.start(recorder)
        self.server = apiserver.url
        self._api = Api(apiserver.port, tls)
        self.admin_kubeconfig = self.kubeconfig_for_user("admin", ("system:masters",))
        self._kubectl = Kubectl(tools["kubectl"], self.admin_kubeconfig)

        manager = ControllerManager(
            tools["kube-controller-manager"],
            self.folder / "kube-controller-manager.log",
            self.kubeconfig_for_user("system:kube-controller-manager"),
            pki.ca,
            serving,
            service_accounts,
            tls,
        )
        self._components.append(manager)
        manager.start(recorder)
        scheduler = Scheduler(
            tools["kube-scheduler"],
            self.folder / "kube-scheduler.log",
            self.kubeconfig_for_user("system:kube-scheduler"),
            serving,
            tls,
        )
        self._components.append(scheduler)
        scheduler.start(recorder)
        kwok = Kwok(tools["kwok"], self.folder / "kwok", self.admin_kubeconfig, stages)
        self._components.append(kwok)
        kwok.start(recorder)

    def stop(self) -> None:
        """Stop every component (last started first) and remove the run's folder."""
        while self._components:
            self._components.pop().stop()
        if self.folder != Path() and self.folder.is_dir():
            shutil.rmtree(self.folder, ignore_errors=True)
            if not self.folder.exists():
                self._recorder().forget_folder(self.folder)
        if self._own_record is not None:
            self._own_record.close()  # the record goes when nothing is left in it
            self._own_record = None

    def _recorder(self) -> Recorder:
        if self.recorder is None:
            raise RuntimeError("the control plane is not started")
        return self.recorder

    # --- access ---------------------------------------------------------------------------

    @property
    def kubectl(self) -> Kubectl:
        """The real kubectl, as the cluster's admin (``system:masters``)."""
        if self._kubectl is None:
            raise RuntimeError("the control plane is not started")
        return self._kubectl

    @property
    def api(self) -> Api:
        """The API server's REST interface, as the admin (api.py)."""
        if self._api is None:
            raise RuntimeError("the control plane is not started")
        return self._api

    def _authority(self) -> Authority:
        if self._pki is None:
            raise RuntimeError("the control plane is not started")
        return self._pki

    def kubeconfig_for_user(self, user: str, groups: Sequence[str] = ()) -> Path:
        """A kubeconfig authenticating as ``user`` in ``groups`` (a client certificate)."""
        pair = self._authority().client(user, tuple(groups))
        document = kubeconfig.document(
            self.server, self._authority().ca.cert, user, cert=pair.cert, key=pair.key
        )
        return kubeconfig.write(pair.cert.with_suffix(".kubeconfig"), document)

    def kubeconfig_for_service_account(
        self, namespace: str, name: str, duration: str = TOKEN_DURATION
    ) -> Path:
        """A kubeconfig with a token of the ServiceAccount ``namespace/name`` (which must
        exist): ``kubectl create token``, the TokenRequest API."""
        for value in (namespace, name):
            if _DNS_LABEL.fullmatch(value) is None:
                raise ValueError(f"{value!r} is not a namespace or ServiceAccount name")
        token = self.kubectl.run(
            "create", "token", name, "-n", namespace, f"--duration={duration}"
        ).stdout.strip()
        user = f"system:serviceaccount:{namespace}:{name}"
        document = kubeconfig.document(self.server, self._authority().ca.cert, user, token=token)
        return kubeconfig.write(self.folder / f"sa-{namespace}-{name}.kubeconfig", document)

    # --- the cluster's contents -----------------------------------------------------------

    def add_nodes(self, nodes: Iterable[NodeSpec], timeout: int = NODE_READY_TIMEOUT) -> None:
        """Register Nodes as their kubelets would (nodes.py) and wait until kwok made each
        Ready."""
        specs = list(nodes)
        if not specs:
            return
        document = {"apiVersion": "v1", "kind": "List", "items": [n.manifest() for n in specs]}
        self.kubectl.run(
            "create", "-f", "-", f"--field-manager={KUBELET}", stdin=json.dumps(document)
        )
        self.kubectl.run(
            "wait",
            "--for=condition=Ready",
            *(f"node/{spec.name}" for spec in specs),
            f"--timeout={timeout}s",
            timeout=timeout + 30,
        )

    def remove_nodes(self, names: Iterable[str]) -> None:
        """Delete Nodes (their pods go with them: the pod garbage collector removes pods bound
        to a node that no longer exists)."""
        targets = [f"node/{name}" for name in names]
        if targets:
            self.kubectl.run("delete", *targets, "--wait=true")

    def install_openelb(self, manifest: Path) -> Installed:
        """OpenELB's upstream manifest with ``kubectl apply`` (openelb.py says what differs)."""
        return install(self.kubectl, manifest)
