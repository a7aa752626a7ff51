"""OpenELB's upstream install manifests, for checks against the real workloads.

They are not shipped with this project (Apache-2.0 upstream; users have their own installed
version). ``OPENELB_MANIFESTS`` points at a folder holding ``v<version>/openelb.yaml``; without
it, the team's shared copy beside the repository when there is one, else ``.manifests/`` in the
repository (git ignores it), which ``make manifests`` and ``make test`` fill.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ENV_VAR = "OPENELB_MANIFESTS"
REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_DIR = REPOSITORY.parent / "shared" / "openelb"
LOCAL_DIR = REPOSITORY / ".manifests"
RELEASES = {"0.5": "v0.5.1", "0.6": "v0.6.0"}
"""Config version -> the upstream release whose manifest represents it."""


def manifest_name(version: str) -> str:
    """The manifest's path inside the folder, as ``deploy/openelb-manifests.sha256`` names it."""
    return f"{RELEASES[version]}/openelb.yaml"


def manifests_dir() -> Path:
    given = os.environ.get(ENV_VAR)
    if given:
        return Path(given)
    shared = all((SHARED_DIR / manifest_name(v)).is_file() for v in RELEASES)
    return SHARED_DIR if shared else LOCAL_DIR


def manifest_path(version: str) -> Path:
    return manifests_dir() / manifest_name(version)


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]


def find(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for doc in documents:
        if doc.get("kind") == kind and doc.get("metadata", {}).get("name") == name:
            return doc
    raise LookupError(f"no {kind} {name!r} in the manifest")


def crd_schemas(documents: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(apiVersion, kind, openAPIV3Schema) of every served version of every CRD."""
    for doc in documents:
        if doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        for version in spec["versions"]:
            if version.get("served", True):
                api_version = f"{spec['group']}/{version['name']}"
                yield api_version, spec["names"]["kind"], version["schema"]["openAPIV3Schema"]


KUBERNETES_VERSIONS = tuple(f"1.{minor}" for minor in range(25, 38))
"""Kubernetes releases whose API schemas every generated object is validated against."""
