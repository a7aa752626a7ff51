"""``OpenElbHaArgs``: the component's arguments, for Python programs and for every Pulumi language.

The args mirror the stack keys one for one (``replicas_per_leaf`` is ``replicasPerLeaf``) and
are converted back to those keys, so the component is judged by exactly the models and rules a
stack file is (``config/loading.py``): same messages, same key paths.

They are ``TypedDict`` s, enums and plain lists/maps, because Pulumi's Python analyzer
(``pulumi.provider.experimental.analyzer``, which infers the package schema other languages use)
accepts nothing else: it rejects ``Literal`` and unions (``Analyzer.analyze_property``, the
``is_union`` branch, pulumi 3.272.0), so the stack file's ``Literal`` fields become enums and its
discriminated topology union becomes one ``TopologyArgs`` whose fields belong to one kind or
the other. The stack-file models stay as they are. The enums are string enums, as Pulumi
generates them for Python SDKs (``class X(builtins.str, Enum)``,
pkg/codegen/python/gen.go:2291-2299@v3.259.0), so a member is its stack-file word.

No ``from __future__ import annotations`` here: the analyzer reads the annotations as objects
(``inspect.get_annotations`` without ``eval_str``) and fails on strings.
"""

import enum
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict, cast, get_args, get_origin

import pulumi

from openelb_component.config.errors import ConfigError, Loc, Problem
from openelb_component.config.loading import validate_raw
from openelb_component.config.models import StackConfig
from openelb_component.config.secrets import PASSWORDS_KEY


class Version(str, enum.Enum):  # noqa: UP042 - as Pulumi generates enums (module docstring)
    """The OpenELB release line installed in the cluster (stack key ``openelb.version``)."""

    V0_5 = "0.5"
    """OpenELB 0.5: the openelb-manager Deployment announces."""
    V0_6 = "0.6"
    """OpenELB 0.6: the openelb-speaker DaemonSet announces, openelb-controller assigns."""


class Mode(str, enum.Enum):  # noqa: UP042 - as Pulumi generates enums
    """How OpenELB announces LoadBalancer addresses (stack key ``openelb.mode``)."""

    BGP = "bgp"
    """BGP to the leaf routers."""
    LAYER2 = "layer2"
    """ARP/NDP answers on one Layer 2 network."""
    VIP = "vip"
    """keepalived virtual IPs on one Layer 2 network."""


class TopologyKind(str, enum.Enum):  # noqa: UP042 - as Pulumi generates enums
    """How the nodes running OpenELB are cabled (stack key ``topology.kind``)."""

    SINGLE_ROUTER = "single-router"
    """All nodes under one router: set nodes (and replicas)."""
    MULTI_LEAF = "multi-leaf"
    """Nodes under several leaf routers, BGP mode only: set leaves (and replicas_per_leaf)."""


class OpenElbSettingsArgs(TypedDict, total=False):
    """Which OpenELB is installed, where, and how it announces (stack key ``openelb``)."""

    version: Version
    """The OpenELB release line installed in the cluster; default 0.5."""
    namespace: str
    """The namespace OpenELB is installed in; default openelb-system."""
    mode: Mode
    """How OpenELB announces; default bgp."""
    controller_replicas: int
    """OpenELB 0.6: replicas of the leader-elected openelb-controller; default 2."""
    pod_disruption_budget: bool
    """A PodDisruptionBudget (maxUnavailable 1) for the replicated Deployment; default true."""
    min_ready_seconds: int
    """Seconds a new announcing replica must stay ready before the rollout stops the next; 30."""


class PeerArgs(TypedDict):
    """The leaf router the leaf's OpenELB replicas peer with."""

    address: str
    """The router's BGP neighbor address, IPv4 or IPv6 without a prefix length."""
    asn: int
    """The router's AS number."""
    name: NotRequired[str]
    """BgpPeer name: a hand-made peer to take over with adopt; default openelb-ha-peer-<address>."""


class LeafArgs(TypedDict):
    """One leaf router (rack) and the nodes cabled to it."""

    name: str
    """The leaf's name; it becomes the value of the rack label, and the key of its password."""
    nodes: list[str]
    """The nodes under this leaf, as `kubectl get nodes` shows them."""
    peer: NotRequired[PeerArgs]
    """The leaf router to peer with; without it, no BgpPeer for this leaf."""
    local_asn: NotRequired[int]
    """This rack's own local ASN; default: bgp.as."""
    other_nodes: NotRequired[list[str]]
    """Nodes cabled to this leaf that do not run OpenELB: they get the rack label only."""


class TopologyArgs(TypedDict):
    """The nodes that run OpenELB. ``kind`` says which of the other fields apply: ``nodes`` and
    ``replicas`` for single-router, ``leaves`` and ``replicas_per_leaf`` for multi-leaf (a field
    of the other kind is refused, as in a stack file)."""

    kind: TopologyKind
    """single-router or multi-leaf."""
    nodes: NotRequired[list[str]]
    """single-router: the nodes that run OpenELB, as `kubectl get nodes` shows them."""
    replicas: NotRequired[int]
    """single-router: how many of them announce; default: all of them."""
    replicas_per_leaf: NotRequired[int]
    """multi-leaf: announcing replicas under every leaf; default 2."""
    leaves: NotRequired[list[LeafArgs]]
    """multi-leaf: the leaf routers and their nodes."""


class NextHops(str, enum.Enum):  # noqa: UP042 - as Pulumi generates enums
    """Which next hops each speaker announces (stack key ``bgp.nextHops``)."""

    NODE = "node"
    """Only its own node: a dead node's paths leave with its own session."""
    RACK = "rack"
    """Every node of its rack (OpenELB's multi-router guide): a dead node stays a next hop."""


class BgpTimersArgs(TypedDict, total=False):
    """BGP session timers (stack key ``bgp.timers``), written to the leaf routers."""

    hold_time: int
    """Seconds without a message before a router drops a node's paths; default 9."""
    keepalive_interval: int
    """Seconds between keepalives, at most a third of hold_time; default 3."""
    connect_retry: int
    """Seconds between the router's attempts to reach a node; default 5."""
    bgp_peers: bool
    """Also write them into every BgpPeer (resets each leaf's sessions once); default false."""


class BgpSettingsArgs(TypedDict):
    """OpenELB's global BGP settings, the BgpConf named default (stack key ``bgp``)."""

    as_: int
    """The local ASN of every replica (of a leaf without its own local_asn). Stack key ``as``."""
    listen_port: NotRequired[int]
    """The port OpenELB's BGP speaker listens on; not given: not written (OpenELB uses 179)."""
    router_id: NotRequired[str]
    """One IPv4 router ID for every replica; default: each node's own address."""
    next_hops: NotRequired[NextHops]
    """Which next hops each speaker announces; default node."""
    timers: NotRequired[BgpTimersArgs]
    """BGP session timers; default hold 9 s, keepalive 3 s, connect retry 5 s."""


class OpenElbHaArgs(TypedDict):
    """The arguments of ``OpenElbHa``, one field per stack key.

    Every field except the passwords is a plain value, not a ``pulumi.Input``: the nodes, leaves,
    versions and modes decide which resources exist, and resources registered inside an
    ``apply`` are invisible to ``pulumi preview`` (preview does not run an apply whose value is
    unknown), so a reviewed preview would not show them. Read them from config or write them
    down; pass Outputs only as passwords.
    """

    topology: TopologyArgs
    """The nodes that run OpenELB and the routers they are cabled to."""
    openelb: NotRequired[OpenElbSettingsArgs]
    """Which OpenELB is installed, where, and how it announces."""
    bgp: NotRequired[BgpSettingsArgs]
    """OpenELB's global BGP settings (BGP mode only); not given: the BgpConf is not managed."""
    adopt: NotRequired[bool]
    """Take ownership of values set by hand on the node labels and the BgpConf; default false."""
    eips: NotRequired[list[str]]
    """The address ranges OpenELB announces (Eip spec.address), for the leaf router configs."""
    bgp_passwords: NotRequired[dict[str, pulumi.Input[str]]]
    """Leaf name -> TCP MD5 password of its session; from any origin, it is made a secret."""
    accept_bgp_conf_change: NotRequired[str]
    """The digest the preview prints for a pending BgpConf change: up applies that change only."""


# ---------------------------------------------------------------------------------------------
# Args -> stack keys


_OUTPUT_PLACEHOLDER = "<output>"
"""Stands for a password given as an Output while its value is unknown: the models then judge
everything but that value, which is checked again once it is known."""


def _stack_key(field: str) -> str:
    """``replicas_per_leaf`` -> ``replicasPerLeaf``; ``as_`` -> ``as`` (the analyzer's rule too,
    ``pulumi.provider.experimental.util.camel_case``)."""
    first, *rest = field.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _unwrapped(annotation: Any) -> Any:
    while get_origin(annotation) is NotRequired:
        (annotation,) = get_args(annotation)
    return annotation


def _to_stack(value: Any, annotation: Any) -> Any:
    """One value in stack-file form, following its annotation: TypedDict keys renamed, enums
    to their values, map keys (leaf names) kept. What does not fit is passed on as it is, for
    the models to reject with the key path."""
    annotation = _unwrapped(annotation)
    if isinstance(value, enum.Enum):
        return value.value
    if annotation is int and isinstance(value, float) and value.is_integer():
        # Numbers cross the wire as doubles. ComponentProvider.map_input_properties means to
        # convert them, but then overwrites the int with the float
        # (pulumi/provider/experimental/component.py:276-287, pulumi 3.272.0).
        return int(value)
    origin = get_origin(annotation)
    if isinstance(annotation, type) and hasattr(annotation, "__total__"):  # a TypedDict
        if not isinstance(value, Mapping):
            return value
        hints = annotation.__annotations__
        return {
            _stack_key(key) if isinstance(key, str) else key: _to_stack(item, hints.get(key))
            for key, item in value.items()
        }
    if origin is list and isinstance(value, list):
        (item_type,) = get_args(annotation)
        return [_to_stack(item, item_type) for item in value]
    if origin is dict and isinstance(value, Mapping):
        _, item_type = get_args(annotation)
        return {key: _to_stack(item, item_type) for key, item in value.items()}
    return value


def stack_keys(args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` as the stack file would hold them (camelCase keys, enum values), every password
    given as an Output replaced by a placeholder."""
    raw = _to_stack(args, OpenElbHaArgs)
    passwords = raw.get(PASSWORDS_KEY)
    if isinstance(passwords, Mapping):
        raw[PASSWORDS_KEY] = {
            leaf: _OUTPUT_PLACEHOLDER if _is_output(password) else password
            for leaf, password in passwords.items()
        }
    return cast(dict[str, Any], raw)


def _is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


PLAIN_VALUE_NEEDED = (
    "a plain value is needed here, not an Output: this value decides which resources exist, and "
    "resources registered inside an apply are invisible to pulumi preview; pass the value itself "
    "(e.g. read it from config); only bgp_passwords may be Outputs"
)


def _outputs_in_plain_fields(raw: Any, loc: Loc = ()) -> list[Loc]:
    """Key paths of the Outputs found where a plain value belongs (anywhere but the passwords)."""
    if _is_output(raw):
        return [loc]
    if isinstance(raw, Mapping):
        return [
            path
            for key, item in raw.items()
            if loc or key != PASSWORDS_KEY
            for path in _outputs_in_plain_fields(item, (*loc, key))
        ]
    if isinstance(raw, list):
        return [
            path
            for index, item in enumerate(raw)
            for path in _outputs_in_plain_fields(item, (*loc, index))
        ]
    return []


def output_problems(raw: Any) -> list[Problem]:
    """One problem per Output where a plain value belongs, in stack keys (as given by a Python
    program, or as sent by another language), the value shown as ``(an Output)``."""
    return [
        Problem(loc, PLAIN_VALUE_NEEDED, shown_as="(an Output)")
        for loc in _outputs_in_plain_fields(raw)
    ]


def _split_lifted_secret(passwords: "pulumi.Output[Any]") -> dict[str, pulumi.Input[str]]:
    """The password map when it arrives as one Output: leaf -> that leaf's password, an Output.

    A component hosted by ``component_provider_host`` receives ``bgpPasswords`` this way from
    every other language: the SDK lifts a nested secret to its top-level property
    (``pulumi/runtime/rpc.py`` ``deserialize_property``: "push the secretness up a level") and
    ``pulumi/provider/server.py`` ``_select_value`` wraps it in an Output whose value is already
    resolved before ``construct`` runs (pulumi 3.272.0). The leaf names decide which BgpPeers get
    a password, so they are read now: ``_data`` is the one private read, as no public API reads a
    resolved Output synchronously. The passwords themselves stay inside Outputs.
    """
    value = _resolved(passwords)
    if not isinstance(value, Mapping):
        raise pulumi.RunError(
            ConfigError(
                [
                    Problem(
                        (PASSWORDS_KEY,),
                        "give a map from leaf name to password; only the passwords may be "
                        "Outputs (the leaf names decide which BgpPeers carry one)",
                        secret=True,
                    )
                ]
            ).render()
        )
    return {str(leaf): _item(passwords, leaf) for leaf in value}


def _resolved(output: "pulumi.Output[Any]") -> Any:
    """The value of an Output already resolved and known, else None (see _split_lifted_secret
    for why this reads ``_data``)."""
    data = output._data
    if not data.done() or data.exception() is not None or not data.result().is_known:
        return None
    return data.result().value


def _known_passwords(passwords: Any) -> dict[str, str] | None:
    """The passwords of a lifted secret map whose values are known already (every call from
    another language): judged with everything else, before anything is registered."""
    value = _resolved(passwords) if _is_output(passwords) else None
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        return None
    return {str(leaf): password for leaf, password in value.items()}


def _item(passwords: "pulumi.Output[Mapping[str, str]]", leaf: str) -> pulumi.Output[str]:
    return passwords.apply(lambda known: known[leaf])


def password_inputs(args: Mapping[str, Any]) -> dict[str, pulumi.Input[str]]:
    """Leaf -> password as given (a string or an Output)."""
    passwords = args.get("bgp_passwords")
    if passwords is None:
        return {}
    if _is_output(passwords):
        return _split_lifted_secret(passwords)
    return dict(passwords) if isinstance(passwords, Mapping) else passwords


def validated(
    args: Mapping[str, Any],
) -> tuple[StackConfig, dict[str, pulumi.Input[str]], dict[str, Any]]:
    """The validated configuration, the passwords and the stack keys, or ``pulumi.RunError``
    listing every problem (the stack file's messages and key paths)."""
    if not isinstance(args, Mapping):
        # Before OpenElbHaArgs the component took the stack file's model (StackConfig).
        raise TypeError(
            f"OpenElbHa takes OpenElbHaArgs (the stack keys in snake_case), not "
            f"{type(args).__name__}; see docs/library.md"
        )
    passwords = password_inputs(args)
    given = dict(args)
    if "bgp_passwords" in given:
        given["bgp_passwords"] = passwords
    raw = stack_keys(given)
    known = _known_passwords(args.get("bgp_passwords"))
    if known is not None:
        raw[PASSWORDS_KEY] = known
    outputs = output_problems(raw)
    parsed, problems = validate_raw(raw, None)
    if outputs:
        # The models' complaint about an Output ("should be a valid list") says less than ours.
        problems = outputs + [
            problem
            for problem in problems
            if not any(problem.loc[: len(output.loc)] == output.loc for output in outputs)
        ]
    if parsed is None or problems:
        raise pulumi.RunError(ConfigError(problems).render())
    return parsed, passwords if isinstance(passwords, dict) else {}, raw


def checked_password(raw: Mapping[str, Any], leaf: str, value: str) -> str:
    """A password that was an Output, judged once known by the same rules as any other."""
    trial = {**raw, PASSWORDS_KEY: {**raw[PASSWORDS_KEY], leaf: value}}
    _, problems = validate_raw(trial, None)
    own = [problem for problem in problems if problem.loc[:2] == (PASSWORDS_KEY, leaf)]
    if own:
        raise pulumi.RunError(ConfigError(own).render())
    return value


# ---------------------------------------------------------------------------------------------
# Stack config -> args (the program's path)


def args_from_config(config: StackConfig) -> OpenElbHaArgs:
    """The args for a stack configuration the program has validated: only the keys the stack
    set (``exclude_unset``), so defaults and the warnings that depend on what was written
    come out the same."""
    data = config.model_dump(exclude_unset=True, exclude={"bgp_passwords"})
    data["bgp_passwords"] = {
        leaf: password.get_secret_value() for leaf, password in config.bgp_passwords.items()
    }
    return cast(OpenElbHaArgs, data)
