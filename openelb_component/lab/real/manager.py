"""OpenELB 0.5's manager (``cmd/manager``), one replica per node, in the node's namespace.

Arguments as the Deployment passes them (openelb.yaml:1158-1161@v0.5.1): ``--api-hosts``,
``--metrics-addr``, ``--webhook-port``; here all on the namespace's own loopback or ports. Every
replica runs every controller (IPAM, BgpConf, BgpPeer, Service) and a BGP speaker: the manager
has no controller-runtime leader election (pkg/manager/generic.go:37-51@v0.5.1 sets none), and
its own Lease ``openelb-speaker`` only decides which replica answers ARP in Layer 2 mode
(pkg/leader-elector/election.go@v0.5.1, called at cmd/manager/app/manager.go:117@v0.5.1). It
starts the admission webhook server (cmd/manager/app/manager.go:141-145@v0.5.1), whose
certificate it reads from ``$TMPDIR/k8s-webhook-server/serving-certs`` (controller-runtime
v0.6.0, pkg/webhook/server.go:91-92; 0.5.1 sets no folder): ``webhook.certificate_folder``.

Readiness is the Deployment's probe, ``gobgp -p 50051 global`` every 10 s
(openelb.yaml:1180-1189@v0.5.1), run by the caller's prober.
"""

from __future__ import annotations

from pathlib import Path

from openelb_component.lab.cluster.process import Daemon, Recorder
from openelb_component.lab.real import node, webhook

GRPC_PORT = 50051
METRICS_PORT = 50052
WEBHOOK_PORT = 443


def manager(
    binary: Path,
    node_name: str,
    namespace: str,
    kubeconfig: Path,
    folder: Path,
    recorder: Recorder,
) -> Daemon:
    folder.mkdir(parents=True, exist_ok=True)
    certs = webhook.certificate_folder(folder)
    expected = folder / "k8s-webhook-server" / "serving-certs"
    expected.parent.mkdir(parents=True, exist_ok=True)
    if not expected.exists():
        expected.symlink_to(certs)
    argv = [
        str(binary),
        f"--api-hosts=127.0.0.1:{GRPC_PORT}",
        f"--metrics-addr=127.0.0.1:{METRICS_PORT}",
        f"--webhook-port={WEBHOOK_PORT}",
    ]
    title = f"openelb-manager on {node_name}"
    log = folder / "manager.log"
    return node.process(title, argv, namespace, node_name, kubeconfig, log, recorder)
