"""What each Pulumi operation on a Kubernetes object asks the API server for: the one table the
RBAC test derives deploy/rbac.yaml's exact permissions from.

Sources (pulumi-kubernetes v4, provider/pkg): a Patch resource is a Server-Side Apply (verb
``patch``, also for the dry-run of a preview and for the apply that relinquishes fields on
destroy); ``X.get`` and ``pulumi refresh`` GET the object; an ordinary resource (BgpPeer, PDB) is
created client-side (``create``), updated by apply (``patch``), deleted (``delete``), and its
deletion is awaited by an informer plus a GET (await/condition/deleted.go: ``list``, ``watch``).
Deployments and DaemonSets are awaited through namespaced informers on the workload and the
objects it rolls out (await/deployment.go, await/daemonset.go), on apply and on read.

``create`` is withheld on patched objects on purpose: an apply to a missing object would create
it (a mistyped node becoming a bogus Node), and the API server authorizes that as ``create``, so
it fails Forbidden: a second guard behind the read that proves the node exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tests.support.harness import Registration

Action = Literal["read", "patch", "upsert", "create"]
Scope = Literal["cluster", "namespace"]


@dataclass(frozen=True)
class Kind:
    resource: str
    """The plural the API server authorizes (RBAC ``resources``)."""
    scope: Scope


@dataclass(frozen=True, order=True)
class Permission:
    namespace: str | None
    """None for a cluster-scoped resource (a ClusterRole rule), else the Role's namespace."""
    api_group: str
    resource: str
    verb: str


# (apiGroup, kind) -> the resource the API server authorizes. DaemonSet, PodDisruptionBudget and
# BgpConf are here for the v0.6 workload, the PDB and the BgpConf (deploy/rbac.yaml).
KINDS: dict[tuple[str, str], Kind] = {
    ("", "Node"): Kind("nodes", "cluster"),
    ("apps", "Deployment"): Kind("deployments", "namespace"),
    ("apps", "DaemonSet"): Kind("daemonsets", "namespace"),
    ("policy", "PodDisruptionBudget"): Kind("poddisruptionbudgets", "namespace"),
    ("network.kubesphere.io", "BgpPeer"): Kind("bgppeers", "cluster"),
    ("network.kubesphere.io", "BgpConf"): Kind("bgpconfs", "cluster"),
}

VERBS: dict[Action, frozenset[str]] = {
    "read": frozenset({"get"}),
    "patch": frozenset({"get", "patch"}),
    # A patch whose target is not read first (the BgpConf "default", which may not exist yet):
    # the apply creates the object when it is missing, which the API server authorizes as create.
    "upsert": frozenset({"get", "patch", "create"}),
    "create": frozenset({"create", "get", "patch", "delete", "list", "watch"}),
}

# Objects a workload's await logic lists and watches in the workload's namespace: informers on
# the workload and what it rolls out (provider/pkg/await/deployment.go:163-199,
# daemonset.go:142-157@v4.32.0), and core v1 Events, whose Warning events about the workload
# itself are printed while Pulumi waits (NewEventAggregator, provider/pkg/await/watchers.go:
# 206-249, attached to every create/update wait, await.go:352 and :536@v4.32.0). Without the
# events grant the wait still ends; only those messages are lost (the observer runs apart,
# provider/pkg/await/internal/awaiter.go:55-64@v4.32.0).
_WATCH = frozenset({"list", "watch"})
AWAITED: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("apps", "Deployment"): (
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("", "pods"),
        ("", "persistentvolumeclaims"),
        ("", "events"),
    ),
    ("apps", "DaemonSet"): (("apps", "daemonsets"), ("", "pods"), ("", "events")),
}


@dataclass(frozen=True)
class Operation:
    api_group: str
    kind: str
    action: Action
    namespace: str | None


def operation(registration: Registration) -> Operation | None:
    """The Kubernetes operation behind a registration; None for anything else (the component).

    Type tokens are ``kubernetes:<group or core>/<version>:<Kind>``, with ``Patch`` appended for
    a patch (CustomResourcePatch names its token after the patched kind the same way).
    """
    package, _, rest = registration.type.partition(":")
    if package != "kubernetes":
        return None
    group_version, _, kind = rest.partition(":")
    group = group_version.rsplit("/", 1)[0]
    action: Action = "read" if registration.is_read else "create"
    if kind.endswith("Patch"):
        kind, action = kind.removesuffix("Patch"), "patch"
    namespace: str | None
    if registration.is_read:
        read_id = registration.read_id or ""
        namespace = read_id.split("/", 1)[0] if "/" in read_id else None
    else:
        namespace = registration.inputs.get("metadata", {}).get("namespace")
    return Operation("" if group == "core" else group, kind, action, namespace)


def permissions(op: Operation) -> set[Permission]:
    kind = KINDS[(op.api_group, op.kind)]
    namespace = None if kind.scope == "cluster" else op.namespace
    if kind.scope == "namespace" and namespace is None:
        raise ValueError(f"{op.kind} registered without a namespace: a Role could not cover it")
    needed = {Permission(namespace, op.api_group, kind.resource, verb) for verb in VERBS[op.action]}
    if op.action in ("patch", "upsert", "read"):
        for group, resource in AWAITED.get((op.api_group, op.kind), ()):
            needed |= {Permission(namespace, group, resource, verb) for verb in _WATCH}
    return needed


def _object_id(registration: Registration) -> str:
    metadata = registration.inputs.get("metadata", {})
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])


def required(registrations: Iterable[Registration]) -> set[Permission]:
    registrations = list(registrations)
    read_first = {(r.type, r.read_id) for r in registrations if r.is_read}
    needed: set[Permission] = set()
    for registration in registrations:
        op = operation(registration)
        if op is None:
            continue
        if op.action == "patch":
            target_type = registration.type.removesuffix("Patch")
            if (target_type, _object_id(registration)) not in read_first:
                op = Operation(op.api_group, op.kind, "upsert", op.namespace)
        needed |= permissions(op)
    return needed
