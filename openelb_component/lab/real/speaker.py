"""OpenELB 0.6's speaker (``cmd/speaker``), one process per node, in the node's namespace.

Arguments as the DaemonSet passes them (openelb.yaml:1194-1197@v0.6.0): ``--api-hosts`` (GoBGP's
gRPC listener, here on the namespace's loopback), ``--enable-keepalived-vip=false
--enable-layer2=false``; ``--metrics-addr`` moves the metrics listener (default ``:50053``,
cmd/speaker/app/options/options.go:21-27@v0.6.0) to loopback too. The speaker needs no leader
election and no webhook: it is a controller-runtime manager with the BgpConf, BgpPeer, Service
and Eip reconcilers (cmd/speaker/app/speaker.go:87-157@v0.6.0).

Readiness is the DaemonSet's probe, ``gobgp -p 50051 global`` every 10 s
(openelb.yaml:1219-1229@v0.6.0), run by the caller's prober.
"""

from __future__ import annotations

from pathlib import Path

from openelb_component.lab.cluster.process import Daemon, Recorder
from openelb_component.lab.real import node

GRPC_PORT = 50051
METRICS_PORT = 50053


def speaker(
    binary: Path,
    node_name: str,
    namespace: str,
    kubeconfig: Path,
    folder: Path,
    recorder: Recorder,
) -> Daemon:
    argv = [
        str(binary),
        f"--api-hosts=127.0.0.1:{GRPC_PORT}",
        "--enable-keepalived-vip=false",
        "--enable-layer2=false",
        f"--metrics-addr=127.0.0.1:{METRICS_PORT}",
    ]
    title = f"openelb-speaker on {node_name}"
    log = folder / "speaker.log"
    return node.process(title, argv, namespace, node_name, kubeconfig, log, recorder)
