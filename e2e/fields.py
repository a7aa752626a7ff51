"""Comparing a live object with what the program meant to write, and reading its managedFields.

Pure functions over JSON, so the checks can be tested without a cluster:

- ``differences(desired, live)``: every value the desired manifest sets that the live object
  lacks or holds differently, by path. Maps compare key by key; a list compares item by item,
  each desired item matching some live item (Server-Side Apply merges keyed lists, so the live
  list may hold more); secrets are skipped by path (the checks compare them separately).
- ``owned(live, manager, path)``: whether ``manager``'s Apply entry in ``metadata.managedFields``
  owns the field at ``path`` (``fieldsV1``: ``f:<key>`` per map key; an entry with no children
  is an atomic map or a list owned whole).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Path = tuple[str | int, ...]


def show(path: Path) -> str:
    return ".".join(str(part) for part in path)


def _subset(desired: Any, live: Any) -> bool:
    return not differences(desired, live)


def differences(desired: Any, live: Any, skip: Iterable[Path] = (), path: Path = ()) -> list[str]:
    """What ``live`` lacks of ``desired`` (module docstring), as ``path: wanted <> found``."""
    skipped = set(skip)
    if path in skipped:
        return []
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return [f"{show(path)}: wanted a map, found {live!r}"]
        found: list[str] = []
        for key, value in desired.items():
            here = (*path, str(key))
            if key not in live:
                if here not in skipped:
                    found.append(f"{show(here)}: wanted {value!r}, missing")
                continue
            found += differences(value, live[key], skipped, here)
        return found
    if isinstance(desired, list):
        if not isinstance(live, list):
            return [f"{show(path)}: wanted a list, found {live!r}"]
        return [
            f"{show((*path, index))}: wanted {item!r}, no such item in {live!r}"
            for index, item in enumerate(desired)
            if not any(_subset(item, candidate) for candidate in live)
        ]
    if desired != live:
        return [f"{show(path)}: wanted {desired!r}, found {live!r}"]
    return []


def leaf_paths(manifest: Mapping[str, Any], path: Path = ()) -> list[Path]:
    """Paths of the map keys a manifest sets, down to scalars, lists and empty maps."""
    paths: list[Path] = []
    for key, value in manifest.items():
        here = (*path, str(key))
        if isinstance(value, Mapping) and value:
            paths += leaf_paths(value, here)
        else:
            paths.append(here)
    return paths


def entries(live: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    fields = (live.get("metadata") or {}).get("managedFields") or []
    return [entry for entry in fields if isinstance(entry, Mapping)]


def managers(live: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(manager, operation) of every managedFields entry, in the server's order."""
    return [(str(e.get("manager")), str(e.get("operation"))) for e in entries(live)]


def owned(
    live: Mapping[str, Any], manager: str, path: Sequence[str | int], operation: str = "Apply"
) -> bool:
    """Whether ``manager`` (with ``operation``) owns the field at ``path`` (module docstring)."""
    for entry in entries(live):
        if entry.get("manager") != manager or entry.get("operation") != operation:
            continue
        node: Any = entry.get("fieldsV1") or {}
        for part in path:
            if not isinstance(node, Mapping):
                break
            if not node:  # an atomic map or a list owned whole
                return True
            key = f"f:{part}"
            if key not in node:
                break
            node = node[key]
        else:
            return True
    return False


def unowned(
    live: Mapping[str, Any], manager: str, manifest: Mapping[str, Any], skip: Iterable[Path] = ()
) -> list[str]:
    """The paths ``manifest`` sets that ``manager`` does not own with an Apply."""
    skipped = set(skip)
    return [
        show(path)
        for path in leaf_paths(manifest)
        if path not in skipped
        and path[:2] != ("metadata", "name")
        and not owned(live, manager, path)
    ]
