"""What the plan's checks run against: the workload each patch is applied to.

That is the user's live object when given (``--workload``), otherwise the upstream manifest of the
configured OpenELB version (``upstream.py``). A workload patch is applied as the component's
Server-Side Apply would apply it (``patch_body``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openelb_component.desired import DesiredObject
from openelb_component.plan import merge, upstream

WORKLOAD_KINDS = ("Deployment", "DaemonSet")


@dataclass(frozen=True)
class Base:
    """The workload a patch is applied to, and where it came from."""

    source: str
    obj: dict[str, Any]


@dataclass(frozen=True)
class Sources:
    """What the checks are run against."""

    documents: list[dict[str, Any]] | None
    """The upstream manifest of the configured version, None when it is not available."""
    missing_reason: str = ""
    live: Mapping[tuple[str, str], Base] = field(default_factory=dict)
    """(kind, name) -> a live workload the user gave, which replaces the upstream one."""


def upstream_sources(version: str, live: Mapping[tuple[str, str], Base]) -> Sources:
    path = upstream.manifest_path(version)
    if not path.is_file():
        return Sources(
            None,
            f"the OpenELB {version} manifest is not at {path}; set {upstream.ENV_VAR} to a "
            f"folder holding {upstream.RELEASES[version]}/openelb.yaml",
            live,
        )
    return Sources(upstream.load_documents(path), live=live)


def subject(obj: DesiredObject) -> str:
    return f"{obj.kind} {obj.name}"


def is_workload_patch(obj: DesiredObject) -> bool:
    return obj.action == "patch" and obj.kind in WORKLOAD_KINDS


def patch_body(obj: DesiredObject, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The manifest as a strategic patch of an existing object, without its identity fields.

    Given the object it will patch, the patch changes it as the component's Server-Side Apply
    does: an atomic map (the nodeSelector) is replaced whole, not merged key by key.
    """
    return obj.body if base is None else merge.as_applied(dict(base), obj.body)


def base_for(obj: DesiredObject, sources: Sources) -> Base | None:
    live = sources.live.get((obj.kind, obj.name))
    if live is not None:
        return live
    if sources.documents is None:
        return None
    try:
        found = upstream.find(sources.documents, obj.kind, obj.name)
    except LookupError:
        return None
    # The upstream manifest names its own namespace; the stack says where OpenELB really is.
    found = {**found, "metadata": {**found["metadata"], "namespace": obj.namespace}}
    return Base("the upstream manifest", found)
