"""Router configurations from hostile input: nothing a node, a stack or a password says becomes
another statement, and what cannot be carried is refused or left out, named.

The hostile texts are those an attack on the tools used: a kubelet writes its own Node's
status, so an InternalIP is the cluster's text; a password comes from a stack or from the
environment.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from openelb_component.config.loading import load_config
from openelb_component.desired import desired_state
from openelb_component.routers import configs, syntax
from tests.support.harness import FakeCluster, run_program
from tests.support.tools import require
from tests.test_routers import ADDRESSES, PARSERS, parse, rendered, run_cli, stack

BIRD_SESSION = "192.0.2.1 as 1; } protocol bgp evil { neighbor 192.0.2.66 as 666; import all; #"
HOSTILE_ADDRESSES = {
    "zone-command": "fe80::1%$(touch PWNED)",
    "zone-newline": "fe80::1%x\n neighbor 192.0.2.66 remote-as 666",
    "bird-session": BIRD_SESSION,
    "prefix": "10.0.0.11/24",
    "netmask": "10.0.0.11/255.255.255.0",
    "loopback": "127.0.0.1",
    "unspecified": "0.0.0.0",  # noqa: S104 - a Node's text, never bound
    "broadcast": "255.255.255.255",
    "multicast": "224.0.0.5",
    "ipv4-mapped": "::ffff:10.0.0.11",
    "leading-zero": "010.0.0.11",
    "not-an-address": "None",
}


def neighbors(dialect: str, text: str) -> list[str]:
    """The neighbor addresses a configuration names (FRR: ``neighbor X peer-group``; BIRD:
    ``neighbor X ...;`` in a protocol)."""
    if dialect == "frr":
        return [
            line.split()[1]
            for line in text.splitlines()
            if line.startswith(" neighbor ") and line.endswith(" peer-group OPENELB")
        ]
    return [line.split()[1] for line in text.splitlines() if line.startswith("  neighbor ")]


@pytest.mark.parametrize("dialect", sorted(PARSERS))
@pytest.mark.parametrize("hostile", list(HOSTILE_ADDRESSES.values()), ids=list(HOSTILE_ADDRESSES))
def test_a_node_address_that_is_not_plain_gets_no_neighbor_line(
    hostile: str, dialect: str, tmp_path: Path
) -> None:
    addresses = {**ADDRESSES, "master1": hostile}
    text = rendered(stack(), dialect, addresses)["leaf1"]
    assert "master1" not in text and "evil" not in text and "PWNED" not in text
    assert neighbors(dialect, text) == ["10.0.0.12"]  # the leaf's other node keeps its session
    config = load_config(stack())
    routers = configs.leaf_routers(config, desired_state(config), addresses)
    (warning,) = [w for w in configs.address_warnings(routers) if "master1" in w]
    assert warning.startswith("leaf leaf1: node master1 has no neighbor line")
    assert hostile not in warning
    require(PARSERS[dialect][0])
    assert parse(dialect, text, tmp_path).returncode == 0


def test_the_program_warns_about_a_node_address_it_leaves_out() -> None:
    cluster = FakeCluster(node_addresses={**ADDRESSES, "master1": BIRD_SESSION})
    run = run_program(stack(), cluster=cluster)
    assert "master1" not in run.outputs["router_configs"]["leaf1"]["bird"]
    assert "evil" not in json.dumps(run.outputs)
    assert any(w.startswith("leaf leaf1: node master1 has no neighbor line") for w in run.warnings)
    assert not any(BIRD_SESSION in w for w in run.warnings)


def test_a_node_outside_its_routers_subnet_is_named() -> None:
    addresses = {"master1": "192.168.0.11", "worker-p001": "192.0.2.12"}
    config = load_config(stack())
    routers = configs.leaf_routers(config, desired_state(config), addresses)
    assert configs.address_warnings(routers) == [
        "leaf leaf1: worker-p001 (192.0.2.12) not in the /24 of its router 192.168.0.5: the "
        "BgpPeer sets no ebgpMultihop, so GoBGP sends with TTL 1 "
        "(pkg/server/fsm.go:513-517@v2.23.0) and the session comes up only when the router is "
        "directly connected to the node; check the peer and node addresses"
    ]


# --- BIRD symbols ----------------------------------------------------------------------------


def one_leaf(nodes: list[str]) -> dict[str, Any]:
    topology = {
        "kind": "multi-leaf",
        "replicasPerLeaf": 1,
        "leaves": [
            {"name": "leaf1", "nodes": nodes, "peer": {"address": "192.0.2.1", "asn": 65001}}
        ],
    }
    # The guide's racks: a node name over 63 characters cannot be a rack label value, which
    # bgp.nextHops: node would make it.
    return {"topology": topology, "bgp": {"as": 64600, "nextHops": "rack"}}


LONG = "n" * 200 + ".example"
LONG_TWIN = "n" * 200 + ".example2"


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        (["w-1", "w.1"], {"w-1": "openelb_leaf1_w_1_", "w.1": "openelb_leaf1_w_1_"}),
        (["import", "a"], {"import": "openelb_leaf1_import_", "a": "openelb_leaf1_a"}),
        (["speaker"], {"speaker": "openelb_leaf1_speaker_"}),
        ([LONG, LONG_TWIN], {LONG: "openelb_leaf1_nnn", LONG_TWIN: "openelb_leaf1_nnn"}),
    ],
    ids=["collide-after-mapping", "named-like-the-filter", "named-like-the-template", "too-long"],
)
def test_bird_symbols_are_distinct_and_fit(
    nodes: list[str], expected: dict[str, str], tmp_path: Path
) -> None:
    symbols = configs.bird_symbols("leaf1", nodes)
    chosen = dict(symbols.protocols)
    assert sorted(chosen) == sorted(nodes)
    for node, start in expected.items():
        assert chosen[node].startswith(start)
    every = [*chosen.values(), symbols.import_filter, symbols.template, symbols.kernel]
    assert len(set(every)) == len(every)
    assert all(len(symbol) <= syntax.BIRD_SYMBOL_MAX for symbol in every)
    addresses = {node: f"192.0.2.{10 + i}" for i, node in enumerate(nodes)}
    text = rendered(one_leaf(nodes), "bird", addresses, whole=True)["leaf1"]
    require("bird")
    done = parse("bird", text, tmp_path)
    assert done.returncode == 0, done.stderr
    assert [line.split()[2] for line in text.splitlines() if line.startswith("protocol bgp ")] == [
        chosen[node] for node in sorted(nodes)
    ]


# --- passwords -------------------------------------------------------------------------------

HOSTILE_PASSWORDS = {
    "frr-newline": "x\n neighbor 192.0.2.66 remote-as 666",
    "bird-session": 'x"; } protocol bgp evil { neighbor 192.0.2.66 as 666; #',
    "backslash": "x\\y",
    "space": "two words",
    "81-bytes": "x" * 81,
    "nul": "x\x00y",
    "escape": "x\x1b[2Jy",
    "non-ascii": "pässword",
    "empty": "",
}


@pytest.mark.parametrize("dialect", sorted(PARSERS))
@pytest.mark.parametrize("password", list(HOSTILE_PASSWORDS.values()), ids=list(HOSTILE_PASSWORDS))
def test_the_renderer_refuses_a_password_it_cannot_carry(dialect: str, password: str) -> None:
    with pytest.raises(syntax.Unrenderable, match="printable ASCII") as caught:
        rendered(
            stack(bgpPasswords={"leaf1": "valid"}),
            dialect,
            passwords={"bgpPasswords.leaf1": password},
        )
    assert password not in str(caught.value) or not password


@pytest.mark.parametrize("dialect", sorted(PARSERS))
def test_every_character_a_password_may_hold_reaches_the_router_as_itself(
    dialect: str, tmp_path: Path
) -> None:
    printable = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')
    for password in (printable[:80], printable[80:], "!starts-like-a-comment", "#too"):
        text = rendered(
            stack(bgpPasswords={"leaf1": "x"}), dialect, passwords={"bgpPasswords.leaf1": password}
        )["leaf1"]
        expected = (
            f" neighbor OPENELB password {password}"
            if dialect == "frr"
            else (f'  password "{password}";')
        )
        assert expected in text.splitlines()
        require(PARSERS[dialect][0])
        assert parse(dialect, text, tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("constructor", "value"),
    [
        (syntax.syntax, "router bgp"),
        (syntax.number, -1),
        (syntax.number, True),
        (syntax.frr_name, "OPENELB leaf"),
        (syntax.bird_symbol, "9starts_with_a_digit"),
        (syntax.bird_symbol, "s" * 65),
        (syntax.word, "two words"),
        (syntax.bird_string, 'a"b'),
        (syntax.bird_string, "a\nb"),
        (syntax.placeholder, "oneword"),
        (syntax.placeholder, "a > b"),
    ],
    ids=[
        "syntax-with-space",
        "negative-number",
        "boolean-number",
        "frr-name-with-space",
        "bird-symbol-digit",
        "bird-symbol-too-long",
        "word-with-space",
        "bird-string-quote",
        "bird-string-newline",
        "placeholder-one-word",
        "placeholder-angle",
    ],
)
def test_each_token_constructor_refuses_what_its_place_cannot_carry(
    constructor: Any, value: Any
) -> None:
    with pytest.raises(syntax.Unrenderable):
        constructor(value)


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def racks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "stacks").mkdir()
    for name in ("Pulumi.racks.yaml", "Pulumi.prod.yaml"):
        (tmp_path / "stacks" / name).write_text((root / "stacks" / name).read_text())
    (tmp_path / "racks-nodes.json").write_text(
        (root / "docs" / "examples" / "racks-nodes.json").read_text()
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_bird_for_several_routers_is_refused_as_one_file(
    racks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(["router-config", "--stack", "racks", "--dialect", "bird"], capsys)
    assert (status, out) == (1, "")
    assert (
        "BIRD reads one configuration file per router and this stack has 3 leaf routers "
        "(rack-a, rack-b, rack-c): give --leaf NAME for one of them, or --output-dir DIR for one "
        "file per router"
    ) in err


@pytest.mark.parametrize("dialect", sorted(PARSERS))
def test_output_dir_writes_one_valid_private_file_per_router(
    racks: Path, capsys: pytest.CaptureFixture[str], dialect: str
) -> None:
    args = ["router-config", "--stack", "racks", "--dialect", dialect, "--output-dir", "out"]
    status, out, _ = run_cli([*args, "--nodes", "racks-nodes.json"], capsys)
    files = sorted((racks / "out").iterdir())
    assert status == 0
    assert [f.name for f in files] == [f"rack-{x}.{dialect}.conf" for x in "abc"]
    assert out.split() == [str(Path("out") / f.name) for f in files]
    require(PARSERS[dialect][0])
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert parse(dialect, file.read_text(), racks).returncode == 0


@pytest.mark.parametrize(
    ("moved", "warned"),
    [
        ({}, []),
        (
            {"node-a3": "10.2.0.13"},
            ["leaf rack-a: node-a3 (10.2.0.13) not in the /24 of its router 10.1.0.1"],
        ),
    ],
    ids=["as-documented", "a-node-in-another-racks-subnet"],
)
def test_racks_example_nodes_sit_in_their_routers_subnet(
    racks: Path,
    capsys: pytest.CaptureFixture[str],
    moved: dict[str, str],
    warned: list[str],
) -> None:
    """docs/examples/racks-nodes.json: every node in its router's /24, so every session can come
    up with TTL 1; the same file with a node readdressed into another rack's subnet is named."""
    document = json.loads((racks / "racks-nodes.json").read_text())
    for node in document["items"]:
        for entry in node["status"]["addresses"]:
            if entry["type"] == "InternalIP" and node["metadata"]["name"] in moved:
                entry["address"] = moved[node["metadata"]["name"]]
    (racks / "nodes.json").write_text(json.dumps(document))
    args = ["router-config", "--stack", "racks", "--output-dir", "out", "--nodes", "nodes.json"]
    status, _, err = run_cli(args, capsys)
    assert status == 0
    assert err.count("not in the /24") == len(warned)
    assert [warning for warning in warned if warning in err] == warned


# An environment variable cannot hold NUL, and an empty one is no value (the placeholder stays).
FROM_ENVIRONMENT = {k: v for k, v in HOSTILE_PASSWORDS.items() if k not in ("nul", "empty")}


@pytest.mark.parametrize("password", list(FROM_ENVIRONMENT.values()), ids=list(FROM_ENVIRONMENT))
def test_a_password_from_the_environment_is_checked_and_never_shown(
    password: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_routers import SECURE_STACK

    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.sec.yaml").write_text(SECURE_STACK)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENELB_HA_BGPPASSWORDS_LEAF1", password)
    args = ["router-config", "--stack", "sec", "--show-secrets", "--leaf", "leaf1"]
    status, out, err = run_cli(args, capsys)
    assert (status, out) == (1, "")
    assert "OPENELB_HA_BGPPASSWORDS_LEAF1: the value" in err and "printable ASCII" in err
    assert password not in err
