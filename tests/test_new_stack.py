"""The checklist "Add a stack for your cluster" (docs/operations.md), followed in a copy.

A newcomer copies an example stack, puts in a password the way the Pulumi CLI writes it, runs the
checklist's commands, and the suite then tests the new stack like the examples. Without the
checklist's ``make stack-files`` the suite fails, naming that command. The commands are the
docs' own, run by ``make`` in the copy (which uses this checkout's ``.venv``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from openelb_component.plan import upstream
from tests.support.clone import copy_of_the_repository
from tests.support.harness import ROOT

# Runs make and pytest in a copy: `make test-slow` (CI runs it), not `make test`.
pytestmark = pytest.mark.slow

CHECKLIST = (ROOT / "docs" / "operations.md").read_text().split("## Add a stack", 1)[1]
CHECKLIST = CHECKLIST.split("\n## ", 1)[0]
STACK = "mycluster"
# What `pulumi config set --secret --path 'bgpPasswords.leaf1' ...` writes (ciphertext format).
CIPHERTEXT = "v1:Q2hlY2tsaXN0VGVzdA==:bmV3IHN0YWNrIHBhc3N3b3JkIGNpcGhlcnRleHQ="


def checklist_commands() -> list[str]:
    return [
        line.strip()
        for block in re.findall(r"```sh\n(.*?)```", CHECKLIST, flags=re.DOTALL)
        for line in block.splitlines()
        if line.strip()
    ]


def run(copy: Path, command: str) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    if words[0] == "make":
        # The copy shares this checkout's .venv: never reinstall into it from here.
        words = ["make", "-s", "-o", ".venv/.installed", *words[1:]]
    env = {key: value for key, value in os.environ.items() if key != "CI"}  # a user's machine
    env[upstream.ENV_VAR] = str(upstream.manifests_dir().resolve())
    return subprocess.run(
        words, cwd=copy, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def the_users_edits(stack_file: Path) -> None:
    """Step 1's edits (other node names, the example's password removed) and step 2's password
    as the Pulumi CLI writes it."""
    document = yaml.safe_load(stack_file.read_text())
    config = document["config"]
    del config["openelb-ha:bgpPasswords"]
    for leaf in config["openelb-ha:topology"]["leaves"]:
        leaf["nodes"] = [f"{STACK}-{node}" for node in leaf["nodes"]]
    config["openelb-ha:bgpPasswords"] = {"leaf1": {"secure": CIPHERTEXT}}
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


# The tests that need something per stack (goldens, a policy config, expectations); every other
# test over stacks/ takes a new file as it is.
PER_STACK_TESTS = "tests/test_plan.py tests/test_policy.py tests/test_stacks.py"


def suite_on_the_new_stack(copy: Path) -> subprocess.CompletedProcess[str]:
    return run(
        copy, f".venv/bin/pytest -p no:xdist -p no:cacheprovider -k {STACK} {PER_STACK_TESTS}"
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not on PATH")
def test_the_checklist_adds_a_stack_the_suite_tests(tmp_path: Path) -> None:
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
    for command in commands:
        if command.startswith("pulumi "):
            continue  # needs the Pulumi CLI: the edit below writes what it writes
        done = run(copy, command)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        if command.startswith("cp "):
            the_users_edits(stack_file)
            # Before step 3 the suite fails on the new stack, and says what to run.
            before = suite_on_the_new_stack(copy)
            assert before.returncode != 0
            assert f"create it with `make stack-files STACK={STACK}`" in before.stdout
    assert (copy / "policy" / "config" / f"{STACK}.json").read_text() == (
        '{\n  "openelb-ha-production-replicas": {"production": true},\n'
        '  "openelb-ha-no-patch-force": {"adopt": false}\n}\n'
    )
    goldens = sorted(p.name for p in (copy / "tests" / "golden").glob(f"{STACK}.*"))
    assert goldens == [f"{STACK}.kubectl", f"{STACK}.markdown", f"{STACK}.yaml"]
    assert f"{STACK}-master1" in (copy / "tests" / "golden" / f"{STACK}.yaml").read_text()
    # Step 5: the suite now tests the new stack like the examples, and passes.
    after = suite_on_the_new_stack(copy)
    assert after.returncode == 0, after.stdout[-3000:]
    passed = int(re.search(r"(\d+) passed", after.stdout).group(1))  # type: ignore[union-attr]
    assert passed >= 10
