"""BgpConf, peer passwords and adopt, under Pulumi's mocks (the real program, real registrations).

Passwords: the registered BgpPeer's input must be a Pulumi secret, and the password must appear
nowhere else in plain form: not in any other input, output, warning or error text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from tests.support.examples import multi_leaf
from tests.support.harness import (
    STACKS_DIR,
    Run,
    is_secret,
    run_program,
    run_program_capturing,
    stack_config,
)

PASSWORD = "Tr0ub4dor&3-not-in-output"  # noqa: S105 - the test's own fake password
CONF_TYPE = "kubernetes:network.kubesphere.io/v1alpha2:BgpConfPatch"
PEER_TYPE = "kubernetes:network.kubesphere.io/v1alpha2:BgpPeer"


SINGLE = {"topology": {"kind": "single-router", "nodes": ["master1", "worker-p002"]}}
PER_NODE = {"openelb-ha/per-node-racks": 64600}


def same_local_asn() -> dict[str, Any]:
    topology: dict[str, Any] = multi_leaf()["topology"]
    topology["leaves"][0]["localAsn"] = 65001
    topology["leaves"][1]["peer"]["asn"] = 65002
    return topology


def bgp_conf(run: Run) -> dict[str, Any]:
    (conf,) = run.of_type(CONF_TYPE)
    assert conf.name == "openelb-ha-bgpconf"
    return conf.inputs


@pytest.mark.parametrize(
    ("config", "spec"),
    [
        # One rack per node (the default): one asPerRack entry no rack label can match, so
        # every speaker learns its rack (its node) and keeps bgp.as.
        ({**SINGLE, "bgp": {"as": 64600}}, {"as": 64600, "asPerRack": PER_NODE}),
        (
            {
                **SINGLE,
                "bgp": {
                    "as": 64600,
                    "listenPort": 17900,
                    "routerId": "10.0.0.1",
                    "nextHops": "rack",
                },
            },
            {"as": 64600, "listenPort": 17900, "routerId": "10.0.0.1"},
        ),
        # ... whatever the leaves: a leaf's own ASN is its BgpPeer's localAs.
        (multi_leaf(), {"as": 64600, "asPerRack": PER_NODE}),
        # The guide's racks: every leaf, its own ASN or bgp.as (a speaker learns its rack only
        # from asPerRack).
        (
            multi_leaf(bgp={"as": 64600, "nextHops": "rack"}),
            {"as": 64600, "asPerRack": {"leaf1": 64601, "leaf2": 64600}},
        ),
    ],
    ids=["defaults", "port-and-router-id-racks", "per-leaf-asn", "per-leaf-asn-racks"],
)
def test_bgp_conf_default_carries_the_stack_settings(
    config: dict[str, Any], spec: dict[str, Any]
) -> None:
    assert bgp_conf(run_program(config)) == {
        "apiVersion": "network.kubesphere.io/v1alpha2",
        "kind": "BgpConf",
        "metadata": {
            "name": "default",
            "annotations": {"pulumi.com/patchFieldManager": "openelb-ha"},
        },
        "spec": spec,
    }


def test_without_bgp_no_bgp_conf_is_touched() -> None:
    topology = multi_leaf()["topology"]
    del topology["leaves"][0]["localAsn"]
    run = run_program({"topology": topology})
    assert run.of_type(CONF_TYPE) == []
    for peer in run.of_type(PEER_TYPE):
        assert not any("BgpConf" in dependency for dependency in peer.dependencies)


def test_bgp_conf_waits_for_rack_labels_and_peers_wait_for_it() -> None:
    run = run_program(multi_leaf())
    conf = run.named("openelb-ha-bgpconf")
    node_patches = [r.urn for r in run.of_type("kubernetes:core/v1:NodePatch")]
    (gate,) = [r.urn for r in run.reads if r.name == "openelb-ha-workload-existing"]
    assert conf.dependencies == sorted([*node_patches, gate])
    for peer in run.of_type(PEER_TYPE):
        assert conf.urn in peer.dependencies
    # Taken over, not created: it may exist already, so it is never read first either.
    assert [r for r in run.reads if "BgpConf" in r.type] == []


def with_password(**extra: Any) -> dict[str, Any]:
    return multi_leaf(bgpPasswords={"leaf1": PASSWORD}, **extra)


def plain_occurrences(value: Any, path: str = "") -> Iterator[str]:
    """Where PASSWORD appears outside a Pulumi secret."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from plain_occurrences(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from plain_occurrences(item, f"{path}[{index}]")
    elif PASSWORD in str(value):
        yield path


def test_a_peer_password_reaches_the_bgp_peer_as_a_secret_and_nowhere_else() -> None:
    run = run_program(with_password(), secret_keys=["bgpPasswords"])
    # Exactly the password is secret: the rest of the spec stays readable in a preview.
    spec = run.named("openelb-ha-bgppeer-192-168-0-5").wire_inputs["spec"]
    assert is_secret(spec["conf"]["authPassword"])
    assert spec["conf"]["authPassword"]["value"] == PASSWORD
    assert not any(is_secret(value) for value in spec.values())
    assert "authPassword" not in run.named("openelb-ha-bgppeer-192-168-1-5").inputs["spec"]["conf"]
    for registration in run.registrations:
        assert list(plain_occurrences(registration.wire_inputs)) == [], registration.name
        assert list(plain_occurrences(registration.inputs)) == [], registration.name
    # Only the leaf routers' configurations carry it, as a secret output (tests/test_routers.py).
    assert run.secret_outputs == {"router_configs"}
    readable = {name: value for name, value in run.outputs.items() if name != "router_configs"}
    assert PASSWORD not in json.dumps(readable)
    assert PASSWORD in run.outputs["router_configs"]["leaf1"]["frr"]
    assert not any(PASSWORD in warning for warning in run.warnings)


def test_a_bgp_peers_status_is_not_marked_secret_because_it_never_holds_the_password() -> None:
    """Finding (docs/behaviour.md, "Secrets and the BgpPeer status"): OpenELB copies only
    GoBGP's ``peer.State`` and ``peer.Timers.State`` into ``status.nodesPeerStatus``
    (api/v1alpha2/bgppeer_types.go:220-244@v0.5.1, same at v0.6.0), and GoBGP v2.23.0, the
    version both tags pin, builds that PeerState without ``AuthPassword``
    (internal/pkg/config/util.go:478-510@v2.23.0; the password goes to ``Conf`` at l.467). So
    the status stays readable (session state in outputs), and only the password input, with
    the output the provider derives from it, is secret."""
    run = run_program(with_password(), secret_keys=["bgpPasswords"])
    secret_outputs = {r.name: r.additional_secret_outputs for r in run.resources}
    assert secret_outputs["openelb-ha-bgppeer-192-168-0-5"] == []
    assert secret_outputs["openelb-ha-bgppeer-192-168-1-5"] == []


@pytest.mark.parametrize(
    ("config", "secret_keys", "expected"),
    [
        (
            with_password(),
            [],
            "bgpPasswords = [secret]: stored in plaintext in the stack file; BGP passwords must "
            "be Pulumi secrets: remove it (pulumi config rm bgpPasswords), then run pulumi "
            "config set --secret --path 'bgpPasswords.leaf1' <password>",
        ),
        (
            multi_leaf(bgpPasswords={"leaf9": PASSWORD}),
            ["bgpPasswords"],
            "bgpPasswords.leaf9 = [secret]: no leaf named 'leaf9' in topology.leaves",
        ),
        (
            multi_leaf(bgpPasswords={"Rack.A": PASSWORD}),
            [],
            "pulumi config set --secret --path 'bgpPasswords[\"Rack.A\"]' <password>",
        ),
        (
            {**SINGLE, "bgpPasswords": {"leaf1": PASSWORD}},
            ["bgpPasswords"],
            "bgpPasswords.leaf1 = [secret]: no leaf named 'leaf1'",
        ),
        (
            multi_leaf(bgpPasswords=PASSWORD),
            ["bgpPasswords"],
            "bgpPasswords = [secret]: input should be a valid dictionary",
        ),
        (
            multi_leaf(bgpPasswords={"leaf1": [PASSWORD]}),
            ["bgpPasswords"],
            "bgpPasswords.leaf1 = [secret]: input should be a valid string",
        ),
        (
            multi_leaf(bgpPasswords={"leaf1": ""}),
            ["bgpPasswords"],
            "bgpPasswords.leaf1 = [secret]: empty; a BGP password must be 1 to 80 printable ASCII "
            "characters",
        ),
    ],
    ids=[
        "plaintext",
        "unknown-leaf",
        "dotted-leaf-command",
        "no-leaves",
        "not-an-object",
        "list",
        "empty",
    ],
)
def test_password_problems_name_the_fix_never_the_password(
    config: dict[str, Any], secret_keys: list[str], expected: str
) -> None:
    run, error = run_program_capturing(config, secret_keys=secret_keys)
    assert isinstance(error, pulumi.RunError)
    assert expected in str(error)
    assert PASSWORD not in str(error)
    assert run.registrations == []


def test_a_password_for_a_leaf_without_peer_is_refused() -> None:
    config = with_password()
    del config["topology"]["leaves"][0]["peer"]
    _, error = run_program_capturing(config, secret_keys=["bgpPasswords"])
    assert "bgpPasswords.leaf1 = [secret]: leaf 'leaf1' has no peer" in str(error)


def test_the_rest_of_the_stack_is_validated_too_and_passwords_come_last() -> None:
    config = with_password()
    config["topology"]["replicasPerLeaf"] = 3
    _, error = run_program_capturing(config)
    lines = str(error).splitlines()[1:]
    assert [line.split(" = ")[0].strip("- ") for line in lines] == [
        "topology.leaves[0].nodes",
        "topology.leaves[1].nodes",
        "bgpPasswords",
    ]
    assert PASSWORD not in str(error)


@pytest.mark.parametrize(
    ("config", "path"),
    [
        (
            multi_leaf() | {"bgp": {"as": 65001}},
            "topology.leaves[1].peer.asn = 65001: leaf 'leaf2' would peer with its router from "
            "the same ASN 65001 (bgp.as)",
        ),
        (
            multi_leaf() | {"bgp": {"as": 64600}, "topology": same_local_asn()},
            "topology.leaves[0].peer.asn = 65001: leaf 'leaf1' would peer with its router from "
            "the same ASN 65001 (its localAsn)",
        ),
        (
            {"topology": multi_leaf()["topology"]},
            "topology.leaves[0].localAsn = 64601: leaf 'leaf1' has a localAsn but "
            "openelb-ha:bgp is not set",
        ),
        (
            {**SINGLE, "bgp": {"as": 1}, "openelb": {"mode": "layer2"}},
            "bgp = {'as': 1}: BGP settings are only read in bgp mode",
        ),
        ({**SINGLE, "bgp": {"as": 1, "routerId": "fd00::1"}}, "bgp.routerId = 'fd00::1'"),
        ({**SINGLE, "bgp": {"as": 1, "listenPort": 0}}, "bgp.listenPort = 0"),
        ({**SINGLE, "bgp": {"listenPort": 179}}, "bgp.as = (missing)"),
        ({**SINGLE, "adopt": "yes"}, "adopt = 'yes'"),
    ],
    ids=[
        "global-as-equals-peer",
        "local-asn-equals-peer",
        "local-asn-without-bgp",
        "bgp-in-layer2",
        "ipv6-router-id",
        "port-0",
        "as-missing",
        "adopt-not-bool",
    ],
)
def test_bgp_problems_name_the_leaf_and_register_nothing(config: dict[str, Any], path: str) -> None:
    run, error = run_program_capturing(config)
    assert isinstance(error, pulumi.RunError)
    assert path in str(error)
    assert run.registrations == []


@pytest.mark.parametrize("adopt", [True, False, None], ids=["adopt", "no-adopt", "default"])
def test_workload_patches_always_force_other_patches_only_when_adopting(
    adopt: bool | None,
) -> None:
    """The workloads' fields are this project's to manage (the installer owns them after
    `kubectl apply -f openelb.yaml`); a conflict on a node or the BgpConf is a person's choice."""
    config = multi_leaf() if adopt is None else multi_leaf(adopt=adopt)
    run = run_program(config)
    patches = [r for r in run.resources if r.type.endswith("Patch")]
    # Adopting, the BgpPeers are patches too: a hand-made peer is taken over, not re-created.
    assert {r.type.rsplit(":", 1)[1] for r in patches} == {
        "NodePatch",
        "DeploymentPatch",
        "BgpConfPatch",
        *(["BgpPeerPatch"] if adopt else []),
    }
    for registration in run.resources[1:]:
        annotations = registration.inputs["metadata"].get("annotations", {})
        forced = annotations.get("pulumi.com/patchForce") == "true"
        workload = registration.type == "kubernetes:apps/v1:DeploymentPatch"
        assert forced is (workload or (bool(adopt) and registration in patches)), registration.name
        assert annotations["pulumi.com/patchFieldManager"] == "openelb-ha", registration.name


def test_the_racks_example_stack_manages_its_bgp_conf() -> None:
    run = run_program(stack_config(STACKS_DIR / "Pulumi.racks.yaml"))
    assert bgp_conf(run)["spec"] == {
        "as": 64600,
        "listenPort": 17900,
        # Every node its own rack: one entry no rack label can match, so every speaker keeps
        # bgp.as and learns its rack.
        "asPerRack": {"openelb-ha/per-node-racks": 64600},
    }
    # rack-a's and rack-b's own ASNs are their BgpPeers' localAs; rack-c keeps bgp.as.
    specs = [peer.inputs["spec"] for peer in run.of_type(PEER_TYPE)]
    local_as = {
        spec["nodeSelector"]["matchLabels"]["openelb-ha/leaf"]: spec["conf"].get("localAs")
        for spec in specs
    }
    assert local_as == {"rack-a": 64601, "rack-b": 64602, "rack-c": None}
