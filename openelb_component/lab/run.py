"""Run a lab scenario on a stack file, and print its result as text or JSON."""

from __future__ import annotations

import os
import time

from openelb_component.desired import desired_state
from openelb_component.lab import changes, leftovers, scenarios
from openelb_component.lab.fabric import Fabric, check_host
from openelb_component.lab.layout import Faults, Layout, build_layout
from openelb_component.lab.scenarios import Lab, LabResult, Sampler
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.stackfile import StackFile

RUNNERS = {
    **scenarios.RUNNERS,
    "membership-change": changes.membership_change,
    "bgpconf-change": changes.bgpconf_change,
}


def lab_layout(stack: StackFile, faults: Faults | None = None) -> Layout:
    config = load_stack_config(stack)
    return build_layout(stack.name, config, desired_state(config), os.getpid(), faults)


def run_lab(
    stack: StackFile,
    scenario: str = "steady",
    faults: Faults | None = None,
    converge_timeout: float = scenarios.CONVERGE_TIMEOUT,
    router: str = "frr",
) -> LabResult:
    """``ConfigError`` for an invalid stack, ``LabUnavailable`` when this machine cannot run the
    lab, ``LabError`` when the stack does not fit in it."""
    started = time.monotonic()
    layout = lab_layout(stack, faults)
    if scenario == "wrong-password" and faults is None and layout.leaves:
        # The scenario's fault: the first leaf's router (the one it then expects down).
        faults = Faults(router_password={layout.leaves[0].name: "wrong-lab-password"})
        layout = lab_layout(stack, faults)
    if not layout.leaves:
        return LabResult(
            stack=stack.name,
            scenario=scenario,
            ok=True,
            leaves={},
            notes=[
                f"stack {stack.name!r} has no leaf with a peer: it manages no BGP session, so "
                "there is nothing to run"
            ],
        )
    check_host()
    # Whatever earlier runs killed mid-way left (their owner is gone): never a live run's.
    cleaned = leftovers.cleanup_dead_runs()
    with leftovers.run_record("lab") as record, Fabric(layout, record, router) as fabric:
        fabric.build()
        with Sampler(fabric) as sampler:
            config = load_stack_config(stack)
            lab = Lab(layout, fabric, sampler, converge_timeout, config, desired_state(config))
            result = RUNNERS[scenario](lab)
    if cleaned.removed_anything:
        result.notes.append("before this run: " + cleaned.render().replace("\n", "; "))
    if router == "bird":
        result.notes.append(
            "BIRD routers: BIRD drops a path whose next hop is off its link when it receives it, "
            "so next hops sent off the link are not visible here (run with FRR to see them)"
        )
    result.details["router"] = router
    result.details["runSeconds"] = round(time.monotonic() - started, 2)
    return result


def render_text(result: LabResult) -> str:
    names = result.node_of_address

    def named(address: str) -> str:
        return f"{address} ({names[address]})" if address in names else address

    status = "ok" if result.ok else "MISMATCH"
    lines = [f"lab: stack {result.stack}, scenario {result.scenario}: {status}"]
    for leaf_name, leaf in result.leaves.items():
        lines.append(
            f"leaf {leaf_name}: sessions {len(leaf.established)}/{len(leaf.expected)} established"
            + (f" ({', '.join(leaf.established)})" if leaf.established else "")
        )
        for address, hops in leaf.paths.items():
            wrong = leaf.wrong_next_hops.get(address, [])
            text = f"  {address}: {len(hops)} path(s)"
            if hops:
                text += " via " + ", ".join(named(h) for h in hops)
            if wrong:
                text += f"; next hops not on {leaf_name}'s link: " + ", ".join(
                    named(h) for h in wrong
                )
            lines.append(text)
        if leaf.min_paths is not None:
            lines.append(
                f"  during the scenario: at least {leaf.min_paths} usable path(s); longest time "
                f"without one {leaf.longest_gap:.2f} s"
            )
    details = {k: v for k, v in result.details.items() if v is not None}
    if details:
        lines.append("scenario: " + ", ".join(f"{k} {v}" for k, v in details.items()))
    lines += [f"problem: {p}" for p in result.problems]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines) + "\n"
