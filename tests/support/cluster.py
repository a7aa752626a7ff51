"""The real control plane for tests marked ``cluster`` (``make cluster-test``).

One control plane per test module (starting one takes seconds): tests in a module use names
of their own (nodes, namespaces) so they do not see each other's objects. Without the built
tools a test is skipped saying which build to run, a failure under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator

from openelb_component.lab import gotools
from openelb_component.lab.cluster import ControlPlane, binaries
from openelb_component.lab.cluster.kwok import stage_files
from tests.support.tools import unavailable


def started() -> Iterator[ControlPlane]:
    """A control plane for a fixture's scope (``yield from started()``)."""
    try:
        binaries()
        stage_files()
    except gotools.ToolUnavailable as reason:
        unavailable(str(reason))
    with ControlPlane() as cluster:
        yield cluster
