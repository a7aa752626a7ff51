"""What every real OpenELB process in a node namespace shares: how it is started there.

A pod of the upstream manifests runs with ``hostNetwork: true`` and the environment
``OPENELB_NAMESPACE`` and ``NODE_NAME`` from the downward API (openelb.yaml:1164-1172@v0.5.1,
:1200-1208@v0.6.0). Here the node's network namespace stands in for the host's network, and the
kubeconfig of the pod's ServiceAccount (a token from the TokenRequest API) for the in-cluster
configuration: controller-runtime reads ``KUBECONFIG`` before it tries the in-cluster one
(pkg/client/config/config.go:59-79@v0.6.0 and :71-91@v0.17.2 of controller-runtime, the
versions go.mod:36 pins at both tags). ``TMPDIR`` is the process's own folder, so nothing it
writes under the temporary directory meets another run's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from openelb_component.lab.cluster.process import Daemon, Recorder

NAMESPACE = "openelb-system"
"""The namespace of the upstream manifests' workloads (``OPENELB_NAMESPACE``)."""


def in_namespace(namespace: str | None, argv: Sequence[str]) -> list[str]:
    """``argv`` run inside the network namespace ``namespace`` (None: this one)."""
    return list(argv) if namespace is None else ["ip", "netns", "exec", namespace, *argv]


def environment(node: str | None, kubeconfig: Path, folder: Path) -> Mapping[str, str]:
    env = {
        "OPENELB_NAMESPACE": NAMESPACE,
        "KUBECONFIG": str(kubeconfig),
        "TMPDIR": str(folder),
        "HOME": str(folder),
    }
    if node is not None:
        env["NODE_NAME"] = node
    return env


def process(
    title: str,
    argv: Sequence[str],
    namespace: str,
    node_name: str | None,
    kubeconfig: Path,
    log: Path,
    recorder: Recorder,
) -> Daemon:
    """``argv`` as a pod of ``node_name`` (None: a Deployment's pod bound to no lab node) runs it,
    in ``namespace``, with the pod's environment; its folder is ``log``'s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return Daemon(
        title,
        in_namespace(namespace, argv),
        log,
        recorder,
        environment(node_name, kubeconfig, log.parent),
    )
