"""Leaf-router configurations: what they say, and that FRR's and BIRD's own parsers accept them.

The configurations follow the model of OpenELB's speakers in ``routers/openelb.py``; the rules
of that model are tested at the end, each against the upstream behaviour it cites.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from openelb_component.cli import main
from openelb_component.config.loading import load_config
from openelb_component.desired import desired_state
from openelb_component.desired.state import EIPS_MISSING_WARNING
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.stackfile import read_stack, stack_name
from openelb_component.routers import configs, openelb
from tests.support.examples import TWO_LEAVES
from tests.support.harness import ROOT, FakeCluster, run_program, stack_files
from tests.support.tools import require

PASSWORD = "s3cret-md5"  # noqa: S105 - the test's own fake password

LEAVES = TWO_LEAVES
ADDRESSES = {
    "master1": "10.0.0.11",
    "worker-p001": "10.0.0.12",
    "worker-p002": "10.0.1.11",
    "worker-p003": "10.0.1.12",
}


def stack(**extra: Any) -> dict[str, Any]:
    return {"topology": LEAVES, "bgp": {"as": 64600, "listenPort": 17900}, **extra}


def rendered(
    raw: dict[str, Any],
    dialect: str,
    addresses: dict[str, str] = ADDRESSES,
    whole: bool = False,
    passwords: dict[str, str] | None = None,
) -> dict[str, str]:
    config = load_config(raw)
    state = desired_state(config)
    routers = configs.leaf_routers(config, state, addresses)
    given = {"bgpPasswords.leaf1": PASSWORD} if passwords is None else passwords
    return {r.leaf: r.text for r in configs.render(routers, dialect, given, whole)}


# --- what the configurations say -------------------------------------------------------------

LEAF1_FRR = """\
! leaf leaf1
! openelb-ha router-config: leaf router leaf1 for BgpPeer openelb-ha-peer-192-168-0-5
! to merge into the router's configuration (--whole prints a standalone file)
router bgp 65001
 neighbor OPENELB peer-group
 neighbor OPENELB remote-as 64601
 neighbor OPENELB password s3cret-md5
 neighbor OPENELB timers 3 9
 neighbor OPENELB timers connect 5
 neighbor 10.0.0.11 peer-group OPENELB
 neighbor 10.0.0.11 description openelb-ha node master1
 neighbor 10.0.0.11 port 17900
 neighbor 10.0.0.12 peer-group OPENELB
 neighbor 10.0.0.12 description openelb-ha node worker-p001
 neighbor 10.0.0.12 port 17900
 address-family ipv4 unicast
  maximum-paths 16
  neighbor OPENELB activate
  neighbor OPENELB route-map OPENELB-leaf1-IN in
  neighbor OPENELB route-map OPENELB-leaf1-OUT out
 exit-address-family
exit
ip prefix-list OPENELB-leaf1-EIPS seq 5 permit 198.51.100.0/24 ge 32
ip prefix-list OPENELB-leaf1-EIPS seq 10 permit 203.0.113.8/30 ge 32
route-map OPENELB-leaf1-IN permit 10
 match ip address prefix-list OPENELB-leaf1-EIPS
exit
route-map OPENELB-leaf1-OUT deny 10
exit
"""

LEAF1_BIRD = """\
# leaf leaf1
# openelb-ha router-config: leaf router leaf1 for BgpPeer openelb-ha-peer-192-168-0-5
# to merge into the router's configuration (--whole prints a standalone file)
# ECMP over the leaf's nodes: your kernel protocol needs `merge paths on limit 16;`
filter openelb_leaf1_import {
  if net ~ [ 198.51.100.0/24{32,32}, 203.0.113.8/30{32,32} ] then accept;
  reject;
}
template bgp openelb_leaf1_speaker {
  local as 65001;
  hold time 9;
  keepalive time 3;
  connect retry time 5;
  password "s3cret-md5";
  ipv4 { import filter openelb_leaf1_import; export none; add paths rx; };
}
protocol bgp openelb_leaf1_master1 from openelb_leaf1_speaker {
  description "openelb-ha node master1";
  neighbor 10.0.0.11 port 17900 as 64601;
}
protocol bgp openelb_leaf1_worker_p001 from openelb_leaf1_speaker {
  description "openelb-ha node worker-p001";
  neighbor 10.0.0.12 port 17900 as 64601;
}
"""

MERGE_LINE = "to merge into the router's configuration (--whole prints a standalone file)"
WHOLE_LINE = "a whole, standalone configuration"

# --whole: what a standalone router needs and a live one already has (its router ID, and in
# BIRD the device and kernel protocols).
LEAF1_FRR_WHOLE = LEAF1_FRR.replace(MERGE_LINE, WHOLE_LINE).replace(
    "router bgp 65001\n", "router bgp 65001\n bgp router-id 192.168.0.5\n"
)
LEAF1_BIRD_WHOLE = LEAF1_BIRD.replace(MERGE_LINE, WHOLE_LINE).replace(
    "# ECMP over the leaf's nodes: your kernel protocol needs `merge paths on limit 16;`\n",
    """\
router id 192.168.0.5;
protocol device {
}
protocol kernel openelb_leaf1_kernel {
  ipv4 { export where source = RTS_BGP; };
  merge paths on limit 16;
}
""",
)

EIPS = ["198.51.100.0/24", "203.0.113.8-203.0.113.11", "2001:db8::/64"]


def test_a_leaf_router_peers_with_every_node_of_its_leaf_as_openelb_configures_them() -> None:
    raw = stack(eips=EIPS, bgpPasswords={"leaf1": PASSWORD})
    assert rendered(raw, "frr")["leaf1"] == LEAF1_FRR
    assert rendered(raw, "bird")["leaf1"] == LEAF1_BIRD


def test_whole_adds_what_only_a_standalone_router_needs() -> None:
    raw = stack(eips=EIPS, bgpPasswords={"leaf1": PASSWORD})
    assert rendered(raw, "frr", whole=True)["leaf1"] == LEAF1_FRR_WHOLE
    assert rendered(raw, "bird", whole=True)["leaf1"] == LEAF1_BIRD_WHOLE


@pytest.mark.parametrize("nodes", [1, 2, 40], ids=["one-node", "two-nodes", "forty-nodes"])
def test_ecmp_width_is_a_fixed_ceiling_not_the_rack_size(nodes: int) -> None:
    names = [f"n{i}" for i in range(nodes)]
    topology = {
        "kind": "multi-leaf",
        "replicasPerLeaf": 1,
        "leaves": [{"name": "l", "nodes": names, "peer": {"address": "192.0.2.1", "asn": 65001}}],
    }
    raw = {"topology": topology, "bgp": {"as": 64600}}
    addresses = {name: f"192.0.2.{10 + i}" for i, name in enumerate(names)}
    assert "  maximum-paths 16" in rendered(raw, "frr", addresses)["l"].splitlines()
    bird = rendered(raw, "bird", addresses, whole=True)["l"].splitlines()
    assert "  merge paths on limit 16;" in bird


def joined(raw: dict[str, Any], node: str) -> dict[str, Any]:
    """``raw`` with ``node`` added to its first leaf."""
    first, *rest = raw["topology"]["leaves"]
    leaves = [{**first, "nodes": [*first["nodes"], node]}, *rest]
    return {**raw, "topology": {**raw["topology"], "leaves": leaves}}


@pytest.mark.parametrize(
    ("dialect", "added"),
    [
        (
            "frr",
            [
                " neighbor 10.0.0.13 peer-group OPENELB",
                " neighbor 10.0.0.13 description openelb-ha node worker-p000",
                " neighbor 10.0.0.13 port 17900",
            ],
        ),
        (
            "bird",
            [
                "protocol bgp openelb_leaf1_worker_p000 from openelb_leaf1_speaker {",
                '  description "openelb-ha node worker-p000";',
                "  neighbor 10.0.0.13 port 17900 as 64601;",
                "}",
            ],
        ),
    ],
    ids=["frr", "bird"],
)
def test_a_node_joining_adds_only_its_own_lines(dialect: str, added: list[str]) -> None:
    """What an operator merges when a node joins: the other neighbors' and the group's lines
    stay as they were and the new ones are the node's own, so BIRD keeps every other protocol
    (same name, same configuration) and FRR changes nothing but the new neighbor, provided it
    takes each unchanged line again without a reset: hence no group ``port`` line (FRR 8.4
    resets every member on it: ``test_frr_lines_follow_the_stack``'s ``port-per-neighbor``). The
    new node sorts first among its leaf's: nothing is renamed or renumbered."""
    raw = stack(eips=EIPS, bgpPasswords={"leaf1": PASSWORD})
    addresses = {**ADDRESSES, "worker-p000": "10.0.0.13"}
    before = rendered(raw, dialect, addresses)["leaf1"].splitlines()
    after = rendered(joined(raw, "worker-p000"), dialect, addresses)["leaf1"].splitlines()
    diff = list(difflib.ndiff(before, after))
    assert [line[2:] for line in diff if line.startswith("- ")] == []
    assert [line[2:] for line in diff if line.startswith("+ ")] == added


@pytest.mark.parametrize(
    ("raw", "leaf", "present", "absent"),
    [
        # remote AS: the leaf's localAsn (its BgpPeer's localAs), else bgp.as
        (stack(), "leaf1", [" neighbor OPENELB remote-as 64601"], []),
        # ... the same through asPerRack with the leaves' own racks
        (
            {**stack(), "bgp": {"as": 64600, "nextHops": "rack"}},
            "leaf1",
            [" neighbor OPENELB remote-as 64601"],
            [],
        ),
        # bgp.timers: the router's hold time is what both ends use
        (
            {
                **stack(),
                "bgp": {
                    "as": 64600,
                    "timers": {"holdTime": 6, "keepaliveInterval": 2, "connectRetry": 3},
                },
            },
            "leaf1",
            [" neighbor OPENELB timers 2 6", " neighbor OPENELB timers connect 3"],
            [" neighbor OPENELB timers 3 9"],
        ),
        # without bgp: the default timers all the same
        (
            {"topology": {**LEAVES, "leaves": [{**LEAVES["leaves"][1]}]}},
            "leaf2",
            [" neighbor OPENELB timers 3 9", " neighbor OPENELB timers connect 5"],
            [],
        ),
        (stack(), "leaf2", [" neighbor OPENELB remote-as 64600"], [" neighbor OPENELB password"]),
        # no BgpConf in the stack: the cluster's own AS, unknown here
        (
            {"topology": {**LEAVES, "leaves": [{**LEAVES["leaves"][1]}]}},
            "leaf2",
            [" neighbor OPENELB remote-as external"],
            [" port "],
        ),
        # the speakers' port on each neighbor, never on the peer group (FRR 8.4 resets every
        # member on a group's port line and dials members on 179 whatever it says)
        (
            stack(),
            "leaf2",
            [" neighbor 10.0.1.11 port 17900", " neighbor 10.0.1.12 port 17900"],
            [" neighbor OPENELB port"],
        ),
        # the default port is not written
        ({**stack(), "bgp": {"as": 64600}}, "leaf2", [], [" port "]),
        # no eips: any host route
        (stack(), "leaf1", ["ip prefix-list OPENELB-leaf1-EIPS seq 5 permit 0.0.0.0/0 ge 32"], []),
        # eips of the other family only: nothing is accepted
        (
            stack(eips=["2001:db8::/64"]),
            "leaf1",
            ["ip prefix-list OPENELB-leaf1-EIPS seq 5 deny any"],
            ["EIPS seq 10", "EIPS seq 5 permit"],
        ),
    ],
    ids=[
        "local-asn",
        "local-asn-rack",
        "timers",
        "timers-without-bgp",
        "bgp-as",
        "no-bgpconf",
        "port-per-neighbor",
        "port-179",
        "no-eips",
        "other-family-eips",
    ],
)
def test_frr_lines_follow_the_stack(
    raw: dict[str, Any], leaf: str, present: list[str], absent: list[str]
) -> None:
    text = rendered(raw, "frr")[leaf]
    lines = text.splitlines()
    for line in present:
        assert line in lines
    for fragment in absent:
        assert not any(fragment in line for line in lines)


def test_an_ipv6_router_gets_an_ipv6_session_and_filter() -> None:
    topology = {
        "kind": "multi-leaf",
        "replicasPerLeaf": 1,
        "leaves": [
            {"name": "v6", "nodes": ["a"], "peer": {"address": "2001:db8::1", "asn": 65001}}
        ],
    }
    raw = {"topology": topology, "bgp": {"as": 64600}, "eips": ["2001:db8:1::/64"]}
    frr = rendered(raw, "frr", {"a": "2001:db8::a"})["v6"].splitlines()
    assert " bgp router-id 2001:db8::1" not in frr  # a router ID is an IPv4 address
    assert " address-family ipv6 unicast" in frr
    assert "ipv6 prefix-list OPENELB-v6-EIPS seq 5 permit 2001:db8:1::/64 ge 128" in frr
    bird = rendered(raw, "bird", {"a": "2001:db8::a"})["v6"]
    assert "if net ~ [ 2001:db8:1::/64{128,128} ] then accept;" in bird
    config = load_config(raw)
    state = desired_state(config)
    notes = configs.notes(config, configs.leaf_routers(config, state, {"a": "2001:db8::a"}), state)
    assert any("prefix length 32" in note for note in notes)


def test_without_addresses_every_node_is_a_placeholder() -> None:
    frr = rendered(stack(), "frr", {})["leaf1"].splitlines()
    assert " neighbor <InternalIP of master1> peer-group OPENELB" in frr
    bird = rendered(stack(), "bird", {})["leaf1"].splitlines()
    assert "  neighbor <InternalIP of master1> port 17900 as 64601;" in bird


def test_a_password_without_a_value_is_a_placeholder() -> None:
    raw = stack(bgpPasswords={"leaf1": PASSWORD})
    frr = rendered(raw, "frr", passwords={})["leaf1"].splitlines()
    assert " neighbor OPENELB password <BGP password of leaf leaf1>" in frr
    bird = rendered(raw, "bird", passwords={})["leaf1"].splitlines()
    assert "  password <BGP password of leaf leaf1>;" in bird


# --- the real parsers, on every example stack -----------------------------------------------

PARSERS = {"frr": ["vtysh", "-C", "-f"], "bird": ["bird", "-p", "-c"]}
BGP_STACKS = [
    p for p in stack_files() if load_stack_config(read_stack(p)).topology.kind == "multi-leaf"
]


def parse(dialect: str, text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{dialect}.conf"
    path.write_text(text)
    return subprocess.run(
        [*PARSERS[dialect], str(path)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("dialect", sorted(PARSERS))
@pytest.mark.parametrize("stack_path", BGP_STACKS, ids=[stack_name(p) for p in BGP_STACKS])
def test_every_example_stack_gives_configs_the_real_parser_accepts(
    stack_path: Path, dialect: str, tmp_path: Path
) -> None:
    require(PARSERS[dialect][0])
    config = load_stack_config(read_stack(stack_path))
    state = desired_state(config)
    addresses = {node: f"192.0.2.{10 + i}" for i, node in enumerate(state.nodes)}
    routers = configs.leaf_routers(config, state, addresses)
    secrets = {r.password_secret: PASSWORD for r in routers if r.password_secret is not None}
    for whole in (False, True):
        for leaf in configs.render(routers, dialect, secrets, whole):
            done = parse(dialect, leaf.text, tmp_path)
            assert done.returncode == 0, (leaf.leaf, whole, done.stdout, done.stderr)


@pytest.mark.parametrize("dialect", sorted(PARSERS))
@pytest.mark.parametrize(
    "timers",
    [
        {"holdTime": 3, "keepaliveInterval": 1, "connectRetry": 1},
        {"holdTime": 65535, "keepaliveInterval": 21845, "connectRetry": 65535},
    ],
    ids=["shortest", "longest"],
)
def test_the_real_parsers_accept_the_timers_at_both_ends_of_their_range(
    dialect: str, timers: dict[str, int], tmp_path: Path
) -> None:
    require(PARSERS[dialect][0])
    raw = {**stack(), "bgp": {"as": 64600, "timers": timers}}
    for whole in (False, True):
        text = rendered(raw, dialect, ADDRESSES, whole)["leaf1"]
        assert str(timers["holdTime"]) in text
        done = parse(dialect, text, tmp_path)
        assert done.returncode == 0, (whole, done.stdout, done.stderr)


@pytest.mark.parametrize("dialect", sorted(PARSERS))
@pytest.mark.parametrize(
    ("addresses", "passwords"),
    [({}, {"bgpPasswords.leaf1": PASSWORD}), (ADDRESSES, {})],
    ids=["node-address", "password"],
)
def test_a_forgotten_placeholder_is_refused_by_the_real_parser(
    dialect: str, addresses: dict[str, str], passwords: dict[str, str], tmp_path: Path
) -> None:
    # FRR would read a single word after `neighbor` as an interface name: a placeholder is
    # several words in angle brackets, which neither FRR nor BIRD reads as anything.
    require(PARSERS[dialect][0])
    raw = stack(bgpPasswords={"leaf1": PASSWORD})
    for whole in (False, True):
        text = rendered(raw, dialect, addresses, whole, passwords)["leaf1"]
        assert "<" in text
        assert parse(dialect, text, tmp_path).returncode != 0
        filled = re.sub(r"<InternalIP of [^>]*>", "192.0.2.99", text).replace(
            "<BGP password of leaf leaf1>", PASSWORD if dialect == "frr" else f'"{PASSWORD}"'
        )
        assert parse(dialect, filled, tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("dialect", "broken"),
    [("frr", " neighbor OPENELB no-such-option\n"), ("bird", "  no such option;\n")],
)
def test_the_parsers_do_reject_a_bad_line(dialect: str, broken: str, tmp_path: Path) -> None:
    require(PARSERS[dialect][0])
    text = rendered(stack(), dialect)["leaf1"]
    lines = text.splitlines(keepends=True)
    lines.insert(5, broken)
    assert parse(dialect, "".join(lines), tmp_path).returncode != 0


# --- the command -----------------------------------------------------------------------------

SECURE_STACK = """\
config:
  openelb-ha:bgp: {as: 64600}
  openelb-ha:eips: [198.51.100.0/24]
  openelb-ha:topology:
    kind: multi-leaf
    leaves:
      - name: leaf1
        nodes: [master1, worker-p001]
        peer: {address: 192.168.0.5, asn: 65001}
  openelb-ha:bgpPasswords:
    leaf1:
      secure: v1:AAAAbm90LWEtcmVhbC1jaXBoZXJ0ZXh0
"""
NODES = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name},
            "status": {
                "addresses": [
                    {"type": "Hostname", "address": name},
                    {"type": "InternalIP", "address": address},
                ]
            },
        }
        for name, address in ADDRESSES.items()
    ],
}


@pytest.fixture
def secure_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.sec.yaml").write_text(SECURE_STACK)
    (tmp_path / "nodes.json").write_text(json.dumps(NODES))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_router_config_never_prints_a_secure_password(
    secure_stack: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENELB_HA_BGPPASSWORDS_LEAF1", PASSWORD)
    status, out, err = run_cli(["router-config", "--stack", "sec", "--nodes", "nodes.json"], capsys)
    assert status == 0
    assert " neighbor OPENELB password <BGP password of leaf leaf1>" in out.splitlines()
    assert PASSWORD not in out + err
    assert " neighbor 10.0.0.11 peer-group OPENELB" in out.splitlines()
    assert "never decrypted" in err and "--show-secrets" in err


def test_router_config_shows_a_password_only_with_consent_and_a_value(
    secure_stack: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["router-config", "--stack", "sec", "--dialect", "bird", "--show-secrets"]
    status, out, err = run_cli(args, capsys)  # consent, but no value: still a placeholder
    assert status == 0 and "  password <BGP password of leaf leaf1>;" in out
    assert "OPENELB_HA_BGPPASSWORDS_LEAF1" in err
    monkeypatch.setenv("OPENELB_HA_BGPPASSWORDS_LEAF1", PASSWORD)
    status, out, err = run_cli(args, capsys)
    assert status == 0 and f'password "{PASSWORD}";' in out
    assert PASSWORD not in err


def test_router_config_says_what_is_a_placeholder(
    secure_stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(["router-config", "--stack", "sec"], capsys)
    assert status == 0
    assert out.startswith("! leaf leaf1\n")
    assert " neighbor <InternalIP of master1> peer-group OPENELB" in out.splitlines()
    assert "node addresses are placeholders" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--leaf", "leaf9"],
            "no leaf 'leaf9' with a peer in stack 'sec'; leaves with a peer: leaf1",
        ),
        (["--nodes", "missing.json"], "missing.json"),
    ],
    ids=["unknown-leaf", "missing-nodes-file"],
)
def test_router_config_refuses_bad_arguments(
    secure_stack: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, out, err = run_cli(["router-config", "--stack", "sec", *args], capsys)
    assert (status, out) == (1, "")
    assert message in err


def test_router_config_of_a_stack_without_peers_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_cli(["router-config", "--stack", "dev"], capsys)
    assert (status, out) == (0, "")
    assert "no leaf with a peer" in err


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (NODES, ADDRESSES),
        (NODES["items"][0], {"master1": "10.0.0.11"}),  # kubectl get node master1 -o json
        (
            {"kind": "List", "items": [{"kind": "Node", "metadata": {"name": "x"}, "status": {}}]},
            {},
        ),
    ],
    ids=["list", "one-node", "no-internal-ip"],
)
def test_internal_ips_are_read_as_openelb_reads_them(
    document: dict[str, Any], expected: dict[str, str]
) -> None:
    assert openelb.internal_ips(document) == expected


@pytest.mark.parametrize("document", [[], {"kind": "List"}], ids=["not-an-object", "no-items"])
def test_internal_ips_refuse_what_is_not_kubectl_output(document: Any) -> None:
    with pytest.raises(ValueError, match="kubectl get nodes -o json"):
        openelb.internal_ips(document)


# --- the program's output ----------------------------------------------------------------------


def test_the_program_exports_router_configs_from_the_node_reads() -> None:
    run = run_program(stack(eips=EIPS), cluster=FakeCluster(node_addresses=ADDRESSES))
    router_configs = run.outputs["router_configs"]
    assert sorted(router_configs) == ["leaf1", "leaf2"]
    assert router_configs["leaf1"]["frr"] == LEAF1_FRR.replace(
        " neighbor OPENELB password s3cret-md5\n", ""
    )
    assert "router_configs" not in run.secret_outputs


def test_router_configs_are_a_secret_output_when_a_password_is_set() -> None:
    run = run_program(
        stack(eips=EIPS, bgpPasswords={"leaf1": PASSWORD}),
        cluster=FakeCluster(node_addresses=ADDRESSES),
        secret_keys=["bgpPasswords"],
    )
    assert run.outputs["router_configs"]["leaf1"]["frr"] == LEAF1_FRR
    assert run.outputs["router_configs"]["leaf1"]["bird"] == LEAF1_BIRD
    assert run.secret_outputs == {"router_configs"}


# --- the model of OpenELB's speakers -----------------------------------------------------------

RACK = "openelb.kubesphere.io/rack"


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        (None, {}, True),  # no nodeSelector: every node
        ({"matchLabels": {RACK: "leaf1"}}, {RACK: "leaf1"}, True),
        ({"matchLabels": {RACK: "leaf1"}}, {RACK: "leaf2"}, False),
        ({"matchExpressions": [{"key": "n", "operator": "In", "values": ["a"]}]}, {"n": "a"}, True),
        ({"matchExpressions": [{"key": "n", "operator": "In", "values": ["a"]}]}, {}, False),
        ({"matchExpressions": [{"key": "n", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        ({"matchExpressions": [{"key": "n", "operator": "Exists"}]}, {"n": ""}, True),
        ({"matchExpressions": [{"key": "n", "operator": "DoesNotExist"}]}, {"n": ""}, False),
    ],
)
def test_a_bgp_peer_selects_nodes_as_a_label_selector_does(
    selector: dict[str, Any] | None, labels: dict[str, str], matches: bool
) -> None:
    assert openelb.selector_matches(selector, labels) is matches


def speaker_of(node_labels: dict[str, str], conf: dict[str, Any]) -> openelb.Speaker:
    node = openelb.Node("n1", node_labels, "10.0.0.11")
    return openelb.speaker(node, openelb.BgpConfView(conf, assumed=False), [])


@pytest.mark.parametrize(
    ("labels", "conf", "asn", "router_id", "rack"),
    [
        ({}, {"as": 64600}, 64600, "10.0.0.11", ""),
        ({}, {"as": 64600, "routerId": "10.9.9.9"}, 64600, "10.9.9.9", ""),
        ({RACK: "a"}, {"as": 64600, "routerId": "10.9.9.9"}, 64600, "10.9.9.9", ""),
        (
            {RACK: "a"},
            {"as": 64600, "routerId": "10.9.9.9", "asPerRack": {"a": 64601}},
            64601,
            "10.0.0.11",
            "a",
        ),
        # a rack missing from asPerRack: the AS stays, but the rack and the node's router ID apply
        (
            {RACK: "b"},
            {"as": 64600, "routerId": "10.9.9.9", "asPerRack": {"a": 64601}},
            64600,
            "10.0.0.11",
            "b",
        ),
        ({}, {"as": 64600, "asPerRack": {"a": 64601}}, 64600, "10.0.0.11", ""),
    ],
    ids=[
        "defaults",
        "router-id",
        "rack-without-as-per-rack",
        "as-per-rack",
        "rack-not-in-map",
        "unlabelled",
    ],
)
def test_a_speaker_takes_its_as_rack_and_router_id_as_the_bgpconf_reconcile_does(
    labels: dict[str, str], conf: dict[str, Any], asn: int, router_id: str, rack: str
) -> None:
    speaker = speaker_of(labels, conf)
    assert (speaker.asn, speaker.router_id, speaker.rack) == (asn, router_id, rack)
    assert speaker.listen_port == 179


def test_next_hops_follow_the_rack_and_the_version() -> None:
    nodes = [
        openelb.Node("a1", {RACK: "a"}, "10.0.0.1"),
        openelb.Node("a2", {RACK: "a"}, "10.0.0.2", ready=False),
        openelb.Node("b1", {RACK: "b"}, "10.0.1.1"),
        openelb.Node("x", {}, "10.0.9.9"),
    ]
    assert openelb.next_hops("a", nodes, "0.5") == ["10.0.0.1"]  # Ready nodes only
    assert openelb.next_hops("a", nodes, "0.6") == ["10.0.0.1", "10.0.0.2"]  # every node
    assert openelb.next_hops("", nodes, "0.5") == ["10.0.0.1", "10.0.1.1", "10.0.9.9"]


def test_a_membership_change_resets_no_session_and_rolls_the_speakers() -> None:
    # The BgpPeers select the rack and HA labels only, so a join changes no BgpPeer
    # spec (which would reset every session of the leaf, GoBGP UpdatePeer); the announcing
    # workload's membership annotation changes instead, and it rolls one replica at a time.
    before = desired_state(load_config(stack()))
    grown = {
        **LEAVES,
        "leaves": [
            {**LEAVES["leaves"][0], "nodes": ["master1", "worker-p001", "worker-p009"]},
            LEAVES["leaves"][1],
        ],
    }
    after = desired_state(load_config({**stack(), "topology": grown}))
    effects = openelb.change_effects("0.5", before, after)
    assert [effect.kind for effect in effects] == ["roll"]


def test_a_bgpconf_change_restarts_bgp_everywhere_and_only_v05_reannounces() -> None:
    before = desired_state(load_config(stack()))
    after = desired_state(load_config({**stack(), "bgp": {"as": 64700, "listenPort": 17900}}))
    for version, reannounces in (("0.5", True), ("0.6", False)):
        (restart,) = [
            e for e in openelb.change_effects(version, before, after) if e.kind == "bgp-restart"
        ]
        assert restart.nodes == before.nodes
        assert restart.reannounces is reannounces


@pytest.mark.parametrize(
    ("raw", "warned"),
    [
        (stack(), True),
        (stack(eips=EIPS), False),
        ({"topology": {"kind": "single-router", "nodes": ["a", "b"]}}, False),  # no peer
    ],
    ids=["peers-without-eips", "with-eips", "no-peer"],
)
def test_a_stack_with_peers_but_no_eips_is_warned(raw: dict[str, Any], warned: bool) -> None:
    assert (EIPS_MISSING_WARNING in desired_state(load_config(raw)).warnings) is warned


def test_the_docs_show_the_real_output(capsys: pytest.CaptureFixture[str]) -> None:
    doc = (ROOT / "docs" / "lab.md").read_text()
    shown = next(
        block
        for block in re.findall(r"```text\n(.*?)```", doc, flags=re.S)
        if block.startswith("! leaf leaf1")
    )
    args = ["router-config", "--stack", "prod", "--dialect", "frr", "--leaf", "leaf1"]
    status, out, _ = run_cli([*args, "--nodes", "docs/examples/prod-nodes.json"], capsys)
    assert (status, out) == (0, shown)
