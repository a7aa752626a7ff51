"""Hypothesis strategies: random valid stack configurations, and invalid mutations of them.

Configs are raw dicts exactly as a stack file gives them (camelCase keys), so they go through
the whole program: ``pulumi.Config`` -> loading -> checks -> desired state -> component.

Supported OpenELB versions come from one constant, ``VERSIONS``: adding a release line there is
the only change needed for every property to cover it (its invariants are declared per version
in ``tests/test_properties.py``).
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from openelb_component.config import models as models
from openelb_component.config.addresses import endpoint
from openelb_component.config.errors import Loc, format_path, value_at

VERSIONS: tuple[str, ...] = ("0.5", "0.6")
"""Release lines the program supports. What each adds to a valid stack is in
``VERSION_RULES`` below, what each must apply in ``tests/test_properties.WORKLOAD_INVARIANTS``."""

MAX_LEAVES = 50
MAX_NODES = 200
MODES = ("bgp", "layer2", "vip")

# Every key a stack file may hold (the models' camelCase aliases): an "unknown key" is none of
# them. Read from the models, so a key added later is never mistaken for an unknown one. The
# Python field names (replicas_per_leaf) are unknown keys in a stack file.
KNOWN_KEYS = frozenset(
    field.alias or name
    for model in vars(models).values()
    if isinstance(model, type) and issubclass(model, BaseModel)
    for name, field in model.model_fields.items()
)

Config = dict[str, Any]

# Node names: mostly cheap "prefix + number" names (200 unique ones are generated fast), some
# drawn from the full RFC 1123 subdomain grammar (dots, dashes, digits first).
_simple_node = st.builds(
    "{}{}".format,
    st.sampled_from(["worker-p", "master", "node.rack-a.", "n", "0-"]),
    st.integers(0, 10**6),
)
_grammar_node = st.from_regex(
    r"[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,4}[a-z0-9])?){0,2}",
    fullmatch=True,
)
node_names = st.one_of(_simple_node, _grammar_node)

# Leaf names are label values: upper case, '_' and '.' are allowed (and need a hashed object
# name for their BgpPeer), up to 63 characters.
leaf_names = st.one_of(
    st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9]{61}[0-9]", fullmatch=True),
)
namespaces = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


def _usable_router(address: str) -> bool:
    """What the config accepts as a router: a plain address (no IPv4-mapped IPv6) that can be a
    BGP neighbor (config/addresses.endpoint); the refused ones are the hostile-input tests'."""
    try:
        endpoint(address)
    except ValueError:
        return False
    return True


# Router addresses: one router per leaf (two leaves with one address are refused), compared
# normalised as OpenELB compares them.
router_addresses = st.ip_addresses().map(str).filter(_usable_router)


def _peer(address: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"address": st.just(address), "asn": st.integers(1, models.MAX_ASN)}
    )


def _optional(key: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """{key: value} or {}: every optional key is sometimes left to its default."""
    return st.one_of(st.just({}), values.map(lambda value: {key: value}))


@dataclass(frozen=True)
class VersionRules:
    """What a release line adds to a valid stack, given how many nodes it lists."""

    openelb_keys: Callable[[int], st.SearchStrategy[dict[str, Any]]]
    """Extra ``openelb`` keys."""
    single_router_replicas: Callable[[int], st.SearchStrategy[int]]
    """Valid ``replicas`` of a single-router topology."""
    modes: tuple[str, ...] = MODES
    """Valid ``mode`` values of a single-router topology."""


VERSION_RULES: dict[str, VersionRules] = {
    "0.5": VersionRules(
        openelb_keys=lambda nodes: st.just({}),
        single_router_replicas=lambda nodes: st.integers(1, nodes),
    ),
    # The speaker DaemonSet runs on every listed node, so replicas can only be the node count;
    # the controller's replicas (default 2) run one per listed node.
    "0.6": VersionRules(
        openelb_keys=lambda nodes: (
            _optional("controllerReplicas", st.integers(1, nodes))
            if nodes >= 2
            else st.just({"controllerReplicas": 1})
        ),
        single_router_replicas=lambda nodes: st.just(nodes),
        # The upstream 0.6 speaker runs with layer2 and VIP disabled: only bgp works.
        modes=("bgp",),
    ),
}


@st.composite
def _openelb(draw: st.DrawFn, version: str, modes: tuple[str, ...], nodes: int) -> dict[str, Any]:
    # `version: 0.5` unquoted in YAML arrives as a float; both spellings must work, and the
    # default ("0.5") is sometimes left implicit.
    spelled = draw(st.sampled_from([version, float(version)]))
    implicit = version == "0.5" and draw(st.booleans())
    return {
        **({} if implicit else {"version": spelled}),
        **draw(_optional("namespace", namespaces)),
        **draw(_optional("mode", st.sampled_from(modes))),
        **draw(VERSION_RULES[version].openelb_keys(nodes)),
    }


@st.composite
def single_router_configs(draw: st.DrawFn) -> Config:
    version = draw(st.sampled_from(VERSIONS))
    nodes = draw(st.lists(node_names, min_size=1, max_size=MAX_NODES, unique=True))
    topology: dict[str, Any] = {"kind": "single-router", "nodes": nodes}
    replicas = VERSION_RULES[version].single_router_replicas(len(nodes))
    topology |= draw(_optional("replicas", replicas))
    modes = VERSION_RULES[version].modes
    return {"openelb": draw(_openelb(version, modes, len(nodes))), "topology": topology}


@st.composite
def multi_leaf_configs(draw: st.DrawFn) -> Config:
    version = draw(st.sampled_from(VERSIONS))
    leaf_count = draw(st.integers(1, MAX_LEAVES))
    per_leaf_key = draw(_optional("replicasPerLeaf", st.integers(1, MAX_NODES // leaf_count)))
    per_leaf = per_leaf_key.get("replicasPerLeaf", 2)
    minimum = leaf_count * per_leaf  # at most MAX_NODES: 2 x MAX_LEAVES fits
    nodes = draw(st.lists(node_names, min_size=minimum, max_size=MAX_NODES, unique=True))
    # The first `per_leaf` nodes of each leaf make it valid; the rest go anywhere.
    rest = len(nodes) - minimum
    extra = draw(st.lists(st.integers(0, leaf_count - 1), min_size=rest, max_size=rest))
    members: list[list[str]] = [nodes[i * per_leaf : (i + 1) * per_leaf] for i in range(leaf_count)]
    for node, leaf_index in zip(nodes[minimum:], extra, strict=True):
        members[leaf_index].append(node)
    names = draw(st.lists(leaf_names, min_size=leaf_count, max_size=leaf_count, unique=True))
    addresses = draw(
        st.lists(
            router_addresses,
            min_size=leaf_count,
            max_size=leaf_count,
            unique_by=lambda address: str(ipaddress.ip_address(address)),
        )
    )
    leaves = [
        {
            "name": name,
            "nodes": draw(st.permutations(leaf_nodes)),
            **draw(_optional("peer", _peer(address))),
        }
        for name, leaf_nodes, address in zip(names, members, addresses, strict=True)
    ]
    topology = {"kind": "multi-leaf", "leaves": leaves, **per_leaf_key}
    return {"openelb": draw(_openelb(version, ("bgp",), len(nodes))), "topology": topology}


valid_configs = st.one_of(single_router_configs(), multi_leaf_configs())
"""Any valid stack configuration: both topology kinds, every supported version."""


# --- invalid mutations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    """A valid config made invalid, and the key paths an error about it may name."""

    kind: str
    config: Config
    paths: frozenset[str]
    """The key the mutation touched and, for a conflict, the keys it conflicts with. An error
    names the mutation when it reports one of these paths or a key inside one of them."""

    def named_by(self, error_path: str) -> bool:
        return any(
            error_path == path or error_path.startswith((f"{path}.", f"{path}["))
            for path in self.paths
        )


def _walk(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    """Every (key path, value) below the root, parents before children."""
    if loc:
        yield loc, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index))


def _set(config: Config, loc: Loc, value: Any) -> Config:
    mutated = copy.deepcopy(config)
    value_at(mutated, loc[:-1])[loc[-1]] = value
    return mutated


def _paths(*locs: Loc) -> frozenset[str]:
    return frozenset(format_path(loc) for loc in locs)


def _is_multi_leaf(config: Config) -> bool:
    return bool(config["topology"]["kind"] == "multi-leaf")


# A value of the wrong JSON type for each type a key can hold. No float that equals a whole
# number (JSON and YAML keep 2.0 apart from 2 only by luck) and no null (optional keys take it).
_WRONG_TYPE: dict[type, list[Any]] = {
    int: ["2", 1.5, True, [1], {"value": 1}],
    str: [1, True, ["x"], {"value": "x"}],
    float: [True, [0.5], {"value": 0.5}],  # `version: 0.5` unquoted
    list: ["x", 1, {"value": "x"}],
    dict: ["x", 1, ["x"]],
}


@st.composite
def _wrong_type(draw: st.DrawFn, config: Config) -> Mutation:
    loc, value = draw(st.sampled_from(list(_walk(config))))
    wrong = draw(st.sampled_from(_WRONG_TYPE[type(value)]))
    return Mutation("wrong type", _set(config, loc, wrong), _paths(loc))


TYPOS = ("replica", "leafs", "Name", "as", "replicas_per_leaf", "Replicas", "adpot", "topolgy")


@st.composite
def _unknown_key(draw: st.DrawFn, config: Config) -> Mutation:
    # The stack's own top level too: a misspelt `openelb-ha:` key must not be ignored.
    objects = [(), *(loc for loc, value in _walk(config) if isinstance(value, dict) and loc)]
    loc = draw(st.sampled_from(objects))
    key = draw(
        st.one_of(
            st.sampled_from(TYPOS),
            st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True),
        ).filter(lambda k: k not in KNOWN_KEYS)
    )
    value = draw(st.sampled_from([1, "x", [], {}]))
    if not loc:
        return Mutation("unknown key", {**copy.deepcopy(config), key: value}, _paths((key,)))
    target = copy.deepcopy(value_at(config, loc))
    target[key] = value
    return Mutation("unknown key", _set(config, loc, target), _paths((*loc, key)))


def _invalid_names(valid: str, extra: list[str]) -> list[str]:
    # Invalid for every kind of name: empty, not alphanumeric at an end, space, slash, non-ASCII.
    return ["", f"-{valid}", f"{valid}-", f"{valid} x", f"{valid}/x", f"é{valid}", *extra]


def _bad_name_targets(config: Config) -> list[tuple[Loc, list[str]]]:
    targets: list[tuple[Loc, list[str]]] = []
    for loc, value in _walk(config):
        key = loc[-2] if isinstance(loc[-1], int) else loc[-1]
        if key == "nodes" and isinstance(loc[-1], int):
            targets.append((loc, _invalid_names(value, [f"A{value}", f"{value}_x", "a" * 254])))
        elif key == "name":
            targets.append((loc, _invalid_names(value, [f"{value}_", "a" * 64])))
        elif key == "namespace":
            targets.append((loc, _invalid_names(value, [f"A{value}", "a.b", "a" * 64])))
        elif key == "address":
            targets.append((loc, ["300.1.1.1", f"{value}/24", "leaf-router", "::g"]))
    return targets


@st.composite
def _bad_name(draw: st.DrawFn, config: Config) -> Mutation:
    loc, invalid = draw(st.sampled_from(_bad_name_targets(config)))
    return Mutation("bad name", _set(config, loc, draw(st.sampled_from(invalid))), _paths(loc))


@st.composite
def _out_of_range(draw: st.DrawFn, config: Config) -> Mutation:
    topology = config["topology"]
    choices: list[tuple[Loc, int, frozenset[str]]] = [
        (loc, number, _paths(loc))
        for loc, _ in _walk(config)
        if loc[-1] == "asn"
        for number in (0, -1, models.MAX_ASN + 1)
    ]
    if _is_multi_leaf(config):
        key: Loc = ("topology", "replicasPerLeaf")
        smallest = min(len(leaf["nodes"]) for leaf in topology["leaves"])
        too_many = draw(st.integers(smallest + 1, smallest + 5))
        # More replicas per leaf than a leaf has nodes conflicts with those leaves' node lists.
        short = [
            ("topology", "leaves", index, "nodes")
            for index, leaf in enumerate(topology["leaves"])
            if len(leaf["nodes"]) < too_many
        ]
        choices += [(key, 0, _paths(key)), (key, -2, _paths(key))]
        choices.append((key, too_many, _paths(key, *short)))
    else:
        key = ("topology", "replicas")
        above = len(topology["nodes"]) + draw(st.integers(1, 5))
        choices += [(key, number, _paths(key, ("topology", "nodes"))) for number in (0, -1, above)]
    loc, number, paths = draw(st.sampled_from(choices))
    return Mutation("out of range", _set(config, loc, number), paths)


@st.composite
def _conflict(draw: st.DrawFn, config: Config) -> Mutation:
    """A node listed twice, a node in two leaves, two leaves with one name, or a mode that needs
    one Layer 2 network with several leaves: both sides of the conflict may be named."""
    node_locs = [loc for loc, _ in _walk(config) if len(loc) > 1 and loc[-2] == "nodes"]
    loc = draw(st.sampled_from(node_locs))
    node = value_at(config, loc)
    options: list[Callable[[], Mutation]] = []

    def duplicate_into(nodes_loc: Loc) -> Mutation:
        nodes = [*value_at(config, nodes_loc), node]
        added = (*nodes_loc, len(nodes) - 1)
        return Mutation("conflict", _set(config, nodes_loc, nodes), _paths(loc, added))

    options.append(lambda: duplicate_into(loc[:-1]))
    if _is_multi_leaf(config) and len(config["topology"]["leaves"]) > 1:
        leaves = config["topology"]["leaves"]
        other = draw(st.sampled_from([i for i in range(len(leaves)) if i != loc[2]]))
        options.append(lambda: duplicate_into(("topology", "leaves", other, "nodes")))

        def same_name() -> Mutation:
            name_loc = ("topology", "leaves", other, "name")
            mutated = _set(config, name_loc, leaves[loc[2]]["name"])
            return Mutation("conflict", mutated, _paths(name_loc, (*loc[:3], "name")))

        options.append(same_name)
    if _is_multi_leaf(config):

        def one_l2_network() -> Mutation:
            mode = draw(st.sampled_from(["layer2", "vip"]))
            mutated = _set(config, ("openelb",), {**config.get("openelb", {}), "mode": mode})
            return Mutation("conflict", mutated, _paths(("openelb", "mode"), ("topology", "kind")))

        options.append(one_l2_network)
    return draw(st.sampled_from(options))()


MUTATIONS = {
    "wrong type": _wrong_type,
    "unknown key": _unknown_key,
    "bad name": _bad_name,
    "out of range": _out_of_range,
    "conflict": _conflict,
}


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    """A valid config with one invalid mutation, of any of the kinds in ``MUTATIONS``."""
    config = draw(valid_configs)
    kind = draw(st.sampled_from(sorted(MUTATIONS)))
    mutation: Mutation = draw(MUTATIONS[kind](config))
    return mutation
