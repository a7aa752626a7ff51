"""Field conflicts named before `pulumi up` meets them: from live objects' managedFields.

A new Patch is not sent to the cluster in a preview (pulumi-kubernetes
provider/pkg/provider/provider.go:1724-1735@v4.32.0), so the provider cannot show these; the
program's reads and the plan's --workload/--nodes files can. Cases: the installer
(`kubectl-client-side-apply`) owning the workload's nodeSelector and replicas, which the workload
patch takes over (forced); `kubectl-label` owning a rack label with another value, which stops
`up` (not forced) unless the stack adopts; co-owned equal values; this program's own manager.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from openelb_component import cli
from openelb_component.desired import desired_state
from openelb_component.desired.conflicts import Conflict, conflicts
from openelb_component.plan import upstream
from tests.support import live
from tests.support.harness import ROOT, FakeCluster, run_program, stack_config
from tests.support.manifests import upstream_documents

NODE = "kubernetes:core/v1:Node"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
RACK = "openelb.kubesphere.io/rack"
HA = "lb.kubesphere.io/v1alpha1"
MANAGER_ID = "openelb-system/openelb-manager"
RACKS = ROOT / "stacks" / "Pulumi.racks.yaml"  # leaves rack-a, rack-b, rack-c; node-a1 ...


def guide_racks(next_hops: str = "rack") -> dict[str, Any]:
    """The racks stack keeping the guide's rack labels (``bgp.nextHops: rack``), so the rack
    label a stack sets is the leaf; ``node`` is the stack as it is (each node its own rack)."""
    config = stack_config(RACKS)
    return {**config, "bgp": {**config["bgp"], "nextHops": next_hops}}


def racks_state(adopt: bool = False, next_hops: str = "rack") -> Any:
    from openelb_component.config.loading import load_config

    return desired_state(load_config({**guide_racks(next_hops), "adopt": adopt}))


def labelled_by_hand(name: str, rack: str) -> dict[str, Any]:
    """The guide's `kubectl label node NAME openelb.kubesphere.io/rack=RACK`."""
    return live.node(
        name,
        {RACK: rack},
        live.entry("kubectl-label", "Update", live.labels_fields(RACK)),
    )


def manager_installed() -> dict[str, Any]:
    documents = upstream_documents("0.5")
    return live.installed(upstream.find(documents, "Deployment", "openelb-manager"))


# --- the prediction, as data ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("live_node", "expected", "next_hops"),
    [
        (
            labelled_by_hand("node-a1", "rack-z"),
            [(f".metadata.labels.{RACK}", "kubectl-label")],
            "rack",
        ),
        (labelled_by_hand("node-a1", "rack-a"), [], "rack"),
        # The guide's label, under one rack per node: the stack sets the node's own name.
        (
            labelled_by_hand("node-a1", "rack-a"),
            [(f".metadata.labels.{RACK}", "kubectl-label")],
            "node",
        ),
        (
            live.node(
                "node-a1",
                {RACK: "rack-z"},
                live.entry("openelb-ha", "Apply", live.labels_fields(RACK)),
            ),
            [],
            "rack",
        ),
        (
            live.node(
                "node-a1",
                {RACK: "rack-z"},
                live.entry("openelb-ha", "Update", live.labels_fields(RACK)),
            ),
            [(f".metadata.labels.{RACK}", "openelb-ha")],
            "rack",
        ),
        (
            live.node(
                "node-a1",
                {RACK: "rack-z"},
                live.entry("pulumi-kubernetes-1a2b3c4d", "Apply", live.labels_fields(RACK)),
            ),
            [(f".metadata.labels.{RACK}", "pulumi-kubernetes-1a2b3c4d")],
            "rack",
        ),
        (live.node("node-a1", {"other": "x"}), [], "rack"),
    ],
    ids=[
        "kubectl-label-other-rack",
        "kubectl-label-same-rack-co-owned",
        "kubectl-label-guide-rack-under-per-node-racks",
        "own-apply",
        "runbook-update-is-another-manager",
        "lost-state-random-manager",
        "label-nobody-else-owns",
    ],
)
def test_a_node_label_conflicts_only_when_another_manager_owns_another_value(
    live_node: dict[str, Any], expected: list[tuple[str, str]], next_hops: str
) -> None:
    obj = racks_state(next_hops=next_hops).by_key("node-node-a1")
    found = conflicts(obj, live_node)
    assert [(c.path, c.manager) for c in found] == expected
    assert all(not c.forced for c in found)


def test_the_messages_name_object_field_value_manager_and_fix() -> None:
    obj = racks_state().by_key("node-node-a1")
    (conflict,) = conflicts(obj, labelled_by_hand("node-a1", "rack-z"))
    assert conflict == Conflict(
        "Node node-a1",
        f".metadata.labels.{RACK}",
        "kubectl-label",
        "Update",
        "rack-z",
        "rack-a",
        False,
    )
    assert conflict.message() == (
        f'Node node-a1: field .metadata.labels.{RACK} is "rack-z", owned by field manager '
        "'kubectl-label' (Update); this stack sets \"rack-a\". `pulumi up` would stop on this "
        "conflict. Fix: set the stack to the live value if that is the intended one, or set "
        "openelb-ha:adopt: true to take the field over (review the preview first, then set adopt "
        "back to false)."
    )
    orphan = live.node(
        "node-a1",
        {RACK: "rack-z"},
        live.entry("pulumi-kubernetes-1a2b3c4d", "Apply", live.labels_fields(RACK)),
    )
    (lost,) = conflicts(obj, orphan)
    assert "run `pulumi up` once without other changes" in lost.message()


def test_adopt_forces_the_node_labels_so_the_conflict_is_a_takeover() -> None:
    obj = racks_state(adopt=True).by_key("node-node-a1")
    (conflict,) = conflicts(obj, labelled_by_hand("node-a1", "rack-z"))
    assert conflict.forced
    assert conflict.message().endswith("takes it over (no action needed).")


def test_the_installer_owns_replicas_and_the_atomic_node_selector_which_the_patch_takes_over() -> (
    None
):
    obj = racks_state().by_key("workload")
    found = conflicts(obj, manager_installed())
    assert [(c.path, c.manager, c.value, c.forced) for c in found] == [
        (".spec.replicas", live.INSTALLER, 1, True),
        (".spec.template.spec.nodeSelector", live.INSTALLER, {"kubernetes.io/os": "linux"}, True),
    ]
    # strategy.rollingUpdate.maxUnavailable: the installer's value is ours (1): co-owned.
    assert ".spec.strategy.rollingUpdate.maxUnavailable" not in [c.path for c in found]


def test_a_keyed_list_item_conflicts_by_its_key() -> None:
    """topologySpreadConstraints is a list keyed by topologyKey and whenUnsatisfiable."""
    obj = racks_state().by_key("workload")
    workload = manager_installed()
    spread = copy.deepcopy(obj.manifest["spec"]["template"]["spec"]["topologySpreadConstraints"][0])
    spread["maxSkew"] = 3
    workload["spec"]["template"]["spec"]["topologySpreadConstraints"] = [spread]
    key = json.dumps(
        {"topologyKey": RACK, "whenUnsatisfiable": "DoNotSchedule"}, separators=(",", ":")
    )
    fields: live.Fields = {
        "f:spec": {
            "f:template": {
                "f:spec": {"f:topologySpreadConstraints": {f"k:{key}": {"f:maxSkew": {}}}}
            }
        }
    }
    workload["metadata"]["managedFields"] = [
        live.entry("kubectl-edit", "Update", fields, "apps/v1")
    ]
    (conflict,) = conflicts(obj, workload)
    assert (conflict.path, conflict.value, conflict.wanted) == (
        f".spec.template.spec.topologySpreadConstraints[{key}].maxSkew",
        3,
        1,
    )


# --- the program, under mocks whose reads return live objects --------------------------------


def cluster(nodes: dict[str, dict[str, Any]], workload: dict[str, Any] | None) -> FakeCluster:
    objects: dict[tuple[str, str], dict[str, Any]] = {
        (NODE, name): obj for name, obj in nodes.items()
    }
    if workload is not None:
        objects[(DEPLOYMENT, MANAGER_ID)] = workload
    return FakeCluster(live=objects)


def test_preview_warns_for_every_field_up_would_stop_on_and_informs_of_takeovers() -> None:
    # Every node as the guide leaves it (rack labels by hand), node-a1 in another rack.
    state = racks_state()
    racks = {
        obj.name: obj.manifest["metadata"]["labels"][RACK]
        for obj in state.objects
        if obj.kind == "Node"
    }
    nodes = {
        name: labelled_by_hand(name, "rack-z" if name == "node-a1" else rack)
        for name, rack in racks.items()
    }
    run = run_program(guide_racks(), cluster=cluster(nodes, manager_installed()), preview=True)
    conflict_warnings = [w for w in run.warnings if "field manager" in w]
    assert conflict_warnings == [
        f'Node node-a1: field .metadata.labels.{RACK} is "rack-z", owned by field manager '
        "'kubectl-label' (Update); this stack sets \"rack-a\". `pulumi up` would stop on this "
        "conflict. Fix: set the stack to the live value if that is the intended one, or set "
        "openelb-ha:adopt: true to take the field over (review the preview first, then set adopt "
        "back to false)."
    ]
    assert sorted(i.split(": field ")[1].split(" is ")[0] for i in run.infos) == [
        ".spec.replicas",
        ".spec.template.spec.nodeSelector",
    ]
    assert run.registered_outputs["fieldConflicts"] == conflict_warnings


def test_without_conflicts_the_program_is_silent_about_ownership() -> None:
    run = run_program(
        guide_racks(),
        cluster=cluster({"node-a1": labelled_by_hand("node-a1", "rack-a")}, None),
    )
    assert [w for w in run.warnings if "field manager" in w] == []
    assert run.registered_outputs["fieldConflicts"] == []


# --- the offline plan, from kubectl's files ---------------------------------------------------


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def write(tmp_path: Path, name: str, document: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_the_plan_fails_on_a_node_conflict_and_passes_a_forced_takeover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = write(
        tmp_path,
        "nodes.json",
        {"apiVersion": "v1", "kind": "List", "items": [labelled_by_hand("node-a1", "rack-z")]},
    )
    workload = write(tmp_path, "manager.json", manager_installed())
    args = [
        "plan",
        "--stack",
        "racks",
        "--format",
        "yaml",
        "--nodes",
        nodes,
        "--workload",
        workload,
    ]
    status = cli.main(args)
    err = capsys.readouterr().err
    assert status == 1
    assert (
        f'fail: Node node-a1, ownership: Node node-a1: field .metadata.labels.{RACK} is "rack-z", '
        "owned by field manager 'kubectl-label' (Update)"
    ) in err
    assert (
        "pass: Deployment openelb-manager, ownership: takes over .spec.replicas from "
        f"{live.INSTALLER} (Update); takes over .spec.template.spec.nodeSelector from "
        f"{live.INSTALLER} (Update)"
    ) in err


def test_the_plan_skips_ownership_for_files_without_managed_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = labelled_by_hand("node-a1", "rack-z")
    del bare["metadata"]["managedFields"]
    nodes = write(tmp_path, "nodes.json", {"kind": "List", "items": [bare]})
    argv = ["plan", "--stack", "racks", "--format", "yaml", "--nodes", nodes, "--allow-skipped"]
    assert cli.main(argv) == 0
    assert "--show-managed-fields" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "not JSON"), ('{"kind": "Pod"}', "neither a List of Nodes nor a Node")],
    ids=["not-json", "not-nodes"],
)
def test_an_unusable_nodes_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "nodes.json"
    path.write_text(text)
    assert cli.main(["plan", "--stack", "racks", "--nodes", str(path)]) == 1
    assert message in capsys.readouterr().err


def test_router_config_reads_the_same_nodes_file(tmp_path: Path) -> None:
    from openelb_component.plan.routerconfig import read_nodes

    node = labelled_by_hand("node-a1", "rack-a")
    node["status"] = {"addresses": [{"type": "InternalIP", "address": "192.0.2.11"}]}
    path = Path(write(tmp_path, "nodes.json", {"kind": "List", "items": [node]}))
    assert read_nodes(path) == {"node-a1": "192.0.2.11"}


def test_the_plan_docs_show_the_real_conflict_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/plan.md's example: its nodes file, with node-a1 labelled as OpenELB's guide says."""
    document = json.loads((ROOT / "docs" / "examples" / "racks-nodes.json").read_text())
    (node,) = [n for n in document["items"] if n["metadata"]["name"] == "node-a1"]
    node["metadata"]["labels"][RACK] = "rack-a"
    nodes = write(tmp_path, "nodes.json", document)
    assert cli.main(["plan", "--stack", "racks", "--format", "yaml", "--nodes", nodes]) == 1
    errors = capsys.readouterr().err.splitlines()
    text = (ROOT / "docs" / "plan.md").read_text()
    (shown,) = re.findall(r"```text\n(fail: Node node-a1, ownership: .*?)\n```", text)
    assert shown in errors


# --- where the API server compares item by item, and objects without managedFields -------------
# (structure.py; each of these disagreed with a real API server before, DESIGN.md §8, and is
# replayed against one in tests/test_conflicts_replay.py)


def test_a_label_map_first_created_empty_conflicts_with_no_label_added_to_it() -> None:
    """The owner of ``"f:labels": {}`` owns the map itself; labels are a granular map, compared
    key by key, so adding a key changes nothing that manager owns."""
    node = live.node(
        "node-a1", {}, live.entry("node-tool", "Update", {"f:metadata": {"f:labels": {}}})
    )
    assert conflicts(racks_state().by_key("node-node-a1"), node) == []


def test_a_label_map_owned_as_an_empty_leaf_conflicts_when_it_appears() -> None:
    """No labels at all (the owner applied ``labels: {}``, which the stored Node drops): the
    apply makes the map appear, a change of the path that manager owns."""
    tool = live.entry("node-tool", "Apply", {"f:metadata": {"f:labels": {}}})
    metadata = {"name": "node-a1", "managedFields": [tool]}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": metadata}
    found = conflicts(racks_state().by_key("node-node-a1"), node)
    assert [(c.path, c.manager, c.value) for c in found] == [
        (".metadata.labels", "node-tool", None)
    ]


def test_a_keyed_list_first_created_empty_conflicts_with_no_item_added_to_it() -> None:
    """As structured-merge-diff compares a granular list (on a Deployment the API server keeps
    no owner of an empty list at all: tests/test_conflicts_replay.py, spread-created-empty)."""
    obj = racks_state().by_key("workload")
    workload = manager_installed()
    workload["spec"]["template"]["spec"]["topologySpreadConstraints"] = []
    installer = workload["metadata"]["managedFields"][0]["fieldsV1"]
    installer["f:spec"]["f:template"]["f:spec"]["f:topologySpreadConstraints"] = {}
    paths = [c.path for c in conflicts(obj, workload)]
    assert paths == [".spec.replicas", ".spec.template.spec.nodeSelector"]


def test_an_atomic_map_owned_whole_conflicts_with_any_other_value() -> None:
    """The pod's nodeSelector is atomic (x-kubernetes-map-type): an added key is a change."""
    obj = racks_state().by_key("workload")
    (conflict,) = [c for c in conflicts(obj, manager_installed()) if "nodeSelector" in c.path]
    assert conflict.value == {"kubernetes.io/os": "linux"}


def test_an_object_without_managed_fields_is_owned_by_before_first_apply() -> None:
    obj = racks_state().by_key("node-node-a1")
    bare = labelled_by_hand("node-a1", "rack-z")
    del bare["metadata"]["managedFields"]
    (conflict,) = conflicts(obj, bare)
    assert (conflict.path, conflict.manager, conflict.operation, conflict.value) == (
        f".metadata.labels.{RACK}",
        "before-first-apply",
        "Update",
        "rack-z",
    )
    assert "first apply gives every field it has" in conflict.message()
    # A label it already has with the stack's value is co-owned; the others are added.
    same = live.node("node-a1", {RACK: "rack-a"})
    del same["metadata"]["managedFields"]
    assert conflicts(obj, same) == []


def test_a_workload_without_managed_fields_conflicts_on_every_value_it_changes() -> None:
    obj = racks_state().by_key("workload")
    bare = manager_installed()
    del bare["metadata"]["managedFields"]
    found = conflicts(obj, bare)
    assert [(c.path, c.manager, c.forced) for c in found] == [
        (".spec.replicas", "before-first-apply", True),
        (".spec.template.spec.nodeSelector", "before-first-apply", True),
    ]
