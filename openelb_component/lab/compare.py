"""``lab --compare``: one scenario with the model of OpenELB and with OpenELB itself, side by
side, and where they differ.

Each leaf's final sessions and next hops, its fewest usable paths, its longest time without one
and its time forwarding to a dead node are compared; times differ when they are further apart
than the two runs' sampling intervals added: a run sees a gap begin and end each up to one
interval late, so its figure is off by less than one interval either way, and two runs' figures
for the same event by less than the sum (a gap shorter than an interval may be missed). The
leaf a scenario faults on purpose (``wrong-password``'s) has no session in either run, as
intended; its "longest gap" is only how long it was watched, so it is shown, not compared.
A blackhole is given one keepalive interval more: a router drops a node without power
when its hold timer expires, counted from the last keepalive it received, which the node sent
at a moment anywhere in the keepalive interval before the power went (RFC 4271 §4.4, §8.2.2:
the timer restarts on each KEEPALIVE), whichever implementation sends it. The real run's own
problems (a live speaker that announces nothing) are differences too: the model never has them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openelb_component.lab.real.binaries import find
from openelb_component.lab.run import apply_overrides, run_lab
from openelb_component.lab.scenarios import LabOptions
from openelb_component.lab.scenarios.base import LabResult, LeafResult
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.stackfile import StackFile

MODES = ("model", "real")


@dataclass(frozen=True)
class Row:
    leaf: str
    what: str
    model: str
    real: str
    differs: bool


@dataclass
class Comparison:
    stack: str
    scenario: str
    tolerance: float
    blackhole_tolerance: float
    rows: list[Row] = field(default_factory=list)
    only_real: list[str] = field(default_factory=list)
    """Problems of the real run the model cannot have."""
    results: dict[str, LabResult] = field(default_factory=dict)

    @property
    def agree(self) -> bool:
        return not self.only_real and not any(row.differs for row in self.rows)

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "scenario": self.scenario,
            "agree": self.agree,
            "toleranceSeconds": self.tolerance,
            "blackholeToleranceSeconds": self.blackhole_tolerance,
            "differences": [dataclasses.asdict(row) for row in self.rows if row.differs],
            "onlyReal": self.only_real,
            "runs": {mode: result.as_json() for mode, result in self.results.items()},
        }

    def render(self) -> str:
        width = max([len(row.model) for row in self.rows] + [len("model")])
        lines = [
            f"lab --compare: stack {self.stack}, scenario {self.scenario} (times agree within "
            f"{self.tolerance:.2f} s, the two sampling intervals; blackholes within "
            f"{self.blackhole_tolerance:.2f} s, plus a keepalive interval)",
            f"{'leaf':<8} {'':<22} {'model':<{width}}  real",
        ]
        for row in self.rows:
            mark = "  <- differs" if row.differs else ""
            lines.append(f"{row.leaf:<8} {row.what:<22} {row.model:<{width}}  {row.real}{mark}")
        lines += [f"only real: {problem}" for problem in self.only_real]
        lines.append("they agree" if self.agree else "they differ")
        return "\n".join(lines) + "\n"


def _paths(leaf: LeafResult, names: dict[str, str]) -> str:
    parts = [
        f"{address} via {', '.join(names.get(h, h) for h in hops) or 'nothing'}"
        for address, hops in leaf.paths.items()
    ]
    return "; ".join(parts) or "-"


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _to_the_end(leaf: LeafResult, result: LabResult, tolerance: float) -> bool:
    watched = result.measured.seconds if result.measured else None
    return bool(leaf.blackhole) and watched is not None and leaf.blackhole >= watched - tolerance


def compare_results(model: LabResult, real: LabResult, keepalive_interval: float) -> Comparison:
    intervals = [
        float(result.details.get("longestSampleIntervalSeconds") or 0.0) for result in (model, real)
    ]
    tolerance = sum(intervals)
    comparison = Comparison(model.stack, model.scenario, tolerance, tolerance + keepalive_interval)
    comparison.results = {"model": model, "real": real}
    for name in sorted(set(model.leaves) | set(real.leaves)):
        a, b = model.leaves.get(name), real.leaves.get(name)
        if a is None or b is None:
            comparison.rows.append(Row(name, "leaf", str(a is not None), str(b is not None), True))
            continue
        texts = [
            ("sessions", ", ".join(a.established) or "none", ", ".join(b.established) or "none"),
            ("next hops (end)", _paths(a, model.node_of_address), _paths(b, real.node_of_address)),
            ("fewest usable paths", str(a.min_paths), str(b.min_paths)),
        ]
        for what, left, right in texts:
            comparison.rows.append(Row(name, what, left, right, left != right))
        faulted = name in (model.faulted_leaf, real.faulted_leaf)
        gap_differs = not faulted and abs(a.longest_gap - b.longest_gap) > comparison.tolerance
        real_gap = _seconds(b.longest_gap)
        if faulted:
            real_gap += " (the faulted leaf: watched, not compared)"
        comparison.rows.append(
            Row(name, "longest gap", _seconds(a.longest_gap), real_gap, gap_differs)
        )
        # A blackhole still there when each run stopped watching is the same finding, however
        # long each run watched.
        ends = [_to_the_end(x, r, comparison.tolerance) for x, r in ((a, model), (b, real))]
        differs = ends[0] != ends[1] or (
            not ends[0] and abs(a.blackhole - b.blackhole) > comparison.blackhole_tolerance
        )
        shown = [
            _seconds(x.blackhole) + (" (to the end)" if end else "")
            for x, end in zip((a, b), ends, strict=True)
        ]
        comparison.rows.append(Row(name, "blackhole", shown[0], shown[1], differs))
    # The same problem with other figures is compared above, row by row.
    seen = {_shape(problem) for problem in model.problems}
    comparison.only_real = [p for p in real.problems if _shape(p) not in seen]
    return comparison


def _shape(problem: str) -> str:
    return re.sub(r"\d+(\.\d+)?", "N", problem)


def run_both(
    stack: StackFile, scenario: str, options: LabOptions, overrides: Sequence[str] = ()
) -> Comparison:
    """The scenario in both modes, one after the other (the model's first: it is quick).
    Without usable binaries it stops before either run (``BinariesUnavailable``)."""
    config = load_stack_config(apply_overrides(stack, overrides))
    find(config.openelb.version, options.openelb_binaries)
    results = {
        mode: run_lab(
            stack,
            scenario,
            options=dataclasses.replace(
                options,
                openelb=mode,
                logs=None if options.logs is None else options.logs / mode,
            ),
            overrides=overrides,
        )
        for mode in MODES
    }
    keepalive = config.timers.keepalive_interval
    return compare_results(results["model"], results["real"], keepalive)
