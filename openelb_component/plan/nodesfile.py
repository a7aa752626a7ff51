"""``--nodes FILE``: the cluster's nodes as ``kubectl get nodes -o json`` prints them.

One reader for every command that takes it: ``router-config`` reads the nodes' addresses,
``plan`` their labels and ``metadata.managedFields`` (who owns each label, to name the conflicts
``pulumi up`` would stop on). ``kubectl get`` leaves managedFields out unless asked:
``kubectl get nodes -o json --show-managed-fields``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

USAGE = "give the output of `kubectl get nodes -o json --show-managed-fields`"


def load_nodes(path: Path) -> dict[str, Any]:
    """The document in ``path``: a List of Nodes, or one Node. ``ValueError`` if unusable."""
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error}); {USAGE}") from None
    if not isinstance(document, dict) or (
        document.get("kind") != "Node" and not isinstance(document.get("items"), list)
    ):
        raise ValueError(f"{path}: neither a List of Nodes nor a Node; {USAGE}")
    return document


def nodes_by_name(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Node name -> the Node object, from ``load_nodes``' document."""
    items = [document] if document.get("kind") == "Node" else document.get("items") or []
    found: dict[str, dict[str, Any]] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("kind", "Node") != "Node":
            continue
        name = (item.get("metadata") or {}).get("name")
        if isinstance(name, str):
            found[name] = item
    return found


def has_managed_fields(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("managedFields"))
