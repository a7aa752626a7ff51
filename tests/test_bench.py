"""The scale benchmark still runs (figures in docs/benchmarks.md; it is not a timed test)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.harness import ROOT

# The benchmark's smoke run: `make test-slow` (CI runs it), not `make test`.
pytestmark = pytest.mark.slow


def test_the_benchmark_runs_at_its_smallest_size() -> None:
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench", "--nodes", "10", "--leaves", "1", "--rounds", "1"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    # nodes, leaves, then registrations: 10 node reads and patches, the workload's read and
    # patch, the PodDisruptionBudget, one BgpPeer and the component.
    assert re.search(
        r"^\| 10 \| 1 \| 25 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|", output, re.M
    )
    assert "worst program/baseline CPU ratio" in output
