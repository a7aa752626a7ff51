"""Real routing software the tests run: FRR's and BIRD's config parsers, and the lab's daemons.

Without a tool (or without root for the lab) a test is skipped with the reason; under ``CI=true``
a skip is a failure instead, so CI never goes green on tests it did not run. The one exception,
``unobtainable``: what CI has no way to get (OpenELB's own binaries, which the Go module proxy
refuses) is skipped there too, with the reason saying so.
"""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL = "apt-get install -y frr gobgpd bird2"
FRR_DAEMON_DIR = "/usr/lib/frr"


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def unavailable(reason: str) -> None:
    """Skip, or fail under CI."""
    if in_ci():
        pytest.fail(f"CI=true, so this cannot be skipped: {reason}")
    pytest.skip(reason)


def unobtainable(reason: str) -> None:
    """Skip, under ``CI=true`` too: what is missing is something CI cannot obtain either (it comes
    from outside the registries CI installs from; ``reason`` names why). Unlike ``unavailable``,
    whose tools CI installs, so that their absence there is a failure."""
    pytest.skip(f"{reason} (skipped under CI=true too: CI cannot obtain it)")


def require(*binaries: str) -> None:
    missing = [binary for binary in binaries if shutil.which(binary) is None]
    if missing:
        unavailable(f"{', '.join(missing)} not installed ({INSTALL})")
