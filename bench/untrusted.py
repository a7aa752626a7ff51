"""How long every offline command takes on the worst stack files of at most 64 KiB.

Not a test (a timed test fails on a loaded machine): it prints a table of wall times, each the
best of ``--rounds`` runs of ``python -m openelb_component <command>`` as a user runs it
(interpreter start and imports included), with the machine's load. The goal is an answer, an
error or a plan, within 2 s on every input (a 565-byte alias bomb once took 25-30 s).

    .venv/bin/python -m bench.untrusted [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from openelb_component.config.errors import ConfigError
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.stackfile import StackFileError, read_stack
from openelb_component.plan.stackyaml import ALIAS_BUDGET

LIMIT_BYTES = 64 * 1024
GOAL_SECONDS = 2.0
ROOT = Path(__file__).resolve().parents[1]


def _bomb() -> str:
    lines = ["  kubernetes:a: &a [x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"  kubernetes:{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines)


def _aliases_within_budget() -> str:
    """Just under the budget: 9,800 values reached through aliases, all read."""
    return (
        "  kubernetes:a: &a [" + ", ".join(["x"] * 98) + "]\n"
        "  kubernetes:b: [" + ", ".join(["*a"] * 99) + "]"
    )


def _leaves(count: int) -> str:
    leaves = "".join(
        f"      - {{name: l{i}, nodes: [n{i}a, n{i}b], peer: {{address: 10.{i // 250}.{i % 250}.1,"
        f" asn: 65001}}}}\n"
        for i in range(count)
    )
    return f"  openelb-ha:topology:\n    kind: multi-leaf\n    leaves:\n{leaves.rstrip()}"


def _eips(count: int) -> str:
    eips = ", ".join(f"198.{18 + i // 65536}.{i // 256 % 256}.{i % 256}/32" for i in range(count))
    return f"  openelb-ha:eips: [{eips}]"


BASE = (
    "  openelb-ha:bgp: {as: 64600}\n"
    "  openelb-ha:topology:\n"
    "    kind: multi-leaf\n"
    "    leaves:\n"
    "      - {name: leaf1, nodes: [a, b], peer: {address: 192.0.2.1, asn: 65001}}"
)

INPUTS: dict[str, Callable[[], str]] = {
    "alias bomb (9^8 values)": lambda: BASE + "\n" + _bomb(),
    f"aliases just under the budget ({ALIAS_BUDGET})": lambda: (
        BASE + "\n" + _aliases_within_budget()
    ),
    "nesting 20,000 deep": lambda: BASE + "\n  kubernetes:x: " + "[" * 20_000,
    "the most leaves that fit": lambda: "  openelb-ha:bgp: {as: 64600}\n" + _leaves(700),
    "the most /32 eips that fit": lambda: BASE + "\n" + _eips(3000),
}
COMMANDS = {
    "validate": ["validate", "stacks/Pulumi.x.yaml"],
    "plan": ["plan", "--stack", "x", "--allow-skipped"],
    "router-config": ["router-config", "--stack", "x", "--output-dir", "out"],
}


def _run(folder: Path, command: list[str], rounds: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds (the child's user + system time) of ``rounds`` runs."""
    best_wall, best_cpu, status = float("inf"), float("inf"), 0
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - this project's own command
            [sys.executable, "-m", "openelb_component", *command],
            cwd=folder,
            capture_output=True,
            timeout=600,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu, status = min(best_wall, wall), min(best_cpu, cpu), done.returncode
    return best_wall, best_cpu, status


def _load(path: Path, rounds: int) -> tuple[float, str]:
    """CPU seconds to read the stack file and validate its configuration, in this process."""
    best, outcome = float("inf"), ""
    for _ in range(rounds):
        started = time.process_time()
        try:
            load_stack_config(read_stack(path))
            outcome = "valid"
        except ConfigError as error:
            outcome = f"{len(error.problems)} problem(s)"
        except StackFileError:
            outcome = "refused"
        best = min(best, time.process_time() - started)
    return best, outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.untrusted")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one input, validate only (tests)")
    args = parser.parse_args(argv)
    inputs = dict(list(INPUTS.items())[:1]) if args.quick else INPUTS
    commands = dict(list(COMMANDS.items())[:1]) if args.quick else COMMANDS
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average before: {load}")
    print(
        "| input | bytes | loader CPU s (result) | "
        + " | ".join(f"{name}: wall s, CPU s (exit)" for name in commands)
        + " |"
    )
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in commands) + " |")
    worst_loader, worst_cpu = 0.0, 0.0
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "stacks").mkdir()
        path = folder / "stacks" / "Pulumi.x.yaml"
        for name, make in inputs.items():
            text = "config:\n" + make() + "\n"
            size = len(text.encode())
            if size > LIMIT_BYTES:
                raise SystemExit(f"{name}: {size} bytes, more than {LIMIT_BYTES}")
            path.write_text(text)
            loader, outcome = _load(path, args.rounds)
            worst_loader = max(worst_loader, loader)
            cells = []
            for command in commands.values():
                wall, cpu, status = _run(folder, command, args.rounds)
                worst_cpu = max(worst_cpu, cpu)
                cells.append(f"{wall:.2f}, {cpu:.2f} ({status})")
            print(f"| {name} | {size} | {loader:.2f} ({outcome}) | " + " | ".join(cells) + " |")
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average after: {load}")
    print(f"worst loader CPU: {worst_loader:.2f} s; worst command CPU: {worst_cpu:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
