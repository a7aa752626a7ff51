"""A BgpConf change: named in the preview with each leaf's outage, refused by ``up`` without the
acknowledgement that fits it, and carried out at once on 0.6 (``desired/bgpconf_change.py``).

Runs are under Pulumi's mocks. ``applied(run)`` is the cluster as that run's ``up`` left it (the
announcing workload reads back with the BgpConf record the run wrote), so a second run compares
with the first as the program does with the cluster.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from openelb_component.config.models import BgpTimers
from openelb_component.desired import desired_state
from openelb_component.desired.bgpconf_change import (
    Recorded,
    acknowledgement,
    expected_outage_seconds,
    field_changes,
    pending_change,
    recorded_from,
    speakers_by_leaf,
)
from openelb_component.plan.build import build_plan, read_live_workloads
from openelb_component.plan.stackfile import read_stack
from tests.support.examples import edited, fabric
from tests.support.harness import (
    ROOT,
    FakeCluster,
    Run,
    applied,
    loaded_config,
    run_program,
    run_program_capturing,
)

CONF = "openelb-ha-bgpconf"
WORKLOAD = "openelb-ha-workload"


def with_leaf3(config: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(config)
    copied["topology"]["leaves"].append(
        {"name": "leaf3", "nodes": ["n5", "n6"], "peer": {"address": "203.0.113.1", "asn": 65001}}
    )
    return copied


def gate_messages(run: Run) -> list[str]:
    return [w for w in run.warnings if "acceptBgpConfChange" in w]


def digest_in(message: str) -> str:
    return message.split("openelb-ha:acceptBgpConfChange: ")[1].split(" ")[0]


BASE = fabric("0.6", **{"as": 64600})
RACKS = fabric("0.6", **{"as": 64600, "nextHops": "rack"})

# --- which edits change the BgpConf ------------------------------------------------------------

CHANGES = [
    (
        BASE,
        edited(BASE, "bgp.as", 64700),
        [
            "as: 64600 -> 64700",
            'asPerRack: {"openelb-ha/per-node-racks": 64600} -> '
            '{"openelb-ha/per-node-racks": 64700}',
        ],
    ),
    (BASE, edited(BASE, "bgp.listenPort", 17900), ["listenPort: unset -> 17900"]),
    (
        RACKS,
        edited(RACKS, "topology.leaves.0.localAsn", 64601),
        ['asPerRack: {"leaf1": 64600, "leaf2": 64600} -> {"leaf1": 64601, "leaf2": 64600}'],
    ),
    (
        RACKS,
        with_leaf3(RACKS),
        [
            'asPerRack: {"leaf1": 64600, "leaf2": 64600} -> '
            '{"leaf1": 64600, "leaf2": 64600, "leaf3": 64600}'
        ],
    ),
    (
        RACKS,
        BASE,
        ['asPerRack: {"leaf1": 64600, "leaf2": 64600} -> {"openelb-ha/per-node-racks": 64600}'],
    ),
]
CHANGE_IDS = ["as", "listen-port", "local-asn-in-racks", "leaf-added-in-racks", "racks-to-nodes"]

NO_CHANGE = [
    (BASE, edited(BASE, "topology.leaves.0.localAsn", 64601)),
    (BASE, with_leaf3(BASE)),
    (BASE, edited(BASE, "topology.leaves.1.nodes", ["n3", "n4", "n5"])),
    (RACKS, edited(RACKS, "topology.leaves.1.nodes", ["n3", "n4", "n5"])),
    (BASE, edited(BASE, "bgp.timers", {"holdTime": 6, "keepaliveInterval": 2})),
]
NO_CHANGE_IDS = [
    "local-asn-per-node",
    "leaf-added-per-node",
    "node-joined-per-node",
    "node-joined-in-racks",
    "timers",
]


@pytest.mark.parametrize(("before", "after", "named"), CHANGES, ids=CHANGE_IDS)
def test_the_preview_names_a_bgp_conf_change_with_each_leaf_s_outage(
    before: dict[str, Any], after: dict[str, Any], named: list[str]
) -> None:
    cluster = applied(run_program(before))
    (message,) = gate_messages(run_program(after, cluster=cluster, preview=True))
    assert message.startswith("the BgpConf changes: " + "; ".join(named) + ": ")
    assert "every leaf loses every path at once" in message
    leaves = after["topology"]["leaves"]
    every_speaker = sum(len(leaf["nodes"]) for leaf in leaves)
    # At worst a leaf's first speaker is replaced after every other leaf's: 1 s until the
    # workload patch, 7 s per speaker before it (the old one's exit, a 5 s start and the first
    # probe), its own exit and 5 s start, then at most 6 s to a session (connectRetry 5, plus
    # FRR's 1 s redial).
    outage = ", ".join(
        f"{leaf['name']} (2 speakers) up to about {13 + 7 * (every_speaker - 2)} s"
        for leaf in leaves
    )
    assert f"Expected outage: {outage}." in message
    assert "one at a time with minReadySeconds 0" in message
    assert "never all at once" in message


@pytest.mark.parametrize(("before", "after"), NO_CHANGE, ids=NO_CHANGE_IDS)
def test_edits_that_keep_the_bgp_conf_pass_without_acknowledgement(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    run = run_program(after, cluster=applied(run_program(before)))
    assert gate_messages(run) == []
    strategy = run.named(WORKLOAD).inputs["spec"]["updateStrategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}


# --- up: refused without the acknowledgement that fits ----------------------------------------


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (None, "openelb-ha:acceptBgpConfChange is not set"),
        (
            "0123456789abcdef",
            "openelb-ha:acceptBgpConfChange is 0123456789abcdef, which acknowledges another "
            "BgpConf change, not this one",
        ),
    ],
    ids=["not-set", "another-change"],
)
def test_up_refuses_an_unacknowledged_change_and_registers_nothing(
    given: str | None, reason: str
) -> None:
    cluster = applied(run_program(BASE))
    after = edited(BASE, "bgp.as", 64700)
    if given is not None:
        after["acceptBgpConfChange"] = given
    run, error = run_program_capturing(after, cluster=cluster)
    assert error is not None
    assert str(error).startswith(
        f"openelb-ha: nothing was applied: this run would change the BgpConf and {reason}. "
        "The BgpConf changes: as: 64600 -> 64700"
    )
    # Only the reads and the component itself: no patch, no peer, no budget.
    assert [r.type for r in run.resources] == ["openelb-ha:index:OpenElbHa"]


def test_the_digest_the_preview_prints_lets_up_apply_that_change_only() -> None:
    cluster = applied(run_program(BASE))
    after = edited(BASE, "bgp.as", 64700)
    digest = digest_in(gate_messages(run_program(after, cluster=cluster, preview=True))[0])
    done = run_program({**after, "acceptBgpConfChange": digest}, cluster=cluster)
    assert done.named(CONF).inputs["spec"]["as"] == 64700
    # Acknowledging 64600 -> 64700 does not cover 64600 -> 64800.
    other = {**edited(BASE, "bgp.as", 64800), "acceptBgpConfChange": digest}
    _, error = run_program_capturing(other, cluster=cluster)
    assert error is not None
    assert f"openelb-ha:acceptBgpConfChange is {digest}, which acknowledges another" in str(error)


def test_on_06_the_change_rolls_one_at_a_time_without_waiting_and_the_next_run_restores() -> None:
    """Never every speaker at once: 0.6 speakers started together race to write the BgpConf
    and the loser can stay silent (``ROLL_STEP_SECONDS``); one at a time, each as soon as the
    previous is Ready (they are all silent anyway), then the stack's minReadySeconds again."""
    cluster = applied(run_program(BASE))
    after = edited(BASE, "bgp.as", 64700)
    digest = digest_in(gate_messages(run_program(after, cluster=cluster, preview=True))[0])
    changing = run_program({**after, "acceptBgpConfChange": digest}, cluster=cluster)
    spec = changing.named(WORKLOAD).inputs["spec"]
    assert spec["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1},
    }
    assert spec["minReadySeconds"] == 0
    # The pod template's BgpConf hash is what replaces them, after the BgpConf is applied.
    assert changing.named(CONF).urn in changing.named(WORKLOAD).dependencies
    next_run = run_program(after, cluster=applied(changing))
    assert next_run.named(WORKLOAD).inputs["spec"]["minReadySeconds"] == 30
    assert next_run.named(WORKLOAD).inputs["spec"]["updateStrategy"]["rollingUpdate"] == {
        "maxUnavailable": 1
    }
    assert gate_messages(next_run) == []


def test_on_05_the_speakers_announce_again_by_themselves_and_nothing_rolls() -> None:
    before = fabric("0.5", **{"as": 64600})
    after = edited(before, "bgp.as", 64700)
    cluster = applied(run_program(before))
    (message,) = gate_messages(run_program(after, cluster=cluster, preview=True))
    assert "OpenELB 0.5 announces again by itself once the sessions are back" in message
    assert "leaf1 (2 speakers) up to about 6 s" in message
    done = run_program({**after, "acceptBgpConfChange": digest_in(message)}, cluster=cluster)
    template = done.named(WORKLOAD).inputs["spec"]["template"]
    assert "openelb-ha/bgpconf" not in template["metadata"]["annotations"]
    assert done.named(WORKLOAD).inputs["spec"]["strategy"]["rollingUpdate"] == {
        "maxUnavailable": 1,
        "maxSurge": 0,
    }


def test_a_first_run_without_a_record_is_a_change_to_acknowledge() -> None:
    cluster = FakeCluster(bgp_conf_applied=False)
    (message,) = gate_messages(run_program(BASE, cluster=cluster, preview=True))
    assert message.startswith(
        "the BgpConf default is applied for the first time by this program (the announcing "
        'workload has no openelb-ha/bgpconf record): spec {"as": 64600, "asPerRack": '
        '{"openelb-ha/per-node-racks": 64600}}'
    )
    _, refused = run_program_capturing(BASE, cluster=cluster)
    assert refused is not None
    done = run_program({**BASE, "acceptBgpConfChange": digest_in(message)}, cluster=cluster)
    assert done.named(CONF).inputs["spec"]["as"] == 64600


def test_removing_bgp_is_a_change_too() -> None:
    cluster = applied(run_program(BASE))
    (message,) = gate_messages(run_program(fabric("0.6"), cluster=cluster, preview=True))
    assert message.startswith("openelb-ha:bgp was removed, so the BgpConf fields")


def test_a_stale_acknowledgement_is_warned_about() -> None:
    cluster = applied(run_program(BASE))
    run = run_program({**BASE, "acceptBgpConfChange": "0123456789abcdef"}, cluster=cluster)
    assert (
        "openelb-ha:acceptBgpConfChange is 0123456789abcdef but this run changes no BgpConf"
        in run.warnings[-1]
    )


# --- the parts, as data -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotations", "recorded"),
    [
        (None, Recorded(None)),
        ({"openelb-ha/bgpconf": "abc"}, Recorded("abc")),
        (
            {"openelb-ha/bgpconf": "abc", "openelb-ha/bgpconf-spec": '{"as":1}'},
            Recorded("abc", {"as": 1}),
        ),
        ({"openelb-ha/bgpconf": "abc", "openelb-ha/bgpconf-spec": "{not json"}, Recorded("abc")),
        ({"openelb-ha/bgpconf": 7, "openelb-ha/bgpconf-spec": "[1]"}, Recorded(None)),
    ],
    ids=["none", "digest-only", "digest-and-spec", "spec-unreadable", "wrong-types"],
)
def test_the_record_is_read_from_the_live_annotations(
    annotations: dict[str, Any] | None, recorded: Recorded
) -> None:
    assert recorded_from(annotations) == recorded


def test_an_acknowledgement_fits_one_change_only() -> None:
    digests = {
        acknowledgement(None, "b"),
        acknowledgement("a", "b"),
        acknowledgement("b", "a"),
        acknowledgement("a", None),
        acknowledgement("a", "c"),
    }
    assert len(digests) == 5
    assert all(len(d) == 16 and int(d, 16) >= 0 for d in digests)


@pytest.mark.parametrize(
    ("before", "after", "changes"),
    [
        ({"as": 1}, {"as": 2}, ["as: 1 -> 2"]),
        ({"as": 1}, {"as": 1, "listenPort": 17900}, ["listenPort: unset -> 17900"]),
        ({"as": 1, "routerId": "192.0.2.1"}, {"as": 1}, ['routerId: "192.0.2.1" -> unset']),
        ({"as": 1}, {"as": 1}, ["the same fields (recorded under another digest)"]),
    ],
    ids=["changed", "added", "removed", "same"],
)
def test_field_changes_name_each_field(
    before: dict[str, Any], after: dict[str, Any], changes: list[str]
) -> None:
    assert field_changes(before, after) == changes


@pytest.mark.parametrize(
    ("version", "connect_retry", "replaced_before", "seconds"),
    [
        ("0.5", 5, 0, 6),
        ("0.5", 30, 0, 10),
        ("0.5", 5, 3, 6),
        ("0.6", 5, 0, 13),
        ("0.6", 30, 0, 17),
        ("0.6", 5, 3, 34),
        ("0.6", 5, 8, 69),
    ],
    ids=[
        "0.5-router-dials-first",
        "0.5-gobgp-dials-first",
        "0.5-no-roll-to-wait-for",
        "0.6-its-speaker-first",
        "0.6-gobgp-dials-first",
        "0.6-after-three-others",
        "0.6-after-eight-others",
    ],
)
def test_the_expected_outage_is_one_session_after_the_leaf_s_first_speaker_is_back(
    version: str, connect_retry: int, replaced_before: int, seconds: int
) -> None:
    """0.6: 1 s to the workload patch, 7 s per speaker replaced before the leaf's first (the
    old one's exit, a 5 s start, the first probe), that one's exit and start (6 s), then a
    session: the router dials within connectRetry + 1 s, GoBGP within 10 s, whichever first."""
    timers = BgpTimers(connect_retry=connect_retry)
    assert expected_outage_seconds(version, timers, replaced_before) == seconds


def test_a_single_router_counts_its_speakers_as_one_leaf() -> None:
    config = loaded_config(
        {"topology": {"kind": "single-router", "nodes": ["a", "b", "c"]}, "bgp": {"as": 64600}}
    )
    state = desired_state(config)
    change = pending_change("0.5", state, Recorded(None), config.timers, speakers_by_leaf(state))
    assert change is not None
    assert change.per_leaf() == "the router (3 speakers) up to about 6 s"


# --- the offline plan ------------------------------------------------------------------------


def test_the_plan_gates_from_the_live_workload_or_says_it_cannot_tell(tmp_path: Path) -> None:
    stack = read_stack(ROOT / "stacks" / "Pulumi.prod-v06.yaml")
    (unknown,) = [w for w in build_plan(stack).state.warnings if "cannot tell" in w]
    assert "openelb-ha:acceptBgpConfChange" in unknown
    speaker = build_plan(stack).state.by_key("workload").manifest
    live = tmp_path / "speaker.yaml"
    # As the last run left it: no change, and the speakers roll one at a time.
    live.write_text(yaml.safe_dump(speaker))
    same = build_plan(stack, read_live_workloads([live])).state
    assert not any("acceptBgpConfChange" in w for w in same.warnings)
    # As an earlier BgpConf left it: the preview's account, up's refusal, and the quick roll.
    changed = copy.deepcopy(speaker)
    changed["metadata"]["annotations"]["openelb-ha/bgpconf"] = "0000000000000000"
    del changed["metadata"]["annotations"]["openelb-ha/bgpconf-spec"]
    live.write_text(yaml.safe_dump(changed))
    state = build_plan(stack, read_live_workloads([live])).state
    account, refusal = [w for w in state.warnings if "acceptBgpConfChange" in w]
    assert account.startswith(
        "the BgpConf changes from the one the last run applied (digest 0000000000000000)"
    )
    assert refusal.startswith("openelb-ha: nothing was applied")
    spec = state.by_key("workload").manifest["spec"]
    assert spec["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1}
    assert spec["minReadySeconds"] == 0


# --- BgpPeer changes: each leaf's sessions reset, said per leaf --------------------------------

LEAF1_PEER = "openelb-ha-peer-192-0-2-1"
LEAF2_PEER = "openelb-ha-peer-198-51-100-1"


def resets(run: Run) -> list[str]:
    return [w.split(" changes: ")[0] for w in run.warnings if w.startswith("BgpPeer ")]


@pytest.mark.parametrize(
    ("before", "after", "reset"),
    [
        (BASE, edited(BASE, "bgp.timers", {"bgpPeers": True}), ["leaf1", "leaf2"]),
        (BASE, edited(BASE, "topology.leaves.0.localAsn", 64601), ["leaf1"]),
        (BASE, edited(BASE, "topology.leaves.1.peer.asn", 65002), ["leaf2"]),
        (BASE, edited(BASE, "bgp.timers", {"holdTime": 6, "keepaliveInterval": 2}), []),
        (BASE, edited(BASE, "topology.leaves.1.nodes", ["n3", "n4", "n5"]), []),
        (BASE, with_leaf3(BASE), []),
        (RACKS, BASE, ["leaf1", "leaf2"]),
    ],
    ids=[
        "timers-into-bgp-peers",
        "local-asn-per-node",
        "router-asn",
        "timers-on-routers-only",
        "node-joined",
        "leaf-added",
        "racks-to-nodes-selector",
    ],
)
def test_the_preview_names_each_leaf_whose_sessions_a_bgp_peer_change_resets(
    before: dict[str, Any], after: dict[str, Any], reset: list[str]
) -> None:
    run = run_program(after, cluster=applied(run_program(before)), preview=True)
    names = {"leaf1": LEAF1_PEER, "leaf2": LEAF2_PEER}
    assert resets(run) == [f"BgpPeer {names[leaf]} (leaf {leaf})" for leaf in reset]
    for warning in (w for w in run.warnings if w.startswith("BgpPeer ")):
        assert "that leaf has no path for about 5 to 10 s" in warning


def test_timers_in_bgp_peers_are_strings_as_openelb_declares_them() -> None:
    run = run_program(
        edited(BASE, "bgp.timers", {"holdTime": 6, "keepaliveInterval": 2, "bgpPeers": True})
    )
    spec = run.named("openelb-ha-bgppeer-192-0-2-1").inputs["spec"]
    assert spec["timers"] == {
        "config": {"holdTime": "6", "keepaliveInterval": "2", "connectRetry": "5"}
    }
    plain = run_program(BASE).named("openelb-ha-bgppeer-192-0-2-1").inputs["spec"]
    assert "timers" not in plain
