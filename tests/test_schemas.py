"""Every generated object is valid for the real API: Kubernetes' schemas and OpenELB's CRDs.

Patches are partial objects, so a workload patch is checked on top of the upstream workload it
patches (the object the API server would validate after the apply).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openelb_component import load_config, upstream
from openelb_component.desired import DesiredObject, desired_state
from tests.conftest import upstream_documents
from tests.harness import stack_config, stack_files
from tests.schemas import crd_errors, kubernetes_errors, merged
from tests.test_bgp import multi_leaf

STACKS = stack_files()


def objects_of(path: Path) -> tuple[str, list[DesiredObject]]:
    config = load_config(stack_config(path))
    return config.openelb.version, list(desired_state(config).objects)


def full_object(obj: DesiredObject, documents: list[dict[str, Any]]) -> dict[str, Any]:
    if obj.action == "patch" and obj.kind in ("Deployment", "DaemonSet"):
        base = upstream.find(documents, obj.kind, obj.name)
        base = {**base, "metadata": {**base["metadata"], "namespace": obj.namespace}}
        result: dict[str, Any] = merged(base, obj.manifest)
        return result
    return obj.manifest


@pytest.mark.parametrize("stack", STACKS, ids=[p.name for p in STACKS])
@pytest.mark.parametrize("kubernetes", upstream.KUBERNETES_VERSIONS)
def test_kubernetes_objects_match_the_api_schema(stack: Path, kubernetes: str) -> None:
    version, objects = objects_of(stack)
    documents = upstream_documents(version)
    for obj in objects:
        if obj.api_version.startswith("network.kubesphere.io/"):
            continue
        assert kubernetes_errors(full_object(obj, documents), kubernetes) == [], obj.key


@pytest.mark.parametrize("stack", STACKS, ids=[p.name for p in STACKS])
def test_bgp_objects_match_the_openelb_crd_schema(stack: Path) -> None:
    version, objects = objects_of(stack)
    documents = upstream_documents(version)
    checked = [obj for obj in objects if obj.api_version.startswith("network.kubesphere.io/")]
    for obj in checked:
        assert crd_errors(documents, obj.manifest) == [], obj.key


def test_the_crd_check_rejects_a_misspelt_field(
    any_version_documents: list[dict[str, Any]],
) -> None:
    _, objects = objects_of(Path("stacks/Pulumi.prod.yaml"))
    peer = next(obj.manifest for obj in objects if obj.kind == "BgpPeer")
    typo = merged(peer, {"spec": {"conf": {"peerAS": 1}}})
    assert crd_errors(any_version_documents, typo) == [
        "spec/conf: Additional properties are not allowed ('peerAS' was unexpected)"
    ]


def test_the_kubernetes_check_rejects_a_misspelt_field() -> None:
    bad = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a", "label": {"x": "y"}}}
    assert kubernetes_errors(bad, upstream.KUBERNETES_VERSIONS[-1]) != []


def test_the_manager_spread_constraint_selects_the_upstream_pods() -> None:
    documents = upstream_documents("0.5")
    _, objects = objects_of(Path("stacks/Pulumi.prod.yaml"))
    workload = next(obj for obj in objects if obj.kind == "Deployment")
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
        if obj.action == "patch" and not obj.api_version.startswith("network.kubesphere.io/"):
            assert kubernetes_errors(full_object(obj, documents), kubernetes) == [], obj.key
