"""How the API server merges each field this project applies: as one value, or item by item.

Server-Side Apply compares the live object with the merged result field by field
(structured-merge-diff ``typed/compare.go``@v6.4.2, the release k8s.io/kubernetes v1.37.2
uses), and another manager's field conflicts only where that comparison finds a change
(``merge/update.go:123-126``: the manager's set intersected with the modified and added paths):

- an **atomic** map or list is one value: changed or not as a whole (compare.go:405-408 for
  lists, :458-461 for maps). A manager owning it (``"f:nodeSelector": {}``) conflicts with any
  other value;
- a **granular** map or struct is compared key by key, and a list of type ``map`` item by item,
  matched by its keys: the container itself changes only when it appears or disappears
  (compare.go:132-138), or, empty or absent on both sides, as one value ("empty promoted to
  leaf", compare.go:400-403 and :453-456). So an owner of a granular map that was applied empty
  (``"f:labels": {}``) conflicts only with the map appearing or disappearing whole, never with a
  key added to it.

Which is which comes from the schemas: ``x-kubernetes-map-type``, ``x-kubernetes-list-type`` and
``x-kubernetes-list-map-keys`` in Kubernetes' OpenAPI and in the CRDs' structural schemas; a list
without a list type is atomic, a map or struct without a map type granular. The tables below
list the atomic maps and the keyed lists among the fields this project applies to the kinds
whose conflicts it predicts (the objects the program reads: Nodes, Deployments, DaemonSets);
every other list is atomic, every other map granular. tests/test_structure.py checks each path
of every example stack's objects against Kubernetes 1.37's OpenAPI (kubernetes-validate). Paths
name list items ``[]``. (OpenELB's own kinds would need the installed release's CRD: a BgpPeer's
``spec.nodeSelector`` is atomic in v0.6.0's CRD, openelb.yaml:432, and granular in v0.5.1's.)
"""

from __future__ import annotations

from typing import Literal

Relationship = Literal["atomic", "granular"] | tuple[str, ...]
"""``atomic``, ``granular``, or the keys of a list of type ``map``."""

_POD = ".spec.template.spec"
_POD_ATOMIC = frozenset(
    {
        f"{_POD}.nodeSelector",
        f"{_POD}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
        f"{_POD}.topologySpreadConstraints[].labelSelector",
    }
)
_POD_KEYED: dict[str, tuple[str, ...]] = {
    f"{_POD}.topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable")
}

ATOMIC_MAPS: dict[str, frozenset[str]] = {"Deployment": _POD_ATOMIC, "DaemonSet": _POD_ATOMIC}
"""Kind -> the maps and structs among its applied fields that are atomic."""
KEYED_LISTS: dict[str, dict[str, tuple[str, ...]]] = {
    "Deployment": _POD_KEYED,
    "DaemonSet": _POD_KEYED,
}
"""Kind -> the lists of type ``map`` among its applied fields, with their keys."""


def relationship(kind: str, path: str, is_list: bool) -> Relationship:
    """How ``kind``'s field at ``path`` (a map or struct, or a list when ``is_list``) merges."""
    if is_list:
        return KEYED_LISTS.get(kind, {}).get(path, "atomic")
    return "atomic" if path in ATOMIC_MAPS.get(kind, frozenset()) else "granular"
