"""Generated stacks through the whole program under mocks: the docs' promises as properties.

Valid stacks: every listed node labelled once with the right labels and nothing else touched,
the documented replica count, each BgpPeer selecting exactly its own leaf, unique names.
Invalid mutations of valid stacks: one ``pulumi.RunError`` naming the mutated key, nothing
registered. Example counts and seeds come from the Hypothesis profile (tests/conftest.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pytest
from hypothesis import event, example, given, note, settings

from openelb_component.config import names
from tests.support.harness import Run, run_program, run_program_capturing
from tests.support.strategies import VERSIONS, Config, Mutation, mutations, valid_configs

# Generated stacks through the whole program: `make test-slow` (CI runs it), not `make test`.
pytestmark = pytest.mark.slow

NODE_PATCH = "kubernetes:core/v1:NodePatch"
NODE_READ = "kubernetes:core/v1:Node"
BGP_PEER = "kubernetes:network.kubesphere.io/v1alpha2:BgpPeer"
WORKLOAD = "openelb-ha-workload"
BYSTANDERS = ("bystander-0", "bystander-1")
"""Nodes of the cluster the stack does not list; nothing may select or touch them."""

# Invalid stacks fail before anything reaches the engine, so more of them fit the budget (each
# failed run ends with a full garbage collection, about 0.1 s, see tests/harness.py).
INVALID_EXAMPLES = settings(max_examples=2 * settings().max_examples)


# --- the stack's meaning, read from the raw config independently of the program ------------


def version_of(config: Config) -> str:
    return str(config.get("openelb", {}).get("version", "0.5"))


def rack_of_node(config: Config) -> dict[str, str | None]:
    topology = config["topology"]
    if topology["kind"] == "single-router":
        return dict.fromkeys(topology["nodes"])
    return {node: leaf["name"] for leaf in topology["leaves"] for node in leaf["nodes"]}


def expected_replicas(config: Config) -> int:
    """README: single-router: `replicas`, default one per listed node; multi-leaf:
    `replicasPerLeaf` (default 2) x leaves."""
    topology = config["topology"]
    if topology["kind"] == "single-router":
        return int(topology.get("replicas", len(topology["nodes"])))
    return int(topology.get("replicasPerLeaf", 2)) * len(topology["leaves"])


def replicas_per_leaf(config: Config) -> int:
    topology = config["topology"]
    if topology["kind"] == "single-router":
        return expected_replicas(config)
    return int(topology.get("replicasPerLeaf", 2))


# --- what each supported version's workload must look like --------------------------------


def _workload_v05(run: Run, config: Config) -> None:
    # One Deployment: the replica count is the README's formula, and one replica per leaf is
    # allowed with a warning.
    workload = run.named(WORKLOAD)
    assert workload.type == "kubernetes:apps/v1:DeploymentPatch"
    assert workload.inputs["metadata"]["name"] == "openelb-manager"
    spec = workload.inputs["spec"]
    assert spec["replicas"] == run.outputs["replicas"] == expected_replicas(config)
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}
    pod_spec = spec["template"]["spec"]
    assert pod_spec["nodeSelector"][names.HA_LABEL] == names.HA_LABEL_VALUE
    spreads = [c["topologyKey"] for c in pod_spec.get("topologySpreadConstraints", [])]
    multi_leaf = config["topology"]["kind"] == "multi-leaf"
    assert spreads == ([names.RACK_LABEL] if multi_leaf else [])
    warned = any("not highly available" in w for w in run.warnings)
    assert warned is (replicas_per_leaf(config) < 2)


def _workload_v06(run: Run, config: Config) -> None:
    # The speaker DaemonSet runs on every labelled node: HA is the node set, no replica count.
    workload = run.named(WORKLOAD)
    assert workload.type == "kubernetes:apps/v1:DaemonSetPatch"
    assert workload.inputs["metadata"]["name"] == "openelb-speaker"
    assert "replicas" not in workload.inputs["spec"]
    pod_spec = workload.inputs["spec"]["template"]["spec"]
    assert pod_spec["nodeSelector"][names.HA_LABEL] == names.HA_LABEL_VALUE


WORKLOAD_INVARIANTS: dict[str, Callable[[Run, Config], None]] = {
    "0.5": _workload_v05,
    "0.6": _workload_v06,
}
"""Per release line: what its workload and replica count must be (the rest is common)."""


def test_every_version_generated_has_its_invariants() -> None:
    assert set(VERSIONS) <= set(WORKLOAD_INVARIANTS)


# --- label selectors, evaluated as the API server does ---------------------------------------


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """LabelSelector semantics: matchLabels and every matchExpression must hold; an empty or
    missing selector selects every node (a BgpPeer without one peers from all replicas)."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        holds = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not holds:
            return False
    return True


def test_selector_semantics() -> None:
    labels = {"rack": "a", "host": "n1"}
    assert selects(None, labels) and selects({}, labels)
    assert selects({"matchLabels": {"rack": "a"}}, labels)
    assert not selects({"matchLabels": {"rack": "b"}}, labels)
    expression = {"key": "host", "operator": "In", "values": ["n1"]}
    assert selects({"matchExpressions": [expression]}, labels)
    assert not selects({"matchExpressions": [{**expression, "operator": "NotIn"}]}, labels)
    assert selects({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)


def cluster_labels(run: Run) -> dict[str, dict[str, str]]:
    """Every node's labels after the apply: what the kubelet sets, plus the NodePatch labels."""
    labels = {node: _kubelet_labels(node) for node in BYSTANDERS}
    for patch in run.of_type(NODE_PATCH):
        node = patch.inputs["metadata"]["name"]
        labels[node] = _kubelet_labels(node) | patch.inputs["metadata"]["labels"]
    return labels


def _kubelet_labels(node: str) -> dict[str, str]:
    return {names.HOSTNAME_LABEL: node, names.OS_LABEL: "linux"}


# --- the properties ---------------------------------------------------------------------------


def assert_nodes_labelled_exactly(config: Config, run: Run) -> None:
    racks = rack_of_node(config)
    patched = Counter(r.inputs["metadata"]["name"] for r in run.of_type(NODE_PATCH))
    read = Counter(r.read_id for r in run.reads if r.type == NODE_READ)
    assert patched == Counter(list(racks)), "each listed node patched once, no other node"
    assert read == Counter(list(racks)), "each listed node read once, no other node"
    for patch in run.of_type(NODE_PATCH):
        node = patch.inputs["metadata"]["name"]
        assert patch.inputs["metadata"]["labels"] == expected_labels(node, racks[node])


def expected_labels(node: str, rack: str | None) -> dict[str, str]:
    """docs/behaviour.md: the HA label on every listed node; in multi-leaf also the rack label,
    which with the HA label is what its leaf's BgpPeer selects."""
    labels = {names.HA_LABEL: names.HA_LABEL_VALUE}
    if rack is not None:
        labels[names.RACK_LABEL] = rack
    return labels


def assert_each_peer_selects_its_own_leaf(config: Config, run: Run) -> None:
    topology = config["topology"]
    with_peer = [leaf for leaf in topology.get("leaves", []) if "peer" in leaf]
    peers = run.of_type(BGP_PEER)
    assert len(peers) == len(with_peer)
    labels = cluster_labels(run)
    by_node_set = {frozenset(leaf["nodes"]): leaf for leaf in with_peer}
    for peer in peers:
        spec = peer.inputs["spec"]
        selector = spec.get("nodeSelector")
        selected = frozenset(node for node, on in labels.items() if selects(selector, on))
        leaf = by_node_set.pop(selected, None)
        assert leaf is not None, f"{peer.name} selects {sorted(selected)}, not one leaf's nodes"
        assert spec["conf"]["neighborAddress"] == leaf["peer"]["address"]
        assert spec["conf"]["peerAs"] == leaf["peer"]["asn"]


def assert_names_unique(run: Run) -> None:
    urns = Counter((r.type, r.name) for r in run.registrations)
    assert [key for key, count in urns.items() if count > 1] == []
    # Each Kubernetes object is managed by one resource only.
    objects = Counter(
        (r.inputs["kind"], r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"])
        for r in run.resources
        if "metadata" in r.inputs
    )
    assert [key for key, count in objects.items() if count > 1] == []


@given(valid_configs)
def test_valid_stacks_apply_exactly_what_the_readme_promises(config: Config) -> None:
    event(f"{config['topology']['kind']}, {len(rack_of_node(config)) // 50 * 50}+ nodes")
    run = run_program(config)
    assert_nodes_labelled_exactly(config, run)
    WORKLOAD_INVARIANTS[version_of(config)](run, config)
    assert_each_peer_selects_its_own_leaf(config, run)
    assert_names_unique(run)


def error_paths(message: str) -> list[str]:
    """The key paths an error lists, one problem per line: ``  - <path> = <value>: <fix>``."""
    return [line[4:].split(" = ", 1)[0] for line in message.splitlines() if line.startswith("  - ")]


SNAKE_CASE_KEY = Mutation(
    "unknown key",
    {
        "topology": {
            "kind": "multi-leaf",
            "replicas_per_leaf": 3,
            "leaves": [{"name": "leaf1", "nodes": ["master1", "worker-p001"]}],
        }
    },
    frozenset({"topology.replicas_per_leaf"}),
)
"""Found by these tests: the Python field name was accepted as a stack key, and the leaf-size
check, reading replicasPerLeaf, let 3 replicas through for 2 nodes."""


@INVALID_EXAMPLES
@given(mutations())
@example(SNAKE_CASE_KEY)
def test_invalid_mutations_fail_with_one_run_error_naming_them(mutation: Mutation) -> None:
    event(mutation.kind)
    note(f"{mutation.kind}: expected one of {sorted(mutation.paths)}")
    run, error = run_program_capturing(mutation.config)
    assert isinstance(error, pulumi.RunError), repr(error)
    note(str(error))
    assert run.registrations == []
    assert any(mutation.named_by(path) for path in error_paths(str(error)))
