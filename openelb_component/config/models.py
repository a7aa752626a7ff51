"""The stack configuration: what a platform team writes in ``stacks/Pulumi.<stack>.yaml``.

The models check the shape of every key (types, formats, ranges). Rules that relate several
keys (a node in two leaves, replicas above the node count) live in ``checks.py`` so that they run
even when some other key is malformed, and the user sees every problem in one error.

Keys are camelCase in the stack file (``replicasPerLeaf``); they are the user interface and are
only ever extended, never renamed.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from openelb_component.config import addresses, names
from openelb_component.config.secrets import password_problem

MAX_ASN = 4_294_967_295
MAX_INT32 = 2_147_483_647
"""The largest value of a Kubernetes int32 field (``replicas``, ``minReadySeconds``): the API
server refuses a larger one, after the plan's own checks would have passed it."""
MAX_TIMER_SECONDS = 65_535
"""BGP's hold time is a 16-bit field of the OPEN message (RFC 4271 4.2); FRR's and BIRD's timer
settings share that ceiling."""
DEFAULT_HOLD_TIME = 9
"""Seconds without a message from a node before its leaf router drops the node's paths. BGP uses
the smaller of both sides' hold times (RFC 4271 4.2; GoBGP: pkg/server/fsm.go:1311-1322
@v2.23.0), so the router's 9 s also applies to GoBGP's 90 s default
(internal/pkg/config/default.go:19, :119-121@v2.23.0): a powered-off node leaves every router
within 9 s (docs/behaviour.md#a-dead-node-leaves-the-routers)."""
DEFAULT_KEEPALIVE_INTERVAL = 3
"""A third of the hold time (RFC 4271 4.4's suggestion): two keepalives may be lost."""
DEFAULT_CONNECT_RETRY = 5
"""Seconds between the router's attempts to reach a node whose session is down (FRR and BIRD
default to 120): a replaced speaker is reached once it listens, not up to 2 minutes later."""
DEFAULT_MIN_READY_SECONDS = 30
"""A replacement speaker passes OpenELB's readiness probe (``gobgp global``) as soon as GoBGP's
API listens, before any BGP session is up; 30 s covers GoBGP's first connect (a random 5 to 10 s
after a neighbor is added) and the session setup, so the rollout stops the next replica only
after this one announces (docs/behaviour.md)."""


class _Model(BaseModel):
    # strict: "2" is not silently accepted as 2; frozen: config is data, computed once.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
    )


def _too_long(kind: str, what: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise PydanticCustomError(
            kind,
            f"{what} too long ({len(value)} characters, max {limit}); use the name as "
            "`kubectl get` shows it",
        )


def _object_name(error: str, what: str, message: str) -> Callable[[str], str]:
    """A validator for names the API server checks as RFC 1123 subdomains (nodes, objects)."""

    def check(value: str) -> str:
        _too_long(error, what, value, 253)
        if not names.is_dns1123_subdomain(value):
            raise PydanticCustomError(error, message + _date_hint(value))
        return value

    return check


_node_name = _object_name(
    "node_name",
    "node name",
    "not a valid Kubernetes node name; use the name `kubectl get nodes` shows: lowercase "
    "letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. worker-p001)",
)
_peer_name = _object_name(
    "peer_name",
    "BgpPeer name",
    "not a valid BgpPeer name; give the name `kubectl get bgppeers` shows for the peer made by "
    "hand: lowercase letters, digits, '-' and '.' (e.g. bgppeer-leaf1)",
)


_GO_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? \S+ \S+")
"""How Pulumi passes on an unquoted date (``2024-01-01``): Go's time text (plan/stackyaml.py)."""


def _date_hint(value: str) -> str:
    if _GO_TIME.fullmatch(value):
        return (
            "; YAML read an unquoted date here and Pulumi passes it on as this text: write the "
            "name in quotes ('2024-01-01')"
        )
    return ""


def _label_value(value: str) -> str:
    if len(value) > 63:
        raise PydanticCustomError(
            "label_value",
            f"too long ({len(value)} characters, max 63): leaf names become the value of the "
            f"{names.RACK_LABEL} label; use a shorter name (e.g. leaf1)",
        )
    if not names.is_label_value(value):
        raise PydanticCustomError(
            "label_value",
            "not a valid Kubernetes label value, and leaf names become the value of the "
            f"{names.RACK_LABEL} label; use 1-63 letters, digits, '-', '_' or '.', starting and "
            "ending with a letter or digit (e.g. leaf1)" + _date_hint(value),
        )
    return value


def _namespace(value: str) -> str:
    _too_long("namespace", "namespace name", value, 63)
    if not names.is_dns1123_label(value):
        raise PydanticCustomError(
            "namespace",
            "not a valid namespace name; use the namespace OpenELB is installed in: lowercase "
            "letters, digits and '-', at most 63 characters (e.g. openelb-system)",
        )
    return value


def _ip_address(value: str) -> str:
    try:
        return str(addresses.endpoint(value))
    except ValueError as error:
        raise PydanticCustomError(
            "ip_address",
            f"{error}; give the leaf router's BGP neighbor address as plain IPv4 or IPv6 without "
            "a prefix length or zone (e.g. 192.168.0.5)",
        ) from None


def _ipv4_address(value: str) -> str:
    try:
        address = addresses.endpoint(value)
        if address.version != 4:
            raise ValueError("not an IPv4 address")
    except ValueError as error:
        raise PydanticCustomError(
            "ipv4_address",
            f"{error}; a BGP router ID is written as an IPv4 address (e.g. 192.168.0.10), or "
            "leave routerId out so that every node uses its own address",
        ) from None
    return str(address)


IpNetwork = addresses.IpNetwork

EIP_RANGE_SEPARATOR = "-"
"""OpenELB's ``constant.EipRangeSeparator`` (``first-last``), as ``Eip.GetSize`` splits it
(api/v1alpha2/eip_types.go:89@v0.5.1)."""


def eip_networks(value: str) -> list[IpNetwork]:
    """The networks an Eip ``spec.address`` covers (see ``_eip_networks``); each value parsed
    once, though validation, the rules, the warnings and the router configs all ask (5,000 eips
    were parsed 20,000 times in a plan)."""
    return list(_eip_networks(value))


@functools.cache
def _eip_networks(value: str) -> tuple[IpNetwork, ...]:
    """The networks an Eip ``spec.address`` covers, in OpenELB's three forms
    (``Eip.GetSize``, api/v1alpha2/eip_types.go:76-103@v0.5.1): one address (``net.ParseIP``),
    a CIDR (``net.ParseCIDR``: host bits allowed, masked), or ``first-last`` of one family,
    first <= last. Addresses as Go parses them (``config/addresses.py``: no zone, no netmask
    form, no IPv4-mapped IPv6). ``ValueError`` with the reason otherwise."""
    if "/" in value:
        return (addresses.parse_network(value),)
    if EIP_RANGE_SEPARATOR in value:
        first_text, last_text = value.split(EIP_RANGE_SEPARATOR, 1)
        first, last = addresses.parse_address(first_text), addresses.parse_address(last_text)
        if isinstance(first, ipaddress.IPv4Address) and isinstance(last, ipaddress.IPv4Address):
            return tuple(ipaddress.summarize_address_range(first, last))
        if isinstance(first, ipaddress.IPv6Address) and isinstance(last, ipaddress.IPv6Address):
            return tuple(ipaddress.summarize_address_range(first, last))
        raise ValueError("the first and last address are of different IP versions")
    return (ipaddress.ip_network(addresses.parse_address(value)),)


def _eip_range(value: str) -> str:
    try:
        eip_networks(value)
    except ValueError as error:
        raise PydanticCustomError(
            "eip_range",
            f"not an Eip address range ({error}); copy the spec.address of an Eip object: one "
            "address (198.51.100.7), a CIDR (198.51.100.0/24, 2001:db8::/64) or first-last "
            "(198.51.100.10-198.51.100.20)",
        ) from None
    return value


def _password(value: SecretStr) -> SecretStr:
    problem = password_problem(value.get_secret_value())
    if problem is not None:
        raise PydanticCustomError("bgp_password", problem)
    return value


ACKNOWLEDGEMENT = re.compile(r"[0-9a-f]{16}")


def _acknowledgement(value: str) -> str:
    if not ACKNOWLEDGEMENT.fullmatch(value):
        raise PydanticCustomError(
            "acknowledgement",
            "not a BgpConf change digest; copy the 16 hexadecimal digits pulumi preview (or "
            "make plan with --workload) prints for the pending BgpConf change, e.g. "
            "3f9c2a0b1d4e5f60",
        )
    return value


def _version_text(value: Any) -> Any:
    # `version: 0.5` in YAML is a float; users should not have to know to quote it.
    if isinstance(value, float | int) and not isinstance(value, bool):
        return str(value)
    return value


NodeName = Annotated[str, AfterValidator(_node_name)]
PeerName = Annotated[str, AfterValidator(_peer_name)]
LeafName = Annotated[str, AfterValidator(_label_value)]
Namespace = Annotated[str, AfterValidator(_namespace)]
IpAddress = Annotated[str, AfterValidator(_ip_address)]
Ipv4Address = Annotated[str, AfterValidator(_ipv4_address)]
EipRange = Annotated[str, AfterValidator(_eip_range)]
Asn = Annotated[int, Field(ge=1, le=MAX_ASN)]
NodeList = Annotated[list[NodeName], Field(min_length=1)]
Password = Annotated[SecretStr, AfterValidator(_password)]


class OpenElbSettings(_Model):
    """``openelb-ha:openelb``: which OpenELB is installed, where, and how it announces."""

    version: Annotated[Literal["0.5", "0.6"], BeforeValidator(_version_text)] = "0.5"
    namespace: Namespace = "openelb-system"
    mode: Literal["bgp", "layer2", "vip"] = "bgp"
    controller_replicas: Annotated[int, Field(ge=1, le=MAX_INT32)] = 2
    """v0.6 only: replicas of the leader-elected ``openelb-controller`` Deployment."""
    pod_disruption_budget: bool = True
    """A PodDisruptionBudget (maxUnavailable 1) for the replicated Deployment."""
    min_ready_seconds: Annotated[int, Field(ge=0, le=MAX_INT32)] = DEFAULT_MIN_READY_SECONDS
    """``minReadySeconds`` of the announcing workload (v0.5 manager, v0.6 speaker): how long a
    new replica must stay ready before the rollout stops the next one."""


class Peer(_Model):
    """A leaf router that the leaf's OpenELB replicas peer with."""

    address: IpAddress
    asn: Asn
    name: PeerName | None = None
    """The BgpPeer object's name: a peer made by hand for this router, to take over with
    ``adopt``; default ``openelb-ha-peer-<address>``."""


class Leaf(_Model):
    """One leaf router (rack) and the nodes cabled to it."""

    name: LeafName
    nodes: NodeList
    peer: Peer | None = None
    local_asn: Asn | None = None
    """This leaf's own local ASN; default: ``bgp.as``. With ``nextHops: node`` it is the
    BgpPeer's ``conf.localAs`` (a per-neighbor local AS in GoBGP), with ``rack`` an entry of
    ``BgpConf.spec.asPerRack``."""
    other_nodes: list[NodeName] = Field(default_factory=list)
    """Nodes cabled to this leaf that do not run OpenELB: they get the rack label only, so the
    leaf's speakers announce them as next hops once ``asPerRack`` makes speakers keep only their
    own rack's nodes; never a speaker, not counted as replicas."""


class BgpTimers(_Model):
    """``bgp.timers``: the BGP session timers. Written to the leaf routers (``router-config``,
    ``routerConfigs``), which is enough: the smaller hold time wins on both ends. With
    ``bgpPeers: true`` also to every BgpPeer, which resets every session of each leaf once."""

    hold_time: Annotated[int, Field(ge=3, le=MAX_TIMER_SECONDS)] = DEFAULT_HOLD_TIME
    keepalive_interval: Annotated[int, Field(ge=1, le=MAX_TIMER_SECONDS)] = (
        DEFAULT_KEEPALIVE_INTERVAL
    )
    connect_retry: Annotated[int, Field(ge=1, le=MAX_TIMER_SECONDS)] = DEFAULT_CONNECT_RETRY
    bgp_peers: bool = False
    """Also write the timers into every BgpPeer's ``spec.timers``; a BgpPeer spec change resets
    every session of its leaf once (``desired/bgp.py``)."""


NextHops = Literal["node", "rack"]
"""Which next hops each speaker announces (docs/behaviour.md#next-hops-that-die-with-their-node):
``node``: only its own node, so a dead node's paths leave with its own session; ``rack``: every
node of its rack (OpenELB's multi-router guide), which keeps announcing a dead node."""


class BgpSettings(_Model):
    """``openelb-ha:bgp``: OpenELB's global BGP settings, the ``BgpConf`` named ``default``."""

    as_: Annotated[Asn, Field(alias="as")]
    """The local ASN of every replica (of a leaf without its own ``localAsn``)."""
    listen_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """Port OpenELB's BGP speaker listens on; change it when Calico already uses 179. Not given:
    not written, so a hand-made BgpConf keeps its port (OpenELB's default is 179)."""
    router_id: Ipv4Address | None = None
    """One router ID for every replica; default: each node's own address."""
    next_hops: NextHops = "node"
    timers: BgpTimers = BgpTimers()


class SingleRouterTopology(_Model):
    """All nodes under one router (BGP, Layer 2 or VIP mode)."""

    kind: Literal["single-router"]
    nodes: NodeList
    replicas: Annotated[int, Field(ge=1, le=MAX_INT32)] | None = None

    @property
    def effective_replicas(self) -> int:
        return self.replicas if self.replicas is not None else len(self.nodes)


class MultiLeafTopology(_Model):
    """Nodes spread over several leaf routers (BGP mode only)."""

    kind: Literal["multi-leaf"]
    replicas_per_leaf: Annotated[int, Field(ge=1, le=MAX_INT32)] = 2
    leaves: Annotated[list[Leaf], Field(min_length=1)]


Topology = Annotated[SingleRouterTopology | MultiLeafTopology, Field(discriminator="kind")]


class StackConfig(_Model):
    """Everything the program reads from a stack, validated."""

    openelb: OpenElbSettings = OpenElbSettings()
    topology: Topology
    bgp: BgpSettings | None = None
    adopt: bool = False
    """Take ownership of fields set by hand (``pulumi.com/patchForce`` on every patch)."""
    bgp_passwords: dict[LeafName, Password] = Field(default_factory=dict)
    """Leaf -> TCP MD5 password of its BGP session; a Pulumi secret, never printed."""
    accept_bgp_conf_change: Annotated[str, AfterValidator(_acknowledgement)] | None = None
    """The digest the preview prints for a pending BgpConf change: ``pulumi up`` applies that
    change, and only that one (``desired/bgpconf_change.py``)."""
    eips: Annotated[list[EipRange], Field(min_length=1)] | None = None
    """The address ranges OpenELB announces (the ``spec.address`` of the cluster's Eip objects):
    the leaf routers' import filters accept only host routes inside them, and the lab announces
    one address of each. Not given: the routers accept any host route from the nodes."""

    @property
    def next_hops(self) -> NextHops:
        """``bgp.nextHops``; without ``bgp`` the program writes no BgpConf, and the leaves keep
        the rack label of OpenELB's guide (``rack``)."""
        return "rack" if self.bgp is None else self.bgp.next_hops

    @property
    def timers(self) -> BgpTimers:
        """``bgp.timers``, or their defaults when the stack has no ``bgp``."""
        return BgpTimers() if self.bgp is None else self.bgp.timers

    @property
    def all_nodes(self) -> list[str]:
        if isinstance(self.topology, SingleRouterTopology):
            return list(self.topology.nodes)
        return [node for leaf in self.topology.leaves for node in leaf.nodes]
