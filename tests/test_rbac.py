"""deploy/rbac.yaml grants exactly what `pulumi up` needs for every example stack.

The needed (namespace, apiGroup, resource, verb) set is derived from what the real program
registers under mocks, through the one table in tests/permissions.py; the granted set is read
from the manifest's rules. Equal sets: nothing missing, nothing extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from openelb_component.plan import upstream
from openelb_component.plan.schemas import kubernetes_errors
from tests.support.harness import ROOT, Registration, run_program, stack_config, stack_files
from tests.support.manifests import upstream_documents
from tests.support.permissions import KINDS, Operation, Permission, permissions, required

MANIFEST = ROOT / "deploy" / "rbac.yaml"
DOCUMENTS: list[dict[str, Any]] = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
STACKS = stack_files()


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in DOCUMENTS if d["kind"] == kind]


def granted() -> set[Permission]:
    out: set[Permission] = set()
    for kind in ("ClusterRole", "Role"):
        for role in by_kind(kind):
            namespace = role["metadata"].get("namespace") if kind == "Role" else None
            for rule in role["rules"]:
                out |= {
                    Permission(namespace, group, resource, verb)
                    for group in rule["apiGroups"]
                    for resource in rule["resources"]
                    for verb in rule["verbs"]
                }
    return out


def needed_by_every_stack() -> set[Permission]:
    needed: set[Permission] = set()
    for path in STACKS:
        needed |= required(run_program(stack_config(path)).registrations)
    return needed


def test_the_manifest_grants_exactly_what_the_example_stacks_need() -> None:
    needed, grants = needed_by_every_stack(), granted()
    assert sorted(needed - grants) == [], "missing from deploy/rbac.yaml"
    assert sorted(grants - needed) == [], "granted beyond need"


def test_the_derivation_sees_every_kind_the_stacks_register() -> None:
    # A guard on the test itself: the dev and prod stacks together patch nodes and the
    # workload and create BgpPeers, so each must appear in what is needed.
    resources = {(p.api_group, p.resource) for p in needed_by_every_stack()}
    assert {("", "nodes"), ("apps", "deployments"), ("network.kubesphere.io", "bgppeers")} <= (
        resources
    )


def test_a_patched_node_is_never_creatable() -> None:
    # An apply to a missing node is authorized as `create`: withholding it is the second guard.
    assert not any(p.resource == "nodes" and p.verb == "create" for p in granted())


def test_no_wildcards_and_no_unused_fields() -> None:
    for role in by_kind("ClusterRole") + by_kind("Role"):
        for rule in role["rules"]:
            assert set(rule) == {"apiGroups", "resources", "verbs"}, rule
            for values in rule.values():
                assert "*" not in values, rule


def test_workload_permissions_are_a_role_in_the_openelb_namespace() -> None:
    (role,) = by_kind("Role")
    namespaces = {p.namespace for p in needed_by_every_stack() if p.namespace is not None}
    assert namespaces == {role["metadata"]["namespace"]}
    assert all(
        KINDS[key].scope == "cluster" for key in KINDS if key[1] in ("Node", "BgpPeer", "BgpConf")
    )


def test_the_bindings_give_both_roles_to_the_service_account() -> None:
    (account,) = by_kind("ServiceAccount")
    subject = {
        "kind": "ServiceAccount",
        "name": account["metadata"]["name"],
        "namespace": account["metadata"]["namespace"],
    }
    bound = {
        (b["roleRef"]["kind"], b["roleRef"]["name"])
        for b in by_kind("ClusterRoleBinding") + by_kind("RoleBinding")
        if b["subjects"] == [subject]
    }
    roles = {(d["kind"], d["metadata"]["name"]) for d in by_kind("ClusterRole") + by_kind("Role")}
    assert bound == roles
    (role_binding,) = by_kind("RoleBinding")
    assert role_binding["metadata"]["namespace"] == by_kind("Role")[0]["metadata"]["namespace"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d["kind"] for d in DOCUMENTS])
def test_every_document_is_a_valid_kubernetes_object(document: dict[str, Any]) -> None:
    assert kubernetes_errors(document, upstream.KUBERNETES_VERSIONS[-1]) == []


@pytest.mark.parametrize(
    ("kind", "version"), [("BgpPeer", "0.5"), ("BgpConf", "0.5"), ("BgpPeer", "0.6")]
)
def test_openelb_kinds_match_their_crds(kind: str, version: str) -> None:
    (crd,) = [
        d
        for d in upstream_documents(version)
        if d.get("kind") == "CustomResourceDefinition" and d["spec"]["names"]["kind"] == kind
    ]
    entry = KINDS[(crd["spec"]["group"], kind)]
    assert (entry.resource, entry.scope) == (crd["spec"]["names"]["plural"], "cluster")
    assert crd["spec"]["scope"] == "Cluster"


def _speaker(read_first: bool) -> list[Registration]:
    patch = Registration(
        "kubernetes:apps/v1:DaemonSetPatch",
        "openelb-ha-workload",
        "",
        "",
        [],
        {"metadata": {"name": "openelb-speaker", "namespace": "openelb-system"}},
    )
    read = Registration(
        "kubernetes:apps/v1:DaemonSet",
        "openelb-ha-workload-existing",
        "",
        "",
        [],
        {},
        read_id="openelb-system/openelb-speaker",
    )
    return [read, patch] if read_first else [patch]


@pytest.mark.parametrize(
    ("registrations", "expected"),
    [
        (
            _speaker(read_first=True),
            {("apps", "daemonsets", v) for v in ("get", "patch", "list", "watch")}
            | {("", resource, v) for resource in ("pods", "events") for v in ("list", "watch")},
        ),
        (
            _speaker(read_first=False),
            {("apps", "daemonsets", v) for v in ("get", "patch", "create", "list", "watch")}
            | {("", resource, v) for resource in ("pods", "events") for v in ("list", "watch")},
        ),
    ],
    ids=["patch-after-read-never-creates", "patch-without-read-may-create"],
)
def test_create_is_granted_only_where_a_patch_may_create_its_target(
    registrations: list[Registration], expected: set[tuple[str, str, str]]
) -> None:
    needed = required(registrations)
    assert {(p.api_group, p.resource, p.verb) for p in needed} == expected


def test_a_stuck_rollout_can_report_its_reasons() -> None:
    """Pod status (why Pending, why crash-looping) and the workload's Warning events are what
    Pulumi prints while it waits; both need list and watch in OpenELB's namespace."""
    for resource in ("pods", "events"):
        for verb in ("list", "watch"):
            assert Permission("openelb-system", "", resource, verb) in granted(), resource


def test_a_namespaced_kind_without_a_namespace_is_refused() -> None:
    with pytest.raises(ValueError, match="without a namespace"):
        permissions(Operation("apps", "Deployment", "patch", None))


def test_the_docs_show_how_to_bind_the_manifest() -> None:
    readme = (ROOT / "docs" / "operations.md").read_text()
    assert f"kubectl apply -f {Path(MANIFEST).relative_to(ROOT)}" in readme
    assert by_kind("ServiceAccount")[0]["metadata"]["name"] in readme
