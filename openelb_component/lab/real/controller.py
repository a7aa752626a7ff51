"""OpenELB 0.6's controller (``cmd/controller``): IPAM and the Service reconciler.

It runs in a network namespace of its own (only loopback, plus the API link), because its
webhook server listens on every address of its network (controller-runtime's default host;
pkg/manager/generic.go:47-58@v0.6.0 sets only the port and folder) and this lab listens on no
host address. Arguments as the Deployment passes them (openelb.yaml:1120-1123@v0.6.0), with one
exception: ``--leader-elect=false``. controller-runtime's leader election needs the namespace of
the Lease, and out of a cluster it finds none ("not running in-cluster, please specify
LeaderElectionNamespace": pkg/leaderelection/leader_election.go:73-79 and 112-117 of
controller-runtime v0.17.2), which OpenELB has no flag for (pkg/manager/generic.go:39-45@v0.6.0). So
the lab runs one controller, as the manifest's default one replica; the stack's
``controllerReplicas`` do not act on BGP (the controller assigns addresses; the speakers
announce them).
"""

from __future__ import annotations

from pathlib import Path

from openelb_component.lab.cluster.process import Daemon, Recorder
from openelb_component.lab.real import node, webhook

METRICS_PORT = 50052
WEBHOOK_PORT = 9443


def controller(
    binary: Path,
    namespace: str,
    kubeconfig: Path,
    folder: Path,
    recorder: Recorder,
) -> Daemon:
    folder.mkdir(parents=True, exist_ok=True)
    certs = webhook.certificate_folder(folder)
    argv = [
        str(binary),
        f"--metrics-addr=127.0.0.1:{METRICS_PORT}",
        f"--webhook-port={WEBHOOK_PORT}",
        f"--webhook-cert-dir={certs}",
        "--leader-elect=false",
    ]
    log = folder / "controller.log"
    return node.process("openelb-controller", argv, namespace, None, kubeconfig, log, recorder)
