"""The desired state: plain data computed once from a validated config, rendered twice.

The Pulumi component registers these objects; the offline plan prints them. Because both read
the same data they cannot disagree. Manifests are Kubernetes JSON (camelCase keys) exactly as
they reach the API server, so they can be validated against the real schemas.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from openelb_component.config.errors import value_at

Manifest = dict[str, Any]
"""A Kubernetes object or Server-Side Apply patch body, as JSON."""

Action = Literal["patch", "create"]
"""patch: Server-Side Apply of the listed fields onto an object someone else owns;
create: an object this project owns and deletes on destroy."""


@dataclass(frozen=True)
class DesiredObject:
    key: str
    """Stable identity (``node-master1``, ``bgppeer-10-1-0-1``): Pulumi names derive from it, never
    from list positions, so reordering a stack file changes nothing."""
    action: Action
    manifest: Manifest
    on_destroy: str
    """What ``pulumi destroy`` leaves behind for this object, in one sentence."""
    depends_on: tuple[str, ...] = ()
    """Keys of objects that must be applied first."""
    must_exist: bool = False
    """Read the target before patching: a Server-Side Apply patch of a missing object creates it
    (a mistyped node name would become a bogus Node), so the read fails first, naming it."""
    former_keys: tuple[str, ...] = ()
    """Keys this object had in earlier versions of the project: the component declares them as
    Pulumi aliases, so a stack applied before keeps its resource instead of a delete + create."""
    delete_before_replace: bool = False
    """When Pulumi must replace the object, delete the old one first (instead of last)."""
    secrets: Mapping[tuple[str | int, ...], str] = field(default_factory=dict)
    """Path inside ``manifest`` -> name of the secret whose value belongs there (e.g.
    ``("spec", "conf", "authPassword")`` -> ``bgpPasswords.leaf1``). The manifest holds
    ``errors.REDACTED`` at that path: desired state never holds a secret; the component puts the
    Pulumi secret there, the offline plan prints the placeholder."""

    @property
    def api_version(self) -> str:
        return str(self.manifest["apiVersion"])

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        namespace = self.manifest["metadata"].get("namespace")
        return None if namespace is None else str(namespace)

    @property
    def object_id(self) -> str:
        """``namespace/name``, or ``name`` for a cluster-scoped object: Pulumi's resource ID
        and how the plan and runbook name it."""
        return self.name if self.namespace is None else f"{self.namespace}/{self.name}"

    @property
    def body(self) -> Manifest:
        """The manifest without ``apiVersion`` and ``kind``: a resource's inputs, or a patch."""
        return {k: v for k, v in self.manifest.items() if k not in ("apiVersion", "kind")}

    def with_secrets(self, manifest: Manifest, values: Mapping[str, Any]) -> Manifest:
        """A copy of ``manifest`` (this object's body, or a manifest built from it) with the value
        for each secret (by name, from ``values``) at the secret's path: the Pulumi secret in the
        component, a shell variable in the runbook."""
        filled = copy.deepcopy(manifest)
        for path, name in self.secrets.items():
            value_at(filled, path[:-1])[path[-1]] = values[name]
        return filled


@dataclass(frozen=True)
class DesiredState:
    objects: tuple[DesiredObject, ...]
    """In apply order: every object comes after the objects it depends on."""
    nodes: tuple[str, ...]
    """Every labelled node, sorted."""
    nodes_by_leaf: Mapping[str, tuple[str, ...]]
    """Leaf name -> its nodes (sorted); empty for a single-router topology."""
    replicas: int
    """OpenELB replicas that announce: v0.5 manager replicas; v0.6 speakers, one per listed node."""
    replicas_by_leaf: Mapping[str, int]
    """Leaf name -> the replicas that announce to its router; empty for a single-router topology."""
    peer_by_leaf: Mapping[str, str]
    """Leaf name -> the name of its BgpPeer object, for the leaves that have a peer."""
    controller_replicas: int
    """Replicas running the leader-elected controller: the v0.6 controller Deployment's, or the
    v0.5 manager's (it is the controller too)."""
    node_selector: Mapping[str, str]
    bgp_peers: tuple[str, ...]
    """Names of the BgpPeer objects, sorted by leaf."""
    warnings: tuple[str, ...] = field(default=())
    bgp_conf_digest: str | None = None
    """A hash of the BgpConf spec the stack applies (None without ``openelb-ha:bgp``); the
    announcing workload carries it in annotation ``openelb-ha/bgpconf``, so the next run can
    tell from the live workload whether the BgpConf changes (``bgp.bgp_conf_change_warning``)."""

    def by_key(self, key: str) -> DesiredObject:
        for obj in self.objects:
            if obj.key == key:
                return obj
        raise KeyError(key)
