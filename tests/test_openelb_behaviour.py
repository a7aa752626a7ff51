"""What the program does because of how OpenELB really behaves (docs/behaviour.md, issue 11).

Each test names the upstream behaviour it answers; the file and line are in the docs and in the
code's comments. Runs are under Pulumi's mocks; ``applied(run)`` is the cluster as that run's
``pulumi up`` left it (each workload reads back as patched), so a second run is a preview of
the next change.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from openelb_component.desired.bgp import (
    BGP_CONF_CHANGE_UNKNOWN,
    MULTI_LEAF_WITHOUT_BGP_WARNING,
    ROUTER_ID_IGNORED_WARNING,
)
from openelb_component.plan.build import build_plan, read_live_workloads
from openelb_component.plan.stackfile import read_stack
from tests.support.harness import ROOT, Run, applied, run_program, stack_config

CHANGES = "the BgpConf changes (openelb-ha:bgp, a leaf's localAsn, or the set of leaves"
FIRST = "this run applies the BgpConf for the first time"
REMOVED = "openelb-ha:bgp was removed"


def fabric(version: str = "0.5", **bgp: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "openelb": {"version": version},
        "topology": {
            "kind": "multi-leaf",
            "leaves": [
                {
                    "name": "leaf1",
                    "nodes": ["n1", "n2"],
                    "peer": {"address": "192.0.2.1", "asn": 65001},
                },
                {
                    "name": "leaf2",
                    "nodes": ["n3", "n4"],
                    "peer": {"address": "198.51.100.1", "asn": 65001},
                },
            ],
        },
    }
    if bgp:
        config["bgp"] = bgp
    return config


def edited(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``config`` with one key set, e.g. ``topology.leaves.0.localAsn``."""
    copied = copy.deepcopy(config)
    *parents, last = path.split(".")
    target: Any = copied
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    target[int(last) if last.isdigit() else last] = value
    return copied


def next_run(before: dict[str, Any], after: dict[str, Any]) -> Run:
    """``after`` previewed on the cluster ``before`` was applied to."""
    return run_program(after, cluster=applied(run_program(before)))


def bgp_warnings(run: Run) -> list[str]:
    static = {MULTI_LEAF_WITHOUT_BGP_WARNING, ROUTER_ID_IGNORED_WARNING}
    return [w for w in run.warnings if "BgpConf" in w and w not in static]


# --- BgpConf changes: every speaker restarts BGP at once --------------------------------------


@pytest.mark.parametrize("version", ["0.5", "0.6"])
@pytest.mark.parametrize(
    ("edit", "value"),
    [
        ("bgp.as", 64700),
        ("bgp.listenPort", 17900),
        ("topology.leaves.0.localAsn", 64601),  # feeds asPerRack
    ],
    ids=["as", "listen-port", "local-asn"],
)
def test_a_bgp_conf_change_is_warned_about_in_the_preview(
    version: str, edit: str, value: Any
) -> None:
    before = fabric(version, **{"as": 64600})
    (warning,) = bgp_warnings(next_run(before, edited(before, edit, value)))
    assert warning.startswith(CHANGES)
    assert "every OpenELB speaker stops and restarts BGP at the same moment" in warning
    # 0.5 re-announces by itself; 0.6 only after the roll the BgpConf hash causes.
    tail = {"0.5": "re-announces by itself", "0.6": "the speakers are rolled right after"}
    assert tail[version] in warning


def test_adding_a_leaf_changes_as_per_rack_and_is_warned_about() -> None:
    before = fabric("0.5", **{"as": 64600})
    after = copy.deepcopy(before)
    after["topology"]["leaves"].append(
        {"name": "leaf3", "nodes": ["n5", "n6"], "peer": {"address": "203.0.113.1", "asn": 65001}}
    )
    (warning,) = bgp_warnings(next_run(before, after))
    assert warning.startswith(CHANGES)


@pytest.mark.parametrize("version", ["0.5", "0.6"])
def test_a_membership_change_leaves_the_bgp_conf_alone_and_warns_nothing(version: str) -> None:
    # asPerRack lists leaves, not nodes: a node joining changes no BgpConf field.
    before = fabric(version, **{"as": 64600})
    after = edited(before, "topology.leaves.1.nodes", ["n3", "n4", "n5"])
    assert bgp_warnings(next_run(before, after)) == []


def test_the_first_bgp_conf_and_its_removal_are_warned_about() -> None:
    without, with_bgp = fabric("0.6"), fabric("0.6", **{"as": 64600})
    assert bgp_warnings(next_run(without, with_bgp))[0].startswith(FIRST)
    assert bgp_warnings(next_run(with_bgp, without))[0].startswith(REMOVED)


def test_v06_speakers_carry_the_bgp_conf_hash_and_wait_for_the_bgp_conf() -> None:
    before = fabric("0.6", **{"as": 64600})
    after = edited(before, "bgp.as", 64700)

    def template(run: Run) -> dict[str, str]:
        annotations: dict[str, str] = run.named("openelb-ha-workload").inputs["spec"]["template"][
            "metadata"
        ]["annotations"]
        return annotations

    first, second = run_program(before), run_program(after)
    assert template(first)["openelb-ha/bgpconf"] != template(second)["openelb-ha/bgpconf"]
    # Same membership: only the BgpConf hash rolls them.
    assert template(first)["openelb-ha/membership"] == template(second)["openelb-ha/membership"]
    conf = second.named("openelb-ha-bgpconf").urn
    assert conf in second.named("openelb-ha-workload").dependencies


def test_v05_managers_record_the_bgp_conf_without_rolling() -> None:
    # 0.5 re-announces by itself: the hash is on the Deployment, not its pod template.
    run = run_program(fabric("0.5", **{"as": 64600}))
    workload = run.named("openelb-ha-workload").inputs
    assert "openelb-ha/bgpconf" in workload["metadata"]["annotations"]
    assert "openelb-ha/bgpconf" not in workload["spec"]["template"]["metadata"]["annotations"]


def test_the_plan_warns_from_the_live_workload_or_says_it_cannot_tell(tmp_path: Path) -> None:
    stack = read_stack(ROOT / "stacks" / "Pulumi.racks.yaml")
    assert BGP_CONF_CHANGE_UNKNOWN in build_plan(stack).state.warnings
    manager = build_plan(stack).state.by_key("workload").manifest
    live = tmp_path / "manager.yaml"
    # The live Deployment as the last run left it: no change.
    live.write_text(yaml.safe_dump(manager))
    assert not any(
        "BgpConf" in w for w in build_plan(stack, read_live_workloads([live])).state.warnings
    )
    # ... and as an earlier BgpConf left it: the program's own warning.
    changed = copy.deepcopy(manager)
    changed["metadata"]["annotations"]["openelb-ha/bgpconf"] = "0000000000000000"
    live.write_text(yaml.safe_dump(changed))
    warnings = build_plan(stack, read_live_workloads([live])).state.warnings
    assert [w for w in warnings if w.startswith(CHANGES)] != []


# --- next hops per rack ------------------------------------------------------------------------


def test_every_leaf_gets_an_as_per_rack_entry() -> None:
    run = run_program(edited(fabric("0.5", **{"as": 64600}), "topology.leaves.1.localAsn", 64602))
    spec = run.named("openelb-ha-bgpconf").inputs["spec"]
    assert spec["asPerRack"] == {"leaf1": 64600, "leaf2": 64602}


@pytest.mark.parametrize(
    ("config", "warning"),
    [
        (fabric("0.5"), MULTI_LEAF_WITHOUT_BGP_WARNING),
        (fabric("0.6"), MULTI_LEAF_WITHOUT_BGP_WARNING),
        (fabric("0.5", **{"as": 64600, "routerId": "192.0.2.10"}), ROUTER_ID_IGNORED_WARNING),
    ],
    ids=["v0.5-no-bgp", "v0.6-no-bgp", "router-id-with-as-per-rack"],
)
def test_multi_leaf_bgp_stacks_are_warned_about_what_asperrack_changes(
    config: dict[str, Any], warning: str
) -> None:
    run = run_program(config)
    assert warning in run.warnings


def test_a_single_router_stack_gets_no_as_per_rack_and_no_such_warning() -> None:
    config = {
        "topology": {"kind": "single-router", "nodes": ["n1", "n2"]},
        "bgp": {"as": 64600, "routerId": "192.0.2.10"},
    }
    run = run_program(config)
    assert "asPerRack" not in run.named("openelb-ha-bgpconf").inputs["spec"]
    assert ROUTER_ID_IGNORED_WARNING not in run.warnings
    assert MULTI_LEAF_WITHOUT_BGP_WARNING not in run.warnings


# --- modes ---------------------------------------------------------------------------------


def test_v05_vip_with_several_replicas_is_not_warned_about() -> None:
    """Issue 11 asked for a warning: each manager deletes the keepalived DaemonSet on shutdown.
    The source says otherwise: the delete waits on the speaker's own stop channel
    (pkg/speaker/vip/keepalived.go:93-103@v0.5.1), closed only by UnRegisterSpeaker
    (pkg/speaker/speaker.go:108-117), called only when a layer2 Eip is removed
    (pkg/controllers/ipam/ipam.go:267-270); SIGTERM never reaches it
    (cmd/manager/app/manager.go:113-146). So a roll never deletes it, and there is nothing to
    warn about."""
    run = run_program(
        {
            "openelb": {"mode": "vip"},
            "topology": {"kind": "single-router", "nodes": ["n1", "n2", "n3"]},
        }
    )
    assert run.outputs["replicas"] == 3
    assert run.warnings == []


def test_the_example_stacks_carry_as_per_rack_for_every_leaf() -> None:
    for name in ("prod", "prod-v06", "racks"):
        config = stack_config(ROOT / "stacks" / f"Pulumi.{name}.yaml")
        run = run_program(config)
        leaves = {leaf["name"] for leaf in config["topology"]["leaves"]}
        assert set(run.named("openelb-ha-bgpconf").inputs["spec"]["asPerRack"]) == leaves
