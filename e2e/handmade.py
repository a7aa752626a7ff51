"""A cluster configured by hand with OpenELB's guide, before the project takes it over.

The steps of OpenELB's "Configure Multiple OpenELB Replicas" and BGP guides, as an admin runs
them with kubectl (each write under kubectl's own field manager, so the managedFields look like
a real cluster's):

- ``kubectl label node`` on every listed node: ``lb.kubesphere.io/v1alpha1=openelb`` and, per
  leaf, ``openelb.kubesphere.io/rack=<leaf>`` (manager ``kubectl-label``);
- the workload scaled (``kubectl scale``) and its nodeSelector edited to the label
  (``kubectl patch``, manager ``kubectl-patch``), then ``kubectl rollout status`` until the
  edit has rolled out;
- a ``BgpConf default`` and a BgpPeer applied from files (``kubectl apply``, manager
  ``kubectl-client-side-apply``); the BgpPeer carries a password, which ``kubectl apply`` copies
  into the ``last-applied-configuration`` annotation.

The values are the guide's examples where the stack does not decide them (the BgpConf's ASN
50000 and router ID), so adopting them is a real take-over, not a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from e2e.variants import HAND_MADE_PEER, first_peered_leaf, leaves, openelb_version

HA_LABEL = "lb.kubesphere.io/v1alpha1"
RACK_LABEL = "openelb.kubesphere.io/rack"
HAND_MADE_PASSWORD = "guide-example-password"  # noqa: S105 - a test value, looked for later
GUIDE_BGP_CONF = {"as": 50000, "listenPort": 17900, "routerId": "192.0.2.100"}
"""The guide's example BgpConf, with a documentation-range router ID."""
UNROUTED_PEER = "203.0.113.254"
"""The hand-made BgpPeer's router when the stack has none (documentation range)."""


class Kubectl(Protocol):
    def run(self, *args: str, stdin: str | None = None, timeout: float = ...) -> Any: ...


def workloads(config: Mapping[str, Any], namespace: str) -> list[tuple[str, str]]:
    """(kind/name, namespace) of the workloads the guide edits, by OpenELB version."""
    if openelb_version(config) == "0.6":
        return [
            ("daemonset/openelb-speaker", namespace),
            ("deployment/openelb-controller", namespace),
        ]
    return [("deployment/openelb-manager", namespace)]


def configure_by_hand(kubectl: Kubectl, config: Mapping[str, Any], namespace: str) -> None:
    for leaf in leaves(config):
        for node in leaf.nodes:
            labels = [f"{HA_LABEL}=openelb"]
            if leaf.name is not None:
                labels.append(f"{RACK_LABEL}={leaf.name}")
            kubectl.run("label", "--overwrite", "node", node, *labels)
    selector = {"spec": {"template": {"spec": {"nodeSelector": {HA_LABEL: "openelb"}}}}}
    listed = sum(len(leaf.nodes) for leaf in leaves(config))
    for workload, ns in workloads(config, namespace):
        kubectl.run("patch", workload, "-n", ns, "--type=strategic", "-p", json.dumps(selector))
        if workload.startswith("deployment/"):
            kubectl.run("scale", workload, "-n", ns, f"--replicas={min(listed, 2)}")
    for workload, ns in workloads(config, namespace):
        # As the guide's admin checks the pods before going on: the controllers' own writes
        # after the edit (the Deployment's revision annotation, the status counts) are over
        # before the project's first preview, which must write nothing.
        kubectl.run("rollout", "status", workload, "-n", ns, "--timeout=180s", timeout=200)
    peered = first_peered_leaf(config)
    address = (
        UNROUTED_PEER if peered is None or peered.peer_address is None else peered.peer_address
    )
    documents = [
        {
            "apiVersion": "network.kubesphere.io/v1alpha2",
            "kind": "BgpConf",
            "metadata": {"name": "default"},
            "spec": GUIDE_BGP_CONF,
        },
        {
            "apiVersion": "network.kubesphere.io/v1alpha2",
            "kind": "BgpPeer",
            "metadata": {"name": HAND_MADE_PEER},
            "spec": {
                "conf": {
                    "peerAs": 50001,
                    "neighborAddress": address,
                    "authPassword": HAND_MADE_PASSWORD,
                },
            },
        },
    ]
    kubectl.run(
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}),
    )
