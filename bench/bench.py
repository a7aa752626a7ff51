"""Scale benchmark: the program under Pulumi's mocks against bare pulumi-kubernetes resources.

    make bench                                   # the README's table (a few minutes)
    .venv/bin/python -m bench.bench --nodes 10 100 --leaves 1 --rounds 1

Each measurement runs in a fresh interpreter (so peak memory is its own) and times one run of
a Pulumi program under the test harness's recording mocks (tests/harness.run_under_mocks):

- program: the real program (config -> validation -> desired state -> component), a
  multi-leaf stack of N nodes spread evenly over L leaves, each leaf with a BgpPeer;
- baseline: the same registrations made directly, without this project's config, validation or
  component: the program's own objects (its desired state, computed before the clock starts)
  registered as bare pulumi-kubernetes resources, each patch after a read of its target and
  after the objects it depends on. Same count as the program minus its one component resource:
  for N nodes and L leaves, 2N + 2 + 1 + L registrations (N + 1 reads, the PodDisruptionBudget);
- bare: only the N + 1 + 1 + L resources, no reads and no dependencies; shown to say what the
  reads that guard every patch cost, which the program needs and the baseline repeats.

Ratios and the per-node figure use CPU time (``time.process_time``): on a shared machine the
wall time of one run can double while another process holds the core, CPU time does not. The
wall time is printed beside it.

Peak memory is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the measuring interpreter
(whole process, imports included; tracemalloc would slow the run it measures), and the growth
over the interpreter's size just before the run.
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

ROOT = Path(__file__).resolve().parent.parent

NODES = (10, 100, 1_000, 5_000)
LEAVES = (1, 10, 100)
VARIANTS = ("program", "baseline", "bare")
TARGET_RATIO = 1.2


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


def _baseline(objects: Sequence[Any], with_reads: bool) -> Callable[[], None]:
    """The program's objects (its desired state, computed before timing) registered directly as
    pulumi-kubernetes resources: no config, no validation, no component."""

    def program() -> None:
        import pulumi
        import pulumi_kubernetes as k8s

        # The component's own class tables (only which class applies which kind); the baseline
        # still registers everything itself: no config, no validation, no component.
        from openelb_component.component.openelb_ha import (
            CREATE_CLASSES,
            PATCH_CLASSES,
            READ_FUNCTIONS,
        )

        registered: dict[str, pulumi.Resource] = {}
        for obj in objects:
            deps = [registered[key] for key in obj.depends_on] if with_reads else []
            body = obj.body
            ref = (obj.api_version, obj.kind)
            if ref in PATCH_CLASSES:
                if with_reads and obj.must_exist:
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


def measure(variant: str, nodes: int, leaves: int, repeat: int) -> dict[str, float]:
    """One variant at one size, in this interpreter: the best of ``repeat`` runs."""
    from openelb_component.component.program import main
    from openelb_component.config.loading import load_config
    from openelb_component.desired import desired_state
    from tests.support.harness import run_under_mocks

    def objects_of(config: dict[str, Any]) -> Sequence[Any]:
        return desired_state(load_config({"topology": config})).objects

    def once(config: dict[str, Any], objects: Sequence[Any]) -> int:
        if variant == "program":
            run, error = run_under_mocks(main, {"topology": config})
        else:
            run, error = run_under_mocks(_baseline(objects, variant == "baseline"), {})
        if error is not None:
            raise error
        return len(run.registrations)

    tiny = topology(2, 1)
    once(tiny, objects_of(tiny))  # warm up imports and the runtime, for every variant
    config = topology(nodes, leaves)
    objects = objects_of(config)  # outside the timed runs: the baseline gets it for free
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best, best_cpu = math.inf, math.inf
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        registrations = once(config, objects)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    own = own_code_seconds(config, repeat) if variant == "program" else 0.0
    return {
        "own_seconds": own,
        "seconds": best,
        "cpu_seconds": best_cpu,
        "peak_mib": peak_kib / 1024,
        "growth_mib": (peak_kib - before_kib) / 1024,
        "registrations": registrations,
    }


def own_code_seconds(config: dict[str, Any], repeat: int) -> float:
    """CPU time of this project's own work, without Pulumi: validation and the desired state."""
    from openelb_component.config.loading import load_config
    from openelb_component.desired import desired_state

    best = math.inf
    for _ in range(max(repeat, 3)):
        start = time.process_time()
        desired_state(load_config({"topology": config}))
        best = min(best, time.process_time() - start)
    return best


def measure_in_child(variant: str, nodes: int, leaves: int) -> dict[str, float]:
    repeat = 20 if nodes <= 10 else 5 if nodes <= 100 else 1
    command = [
        sys.executable,
        "-m",
        "bench.bench",
        "--child",
        variant,
        str(nodes),
        str(leaves),
        str(repeat),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout  # noqa: S603
    result: dict[str, float] = json.loads(output.splitlines()[-1])
    return result


def measure_variants(nodes: int, leaves: int, rounds: int | None) -> dict[str, dict[str, float]]:
    """Every variant, in interleaved rounds (so a burst of load on a shared machine hits them
    alike), keeping each figure's best round."""
    rounds = rounds or (3 if nodes <= 1000 else 1)
    best: dict[str, dict[str, float]] = {}
    for _ in range(rounds):
        for variant in VARIANTS:
            result = measure_in_child(variant, nodes, leaves)
            kept = best.setdefault(variant, result)
            for key, value in result.items():
                kept[key] = min(kept[key], value)
    return best


def table(sizes: Sequence[tuple[int, int]], rounds: int | None) -> list[str]:
    rows = [
        "| nodes | leaves | registrations | program wall s | program CPU s | baseline CPU s "
        "| program/baseline | bare CPU s | program/bare | program µs/node | own code ms "
        "| peak MiB program (growth) | peak MiB baseline (growth) |",
        "|" + " ---: |" * 13,
    ]
    points: dict[str, dict[int, list[tuple[int, float]]]] = {}
    worst = 0.0
    for nodes, leaves in sizes:
        if not possible(nodes, leaves):
            rows.append(f"| {nodes} | {leaves} | skipped: fewer nodes than leaves |" + " |" * 10)
            continue
        result = measure_variants(nodes, leaves, rounds)
        program, baseline, bare = (result[v] for v in VARIANTS)
        cpu = program["cpu_seconds"]
        ratio = cpu / baseline["cpu_seconds"]
        worst = max(worst, ratio)
        for label, seconds in (
            ("program", cpu),
            ("baseline", baseline["cpu_seconds"]),
            ("own code", program["own_seconds"]),
        ):
            points.setdefault(label, {}).setdefault(leaves, []).append((nodes, seconds))
        rows.append(
            f"| {nodes} | {leaves} | {int(program['registrations'])} | {program['seconds']:.3f} "
            f"| {cpu:.3f} | {baseline['cpu_seconds']:.3f} | {ratio:.2f} "
            f"| {bare['cpu_seconds']:.3f} | {cpu / bare['cpu_seconds']:.2f} "
            f"| {cpu / nodes * 1e6:.0f} | {program['own_seconds'] * 1e3:.1f} "
            f"| {program['peak_mib']:.0f} ({program['growth_mib']:+.0f}) "
            f"| {baseline['peak_mib']:.0f} ({baseline['growth_mib']:+.0f}) |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    rows.append("")
    rows.append(f"worst program/baseline CPU ratio: {worst:.2f} (target <= {TARGET_RATIO})")
    rows += [line for label, series in points.items() for line in growth(label, series)]
    return rows


def growth(label: str, series: dict[int, list[tuple[int, float]]]) -> list[str]:
    """The exponent of CPU time between consecutive sizes: 1 is linear, 2 quadratic."""
    lines = []
    for leaves, points in sorted(series.items()):
        steps = [
            f"{n1}->{n2}: {math.log(t2 / t1) / math.log(n2 / n1):.2f}"
            for (n1, t1), (n2, t2) in itertools.pairwise(points)
            if n1 >= 100 and t1 > 0  # below 100 nodes fixed costs dominate
        ]
        if steps:
            lines.append(f"growth exponent, {label}, {leaves} leaves: " + ", ".join(steps))
    return lines


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=NODES)
    parser.add_argument("--leaves", type=int, nargs="+", default=LEAVES)
    parser.add_argument("--rounds", type=int, help="rounds per size (default: 3, 1 above 1000)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        variant, nodes, leaves, repeat = args.child
        print(json.dumps(measure(variant, int(nodes), int(leaves), int(repeat))))
        return
    sizes = [(nodes, leaves) for leaves in args.leaves for nodes in args.nodes]
    print("\n".join(table(sizes, args.rounds)))


if __name__ == "__main__":
    main(sys.argv[1:])
