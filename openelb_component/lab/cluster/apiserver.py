"""kube-apiserver on 127.0.0.1, backed by the run's etcd, with RBAC and service accounts.

Flags, and why (cmd/kube-apiserver/app/options@v1.37.2 for each):

- ``--client-ca-file``: client certificates of the run's authority authenticate (the admin is
  ``admin`` in ``system:masters``; each component has its ``system:`` identity);
- ``--authorization-mode=Node,RBAC``: as a real cluster, so a ServiceAccount or user of a test
  gets exactly what its Roles grant (deploy/rbac.yaml is checked against this);
- ``--service-account-*``: tokens for ServiceAccounts (``kubectl create token``), signed by the
  run's key; the controller manager signs with the same key;
- ``--service-cluster-ip-range``: a documentation range (198.51.100.0/25): nothing here dials a
  ClusterIP, and if anything ever did, no real network is behind it;
- ``--allow-privileged``: OpenELB's speaker runs privileged;
- ``--endpoint-reconciler-type=none``: the ``kubernetes`` Service's endpoints would be
  127.0.0.1, which Endpoints validation refuses (loopback), logging an error every 10 s.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from openelb_component.lab.cluster import probes
from openelb_component.lab.cluster.pki import KeyPair
from openelb_component.lab.cluster.process import Recorder, Served

SERVICE_CIDR = "198.51.100.0/25"


class ApiServer(Served):
    name = "kube-apiserver"
    start_timeout = 120.0

    def __init__(
        self,
        binary: Path,
        folder: Path,
        etcd_url: str,
        ca: Path,
        serving: KeyPair,
        service_accounts: KeyPair,
        admin_tls: ssl.SSLContext,
        service_cidr: str = SERVICE_CIDR,
    ) -> None:
        super().__init__(folder.parent / "kube-apiserver.log")
        self.binary = binary
        self.folder = folder
        self.etcd_url = etcd_url
        self.ca = ca
        self.serving = serving
        self.service_accounts = service_accounts
        self.admin_tls = admin_tls
        self.service_cidr = service_cidr

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def argv(self, port: int) -> list[str]:
        return [
            str(self.binary),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.folder}",
            f"--tls-cert-file={self.serving.cert}",
            f"--tls-private-key-file={self.serving.key}",
            f"--client-ca-file={self.ca}",
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self.service_accounts.cert}",
            f"--service-account-signing-key-file={self.service_accounts.key}",
            f"--service-cluster-ip-range={self.service_cidr}",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]

    def ready(self, port: int) -> bool:
        # /readyz is 200 once etcd answers and the post-start hooks ran (the bootstrap RBAC
        # roles, the system namespaces, the priority classes).
        return probes.https_ok(port, "/readyz", self.admin_tls)

    def start(self, recorder: Recorder) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        super().start(recorder)
