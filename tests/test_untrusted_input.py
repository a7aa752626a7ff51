"""Stack files, nodes files and cluster text as an attacker or a slip of the keyboard writes
them: the cases not covered by the address, router, runbook and loader tests
(tests/test_addresses.py, test_router_injection.py, test_runbook.py, test_stack_loader.py).

Each either reads as the CLI reads it and plans, or ends in one clear error naming the key,
never a traceback and never a value that may be a password.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from openelb_component.cli import main
from tests.support.harness import run_program_capturing

PASSWORD = "s3cret-md5-in-the-wrong-place"  # noqa: S105 - the test's own fake password

PROD = Path(__file__).resolve().parents[1] / "stacks" / "Pulumi.prod.yaml"


def stack_text(extra: str) -> str:
    """The prod example with ``extra`` lines added under ``config:``."""
    return PROD.read_text().replace("config:\n", f"config:\n{extra}", 1)


@pytest.fixture
def stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "stacks").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path / "stacks"


def validate(stacks: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = stacks / "Pulumi.x.yaml"
    path.write_text(text)
    status = main(["validate", str(path)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


# --- passwords under keys the program does not expect ----------------------------------------

MISPLACED_PASSWORDS = {
    "misspelt-key": f"  openelb-ha:bgpPassword: {{leaf1: {PASSWORD}}}\n",
    "misspelt-prefix": f"  openelb_ha:bgpPasswords: {{leaf1: {PASSWORD}}}\n",
    "no-prefix-plaintext": f"  bgpPasswords: {{leaf1: {PASSWORD}}}\n",
    "outside-config": None,
}


@pytest.mark.parametrize("extra", list(MISPLACED_PASSWORDS.values()), ids=list(MISPLACED_PASSWORDS))
def test_validate_never_prints_a_password_under_an_unexpected_key(
    stacks: Path, capsys: pytest.CaptureFixture[str], extra: str | None
) -> None:
    text = (
        stack_text(extra)
        if extra is not None
        else PROD.read_text() + f"openelb-ha:bgpPasswords: {{leaf1: {PASSWORD}}}\n"
    )
    status, output = validate(stacks, text, capsys)
    assert status == 1
    assert PASSWORD not in output
    assert "Traceback" not in output


def test_validate_never_prints_a_password_written_into_a_leaf(
    stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = PROD.read_text().replace(
        "      - name: leaf2\n", f"      - name: leaf2\n        password: {PASSWORD}\n", 1
    )
    assert PASSWORD in text
    status, output = validate(stacks, text, capsys)
    assert status == 1
    assert "topology.leaves[1].password = [secret]: unknown key" in output
    assert PASSWORD not in output


@pytest.mark.parametrize(
    "config",
    [
        {"bgpPassword": {"leaf1": PASSWORD}},
        {
            "bgpPasswords": {"leaf1": PASSWORD},
            "topology": {
                "kind": "multi-leaf",
                "leaves": [{"name": "leaf1", "nodes": ["a"], "password": PASSWORD}],
            },
        },
        {"eips": [{"secret": PASSWORD}]},
    ],
    ids=["misspelt-key", "leaf-password", "nested-secret-looking-key"],
)
def test_the_programs_error_never_shows_a_password_anywhere(config: dict[str, Any]) -> None:
    raw = {"topology": {"kind": "single-router", "nodes": ["a"]}, **config}
    run, error = run_program_capturing(raw)
    assert isinstance(error, pulumi.RunError)
    assert PASSWORD not in str(error)
    assert run.registrations == []


@pytest.mark.parametrize(
    "value",
    ["{secure: 123}", "{secure: [v1:abc]}", "[{secure: v1:abc}]"],
    ids=["number", "list-in-secure", "secure-in-a-list"],
)
def test_only_secure_text_is_a_secret(
    stacks: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """``isSecureValue`` (sdk go/common/resource/config/object.go:541-550@v3.276.0): a mapping
    of one ``secure`` key holding text. Anything else is a plain value, refused as a password."""
    text = PROD.read_text().replace(
        "config:\n", f"config:\n  openelb-ha:bgpPasswords:\n    leaf1: {value}\n", 1
    )
    status, output = validate(stacks, text, capsys)
    assert status == 1
    assert "bgpPasswords" in output and "[secret]" in output
    assert "Traceback" not in output


# --- values Kubernetes or the CLI would refuse later --------------------------------------------


def test_min_ready_seconds_beyond_int32_is_refused(
    stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = stack_text("").replace(
        "  openelb-ha:openelb:\n", "  openelb-ha:openelb:\n    minReadySeconds: 2147483648\n", 1
    )
    status, output = validate(stacks, text, capsys)
    assert status == 1
    assert (
        "openelb.minReadySeconds = 2147483648: input should be less than or equal to 2147483647"
        in output
    )


def test_an_unquoted_date_as_a_leaf_name_says_to_quote_it(
    stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = PROD.read_text().replace("- name: leaf2", "- name: 2024-01-01", 1)
    status, output = validate(stacks, text, capsys)
    assert status == 1
    assert "topology.leaves[1].name = '2024-01-01 00:00:00 +0000 UTC'" in output
    assert "write the name in quotes ('2024-01-01')" in output


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (
            ("nodes: [master1, worker-p001]", "nodes: !!set {master1, worker-p001}"),
            "input should be a valid list",
        ),
        (("name: leaf2", "name: !!binary bGVhZjI="), "ok"),  # base64 of "leaf2"
        (("asn: 50001", "asn: 65:01"), "input should be a valid integer"),
    ],
    ids=["set", "binary", "base-60"],
)
def test_yaml_1_1_types_are_read_as_pulumis_yaml_1_2_parser_reads_them(
    stacks: Path, capsys: pytest.CaptureFixture[str], replace: tuple[str, str], expected: str
) -> None:
    text = PROD.read_text()
    assert replace[0] in text
    status, output = validate(stacks, text.replace(replace[0], replace[1], 1), capsys)
    assert "Traceback" not in output
    assert expected in output
    assert status == (0 if expected == "ok" else 1)


# --- the cluster's text ----------------------------------------------------------------------

BROKEN_NODES = {
    "null-item": {"kind": "List", "items": [None]},
    "null-metadata-and-status": {
        "kind": "List",
        "items": [{"kind": "Node", "metadata": None, "status": None}],
    },
    "null-addresses": {
        "kind": "List",
        "items": [{"kind": "Node", "metadata": {"name": "master1"}, "status": {"addresses": None}}],
    },
    "null-address-entries": {
        "kind": "List",
        "items": [
            {
                "kind": "Node",
                "metadata": {"name": "master1", "labels": None, "managedFields": [None]},
                "status": {"addresses": [None, {"type": "InternalIP", "address": None}]},
            }
        ],
    },
    "address-not-text": {
        "kind": "List",
        "items": [
            {
                "kind": "Node",
                "metadata": {"name": "master1"},
                "status": {"addresses": [{"type": "InternalIP", "address": {"x": 1}}]},
            }
        ],
    },
}


@pytest.mark.parametrize("command", ["plan", "router-config"])
@pytest.mark.parametrize("document", list(BROKEN_NODES.values()), ids=list(BROKEN_NODES))
def test_a_nodes_file_with_null_fields_gives_no_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    document: dict[str, Any],
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    nodes = tmp_path / "nodes.json"
    nodes.write_text(json.dumps(document))
    main([command, "--stack", "prod", "--nodes", str(nodes)])
    assert "Traceback" not in capsys.readouterr().err


# --- wrongly refused ---------------------------------------------------------------------------


def test_a_stack_with_other_nodes_plans_and_its_checks_pass(
    stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (stacks / "Pulumi.other.yaml").write_text(
        yaml.safe_dump(
            {
                "config": {
                    # otherNodes are next hops only with the guide's racks.
                    "openelb-ha:bgp": {"as": 64600, "nextHops": "rack"},
                    "openelb-ha:topology": {
                        "kind": "multi-leaf",
                        "leaves": [
                            {
                                "name": "leaf1",
                                "nodes": ["a1", "a2"],
                                "otherNodes": ["a3"],
                                "peer": {"address": "192.0.2.1", "asn": 65001},
                            }
                        ],
                    },
                }
            }
        )
    )
    status = main(["plan", "--stack", "other", "--format", "markdown", "--allow-skipped"])
    out = capsys.readouterr().out
    assert status == 0
    assert "**FAIL**" not in out
    assert "| Node `a3` | patch | labels `openelb.kubesphere.io/rack=leaf1` |" in out
