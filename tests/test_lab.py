"""The lab: real GoBGP speakers and FRR routers in network namespaces, for every example stack
and for the mistakes it must catch. Marked ``lab``: they need root and network namespaces, skip
with the reason without them, and fail instead of skipping under ``CI=true``.

What the lab measures is compared with the model of OpenELB's speakers (``routers/openelb.py``):
the real software must do what the model predicts, next hops included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from openelb_component.lab import leftovers
from openelb_component.lab.layout import Faults, Layout, namespace_prefix
from openelb_component.lab.report import render_text
from openelb_component.lab.run import lab_layout, run_lab
from openelb_component.lab.scenarios import LabOptions, LabResult
from openelb_component.lab.verdicts import Allowance
from openelb_component.plan.stackfile import StackFile, read_stack, stack_name
from tests.support.harness import ROOT, stack_files
from tests.test_component import PROD

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_host")]


def no_lab_namespaces_left(pid: int | None = None) -> None:
    """None of the lab run's namespaces (``oelab<pid>-``) is left; other runs' are not ours."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert f"{namespace_prefix(pid or os.getpid())}-" not in names.stdout


def model_wrong_next_hops(layout: Layout) -> dict[str, dict[str, list[str]]]:
    """What the model predicts a leaf's speakers send that is not on the leaf's link."""
    from openelb_component.lab.layout import announcements

    out: dict[str, dict[str, list[str]]] = {}
    for leaf in layout.leaves:
        own = set(leaf.expected_next_hops)
        sent = {
            (address, hop)
            for name in leaf.speakers
            for address, hop in announcements(layout, layout.node(name))
        }
        out[leaf.name] = {
            address: sorted({hop for a, hop in sent if a == address} - own)
            for address in leaf.announced
        }
    return out


EXAMPLES = stack_files()


def lab_command(*args: str) -> tuple[int, str]:
    """(exit status, stdout) of the lab command; its namespaces must all be gone after it."""
    with subprocess.Popen(
        [sys.executable, "-m", "openelb_component", "lab", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as lab:
        out, _ = lab.communicate(timeout=120)
    no_lab_namespaces_left(lab.pid)
    return lab.returncode, out


@pytest.mark.parametrize("path", EXAMPLES, ids=[stack_name(p) for p in EXAMPLES])
def test_every_example_stack_runs_in_the_lab_as_the_model_predicts(path: Path) -> None:
    """Through the command, as `make lab` runs it: the JSON shape, the exit status, and what
    the routers saw against what the model predicts."""
    layout = lab_layout(read_stack(path))
    status, out = lab_command("--stack", stack_name(path), "--json")
    report = json.loads(out)
    if not layout.leaves:  # dev, dev-v06: no peer in the stack, no BGP session to run
        assert (status, report["ok"], report["leaves"]) == (0, True, {})
        assert "nothing to run" in report["notes"][0]
        return
    predicted_wrong = model_wrong_next_hops(layout)
    mismatch = any(hops for leaf in predicted_wrong.values() for hops in leaf.values())
    assert (status, report["ok"]) == ((1, False) if mismatch else (0, True))
    assert sorted(report["leaves"]) == sorted(leaf.name for leaf in layout.leaves)
    for leaf in layout.leaves:
        seen = report["leaves"][leaf.name]
        # every node of the leaf running a speaker has its session
        assert seen["expected"] == seen["established"] == list(leaf.speakers), leaf.name
        # the router forwards over every node of its rack (ECMP), and only those
        for address in leaf.announced:
            assert seen["paths"][address] == sorted(leaf.expected_next_hops), (leaf.name, address)
        # what the speakers send off the leaf's link is exactly what the model says
        wrong = {a: hops for a, hops in predicted_wrong[leaf.name].items() if hops}
        assert seen["wrongNextHops"] == wrong, leaf.name
    assert report["scenario"]["name"] == "steady"
    # Sampled every 0.05 s; on a loaded machine a longer interval is said, not hidden.
    interval = report["scenario"]["longestSampleIntervalSeconds"]
    assert interval <= 0.2 or any("sampled only every" in note for note in report["notes"])


def stack_file(
    name: str, config: dict[str, Any], secure: frozenset[Any] = frozenset()
) -> StackFile:
    return StackFile(Path(f"stacks/Pulumi.{name}.yaml"), config, secure)


# prod as it was before the program wrote asPerRack: no openelb-ha:bgp, so the BgpConf is the
# cluster's own (the lab assumes OpenELB's sample: no asPerRack).
WITHOUT_AS_PER_RACK: dict[str, Any] = {**PROD, "eips": ["198.51.100.0/24"]}


def test_without_as_per_rack_every_node_is_announced_to_every_leaf() -> None:
    """No speaker knows its rack, so each sends every node as a next hop (SetBalancer,
    path.go:181-201@v0.5.1): the model predicts it, the routers receive exactly that, and they
    cannot use the other leaf's nodes (off their link), so each forwards over its own two."""
    stack = stack_file("no-as-per-rack", WITHOUT_AS_PER_RACK)
    assert model_wrong_next_hops(lab_layout(stack)) == {
        "leaf1": {"198.51.100.1": ["192.0.2.10", "192.0.2.11"]},
        "leaf2": {"198.51.100.1": ["192.0.2.2", "192.0.2.3"]},
    }
    result = run_lab(stack, "steady")
    no_lab_namespaces_left()
    assert result.ok is False
    assert result.leaves["leaf1"].wrong_next_hops == {"198.51.100.1": ["192.0.2.10", "192.0.2.11"]}
    assert result.leaves["leaf1"].paths == {"198.51.100.1": ["192.0.2.2", "192.0.2.3"]}
    assert result.leaves["leaf2"].wrong_next_hops == {"198.51.100.1": ["192.0.2.2", "192.0.2.3"]}
    assert result.leaves["leaf2"].paths == {"198.51.100.1": ["192.0.2.10", "192.0.2.11"]}
    assert any("does not manage the BgpConf" in note for note in result.notes)


# Three racks with their own ASNs and a BgpConf (asPerRack for each): the right next hops.
RACKS: dict[str, Any] = {
    "openelb": {"version": "0.6", "minReadySeconds": 0},
    "bgp": {"as": 64600, "listenPort": 17900},
    "eips": ["198.51.100.0/24"],
    "bgpPasswords": {"rack-a": "[secret]"},
    "topology": {
        "kind": "multi-leaf",
        "leaves": [
            {
                "name": "rack-a",
                "nodes": ["a1", "a2"],
                "localAsn": 64601,
                "peer": {"address": "10.1.0.1", "asn": 65001},
            },
            {
                "name": "rack-b",
                "nodes": ["b1", "b2"],
                "localAsn": 64602,
                "peer": {"address": "10.2.0.1", "asn": 65001},
            },
            {
                "name": "rack-c",
                "nodes": ["c1", "c2"],
                "localAsn": 64603,
                "peer": {"address": "10.3.0.1", "asn": 65001},
            },
        ],
    },
}
RACKS_STACK = stack_file("lab-racks", RACKS, frozenset({("bgpPasswords", "rack-a")}))


def test_the_lab_catches_a_wrong_password_a_wrong_asn_and_a_peer_selecting_no_node() -> None:
    faults = Faults(
        router_password={"rack-a": "not-the-speakers-password"},
        router_remote_as={"rack-b": 64999},
        peer_selector={"rack-c": {"matchLabels": {"openelb.kubesphere.io/rack": "rack-typo"}}},
    )
    result = run_lab(RACKS_STACK, "steady", faults, converge_timeout=12)
    no_lab_namespaces_left()
    assert result.ok is False
    for leaf, nodes in (
        ("rack-a", ["a1", "a2"]),
        ("rack-b", ["b1", "b2"]),
        ("rack-c", ["c1", "c2"]),
    ):
        seen = result.leaves[leaf]
        assert (seen.expected, seen.established) == (nodes, []), leaf
        assert seen.paths == {"198.51.100.1": []}, leaf
    # Each leaf: its sessions and paths missing at the end, and no path while watched.
    assert sorted(p.split(":")[0] for p in result.problems) == [
        "leaf rack-a",
        "leaf rack-a (2 speakers)",
        "leaf rack-b",
        "leaf rack-b (2 speakers)",
        "leaf rack-c",
        "leaf rack-c (2 speakers)",
    ]


# Scenarios on the three-rack stack: a short manual-guide pause keeps the suite's time down.
QUICK = LabOptions(edit_seconds=5.0)


@pytest.fixture(scope="module")
def scenario_results() -> dict[str, LabResult]:
    """One run per scenario on the three-rack stack, shared by the assertions below."""
    results = {}
    for scenario in ("pod-failure", "manual-guide", "wrong-password"):
        results[scenario] = run_lab(RACKS_STACK, scenario, options=QUICK)
        no_lab_namespaces_left()
    return results


def test_a_pod_failure_leaves_every_leaf_a_live_path(
    scenario_results: dict[str, LabResult],
) -> None:
    """The node stays up and Ready, but with ``bgp.nextHops: node`` (the default) only its own
    speaker announced it: while that pod is replaced the router has the leaf's other node as its
    one next hop, never none and never a dead one, and the replaced pod's path comes back. (With
    ``nextHops: rack`` the other speaker would keep announcing it: two paths.)"""
    result = scenario_results["pod-failure"]
    assert result.ok, result.problems
    assert result.details["podEnded"] == ["a1", "b1", "c1"]
    assert result.measured is not None
    assert {
        name: (s.min_paths, s.longest_gap, s.blackhole)
        for name, s in result.measured.leaves.items()
    } == {
        "rack-a": (1, 0.0, 0.0),
        "rack-b": (1, 0.0, 0.0),
        "rack-c": (1, 0.0, 0.0),
    }
    happened = [what for _, what in result.events]
    assert "a1: new pod's container started" in happened
    assert "a1: readiness probe passed, pod Ready" in happened


def test_the_manual_guide_is_a_baseline_with_an_outage_on_every_leaf(
    scenario_results: dict[str, LabResult],
) -> None:
    result = scenario_results["manual-guide"]
    assert result.ok is False  # never ok over an outage
    assert result.measured is not None
    assert result.measured.allowance == Allowance(0.0, 0.0, baseline=True)
    assert result.measured.settings == {"editSeconds": 5.0}
    for leaf in result.measured.leaves.values():
        assert leaf.min_paths == 0
        # stopped, the pause, then a pod start: never shorter than the two
        assert leaf.longest_gap >= 5.0 + 5.0
        assert not leaf.gap_open
    assert all("no path for" in p for p in result.problems)
    report = result.as_json()["scenario"]
    assert (report["baseline"], report["allowedGapSeconds"]) == (True, 0.0)


def test_a_router_with_another_password_has_no_session_and_the_others_are_unaffected(
    scenario_results: dict[str, LabResult],
) -> None:
    result = scenario_results["wrong-password"]
    assert result.ok, result.problems
    assert result.details["faultedLeaf"] == "rack-a"
    assert result.details["refusedSpeakers"] == ["a1", "a2"]
    assert result.leaves["rack-a"].established == []
    assert result.leaves["rack-a"].paths == {"198.51.100.1": []}
    for leaf in ("rack-b", "rack-c"):
        assert result.leaves[leaf].established == result.leaves[leaf].expected
        assert result.leaves[leaf].min_paths == 2
    text = render_text(result)
    assert "sessions 0/0" not in text and "0 of 0" not in text
    assert (
        "leaf rack-a (router 192.0.2.1, sessions with TCP MD5): no session, as the scenario "
        "intends: the router was given another MD5 password, so it refuses the signed "
        "connections of its 2 speaker(s) (a1, a2)"
    ) in text


def test_ctrl_c_removes_every_namespace_and_process() -> None:
    lab = subprocess.Popen(
        [sys.executable, "-m", "openelb_component", "lab", "--stack", "racks"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    prefix = f"{namespace_prefix(lab.pid)}-"
    deadline = time.monotonic() + 30
    while (
        prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    ):
        assert time.monotonic() < deadline and lab.poll() is None, "the lab never started"
        time.sleep(0.05)
    time.sleep(1.0)  # daemons starting
    lab.send_signal(signal.SIGINT)
    _, err = lab.communicate(timeout=30)
    assert lab.returncode == 130, err
    assert "interrupted" in err
    no_lab_namespaces_left(lab.pid)
    daemons = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert f"{prefix}-" not in daemons


def test_after_a_sigkill_mid_scenario_lab_cleanup_leaves_nothing() -> None:
    """SIGKILL gives the lab no chance to clean up: its namespaces and daemons stay, still
    peering, until `lab --cleanup` (or the next lab start) removes what its record lists."""
    args = ["lab", "--stack", "racks", "--scenario", "manual-guide"]
    lab = subprocess.Popen(
        [sys.executable, "-m", "openelb_component", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    prefix = f"{namespace_prefix(lab.pid)}-"
    deadline = time.monotonic() + 60
    record: dict[str, Any] = {}
    # Mid-scenario: every daemon (6 speakers, 3 x zebra and bgpd) is recorded as running.
    while len(record.get("processes", [])) < 12:
        assert time.monotonic() < deadline and lab.poll() is None, "the lab never got going"
        time.sleep(0.1)
        for path in leftovers.records_dir().glob(f"lab-{lab.pid}-*.json"):
            record = json.loads(path.read_text())
    time.sleep(2.0)
    lab.send_signal(signal.SIGKILL)
    lab.wait(timeout=10)
    pids = [p["pid"] for p in record["processes"]]
    assert any(leftovers.start_time(pid) for pid in pids), "SIGKILL left nothing to clean"

    # (Another run starting at this moment may clean them first: the state is what counts.)
    cleanup = subprocess.run(
        [sys.executable, "-m", "openelb_component", "lab", "--cleanup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cleanup.returncode == 0, cleanup.stderr
    no_lab_namespaces_left(lab.pid)
    assert not [pid for pid in pids if leftovers.start_time(pid) is not None]
    daemons = subprocess.run(
        ["pgrep", "-a", "-f", prefix], capture_output=True, text=True
    ).stdout.splitlines()
    assert [d for d in daemons if "pgrep" not in d] == []
    assert not any(Path(folder).exists() for folder in record["folders"])
    assert not list(leftovers.records_dir().glob(f"lab-{lab.pid}-*.json"))


# Ten nodes under three leaves (the lab's size target: `steady` in well under a minute on two
# cores; docs/lab.md gives the measured time).
TEN_NODES: dict[str, Any] = {
    "openelb": {"version": "0.6"},
    "bgp": {"as": 64600},
    "eips": ["198.51.100.0/24", "203.0.113.10-203.0.113.20"],
    "topology": {
        "kind": "multi-leaf",
        "leaves": [
            {
                "name": f"leaf{i}",
                "nodes": [f"n{i}{j}" for j in range(count)],
                "localAsn": 64601 + i,
                "peer": {"address": f"10.{i}.0.1", "asn": 65001},
            }
            for i, count in enumerate((4, 3, 3))
        ],
    },
}


def test_ten_nodes_under_three_leaves_converge_with_per_rack_next_hops() -> None:
    result = run_lab(stack_file("ten", TEN_NODES), "steady")
    no_lab_namespaces_left()
    assert result.ok, result.problems
    assert [len(leaf.established) for leaf in result.leaves.values()] == [4, 3, 3]
    for leaf in result.leaves.values():
        assert [len(hops) for hops in leaf.paths.values()] == [len(leaf.expected)] * 2


def test_bird_routers_run_router_config_s_bird_output_too(tmp_path: Path) -> None:
    """The same fabric with BIRD 2 as the leaf routers: prod's sessions (leaf1's with its TCP
    MD5 password) and ECMP routes in the routers' kernel tables, from `router-config --dialect
    bird`'s configuration. With ``--logs``, the routers' and speakers' output is kept, and
    nothing holding the lab's password (their configurations) is."""
    stack = read_stack(ROOT / "stacks" / "Pulumi.prod.yaml")
    layout = lab_layout(stack)
    options = LabOptions(router="bird", logs=tmp_path / "logs")
    result = run_lab(stack, "steady", options=options)
    no_lab_namespaces_left()
    assert result.ok, result.problems
    assert result.settings["router"] == "bird"
    for leaf in layout.leaves:
        assert result.leaves[leaf.name].established == list(leaf.speakers)
        assert result.leaves[leaf.name].paths == {
            address: sorted(leaf.expected_next_hops) for address in leaf.announced
        }
    kept = sorted(
        p.relative_to(tmp_path / "logs") for p in (tmp_path / "logs").rglob("*") if p.is_file()
    )
    run_folder = Path("lab1", "lab")
    assert kept == sorted(
        [run_folder / f"router-{leaf.index}" / "bird.out" for leaf in layout.leaves]
        + [run_folder / f"{node.namespace}.out" for node in layout.nodes if node.namespace]
    )
    for path in kept:
        text = (tmp_path / "logs" / path).read_text()
        assert not [p for p in layout.passwords.values() if p in text], path
    assert f"logs: {len(kept)} files kept in {tmp_path / 'logs'}, lab1" in " ".join(result.notes)


# --- power loss, pod replacement, membership and BgpConf changes (docs/lab.md) ----------------


def lab_json(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "openelb_component", "lab", "--json", "--quiet", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


HOLD_TIME = 90.0
"""Negotiated with today's configuration: GoBGP's default hold time (90 s,
internal/pkg/config/default.go:19@v2.23.0) against FRR's (180 s), the smaller wins."""
KEEPALIVE = HOLD_TIME / 3
"""GoBGP's keepalive interval (a third of the hold time, default.go:122-123@v2.23.0): the hold
timer runs from the last message received, so a session times out between hold - keepalive
and hold after the power loss."""
PRODUCT_HOLD_TIME = 9.0
"""The routers' ``bgp.timers.holdTime`` default, which the negotiation makes GoBGP's too."""
TODAY = (
    "--set",
    "bgp.nextHops=rack",
    "--set",
    "bgp.timers.holdTime=90",
    "--set",
    "bgp.timers.keepaliveInterval=30",
    "--set",
    "bgp.timers.connectRetry=120",
)
"""The configuration before 2026-12-03: the guide's racks, and timers as FRR and GoBGP default
them (hold 90 s negotiated, keepalive 30 s, connect retry 120 s)."""


def test_a_power_loss_leaves_every_router_within_10_s_and_today_s_configuration_does_not() -> None:
    """prod (0.5) and prod-v06 (0.6), each with the product's configuration and with today's,
    run side by side (their timing is the routers' hold timer, which load does not shorten):
    one node per leaf loses power."""
    runs = {
        (stack, config): lab_json(
            "--stack", stack, "--scenario", "node-failure", *(TODAY if config == "today" else ())
        )
        for stack in ("prod", "prod-v06")
        for config in ("product", "today")
    }
    reports = {}
    for (stack, config), lab in runs.items():
        out, err = lab.communicate(timeout=300)
        no_lab_namespaces_left(lab.pid)
        # today's: not ok, 90 s of traffic to a dead node; the product's: ok.
        assert lab.returncode == (1 if config == "today" else 0), err
        reports[(stack, config)] = json.loads(out)["scenario"]
    for (stack, config), report in reports.items():
        hold = HOLD_TIME if config == "today" else PRODUCT_HOLD_TIME
        assert report["allowedBlackholeSeconds"] == 10.0
        assert report["holdTimeSeconds"] == {"leaf1": hold, "leaf2": hold}
        for name, leaf in report["leaves"].items():
            (down,) = leaf["sessionDownAfterSeconds"].values()
            # The router drops the dead node's session when its hold timer expires (the last
            # keepalive came up to a third of it before the power loss).
            assert hold * 2 / 3 - 1 <= down <= hold + 5, (stack, config, name)
            # The leaf's other speaker(s) kept a live path all along.
            assert (leaf["minPaths"], leaf["longestGapSeconds"]) == (leaf["speakers"] - 1, 0.0)
    for stack in ("prod", "prod-v06"):
        # One rack per node: the dead node's paths leave with its own session.
        for leaf in reports[(stack, "product")]["leaves"].values():
            assert leaf["blackholeSeconds"] <= 10.0
            assert "stillForwardingToDeadNode" not in leaf
        for leaf in reports[(stack, "today")]["leaves"].values():
            assert leaf["blackholeSeconds"] >= HOLD_TIME - KEEPALIVE - 5
    # Today, 0.5: the other speakers withdraw the node once NotReady (50 s), its own paths go
    # with its session: the blackhole ends with the hold timer.
    assert any("NotReady after 50 s" in e["what"] for e in reports[("prod", "today")]["events"])
    for leaf in reports[("prod", "today")]["leaves"].values():
        assert "stillForwardingToDeadNode" not in leaf
        assert leaf["blackholeSeconds"] <= HOLD_TIME + 5
    # Today, 0.6: the other speakers keep announcing the dead node (no Node watch): never ends.
    for leaf in reports[("prod-v06", "today")]["leaves"].values():
        assert leaf["stillForwardingToDeadNode"] is True


def leaves_stack(
    name: str,
    version: str,
    leaves: int,
    min_ready: int | None = None,
    listen_port: int | None = None,
) -> StackFile:
    """``leaves`` leaf routers of two nodes each, a BgpConf (so asPerRack), one announced
    range; minReadySeconds the default (30) and the speakers' port 179 unless given."""
    openelb: dict[str, Any] = {"version": version}
    if min_ready is not None:
        openelb["minReadySeconds"] = min_ready
    config: dict[str, Any] = {
        "openelb": openelb,
        "bgp": {"as": 64600} | ({"listenPort": listen_port} if listen_port else {}),
        "eips": ["198.51.100.0/24"],
        "topology": {
            "kind": "multi-leaf",
            "leaves": [
                {
                    "name": f"leaf{i}",
                    "nodes": [f"{letter}1", f"{letter}2"],
                    "peer": {"address": f"10.{i}.0.1", "asn": 65001},
                }
                for i, letter in enumerate("ab"[:leaves], start=1)
            ],
        },
    }
    return stack_file(name, config)


def test_with_a_5_s_pod_start_min_ready_seconds_0_leaves_a_gap_that_the_default_closes() -> None:
    """The rollout with the default minReadySeconds (30), then the same with 0 (the baseline):
    a replaced speaker is Ready at its first probe, 1 s after its start, long before its session
    is back (FRR has backed off while nothing listened; GoBGP dials 5 to 10 s after start)."""
    result = run_lab(leaves_stack("lab-one-leaf", "0.6", 1), "rolling-restart")
    no_lab_namespaces_left()
    assert result.ok, result.problems
    assert result.settings["podStartSeconds"] == 5.0
    assert result.measured is not None
    assert result.measured.settings["minReadySeconds"] == 30
    (leaf,) = result.measured.leaves.values()
    # One node stays a next hop throughout: with nextHops: node a restarting speaker's node is
    # withdrawn until its new pod announces it, and minReadySeconds holds the roll until then.
    assert (leaf.min_paths, leaf.longest_gap) == (1, 0.0)
    baseline = result.comparisons["withoutMinReadySeconds"]
    assert baseline.allowance.baseline and baseline.settings["minReadySeconds"] == 0
    (leaf,) = baseline.leaves.values()
    assert leaf.min_paths == 0 and leaf.longest_gap > 0
    assert baseline.problems == [
        f"minReadySeconds 0: leaf leaf1 (2 speakers): no path for {leaf.longest_gap:.2f} s, "
        "allowed 0 s"
    ]


# Membership and BgpConf changes: a short minReadySeconds keeps the suite's time down (the
# figures with the default, 30 s, on the example stacks are in docs/lab.md).
MIN_READY = 8
"""Seconds: longer than a replaced speaker takes to be announcing here (GoBGP dials 5 to 10 s
after its start, FRR has backed off)."""


def two_leaves(version: str, listen_port: int | None = None) -> StackFile:
    return leaves_stack(f"lab-changes-{version}", version, 2, MIN_READY, listen_port)


def run_changes(version: str, scenario: str, listen_port: int | None = None) -> LabResult:
    result = run_lab(two_leaves(version, listen_port), scenario)
    no_lab_namespaces_left()
    return result


@pytest.mark.parametrize(
    ("version", "listen_port"),
    [("0.5", None), ("0.6", None), ("0.5", 17900)],
    # with a listen port, router-config once wrote it on the peer group, and FRR 8.4 reset
    # every session of the group when the merge re-applied that line (leaf1 had no path for
    # 12 s); it is now on each neighbor (configs._frr_neighbor)
    ids=["0.5", "0.6", "0.5-listen-port"],
)
def test_a_node_joining_resets_no_session_and_no_leaf_loses_its_paths(
    version: str, listen_port: int | None
) -> None:
    """The whole change: leaf1's router takes router-config's new output (a neighbor for the
    joining node), the node is labelled, the workload rolls. On 0.6 the joined node ends up
    peering (its DaemonSet pod); on 0.5 it is one more candidate for leaf1's two replicas: each
    replaced replica's successor goes to a free node of its predecessor's leaf (maxSurge 0,
    ``MANAGER_STRATEGY``), the joined node or the one just freed, which the model picks by
    name and a cluster's scheduler by its scores."""
    result = run_changes(version, "membership-change", listen_port)
    assert result.ok, result.problems
    assert result.measured is not None
    assert result.measured.settings["routersReconfigured"] == ["leaf1"]
    assert result.measured.settings["done"] == [
        "every speaker rolled, as the workload's rollout does"
    ]
    leaf1 = result.leaves["leaf1"]
    if version == "0.6":
        assert "lab-joined-node" in leaf1.established
    else:
        assert leaf1.established == leaf1.expected and len(leaf1.expected) == 2
    for leaf in result.measured.leaves.values():
        assert leaf.min_paths is not None and leaf.min_paths >= 1
    # The earlier design (members listed in the BgpPeer), a baseline: every session of the
    # joined leaf reset at once, and that leaf had no path; the other leaf was untouched.
    earlier = result.comparisons["earlierDesign"]
    assert earlier.allowance.baseline
    assert earlier.settings["done"] == ["leaf leaf1: every session reset at once"]
    assert earlier.leaves["leaf1"].min_paths == 0 and earlier.leaves["leaf1"].longest_gap > 0
    assert earlier.leaves["leaf2"].min_paths == 2


@pytest.mark.parametrize(
    ("version", "done"),
    [
        ("0.5", ["BGP restarted on every speaker at once, re-announced"]),
        (
            "0.6",
            [
                "BGP restarted on every speaker at once, nothing re-announced",
                "every speaker rolled, as the workload's rollout does",
            ],
        ),
    ],
)
def test_after_a_bgp_conf_change_every_leaf_announces_again_within_the_stated_outage(
    version: str, done: list[str]
) -> None:
    """Every speaker restarts BGP at once: every leaf is without a path for a while, within
    the outage the preview states for it (what the operator acknowledged). 0.5 announces again
    by itself; 0.6 when the program's roll replaces each speaker, one at a time without
    minReadySeconds (never all at once: real 0.6 speakers started together can stay silent,
    docs/lab.md). The 0.6 baseline replaces every speaker at once (the design until
    2026-12-03, fifth session): faster in the model, which has no start-up race."""
    result = run_changes(version, "bgpconf-change")
    assert result.ok, result.problems
    assert result.measured is not None
    stated = result.measured.settings["expectedOutageSeconds"]
    assert result.measured.allowance.gap_seconds == stated
    assert result.measured.settings["done"] == done
    assert result.details["announcementsBack"] is True
    for leaf in result.measured.leaves.values():
        assert leaf.min_paths == 0 and not leaf.gap_open
        assert 0 < leaf.longest_gap <= stated
    if version == "0.5":
        assert result.comparisons == {}
        return
    assert result.measured.settings["maxUnavailableDuringChange"] == 1
    assert result.measured.settings["minReadySecondsDuringChange"] == 0
    baseline = result.comparisons["allAtOnce"]
    assert baseline.allowance.baseline
    assert baseline.settings["maxUnavailableDuringChange"] == 4  # every speaker
    assert all(leaf.longest_gap <= 20.0 for leaf in baseline.leaves.values())


def test_after_a_bgp_conf_change_ten_nodes_announce_again_within_the_stated_outage() -> None:
    """0.6, ten speakers under three leaves, rolled one at a time without minReadySeconds: the
    leaf whose first speaker comes last waits for the others' steps, within what the preview
    states; replaced all at once (the baseline) every leaf would wait one start and one session
    in the model, but real speakers started together race (docs/lab.md)."""
    config = {**TEN_NODES, "openelb": {"version": "0.6", "minReadySeconds": MIN_READY}}
    result = run_lab(stack_file("lab-ten-bgpconf", config), "bgpconf-change")
    no_lab_namespaces_left()
    assert result.ok, result.problems
    assert result.measured is not None
    assert result.measured.settings["maxUnavailableDuringChange"] == 1
    stated = result.measured.settings["expectedOutageSeconds"]
    for leaf in result.measured.leaves.values():
        assert leaf.min_paths == 0 and not leaf.gap_open
        assert 0 < leaf.longest_gap <= stated
    baseline = result.comparisons["allAtOnce"]
    assert baseline.allowance.baseline
    assert baseline.settings["maxUnavailableDuringChange"] == 10
    assert all(leaf.longest_gap <= 20.0 for leaf in baseline.leaves.values())
