"""How long the offline tools take on large stacks: ``plan`` and ``validate``, as a user runs them.

    make bench                                          # docs/benchmarks.md's figures
    .venv/bin/python -m bench.plan --rounds 1 --rows 1000/50/500

Each row is a generated stack file (``multi-leaf``, N nodes round robin over L leaves, each with
a peer, ``bgp`` set, E ``eips`` of one address each) written to ``stacks/`` of a temporary
directory, and each command is the real command line (``python -m openelb_component ...``) run
there, interpreter start and imports included: ``plan`` in each of its formats (markdown, the
default, is the one reviewers run) and ``validate``. The figure is the best of ``--rounds``, the
commands alternating within a round; wall time and the child's CPU time (user + system, from
``resource.getrusage(RUSAGE_CHILDREN)``). The upstream manifests are found as ``make plan``
finds them (``plan/upstream.py``); without them the plan's checks of the result are skipped,
which the output says.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bench.bench import topology
from bench.machine import header, load

ROOT = Path(__file__).resolve().parent.parent

# (nodes, leaves, eips): each dimension swept with the others fixed, then all at their largest.
ROWS = (
    (1_000, 50, 500),
    (2_000, 50, 500),
    (5_000, 50, 500),
    (10_000, 50, 500),
    (10_000, 100, 500),
    (10_000, 200, 500),
    (10_000, 500, 500),
    (10_000, 500, 1_000),
    (10_000, 500, 2_000),
    (10_000, 500, 5_000),
)
COMMANDS = ("plan", "plan --format yaml", "plan --format kubectl", "validate")
TARGET_SECONDS = 2.0


def stack_file(nodes: int, leaves: int, eips: int) -> dict[str, Any]:
    """One address per Eip, in 198.18.0.0/15 (RFC 2544's benchmarking range)."""
    addresses = [
        f"198.{18 + index // 65536}.{index // 256 % 256}.{index % 256}" for index in range(eips)
    ]
    return {
        "config": {
            "openelb-ha:openelb": {"version": "0.5", "mode": "bgp"},
            "openelb-ha:bgp": {"as": 64600},
            "openelb-ha:eips": addresses,
            "openelb-ha:topology": topology(nodes, leaves),
        }
    }


def run(command: str, stack: str, directory: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit status) of one command on ``stack``."""
    words = command.split()
    if words[0] == "plan":
        args = [*words, "--stack", stack, "--allow-skipped"]
    else:
        args = [*words, f"stacks/Pulumi.{stack}.yaml"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "openelb_component", *args],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def table(rows: Sequence[tuple[int, int, int]], rounds: int) -> list[str]:
    lines = [
        "| nodes | leaves | eips | "
        + " | ".join(f"{command} s (CPU)" for command in COMMANDS)
        + " |",
        "|" + " ---: |" * (3 + len(COMMANDS)),
    ]
    slowest = {command: 0.0 for command in COMMANDS}
    with tempfile.TemporaryDirectory(prefix="openelb-ha-bench-") as temporary:
        directory = Path(temporary)
        (directory / "stacks").mkdir()
        for nodes, leaves, eips in rows:
            stack = f"bench-{nodes}-{leaves}-{eips}"
            text = yaml.safe_dump(stack_file(nodes, leaves, eips), sort_keys=False)
            (directory / "stacks" / f"Pulumi.{stack}.yaml").write_text(text)
            best = {command: (math.inf, math.inf) for command in COMMANDS}
            failed: set[str] = set()
            for _ in range(rounds):
                for command in COMMANDS:
                    wall, cpu, status = run(command, stack, directory)
                    if status != 0:
                        failed.add(command)
                    best[command] = (min(best[command][0], wall), min(best[command][1], cpu))
            cells = []
            for command in COMMANDS:
                wall, cpu = best[command]
                slowest[command] = max(slowest[command], wall)
                mark = " (failed)" if command in failed else ""
                cells.append(f"{wall:.2f} ({cpu:.2f}){mark}")
            lines.append(f"| {nodes} | {leaves} | {eips} | " + " | ".join(cells) + " |")
            print(lines[-1], f"(load {load()})", file=sys.stderr, flush=True)
    lines.append("")
    lines += [
        f"slowest {command}: {seconds:.2f} s wall"
        + (f" (target < {TARGET_SECONDS:.0f} s)" if command in ("plan", "validate") else "")
        for command, seconds in slowest.items()
    ]
    return lines


def _row(text: str) -> tuple[int, int, int]:
    nodes, leaves, eips = (int(part) for part in text.split("/"))
    return nodes, leaves, eips


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=_row, nargs="+", default=ROWS, help="nodes/leaves/eips")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, best kept")
    args = parser.parse_args(argv)
    from openelb_component.plan import upstream

    folder = upstream.manifests_dir()
    present = all(upstream.manifest_path(version).is_file() for version in upstream.RELEASES)
    print(header("plan and validate on generated stacks"))
    print(f"upstream manifests: {folder}" + ("" if present else " (absent: checks skipped)"))
    print("\n".join(table(args.rows, args.rounds)))
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main(sys.argv[1:])
