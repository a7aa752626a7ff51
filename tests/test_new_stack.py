"""The checklist "Add a stack for your cluster" (docs/operations.md), followed in a copy.

A newcomer copies an example stack and makes it their own: three racks with names of their own
(none called ``leaf1``), nodes of theirs, ``otherNodes`` in one rack (so, as ``make validate``
would tell them, ``bgp.nextHops: rack``: nodes without a speaker are next hops only when a rack's
speakers announce the whole rack), and a BGP password on the second rack only, written as the
checklist says to when the Pulumi CLI is not at hand. They run the checklist's commands, exactly
as the docs write them (``make`` in the copy, which shares this checkout's ``.venv``). Before
``make stack-files`` the tests of the new stack fail, naming that command; after the checklist
``make test`` passes, as step 5 asks.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from openelb_component.plan import upstream
from tests.support.clone import copy_of_the_repository, run_in, users_environment
from tests.support.harness import ROOT
from tests.support.manifests import require_manifests

# Runs make and the whole suite in a copy: `make test-slow` (CI runs it), not `make test`.
pytestmark = pytest.mark.slow

CHECKLIST = (ROOT / "docs" / "operations.md").read_text().split("## Add a stack", 1)[1]
CHECKLIST = CHECKLIST.split("\n## ", 1)[0]
STACK = "mycluster"

# The user's racks: none is named leaf1, the second has a password, the third otherNodes.
RACKS: list[dict[str, Any]] = [
    {"name": "east", "nodes": ["cp-1", "w-e1"], "peer": {"address": "10.10.0.1", "asn": 65010}},
    {"name": "west", "nodes": ["w-w1", "w-w2"], "peer": {"address": "10.20.0.1", "asn": 65020}},
    {
        "name": "north",
        "nodes": ["w-n1", "w-n2"],
        "otherNodes": ["gpu-n3"],
        "peer": {"address": "10.30.0.1", "asn": 65030},
    },
]
SECOND_RACK = RACKS[1]["name"]  # the rack with a password


# `make test`'s tests (the lab's need root and real routers; the slow ones are these).
SUITE = [".venv/bin/pytest", "-p", "no:cacheprovider", "-m", "not slow and not lab", "tests/"]


def checklist_block(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", CHECKLIST, flags=re.DOTALL)


def checklist_commands() -> list[str]:
    lines = [line.strip() for block in checklist_block("sh") for line in block.splitlines()]
    return [line for line in lines if line]


def password_without_the_cli(leaf: str) -> dict[str, Any]:
    """The checklist's placeholder entry, for this leaf instead of the docs' ``leaf1``."""
    (block,) = checklist_block("yaml")
    entries: dict[str, Any] = yaml.safe_load(block)["openelb-ha:bgpPasswords"]
    (value,) = entries.values()
    return {leaf: value}


def the_users_edits(stack_file: Path) -> None:
    """Step 1's edits (the example's password removed, the user's racks) and step 2's password
    as the checklist writes it without the Pulumi CLI."""
    document = yaml.safe_load(stack_file.read_text())
    config = document["config"]
    del config["openelb-ha:bgpPasswords"]
    config["openelb-ha:eips"] = ["198.51.100.0/24"]
    config["openelb-ha:topology"] = {"kind": "multi-leaf", "replicasPerLeaf": 2, "leaves": RACKS}
    config["openelb-ha:bgp"]["nextHops"] = "rack"  # otherNodes are next hops only with rack
    config["openelb-ha:bgpPasswords"] = password_without_the_cli(SECOND_RACK)
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


def run(copy: Path, command: str) -> str:
    """A checklist command as a user runs it; its stdout, after exit status 0."""
    env = users_environment(**{upstream.ENV_VAR: str(upstream.manifests_dir().resolve())})
    done = run_in(copy, shlex.split(command), env)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not on PATH")
def test_the_checklist_adds_a_stack_the_suite_tests(tmp_path: Path) -> None:
    for version in sorted(upstream.RELEASES):
        require_manifests(version)  # the golden plans are checked plans
    commands = checklist_commands()
    assert commands == [
        f"cp stacks/Pulumi.prod.yaml stacks/Pulumi.{STACK}.yaml",
        "make validate",
        f"pulumi stack select --create {STACK}",
        "pulumi config set --secret --path 'bgpPasswords.leaf1' '<password>'",
        f"make stack-files STACK={STACK} PRODUCTION=true",
        f"make plan STACK={STACK}",
    ]
    copy = copy_of_the_repository(tmp_path)
    stack_file = copy / "stacks" / f"Pulumi.{STACK}.yaml"
    env = users_environment(**{upstream.ENV_VAR: str(upstream.manifests_dir().resolve())})
    for command in commands:
        if command.startswith("pulumi "):
            continue  # needs the Pulumi CLI: the edits below are the checklist's way without it
        if command == "make validate":
            the_users_edits(stack_file)
            # Before step 3 the tests of the new stack fail, and say what to run.
            before = run_in(copy, [*SUITE, "-k", STACK], env)
            assert before.returncode != 0
            assert f"create it with `make stack-files STACK={STACK}`" in before.stdout
        output = run(copy, command)
        if command == "make validate":
            line = next(line for line in output.splitlines() if STACK in line)
            assert line.startswith(f"stacks/Pulumi.{STACK}.yaml: ok (OpenELB 0.5, multi-leaf, ")
    assert (copy / "policy" / "config" / f"{STACK}.json").read_text() == (
        '{\n  "openelb-ha-production-replicas": {"production": true},\n'
        '  "openelb-ha-no-patch-force": {"adopt": false}\n}\n'
    )
    goldens = sorted(p.name for p in (copy / "tests" / "golden").glob(f"{STACK}.*"))
    assert goldens == [f"{STACK}.kubectl", f"{STACK}.markdown", f"{STACK}.yaml"]
    plan = (copy / "tests" / "golden" / f"{STACK}.yaml").read_text()
    assert "gpu-n3" in plan and "OPENELB_HA_BGPPASSWORDS_WEST" in plan
    # Step 5: the whole suite now tests the new stack like the examples, and passes.
    output = run(copy, "make test")
    summary = output.rstrip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed(, \d+ skipped)? in .*", summary), summary
    # ... as the examples are: every test over stacks/ has a case of its own for it.
    collected = run_in(copy, [*SUITE, "--co", "-k", STACK], env).stdout
    cases = [
        line
        for line in collected.splitlines()
        if "::" in line and STACK in line and not line.startswith("tests/test_docs.py")
    ]
    assert len(cases) >= 15, collected[-2000:]
