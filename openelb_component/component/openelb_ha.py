"""The Pulumi component: registers the desired state's objects as pulumi-kubernetes resources.

All decisions are made in ``desired/`` (pure data); this module only maps each object to the
resource class that applies it, so the offline plan and ``pulumi up`` cannot disagree.

No ``from __future__ import annotations``: Pulumi's analyzer reads this class's annotations
(the args and the outputs) as objects to infer the package schema (``args.py``).
"""

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from openelb_component.component.args import OpenElbHaArgs, checked_password, validated
from openelb_component.component.conflicts import Read
from openelb_component.component.continuity import aliases, secret_outputs
from openelb_component.component.reads import Findings, field, gathered, known
from openelb_component.config.models import StackConfig
from openelb_component.desired import (
    DesiredObject,
    DesiredState,
    bgpconf_change,
    desired_state,
    peer_resets,
)
from openelb_component.desired.addressing import eips_warning, node_addresses
from openelb_component.desired.bgp import password_secret_name
from openelb_component.desired.bgpconf_change import BgpConfChange
from openelb_component.desired.workloads import WORKLOAD_KEY
from openelb_component.routers.configs import (
    address_warnings,
    leaf_routers,
    render_bird,
    render_frr,
)

TYPE_TOKEN = "openelb-ha:index:OpenElbHa"  # noqa: S105 - a type token, not a password

_Ref = tuple[str, str]  # (apiVersion, kind)

# Server-Side Apply patches of objects the cluster already has (docs/design.md §4).
PATCH_CLASSES: dict[_Ref, Callable[..., pulumi.CustomResource]] = {
    ("v1", "Node"): k8s.core.v1.NodePatch,
    ("apps/v1", "Deployment"): k8s.apps.v1.DeploymentPatch,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSetPatch,
}
# Reads that prove a patch target exists before it is patched.
READ_FUNCTIONS: dict[_Ref, Callable[..., Read]] = {
    ("v1", "Node"): k8s.core.v1.Node.get,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment.get,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet.get,
}
# Objects this project owns outright.
CREATE_CLASSES: dict[_Ref, Callable[..., pulumi.CustomResource]] = {
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
}


OUTPUTS: tuple[tuple[str, str], ...] = (
    ("nodes", "nodes"),
    ("nodesByLeaf", "nodes_by_leaf"),
    ("replicas", "replicas"),
    ("controllerReplicas", "controller_replicas"),
    ("nodeSelector", "node_selector"),
    ("bgpPeers", "bgp_peers"),
    ("routerConfigs", "router_configs"),
)
"""(stack output name, component attribute) of every output, in the order they are exported."""


def _secret_password(
    stack_keys: Mapping[str, Any], leaf: str, password: pulumi.Input[str]
) -> pulumi.Output[str]:
    """The password as a Pulumi secret, whatever its origin; an Output is judged once known."""
    if isinstance(password, str):
        return pulumi.Output.secret(password)
    known: pulumi.Output[str] = pulumi.Output.from_input(password)
    return pulumi.Output.secret(
        known.apply(lambda value: checked_password(stack_keys, leaf, value))
    )


class OpenElbHa(pulumi.ComponentResource):
    """OpenELB made highly available: labelled nodes, placed replicas, disruption budget,
    per-leaf BGP peers.

    Takes the same settings as a stack of the openelb-ha program, checked by the same rules:
    invalid args raise pulumi.RunError listing every problem by its stack key path, before any
    resource is registered."""

    nodes: pulumi.Output[list[str]]
    """Every node labelled to run OpenELB, sorted."""
    nodes_by_leaf: pulumi.Output[dict[str, list[str]]]
    """Leaf name -> its labelled nodes (empty for a single-router topology)."""
    replicas: pulumi.Output[int]
    """OpenELB replicas that announce: v0.5 manager replicas, v0.6 speakers (one per node)."""
    controller_replicas: pulumi.Output[int]
    """Replicas of the leader-elected controller (v0.6 controller; v0.5 manager)."""
    node_selector: pulumi.Output[dict[str, str]]
    """The nodeSelector the OpenELB pods get."""
    bgp_peers: pulumi.Output[list[str]]
    """Names of the BgpPeer objects, one per leaf with a peer."""
    router_configs: pulumi.Output[dict[str, dict[str, str]]]
    """Leaf -> {"frr": ..., "bird": ...}: each leaf router's BGP configuration for the nodes'
    addresses as the Node reads find them; a secret when any BGP password is set."""

    def __init__(
        self, name: str, args: OpenElbHaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Validated and computed before registering anything: bad args raise pulumi.RunError
        # listing every problem, and the desired state is pure and cannot half-fail.
        config, passwords, stack_keys = validated(args)
        self.state: DesiredState = desired_state(config)
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._secrets = {
            password_secret_name(leaf): _secret_password(stack_keys, leaf, password)
            for leaf, password in passwords.items()
        }
        self.resources: dict[str, pulumi.CustomResource] = {}
        self.reads: dict[str, Read] = {}
        # The reads whose outputs the program judges (component/reads.py), in order.
        self._judged: dict[str, tuple[DesiredObject, Read]] = {}
        # Read first: whether this run changes the BgpConf decides how the speakers roll, and
        # whether ``up`` may apply anything at all.
        workload_read = self._read(self.state.by_key(WORKLOAD_KEY))
        self._gate = self._bgp_conf_gate(config, workload_read)
        # One Output every resource depends on: it fails when the gate refuses, and then no
        # resource is registered (their registration awaits it), at the cost of one apply.
        self._gate_passed: pulumi.Output[pulumi.Resource] = self._gate.apply(
            lambda _: workload_read
        )
        for obj in self.state.objects:
            self.resources[obj.key] = self._register(obj)
        # What the stack gets wrong without an error, for any program that uses the component.
        for warning in self.state.warnings:
            pulumi.log.warn(warning, resource=self)
        self._found = gathered(self, list(self._judged.values()))

        state = self.state
        self.nodes = known(list(state.nodes))
        self.nodes_by_leaf = known(
            {leaf: list(nodes) for leaf, nodes in state.nodes_by_leaf.items()}
        )
        self.replicas = known(state.replicas)
        self.controller_replicas = known(state.controller_replicas)
        self.node_selector = known(dict(state.node_selector))
        self.bgp_peers = known(list(state.bgp_peers))
        addresses = self._node_addresses()
        self.router_configs = self._router_configs(config, addresses)
        self._warn_when_eips_contain_node_addresses(config, addresses)
        outputs = {output: getattr(self, attribute) for output, attribute in OUTPUTS}
        # Not a stack output; registered so the engine waits for the reads' conflict reports.
        outputs["fieldConflicts"] = self._found.apply(_unforced)
        self.register_outputs(outputs)

    def _node_addresses(self) -> pulumi.Output[dict[str, str]]:
        """Node -> InternalIP, as the node reads find them: taken from each read's findings,
        never from whole statuses; unknown while a node's status is."""
        names = {obj.key: obj.name for obj in self.state.objects if obj.key in self.reads}

        def addresses(found: list[Findings]) -> Any:
            if not all(read.address_known for read in found):
                return pulumi.UNKNOWN  # a node's status is not known yet (a preview)
            return {
                names[key]: read.address
                for key, read in zip(self._judged, found, strict=True)
                if read.address is not None
            }

        result: pulumi.Output[dict[str, str]] = self._found.apply(addresses)
        return result

    def _router_configs(
        self, config: StackConfig, addresses: pulumi.Output[dict[str, str]]
    ) -> pulumi.Output[dict[str, dict[str, str]]]:
        """Rendered once the node reads and passwords resolve; passwords stay Pulumi secrets."""
        passwords = pulumi.Output.all(**self._secrets)

        def render(addresses: dict[str, str], texts: Any) -> dict[str, dict[str, str]]:
            routers = leaf_routers(config, self.state, addresses)
            # A Node's status is the cluster's text: an address no router can take is named,
            # never rendered.
            for warning in address_warnings(routers):
                pulumi.log.warn(warning, resource=self)
            return {
                router.leaf: {"frr": render_frr(router, texts), "bird": render_bird(router, texts)}
                for router in routers
            }

        # Chained, not Output.all: that would lift the addresses one by one.
        configs: pulumi.Output[dict[str, dict[str, str]]] = passwords.apply(
            lambda texts: addresses.apply(lambda found: render(found, texts))
        )
        return pulumi.Output.secret(configs) if self._secrets else configs

    def _warn_when_eips_contain_node_addresses(
        self, config: StackConfig, addresses: pulumi.Output[dict[str, str]]
    ) -> None:
        """The eips warning of desired/addressing.py for the nodes' own addresses, which only
        the Node reads know (the stack's router and router-ID addresses are in state.warnings)."""
        if config.eips is None:
            return

        def warn(addresses: dict[str, str]) -> None:
            message = eips_warning(config, node_addresses(addresses))
            if message is not None:
                pulumi.log.warn(message, resource=self)

        addresses.apply(warn)

    def _bgp_conf_gate(
        self, config: StackConfig, workload: Read
    ) -> "pulumi.Output[BgpConfChange | None]":
        """Compare the BgpConf this run applies with the one the last run recorded on the
        announcing workload (read anyway before it is patched). A change restarts BGP on every
        replica at once: the preview names it; ``up`` applies it only when
        ``acceptBgpConfChange`` holds its digest, and otherwise fails before any resource is
        registered (every resource's inputs wait for this Output). A BgpPeer that changes
        resets its leaf's sessions: said per leaf (``peer_resets``). Reads only the metadata's
        annotations, and returns a small object: nothing is lifted (``component/reads.py``)."""
        state, given = self.state, config.accept_bgp_conf_change
        version, timers = config.openelb.version, config.timers

        def decide(metadata: Any) -> BgpConfChange | None:
            annotations = field(metadata, "annotations")
            for reset in peer_resets.reset_warnings(state, peer_resets.recorded_from(annotations)):
                pulumi.log.warn(reset, resource=self)
            recorded = bgpconf_change.recorded_from(annotations)
            change = bgpconf_change.pending_change(
                version, state, recorded, timers, bgpconf_change.speakers_by_leaf(state)
            )
            if change is None:
                if given is not None:
                    pulumi.log.warn(bgpconf_change.stale_acknowledgement(given), resource=self)
                return None
            acknowledged = bgpconf_change.is_acknowledged(change, given)
            if not acknowledged and not pulumi.runtime.is_dry_run():
                raise pulumi.RunError(bgpconf_change.refusal(change, given))
            pulumi.log.warn(change.describe(), resource=self)
            return change

        return workload.metadata.apply(decide)

    def _read(self, obj: DesiredObject) -> Read:
        """The read proving ``obj``'s target exists (made once per object)."""
        read = self.reads.get(obj.key)
        if read is None:
            read = READ_FUNCTIONS[(obj.api_version, obj.kind)](
                f"{self._name}-{obj.key}-existing",
                obj.object_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.reads[obj.key] = read
        return read

    def _gated(self, obj: DesiredObject, body: dict[str, Any]) -> dict[str, Any]:
        """The announcing workload's spec as the pending BgpConf change requires (on 0.6 every
        speaker replaced at once); every other body as it is."""
        if obj.key != WORKLOAD_KEY:
            return body
        state = self.state
        spec = self._gate.apply(
            lambda change: (
                bgpconf_change.carried_out(state, change).by_key(WORKLOAD_KEY).manifest["spec"]
            )
        )
        return {**body, "spec": spec}

    def _register(self, obj: DesiredObject) -> pulumi.CustomResource:
        resource_name = f"{self._name}-{obj.key}"
        depends_on: list[pulumi.Input[pulumi.Resource]] = [
            self.resources[key] for key in obj.depends_on
        ]
        depends_on.append(self._gate_passed)
        ref = (obj.api_version, obj.kind)
        if obj.must_exist:
            read = self._read(obj)
            depends_on.append(read)
            self._judged[obj.key] = (obj, read)
        # No additional secret outputs. The BgpPeer's status stays readable: OpenELB copies
        # only GoBGP's PeerState and timers into status.nodesPeerStatus
        # (api/v1alpha2/bgppeer_types.go:220-244@v0.5.1 and @v0.6.0), and GoBGP v2.23.0 never
        # fills PeerState.auth_password (internal/pkg/config/util.go:478-510, the only
        # PeerState built for ListPeer; the password is in Conf, which OpenELB does not copy).
        # The password's own output, spec.conf.authPassword, is secret because its input is
        # (the provider's annotateSecrets, provider/pkg/provider/provider.go:3467-3499).
        opts = pulumi.ResourceOptions(
            parent=self,
            depends_on=depends_on,
            additional_secret_outputs=secret_outputs(obj),
            aliases=aliases(self._name, obj),
            delete_before_replace=obj.delete_before_replace or None,
        )
        # Each secret placeholder becomes the Pulumi secret, so the value is encrypted in state
        # and masked in every diff and log.
        body = self._gated(obj, obj.with_secrets(obj.body, self._secrets))
        if obj.action == "patch":
            patch = PATCH_CLASSES.get(ref)
            if patch is None:
                return k8s.apiextensions.CustomResourcePatch(
                    resource_name,
                    api_version=obj.api_version,
                    kind=obj.kind,
                    opts=opts,
                    **body,
                )
            return patch(resource_name, opts=opts, **body)
        create = CREATE_CLASSES.get(ref)
        if create is None:
            return k8s.apiextensions.CustomResource(
                resource_name, api_version=obj.api_version, kind=obj.kind, opts=opts, **body
            )
        return create(resource_name, opts=opts, **body)


def _unforced(found: list[Findings]) -> Any:
    """Every read's unforced conflict messages; unknown while a read's patched parts are."""
    if any(read.unforced is None for read in found):
        return pulumi.UNKNOWN
    return [message for read in found for message in read.unforced or ()]
