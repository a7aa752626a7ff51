"""Every generated object is valid for the real API: Kubernetes' schemas and OpenELB's CRDs.

Patches are partial objects, so a workload patch is checked on top of the upstream workload it
patches (the object the API server would validate after the apply): that is the offline plan's
own check (``verify.py``), run here for every stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openelb_component import load_config, upstream
from openelb_component.desired import desired_state
from openelb_component.merge import strategic_merge
from openelb_component.plan import build_plan
from openelb_component.stackfile import read_stack
from openelb_component.validation import crd_errors, kubernetes_errors
from tests.conftest import upstream_documents
from tests.harness import stack_files
from tests.test_bgp import multi_leaf

STACKS = stack_files()


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


@pytest.mark.parametrize("kubernetes", [upstream.KUBERNETES_VERSIONS[0], "1.37"])
def test_adopted_patches_match_the_api_schema(kubernetes: str) -> None:
    documents = upstream_documents("0.5")
    for obj in desired_state(load_config(BGP_IN_DEPTH)).objects:
        if obj.action != "patch" or obj.api_version.startswith("network.kubesphere.io/"):
            continue
        full = obj.manifest
        if obj.kind in ("Deployment", "DaemonSet"):
            full = strategic_merge(upstream.find(documents, obj.kind, obj.name), obj.manifest)
        assert kubernetes_errors(full, kubernetes) == [], obj.key
