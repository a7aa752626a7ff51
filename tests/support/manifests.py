"""The upstream OpenELB manifests as test data: fetched once per run when missing, and the tests
that need them skipped, saying why, when they cannot be had (a failure under ``CI=true``).

The download is tried once, by the main pytest process (``ensure``, from ``tests/conftest.py``)
before any worker starts; the reason it failed reaches the workers in ``UNAVAILABLE_VAR``, so
every skip names the address, the error and how to place the files by hand.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from openelb_component.plan import upstream
from openelb_component.plan.manifests import ManifestsUnavailable, fetch_manifests, missing
from tests.support.tools import unavailable

UNAVAILABLE_VAR = "OPENELB_HA_TEST_MANIFESTS_UNAVAILABLE"


def ensure() -> str:
    """Download what is missing; one line for the test report's header."""
    folder = upstream.manifests_dir()
    if not missing(folder):
        return f"OpenELB manifests: {folder}"
    try:
        report = fetch_manifests(folder)
    except (ManifestsUnavailable, OSError, ValueError) as error:
        os.environ[UNAVAILABLE_VAR] = str(error)
        return f"OpenELB manifests: unavailable, the tests that need them are skipped: {error}"
    return "OpenELB manifests: " + "; ".join(report)


def missing_reason(version: str) -> str | None:
    """Why the manifest of ``version`` is not there, or None when it is."""
    path = upstream.manifest_path(version)
    if path.is_file():
        return None
    return os.environ.get(UNAVAILABLE_VAR) or (
        f"OpenELB {version} manifest not found at {path}; run `make manifests`, or set "
        f"{upstream.ENV_VAR} to a folder holding v0.5.1/openelb.yaml and v0.6.0/openelb.yaml"
    )


def require_manifests(version: str = "0.5") -> None:
    """Skip (fail under ``CI=true``) unless the manifest of ``version`` is there."""
    reason = missing_reason(version)
    if reason is not None:
        unavailable(reason)


def upstream_documents(version: str) -> list[dict[str, Any]]:
    require_manifests(version)
    return upstream.load_documents(upstream.manifest_path(version))


def needed_to_write(version: str, what: str) -> None:
    """Fail, naming the reason, where the manifests are needed to write something (golden
    files): skipping would write nothing and look like success."""
    reason = missing_reason(version)
    if reason is not None:
        pytest.fail(f"{what} need OpenELB's install manifests: {reason}")
