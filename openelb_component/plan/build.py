"""The offline plan: a stack's desired state and the checks of its result, without a cluster.

It renders the same ``desired.desired_state(config)`` the Pulumi component registers, so the two
cannot disagree; ``render.py`` turns it into YAML, a kubectl runbook or a Markdown review.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openelb_component.config.engine import decode_engine_text, engine_text
from openelb_component.config.errors import ConfigError, Problem
from openelb_component.config.loading import load_config
from openelb_component.config.models import StackConfig
from openelb_component.config.secrets import PASSWORDS_KEY, password_config_path
from openelb_component.desired import DesiredState, bgpconf_change, desired_state, peer_resets
from openelb_component.desired.addressing import eips_warning, node_addresses
from openelb_component.desired.bgp import BGP_CONF_CHANGE_UNKNOWN
from openelb_component.desired.workloads import WORKLOAD_KEY
from openelb_component.plan.checks import Verification, verify
from openelb_component.plan.ownership import ownership_checks
from openelb_component.plan.sources import WORKLOAD_KINDS, Base, Sources, upstream_sources
from openelb_component.plan.stackfile import StackFile
from openelb_component.routers.openelb import internal_ips


@dataclass(frozen=True)
class Plan:
    stack: str
    config: StackConfig
    state: DesiredState
    verification: Verification


def program_config(stack: StackFile) -> dict[str, object]:
    """The keys the Pulumi program reads from this stack: every ``openelb-ha:`` key (an
    unknown one is refused, as by the program), each as the engine hands it over and the
    program decodes it (``adopt: "true"`` is the boolean for both, ``config/engine.py``)."""
    return {key: decode_engine_text(engine_text(value)) for key, value in stack.config.items()}


def read_live_workloads(paths: Iterable[Path]) -> dict[tuple[str, str], Base]:
    """Workloads as ``kubectl get <kind> <name> -o yaml`` printed them, by (kind, name)."""
    live: dict[tuple[str, str], Base] = {}
    for path in paths:
        obj = yaml.safe_load(path.read_text())
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        if (
            not isinstance(obj, dict)
            or obj.get("kind") not in WORKLOAD_KINDS
            or obj.get("apiVersion") != "apps/v1"
            or not isinstance(metadata, dict)
            or not isinstance(metadata.get("name"), str)
        ):
            raise ValueError(
                f"{path}: not an OpenELB workload; give the output of `kubectl get deployment "
                "openelb-manager -n openelb-system -o yaml` (or the speaker DaemonSet's, or the "
                "controller Deployment's)"
            )
        live[(str(obj["kind"]), metadata["name"])] = Base(f"the live object in {path}", obj)
    return live


def _plaintext_passwords(stack: StackFile) -> list[Problem]:
    """Plaintext entries beside secure ones under ``bgpPasswords``.

    Pulumi marks the whole key secret as soon as one entry is, so the program cannot see a
    plaintext neighbour; the stack file shows it, and the plan refuses it.
    """
    passwords = stack.config.get(PASSWORDS_KEY)
    if not isinstance(passwords, Mapping) or not any(
        loc[0] == PASSWORDS_KEY for loc in stack.secure
    ):
        return []  # all plaintext: the program's own check reports the whole key
    return [
        Problem(
            (PASSWORDS_KEY, leaf),
            "stored in plaintext in the stack file; BGP passwords must be Pulumi secrets: run "
            f"pulumi config set --secret --path '{password_config_path(leaf)}' <password>",
            secret=True,
        )
        for leaf in passwords
        if (PASSWORDS_KEY, leaf) not in stack.secure
    ]


def load_stack_config(stack: StackFile) -> StackConfig:
    """The validated config of a stack file, or the program's own ``ConfigError``; a problem
    under a key holding a secure value shows ``[secret]``, never the ciphertext or a value."""
    secret_keys = {str(loc[0]) for loc in stack.secure}
    extra = [*stack.problems, *_plaintext_passwords(stack)]
    try:
        config = load_config(program_config(stack), stack_secret_keys=secret_keys)
    except ConfigError as error:
        raise ConfigError([*error.problems, *extra]) from None
    if extra:
        raise ConfigError(extra)
    return config


def build_plan(
    stack: StackFile,
    live: Mapping[tuple[str, str], Base] | None = None,
    nodes: Mapping[str, dict[str, Any]] | None = None,
) -> Plan:
    """The plan of a stack file; ``ConfigError`` when its configuration is invalid.

    ``live``: workloads from ``--workload`` files; ``nodes``: Node objects by name from
    ``--nodes``. Both are checked for field conflicts when they carry managedFields."""
    config = load_stack_config(stack)
    state = desired_state(config)
    patched = {(obj.kind, obj.name) for obj in state.objects if obj.action == "patch"}
    unused = sorted(set(live or {}) - patched)
    if unused:
        # A live object the plan would silently not use means checks against the wrong base.
        wanted = ", ".join(
            f"{kind} {name}" for kind, name in sorted(patched) if kind in WORKLOAD_KINDS
        )
        given = ", ".join(f"{kind} {name}" for kind, name in unused)
        raise ValueError(
            f"--workload {given}: this stack (OpenELB {config.openelb.version}) patches {wanted}"
        )
    sources: Sources = upstream_sources(config.openelb.version, live or {})
    state, warnings = _bgp_conf_change(config, state, live or {})
    covered = eips_warning(config, node_addresses(_internal_ips(nodes or {})))
    warnings += [covered] if covered else []
    state = dataclasses.replace(state, warnings=(*state.warnings, *warnings))
    verification = verify(state, sources)
    owned = ownership_checks(state, live or {}, nodes or {})
    verification = dataclasses.replace(verification, checks=(*verification.checks, *owned))
    return Plan(stack.name, config, state, verification)


def _internal_ips(nodes: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """Node -> InternalIP of the ``--nodes`` file's nodes, as OpenELB picks it."""
    return internal_ips({"kind": "List", "items": list(nodes.values())})


def _bgp_conf_change(
    config: StackConfig, state: DesiredState, live: Mapping[tuple[str, str], Base]
) -> tuple[DesiredState, list[str]]:
    """The program's BgpConf gate, from the live workload when the user gave it: the state
    this run applies (on 0.6 a BgpConf change replaces every speaker at once) and what the
    preview would say, including that ``up`` refuses an unacknowledged change."""
    announcing = state.by_key(WORKLOAD_KEY)
    base = live.get((announcing.kind, announcing.name))
    if base is None:
        return state, [] if state.bgp_conf_digest is None else [BGP_CONF_CHANGE_UNKNOWN]
    metadata = base.obj.get("metadata") or {}
    annotations = metadata.get("annotations")
    resets = peer_resets.reset_warnings(state, peer_resets.recorded_from(annotations))
    recorded = bgpconf_change.recorded_from(annotations)
    given = config.accept_bgp_conf_change
    change = bgpconf_change.pending_change(
        config.openelb.version,
        state,
        recorded,
        config.timers,
        bgpconf_change.speakers_by_leaf(state),
    )
    if change is None:
        stale = [] if given is None else [bgpconf_change.stale_acknowledgement(given)]
        return state, [*resets, *stale]
    warnings = [*resets, change.describe()]
    if not bgpconf_change.is_acknowledged(change, given):
        warnings.append(bgpconf_change.refusal(change, given))
    return bgpconf_change.carried_out(state, change), warnings
