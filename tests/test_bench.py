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


def _run(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout


def test_the_benchmark_runs_at_its_smallest_size() -> None:
    output = _run("bench.bench", "--nodes", "10", "--leaves", "1", "--rounds", "1", "--images", "2")
    # nodes, leaves, then registrations: 10 node reads and patches, the workload's read and
    # patch, the PodDisruptionBudget, one BgpPeer and the component; then both programs' CPU
    # seconds and their ratio.
    assert re.search(r"^\| 10 \| 1 \| 25 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|", output, re.M)
    assert "program/bare CPU:" in output
    assert "load average" in output


def test_the_plan_benchmark_runs_every_command_on_a_small_stack() -> None:
    output = _run("bench.plan", "--rounds", "1", "--rows", "20/2/5")
    # nodes, leaves, eips, then wall (CPU) seconds of plan in its three formats and validate:
    # none failed.
    row = re.search(r"^\| 20 \| 2 \| 5 \|(.*)\|$", output, re.M)
    assert row is not None
    cells = [cell.strip() for cell in row[1].split("|")]
    assert len(cells) == 4
    assert all(re.fullmatch(r"[0-9.]+ \([0-9.]+\)", cell) for cell in cells), cells


def test_the_state_benchmark_records_each_nodes_read_whole() -> None:
    """bench/state.py's figure is what the mocks record for a node's read: the whole Node."""
    from bench.state import kubelet_node, measure

    figures = measure(10, 50)
    node = kubelet_node("worker-00000", 0, 50)
    size = len(json.dumps(node, separators=(",", ":")))
    assert abs(figures["read"] - size) < 50  # names differ in length by a digit or two
    assert figures["images"] == len(json.dumps(node["status"]["images"], separators=(",", ":")))
    assert figures["estimated"] > 2 * figures["read"]
