"""A control plane to work with by hand, until Ctrl-C (or SIGTERM):

    python -m openelb_component.lab.cluster [--nodes 3] [--openelb 0.5|0.6]

prints ``export KUBECONFIG=...`` (the admin's) and the path of the real kubectl, keeps the
control plane up, and removes everything when stopped. Nodes are ``node-1``...``node-N`` with
InternalIPs 192.0.2.11 onwards.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from openelb_component.lab import gotools
from openelb_component.lab.cluster import ComponentError, ControlPlane, KubectlError, NodeSpec
from openelb_component.plan import upstream


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m openelb_component.lab.cluster")
    parser.add_argument("--nodes", type=int, default=3, choices=range(0, 101), metavar="N")
    parser.add_argument("--openelb", choices=sorted(upstream.RELEASES))
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with ControlPlane() as cluster:
            cluster.add_nodes(
                NodeSpec(f"node-{i}", f"192.0.2.{10 + i}") for i in range(1, args.nodes + 1)
            )
            if args.openelb:
                cluster.install_openelb(upstream.manifest_path(args.openelb))
            print(f"export KUBECONFIG={cluster.admin_kubeconfig}")
            print(f"# kubectl: {cluster.kubectl.binary}; logs in {cluster.folder}")
            print("# Ctrl-C stops the control plane and removes everything", flush=True)
            stop.wait()
    except (gotools.ToolUnavailable, ComponentError, KubectlError) as error:
        print(f"control plane: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
