"""OpenELB's upstream install manifests, for checks against the real workloads.

They are not shipped with this project (Apache-2.0 upstream; users have their own installed
version). ``OPENELB_MANIFESTS`` points at a folder holding ``v<version>/openelb.yaml``; the
default is the team's shared copy beside the repository.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ENV_VAR = "OPENELB_MANIFESTS"
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "shared" / "openelb"
RELEASES = {"0.5": "v0.5.1", "0.6": "v0.6.0"}
"""Config version -> the upstream release whose manifest represents it."""


def manifests_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)


def manifest_path(version: str) -> Path:
    return manifests_dir() / RELEASES[version] / "openelb.yaml"


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
