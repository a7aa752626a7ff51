"""The upstream OpenELB manifests as test data: skipped, saying why, when they are absent."""

from __future__ import annotations

from typing import Any

import pytest

from openelb_component.plan import upstream


def upstream_documents(version: str) -> list[dict[str, Any]]:
    path = upstream.manifest_path(version)
    if not path.is_file():
        pytest.skip(
            f"OpenELB {version} manifest not found at {path}; set {upstream.ENV_VAR} to a folder "
            "holding v0.5.1/openelb.yaml and v0.6.0/openelb.yaml"
        )
    return upstream.load_documents(path)
