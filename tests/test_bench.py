"""The scale benchmark still runs (figures in docs/benchmarks.md; it is not a timed test)."""

from __future__ import annotations

import json
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


def test_the_state_benchmark_records_each_nodes_read_whole() -> None:
    """bench/state.py's figure is what the mocks record for a node's read: the whole Node."""
    from bench.state import kubelet_node, measure

    figures = measure(10, 50)
    node = kubelet_node("worker-00000", 0, 50)
    size = len(json.dumps(node, separators=(",", ":")))
    assert abs(figures["read"] - size) < 50  # names differ in length by a digit or two
    assert figures["images"] == len(json.dumps(node["status"]["images"], separators=(",", ":")))
    assert figures["estimated"] > 2 * figures["read"]
