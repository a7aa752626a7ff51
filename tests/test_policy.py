"""The policy pack: each rule passes on what the real component registers for every example
stack, and fails, with its message, on mutated copies of those registrations.

Rules are plain functions (policy/openelb_policy/rules.py; the facts they read in model.py, the
pack's list in registry.py) fed the registrations captured under
Pulumi's mocks; the CrossGuard wrapping is exercised through the SDK's own analyzer servicer, and
the pack's entry point is started for real and asked for its policies over gRPC.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pulumi_policy.deserialize as sdk_deserialize
import pulumi_policy.policy as sdk_policy
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel

from openelb_component.config import names
from openelb_policy import model, pack, registry, rules
from openelb_policy.model import Resource, Violation
from tests.support import harness
from tests.support.harness import ROOT, run_program, stack_config, stack_files, stack_files_step
from tests.support.manifests import upstream_documents

POLICY_DIR = ROOT / "policy"
STACKS = stack_files()
RULES = {rule.name: rule for rule in registry.RULES}
MANDATORY = [rule for rule in registry.RULES if rule.enforcement == "mandatory"]
SECRET = {model.SECRET_SIG_KEY: model.SECRET_SIG, "value": "s3cret"}


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def policy_config(stack: str) -> dict[str, dict[str, Any]]:
    path = POLICY_DIR / "config" / f"{stack}.json"
    if not path.is_file():
        pytest.fail(stack_files_step(stack, f"policy config {path.relative_to(ROOT)}"))
    config: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return config


def registered(config: Mapping[str, Any]) -> list[Resource]:
    """The stack's resources as CrossGuard sees them, from a real run under mocks (deep copies,
    so a test may mutate them): the inputs as sent, a secret marked where it is (the engine
    hands the pack the same; the SDK's own deserializer would lift it to ``spec``)."""
    run = run_program(config)
    return [
        Resource(r.type, r.name, copy.deepcopy(r.wire_inputs), r.urn) for r in run.registrations
    ]


def example(stack: str) -> list[Resource]:
    return registered(stack_config(harness.STACKS_DIR / f"Pulumi.{stack}.yaml"))


def with_topology(stack: str, **changes: Any) -> list[Resource]:
    config = stack_config(harness.STACKS_DIR / f"Pulumi.{stack}.yaml")
    config["topology"] = {**config["topology"], **changes}
    return registered(config)


def only(resources: Sequence[Resource], typ: str, name: str | None = None) -> Resource:
    (match,) = [
        r for r in resources if r.type == typ and name in (None, r.props["metadata"]["name"])
    ]
    return match


def messages(violations: list[Violation]) -> list[str]:
    return [v.message for v in violations]


PRODUCTION = {"production": True}


# --- the example stacks pass ------------------------------------------------------------------


def test_every_stack_has_a_policy_config() -> None:
    configs = {p.stem for p in (POLICY_DIR / "config").glob("*.json")}
    stacks = {stack_name(p) for p in STACKS}
    missing = [
        stack_files_step(s, f"policy config policy/config/{s}.json") for s in stacks - configs
    ]
    assert missing == []
    assert sorted(configs - stacks) == [], "a policy config without its stack file: remove it"


@pytest.mark.parametrize("stack", STACKS, ids=[stack_name(p) for p in STACKS])
def test_every_rule_passes_on_the_example_stack(stack: Path) -> None:
    resources = example(stack_name(stack))
    config = policy_config(stack_name(stack))
    for rule in registry.RULES:
        assert rule.check(resources, config.get(rule.name, {})) == [], rule.name


@pytest.mark.parametrize("stack", STACKS, ids=[stack_name(p) for p in STACKS])
def test_the_policy_config_matches_its_stack(stack: Path) -> None:
    config = policy_config(stack_name(stack))
    for name, values in config.items():
        schema = {
            "type": "object",
            "properties": {**RULES[name].config, "enforcementLevel": {"type": "string"}},
            "additionalProperties": False,
        }
        jsonschema.validate(values, schema)
    # The pack cannot read stack config, so its `adopt` must say what the stack says.
    adopt = stack_config(stack).get("adopt", False)
    assert config["openelb-ha-no-patch-force"]["adopt"] is adopt


def test_prod_is_the_production_stack() -> None:
    assert policy_config("prod")["openelb-ha-production-replicas"]["production"] is True
    assert policy_config("dev")["openelb-ha-production-replicas"]["production"] is False


def test_the_pack_reads_the_labels_and_secret_markers_the_project_writes() -> None:
    assert (model.HA_LABEL, model.RACK_LABEL, model.LEAF_LABEL) == (
        names.HA_LABEL,
        names.RACK_LABEL,
        names.LEAF_LABEL,
    )
    assert (model.SECRET_SIG_KEY, model.SECRET_SIG) == (
        harness.SECRET_SIG,
        harness.SECRET_SIG_VALUE,
    )
    assert (model.SECRET_SIG_KEY, model.SECRET_SIG) == (
        sdk_deserialize.SPECIAL_SIG_KEY,
        sdk_deserialize.SPECIAL_SECRET_SIG,
    )


@pytest.mark.parametrize(
    ("version", "kind", "name"),
    [("0.5", "Deployment", "openelb-manager"), ("0.6", "DaemonSet", "openelb-speaker")],
)
def test_the_announcing_workloads_are_upstream_names(version: str, kind: str, name: str) -> None:
    documents = upstream_documents(version)
    assert name in model.ANNOUNCING
    assert any(d.get("kind") == kind and d["metadata"]["name"] == name for d in documents)


# --- production replicas ----------------------------------------------------------------------


def test_a_production_single_router_stack_needs_two_replicas() -> None:
    resources = with_topology("dev", replicas=1)
    (message,) = messages(rules.production_replicas(resources, PRODUCTION))
    assert "Deployment openelb-system/openelb-manager runs 1 replica(s)" in message
    assert "at least 2" in message
    assert rules.production_replicas(resources, {"production": False}) == []


def test_a_production_multi_leaf_stack_needs_two_replicas_per_leaf() -> None:
    resources = with_topology("prod", replicasPerLeaf=1)
    found = messages(rules.production_replicas(resources, PRODUCTION))
    assert [m.split(" gets ")[0] for m in found] == [
        "production stack: leaf 'leaf1'",
        "production stack: leaf 'leaf2'",
    ]
    assert all("1 replica(s)" in m for m in found)


def test_without_the_rack_spread_nothing_guarantees_replicas_per_leaf() -> None:
    resources = example("prod")
    workload = only(resources, model.DEPLOYMENT_PATCH)
    del workload.props["spec"]["template"]["spec"]["topologySpreadConstraints"]
    (message,) = messages(rules.production_replicas(resources, PRODUCTION))
    assert message.startswith(
        "production stack: nothing keeps 2 replicas of Deployment openelb-system/openelb-manager "
        "under each leaf"
    )
    assert "DoNotSchedule topology spread constraint on openelb.kubesphere.io/rack" in message
    assert "or openelb-ha/leaf" in message


def test_a_leaf_short_of_nodes_gets_fewer_replicas() -> None:
    # Move worker-p003 to leaf1: the spread still asks 2 of leaf2, which has one node left.
    resources = example("prod")
    only(resources, model.NODE_PATCH, "worker-p003").props["metadata"]["labels"][
        model.LEAF_LABEL
    ] = "leaf1"
    (message,) = messages(rules.production_replicas(resources, PRODUCTION))
    assert message.startswith("production stack: leaf 'leaf2' gets 1 replica(s)")


def hand_built_v06(speaker_nodes: Mapping[str, str], controller_replicas: int) -> list[Resource]:
    """The v0.6 layout (speaker DaemonSet + controller Deployment), built by hand."""
    ha = {model.HA_LABEL: "openelb"}
    resources = [
        Resource(
            model.NODE_PATCH,
            f"openelb-ha-node-{node}",
            {"metadata": {"name": node, "labels": {**ha, model.RACK_LABEL: leaf}}},
        )
        for node, leaf in speaker_nodes.items()
    ]
    resources += [
        Resource(
            model.DAEMONSET_PATCH,
            "openelb-ha-workload",
            {
                "metadata": {"name": "openelb-speaker", "namespace": "openelb-system"},
                "spec": {"template": {"spec": {"nodeSelector": ha}}},
            },
        ),
        Resource(
            model.DEPLOYMENT_PATCH,
            "openelb-ha-controller",
            {
                "metadata": {"name": "openelb-controller", "namespace": "openelb-system"},
                "spec": {
                    "replicas": float(controller_replicas),  # the wire has only doubles
                    "template": {"spec": {"nodeSelector": ha}},
                },
            },
        ),
        Resource("kubernetes:policy/v1:PodDisruptionBudget", "openelb-ha-pdb", {"spec": {}}),
    ]
    return resources


def test_v06_speakers_count_per_leaf_and_the_controller_in_total() -> None:
    good = hand_built_v06({"a": "leaf1", "b": "leaf1", "c": "leaf2", "d": "leaf2"}, 2)
    assert rules.production_replicas(good, PRODUCTION) == []
    bad = hand_built_v06({"a": "leaf1", "b": "leaf1", "c": "leaf2"}, 1)
    assert messages(rules.production_replicas(bad, PRODUCTION)) == [
        "production stack: leaf 'leaf2' gets 1 replica(s) of DaemonSet "
        "openelb-system/openelb-speaker; run at least 2 under every leaf "
        "(topology.replicasPerLeaf, and that many labelled nodes per leaf) so a node drain "
        "keeps the leaf's BGP sessions",
        "production stack: Deployment openelb-system/openelb-controller runs 1 replica(s); run "
        "at least 2 on 2 nodes (topology.replicas) so a node drain keeps LoadBalancer IPs "
        "announced",
    ]


# --- replicas fit the labelled nodes ----------------------------------------------------------


def test_replicas_beyond_the_labelled_nodes_are_refused() -> None:
    resources = example("dev")
    only(resources, model.DEPLOYMENT_PATCH).props["spec"]["replicas"] = 3
    (message,) = messages(rules.replicas_fit_nodes(resources, {}))
    assert "runs 3 replicas but only 2 node(s) match its nodeSelector (master1, worker-p002)" in (
        message
    )


def test_a_leaf_share_beyond_the_leaf_nodes_is_refused() -> None:
    resources = example("prod")
    only(resources, model.NODE_PATCH, "worker-p003").props["metadata"]["labels"][
        model.LEAF_LABEL
    ] = "leaf1"
    (message,) = messages(rules.replicas_fit_nodes(resources, {}))
    assert "puts 2 replicas under leaf 'leaf2', which has 1 eligible node(s)" in message


def test_a_node_without_the_ha_label_is_not_eligible() -> None:
    resources = example("dev")
    del only(resources, model.NODE_PATCH, "master1").props["metadata"]["labels"][model.HA_LABEL]
    assert "only 1 node(s)" in messages(rules.replicas_fit_nodes(resources, {}))[0]


# --- BGP peers --------------------------------------------------------------------------------


def test_a_multi_leaf_bgppeer_must_select_its_leaf() -> None:
    resources = example("prod")
    peer = only(resources, model.BGP_PEER, "openelb-ha-peer-192-168-1-5")
    del peer.props["spec"]["nodeSelector"]
    (violation,) = rules.bgp_peers_select_nodes(resources, {})
    assert violation.urn == peer.urn
    assert violation.message.startswith("BgpPeer openelb-ha-peer-192-168-1-5 has no nodeSelector")


def test_an_empty_selector_selects_every_node() -> None:
    resources = example("prod")
    only(resources, model.BGP_PEER, "openelb-ha-peer-192-168-0-5").props["spec"]["nodeSelector"] = {
        "matchLabels": {}
    }
    assert len(rules.bgp_peers_select_nodes(resources, {})) == 1


def test_a_single_router_bgppeer_may_select_every_node() -> None:
    peer = Resource(model.BGP_PEER, "openelb-ha-router", {"metadata": {"name": "r"}, "spec": {}})
    resources = [*example("dev"), peer]
    assert rules.bgp_peers_select_nodes(resources, {}) == []


@pytest.mark.parametrize(
    ("password", "violations"),
    [(SECRET, 0), ("s3cret", 1), ("[secret]", 1), (None, 0)],
    ids=["secret", "plain", "placeholder-left-in", "no-password"],
)
def test_a_bgp_password_must_be_a_secret(password: Any, violations: int) -> None:
    resources = example("prod")
    peer = only(resources, model.BGP_PEER, "openelb-ha-peer-192-168-0-5")
    if password is not None:
        peer.props["spec"]["conf"]["authPassword"] = password
    found = rules.bgp_passwords_are_secret(resources, {})
    assert len(found) == violations
    assert all("s3cret" not in v.message for v in found)


def test_an_adopted_bgp_peer_is_checked_like_a_created_one() -> None:
    """With adopt the peers are BgpPeerPatch resources: the password rule still sees them."""
    config = {**stack_config(harness.STACKS_DIR / "Pulumi.prod.yaml"), "adopt": True}
    resources = registered(config)
    peer = only(resources, model.BGP_PEER_PATCH, "openelb-ha-peer-192-168-0-5")
    peer.props["spec"]["conf"]["authPassword"] = "s3cret"
    (violation,) = rules.bgp_passwords_are_secret(resources, {})
    assert "s3cret" not in violation.message


# --- field ownership --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typ", [model.NODE_PATCH, model.BGP_CONF_PATCH], ids=["node-patch", "bgpconf-patch"]
)
def test_a_forcing_patch_needs_adopt(typ: str) -> None:
    resources = example("racks")
    target = next(r for r in resources if r.type == typ)
    target.props["metadata"]["annotations"] = {model.PATCH_FORCE_ANNOTATION: "true"}
    (violation,) = rules.no_patch_force(resources, {"adopt": False})
    assert violation.urn == target.urn
    assert f'annotation {model.PATCH_FORCE_ANNOTATION}: "true"' in violation.message
    assert rules.no_patch_force(resources, {"adopt": True}) == []


@pytest.mark.parametrize("stack", ["prod", "prod-v06"])
def test_the_workload_patches_force_by_design(stack: str) -> None:
    resources = example(stack)
    forced = [r for r in resources if model.PATCH_FORCE_ANNOTATION in str(r.props)]
    assert forced and {r.type for r in forced} <= set(rules.FORCED_BY_DESIGN)
    assert rules.no_patch_force(resources, {"adopt": False}) == []


def test_a_forcing_provider_needs_adopt() -> None:
    provider = Resource(model.KUBERNETES_PROVIDER, "k8s", {"enablePatchForce": "true"})
    (violation,) = rules.no_patch_force([provider], {})
    assert "provider option enablePatchForce" in violation.message


def test_a_bgpconf_patch_is_checked_like_any_patch() -> None:
    bgpconf = Resource(
        "kubernetes:network.kubesphere.io/v1alpha2:BgpConfPatch",
        "openelb-ha-bgpconf",
        {"metadata": {"name": "default", "annotations": {model.PATCH_FORCE_ANNOTATION: "true"}}},
    )
    assert len(rules.no_patch_force([bgpconf], {})) == 1


# --- advisory ---------------------------------------------------------------------------------


def test_a_single_replica_is_reported_anywhere() -> None:
    assert messages(rules.single_replica(with_topology("dev", replicas=1), {})) == [
        "Deployment openelb-system/openelb-manager runs a single replica: while its node "
        "drains or reboots no LoadBalancer IP is announced"
    ]
    per_leaf = messages(rules.single_replica(with_topology("prod", replicasPerLeaf=1), {}))
    assert [m.split(" has ")[0] for m in per_leaf] == ["leaf 'leaf1'", "leaf 'leaf2'"]


# --- the CrossGuard wrapping ------------------------------------------------------------------


def test_the_pack_wraps_every_rule_at_its_level() -> None:
    policies = pack.policies()
    assert [p.name for p in policies] == [rule.name for rule in registry.RULES]
    levels = {p.name: p.enforcement_level for p in policies}
    assert {name for name, level in levels.items() if level == EnforcementLevel.MANDATORY} == {
        rule.name for rule in MANDATORY
    }
    assert levels["openelb-ha-single-replica"] == EnforcementLevel.ADVISORY


@pytest.fixture
def sdk_secrets_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # keep_secrets_visible() replaces a module attribute of the SDK; undo it after the test.
    monkeypatch.setattr(
        "pulumi_policy.policy.deserialize_properties", sdk_deserialize.deserialize_properties
    )
    yield


def analyze(resources: Sequence[Resource], config: Mapping[str, Mapping[str, Any]]) -> Any:
    """One stack validation through the SDK's own analyzer servicer, as the CLI would call it."""
    servicer = sdk_policy._PolicyAnalyzerServicer(
        pack.PACK_NAME, "0.1.0", list(pack.policies()), sdk_policy.EnforcementLevel.ADVISORY
    )
    level = {"mandatory": analyzer_pb2.MANDATORY, "advisory": analyzer_pb2.ADVISORY}
    servicer.Configure(  # type: ignore[no-untyped-call]
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                name: analyzer_pb2.PolicyConfig(
                    enforcementLevel=level[RULES[name].enforcement],
                    properties=json_format.ParseDict(dict(values), struct_pb2.Struct()),
                )
                for name, values in config.items()
            }
        ),
        None,
    )
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                name=r.name,
                urn=r.urn or "",
                properties=json_format.ParseDict(dict(r.props), struct_pb2.Struct()),
            )
            for r in resources
        ]
    )
    return servicer.AnalyzeStack(request, None)  # type: ignore[no-untyped-call]


def test_violations_reach_the_engine_with_policy_level_and_urn(sdk_secrets_restored: None) -> None:
    pack.keep_secrets_visible()
    resources = with_topology("prod", replicasPerLeaf=1)
    response = analyze(resources, policy_config("prod"))
    found = sorted(
        (d.policyName, d.enforcementLevel, d.urn.rsplit("::", 1)[1]) for d in response.diagnostics
    )
    assert found == [
        ("openelb-ha-production-replicas", analyzer_pb2.MANDATORY, "openelb-ha-workload"),
        ("openelb-ha-production-replicas", analyzer_pb2.MANDATORY, "openelb-ha-workload"),
        ("openelb-ha-single-replica", analyzer_pb2.ADVISORY, "openelb-ha-workload"),
        ("openelb-ha-single-replica", analyzer_pb2.ADVISORY, "openelb-ha-workload"),
    ]
    assert analyze(example("dev"), policy_config("dev")).diagnostics == []


def test_secret_passwords_survive_the_sdk_only_with_the_markers_kept(
    sdk_secrets_restored: None,
) -> None:
    resources = example("prod")
    only(resources, model.BGP_PEER, "openelb-ha-peer-192-168-0-5").props["spec"]["conf"][
        "authPassword"
    ] = SECRET
    config: dict[str, dict[str, Any]] = {"openelb-ha-bgp-password-secret": {}}
    # The stock SDK unwraps the secret, so the rule would see plain text: why the pack patches it.
    unwrapped = analyze(resources, config).diagnostics
    assert [d.policyName for d in unwrapped] == ["openelb-ha-bgp-password-secret"]
    pack.keep_secrets_visible()
    assert [d.policyName for d in analyze(resources, config).diagnostics] == []


def test_the_pack_entry_point_serves_its_policies() -> None:
    # Started as the CLI starts it: it prints its port, then serves until stopped.
    with subprocess.Popen(
        [sys.executable, "__main__.py"], cwd=POLICY_DIR, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            port = int(process.stdout.readline())
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(
                    empty_pb2.Empty(), timeout=10
                )
        finally:
            process.terminate()
    assert info.name == pack.PACK_NAME
    assert [p.name for p in info.policies] == [rule.name for rule in registry.RULES]
    schemas = {p.name: json_format.MessageToDict(p.configSchema) for p in info.policies}
    assert schemas["openelb-ha-no-patch-force"]["properties"] == {
        "adopt": {"type": "boolean", "default": False}
    }


def test_the_pack_manifest_and_requirements() -> None:
    manifest = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    pinned = (POLICY_DIR / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in pinned
    assert "pulumi-policy==1.21.0" in (ROOT / "requirements-dev.txt").read_text().split()
