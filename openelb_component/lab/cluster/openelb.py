"""OpenELB installed as its users install it: ``kubectl apply -f openelb.yaml`` (client-side),
with the real kubectl, from the upstream manifest (``OPENELB_MANIFESTS``, plan/upstream.py).

One thing differs, and is undone on purpose: the manifest's admission webhook configurations
(``openelb-admission``) are deleted right after the apply. Nothing here can serve them: kwok's
pods run no containers, so no webhook server listens, and the manifest's Jobs that would make
the webhook's certificate (kube-webhook-certgen) only *look* Complete. Both configurations say
``failurePolicy: Fail``, so with them in place the API server calls the webhook Service for
every matching write and refuses the write when the call fails; worse, it dials the Service's
ClusterIP, an address outside loopback. Their rules (v0.5.1: Services CREATE/UPDATE, mutating,
and network.kubesphere.io Eips CREATE/UPDATE, validating; v0.6.0: the Eip rule only) match none
of the objects this project writes (Nodes, Deployments, DaemonSets, BgpPeers, the BgpConf, a
PodDisruptionBudget), so removing them changes no result here; a test that writes Services or
Eips would see them accepted unchecked, which a real cluster with a running OpenELB would
validate. ``Installed.webhooks_removed`` names what was deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openelb_component.lab.cluster.kubectl import Kubectl
from openelb_component.plan import upstream

ROLLOUT_TIMEOUT = 180
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
WORKLOAD_KINDS = ("Deployment", "DaemonSet")


@dataclass(frozen=True)
class Installed:
    manifest: Path
    workloads: tuple[tuple[str, str, str], ...]
    """(kind, namespace, name) of every workload the manifest creates, each rolled out."""
    jobs: tuple[tuple[str, str], ...]
    """(namespace, name) of the manifest's Jobs, each Complete."""
    webhooks_removed: tuple[tuple[str, str], ...]
    """(kind, name) of the webhook configurations deleted after the apply (module docstring)."""


def _identities(
    documents: list[dict[str, Any]], kinds: tuple[str, ...]
) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for doc in documents:
        if doc.get("kind") in kinds:
            metadata = doc.get("metadata") or {}
            found.append(
                (str(doc["kind"]), str(metadata.get("namespace", "")), str(metadata["name"]))
            )
    return found


def install(kubectl: Kubectl, manifest: Path, timeout: int = ROLLOUT_TIMEOUT) -> Installed:
    """Apply ``manifest``, delete its webhook configurations, and wait until its Jobs are
    Complete and its Deployments and DaemonSets rolled out (on the Nodes the cluster has)."""
    documents = upstream.load_documents(manifest)
    kubectl.run("apply", "-f", str(manifest), timeout=timeout)
    webhooks = [(kind, name) for kind, _, name in _identities(documents, WEBHOOK_KINDS)]
    for kind, name in webhooks:
        kubectl.run("delete", kind.lower(), name, "--ignore-not-found", "--wait=true")
    jobs = [(namespace, name) for _, namespace, name in _identities(documents, ("Job",))]
    for namespace, name in jobs:
        kubectl.run(
            "wait",
            "--for=condition=Complete",
            f"job/{name}",
            "-n",
            namespace,
            f"--timeout={timeout}s",
            timeout=timeout + 30,
        )
    workloads = _identities(documents, WORKLOAD_KINDS)
    for kind, namespace, name in workloads:
        kubectl.run(
            "rollout",
            "status",
            f"{kind.lower()}/{name}",
            "-n",
            namespace,
            f"--timeout={timeout}s",
            timeout=timeout + 30,
        )
    return Installed(
        manifest,
        tuple(workloads),
        tuple(jobs),
        tuple(webhooks),
    )
