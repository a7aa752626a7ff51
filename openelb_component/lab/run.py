"""Run a lab scenario on a stack file, with overrides, and return its result.

A run first removes what earlier runs that were killed left (``leftovers``), records everything
it creates, and builds its fabric(s) through the scenario's ``Session``. Configurations are
compared by running the same scenario on the same stack with other ``--set`` overrides: the
result's ``settings`` say exactly what each run used.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Sequence
from typing import Any

import yaml

from openelb_component.config.errors import ConfigError, Problem
from openelb_component.desired import desired_state
from openelb_component.lab import leftovers
from openelb_component.lab.fabric import check_host
from openelb_component.lab.layout import Faults, Layout, build_layout
from openelb_component.lab.report import Progress
from openelb_component.lab.scenarios import RUNNERS, LabOptions, LabResult, Session
from openelb_component.lab.scenarios.base import CONVERGE_TIMEOUT
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.stackfile import StackFile
from openelb_component.routers import openelb

OVERRIDE = re.compile(
    r"^(?P<key>[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*)=(?P<value>.*)$", re.S
)
"""``--set`` syntax: a dotted path of stack keys (without ``openelb-ha:``), ``=``, a YAML value."""


def apply_overrides(stack: StackFile, overrides: Sequence[str]) -> StackFile:
    """The stack file with ``KEY=VALUE`` overrides (``openelb.minReadySeconds=0``); the value
    is read as YAML. ``ConfigError`` naming every malformed override; the result is then
    validated like any stack file."""
    config: dict[str, Any] = _copy(stack.config)
    problems = []
    for index, text in enumerate(overrides):
        match = OVERRIDE.match(text)
        value: Any = None
        if match is not None:
            try:
                value = yaml.safe_load(match.group("value"))
            except yaml.YAMLError:
                match = None
        if match is None:
            problems.append(
                Problem(
                    ("--set", index),
                    "expected KEY=VALUE with KEY a dotted path of stack keys (e.g. "
                    "openelb.minReadySeconds=0) and VALUE a YAML value",
                    text,
                )
            )
            continue
        *parents, last = match.group("key").split(".")
        node = config
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                problems.append(
                    Problem(("--set", index), f"{part} is not a map in this stack", text)
                )
                break
            node = child
        else:
            node[last] = value
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(stack, config=config)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def lab_layout(stack: StackFile, faults: Faults | None = None) -> Layout:
    config = load_stack_config(stack)
    return build_layout(stack.name, config, desired_state(config), os.getpid(), faults)


def settings(options: LabOptions, overrides: Sequence[str], version: str) -> dict[str, Any]:
    """What a run used, for its report: comparing two runs means comparing these."""
    return {
        "openelb": f"{version} as modelled (GoBGP configured as OpenELB configures it)"
        if options.openelb == "model"
        else f"{version}, its own binaries ({options.openelb_binaries}) against a real control "
        "plane",
        "router": options.router,
        **options.timing.as_json(),
        **({"overrides": list(overrides)} if overrides else {}),
    }


def run_lab(
    stack: StackFile,
    scenario: str = "steady",
    faults: Faults | None = None,
    converge_timeout: float = CONVERGE_TIMEOUT,
    router: str = "frr",
    options: LabOptions | None = None,
    overrides: Sequence[str] = (),
) -> LabResult:
    """``ConfigError`` for an invalid stack or override, ``LabUnavailable`` when this machine
    cannot run the lab, ``LabError`` when the stack does not fit in it."""
    started = time.monotonic()
    if options is None:
        options = LabOptions(router=router, faults=faults, converge_timeout=converge_timeout)
    stack = apply_overrides(stack, overrides)
    config = load_stack_config(stack)
    state = desired_state(config)
    if not openelb.bgp_peers(state):
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
    progress = Progress(options.progress) if options.progress else None
    if progress:
        options = dataclasses.replace(options, progress=progress.say)
    with leftovers.run_record("lab") as record:
        session = Session(stack.name, config, state, options, record)
        if progress:
            progress.session = session
            with progress:
                result = RUNNERS[scenario](session)
        else:
            result = RUNNERS[scenario](session)
    if session.kept_logs:
        folders = "lab1" if session.labs_built == 1 else f"lab1 to lab{session.labs_built}"
        result.notes.append(
            f"logs: {len(session.kept_logs)} files kept in {options.logs}, {folders} (a "
            "folder per fabric, in the order the scenario built them)"
        )
    if cleaned.removed_anything:
        result.notes.append("before this run: " + cleaned.render().replace("\n", "; "))
    if options.router == "bird":
        result.notes.append(
            "BIRD routers: BIRD drops a path whose next hop is off its link when it receives it, "
            "so next hops sent off the link are not visible here (run with FRR to see them)"
        )
    result.settings = settings(options, overrides, config.openelb.version)
    result.details["runSeconds"] = round(time.monotonic() - started, 2)
    return result
