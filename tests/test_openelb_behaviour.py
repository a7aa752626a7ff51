"""What the program does because of how OpenELB really behaves (docs/behaviour.md).

Each test names the upstream behaviour it answers; the file and line are in the docs and in the
code's comments. Runs are under Pulumi's mocks. BgpConf and BgpPeer changes from one run to the
next: tests/test_bgpconf_change.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from openelb_component.desired.bgp import (
    MULTI_LEAF_WITHOUT_BGP_WARNING,
    ROUTER_ID_IGNORED_WARNING,
)
from tests.support.examples import edited, fabric
from tests.support.harness import ROOT, Run, run_program, stack_config

CHANGES = "the BgpConf changes (openelb-ha:bgp, a leaf's localAsn, or the set of leaves"


# --- BgpConf changes: every speaker restarts BGP at once (tests/test_bgpconf_change.py) ------


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


# --- next hops per rack ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_hops", "as_per_rack", "local_as"),
    [
        ("rack", {"leaf1": 64600, "leaf2": 64602}, None),
        ("node", {"openelb-ha/per-node-racks": 64600}, 64602),
    ],
    ids=["rack", "node"],
)
def test_a_leaf_s_own_asn_goes_to_as_per_rack_or_to_its_bgp_peer(
    next_hops: str, as_per_rack: dict[str, int], local_as: int | None
) -> None:
    config = fabric("0.5", **{"as": 64600, "nextHops": next_hops})
    run = run_program(edited(config, "topology.leaves.1.localAsn", 64602))
    assert run.named("openelb-ha-bgpconf").inputs["spec"]["asPerRack"] == as_per_rack
    conf = run.named("openelb-ha-bgppeer-198-51-100-1").inputs["spec"]["conf"]
    assert conf.get("localAs") == local_as


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


@pytest.mark.parametrize(
    ("next_hops", "as_per_rack", "warned"),
    [("rack", None, False), ("node", {"openelb-ha/per-node-racks": 64600}, True)],
    ids=["rack", "node"],
)
def test_a_single_router_stack_gets_as_per_rack_only_for_one_rack_per_node(
    next_hops: str, as_per_rack: dict[str, int] | None, warned: bool
) -> None:
    config = {
        "topology": {"kind": "single-router", "nodes": ["n1", "n2"]},
        "bgp": {"as": 64600, "routerId": "192.0.2.10", "nextHops": next_hops},
    }
    run = run_program(config)
    assert run.named("openelb-ha-bgpconf").inputs["spec"].get("asPerRack") == as_per_rack
    assert (ROUTER_ID_IGNORED_WARNING in run.warnings) is warned
    assert MULTI_LEAF_WITHOUT_BGP_WARNING not in run.warnings


# --- modes ---------------------------------------------------------------------------------


def test_v05_vip_with_several_replicas_is_not_warned_about() -> None:
    """One might warn that each manager deletes the keepalived DaemonSet on shutdown.
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


def test_the_example_stacks_give_every_node_a_rack_of_its_own() -> None:
    for name in ("prod", "prod-v06", "racks"):
        config = stack_config(ROOT / "stacks" / f"Pulumi.{name}.yaml")
        run = run_program(config)
        spec = run.named("openelb-ha-bgpconf").inputs["spec"]
        assert spec["asPerRack"] == {"openelb-ha/per-node-racks": spec["as"]}
        for leaf in config["topology"]["leaves"]:
            for node in leaf["nodes"]:
                labels = run.named(f"openelb-ha-node-{node}").inputs["metadata"]["labels"]
                assert labels["openelb.kubesphere.io/rack"] == node
                assert labels["openelb-ha/leaf"] == leaf["name"]
