"""Scale benchmark: the program under Pulumi's mocks against a bare program that registers the
same resources.

    make bench                                          # docs/benchmarks.md's figures
    .venv/bin/python -m bench.bench --nodes 500 1000 --leaves 20 --rounds 1

Both programs run through the same harness (``tests/support/harness.run_under_mocks``) against
the same fake cluster, whose Node reads return a node as a kubelet reports it
(``bench/state.py``'s ``kubelet_node``: managedFields, conditions, addresses, and ``--images``
entries of ``status.images``, 50 by default, the kubelet's ``NodeStatusMaxImages``):

- program: the real program (stack keys -> validation -> desired state -> component), a
  ``multi-leaf`` stack of N nodes spread evenly over L leaves, each leaf with a peer;
- bare: the program's own objects (its desired state, computed before the clock starts)
  registered directly as pulumi-kubernetes resources, each patch after a read of its target and
  after the objects it depends on, and nothing done with the reads: the same registrations as
  the program but its one component resource.

Every run is a fresh interpreter (so its peak memory is its own), the two programs alternate
round by round (a burst of load on the shared machine hits both alike) and each figure is the
best round. Times are CPU seconds of the run (``time.process_time``: another process holding the
core doubles wall time, not CPU time); wall time is printed beside. Memory is the growth of the
interpreter's peak RSS during the run (``resource.getrusage``), per node.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.machine import header, load

ROOT = Path(__file__).resolve().parent.parent

NODES = (500, 1_000, 2_000, 5_000)
LEAVES = (20,)
IMAGES = 50
VARIANTS = ("program", "bare")
TARGET_RATIO = 1.3
NODE_TYPE = "kubernetes:core/v1:Node"


def topology(nodes: int, leaves: int) -> dict[str, Any]:
    """N nodes over L leaves round robin; replicasPerLeaf 2, or 1 when a leaf has one node."""
    members = [[f"worker-{i:05d}" for i in range(j, nodes, leaves)] for j in range(leaves)]
    return {
        "kind": "multi-leaf",
        "replicasPerLeaf": min(2, nodes // leaves),
        "leaves": [
            {
                "name": f"leaf{j}",
                "nodes": names,
                "peer": {"address": f"10.{j // 256}.{j % 256}.1", "asn": 64512},
            }
            for j, names in enumerate(members)
        ],
    }


def possible(nodes: int, leaves: int) -> bool:
    return nodes >= leaves  # every leaf needs at least one node


def _bare(objects: Sequence[Any]) -> Callable[[], None]:
    """The program's objects (its desired state, computed before timing) registered directly as
    pulumi-kubernetes resources: no config, no validation, no component, nothing read."""

    def program() -> None:
        import pulumi
        import pulumi_kubernetes as k8s

        # The component's own class tables (only which class applies which kind); the bare
        # program still registers everything itself.
        from openelb_component.component.openelb_ha import (
            CREATE_CLASSES,
            PATCH_CLASSES,
            READ_FUNCTIONS,
        )

        registered: dict[str, pulumi.Resource] = {}
        for obj in objects:
            deps = [registered[key] for key in obj.depends_on]
            body = obj.body
            ref = (obj.api_version, obj.kind)
            if ref in PATCH_CLASSES:
                if obj.must_exist:
                    deps.append(READ_FUNCTIONS[ref](f"{obj.key}-existing", obj.object_id))
                resource = PATCH_CLASSES[ref](
                    obj.key, opts=pulumi.ResourceOptions(depends_on=deps), **body
                )
            elif ref in CREATE_CLASSES:
                resource = CREATE_CLASSES[ref](
                    obj.key, opts=pulumi.ResourceOptions(depends_on=deps), **body
                )
            else:
                custom = (
                    k8s.apiextensions.CustomResourcePatch
                    if obj.action == "patch"
                    else k8s.apiextensions.CustomResource
                )
                resource = custom(
                    obj.key,
                    api_version=obj.api_version,
                    kind=obj.kind,
                    opts=pulumi.ResourceOptions(depends_on=deps),
                    **body,
                )
            registered[obj.key] = resource

    return program


def _prepared(variant: str, config: dict[str, Any], images: int) -> Callable[[], Any]:
    """One run of one program, ready to start: what the clock and the memory figure leave out
    (the fake cluster's Node objects; the bare program's desired state, which it gets for free)
    is made here."""
    from bench.state import kubelet_node
    from openelb_component.component.program import main
    from openelb_component.config.loading import load_config
    from openelb_component.desired import desired_state
    from tests.support.harness import FakeCluster, run_under_mocks

    names = [name for leaf in config["leaves"] for name in leaf["nodes"]]
    live = {(NODE_TYPE, n): kubelet_node(n, i, images) for i, n in enumerate(names)}
    cluster = FakeCluster(live=live)
    if variant == "program":
        return lambda: run_under_mocks(main, {"topology": config}, cluster=cluster)
    objects = desired_state(load_config({"topology": config})).objects
    return lambda: run_under_mocks(_bare(objects), {}, cluster=cluster)


def measure(variant: str, nodes: int, leaves: int, images: int) -> dict[str, float]:
    """One run of one program at one size, in this interpreter."""
    _prepared(variant, topology(2, 1), images)()  # imports and the runtime warmed up
    config = topology(nodes, leaves)
    run_once = _prepared(variant, config, images)
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, start_cpu = time.perf_counter(), time.process_time()
    run, error = run_once()
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
    if error is not None:
        raise error
    growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kib
    return {
        "cpu_seconds": cpu,
        "seconds": wall,
        "growth_kib": growth_kib,
        "registrations": len(run.registrations),
        "own_seconds": own_code_seconds(config) if variant == "program" else 0.0,
    }


def own_code_seconds(config: dict[str, Any]) -> float:
    """CPU time of this project's own work, without Pulumi: validation and the desired state."""
    from openelb_component.config.loading import load_config
    from openelb_component.desired import desired_state

    best = math.inf
    for _ in range(3):
        start = time.process_time()
        desired_state(load_config({"topology": config}))
        best = min(best, time.process_time() - start)
    return best


def measure_in_child(variant: str, nodes: int, leaves: int, images: int) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "bench.bench",
        "--child",
        variant,
        str(nodes),
        str(leaves),
        str(images),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout  # noqa: S603
    result: dict[str, float] = json.loads(output.splitlines()[-1])
    return result


def measure_both(nodes: int, leaves: int, images: int, rounds: int) -> dict[str, dict[str, float]]:
    """Both programs, alternating round by round, keeping each figure's best round."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(rounds):
        for variant in VARIANTS:
            result = measure_in_child(variant, nodes, leaves, images)
            kept = best.setdefault(variant, result)
            for key, value in result.items():
                kept[key] = min(kept[key], value)
    return best


def table(sizes: Sequence[tuple[int, int]], images: int, rounds: int) -> list[str]:
    rows = [
        "| nodes | leaves | registrations | program CPU s | bare CPU s | program/bare "
        "| program wall s | program KiB/node | bare KiB/node | own code ms |",
        "|" + " ---: |" * 10,
    ]
    points: dict[str, dict[int, list[tuple[int, float]]]] = {}
    ratios: list[float] = []
    for nodes, leaves in sizes:
        if not possible(nodes, leaves):
            rows.append(f"| {nodes} | {leaves} | skipped: fewer nodes than leaves |" + " |" * 7)
            continue
        result = measure_both(nodes, leaves, images, rounds)
        program, bare = result["program"], result["bare"]
        ratio = program["cpu_seconds"] / bare["cpu_seconds"]
        ratios.append(ratio)
        for variant in VARIANTS:
            series = points.setdefault(variant, {}).setdefault(leaves, [])
            series.append((nodes, result[variant]["cpu_seconds"]))
        rows.append(
            f"| {nodes} | {leaves} | {int(program['registrations'])} "
            f"| {program['cpu_seconds']:.2f} | {bare['cpu_seconds']:.2f} | {ratio:.2f} "
            f"| {program['seconds']:.2f} | {program['growth_kib'] / nodes:.0f} "
            f"| {bare['growth_kib'] / nodes:.0f} | {program['own_seconds'] * 1e3:.0f} |"
        )
        print(rows[-1], f"(load {load()})", file=sys.stderr, flush=True)
    rows.append("")
    if ratios:
        rows.append(
            f"program/bare CPU: {min(ratios):.2f} to {max(ratios):.2f} (target <= {TARGET_RATIO})"
        )
    rows += [line for label, series in points.items() for line in growth(label, series)]
    return rows


def growth(label: str, series: dict[int, list[tuple[int, float]]]) -> list[str]:
    """The exponent of CPU time between consecutive sizes: 1 is linear, 2 quadratic."""
    lines = []
    for leaves, points in sorted(series.items()):
        steps = [
            f"{n1}->{n2}: {math.log(t2 / t1) / math.log(n2 / n1):.2f}"
            for (n1, t1), (n2, t2) in itertools.pairwise(points)
            if t1 > 0 and n2 > n1
        ]
        if steps:
            lines.append(f"growth exponent, {label}, {leaves} leaves: " + ", ".join(steps))
    return lines


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=NODES)
    parser.add_argument("--leaves", type=int, nargs="+", default=LEAVES)
    parser.add_argument("--images", type=int, default=IMAGES, help="status.images per node")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds, best kept")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        variant, nodes, leaves, images = args.child
        print(json.dumps(measure(variant, int(nodes), int(leaves), int(images))))
        return
    print(header("program under mocks against the bare program"))
    print(f"node reads as a kubelet reports them, {args.images} images each")
    sizes = [(nodes, leaves) for leaves in args.leaves for nodes in args.nodes]
    print("\n".join(table(sizes, args.images, args.rounds)))
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main(sys.argv[1:])
