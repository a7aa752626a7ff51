"""kube-scheduler: binds pods to the kwok nodes with the real filters and scores, so a stack's
node affinity, anti-affinity, topology spread and nodeSelector are judged as in a cluster (a
pod nothing can take stays Pending, with the scheduler's reasons in its events).

Runs as ``system:kube-scheduler``, serves /healthz on a free loopback port with a certificate of
the run's authority, no leader election (one instance).
"""

from __future__ import annotations

import ssl
from pathlib import Path

from openelb_component.lab.cluster import probes
from openelb_component.lab.cluster.pki import KeyPair
from openelb_component.lab.cluster.process import Served, serving_flags


class Scheduler(Served):
    name = "kube-scheduler"

    def __init__(
        self, binary: Path, log: Path, kubeconfig: Path, serving: KeyPair, tls: ssl.SSLContext
    ) -> None:
        super().__init__(log)
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.serving = serving
        self.tls = tls

    def argv(self, port: int) -> list[str]:
        flags = serving_flags(self.kubeconfig, port, self.serving.cert, self.serving.key)
        return [str(self.binary), *flags]

    def ready(self, port: int) -> bool:
        return probes.https_ok(port, "/healthz", self.tls)
