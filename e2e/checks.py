"""What the cluster must hold after each step, read from the real API server.

The expected objects are the offline plan's desired state for the stack (``desired_state``, the
same data the component registers), so a check fails when the engine applied anything other
than what ``make plan`` shows:

- ``applied``: every object exists with every value the plan sets (secrets compared with the
  run's passwords), each of those fields owned by ``openelb-ha`` with an Apply (creates included:
  pulumi-kubernetes 4.25.0 creates with Server-Side Apply under the patch's field manager,
  ``provider/pkg/await/await.go:186-230@v4.25.0``; 4.29 and later create client-side under
  ``pulumi-kubernetes``, ``await.go:190, 241-252@v4.32.0``, moved on the first update), every
  workload rolled out with its pods only on labelled nodes, and no node outside the stack
  carrying the project's labels or field manager;
- ``unchanged``: a preview wrote nothing (every object as before but for its status, which the
  cluster's own controllers write at any time);
- ``destroyed``: the objects the project created are gone, the patched ones remain with no
  field owned by ``openelb-ha``, and a node keeps a label only where another manager owns it;
- ``no_plaintext``: no run password appears in plaintext anywhere in Pulumi's state folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.fields import differences, managers, owned, unowned
from openelb_component.config.names import HA_LABEL, RACK_LABEL
from openelb_component.desired import DesiredObject
from openelb_component.desired.ownership import FIELD_MANAGER
from openelb_component.desired.workloads import MEMBERSHIP_ANNOTATION

Read = Callable[[str, str, str, str | None], Mapping[str, Any] | None]
"""(apiVersion, kind, name, namespace) -> the live object, or None when it does not exist."""
List = Callable[[str, str, Mapping[str, str]], list[Mapping[str, Any]]]
"""(namespace, kind plural, label selector) -> live objects."""


@dataclass(frozen=True)
class Cluster:
    read: Read
    pods: Callable[[str, Mapping[str, str]], list[Mapping[str, Any]]]
    """(namespace, matchLabels) -> the pods."""
    node_names: Callable[[], list[str]]


def _live(cluster: Cluster, obj: DesiredObject) -> Mapping[str, Any] | None:
    return cluster.read(obj.api_version, obj.kind, obj.name, obj.namespace)


def _secret_paths(obj: DesiredObject) -> list[tuple[str | int, ...]]:
    return list(obj.secrets)


def _value(live: Mapping[str, Any], path: Iterable[str | int]) -> Any:
    node: Any = live
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def applied(
    cluster: Cluster,
    objects: Iterable[DesiredObject],
    passwords: Mapping[str, str],
    stack_nodes: Iterable[str],
) -> list[str]:
    """Problems with the cluster after an ``up`` (module docstring); empty when it is right."""
    problems: list[str] = []
    desired = list(objects)
    for obj in desired:
        where = f"{obj.kind} {obj.object_id}"
        live = _live(cluster, obj)
        if live is None:
            problems.append(f"{where}: missing")
            continue
        skip = _secret_paths(obj)
        problems += [f"{where}: {text}" for text in differences(obj.manifest, live, skip)]
        body = {key: value for key, value in obj.body.items()}
        problems += [
            f"{where}: {path} not owned by {FIELD_MANAGER} (managers: {managers(live)})"
            for path in unowned(live, FIELD_MANAGER, body, skip)
            if path != "metadata.namespace"
        ]
        for path, name in obj.secrets.items():
            if _value(live, path) != passwords.get(name):
                problems.append(f"{where}: {'.'.join(map(str, path))} is not the password set")
        if obj.kind in ("Deployment", "DaemonSet"):
            problems += [f"{where}: {text}" for text in _rollout(cluster, obj, live)]
    labelled = set(stack_nodes)
    for node in cluster.node_names():
        if node in labelled:
            continue
        live = cluster.read("v1", "Node", node, None)
        if live is None:
            continue
        if any(manager == FIELD_MANAGER for manager, _ in managers(live)):
            problems.append(f"Node {node} (not in the stack): still has a {FIELD_MANAGER} entry")
        labels = (live.get("metadata") or {}).get("labels") or {}
        for label in (HA_LABEL, RACK_LABEL):
            if label in labels and not _owned_by_other(live, ("metadata", "labels", label)):
                problems.append(f"Node {node} (not in the stack): label {label} left behind")
    return problems


def _owned_by_other(live: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    return any(
        owned(live, manager, path, operation)
        for manager, operation in managers(live)
        if manager != FIELD_MANAGER
    )


def incomplete(kind: str, live: Mapping[str, Any]) -> list[str]:
    """What a Deployment's or DaemonSet's status still lacks for its rollout to be complete."""
    spec, status = live.get("spec") or {}, live.get("status") or {}
    metadata = live.get("metadata") or {}
    problems: list[str] = []
    if status.get("observedGeneration", 0) < metadata.get("generation", 0):
        problems.append("rollout not observed by its controller")
    # Complete as the provider's refresh judges it, so a later `preview --refresh` does not find
    # the workload "failed to initialize": a Deployment Available with every replica updated,
    # available (ready for minReadySeconds) and no old one left, its Progressing condition at
    # NewReplicaSetAvailable (deployment.go:214-300, 409-430, 509-534@v4.25.0); a DaemonSet
    # with every pod updated, ready and available (kstatus, daemonset.go:88-110, 184-199).
    if kind == "Deployment":
        wanted = spec.get("replicas", 1)
        done = tuple(
            status.get(key, 0) for key in ("updatedReplicas", "availableReplicas", "replicas")
        )
        if done != (wanted, wanted, wanted):
            problems.append(f"rollout incomplete: updated/available/all {done}, replicas {wanted}")
        reasons = {
            str(condition.get("type")): str(condition.get("reason"))
            for condition in status.get("conditions") or []
        }
        if wanted and reasons.get("Progressing") != "NewReplicaSetAvailable":
            problems.append(f"rollout incomplete: Progressing {reasons.get('Progressing')}")
    else:
        wanted = status.get("desiredNumberScheduled", 0)
        done = tuple(
            status.get(key, 0)
            for key in ("updatedNumberScheduled", "numberReady", "numberAvailable")
        )
        if done != (wanted, wanted, wanted):
            problems.append(f"rollout incomplete: updated/ready/available {done}, desired {wanted}")
    return problems


def _rollout(cluster: Cluster, obj: DesiredObject, live: Mapping[str, Any]) -> list[str]:
    spec = live.get("spec") or {}
    problems = incomplete(obj.kind, live)
    if not _rolls_on_membership(obj):
        return problems
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    for pod in cluster.pods(obj.namespace or "default", selector):
        node = (pod.get("spec") or {}).get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        live_node = None if node is None else cluster.read("v1", "Node", str(node), None)
        labels = ((live_node or {}).get("metadata") or {}).get("labels") or {}
        if labels.get(HA_LABEL) != "openelb":
            problems.append(
                f"pod {pod['metadata']['name']} ({phase}) on {node}, not a labelled node"
            )
    return problems


def _rolls_on_membership(obj: DesiredObject) -> bool:
    """Whether the project moves this workload's pods off a node that leaves the stack: a
    DaemonSet's controller removes a pod whose node stops matching by itself, and a workload
    whose template carries the membership annotation rolls on every membership change. The 0.6
    controller does neither on purpose (``controller_patch``): a replica already running on a
    node that leaves stays there until it restarts (scheduling constraints are never
    re-evaluated for a running pod), so its placement is only checked for a complete rollout."""
    template = (obj.manifest.get("spec") or {}).get("template") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    return obj.kind == "DaemonSet" or MEMBERSHIP_ANNOTATION in annotations


def rollouts_pending(cluster: Cluster, objects: Iterable[DesiredObject]) -> list[str]:
    """The workloads whose rollout is not complete, with what is missing."""
    pending: list[str] = []
    for obj in objects:
        if obj.kind not in ("Deployment", "DaemonSet"):
            continue
        live = _live(cluster, obj)
        if live is None:
            continue
        pending += [f"{obj.kind} {obj.object_id}: {text}" for text in _rollout(cluster, obj, live)]
    return pending


@dataclass(frozen=True)
class Written:
    """What a preview must leave as it was: the object without its status. A controller's own
    status write (the DaemonSet controller counting pods that a moment ago became ready, kwok
    reporting a node) bumps ``resourceVersion`` with no writer but the cluster's own, so the
    proof compares everything else: spec, metadata and the field managers outside the
    ``status`` subresource."""

    resource_version: str | None
    content: str | None


def _without_status(live: Mapping[str, Any]) -> str:
    metadata = dict(live.get("metadata") or {})
    metadata.pop("resourceVersion", None)
    metadata["managedFields"] = [
        entry
        for entry in metadata.get("managedFields") or []
        if entry.get("subresource") != "status"
    ]
    rest = {key: value for key, value in live.items() if key not in ("status", "metadata")}
    return json.dumps({"metadata": metadata, **rest}, sort_keys=True, default=str)


def versions(cluster: Cluster, objects: Iterable[DesiredObject]) -> dict[str, Written]:
    """Each object as a preview must leave it (``Written``; both None: missing)."""
    found: dict[str, Written] = {}
    for obj in objects:
        live = _live(cluster, obj)
        found[f"{obj.kind} {obj.object_id}"] = (
            Written(None, None)
            if live is None
            else Written(
                str((live.get("metadata") or {}).get("resourceVersion")), _without_status(live)
            )
        )
    return found


def unchanged(before: Mapping[str, Written], after: Mapping[str, Written]) -> list[str]:
    missing = Written(None, None)
    return [
        f"{key}: written during a preview (resourceVersion {before[key].resource_version}"
        f" -> {after.get(key, missing).resource_version}, not only its status)"
        for key in before
        if after.get(key, missing).content != before[key].content
    ]


def destroyed(cluster: Cluster, objects: Iterable[DesiredObject]) -> list[str]:
    """Problems with the cluster after ``pulumi destroy`` (module docstring)."""
    problems: list[str] = []
    for obj in objects:
        where = f"{obj.kind} {obj.object_id}"
        live = _live(cluster, obj)
        if obj.action == "create":
            if live is not None:
                problems.append(f"{where}: still exists after destroy")
            continue
        if live is None:
            problems.append(f"{where}: deleted by destroy (a patch must only release its fields)")
            continue
        if any(manager == FIELD_MANAGER for manager, _ in managers(live)):
            problems.append(f"{where}: still has a {FIELD_MANAGER} entry: {managers(live)}")
        labels = (live.get("metadata") or {}).get("labels") or {}
        for label in (HA_LABEL, RACK_LABEL):
            if (
                obj.kind == "Node"
                and label in labels
                and not _owned_by_other(live, ("metadata", "labels", label))
            ):
                problems.append(f"{where}: label {label} left behind")
    return problems


def observe(cluster: Cluster, objects: Iterable[DesiredObject]) -> list[str]:
    """What each object looks like now, in one line: its managers (with operations) and the
    values this project sets on it (labels, replicas, nodeSelector, spec of a BGP object): the
    report's evidence beside the verdict."""
    lines: list[str] = []
    for obj in objects:
        live = _live(cluster, obj)
        where = f"{obj.kind} {obj.object_id}"
        if live is None:
            lines.append(f"{where}: absent")
            continue
        shown: dict[str, Any] = {"managers": [f"{m} ({o})" for m, o in managers(live)]}
        metadata, spec = live.get("metadata") or {}, live.get("spec") or {}
        if obj.kind == "Node":
            labels = metadata.get("labels") or {}
            shown["labels"] = {k: v for k, v in labels.items() if k in (HA_LABEL, RACK_LABEL)}
        elif obj.kind in ("Deployment", "DaemonSet"):
            template = (spec.get("template") or {}).get("spec") or {}
            shown["replicas"] = spec.get("replicas")
            shown["nodeSelector"] = template.get("nodeSelector")
            selector = (spec.get("selector") or {}).get("matchLabels") or {}
            shown["pods on"] = sorted(
                str((pod.get("spec") or {}).get("nodeName"))
                for pod in cluster.pods(obj.namespace or "default", selector)
                if not (pod.get("metadata") or {}).get("deletionTimestamp")
            )
        elif obj.kind == "BgpPeer":
            conf = dict(spec.get("conf") or {})
            if "authPassword" in conf:
                conf["authPassword"] = "(set)"
            shown["conf"] = conf
        else:
            shown["spec"] = spec
        lines.append(f"{where}: {shown}")
    return lines


def no_plaintext(state: Path, passwords: Iterable[str]) -> list[str]:
    """Files of Pulumi's state folder holding a run password in plaintext."""
    secrets = [password.encode() for password in passwords if password]
    return [
        f"{path}: holds a BGP password in plaintext"
        for path in sorted(state.rglob("*"))
        if path.is_file() and any(secret in path.read_bytes() for secret in secrets)
    ]
