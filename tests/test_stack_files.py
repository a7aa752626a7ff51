"""What a newcomer gets wrong in a stack file, and what each tool says about it.

Every case is a stack file as text. ``validate`` (and the plan) read it themselves; the Pulumi
program gets what the engine makes of it (``tests/support/harness.py``: ``stack_config`` reads
the file as the engine does, ``run_program`` hands it over as the engine would). Where both see the
mistake, both must judge it the same way; problems are compared as data: (key path, value shown,
the start of the message).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from openelb_component import cli
from openelb_component.config.errors import ConfigError, Problem
from openelb_component.config.loading import load_config
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.stackfile import read_stack
from tests.support.harness import run_program_capturing, stack_config

DEV_TOPOLOGY = """\
  openelb-ha:topology:
    kind: single-router
    nodes: [master1, worker-p002]
"""
PATCH_FORCE = "pulumi.com/patchForce"


def write_stack(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.case.yaml"
    path.write_text(text)
    return path


def validate_problems(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(read_stack(path))
    return list(caught.value.problems)


def as_data(problems: list[Problem]) -> list[tuple[str, str]]:
    """(path, value as shown) of each problem: what a user reads before the message."""
    return [(p.path, repr(p.value) if p.has_value else "(missing)") for p in problems]


# --- keys defined twice -------------------------------------------------------------------

DUPLICATES: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "stack-key-twice",
        f"config:\n{DEV_TOPOLOGY}{DEV_TOPOLOGY}",
        [("topology", "'lines 2 and 5'")],
    ),
    (
        "key-twice-in-topology",
        "config:\n  openelb-ha:topology:\n    kind: single-router\n    nodes: [a, b]\n"
        "    nodes: [c]\n",
        [("topology.nodes", "'lines 4 and 5'")],
    ),
    (
        "key-twice-in-a-leaf",
        "config:\n  openelb-ha:topology:\n    kind: multi-leaf\n    leaves:\n"
        "      - name: l1\n        nodes: [a, b]\n        name: l2\n",
        [("topology.leaves[0].name", "'lines 5 and 7'")],
    ),
    (
        "another-providers-key-twice",
        f"config:\n{DEV_TOPOLOGY}  kubernetes:context: a\n  kubernetes:context: b\n",
        [("config.kubernetes:context", "'lines 5 and 6'")],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in DUPLICATES], ids=[c[0] for c in DUPLICATES]
)
def test_a_key_defined_twice_names_both_lines(
    tmp_path: Path, text: str, expected: list[tuple[str, str]]
) -> None:
    problems = validate_problems(write_stack(tmp_path, text))
    assert as_data(problems) == expected
    assert all(p.message.startswith("defined twice; only the last") for p in problems)


# --- adopt: one rule for validate and the program -----------------------------------------

# How `openelb-ha:adopt` may be spelt, and what both tools make of it: True/False, or None for
# refused. The engine hands a top-level scalar over as text and the program decodes it as
# JSON (config/engine.py), so "true" in quotes is the boolean; yes/on are not booleans in
# YAML 1.2 (the Pulumi CLI's parser), so they arrive as text and are refused.
ADOPT_SPELLINGS: list[tuple[str, str, bool | None]] = [
    ("bare-true", "true", True),
    ("quoted-true", '"true"', True),
    ("capitalised-true", "True", True),
    ("upper-case-true", "TRUE", True),
    ("bare-false", "false", False),
    ("quoted-false", "'false'", False),
    ("yes", "yes", None),
    ("quoted-yes", '"yes"', None),
    ("on", "on", None),
    ("one", "1", None),
    ("empty-text", '""', None),
    ("an-object", "{enabled: true}", None),
]


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [c[1:] for c in ADOPT_SPELLINGS],
    ids=[c[0] for c in ADOPT_SPELLINGS],
)
def test_validate_and_the_program_read_adopt_alike(
    tmp_path: Path, spelling: str, expected: bool | None
) -> None:
    path = write_stack(tmp_path, f"config:\n{DEV_TOPOLOGY}  openelb-ha:adopt: {spelling}\n")
    run, error = run_program_capturing(stack_config(path))
    if expected is None:
        assert [p.path for p in validate_problems(path)] == ["adopt"]
        assert isinstance(error, pulumi.RunError)
        assert "\n  - adopt = " in str(error)
        assert run.registrations == []
        return
    assert load_stack_config(read_stack(path)).adopt is expected
    assert error is None
    # A node's patch is forced only when the stack adopts (workload patches always are).
    node = run.named("openelb-ha-node-master1").inputs["metadata"]
    assert (node.get("annotations", {}).get(PATCH_FORCE) == "true") is expected


# --- keys of the other topology kind ------------------------------------------------------

KIND_KEYS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "leaves-under-single-router",
        {"kind": "single-router", "nodes": ["a"], "leaves": []},
        "topology.leaves",
        "this key belongs to kind: multi-leaf, and this topology is kind: single-router",
    ),
    (
        "replicas-per-leaf-under-single-router",
        {"kind": "single-router", "nodes": ["a", "b"], "replicasPerLeaf": 2},
        "topology.replicasPerLeaf",
        "this key belongs to kind: multi-leaf, and this topology is kind: single-router",
    ),
    (
        "nodes-under-multi-leaf",
        {"kind": "multi-leaf", "nodes": ["a"], "leaves": [{"name": "l", "nodes": ["a", "b"]}]},
        "topology.nodes",
        "this key belongs to kind: single-router, and this topology is kind: multi-leaf",
    ),
    (
        "replicas-under-multi-leaf",
        {"kind": "multi-leaf", "replicas": 2, "leaves": [{"name": "l", "nodes": ["a", "b"]}]},
        "topology.replicas",
        "this key belongs to kind: single-router, and this topology is kind: multi-leaf",
    ),
]


@pytest.mark.parametrize(
    ("topology", "path", "message"),
    [c[1:] for c in KIND_KEYS],
    ids=[c[0] for c in KIND_KEYS],
)
def test_a_key_of_the_other_topology_kind_says_which_kind_it_belongs_to(
    topology: dict[str, Any], path: str, message: str
) -> None:
    run, error = run_program_capturing({"topology": topology})
    assert isinstance(error, pulumi.RunError)
    assert run.registrations == []
    (line,) = [line for line in str(error).splitlines() if line.startswith(f"  - {path} = ")]
    assert message in line
    assert "did you mean" not in line


# --- keys the program never sees ----------------------------------------------------------

IGNORED_KEYS: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    (
        # Without a namespace a key is the project's (the CLI's stackConfigNamespacedWithProject,
        # sdk go/common/workspace/loaders.go:61-90@v3.276.0): both spellings are one key twice.
        "both-spellings",
        f"config:\n{DEV_TOPOLOGY}  topology: {{kind: single-router, nodes: [a]}}\n",
        [
            (
                "config.topology",
                "{'kind': 'single-router', 'nodes': ['a']}",
                "the same key as config.openelb-ha:topology (both are openelb-ha:topology); the "
                "Pulumi CLI keeps one of them at random: keep one",
            ),
        ],
    ),
    (
        "prefix-with-underscore",
        f"config:\n{DEV_TOPOLOGY}  openelb_ha:adopt: true\n",
        [("config.openelb_ha:adopt", "True", "ignored: the prefix 'openelb_ha' is not")],
    ),
    (
        "prefix-in-capitals",
        f"config:\n{DEV_TOPOLOGY}  OpenELB-HA:adopt: true\n",
        [("config.OpenELB-HA:adopt", "True", "ignored: the prefix 'OpenELB-HA' is not")],
    ),
    (
        "outside-config",
        f"config:\n{DEV_TOPOLOGY}openelb-ha:adopt: true\n",
        [("openelb-ha:adopt", "True", "ignored: outside config:")],
    ),
    (
        "another-providers-key-is-fine",
        f"config:\n{DEV_TOPOLOGY}  kubernetes:context: lab\n",
        [],
    ),
]


def test_a_key_without_a_namespace_is_the_projects(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.short.yaml"
    path.write_text("config:\n  topology: {kind: single-router, nodes: [a]}\n  adopt: true\n")
    stack = read_stack(path)
    assert (stack.config, stack.problems) == (
        {"topology": {"kind": "single-router", "nodes": ["a"]}, "adopt": True},
        (),
    )


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in IGNORED_KEYS], ids=[c[0] for c in IGNORED_KEYS]
)
def test_a_key_the_program_never_reads_is_named_with_its_fix(
    tmp_path: Path, text: str, expected: list[tuple[str, str, str]]
) -> None:
    path = write_stack(tmp_path, text)
    if not expected:
        assert load_stack_config(read_stack(path))
        return
    problems = validate_problems(path)
    assert [(p.path, shown) for p, (_, shown) in zip(problems, as_data(problems), strict=True)] == [
        (p, shown) for p, shown, _ in expected
    ]
    for problem, (_, _, message) in zip(problems, expected, strict=True):
        assert problem.message.startswith(message)
    # The fix names the key as it must be written.
    assert all("openelb-ha:" in p.message for p in problems if p.path.startswith("config."))


def test_the_program_names_a_key_with_a_misspelt_prefix_too() -> None:
    """A misspelt prefix reaches the program (the engine passes every namespace's keys): it is
    named there too, after the problems it causes."""
    run, error = run_program_capturing({"openelb_ha:topology": {"kind": "single-router"}})
    assert isinstance(error, pulumi.RunError)
    missing, ignored = str(error).splitlines()[1:]
    assert missing.startswith("  - topology = (missing): required key is missing; ")
    assert ignored == (
        "  - config.openelb_ha:topology = (a mapping, not shown): ignored: the prefix "
        "'openelb_ha' is not this project's name; write it as openelb-ha:topology"
    )
    assert run.registrations == []


# --- names too long -----------------------------------------------------------------------

LONG_NAMES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "node-254",
        {"topology": {"kind": "single-router", "nodes": ["a" * 254]}},
        "topology.nodes[0]",
        "node name too long (254 characters, max 253)",
    ),
    (
        "namespace-64",
        {
            "openelb": {"namespace": "n" * 64},
            "topology": {"kind": "single-router", "nodes": ["a"]},
        },
        "openelb.namespace",
        "namespace name too long (64 characters, max 63)",
    ),
    (
        "leaf-64",
        {"topology": {"kind": "multi-leaf", "leaves": [{"name": "l" * 64, "nodes": ["a", "b"]}]}},
        "topology.leaves[0].name",
        "too long (64 characters, max 63)",
    ),
]


@pytest.mark.parametrize(
    ("raw", "path", "message"), [c[1:] for c in LONG_NAMES], ids=[c[0] for c in LONG_NAMES]
)
def test_a_name_too_long_says_so_and_the_limit(
    raw: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    (problem,) = caught.value.problems
    assert problem.path == path
    assert problem.message.startswith(message)


def test_a_name_at_the_limit_is_accepted() -> None:
    config = load_config({"topology": {"kind": "single-router", "nodes": ["a" * 253]}})
    assert config.all_nodes == ["a" * 253]


# --- validate's summary -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("openelb", "summary"),
    [
        ('"0.5"', "OpenELB 0.5, single-router, 2 nodes, 2 openelb-manager replicas, 0 BGP peers"),
        (
            '"0.6"',
            "OpenELB 0.6, single-router, 2 nodes, 2 speakers (openelb-speaker), 2 controllers "
            "(openelb-controller), 0 BGP peers",
        ),
    ],
    ids=["v05", "v06"],
)
def test_validate_counts_what_runs_per_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], openelb: str, summary: str
) -> None:
    path = write_stack(
        tmp_path, f"config:\n  openelb-ha:openelb: {{version: {openelb}}}\n{DEV_TOPOLOGY}"
    )
    assert cli.main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok ({summary})\n"
