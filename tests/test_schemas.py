"""Every generated object is valid for the real API: Kubernetes' schemas and OpenELB's CRDs.

Patches are partial objects, so a workload patch is checked on top of the upstream workload it
patches (the object the API server would validate after the apply): that is the offline plan's
own check (``verify.py``), run here for every stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openelb_component.config.loading import load_config
from openelb_component.desired import DesiredObject, desired_state
from openelb_component.plan import upstream
from openelb_component.plan.build import build_plan
from openelb_component.plan.merge import strategic_merge
from openelb_component.plan.schemas import (
    crd_errors,
    kubernetes_definitions,
    kubernetes_errors,
    kubernetes_validator,
)
from openelb_component.plan.stackfile import read_stack
from tests.support.examples import multi_leaf
from tests.support.harness import loaded_config, stack_config, stack_files
from tests.support.manifests import upstream_documents

STACKS = stack_files()


def objects_of(path: Path) -> tuple[str, list[DesiredObject]]:
    config = loaded_config(stack_config(path))
    return config.openelb.version, list(desired_state(config).objects)


def full_object(obj: DesiredObject, documents: list[dict[str, Any]]) -> dict[str, Any]:
    if obj.action == "patch" and obj.kind in ("Deployment", "DaemonSet"):
        base = upstream.find(documents, obj.kind, obj.name)
        base = {**base, "metadata": {**base["metadata"], "namespace": obj.namespace}}
        return strategic_merge(base, obj.manifest)
    return obj.manifest


@pytest.mark.parametrize("stack", STACKS, ids=[p.name for p in STACKS])
def test_every_object_of_every_stack_passes_the_schema_checks(stack: Path) -> None:
    plan = build_plan(read_stack(stack))
    upstream_documents(plan.config.openelb.version)  # skips, saying why, without the manifests
    schema_checks = [c for c in plan.verification.checks if c.name in ("schema", "CRD schema")]
    # One schema check per object: nothing was skipped or left out.
    assert len(schema_checks) == len(plan.state.objects)
    assert [c for c in schema_checks if c.status != "pass"] == []
    assert {c.detail for c in schema_checks if c.name == "schema"} == {
        f"valid for Kubernetes {upstream.KUBERNETES_VERSIONS[0]} to "
        f"{upstream.KUBERNETES_VERSIONS[-1]}"
    }


def test_the_crd_check_rejects_a_misspelt_field(
    any_version_documents: list[dict[str, Any]],
) -> None:
    plan = build_plan(read_stack(Path("stacks/Pulumi.prod.yaml")))
    peer = next(obj.manifest for obj in plan.state.objects if obj.kind == "BgpPeer")
    typo = strategic_merge(peer, {"spec": {"conf": {"peerAS": 1}}})
    assert crd_errors(any_version_documents, typo) == [
        "spec/conf: Additional properties are not allowed ('peerAS' was unexpected)"
    ]


def test_the_kubernetes_check_rejects_a_misspelt_field() -> None:
    bad = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a", "label": {"x": "y"}}}
    assert kubernetes_errors(bad, upstream.KUBERNETES_VERSIONS[-1]) != []


def test_the_manager_spread_constraint_selects_the_upstream_pods() -> None:
    documents = upstream_documents("0.5")
    plan = build_plan(read_stack(Path("stacks/Pulumi.prod.yaml")))
    workload = next(obj for obj in plan.state.objects if obj.kind == "Deployment")
    deployment = upstream.find(documents, "Deployment", workload.name)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    (constraint,) = workload.manifest["spec"]["template"]["spec"]["topologySpreadConstraints"]
    selector = constraint["labelSelector"]["matchLabels"]
    assert selector and all(pod_labels.get(key) == value for key, value in selector.items())


# Every BGP field this project writes: BgpConf with asPerRack, a password placeholder, adopt.
BGP_IN_DEPTH = multi_leaf(
    bgp={"as": 64600, "listenPort": 17900, "routerId": "10.0.0.1"},
    bgpPasswords={"leaf1": "placeholder-only"},
    adopt=True,
)


def test_bgp_conf_and_peers_match_the_crds_of_every_upstream_version(
    any_version_documents: list[dict[str, Any]],
) -> None:
    objects = desired_state(load_config(BGP_IN_DEPTH)).objects
    checked = [obj for obj in objects if obj.api_version.startswith("network.kubesphere.io/")]
    assert sorted(obj.kind for obj in checked) == ["BgpConf", "BgpPeer", "BgpPeer"]
    for obj in checked:
        assert crd_errors(any_version_documents, obj.manifest) == [], obj.key


@pytest.mark.parametrize("version", sorted(upstream.RELEASES))
@pytest.mark.parametrize("kubernetes", [upstream.KUBERNETES_VERSIONS[0], "1.37"])
def test_adopted_patches_match_the_api_schema(kubernetes: str, version: str) -> None:
    documents = upstream_documents(version)
    raw = {**BGP_IN_DEPTH, "openelb": {"version": version}}
    for obj in desired_state(load_config(raw)).objects:
        if obj.action == "patch" and not obj.api_version.startswith("network.kubesphere.io/"):
            assert kubernetes_errors(full_object(obj, documents), kubernetes) == [], obj.key


def test_the_schema_checks_cover_every_kind_generated() -> None:
    kinds: set[tuple[str, str]] = set()
    for stack in STACKS:
        version, objects = objects_of(stack)
        kinds |= {(version, obj.kind) for obj in objects}
    assert kinds == {
        (version, kind)
        for version in upstream.RELEASES
        for kind in ("Node", "PodDisruptionBudget", "BgpConf", "BgpPeer")
    } | {("0.5", "Deployment"), ("0.6", "Deployment"), ("0.6", "DaemonSet")}


def pod_templates(documents: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Workload name -> its pod template labels, for every workload of an upstream manifest."""
    return {
        doc["metadata"]["name"]: doc["spec"]["template"]["metadata"]["labels"]
        for doc in documents
        if doc.get("kind") in ("Deployment", "DaemonSet", "StatefulSet")
    }


def assert_selects_exactly(
    selector: dict[str, Any], documents: list[dict[str, Any]], workload: str
) -> None:
    """The selector (matchLabels only) picks the workload's pods and no other workload's."""
    assert set(selector) == {"matchLabels"} and selector["matchLabels"], selector
    wanted = selector["matchLabels"].items()
    selected = {
        name for name, labels in pod_templates(documents).items() if wanted <= labels.items()
    }
    assert selected == {workload}, f"selects the pods of {sorted(selected)}, not {workload!r}"


def objects_for(version: str) -> dict[str, DesiredObject]:
    """Each stack with its version switched to ``version``: every object, by stack and key."""
    out: dict[str, DesiredObject] = {}
    for stack in STACKS:
        raw = stack_config(stack)
        raw["openelb"] = {**raw.get("openelb", {}), "version": version}
        for obj in desired_state(loaded_config(raw)).objects:
            out[f"{stack.name}/{obj.key}"] = obj
    return out


@pytest.mark.parametrize("version", sorted(upstream.RELEASES))
def test_the_budget_selects_exactly_the_replicated_deployments_pods(version: str) -> None:
    documents = upstream_documents(version)
    budgets = [obj for key, obj in objects_for(version).items() if key.endswith("/pdb")]
    replicated = {"0.5": "openelb-manager", "0.6": "openelb-controller"}[version]
    assert len(budgets) == len(STACKS)
    for budget in budgets:
        assert_selects_exactly(budget.manifest["spec"]["selector"], documents, replicated)


@pytest.mark.parametrize(
    "selector",
    [
        {"matchLabels": {"app": "openelb-controller"}},  # upstream's own anti-affinity term
        {"matchLabels": {"app": "openelb"}},
        {"matchLabels": {}},
    ],
    ids=["matches-no-pod", "matches-the-speakers-too", "empty-matches-everything"],
)
def test_the_selector_check_rejects_a_wrong_selector(selector: dict[str, Any]) -> None:
    documents = upstream_documents("0.6")
    with pytest.raises(AssertionError):
        assert_selects_exactly(selector, documents, "openelb-controller")


@pytest.mark.parametrize("version", sorted(upstream.RELEASES))
def test_spread_constraints_select_exactly_their_workloads_pods(version: str) -> None:
    documents = upstream_documents(version)
    checked = 0
    for obj in objects_for(version).values():
        pod_spec = obj.manifest.get("spec", {}).get("template", {}).get("spec", {})
        for constraint in pod_spec.get("topologySpreadConstraints", []):
            assert_selects_exactly(constraint["labelSelector"], documents, obj.name)
            checked += 1
    assert checked > 0


def test_the_patched_v06_workloads_keep_upstream_and_gain_our_guarantees() -> None:
    documents = upstream_documents("0.6")
    objects = objects_for("0.6")
    speaker = full_object(objects["Pulumi.dev.yaml/workload"], documents)
    controller = full_object(objects["Pulumi.dev.yaml/controller"], documents)
    speaker_pod = speaker["spec"]["template"]["spec"]
    assert speaker_pod["hostNetwork"] is True
    assert speaker_pod["nodeSelector"] == {
        "kubernetes.io/os": "linux",
        "lb.kubesphere.io/v1alpha1": "openelb",
    }
    assert speaker["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1}
    controller_pod = controller["spec"]["template"]["spec"]
    # Upstream's (inert) anti-affinity stays untouched: no fight over the installer's field.
    upstream_controller = upstream.find(documents, "Deployment", "openelb-controller")
    assert controller_pod["affinity"] == upstream_controller["spec"]["template"]["spec"]["affinity"]
    assert controller_pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert controller["spec"]["replicas"] == 2


@pytest.mark.parametrize("kubernetes", upstream.KUBERNETES_VERSIONS)
def test_the_spread_constraint_is_our_own_entry_where_anti_affinity_would_conflict(
    kubernetes: str,
) -> None:
    """Server-Side Apply: an atomic list is owned whole, so changing the installer's required
    anti-affinity would conflict; topologySpreadConstraints is a map list whose entries are owned
    one by one, so adding ours does not (docs/behaviour.md, "Controller placement")."""
    defs = kubernetes_definitions(kubernetes)["$defs"]
    required = defs["io.k8s.api.core.v1.PodAntiAffinity"]["properties"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    # No list type means atomic (the default of structured-merge-diff).
    assert required.get("x-kubernetes-list-type", "atomic") == "atomic"
    spread = defs["io.k8s.api.core.v1.PodSpec"]["properties"]["topologySpreadConstraints"]
    assert spread["x-kubernetes-list-type"] == "map"
    assert spread["x-kubernetes-list-map-keys"] == ["topologyKey", "whenUnsatisfiable"]


@pytest.mark.parametrize("kubernetes", upstream.KUBERNETES_VERSIONS)
def test_the_node_selector_is_an_atomic_map_owned_whole(kubernetes: str) -> None:
    """Why the workload patches always force (docs/operations.md, "Adopting a
    cluster configured by hand"): the installer owns the whole nodeSelector, so adding a key to it
    is a different value of a field another manager owns, a conflict."""
    defs = kubernetes_definitions(kubernetes)["$defs"]
    node_selector = defs["io.k8s.api.core.v1.PodSpec"]["properties"]["nodeSelector"]
    assert node_selector["x-kubernetes-map-type"] == "atomic"


def _direct_errors(obj: dict[str, Any], version: str) -> list[str]:
    """The validator's own verdict, without the plan's memo of valid shapes."""
    validator = kubernetes_validator(version, obj["apiVersion"], obj["kind"])
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    return [] if error is None else [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"]


def _node(name: str, **labels: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


LATEST = upstream.KUBERNETES_VERSIONS[-1]


def _budget(max_unavailable: Any) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "openelb"},
        "spec": {"maxUnavailable": max_unavailable},
    }


# (valid object, then another): once the first's shape is known valid, what the schema
# constrains or types differently in the second is still checked on the second itself.
AFTER_A_VALID_OBJECT: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    ("other-name-and-label-values", _node("worker-1", rack="a"), _node("worker-2", rack="b"), []),
    (
        "label-value-a-number",
        _node("worker-1", rack="a"),
        _node("worker-2", rack=7),
        ["metadata/labels/rack: 7 is not of type 'string', 'null'"],
    ),
    (
        "unknown-metadata-field",
        _node("worker-1", rack="a"),
        {**_node("worker-2"), "metadata": {"name": "w", "label": {}}},
        ["metadata: Additional properties are not allowed ('label' was unexpected)"],
    ),
    (
        "name-a-list",
        _node("worker-1", rack="a"),
        {**_node("worker-2", rack="a"), "metadata": {"name": ["worker-2"]}},
        ["metadata/name: ['worker-2'] is not of type 'string', 'null'"],
    ),
    (
        # kubernetes-validate's file name is the kind in lower case; the file's enum is exact.
        "kind-enum",
        _node("worker-1"),
        {**_node("worker-1"), "kind": "node"},
        ["kind: 'node' is not one of ['Node']"],
    ),
    (
        "int-or-string-one-of",
        _budget(1),
        _budget(1.5),
        ["spec/maxUnavailable: 1.5 is not valid under any of the given schemas"],
    ),
    ("int-or-string-a-percentage", _budget(1), _budget("50%"), []),
]


@pytest.mark.parametrize(
    ("valid", "obj", "expected"),
    [c[1:] for c in AFTER_A_VALID_OBJECT],
    ids=[c[0] for c in AFTER_A_VALID_OBJECT],
)
def test_a_known_valid_shape_hides_no_error(
    valid: dict[str, Any], obj: dict[str, Any], expected: list[str]
) -> None:
    assert kubernetes_errors(valid, LATEST) == []
    assert kubernetes_errors(obj, LATEST) == expected
    assert _direct_errors(obj, LATEST) == expected


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "a", "v1", "Node"]),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(
            st.sampled_from(["name", "labels", "x", "spec", "minAvailable"]), inner, max_size=2
        )
    ),
    max_leaves=4,
)


@st.composite
def changed_object(draw: st.DrawFn) -> dict[str, Any]:
    """A Node patch or a PodDisruptionBudget with one value replaced or one key added."""
    obj: dict[str, Any] = draw(
        st.sampled_from(
            [
                _node("worker-1", rack="a", **{"openelb-ha/enabled": "true"}),
                {
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": {"name": "openelb", "namespace": "openelb-system"},
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "openelb"}}},
                },
            ]
        )
    )
    obj = json.loads(json.dumps(obj))
    spot, key = obj, draw(st.sampled_from(["metadata", "spec"]))
    while isinstance(spot.get(key), dict) and spot[key] and draw(st.booleans()):
        spot, key = spot[key], draw(st.sampled_from(sorted(spot[key])))
    target = spot if draw(st.booleans()) or not isinstance(spot.get(key), dict) else spot[key]
    target[draw(st.sampled_from([key, "name", "labels", "x", "maxUnavailable"]))] = draw(JSON)
    return obj


@settings(max_examples=100)
@given(changed_object(), st.sampled_from(upstream.KUBERNETES_VERSIONS))
def test_the_memo_of_valid_shapes_agrees_with_the_validator(
    obj: dict[str, Any], version: str
) -> None:
    assert kubernetes_errors(obj, version) == _direct_errors(obj, version)
