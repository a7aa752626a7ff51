"""Turn a raw stack configuration into a validated ``StackConfig``, or one ``ConfigError``.

Both entry points use this: the Pulumi program (values from ``pulumi.Config``) and the offline
tools (values read from the stack YAML), so a stack is judged the same way everywhere.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from openelb_component.config import models as config
from openelb_component.config import rules as checks
from openelb_component.config.errors import ConfigError, Loc, Problem
from openelb_component.config.secrets import PASSWORDS_KEY

# pydantic puts the tag of a discriminated union into the error location
# (topology.multi-leaf.leaves); users never wrote it, so it is dropped from paths.
_UNION_TAGS = frozenset({"single-router", "multi-leaf"})

_FIELD_HINTS: dict[str, str] = {
    "version": 'use the OpenELB release line installed in the cluster: "0.5" or "0.6"',
    "mode": "use bgp, layer2 or vip",
    "namespace": "use the namespace OpenELB is installed in (e.g. openelb-system)",
    "kind": "use single-router (all nodes under one router) or multi-leaf "
    "(nodes under several leaf routers, BGP mode only)",
    "replicas": "use a whole number from 1 to the number of listed nodes, or leave it out "
    "to run one replica per listed node",
    "replicasPerLeaf": "use a whole number from 1 to the node count of the smallest leaf",
    "controllerReplicas": "use a whole number from 1 to the number of listed nodes (default 2; "
    "OpenELB 0.6 only)",
    "podDisruptionBudget": "use true (default) or false, unquoted",
    "minReadySeconds": "use a whole number of seconds, 0 or more (default 30): how long a new "
    "OpenELB replica must stay ready before the rollout stops the next one",
    "otherNodes": "list the nodes cabled to this leaf that do not run OpenELB, by the name "
    "`kubectl get nodes` shows, e.g. [worker-p010]",
    "asn": f"use an AS number from 1 to {config.MAX_ASN}",
    "nodes": "list node names as `kubectl get nodes` shows them, e.g. [master1, worker-p002]",
    "leaves": "list the leaf routers, each as {name, nodes, peer}",
    "peer": "give the leaf router as {address: 192.168.0.5, asn: 50001}, or leave it out",
    "topology": "describe the nodes running OpenELB; see the configuration reference, "
    "docs/configuration.md",
    "openelb": "give an object such as {version: '0.5', namespace: openelb-system, mode: bgp}",
    "as": f"use this cluster's local AS number, from 1 to {config.MAX_ASN}",
    "localAsn": f"use this leaf's own local AS number, from 1 to {config.MAX_ASN}, or leave it "
    "out to use bgp.as",
    "listenPort": "use a TCP port from 1 to 65535 (default 179; pick another when Calico "
    "already listens on 179)",
    "bgp": "give an object such as {as: 50000, listenPort: 17900}, or leave it out",
    "nextHops": "use node (each speaker announces only its own node: a dead node leaves every "
    "router with its session) or rack (every node of the speaker's rack, OpenELB's guide)",
    "timers": "give an object such as {holdTime: 9, keepaliveInterval: 3, connectRetry: 5}",
    "holdTime": f"use a whole number of seconds from 3 to {config.MAX_TIMER_SECONDS} (default "
    f"{config.DEFAULT_HOLD_TIME}): a dead node's paths leave its router after at most this long",
    "keepaliveInterval": "use a whole number of seconds, at most a third of holdTime (default "
    f"{config.DEFAULT_KEEPALIVE_INTERVAL})",
    "connectRetry": f"use a whole number of seconds from 1 to {config.MAX_TIMER_SECONDS} "
    f"(default {config.DEFAULT_CONNECT_RETRY})",
    "bgpPeers": "use true (also write the timers into every BgpPeer: resets each leaf's sessions "
    "once) or false (default: the leaf routers only)",
    "acceptBgpConfChange": "copy the digest pulumi preview prints for the pending BgpConf "
    "change, or leave it out",
    "adopt": "use true or false (yes, no, on and off are text to Pulumi's YAML 1.2 parser)",
    "eips": "list the spec.address of every Eip object OpenELB announces from, e.g. "
    "[198.51.100.0/24, 203.0.113.10-203.0.113.20], or leave it out",
    PASSWORDS_KEY: "give an object from leaf name to password, each set with "
    "pulumi config set --secret --path 'bgpPasswords.<leaf>' <password>",
}


def _all_keys(model: type[BaseModel], into: set[str]) -> set[str]:
    for name, field in model.model_fields.items():
        into.add(field.alias or name)
    return into


# Where each model's keys are written, as the user writes the path.
_PLACES: dict[type[BaseModel], str] = {
    config.StackConfig: "the stack's top level (openelb-ha:<key>)",
    config.OpenElbSettings: "openelb",
    config.SingleRouterTopology: "topology with kind: single-router",
    config.MultiLeafTopology: "topology with kind: multi-leaf",
    config.Leaf: "topology.leaves[] (kind: multi-leaf)",
    config.Peer: "topology.leaves[].peer",
    config.BgpSettings: "bgp",
    config.BgpTimers: "bgp.timers",
}

_KNOWN_KEYS: frozenset[str] = frozenset(key for model in _PLACES for key in _all_keys(model, set()))

# Every place a key is valid: a key written where it is not (``peer`` under a single-router
# topology) is named with where it belongs, not "did you mean" itself.
_PLACES_OF_KEY: dict[str, list[str]] = {}
for _model, _place in _PLACES.items():
    for _key in sorted(_all_keys(_model, set())):
        _PLACES_OF_KEY.setdefault(_key, []).append(_place)


# Keys that exist under one topology kind only: written under the other, the fix is the kind.
_KIND_OF_KEY: dict[str, tuple[str, str]] = {
    "leaves": ("multi-leaf", "or list the nodes directly under nodes: for one router"),
    "replicasPerLeaf": ("multi-leaf", "or use replicas: for one router"),
    "nodes": (
        "single-router",
        "or, for several leaf routers, list each leaf's nodes under leaves[].nodes",
    ),
    "replicas": ("single-router", "or, for several leaf routers, use replicasPerLeaf"),
}


def _kind_of(loc: tuple[int | str, ...]) -> str | None:
    """The topology kind pydantic judged a key under (its tag in the raw error location)."""
    for index, part in enumerate(loc[:-1]):
        if index > 0 and loc[index - 1] == "topology" and part in _UNION_TAGS:
            return str(part)
    return None


def _user_loc(loc: tuple[int | str, ...]) -> Loc:
    kept: list[int | str] = []
    for index, part in enumerate(loc):
        if index > 0 and loc[index - 1] == "topology" and part in _UNION_TAGS:
            continue
        kept.append(part)
    return tuple(kept)


def _last_key(loc: Loc) -> str | None:
    for part in reversed(loc):
        if isinstance(part, str):
            return part
    return None


def _problem_from(error: ErrorDetails) -> Problem:
    problem = _described(error)
    if problem.loc[:1] == (PASSWORDS_KEY,):
        # Whatever pydantic received under bgpPasswords may be a password: never show it.
        return dataclasses.replace(problem, secret=True)
    return problem


def _described(error: ErrorDetails) -> Problem:
    loc = _user_loc(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        key = _last_key(loc) or ""
        hint = _FIELD_HINTS.get(
            key, "add it (see the configuration reference, docs/configuration.md)"
        )
        return Problem(loc, f"required key is missing; {hint}", has_value=False)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        under = _kind_of(error["loc"])
        owner = _KIND_OF_KEY.get(key)
        if under is not None and owner is not None and owner[0] != under and len(loc) == 2:
            return Problem(
                loc,
                f"this key belongs to kind: {owner[0]}, and this topology is kind: {under}; "
                f"use kind: {owner[0]}, {owner[1]}",
                value,
                kind_only=True,
            )
        # Never its value: a misspelt key may hold a password (bgpPassword, leaves[].password).
        places = _PLACES_OF_KEY.get(key)
        if places is not None:
            return Problem(
                loc,
                f"{key!r} is not a key here; it belongs under {' or '.join(places)}: move it "
                "there or remove it",
                value,
                kind_only=True,
            )
        close = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
        suggestion = f"did you mean {close[0]!r}? " if close else ""
        return Problem(loc, f"unknown key; {suggestion}remove or rename it", value, kind_only=True)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag_loc = (*loc, "kind")
        if kind == "union_tag_not_found":
            return Problem(tag_loc, f"required key is missing; {_FIELD_HINTS['kind']}", None, False)
        raw_kind = value.get("kind") if isinstance(value, Mapping) else value
        return Problem(tag_loc, f"unknown topology kind; {_FIELD_HINTS['kind']}", raw_kind)
    if kind.startswith(
        (
            "node_name",
            "label_value",
            "namespace",
            "ip_address",
            "ipv4_address",
            "eip_range",
            "bgp_password",
            "acknowledgement",
        )
    ):
        # Our own validators already say how to fix it.
        return Problem(loc, error["msg"], value)
    message = error["msg"][0].lower() + error["msg"][1:]
    field_hint = _FIELD_HINTS.get(_last_key(loc) or "")
    return Problem(loc, f"{message}; {field_hint}" if field_hint else message, value)


def validate_raw(
    raw: Mapping[str, Any], stack_secret_keys: Collection[str] | None = None
) -> tuple[config.StackConfig | None, list[Problem]]:
    """Every problem of a raw configuration; the parsed config only when there are none.

    ``stack_secret_keys``: when ``raw`` comes from a stack file, the keys Pulumi holds as
    secrets there, so a password written in plaintext is refused; None for configuration built
    in code (the component used as a library), which no stack file stores.
    """
    problems: list[Problem] = []
    parsed: config.StackConfig | None = None
    try:
        # by_name=False: a stack file's keys are the camelCase ones only. The Python field name
        # (replicas_per_leaf) would otherwise be accepted too, and the cross-field checks, which
        # read the camelCase key, would not see its value.
        parsed = config.StackConfig.model_validate(dict(raw), by_alias=True, by_name=False)
    except ValidationError as exc:
        problems += [_problem_from(error) for error in exc.errors(include_url=False)]
    problems += checks.cross_field_problems(raw, stack_secret_keys)
    # Passwords last: the user first sees what is wrong with the topology they reference.
    problems.sort(key=lambda problem: problem.loc[:1] == (PASSWORDS_KEY,))
    # Whatever a stack holds as a secret is never echoed, whichever key it is under.
    secret_roots = set(stack_secret_keys or ())
    problems = [
        replace(problem, secret=True)
        if problem.loc[:1] and problem.loc[0] in secret_roots
        else problem
        for problem in problems
    ]
    return (None, problems) if problems else (parsed, [])


def load_config(
    raw: Mapping[str, Any], stack_secret_keys: Collection[str] | None = None
) -> config.StackConfig:
    """The validated configuration, or ``ConfigError`` listing every problem."""
    parsed, problems = validate_raw(raw, stack_secret_keys)
    if parsed is None:
        raise ConfigError(problems)
    return parsed
