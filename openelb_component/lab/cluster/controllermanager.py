"""kube-controller-manager: Deployments make ReplicaSets, ReplicaSets and DaemonSets make pods,
Jobs complete, ServiceAccounts get their tokens' CA; the node lifecycle controller watches the
kwok nodes' leases as it would kubelets'.

It runs as ``system:kube-controller-manager`` (the bootstrap RBAC role of that name), each
controller with its own ServiceAccount's credentials; it signs service-account tokens with the
API server's key pair, serves /healthz on a free loopback port with a certificate of the run's
authority, and does not elect a leader (one instance).
"""

from __future__ import annotations

import ssl
from pathlib import Path

from openelb_component.lab.cluster import probes
from openelb_component.lab.cluster.pki import KeyPair
from openelb_component.lab.cluster.process import Served, serving_flags


class ControllerManager(Served):
    name = "kube-controller-manager"

    def __init__(
        self,
        binary: Path,
        log: Path,
        kubeconfig: Path,
        ca: KeyPair,
        serving: KeyPair,
        service_accounts: KeyPair,
        tls: ssl.SSLContext,
    ) -> None:
        super().__init__(log)
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.ca = ca
        self.serving = serving
        self.service_accounts = service_accounts
        self.tls = tls

    def argv(self, port: int) -> list[str]:
        return [
            str(self.binary),
            *serving_flags(self.kubeconfig, port, self.serving.cert, self.serving.key),
            # Each controller acts as its own ServiceAccount (kube-system/deployment-controller,
            # ...), whose bootstrap ClusterRoles grant what it does; the manager's own identity
            # only gets those accounts' tokens (as kubeadm runs it).
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={self.service_accounts.key}",
            f"--root-ca-file={self.ca.cert}",
            f"--cluster-signing-cert-file={self.ca.cert}",
            f"--cluster-signing-key-file={self.ca.key}",
        ]

    def ready(self, port: int) -> bool:
        return probes.https_ok(port, "/healthz", self.tls)
