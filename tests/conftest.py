"""Fixtures: upstream manifests (fetched when missing, else skipped, saying why) and Hypothesis
profiles."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from openelb_component.lab.fabric import LabUnavailable, check_host
from openelb_component.plan import upstream
from tests.support import manifests
from tests.support.manifests import upstream_documents
from tests.support.tools import unavailable


def pytest_configure(config: pytest.Config) -> None:
    """Fetch missing upstream manifests once, in the main process, before workers start."""
    if not hasattr(config, "workerinput"):
        config.stash[_MANIFESTS] = manifests.ensure()


def pytest_report_header(config: pytest.Config) -> str:
    return config.stash.get(_MANIFESTS, "")


_MANIFESTS = pytest.StashKey[str]()


@pytest.fixture(params=sorted(upstream.RELEASES))
def any_version_documents(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return upstream_documents(str(request.param))


# Hypothesis profiles, chosen with HYPOTHESIS_PROFILE (docs/development.md, "Property-based tests").
# ci: the same examples on every run and machine (derandomize, no example database), few enough
# for the suite's time budget; no per-example deadline, since runs under mocks vary with load.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
# thorough: random and many more examples, by hand; failures are kept in .hypothesis/ and
# replayed first on the next run.
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def lab_host() -> None:
    """The lab modules' (``usefixtures``): root, ``ip netns`` and the daemons, or skipped (a
    failure under CI)."""
    try:
        check_host()
    except LabUnavailable as reason:
        unavailable(str(reason))
