"""The project's strategic merge gives exactly what kubectl's does, and the undo undoes it."""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from openelb_component.plan import upstream
from openelb_component.plan.build import build_plan
from openelb_component.plan.merge import inverse_patch, strategic_merge
from openelb_component.plan.runbook import render_kubectl
from openelb_component.plan.sources import is_workload_patch, patch_body
from openelb_component.plan.stackfile import read_stack
from tests.support.harness import stack_files
from tests.support.kubectl import kubectl_patch
from tests.support.manifests import upstream_documents

STACKS = stack_files()
# A manager someone already changed by hand: a spread constraint of its own, other
# tolerations, more replicas. Merge-by-key lists keep its items, atomic lists are replaced.
LIVE_CHANGES: dict[str, Any] = {
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                    }
                ],
                "tolerations": [{"key": "dedicated", "operator": "Exists"}],
            }
        },
    }
}


def manager() -> dict[str, Any]:
    deployment = upstream.find(upstream_documents("0.5"), "Deployment", "openelb-manager")
    return copy.deepcopy(deployment)


def workload_patch(stack: Path, base: dict[str, Any]) -> dict[str, Any]:
    return patch_body(build_plan(read_stack(stack)).state.by_key("workload"), base)


@pytest.mark.parametrize("live", [False, True], ids=["upstream", "changed-by-hand"])
@pytest.mark.parametrize("stack", STACKS, ids=[p.name for p in STACKS])
def test_the_merge_is_kubectls_and_the_undo_restores_the_base(stack: Path, live: bool) -> None:
    base = strategic_merge(manager(), LIVE_CHANGES) if live else manager()
    patch = workload_patch(stack, base)
    result = strategic_merge(base, patch)
    assert result == kubectl_patch(base, patch)
    undo = inverse_patch(base, patch)
    assert strategic_merge(result, undo) == base
    assert kubectl_patch(result, undo) == base


def test_lists_follow_the_kubernetes_patch_strategy() -> None:
    base = strategic_merge(manager(), LIVE_CHANGES)
    containers = base["spec"]["template"]["spec"]["containers"]
    patch = {
        "spec": {
            "template": {
                "spec": {
                    # containers merge by name: the image changes, the rest of it stays
                    "containers": [{"name": containers[0]["name"], "image": "example/openelb:x"}],
                    # tolerations are atomic: replaced as a whole
                    "tolerations": [{"key": "other", "operator": "Exists"}],
                    # spread constraints merge by topologyKey: the hostname one stays
                    "topologySpreadConstraints": [
                        {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
                    ],
                }
            }
        }
    }
    result = strategic_merge(base, patch)
    pod = result["spec"]["template"]["spec"]
    assert pod["containers"] == [{**containers[0], "image": "example/openelb:x"}]
    assert pod["tolerations"] == [{"key": "other", "operator": "Exists"}]
    assert [c["topologyKey"] for c in pod["topologySpreadConstraints"]] == [
        "zone",
        "kubernetes.io/hostname",
    ]
    assert result == kubectl_patch(base, patch)


@pytest.mark.parametrize("stack", STACKS, ids=[p.name for p in STACKS])
def test_the_runbook_patch_applied_by_kubectl_gives_the_checked_workload(stack: Path) -> None:
    plan = build_plan(read_stack(stack))
    documents = upstream_documents(plan.config.openelb.version)
    runbook = render_kubectl(plan)
    commands = [shlex.split(line) for line in runbook.splitlines() if "--type strategic" in line]
    workloads = [obj for obj in plan.state.objects if is_workload_patch(obj)]
    # Each workload's patch in apply order, then their undos in the rollback.
    assert len(commands) == 2 * len(workloads) and workloads
    for obj, apply_patch in zip(workloads, commands, strict=False):
        kind, name = apply_patch[2], apply_patch[3]
        assert apply_patch[:2] == ["kubectl", "patch"]
        assert (kind, name) == (obj.kind.lower(), obj.name)
        base = upstream.find(documents, obj.kind, name)
        base = {**base, "metadata": {**base["metadata"], "namespace": apply_patch[5]}}
        patched = kubectl_patch(base, json.loads(apply_patch[-1]))
        assert patched == without_pulumi_annotations(plan.verification.results[obj.key])


def without_pulumi_annotations(workload: dict[str, Any]) -> dict[str, Any]:
    """The workload as kubectl leaves it: the runbook does not write the ``pulumi.com/``
    annotations (field manager, force, timeout) that the component's apply also stores."""
    metadata = dict(workload["metadata"])
    annotations = {
        k: v
        for k, v in (metadata.pop("annotations", None) or {}).items()
        if not k.startswith("pulumi.com/")
    }
    return {
        **workload,
        "metadata": {**metadata, **({"annotations": annotations} if annotations else {})},
    }


def test_an_atomic_map_is_replaced_whole_as_server_side_apply_does() -> None:
    """The live nodeSelector has a key the stack does not set: Server-Side Apply (the Pulumi
    component) replaces the atomic map whole, and so do the plan's check and the runbook."""
    base = manager()
    base["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/arch"] = "amd64"
    patch = workload_patch(Path("stacks/Pulumi.dev.yaml"), base)
    assert patch["spec"]["template"]["spec"]["nodeSelector"]["$patch"] == "replace"
    result = strategic_merge(base, patch)
    assert result["spec"]["template"]["spec"]["nodeSelector"] == {
        "kubernetes.io/os": "linux",
        "lb.kubesphere.io/v1alpha1": "openelb",
    }
    assert result == kubectl_patch(base, patch)
    undo = inverse_patch(base, patch)
    assert strategic_merge(result, undo) == base
    assert kubectl_patch(result, undo) == base
